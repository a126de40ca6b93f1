"""The rubric: lowest signal wins, failures are never graded, monotone in every signal."""

from hypothesis import given
from hypothesis import strategies as st

from harness.grade import grade, layout_grade, page_count_grade

UNIT = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def test_no_signal_gives_no_grade():
    result = grade(text_recall=None, visual_score=None, expected_pages=None, rendered_pages=3)
    assert result.grade is None and "not graded" in result.reason


def test_the_weakest_signal_sets_the_grade():
    result = grade(text_recall=1.0, visual_score=0.4, expected_pages=2, rendered_pages=2)
    assert result.signals == {"text": 5, "visual": 1, "pages": 5}
    assert result.grade == 1 and "visual" in result.reason


def test_rubric_steps():
    assert grade(text_recall=0.98, visual_score=None, expected_pages=None,
                 rendered_pages=1).grade == 5
    assert grade(text_recall=0.97, visual_score=None, expected_pages=None,
                 rendered_pages=1).grade == 4
    assert grade(text_recall=0.1, visual_score=None, expected_pages=None,
                 rendered_pages=1).grade == 0


def test_page_count_grades():
    assert page_count_grade(3, 3) == 5
    assert page_count_grade(1, 2) == 3  # a page gained or lost: content moved, at most 3
    assert page_count_grade(40, 44) == 3
    assert page_count_grade(10, 13) == 1
    assert page_count_grade(8, 10) == 2
    assert page_count_grade(2, 9) == 1


def test_layout_is_anchored_in_millimetres():
    assert layout_grade(0.3, 0.02) == 5  # within glyph noise
    assert layout_grade(0.8, 0.10) == 4
    assert layout_grade(0.4, 0.30) == 3  # a third of the words moved more than 2 mm
    assert layout_grade(2.5, 0.90) == 3  # several millimetres: at most 3
    assert layout_grade(12.0, 1.0) == 2
    assert layout_grade(30.0, 1.0) == 1
    assert layout_grade(80.0, 1.0) == 0  # words scattered: an unrelated document
    assert layout_grade(None, None) == 0


@given(m1=st.floats(0, 100), m2=st.floats(0, 100), s1=UNIT, s2=UNIT)
def test_layout_grade_never_rises_with_displacement(m1, m2, s1, s2):
    assert layout_grade(max(m1, m2), max(s1, s2)) <= layout_grade(min(m1, m2), min(s1, s2))


@given(a=UNIT, b=UNIT)
def test_structure_grade_is_monotone(a, b):
    low, high = sorted((a, b))
    assert grade(checks_passed=low).grade <= grade(checks_passed=high).grade


@given(a=UNIT, b=UNIT, visual=st.one_of(st.none(), UNIT))
def test_grade_is_monotone_in_text_recall(a, b, visual):
    low, high = sorted((a, b))
    g_low = grade(text_recall=low, visual_score=visual, expected_pages=None, rendered_pages=1)
    g_high = grade(text_recall=high, visual_score=visual, expected_pages=None, rendered_pages=1)
    assert 0 <= g_low.grade <= g_high.grade <= 5


@given(expected=st.integers(1, 500), a=st.integers(0, 1000), b=st.integers(0, 1000))
def test_page_grade_falls_with_distance(expected, a, b):
    near, far = sorted((a, b), key=lambda n: abs(n - expected))
    assert page_count_grade(expected, far) <= page_count_grade(expected, near)


def test_a_drawing_missing_costs_at_most_down_to_two_and_ranks_below_one_drawn():
    from harness.grade import grade

    drawn = grade(text_recall=1.0, checks_passed=1.0, drawn_passed=1.0)
    frame_only = grade(text_recall=1.0, checks_passed=1.0, drawn_passed=0.0)
    assert drawn.grade == 5 and frame_only.grade == 2
    assert "drawn content" in frame_only.reason
    assert grade(drawn_passed=0.8).grade == 3
