"""From measurements to a grade on 0-5 (5 best). The rubric is written in the README.

Each measured signal earns its own grade; the document's grade is the lowest of them, so a
grade is only as good as the weakest thing we could check. Failures (crashed, timed out...)
are statuses and never grades.
"""

from __future__ import annotations

from dataclasses import dataclass

# (lowest value for grade 5, for 4, for 3, for 2, for 1); below the last: 0.
TEXT_RECALL_STEPS = (0.98, 0.95, 0.85, 0.60, 0.20)
VISUAL_STEPS = (0.90, 0.80, 0.70, 0.55, 0.40)


@dataclass(frozen=True)
class Grading:
    grade: int | None
    signals: dict[str, int]
    reason: str


def _step_grade(value: float, steps: tuple[float, ...]) -> int:
    for grade, floor in zip(range(5, 0, -1), steps):
        if value >= floor:
            return grade
    return 0


def page_count_grade(expected: int, actual: int) -> int:
    """Same count 5; one page off (or within 10 %) 4; within 25 % 3; 50 % 2; else 1."""
    diff = abs(expected - actual)
    if diff == 0:
        return 5
    relative = diff / max(expected, 1)
    if diff == 1 or relative <= 0.10:
        return 4
    if relative <= 0.25:
        return 3
    if relative <= 0.50:
        return 2
    return 1


def grade(
    *,
    text_recall: float | None,
    visual_score: float | None,
    expected_pages: int | None,
    rendered_pages: int,
) -> Grading:
    signals: dict[str, int] = {}
    if text_recall is not None:
        signals["text"] = _step_grade(text_recall, TEXT_RECALL_STEPS)
    if visual_score is not None:
        signals["visual"] = _step_grade(visual_score, VISUAL_STEPS)
    if expected_pages is not None:
        signals["pages"] = page_count_grade(expected_pages, rendered_pages)
    if not signals:
        return Grading(None, {}, "not graded: no reference PDF, trusted source text or "
                       "expected page count to compare with")
    weakest = min(signals, key=signals.get)
    return Grading(min(signals.values()), signals, f"limited by {weakest}")
