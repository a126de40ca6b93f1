"""Two renderings of one document compared: pages aligned, each pair's appearance (SSIM
after registration) and layout (word displacement in mm), the text, the fonts, a score and a
grade. `fidelity compare` and the sweep both use this."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

import numpy as np

from harness.compare import align, layout, visual
from harness.compare.fonts import FontReport, compare_fonts, same_metrics
from harness.compare.layout import FlowStats, LayoutStats, WordMatch
from harness.compare.rendering import Rendering
from harness.compare.text import TextComparison, compare_text
from harness.images import save_page_image
from harness.grade import DISPLACED, REFLOWED, Grading, flow_kind, grade


@dataclass(frozen=True)
class PageComparison:
    reference_page: int | None  # 1-based; None: the candidate's page is extra
    candidate_page: int | None  # None: the reference's page is missing
    ssim: float | None  # after registration; None for a missing or extra page
    area_changed: float | None  # share of inked tiles whose content was lost or added
    distance_mm: float | None  # median displacement of the reference page's words
    p95_mm: float | None
    moved_share: float | None
    words_reference: int
    words_candidate: int
    words_missing: int
    offset_mm: tuple[float, float]  # registration applied: the words' median (dx, dy)
    score: float  # 0-1: SSIM x unchanged area x layout closeness; 0 for a missing or extra page
    tiles_changed: int = 0
    tiles_inked: int = 0

    def to_json(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Comparison:
    page_count_reference: int
    page_count_candidate: int
    pages: tuple[PageComparison, ...]
    layout: LayoutStats
    text: TextComparison
    fonts: FontReport
    score: float
    grading: Grading
    flow: FlowStats | None = None

    @property
    def flow_kind(self) -> str | None:
        """'reflowed' (every word there and in order, lines or pages broken elsewhere),
        'displaced' (the words found, blocks of them shown elsewhere) or None."""
        if self.flow is None:
            return None
        return flow_kind(self.flow.matched_share, self.flow.found_share,
                         self.flow.extra_share, self.flow.cut_share)

    @property
    def reflowed(self) -> bool:
        return self.flow_kind == REFLOWED

    def cause(self) -> str:
        """What a person would say first: pages gained or lost, reflow, and which fonts
        stood in ("4 pages instead of 3: text reflowed, every word there and in order;
        Aptos is not installed, DejaVu Sans stood in (text runs wider)")."""
        said = []
        if self.page_count_candidate != self.page_count_reference:
            said.append(f"{_pages(self.page_count_candidate)} instead of "
                        f"{self.page_count_reference}")
        flow = self.flow
        laid_out_otherwise = self.grading.signals.get("layout", 5) < 5 or bool(said)
        if flow is not None and flow.words_reference:
            lost = flow.words_reference - flow.words_matched - flow.words_displaced
            words = ("every word there" if lost == 0 else
                     f"{flow.words_reference - lost} of {flow.words_reference} words there")
            if self.reflowed and laid_out_otherwise:
                said.append(f"text reflowed, {words} and in order")
            elif self.flow_kind == DISPLACED:
                said.append(f"{words}, {flow.words_displaced} shown elsewhere, out of "
                            "reading order")
            elif lost and flow.found_share < 0.95:
                said.append(f"{lost} of {flow.words_reference} words of the reference not "
                            "found")
        text = ": ".join([said[0], ", ".join(said[1:])] if len(said) > 1 else said)
        if self.fonts.substituted and said:
            stand_ins = "; ".join(
                f"{asked}: drawn in {used} instead" if asked in self.fonts.paired else
                f"{asked} is not installed, {used} stood in"
                + (" (same metrics)" if same_metrics(asked, used) else "")
                for asked, used in sorted(self.fonts.substituted.items())[:3])
            drift = self.flow.drift_mm if self.flow else None
            width = ("" if drift is None or abs(drift) < 0.05 else
                     " (text runs wider)" if drift > 0 else " (text runs narrower)")
            text += f"; {stand_ins}{width}"
        return text

    @property
    def ssim_mean(self) -> float:
        return sum(p.ssim or 0.0 for p in self.pages) / len(self.pages) if self.pages else 0.0

    @property
    def area_changed(self) -> float:
        """Over the whole document: a missing or extra page's inked tiles all changed."""
        inked = sum(p.tiles_inked for p in self.pages)
        return sum(p.tiles_changed for p in self.pages) / inked if inked else 0.0

    @property
    def area_changed_worst(self) -> float | None:
        """The worst page pair's: a block lost on one page of five is not a trace. Missing
        and extra pages are left to the page count."""
        paired = [p.area_changed for p in self.pages
                  if p.reference_page and p.candidate_page and p.area_changed is not None]
        return max(paired) if paired else None

    def grade_inputs(self) -> dict:
        """The signals this comparison measures, as `harness.grade.grade` takes them."""
        measured = self.layout.words_reference or self.layout.words_matched or \
            self.layout.words_extra
        return {"visual_score": self.ssim_mean, "area_changed": self.area_changed_worst,
                "layout": (self.layout.median_mm, self.layout.moved_share) if measured
                else None,
                "reflow": {"anchor_mm": self.flow.anchor_mm,
                           "cuts_per_page": self.flow.cuts_per_page,
                           "same_pages": self.page_count_candidate == self.page_count_reference,
                           "kind": self.flow_kind}
                if self.flow_kind else None}

    @property
    def ssim_min(self) -> float:
        return min((p.ssim or 0.0 for p in self.pages), default=0.0)

    @property
    def missing_pages(self) -> list[int]:
        return [p.reference_page for p in self.pages if p.candidate_page is None]

    @property
    def extra_pages(self) -> list[int]:
        return [p.candidate_page for p in self.pages if p.reference_page is None]

    def scores(self) -> dict[str, float | int | None]:
        """Flat figures for the store and the CSV."""
        return {
            "score": round(self.score, 4), "ssim_mean": round(self.ssim_mean, 4),
            "ssim_min": round(self.ssim_min, 4), "area_changed": round(self.area_changed, 4),
            "area_changed_worst_page": self.area_changed_worst,
            "pages_reference": self.page_count_reference,
            "pages_missing": len(self.missing_pages), "pages_extra": len(self.extra_pages),
            "layout_median_mm": self.layout.median_mm, "layout_p95_mm": self.layout.p95_mm,
            "layout_moved_share": self.layout.moved_share,
            "words_missing_vs_reference": self.layout.words_missing,
            "words_extra_vs_reference": self.layout.words_extra,
            "text_recall_vs_reference": round(self.text.recall, 4),
            "flow_cut_share": self.flow.cut_share if self.flow else None,
            "flow_drift_mm": self.flow.drift_mm if self.flow else None,
            "flow_anchor_mm": self.flow.anchor_mm if self.flow else None,
            "reflowed": int(self.reflowed),
            "words_displaced_vs_reference": self.flow.words_displaced if self.flow else None,
        }

    def to_json(self) -> dict:
        return {
            "grade": self.grading.grade, "score": round(self.score, 4),
            "signals": self.grading.signals, "reason": self.grading.reason,
            "page_count": {"reference": self.page_count_reference,
                           "candidate": self.page_count_candidate},
            "missing_pages": self.missing_pages, "extra_pages": self.extra_pages,
            "pages": [p.to_json() for p in self.pages],
            "ssim_mean": round(self.ssim_mean, 4),
            "area_changed": round(self.area_changed, 4),
            "area_changed_worst_page": self.area_changed_worst,
            "layout": self.layout.__dict__,
            "flow": {**self.flow.__dict__, "kind": self.flow_kind} if self.flow else None,
            "text_similarity": (round(self.text.order_similarity, 4)
                                if self.text.order_similarity is not None else None),
            "text_recall": round(self.text.recall, 4),
            "fonts": self.fonts.to_json(),
        }


def _median_offset(matches: list[WordMatch]) -> tuple[float, float]:
    if not matches:
        return 0.0, 0.0
    return (float(np.median([m.dx_mm for m in matches])),
            float(np.median([m.dy_mm for m in matches])))


def _pages(count: int) -> str:
    return f"{count} page" if count == 1 else f"{count} pages"


def _places(matches: list[WordMatch], on_candidate: bool = False) -> np.ndarray:
    """The matched words' places (x, y in mm) on the reference page, or the candidate's."""
    return np.array([(m.x_mm + m.dx_mm, m.y_mm + m.dy_mm) if on_candidate else
                     (m.x_mm, m.y_mm) for m in matches], dtype=float).reshape(-1, 2)


def compare_renderings(reference: Rendering, candidate: Rendering,
                       asked_fonts: Iterable[str] | None = None) -> Comparison:
    """`asked_fonts`: the families the source document asks for; by default the fonts of
    the reference rendering."""
    words = layout.match_words(reference, candidate)
    pairs = align.align(align.similarity_matrix(reference, candidate, words))
    by_ref_page: dict[int, list[WordMatch]] = defaultdict(list)
    by_cand_page: dict[int, list[WordMatch]] = defaultdict(list)
    for m in words.matches:
        by_ref_page[m.reference_page].append(m)
        by_cand_page[m.candidate_page].append(m)

    pages = []
    px_per_mm = reference.dpi / 25.4
    for i, j in pairs:
        if i is None or j is None:
            ref_words = words.reference_per_page[i] if i is not None else 0
            cand_words = words.candidate_per_page[j] if j is not None else 0
            lone = reference.pages[i] if i is not None else candidate.pages[j]
            inked = visual.inked_tiles(lone.image, reference.dpi)
            pages.append(PageComparison(
                None if i is None else i + 1, None if j is None else j + 1, None,
                1.0 if inked else None, None, None, 1.0 if ref_words else None, ref_words,
                cand_words, ref_words, (0.0, 0.0), 0.0, inked, inked))
            continue
        ref_page, cand_page = reference.pages[i], candidate.pages[j]
        here = by_ref_page.get(i, [])
        shared = [m for m in here if m.candidate_page == j]
        dx, dy = _median_offset(shared)
        placed = visual.register(ref_page.image, cand_page.image, round(dx * px_per_mm),
                                 round(dy * px_per_mm), reference.dpi)
        similarity = visual.ssim(ref_page.image, placed)
        moves = visual.Moves(
            _places(shared), _places(shared, on_candidate=True), (dx, dy),
            gone_mm=_places([m for m in here if m.candidate_page != j]),
            came_mm=_places([m for m in by_cand_page.get(j, []) if m.reference_page != i],
                            on_candidate=True))
        changed, inked = visual.changed_tiles(ref_page.image, cand_page.image, reference.dpi,
                                              moves)
        area = changed / inked if inked else 0.0
        n_ref, n_cand = words.reference_per_page[i], words.candidate_per_page[j]
        closeness = layout.page_closeness(here, n_ref, n_cand)
        page_stats = layout.stats(words, tuple(here), n_ref, n_cand)
        score = similarity * (1.0 - area) * (closeness if closeness is not None else 1.0)
        pages.append(PageComparison(
            i + 1, j + 1, round(similarity, 4), round(area, 4), page_stats.median_mm,
            page_stats.p95_mm, page_stats.moved_share, n_ref, n_cand, page_stats.words_missing,
            (round(dx, 3), round(dy, 3)), round(score, 4), changed, inked))

    overall = layout.stats(words)
    ref_text = [" ".join(w.text for w in p.words) for p in reference.pages]
    cand_text = " ".join(w.text for p in candidate.pages for w in p.words)
    text = compare_text(ref_text, cand_text)
    fonts = compare_fonts(asked_fonts if asked_fonts is not None else reference.fonts,
                          candidate.fonts)
    score = sum(p.score for p in pages) / len(pages) if pages else 0.0
    ungraded = Comparison(reference.page_count, candidate.page_count, tuple(pages), overall,
                          text, fonts, score, grade(), layout.flow(words))
    grading = grade(text_recall=text.recall if text.source_tokens else None,
                    expected_pages=reference.page_count, rendered_pages=candidate.page_count,
                    **ungraded.grade_inputs())
    return replace(ungraded, grading=grading)


def write_diffs(reference: Rendering, candidate: Rendering, comparison: Comparison,
                folder: Path, limit: int | None = None) -> list[Path]:
    """One overlay per aligned entry: reference ink red, candidate ink blue, both black.
    Pages are overlaid as placed (not registered): displacement is what it must show."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for n, entry in enumerate(comparison.pages[:limit], start=1):
        ref = reference.pages[entry.reference_page - 1].image if entry.reference_page else None
        cand = candidate.pages[entry.candidate_page - 1].image if entry.candidate_page else None
        name = (f"diff-{n:03d}-ref{entry.reference_page or 0:03d}"
                f"-cand{entry.candidate_page or 0:03d}.png")
        save_page_image(visual.diff_image(ref, cand), folder / name)
        written.append(folder / name)
    return written
