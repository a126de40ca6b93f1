"""The rubric: lowest signal wins, failures are never graded, monotone in every signal."""

from hypothesis import given
from hypothesis import strategies as st

from harness.grade import grade, page_count_grade

UNIT = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def test_no_signal_gives_no_grade():
    result = grade(text_recall=None, visual_score=None, expected_pages=None, rendered_pages=3)
    assert result.grade is None and "not graded" in result.reason


def test_the_weakest_signal_sets_the_grade():
    result = grade(text_recall=1.0, visual_score=0.5, expected_pages=2, rendered_pages=2)
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
    assert page_count_grade(1, 2) == 4  # one page off
    assert page_count_grade(40, 44) == 4
    assert page_count_grade(10, 13) == 2
    assert page_count_grade(4, 2) == 2
    assert page_count_grade(2, 9) == 1


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
