"""Comparison: the score and grade must move the right way when a page degrades, stay put
for identical renderings, and fall to the bottom for unrelated ones.

The property tests build renderings directly (a page image plus the words placed on it) and
degrade image and words together, as a suite that moved, blurred, lost or blanked content
would; the tests at the end use real PDFs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter

from harness.compare import align, layout
from harness.compare.calibrate import erase_block
from harness.compare.documents import compare_renderings
from harness.compare.rendering import Page, Rendering, Word
from harness.compare.text import compare_text, tokens
from harness.compare.visual import changed_tiles, is_blank, register, ssim, translate

DPI = 60
PX = DPI / 25.4  # pixels per mm
A4 = (210.0, 297.0)
VOCABULARY = ["north", "south", "east", "west", "wind", "rain", "sun", "cloud", "storm",
              "river", "stone", "field", "harbour", "bridge", "tower", "garden"]


def make_page(number: int, seed: int, lines: int = 30, picture: bool = True) -> Page:
    """A page of text lines (each word a dark bar where its glyphs would be) and a picture."""
    rng = np.random.default_rng(seed)
    w, h = round(A4[0] * PX), round(A4[1] * PX)
    image = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(image)
    words = []
    for line in range(lines):
        y_mm = 25.0 + line * 7.0
        x_mm = 20.0
        while x_mm < 170.0:
            text = VOCABULARY[int(rng.integers(len(VOCABULARY)))]
            width_mm = 2.2 * len(text)
            draw.rectangle((x_mm * PX, (y_mm - 3) * PX, (x_mm + width_mm) * PX, y_mm * PX),
                           fill=int(rng.integers(0, 90)))
            words.append(Word(text, x_mm, y_mm))
            x_mm += width_mm + 2.5
    if picture:
        draw.ellipse((120 * PX, 240 * PX, 180 * PX, 280 * PX), fill=60)
    return Page(number, A4[0], A4[1], np.asarray(image, dtype=np.uint8), tuple(words), 1)


def make_document(pages: int = 3, seed: int = 0) -> Rendering:
    return Rendering(tuple(make_page(i + 1, seed * 100 + i) for i in range(pages)), pages, DPI)


def with_pages(doc: Rendering, pages: list[Page]) -> Rendering:
    return Rendering(tuple(pages), len(pages), doc.dpi, doc.fonts)


def shifted(doc: Rendering, dx_px: int, dy_px: int) -> Rendering:
    """Every page moved by whole pixels, its words with it."""
    return with_pages(doc, [replace(p, image=translate(p.image, dx_px, dy_px), words=tuple(
        Word(w.text, w.x_mm + dx_px / PX, w.y_mm + dy_px / PX) for w in p.words))
        for p in doc.pages])


def blurred(doc: Rendering, radius: float) -> Rendering:
    return with_pages(doc, [replace(p, image=np.asarray(Image.fromarray(p.image).filter(
        ImageFilter.GaussianBlur(radius)))) for p in doc.pages])


def erased(doc: Rendering, size_mm: float) -> Rendering:
    return with_pages(doc, [erase_block(doc.pages[0], DPI, size_mm)] + list(doc.pages[1:]))


def blanked(doc: Rendering, count: int) -> Rendering:
    return with_pages(doc, [replace(p, image=np.full_like(p.image, 255), words=(), images=0)
                            if i < count else p for i, p in enumerate(doc.pages)])


def dropped(doc: Rendering, count: int) -> Rendering:
    return with_pages(doc, list(doc.pages[count:]) or [blanked(doc, 1).pages[0]])


REFERENCE = make_document()


def score(candidate: Rendering) -> float:
    return compare_renderings(REFERENCE, candidate, asked_fonts=[]).score


def test_identical_renderings_grade_five_and_score_one():
    result = compare_renderings(REFERENCE, REFERENCE, asked_fonts=[])
    assert result.grading.grade == 5 and result.score == pytest.approx(1.0)
    assert result.layout.median_mm == 0 and result.layout.moved_share == 0
    assert [(p.reference_page, p.candidate_page) for p in result.pages] == [(1, 1), (2, 2),
                                                                          (3, 3)]


def test_unrelated_documents_grade_one_or_less():
    other = make_document(seed=7)
    result = compare_renderings(REFERENCE, other, asked_fonts=[])
    assert result.grading.grade <= 1
    assert result.score < 0.3


@settings(max_examples=30, deadline=None)
@given(a=st.integers(0, 60), b=st.integers(0, 60), vertical=st.booleans())
def test_score_never_rises_as_the_shift_grows(a, b, vertical):
    small, large = sorted((a, b))
    step = (0, 1) if vertical else (1, 0)
    near = score(shifted(REFERENCE, small * step[0], small * step[1]))
    far = score(shifted(REFERENCE, large * step[0], large * step[1]))
    assert far <= near + 1e-9


def test_half_a_millimetre_keeps_a_five_and_several_millimetres_is_at_most_four():
    """A whole page moved, lines and pages as they were: noticed side by side (4) within
    5 mm, a layout visibly off (at most 3) beyond."""
    assert compare_renderings(REFERENCE, shifted(REFERENCE, 1, 0), []).grading.grade == 5
    assert compare_renderings(REFERENCE, shifted(REFERENCE, 1, 1), []).grading.grade >= 4
    moved = compare_renderings(REFERENCE, shifted(REFERENCE, 0, round(4 * PX)), [])
    assert moved.layout.median_mm == pytest.approx(4 * PX // 1 / PX, abs=0.01)
    assert moved.grading.grade == 4 and moved.grading.signals["layout"] == 4
    far = compare_renderings(REFERENCE, shifted(REFERENCE, 0, round(8 * PX)), [])
    assert far.grading.grade <= 3 and far.grading.signals["layout"] <= 3


@settings(max_examples=15, deadline=None)
@given(a=st.floats(0.0, 4.0), b=st.floats(0.0, 4.0))
def test_score_never_rises_as_the_blur_grows(a, b):
    light, heavy = sorted((a, b))
    assert score(blurred(REFERENCE, heavy)) <= score(blurred(REFERENCE, light)) + 1e-9


@settings(max_examples=15, deadline=None)
@given(a=st.floats(5.0, 150.0), b=st.floats(5.0, 150.0))
def test_score_never_rises_as_the_erased_block_grows(a, b):
    small, large = sorted((a, b))
    assert score(erased(REFERENCE, large)) <= score(erased(REFERENCE, small)) + 1e-9


@pytest.mark.parametrize("degrade", [dropped, blanked], ids=["dropped", "blanked"])
def test_score_never_rises_as_more_pages_are_lost(degrade):
    scores = [score(degrade(REFERENCE, n)) for n in range(0, 4)]
    assert all(later <= earlier + 1e-9 for earlier, later in zip(scores, scores[1:]))
    assert scores[1] < scores[0]


def test_a_page_lost_is_at_most_three_and_costs_only_that_page():
    lost = compare_renderings(REFERENCE, with_pages(REFERENCE, [REFERENCE.pages[0],
                                                                REFERENCE.pages[2]]), [])
    assert [(p.reference_page, p.candidate_page) for p in lost.pages] == [(1, 1), (2, None),
                                                                         (3, 2)]
    assert lost.missing_pages == [2] and lost.grading.grade <= 3
    assert lost.pages[2].ssim == pytest.approx(1.0)  # the page after it is still right


def test_an_inserted_page_is_extra_not_a_cascade():
    blank = replace(make_page(9, 99, lines=3, picture=False))
    longer = with_pages(REFERENCE, [REFERENCE.pages[0], blank, *REFERENCE.pages[1:]])
    result = compare_renderings(REFERENCE, longer, [])
    assert result.extra_pages == [2]
    assert [p.ssim for p in result.pages if p.reference_page] == [pytest.approx(1.0)] * 3


def test_alignment_by_dynamic_programming():
    similarity = np.array([[0.9, 0.1, 0.0], [0.1, 0.2, 0.8]])
    assert align.align(similarity) == [(0, 0), (None, 1), (1, 2)]
    unrelated = align.align(np.zeros((2, 2)))  # nothing alike: nothing paired
    assert sorted(unrelated, key=str) == sorted([(0, None), (1, None), (None, 0), (None, 1)],
                                                key=str)


def test_words_moved_to_the_next_page_are_measured_as_scrolled():
    top = Page(1, *A4, np.full((10, 10), 255, np.uint8), (Word("alpha", 20, 280),), 0)
    next_page = Page(1, *A4, np.full((10, 10), 255, np.uint8), (), 0)
    moved = Page(2, *A4, np.full((10, 10), 255, np.uint8), (Word("alpha", 20, 25),), 0)
    reference = Rendering((top, next_page), 2, DPI)
    candidate = Rendering((next_page, moved), 2, DPI)
    match = layout.match_words(reference, candidate).matches[0]
    assert match.distance_mm == pytest.approx(297 - 280 + 25)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), dx=st.integers(-20, 20), radius=st.floats(0, 3))
def test_ssim_is_scikit_images(seed, dx, radius):
    from skimage.metrics import structural_similarity

    page = make_page(1, seed, lines=int(seed % 30) + 1).image
    other = np.asarray(Image.fromarray(translate(page, dx, 0)).filter(
        ImageFilter.GaussianBlur(radius)))
    expected = max(0.0, structural_similarity(page, other, data_range=255))
    assert ssim(page, other) == pytest.approx(expected, abs=1e-4)


def test_a_lost_block_changes_area_beyond_the_noise():
    page = REFERENCE.pages[0]
    changed, inked = changed_tiles(page.image, erase_block(page, DPI, 30).image, DPI)
    assert inked > 100 and changed / inked > 0.01
    assert changed_tiles(page.image, page.image, DPI) == (0, inked)


def test_registration_undoes_a_whole_pixel_shift():
    page = REFERENCE.pages[0].image
    assert ssim(page, register(page, translate(page, 5, -3), 5, -3)) > 0.97
    assert ssim(page, translate(page, 5, -3)) < 0.9  # what registration undoes


def test_blank_detection():
    assert is_blank(np.full((50, 50), 255, np.uint8))
    assert is_blank(Image.new("RGB", (100, 100), "#336699"))
    assert not is_blank(REFERENCE.pages[0].image)


def test_cjk_is_tokenised_per_character_and_latin_per_word():
    assert tokens("견적서 (Quotation) 2026") == ["견", "적", "서", "quotation", "2026"]
    assert tokens("ﬁne") == ["fine"]  # ligatures folded
    assert tokens("Total 12,345", drop_numbers=True) == ["total"]


def test_arabic_is_compared_without_harakat_and_ligature_order():
    assert tokens("وزَّع") == tokens("وزع")  # marks kept by one file, dropped by another
    assert tokens("للاتصالات") == tokens("لالتصاالت")  # lam-alef as a PDF text layer gives it
    assert tokens("مؤتمر") != tokens("رمتؤم")


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


WORDS = st.lists(st.sampled_from(VOCABULARY[:7]), min_size=5, max_size=60)


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


def test_fonts_substituted_are_those_whose_stand_in_the_pdf_uses():
    from harness.compare.fonts import compare_fonts, fontconfig_match

    if fontconfig_match("Calibri") != "Carlito":
        pytest.skip("fontconfig does not map Calibri to Carlito here (fonts-crosextra-carlito)")
    used = {"Carlito-Bold": True, "ArialMT": True}
    report = compare_fonts(["Calibri", "Arial", "Cambria"], used)
    assert report.substituted == {"Calibri": "Carlito"}  # Arial is used as itself
    assert "Cambria" in report.unused and "Cambria" not in report.substituted
    assert report.embedded == ("ArialMT", "Carlito-Bold")
