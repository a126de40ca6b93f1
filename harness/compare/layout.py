"""Layout in physical units: the words of two renderings matched in reading order, and how
far each matched word moved, in millimetres.

Words are matched over the whole document (a longest common subsequence of the word
sequences), so a word pushed onto the next page by reflow is still the same word. Its
displacement is measured as a reader scrolling through the pages would see it: pages stacked
top to bottom, so a word that moved from the foot of one page to the head of the next has
moved by about a margin's height, not by a page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Indel

from harness.compare.rendering import Rendering

MOVED_MM = 2.0  # a word displaced further than this has visibly moved
# How much a displacement costs in the layout closeness (1 = in place, 0 = lost): nothing
# up to the glyph-rendering noise between suites, then linearly down to nothing at FAR_MM.
NOISE_MM = 0.5
FAR_MM = 25.0


@dataclass(frozen=True)
class WordMatch:
    reference_page: int  # 0-based page indexes
    candidate_page: int
    dx_mm: float  # candidate minus reference, on the page
    dy_mm: float
    distance_mm: float  # as scrolled: pages stacked


@dataclass(frozen=True)
class WordMatching:
    matches: tuple[WordMatch, ...]
    reference_words: int
    candidate_words: int
    reference_per_page: tuple[int, ...]
    candidate_per_page: tuple[int, ...]


@dataclass(frozen=True)
class LayoutStats:
    words_reference: int
    words_matched: int
    words_missing: int
    words_extra: int
    median_mm: float | None
    p95_mm: float | None
    moved_share: float | None  # of the reference's words: moved > MOVED_MM, or missing


def closeness(distance_mm: float) -> float:
    """1 within the noise, falling linearly to 0 at FAR_MM."""
    if distance_mm <= NOISE_MM:
        return 1.0
    return max(0.0, 1.0 - (distance_mm - NOISE_MM) / (FAR_MM - NOISE_MM))


def _offsets(rendering: Rendering) -> list[float]:
    offsets, total = [], 0.0
    for page in rendering.pages:
        offsets.append(total)
        total += page.height_mm
    return offsets


def match_words(reference: Rendering, candidate: Rendering) -> WordMatching:
    ref = [(i, w) for i, page in enumerate(reference.pages) for w in page.words]
    cand = [(j, w) for j, page in enumerate(candidate.pages) for w in page.words]
    ref_off, cand_off = _offsets(reference), _offsets(candidate)
    matches = []
    if ref and cand:
        blocks = Indel.opcodes([w.text for _, w in ref], [w.text for _, w in cand])
        for op in blocks:
            if op.tag != "equal":
                continue
            for k in range(op.src_end - op.src_start):
                i, a = ref[op.src_start + k]
                j, b = cand[op.dest_start + k]
                dx, dy = b.x_mm - a.x_mm, b.y_mm - a.y_mm
                scrolled = (cand_off[j] + b.y_mm) - (ref_off[i] + a.y_mm)
                matches.append(WordMatch(i, j, dx, dy, math.hypot(dx, scrolled)))
    return WordMatching(tuple(matches), len(ref), len(cand),
                        tuple(len(p.words) for p in reference.pages),
                        tuple(len(p.words) for p in candidate.pages))


def stats(matching: WordMatching, matches: tuple[WordMatch, ...] | None = None,
          reference_words: int | None = None, candidate_words: int | None = None) -> LayoutStats:
    """Displacement statistics over the given matches (default: the whole document)."""
    chosen = matching.matches if matches is None else matches
    n_ref = matching.reference_words if reference_words is None else reference_words
    n_cand = matching.candidate_words if candidate_words is None else candidate_words
    distances = np.array([m.distance_mm for m in chosen], dtype=float)
    moved = int((distances > MOVED_MM).sum()) + (n_ref - len(chosen))
    return LayoutStats(
        n_ref, len(chosen), n_ref - len(chosen), max(0, n_cand - len(chosen)),
        round(float(np.median(distances)), 3) if len(distances) else None,
        round(float(np.percentile(distances, 95)), 3) if len(distances) else None,
        round(moved / n_ref, 4) if n_ref else None)


def page_closeness(matches: list[WordMatch], reference_words: int,
                   candidate_words: int) -> float | None:
    """Layout closeness of one page pair: each word's closeness, a missing or an extra word
    counting 0. None when neither page has words."""
    total = max(reference_words, candidate_words)
    if total == 0:
        return None
    return sum(closeness(m.distance_mm) for m in matches) / total
