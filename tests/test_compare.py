"""Comparators: the metrics must move the right way when a page or a text degrades."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter

from harness.compare.text import compare_text, tokens
from harness.compare.visual import compare_pages, is_blank, page_ssim


def _page(lines: int = 30, shift: int = 0) -> Image.Image:
    image = Image.new("RGB", (496, 702), "white")
    draw = ImageDraw.Draw(image)
    for i in range(lines):
        y = 40 + i * 20 + shift
        draw.rectangle((50, y, 50 + 300 + (i * 37) % 100, y + 8), fill="black")
    return image


def test_identical_pages_score_one():
    assert page_ssim(_page(), _page()) == 1.0


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=4))
def test_ssim_falls_as_a_page_degrades(level: int):
    reference = _page()
    lighter = reference.filter(ImageFilter.GaussianBlur(level))
    heavier = reference.filter(ImageFilter.GaussianBlur(level + 2))
    assert page_ssim(reference, heavier) < page_ssim(reference, lighter)


def test_reflowed_text_scores_below_a_faithful_page():
    assert page_ssim(_page(), _page(shift=9)) < page_ssim(_page(), _page(shift=0))


def test_candidate_of_another_size_is_scaled_not_rejected():
    small = _page().resize((248, 351))
    assert page_ssim(_page(), small) > 0.6


def test_missing_and_extra_pages_count_zero():
    result = compare_pages([_page(), _page()], [_page()])
    assert [(p.reference_page, p.candidate_page) for p in result.pairs] == [(1, 1), (2, None)]
    assert result.score == 0.5
    extra = compare_pages([_page()], [_page(), _page()])
    assert extra.pairs[1].reference_page is None and extra.score == 0.5


def test_blank_detection():
    assert is_blank(Image.new("RGB", (100, 100), "white"))
    assert is_blank(Image.new("RGB", (100, 100), "#336699"))
    assert not is_blank(_page())


def test_cjk_is_tokenised_per_character_and_latin_per_word():
    assert tokens("견적서 (Quotation) 2026") == ["견", "적", "서", "quotation", "2026"]
    assert tokens("ﬁne") == ["fine"]  # ligatures folded
    assert tokens("Total 12,345", drop_numbers=True) == ["total"]


def test_line_breaks_inside_cjk_do_not_lose_words():
    result = compare_text(["소프트웨어 라이선스 계약서"], "소프트웨\n어 라이선스 계약서")
    assert result.recall == 1.0


def test_missing_words_are_sampled():
    result = compare_text(["alpha beta gamma delta"], "alpha gamma")
    assert result.recall == 0.5 and set(result.missing_sample) == {"beta", "delta"}


def test_repeated_words_count_with_multiplicity():
    assert compare_text(["the the the cat"], "the cat").recall == 0.5


def test_no_source_text_is_full_recall_but_flagged_by_count():
    result = compare_text([], "anything")
    assert result.source_tokens == 0 and result.recall == 1.0


WORDS = st.lists(st.sampled_from(["north", "south", "east", "west", "wind", "rain", "sun"]),
                 min_size=5, max_size=60)


@settings(max_examples=80, deadline=None)
@given(words=WORDS, data=st.data())
def test_recall_never_rises_when_words_are_dropped(words, data):
    rendered = list(words)
    drop_a = data.draw(st.integers(0, len(rendered)))
    drop_b = data.draw(st.integers(drop_a, len(rendered)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    order = rng.permutation(len(rendered))
    keep_a = [rendered[i] for i in sorted(order[drop_a:])]
    keep_b = [rendered[i] for i in sorted(order[drop_b:])]
    recall_a = compare_text([" ".join(words)], " ".join(keep_a)).recall
    recall_b = compare_text([" ".join(words)], " ".join(keep_b)).recall
    assert recall_b <= recall_a
    assert 0.0 <= recall_b <= 1.0
