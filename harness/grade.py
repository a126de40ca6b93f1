"""From measurements to a grade on 0-5 (5 best). The rubric is written in docs/method.md.

Each measured signal earns its own grade; the result's grade is the lowest of them, so a
grade is only as good as the weakest thing we could check. Failures (crashed, timed out...)
are statuses and never grades. The thresholds are anchored in physical terms and sit above
the noise floor measured by `fidelity calibrate` (docs/measurements.md).
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
# Charts, pictures, SmartArt and shapes drawn (harness.compare.drawn), on the same steps, but
# a drawing missing is "a noticeable part of the content missing": at worst a 2, since what
# else of the document is lost the text and structure signals say.
DRAWN_FLOOR = 2
# Layout, from the words' displacement: (median at most in mm, share of words moved more
# than 2 mm or missing, at most) for a 5, 4, 3, 2, 1. Within the glyph-rendering noise
# between suites (about half a millimetre) a page keeps a 5 or 4; content displaced by
# several millimetres is at most a 3; words scattered far apart (an unrelated document,
# whose few common words match by chance) a 0.
LAYOUT_STEPS = ((0.5, 0.05), (1.0, 0.15), (5.0, 1.0), (15.0, 1.0), (40.0, 1.0))
# Reflow: every word of the reference there and in order, only line and page breaks
# moved (another font stood in, spacing a little tighter). A person grades it by what moved:
# - 4: the same pages, the content in place (its first words, or half of all its words,
#   within LAYOUT_STEPS' grade-3 median: a title set 2 mm lower in another font is not
#   noticed), and at most REFLOW_LIGHT_CUTS lines per page broken elsewhere (a paragraph);
# - 3: in place within the grade-2 median (15 mm): a gradual drift down the page;
# - 2: further; never the 0-1 kept for content that is gone or scattered.
# Measured by harness.compare.layout.flow: at least this share of the reference's words
# matched in order (a table header repeated on another page is matched once) ...
REFLOW_MIN_MATCHED = 0.90
REFLOW_MAX_EXTRA = 0.10  # ... at most this share of words added ...
# ... and lines kept together: a word lands on another line than its predecessor at most this
# often (rewrapped lines cut the flow once a line, one word in 5-15; words matched by chance
# almost everywhere). Content is *displaced* rather than reflowed when that share of words
# is found only with blocks of at least three words shown elsewhere (layout.MIN_BLOCK).
REFLOW_MAX_CUTS = 0.35
REFLOW_LIGHT_CUTS = 5.0  # lines per page broken elsewhere that still look the same
# Pages gained or lost with every word still shown cost what reflow costs, not 0-1.
REFLOW_MIN_PAGES_GRADE = 2
# SSIM on a reflowed page compares ink that moved with ink that did not, so there it cannot
# pull the grade below the reflow's own. The area changed can: it looks for each tile's ink
# where the nearest words went (visual.Moves), so a fill or a chart lost beside reflowed
# text still costs its grade.


@dataclass(frozen=True)
class Grading:
    grade: int | None
    signals: dict[str, int]
    reason: str


_REFLOW_SIGNALS = {"layout", "visual", "pages"}
SIGNAL_WORDS = {"drawn": "drawn content (charts, pictures, shapes)"}


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


REFLOWED, DISPLACED = "reflowed", "displaced"
DISPLACED_MIN_IN_ORDER = 0.5  # below, the words lie scattered rather than in moved blocks


def flow_kind(in_order_share: float, found_share: float, extra_share: float,
              cut_share: float | None) -> str | None:
    """REFLOWED: content intact and in order, only laid out otherwise; DISPLACED: intact,
    but blocks of it shown elsewhere (a column printed on another page); None: content lost,
    added or scattered."""
    if extra_share > REFLOW_MAX_EXTRA or cut_share is None or cut_share > REFLOW_MAX_CUTS:
        return None
    if in_order_share >= REFLOW_MIN_MATCHED:
        return REFLOWED
    if found_share >= REFLOW_MIN_MATCHED and in_order_share >= DISPLACED_MIN_IN_ORDER:
        return DISPLACED
    return None


def reflow_grade(median_mm: float | None, anchor_mm: float | None = None,
                 cuts_per_page: float | None = None, same_pages: bool = False,
                 kind: str = REFLOWED) -> int:
    """What a person gives content that is all there, laid out otherwise (a block shown
    elsewhere is at most a 3)."""
    placed = min((v for v in (anchor_mm, median_mm) if v is not None), default=None)
    if kind == REFLOWED and same_pages and placed is not None and \
            placed <= LAYOUT_STEPS[2][0] and cuts_per_page is not None and \
            cuts_per_page <= REFLOW_LIGHT_CUTS:
        return 4
    if placed is not None and placed <= LAYOUT_STEPS[3][0]:
        return 3
    return 2


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
    reflow: dict | None = None,
    drawn_passed: float | None = None,
) -> Grading:
    """`layout` is (median displacement in mm, share of words moved > 2 mm or missing), or
    None when there is no reference rendering to measure it against. `reflow`, when the words
    are all there in order and only laid out otherwise (see `flow_kind`): `reflow_grade`'s
    keyword arguments but the median."""
    signals: dict[str, int] = {}
    if text_recall is not None:
        signals["text"] = step_grade(text_recall, TEXT_RECALL_STEPS)
    if visual_score is not None:
        signals["visual"] = step_grade(visual_score, VISUAL_STEPS)
    if area_changed is not None:
        signals["area"] = at_most_grade(area_changed, AREA_STEPS)
    if layout is not None:
        signals["layout"] = layout_grade(*layout)
    reflow_limits = False
    if reflow is not None and signals.get("layout", 5) <= 3:
        signals["layout"] = max(signals.get("layout", 0),
                                reflow_grade(layout[0] if layout else None, **reflow))
        if "visual" in signals:
            signals["visual"] = max(signals["visual"], signals["layout"])
        reflow_limits = True
    if expected_pages is not None:
        signals["pages"] = page_count_grade(expected_pages, rendered_pages)
        if reflow is not None:  # pages gained or lost with every word still shown
            signals["pages"] = max(signals["pages"], REFLOW_MIN_PAGES_GRADE)
    if checks_passed is not None:
        signals["structure"] = step_grade(checks_passed, CHECK_STEPS)
    if drawn_passed is not None:
        signals["drawn"] = max(DRAWN_FLOOR, step_grade(drawn_passed, CHECK_STEPS))
    if not signals:
        return Grading(None, {}, "not graded: no reference PDF, trusted source text or "
                       "expected page count to compare with")
    # Among equals, a signal the reflow did not lift is the one to name.
    weakest = min(signals, key=lambda name: (signals[name],
                                             reflow_limits and name in _REFLOW_SIGNALS))
    reason = f"limited by {SIGNAL_WORDS.get(weakest, weakest)}"
    if signals[weakest] == 5:
        reason = "every signal at 5"
    elif reflow_limits and signals.get("layout") == signals[weakest] and not {
            name for name, value in signals.items() if value == signals[weakest]
    } - _REFLOW_SIGNALS:  # nothing but the reflow and what it moved is this low
        reason = ("limited by reflow (the words in order, laid out otherwise)"
                  if reflow.get("kind", REFLOWED) == REFLOWED else
                  "limited by displaced content (blocks of words shown elsewhere)")
    return Grading(min(signals.values()), signals, reason)
