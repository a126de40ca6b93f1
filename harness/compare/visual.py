"""Appearance of a page pair after registering the candidate on the reference: SSIM, the
share of the page's area whose ink changed, and a diff overlay.

Position and appearance are measured apart. Where a page is placed is the layout measure's
job (harness.compare.layout, in mm from the text layers, which knows which word is which).
SSIM alone cannot judge position: on white paper a text page shifted by 30 mm keeps an SSIM
near 0.8, and on a ruled sheet SSIM rises and falls as the grid comes back into step. So the
candidate is first translated by the median displacement of its matched words, and SSIM
then says how alike the two pages look once placed alike: wrong fills, other glyphs, blur.

SSIM over a whole page is dominated by white paper: a 30 mm block of content erased lowers
it by about 0.01, while the same PDF through two rasterisers differs by up to 0.15 (see
`fidelity calibrate`). Content lost or added is measured apart, on 5 mm tiles: a tile has
changed when no tile within one tile's reach on the other page holds half its ink. Content
that merely moved a few millimetres is the layout measure's, not counted here; rasteriser
noise changes no tile; an erased block always some.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

BLANK_STD = 1.0  # grey-level standard deviation under which a page shows nothing
# SSIM as scikit-image computes it by default (7 px uniform window, sample covariance,
# K1 0.01, K2 0.03, data range 255); tests pin the two together.
WINDOW = 7
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
TILE_MM = 5.0
REACH_TILES = 1  # how far (in tiles) ink may have moved and still count as there
INK_FLOOR = 8.0  # mean darkness (0-255) under which a tile counts as blank paper
CHANGED = 0.5  # a tile is lost when its neighbourhood on the other page has under half its ink


def fit(candidate: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The candidate page at the reference's pixel size (pages of another paper size are
    scaled: their content is compared in proportion)."""
    if candidate.shape == shape:
        return candidate
    image = Image.fromarray(candidate).resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def translate(image: np.ndarray, dx_px: int, dy_px: int) -> np.ndarray:
    """Shift by whole pixels; what enters is white paper."""
    out = np.full_like(image, 255)
    h, w = image.shape
    if abs(dx_px) >= w or abs(dy_px) >= h:
        return out
    src_y = slice(max(0, -dy_px), h - max(0, dy_px))
    dst_y = slice(max(0, dy_px), h - max(0, -dy_px))
    src_x = slice(max(0, -dx_px), w - max(0, dx_px))
    dst_x = slice(max(0, dx_px), w - max(0, -dx_px))
    out[dst_y, dst_x] = image[src_y, src_x]
    return out


def ssim(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean SSIM, clipped at 0. Windows white on both pages score exactly 1, so only the
    inked bounding box (plus a window) is computed and the rest counted as 1: the result is
    scikit-image's, at a fraction of the cost on pages with margins."""
    candidate = fit(candidate, reference.shape)
    if min(reference.shape) < WINDOW:
        return 1.0 if np.array_equal(reference, candidate) else 0.0
    pad = WINDOW // 2
    total = (reference.shape[0] - 2 * pad) * (reference.shape[1] - 2 * pad)
    inked = np.argwhere((reference < 255) | (candidate < 255))
    if len(inked) == 0:
        return 1.0
    (y0, x0), (y1, x1) = inked.min(axis=0), inked.max(axis=0)
    y0, x0 = max(0, y0 - 2 * pad), max(0, x0 - 2 * pad)
    y1, x1 = min(reference.shape[0], y1 + 2 * pad + 1), min(reference.shape[1], x1 + 2 * pad + 1)
    # The crop keeps two windows of paper around the ink: windows near its edge see only
    # paper, as on the page, so they are 1 either way.
    a = reference[y0:y1, x0:x1].astype(np.float32)
    b = candidate[y0:y1, x0:x1].astype(np.float32)
    window_map = _ssim_map(a, b)
    ys = slice(max(pad, y0 + pad) - y0, min(reference.shape[0] - pad, y1 - pad) - y0)
    xs = slice(max(pad, x0 + pad) - x0, min(reference.shape[1] - pad, x1 - pad) - x0)
    computed = window_map[ys, xs]
    value = (float(computed.sum(dtype=np.float64)) + (total - computed.size)) / total
    return max(0.0, min(1.0, value))


def _ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def mean(x: np.ndarray) -> np.ndarray:
        return ndimage.uniform_filter(x, WINDOW, mode="reflect")

    ux, uy = mean(a), mean(b)
    n = WINDOW * WINDOW
    scale = n / (n - 1)
    vx = scale * (mean(a * a) - ux * ux)
    vy = scale * (mean(b * b) - uy * uy)
    vxy = scale * (mean(a * b) - ux * uy)
    return ((2 * ux * uy + _C1) * (2 * vxy + _C2)) / ((ux * ux + uy * uy + _C1) * (vx + vy + _C2))


def changed_tiles(reference: np.ndarray, candidate: np.ndarray, dpi: int) -> tuple[int, int]:
    """(tiles whose content was lost or added, tiles with ink on either page)."""
    candidate = fit(candidate, reference.shape)
    ref, cand = _tile_ink(reference, dpi), _tile_ink(candidate, dpi)
    window = 2 * REACH_TILES + 1
    near_ref = ndimage.maximum_filter(ref, size=window, mode="constant")
    near_cand = ndimage.maximum_filter(cand, size=window, mode="constant")
    lost = (ref > INK_FLOOR) & (near_cand < CHANGED * ref)
    added = (cand > INK_FLOOR) & (near_ref < CHANGED * cand)
    inked = np.maximum(ref, cand) > INK_FLOOR
    return int((lost | added).sum()), int(inked.sum())


def inked_tiles(image: np.ndarray, dpi: int) -> int:
    return int((_tile_ink(image, dpi) > INK_FLOOR).sum())


def _tile_ink(image: np.ndarray, dpi: int) -> np.ndarray:
    """Mean darkness of each TILE_MM tile; a partial tile at the edges is padded with paper."""
    size = max(1, round(TILE_MM / 25.4 * dpi))
    h, w = image.shape
    padded = np.full((-(-h // size) * size, -(-w // size) * size), 255, dtype=np.float32)
    padded[:h, :w] = image
    ink = 255.0 - padded
    return ink.reshape(padded.shape[0] // size, size, padded.shape[1] // size, size).mean(
        axis=(1, 3))


def register(reference: np.ndarray, candidate: np.ndarray, dx_px: int,
             dy_px: int) -> np.ndarray:
    """The candidate at the reference's size, moved back by its words' median offset."""
    candidate = fit(candidate, reference.shape)
    return translate(candidate, -dx_px, -dy_px) if dx_px or dy_px else candidate


def is_blank(image: np.ndarray | Image.Image) -> bool:
    array = np.asarray(image.convert("L") if isinstance(image, Image.Image) else image)
    return float(array.std()) < BLANK_STD


def diff_image(reference: np.ndarray | None, candidate: np.ndarray | None) -> Image.Image:
    """Ink of both pages in one picture: black where they agree, red where only the
    reference has ink, blue where only the candidate has. A missing side is white."""
    shape = reference.shape if reference is not None else candidate.shape
    white = np.full(shape, 255, dtype=np.uint8)
    ref = reference if reference is not None else white
    cand = fit(candidate, shape) if candidate is not None else white
    rgb = np.stack([cand, np.minimum(ref, cand), ref], axis=-1)
    return Image.fromarray(rgb, mode="RGB")
