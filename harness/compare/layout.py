"""Layout in physical units: the words of two renderings matched in reading order, and how
far each matched word moved, in millimetres.

Words are matched over the whole document (a longest common subsequence of the word
sequences), so a word pushed onto the next page by reflow is still the same word. Its
displacement is measured as a reader scrolling through the pages would see it: pages stacked
top to bottom, so a word that moved from the foot of one page to the head of the next has
moved by about a margin's height, not by a page.

Absolute displacement alone cannot tell reflow from loss: when a wider font stands in, every
word is still there and in order, but lines break elsewhere and everything after the first
changed break moves by centimetres. So the flow is measured too (`flow`): each matched word's
displacement against its predecessor's. Where the text flows as in the reference, neighbours
move together; a line or page break that moved cuts the flow once; words scattered at random
(an unrelated document, a shuffled page) cut it almost everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Indel

from harness.compare.rendering import Rendering, Word

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
    scrolled_dy_mm: float = 0.0  # vertical displacement as scrolled
    in_order: bool = True  # False: found elsewhere, in a block displaced out of order
    x_mm: float = 0.0  # the reference word's place on its page
    y_mm: float = 0.0


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


LINE_MM = 1.5  # words whose baselines lie closer than this read as one line


def reading_order(words: tuple[Word, ...]) -> list[Word]:
    """A page's words as a reader scans it: lines top to bottom, each left to right.

    The order of a PDF's text layer is its producer's drawing order, not the page's: Excel
    (through Quartz) and LibreOffice emit a sheet's cells in different orders, headers and
    footers first or last. Matched in that order, a sheet whose every cell is in place would
    look scrambled. On the page itself both agree."""
    by_height = sorted(words, key=lambda w: (w.y_mm, w.x_mm))
    ordered: list[Word] = []
    line: list[Word] = []
    for word in by_height:
        if line and word.y_mm - line[0].y_mm > LINE_MM:
            ordered += sorted(line, key=lambda w: w.x_mm)
            line = []
        line.append(word)
    return ordered + sorted(line, key=lambda w: w.x_mm)


MIN_BLOCK = 3  # words in a row that make a block found elsewhere, not a chance match


def match_words(reference: Rendering, candidate: Rendering) -> WordMatching:
    """Words matched in reading order; then, among the words left, runs of at least
    MIN_BLOCK words found elsewhere (a column printed on another page, a text box moved):
    those are content displaced, not lost, and marked out of order."""
    ref = [(i, w) for i, page in enumerate(reference.pages) for w in reading_order(page.words)]
    cand = [(j, w) for j, page in enumerate(candidate.pages)
            for w in reading_order(page.words)]
    ref_off, cand_off = _offsets(reference), _offsets(candidate)
    found: list[tuple[int, int, WordMatch]] = []

    def pair(r: int, c: int, in_order: bool) -> None:
        (i, a), (j, b) = ref[r], cand[c]
        dx, dy = b.x_mm - a.x_mm, b.y_mm - a.y_mm
        scrolled = (cand_off[j] + b.y_mm) - (ref_off[i] + a.y_mm)
        found.append((r, c, WordMatch(i, j, dx, dy, math.hypot(dx, scrolled), scrolled,
                                      in_order, a.x_mm, a.y_mm)))

    if ref and cand:
        for op in Indel.opcodes([w.text for _, w in ref], [w.text for _, w in cand]):
            if op.tag == "equal":
                for k in range(op.src_end - op.src_start):
                    pair(op.src_start + k, op.dest_start + k, True)
        taken_ref, taken_cand = {r for r, _, _ in found}, {c for _, c, _ in found}
        left_ref = [r for r in range(len(ref)) if r not in taken_ref]
        left_cand = [c for c in range(len(cand)) if c not in taken_cand]
        if left_ref and left_cand:
            for op in Indel.opcodes([ref[r][1].text for r in left_ref],
                                    [cand[c][1].text for c in left_cand]):
                if op.tag == "equal" and op.src_end - op.src_start >= MIN_BLOCK:
                    for k in range(op.src_end - op.src_start):
                        pair(left_ref[op.src_start + k], left_cand[op.dest_start + k], False)
    found.sort(key=lambda item: item[0])
    return WordMatching(tuple(m for _, _, m in found), len(ref), len(cand),
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


@dataclass(frozen=True)
class FlowStats:
    """The reference's words followed in reading order through the candidate."""
    words_reference: int
    words_matched: int  # in reading order
    words_extra: int  # candidate words matched to nothing
    cuts: int  # neighbours whose vertical displacements differ by more than MOVED_MM
    cut_share: float | None  # of neighbouring pairs
    drift_mm: float | None  # median horizontal drift between neighbours on one line
    anchor_mm: float | None  # how far the document's first words moved (their median)
    reference_pages: int = 1
    words_displaced: int = 0  # found elsewhere, in blocks out of reading order

    @property
    def matched_share(self) -> float:
        return self.words_matched / self.words_reference if self.words_reference else 0.0

    @property
    def found_share(self) -> float:
        """In order or displaced: the share of the reference's words still shown."""
        found = self.words_matched + self.words_displaced
        return found / self.words_reference if self.words_reference else 0.0

    @property
    def extra_share(self) -> float:
        return self.words_extra / self.words_reference if self.words_reference else 0.0

    @property
    def cuts_per_page(self) -> float:
        return self.cuts / max(1, self.reference_pages)


ANCHOR_WORDS = 5  # the first words matched say where the content starts


def flow(matching: WordMatching) -> FlowStats:
    """How the text flows: cuts where a word lands on another line than its predecessor
    (a line or page broken elsewhere), and where the content starts. Horizontal
    steps between neighbours are no cut: table columns of other widths move cells apart
    sideways without breaking the flow."""
    chosen = matching.matches
    cuts, drifts = 0, []
    for a, b in zip(chosen, chosen[1:]):
        step_x, step_y = b.dx_mm - a.dx_mm, b.scrolled_dy_mm - a.scrolled_dy_mm
        if abs(step_y) > MOVED_MM:
            cuts += 1
        elif abs(step_y) < MOVED_MM / 2 and abs(step_x) < MOVED_MM:
            drifts.append(step_x)
    # Where the document starts: later pages start wherever the reflow broke them.
    first_page = chosen[0].reference_page if chosen else 0
    anchors = [m.distance_mm for m in chosen
               if m.reference_page == first_page and m.in_order][:ANCHOR_WORDS]
    pairs = len(chosen) - 1
    in_order = sum(1 for m in chosen if m.in_order)
    return FlowStats(matching.reference_words, in_order,
                     max(0, matching.candidate_words - len(chosen)), cuts,
                     round(cuts / pairs, 4) if pairs > 0 else None,
                     round(float(np.median(drifts)), 4) if drifts else None,
                     round(float(np.median(anchors)), 3) if anchors else None,
                     len(matching.reference_per_page), len(chosen) - in_order)


def page_closeness(matches: list[WordMatch], reference_words: int,
                   candidate_words: int) -> float | None:
    """Layout closeness of one page pair: each word's closeness, a missing or an extra word
    counting 0. None when neither page has words."""
    total = max(reference_words, candidate_words)
    if total == 0:
        return None
    return sum(closeness(m.distance_mm) for m in matches) / total
