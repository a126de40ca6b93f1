"""From measurements to a grade on 0-5 (5 best). The rubric is written in the README.

Each measured signal earns its own grade; the result's grade is the lowest of them, so a
grade is only as good as the weakest thing we could check. Failures (crashed, timed out...)
are statuses and never grades. The thresholds are anchored in physical terms and sit above
the noise floor measured by `fidelity calibrate` (README, "Noise floor").
"""

from __future__ import annotations

from dataclasses import dataclass

# (lowest value for grade 5, for 4, for 3, for 2, for 1); below the last: 0.
TEXT_RECALL_STEPS = (0.98, 0.95, 0.85, 0.60, 0.20)
# Mean SSIM of page pairs after registration (a missing or extra page counts 0). The same
# PDF through two rasterisers scores 0.85 at worst (0.93 p10): such noise keeps a 5.
VISUAL_STEPS = (0.85, 0.75, 0.60, 0.45, 0.30)
# Share of inked 5 mm tiles whose content was lost or added, at most, for a 5 ... 1.
# Rasteriser noise changes none; a 30 mm block lost on an A4 page 0.5-7 % (median 2 %):
# content lost is at most a 3 once it is more than a trace.
AREA_STEPS = (0.003, 0.01, 0.05, 0.15, 0.35)
# Share of structural checks passed (facts of the source found where they belong).
CHECK_STEPS = (1.0, 0.90, 0.75, 0.50, 0.25)
# Layout, from the words' displacement: (median at most in mm, share of words moved more
# than 2 mm or missing, at most) for a 5, 4, 3, 2, 1. Within the glyph-rendering noise
# between suites (about half a millimetre) a page keeps a 5 or 4; content displaced by
# several millimetres is at most a 3; words scattered far apart (an unrelated document,
# whose few common words match by chance) a 0.
LAYOUT_STEPS = ((0.5, 0.05), (1.0, 0.15), (5.0, 1.0), (15.0, 1.0), (40.0, 1.0))


@dataclass(frozen=True)
class Grading:
    grade: int | None
    signals: dict[str, int]
    reason: str


def step_grade(value: float, steps: tuple[float, ...]) -> int:
    for grade_, floor in zip(range(5, 0, -1), steps):
        if value >= floor:
            return grade_
    return 0


def at_most_grade(value: float, steps: tuple[float, ...]) -> int:
    """Like step_grade, for a measure where lower is better: steps are ceilings."""
    for grade_, ceiling in zip(range(5, 0, -1), steps):
        if value <= ceiling:
            return grade_
    return 0


def layout_grade(median_mm: float | None, moved_share: float | None) -> int:
    if median_mm is None or moved_share is None:  # not one word in common
        return 0
    for grade_, (median_max, moved_max) in zip(range(5, 0, -1), LAYOUT_STEPS):
        if median_mm <= median_max and moved_share <= moved_max:
            return grade_
    return 0


def page_count_grade(expected: int, actual: int) -> int:
    """Same count 5. A page gained or lost means content moved across pages, so at most 3:
    one page or 10 % off 3, 25 % off 2, more 1."""
    diff = abs(expected - actual)
    if diff == 0:
        return 5
    relative = diff / max(expected, 1)
    if diff == 1 or relative <= 0.10:
        return 3
    if relative <= 0.25:
        return 2
    return 1


def grade(
    *,
    text_recall: float | None = None,
    visual_score: float | None = None,
    expected_pages: int | None = None,
    rendered_pages: int = 0,
    layout: tuple[float | None, float | None] | None = None,
    checks_passed: float | None = None,
    area_changed: float | None = None,
) -> Grading:
    """`layout` is (median displacement in mm, share of words moved > 2 mm or missing), or
    None when there is no reference rendering to measure it against."""
    signals: dict[str, int] = {}
    if text_recall is not None:
        signals["text"] = step_grade(text_recall, TEXT_RECALL_STEPS)
    if visual_score is not None:
        signals["visual"] = step_grade(visual_score, VISUAL_STEPS)
    if area_changed is not None:
        signals["area"] = at_most_grade(area_changed, AREA_STEPS)
    if layout is not None:
        signals["layout"] = layout_grade(*layout)
    if expected_pages is not None:
        signals["pages"] = page_count_grade(expected_pages, rendered_pages)
    if checks_passed is not None:
        signals["structure"] = step_grade(checks_passed, CHECK_STEPS)
    if not signals:
        return Grading(None, {}, "not graded: no reference PDF, trusted source text or "
                       "expected page count to compare with")
    weakest = min(signals, key=signals.get)
    return Grading(min(signals.values()), signals, f"limited by {weakest}")
