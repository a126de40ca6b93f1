"""What a result's numbers mean, in words: each stored score with its label, its unit and
the rubric's threshold it met or missed (from `harness.grade`'s own steps, so the page and
the grading never disagree), and what "limited by X" says about a document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from harness.grade import (AREA_STEPS, CHECK_STEPS, DRAWN_FLOOR, LAYOUT_STEPS,
                           TEXT_RECALL_STEPS, VISUAL_STEPS, at_most_grade, page_count_grade,
                           step_grade)

# What each signal measures, and what it means when it is the one limiting the grade.
SIGNALS: dict[str, tuple[str, str]] = {
    "text": ("Text", "the share of the original's words found on the rendered pages; "
             "when it limits, words are missing."),
    "visual": ("Appearance", "how alike the pages look once lined up (SSIM, 1 identical); "
               "when it limits, the pages look different even where the words are there."),
    "area": ("Area changed", "the share of each page's inked 5 mm squares whose content was "
             "lost or added against the Microsoft reference, looked for where its words went; "
             "when it limits, a block (text, a fill, a picture, a border) is missing or "
             "added on at least one page."),
    "layout": ("Layout", "how far the words sit from where Microsoft's application put them "
               "(median displacement in mm, and the share moved more than 2 mm); when it "
               "limits, content is displaced on the page."),
    "pages": ("Page count", "pages rendered against the reference's count (or the count "
              "Word recorded in the file); when it limits, content moved across pages."),
    "structure": ("Structural checks", "facts of the source (tables, headers, footnotes, "
                  "formulas' values, hidden content kept off the page...) found where they "
                  "belong; when it limits, some of those are missing or wrong."),
    "drawn": ("Drawn content", "charts, pictures, SmartArt and shapes drawn where they "
              "belong; when it limits, a drawing is missing or empty."),
    "reflow": ("Reflow", "every word is there and in order, but lines or pages break "
               "elsewhere, usually because a font of another width stood in; graded 2–4 by "
               "how far the content moved."),
    "displaced content": ("Displaced content", "every word is there, but blocks of words are "
                          "shown elsewhere (another page, out of reading order); at most 3."),
}


def limit_explained(message: str | None, signals: dict[str, int] | None) -> str:
    """The "limited by X" of a result's message, as a sentence a reader can act on."""
    text = message or ""
    if text.startswith("every signal at 5"):
        return "Nothing measured below 5."
    if not text.startswith("limited by"):
        return ""
    for key in ("reflow", "displaced content"):
        if text.startswith(f"limited by {key}"):
            name, words = SIGNALS[key]
            return f"{name}: {words}"
    if signals:
        weakest = min(signals, key=signals.get)
        for key in (text[len("limited by "):].split(";")[0].split(" (")[0].strip(), weakest):
            key = "drawn" if key.startswith("drawn") else key
            if key in SIGNALS:
                name, words = SIGNALS[key]
                return f"{name} ({signals.get(key, '–')} of 5): {words}"
    return ""


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    unit: str
    shown: Callable[[float], str]
    signal: str | None = None
    grade_of: Callable[[float], int] | None = None
    thresholds: tuple[float, ...] = ()  # for 5, 4, 3, 2, 1
    lower_is_better: bool = False


def _percent(v: float) -> str:
    return f"{100 * v:.1f}"


def _plain(digits: int) -> Callable[[float], str]:
    return lambda v: f"{v:.{digits}f}"


def _count(v: float) -> str:
    return f"{int(v)}"


MEASURES = [
    Measure("text_recall", "words of the original found", "%", _percent, "text",
            lambda v: step_grade(v, TEXT_RECALL_STEPS), TEXT_RECALL_STEPS),
    Measure("ssim_mean", "page likeness (SSIM, mean of page pairs)", "0–1, 1 identical",
            _plain(3), "visual", lambda v: step_grade(v, VISUAL_STEPS), VISUAL_STEPS),
    Measure("area_changed_worst_page", "content lost or added, worst page",
            "% of the inked area", _percent, "area", lambda v: at_most_grade(v, AREA_STEPS),
            AREA_STEPS, True),
    Measure("layout_median_mm", "words displaced (median)", "mm", _plain(2), "layout",
            lambda v: at_most_grade(v, tuple(s[0] for s in LAYOUT_STEPS)),
            tuple(s[0] for s in LAYOUT_STEPS), True),
    Measure("layout_moved_share", "words moved more than 2 mm or missing", "%", _percent,
            "layout", lambda v: at_most_grade(v, tuple(s[1] for s in LAYOUT_STEPS)),
            tuple(s[1] for s in LAYOUT_STEPS), True),
    Measure("checks_passed", "structural checks passed", "%", _percent, "structure",
            lambda v: step_grade(v, CHECK_STEPS), CHECK_STEPS),
    Measure("drawn_passed", "charts, pictures and shapes drawn", "%", _percent, "drawn",
            lambda v: max(DRAWN_FLOOR, step_grade(v, CHECK_STEPS)), CHECK_STEPS),
    Measure("pages_rendered", "pages rendered", "pages", _count),
    Measure("pages_expected", "pages expected", "pages", _count),
    Measure("pages_reference", "pages of the reference", "pages", _count),
    Measure("pages_missing", "reference pages with no match", "pages", _count),
    Measure("pages_extra", "pages with no reference page", "pages", _count),
    Measure("text_similarity", "text similarity to the original", "0–1", _plain(3)),
    Measure("text_recall_vs_reference", "words of the reference's text found", "%", _percent),
    Measure("text_recall_lossy_reader", "words found (lossy reader, not graded)", "%",
            _percent),
    Measure("source_words", "words in the original", "words", _count),
    Measure("rendered_words", "words on the rendered pages", "words", _count),
    Measure("words_missing_vs_reference", "reference words not found", "words", _count),
    Measure("words_extra_vs_reference", "words not in the reference", "words", _count),
    Measure("words_displaced_vs_reference", "words found only elsewhere", "words", _count),
    Measure("layout_p95_mm", "words displaced (95th percentile)", "mm", _plain(2)),
    Measure("ssim_min", "page likeness, worst page", "0–1", _plain(3)),
    Measure("area_changed", "content lost or added, mean of pages", "% of the inked area",
            _percent),
    Measure("flow_cut_share", "words on another line than their predecessor", "%", _percent),
    Measure("flow_drift_mm", "drift along the text flow", "mm", _plain(2)),
    Measure("flow_anchor_mm", "displacement of the content's start", "mm", _plain(2)),
    Measure("reflowed", "text reflowed (1 yes)", "", _count),
    Measure("fonts_substituted", "fonts drawn in a stand-in", "fonts", _count),
    Measure("score", "overall closeness (not graded)", "0–1", _plain(3)),
]
_BY_KEY = {m.key: m for m in MEASURES}


@dataclass(frozen=True)
class ScoreRow:
    label: str
    value: str
    unit: str
    signal: str  # the signal it feeds, in words, or ""
    grade: int | None  # the grade this value earns on its own
    threshold: str  # the rubric's threshold met, and the next one missed
    met: bool | None  # None: not graded on its own


def _threshold(measure: Measure, value: float, earned: int) -> str:
    def step(grade: int) -> str:
        limit = measure.thresholds[5 - grade]
        sign = "≤" if measure.lower_is_better else "≥"
        unit = f" {measure.unit}" if measure.unit in ("%", "mm") else ""
        return f"{sign} {measure.shown(limit)}{unit} for {grade}"

    def bounded(grade: int) -> bool:  # a share of 100 % is no bound at all
        return not (measure.lower_is_better and measure.unit == "%"
                    and measure.thresholds[5 - grade] >= 1.0)

    if earned == 5:
        return f"met {step(5)}"
    missed = f"missed {step(earned + 1)}"
    return f"met {step(earned)}; {missed}" if earned >= 1 and bounded(earned) else missed


def score_rows(scores: dict[str, Any], signals: dict[str, int] | None) -> list[ScoreRow]:
    """A result's scores as labelled rows, graded measures first, unknown keys last."""
    signals = signals or {}
    rows: list[ScoreRow] = []
    for measure in MEASURES:
        if measure.key not in scores:
            continue
        value = scores[measure.key]
        if value is None:
            rows.append(ScoreRow(measure.label, "not measured", "",
                                 SIGNALS.get(measure.signal or "", ("",))[0], None,
                                 "nothing of this kind to check", None))
            continue
        if measure.grade_of is None:
            rows.append(ScoreRow(measure.label, measure.shown(value), measure.unit, "", None,
                                 "", None))
            continue
        earned = measure.grade_of(float(value))
        rows.append(ScoreRow(measure.label, measure.shown(value), measure.unit,
                             SIGNALS[measure.signal][0], earned,
                             _threshold(measure, float(value), earned), earned == 5))
    if "pages_rendered" in scores and scores.get("pages_expected") is not None \
            and "pages" in signals:
        earned = page_count_grade(int(scores["pages_expected"]), int(scores["pages_rendered"]))
        rows.insert(sum(1 for r in rows if r.grade is not None),
                    ScoreRow("page count", f"{scores['pages_rendered']} of "
                             f"{scores['pages_expected']}", "pages", "Page count", earned,
                             "met the same count for 5" if earned == 5 else
                             "missed the same count for 5", earned == 5))
    for key, value in scores.items():
        if key not in _BY_KEY:
            rows.append(ScoreRow(key.replace("_", " "), "not measured" if value is None
                                 else (f"{value:.3f}" if isinstance(value, float)
                                       else str(value)), "", "", None, "", None))
    return rows


PAGE_STEPS = ("same count", "—", "one page or 10 % off", "≤ 25 % off", "more", "—")


def rubric() -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The rubric's thresholds as a table (header, rows for grade 5 down to 0), drawn from
    the same steps the grading uses."""
    graded = [m for m in MEASURES if m.grade_of is not None]
    header = [f"{m.label} ({m.unit})" for m in graded] + ["page count"]
    rows = []
    for grade in range(5, -1, -1):
        cells = []
        for m in graded:
            if grade == 0:
                never = m.key == "drawn_passed" or (m.lower_is_better and m.unit == "%"
                                                    and m.thresholds[-1] >= 1.0)
                cells.append("—" if never else "more" if m.lower_is_better else "lower")
                continue
            limit = m.thresholds[5 - grade]
            if m.lower_is_better and limit >= 1.0 and m.unit == "%":
                cells.append("—")  # no bound at this grade
                continue
            if m.key == "drawn_passed" and grade < DRAWN_FLOOR:
                cells.append("—")
                continue
            sign = "≤" if m.lower_is_better else "≥"
            cells.append(f"{sign} {m.shown(limit)}")
        rows.append((grade, cells + [PAGE_STEPS[5 - grade]]))
    return header, rows
