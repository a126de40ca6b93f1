"""Page images against a reference rendering: SSIM per page, pages paired in order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity


@dataclass(frozen=True)
class PagePair:
    reference_page: int | None  # 1-based; None when the candidate has an extra page
    candidate_page: int | None  # None when the candidate lacks the page
    ssim: float


@dataclass(frozen=True)
class VisualComparison:
    pairs: tuple[PagePair, ...]

    @property
    def score(self) -> float:
        """Mean SSIM over all pairs; a missing or extra page counts as 0."""
        return sum(p.ssim for p in self.pairs) / len(self.pairs) if self.pairs else 0.0

    @property
    def min_ssim(self) -> float:
        return min((p.ssim for p in self.pairs), default=0.0)


def gray(image: Image.Image, size: tuple[int, int] | None = None) -> np.ndarray:
    image = image.convert("L")
    if size is not None and image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float64)


def page_ssim(reference: Image.Image, candidate: Image.Image) -> float:
    """SSIM of two pages; the candidate is scaled to the reference's pixel size."""
    a = gray(reference)
    b = gray(candidate, size=reference.size)
    if min(a.shape) < 7:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(structural_similarity(a, b, data_range=255.0))


def is_blank(image: Image.Image) -> bool:
    """A page of one uniform colour shows nothing."""
    return float(gray(image).std()) < 1.0


def compare_pages(reference: list[Image.Image], candidate: list[Image.Image]) -> VisualComparison:
    """Pair pages in order. (Sequence alignment that absorbs reflow comes with issue 4.)"""
    pairs = []
    for i in range(max(len(reference), len(candidate))):
        if i < len(reference) and i < len(candidate):
            pairs.append(PagePair(i + 1, i + 1, page_ssim(reference[i], candidate[i])))
        elif i < len(reference):
            pairs.append(PagePair(i + 1, None, 0.0))
        else:
            pairs.append(PagePair(None, i + 1, 0.0))
    return VisualComparison(tuple(pairs))
