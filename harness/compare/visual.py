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

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.spatial import cKDTree

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


@dataclass(frozen=True)
class Moves:
    """Where content went, from the words both pages share: each matched word's place on
    the reference page and on the candidate page, in mm. Content near a word is expected to
    have moved with it (a reflowed line, a table row pushed down); content far from every
    word (a picture, a chart) with the page's median move. Content whose words went to
    another page (`gone_mm`, on the reference page) or came from one (`came_mm`, on the
    candidate page) is the page count's and the layout's to judge, not lost here."""
    reference_mm: np.ndarray  # N x 2 (x, y)
    candidate_mm: np.ndarray  # N x 2
    median_mm: tuple[float, float]  # candidate minus reference
    gone_mm: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    came_mm: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))

    def tile_shifts(self, shape: tuple[int, int], tile_mm: float, on_candidate: bool
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per tile of one page: where its content lies on the other page, in whole tiles
        (rows, columns), and whether it went to (or came from) another page instead."""
        rows, cols = np.indices(shape)
        centres = np.stack([(cols.ravel() + 0.5) * tile_mm, (rows.ravel() + 0.5) * tile_mm],
                           axis=1)
        here, there, elsewhere = ((self.candidate_mm, self.reference_mm, self.came_mm)
                                  if on_candidate else
                                  (self.reference_mm, self.candidate_mm, self.gone_mm))
        move = np.tile(np.array(self.median_mm) * (-1 if on_candidate else 1),
                       (len(centres), 1))
        away = np.zeros(len(centres), dtype=bool)
        places = np.concatenate([here, elsewhere]) if len(elsewhere) else here
        if len(places):
            # A tile belongs to the word it lies in: one of its own line (vertical distance
            # counts LINE_WEIGHT times) that starts left of it (a word's place is its origin).
            scale = np.array([1.0, LINE_WEIGHT])
            k = min(OWNER_CANDIDATES, len(places))
            _, index = cKDTree(places * scale).query(centres * scale, k=k)
            index = index.reshape(len(centres), k)
            starts_left = places[index][:, :, 0] <= centres[:, None, 0] + tile_mm / 2
            owner = index[np.arange(len(centres)),
                          np.where(starts_left.any(axis=1), starts_left.argmax(axis=1), 0)]
            near = np.hypot(*(places[owner] - centres).T) <= MOVE_REACH_MM
            away = near & (owner >= len(here))
            kept = near & ~away
            move[kept] = (there - here)[owner[kept]]
        shift = np.round(move / tile_mm).astype(int)
        return shift[:, 1].reshape(shape), shift[:, 0].reshape(shape), away.reshape(shape)


LINE_WEIGHT = 4.0
OWNER_CANDIDATES = 4  # nearest words among which a tile's owner is chosen
MOVE_REACH_MM = 30.0  # further from every word, a tile follows the page's median move


def changed_tiles(reference: np.ndarray, candidate: np.ndarray, dpi: int,
                  moves: Moves | None = None) -> tuple[int, int]:
    """(tiles whose content was lost or added, tiles with ink on either page).

    A tile's content is found when a tile-sized window anywhere within REACH_TILES of it on
    the other page holds half its ink. Windows slide (in steps of a third of a tile), not
    only on the grid: a ruled line shifted by half a millimetre across a tile border is
    split between two grid tiles, each with under half its ink, yet one sliding window still
    holds it all. So content that moves further never looks less changed. With `moves`
    (the candidate not registered), each tile is looked for where its nearest words went:
    reflowed text is found, a fill or a chart lost beside it is not."""
    candidate = fit(candidate, reference.shape)
    (ref, near_ref), (cand, near_cand) = _ink(reference, dpi), _ink(candidate, dpi)
    gone = came = np.zeros(ref.shape, dtype=bool)
    if moves is not None:
        tile_mm = _tile_px(dpi) * 25.4 / dpi
        rows, cols, gone = moves.tile_shifts(ref.shape, tile_mm, False)
        near_cand = _shifted(near_cand, rows, cols)
        rows, cols, came = moves.tile_shifts(ref.shape, tile_mm, True)
        near_ref = _shifted(near_ref, rows, cols)
    lost = (ref > INK_FLOOR) & (near_cand < CHANGED * ref) & ~gone
    added = (cand > INK_FLOOR) & (near_ref < CHANGED * cand) & ~came
    inked = np.maximum(ref, cand) > INK_FLOOR
    return int((lost | added).sum()), int(inked.sum())


def _shifted(values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """values[r + rows[r, c], c + cols[r, c]] per tile; off the page, no ink."""
    r, c = np.indices(values.shape)
    r, c = r + rows, c + cols
    inside = (r >= 0) & (r < values.shape[0]) & (c >= 0) & (c < values.shape[1])
    out = np.zeros_like(values)
    out[inside] = values[r[inside], c[inside]]
    return out


_STEPS_PER_TILE = 3


def _ink(image: np.ndarray, dpi: int) -> tuple[np.ndarray, np.ndarray]:
    """Per grid tile: its own mean ink, and the most ink any tile-sized window within
    REACH_TILES of it holds. Windows slide by a third of a tile, built from the mean ink of
    third-of-a-tile blocks, so the page is read once."""
    size = _tile_px(dpi)
    step = max(1, size // _STEPS_PER_TILE)
    per_tile = size // step
    if per_tile * step != size:  # a tile is not a whole number of blocks at this dpi
        return _tile_ink(image, dpi), _near_ink(_block_ink(image, step), size, step,
                                                _tile_ink(image, dpi).shape)
    blocks = _block_ink(image, step)
    rows, cols = -(-blocks.shape[0] // per_tile), -(-blocks.shape[1] // per_tile)
    padded = np.zeros((rows * per_tile, cols * per_tile), dtype=np.float32)
    padded[:blocks.shape[0], :blocks.shape[1]] = blocks
    tiles = padded.reshape(rows, per_tile, cols, per_tile).mean(axis=(1, 3))
    return tiles, _near_ink(blocks, size, step, tiles.shape)


def _near_ink(blocks: np.ndarray, size: int, step: int,
              tiles: tuple[int, int]) -> np.ndarray:
    per_tile = size // step
    windows = ndimage.uniform_filter(blocks, size=per_tile, mode="constant")
    best = ndimage.maximum_filter(windows, size=2 * REACH_TILES * per_tile + 1,
                                  mode="constant")
    # The window centred on block k starts at block k - per_tile // 2: grid tile r starts
    # at pixel r * size, so its own window is centred on block r * size / step + per_tile // 2.
    rows = np.minimum(np.round(np.arange(tiles[0]) * size / step).astype(int) + per_tile // 2,
                      best.shape[0] - 1)
    cols = np.minimum(np.round(np.arange(tiles[1]) * size / step).astype(int) + per_tile // 2,
                      best.shape[1] - 1)
    return best[np.ix_(rows, cols)]


def _tile_px(dpi: int) -> int:
    return max(1, round(TILE_MM / 25.4 * dpi))


def inked_tiles(image: np.ndarray, dpi: int) -> int:
    return int((_tile_ink(image, dpi) > INK_FLOOR).sum())


def _tile_ink(image: np.ndarray, dpi: int) -> np.ndarray:
    """Mean darkness of each TILE_MM tile; a partial tile at the edges is padded with paper."""
    return _block_ink(image, _tile_px(dpi))


def _block_ink(image: np.ndarray, size: int) -> np.ndarray:
    """Mean darkness of each size x size block; partial blocks padded with paper."""
    h, w = image.shape
    padded = np.full((-(-h // size) * size, -(-w // size) * size), 255, dtype=np.float32)
    padded[:h, :w] = image
    ink = 255.0 - padded
    return ink.reshape(padded.shape[0] // size, size, padded.shape[1] // size, size).mean(
        axis=(1, 3))


RESIDUAL_MM = 1.0  # left for the ink to register after the words: rounding, other origins


def register(reference: np.ndarray, candidate: np.ndarray, dx_px: int, dy_px: int,
             dpi: int | None = None) -> np.ndarray:
    """The candidate at the reference's size, moved back by its words' median offset, then
    (given the dpi) by what is left within RESIDUAL_MM, found from the ink's row and column
    profiles: a page whose words say nothing (a chart, a ruled sheet) or that moved by a
    fraction of a pixel is still compared in step."""
    candidate = fit(candidate, reference.shape)
    placed = translate(candidate, -dx_px, -dy_px) if dx_px or dy_px else candidate
    if dpi is None:
        return placed
    reach = max(1, round(RESIDUAL_MM / 25.4 * dpi))
    ref_ink, cand_ink = 255.0 - reference.astype(np.float32), 255.0 - placed.astype(np.float32)
    x = _profile_shift(ref_ink.sum(axis=0), cand_ink.sum(axis=0), reach)
    y = _profile_shift(ref_ink.sum(axis=1), cand_ink.sum(axis=1), reach)
    return translate(placed, x, y) if x or y else placed


def _profile_shift(reference: np.ndarray, candidate: np.ndarray, reach: int) -> int:
    """The shift within +-reach (px) that best lays the candidate's ink profile on the
    reference's; no shift unless one is strictly better."""
    if len(reference) <= 2 * reach:
        return 0
    inner = slice(reach, len(reference) - reach)
    errors = {s: float(np.abs(reference[inner] - np.roll(candidate, s)[inner]).sum())
              for s in range(-reach, reach + 1)}
    best = min(errors, key=lambda s: (errors[s], abs(s)))
    return best if errors[best] < errors[0] else 0


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
