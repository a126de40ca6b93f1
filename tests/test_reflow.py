"""Reflow graded as a person would, and grades that never rise as a page moves further.

Reflow: every word of the reference there and in order, lines broken elsewhere (a wider font
stood in). A person grades that 2-3; content that is gone or scattered keeps 0-1. The
perturbation tests shift real Microsoft-rendered pages inside the PDF (text layer kept) and
check the order a person would give.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from harness.compare import layout, perturb, rendering
from harness.compare.documents import compare_renderings
from harness.compare.rendering import Page, Rendering, Word
from harness.compare.visual import changed_tiles, translate
from harness.grade import grade
from harness.rasterise import get as get_rasteriser
from tests.conftest import SHARED, needs_shared

DPI = 60
PX = DPI / 25.4
A4 = (210.0, 297.0)
WORDS = ["north", "south", "east", "west", "wind", "rain", "sun", "cloud", "storm", "river",
         "stone", "field", "harbour", "bridge", "tower", "garden", "meadow", "valley"]


def typeset(words: list[str], em_mm: float, line_mm: float = 7.0,
            right_mm: float = 170.0) -> Rendering:
    """The words set as a text flow: `em_mm` per letter, lines wrapped at `right_mm`, pages
    broken at the foot; each word a dark bar where its glyphs would be."""
    pages, placed, y, x = [], [], 25.0, 20.0
    image = Image.new("L", (round(A4[0] * PX), round(A4[1] * PX)), 255)

    def finish() -> None:
        pages.append(Page(len(pages) + 1, *A4, np.asarray(image, dtype=np.uint8),
                          tuple(placed), 0))

    for text in words:
        width = em_mm * len(text)
        if x + width > right_mm:
            x, y = 20.0, y + line_mm
        if y > 270.0:
            finish()
            image = Image.new("L", image.size, 255)
            placed, x, y = [], 20.0, 25.0
        ImageDraw.Draw(image).rectangle((x * PX, (y - 3) * PX, (x + width) * PX, y * PX),
                                        fill=40)
        placed.append(Word(text, x, y))
        x += width + 2.0
    finish()
    return Rendering(tuple(pages), len(pages), DPI)


def text(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [WORDS[int(i)] for i in rng.integers(len(WORDS), size=n)]


def test_a_wider_font_is_reflow_graded_two_or_three_with_its_cause_named() -> None:
    words = text(800)
    reference, wider = typeset(words, 2.0), typeset(words, 2.3)
    assert wider.page_count == reference.page_count + 1  # ran onto one more page
    result = compare_renderings(reference, wider)
    assert result.reflowed
    assert result.flow.cut_share < 0.35 and result.flow.drift_mm > 0
    assert 2 <= result.grading.grade <= 3
    assert "reflow" in result.grading.reason
    cause = result.cause()
    assert cause.startswith(f"{wider.page_count} pages instead of {reference.page_count}: "
                            "text reflowed, every word there and in order")
    assert "text reflowed, every word there and in order" in cause


def test_scattered_and_lost_content_keeps_zero_or_one() -> None:
    words = text(900)
    reference = typeset(words, 2.0)
    rng = np.random.default_rng(5)
    shuffled = typeset([words[i] for i in rng.permutation(len(words))], 2.3)
    scattered = compare_renderings(reference, shuffled)
    assert scattered.flow_kind is None
    assert scattered.grading.grade <= 1
    half = compare_renderings(reference, typeset(words[: len(words) // 2], 2.3))
    assert half.flow_kind is None  # half the words gone is loss, not reflow
    assert half.grading.grade <= 1


def test_a_block_shown_elsewhere_is_displaced_content_graded_two_or_three() -> None:
    """A column printed on another page: every word there, a block out of reading order."""
    words = text(800, seed=3)
    block = slice(200, 300)
    moved = words[:block.start] + words[block.stop:] + words[block]
    result = compare_renderings(typeset(words, 2.0), typeset(moved, 2.0))
    assert result.flow_kind == "displaced"
    assert result.flow.words_displaced >= 90
    assert 2 <= result.grading.grade <= 3
    assert result.grading.signals["layout"] == 3
    assert "shown elsewhere, out of reading order" in result.cause()


def test_an_identical_rendering_has_no_cause_to_name() -> None:
    reference = typeset(text(300), 2.0)
    same = compare_renderings(reference, reference)
    assert same.grading.grade == 5 and same.grading.reason == "every signal at 5"
    assert same.cause() == ""


def test_words_lost_beside_a_reflow_are_counted_not_called_all_there() -> None:
    words = text(800, seed=4)
    kept = words[:300] + words[372:]  # a paragraph of 72 words (9 %) lost
    result = compare_renderings(typeset(words, 2.0), typeset(kept, 2.3))
    assert "every word there" not in result.cause()
    assert f"{len(kept)} of {len(words)} words there" in result.cause()
    assert result.grading.signals["text"] <= 3  # lost words keep their own grade


def test_reflow_lifts_layout_and_pixels_to_its_own_grade_only() -> None:
    far = grade(layout=(30.0, 0.9), visual_score=0.2, area_changed=0.5)
    assert far.grade == 0
    started_far = {"anchor_mm": 20.0, "cuts_per_page": 30.0, "same_pages": False}
    reflowed = grade(layout=(30.0, 0.9), visual_score=0.2, area_changed=0.5,
                     reflow=started_far)
    assert reflowed.signals == {"layout": 2, "visual": 2, "area": 0}  # area stays its own
    near = grade(layout=(8.0, 0.9), visual_score=0.2, area_changed=0.005, reflow=started_far)
    assert near.grade == 3 and "reflow" in near.reason
    # Each page starting in place, lines drifting down it: 3; a paragraph rewrapped: 4.
    drifting = {"anchor_mm": 0.4, "cuts_per_page": 30.0, "same_pages": True}
    assert grade(layout=(30.0, 0.9), reflow=drifting).grade == 3
    light = {"anchor_mm": 0.4, "cuts_per_page": 3.0, "same_pages": True}
    assert grade(layout=(30.0, 0.9), visual_score=0.2, reflow=light).grade == 4
    assert grade(layout=(30.0, 0.9), reflow={**light, "same_pages": False}).grade == 3
    # Content in place: reflow changes nothing, a lost block still costs its grade.
    in_place = grade(layout=(0.3, 0.01), area_changed=0.2, reflow=light)
    assert in_place.signals["area"] == 1 and in_place.signals["layout"] == 5
    # Missing text is never lifted.
    assert grade(text_recall=0.3, layout=(30.0, 0.9), reflow=light).grade == 1


def test_flow_counts_no_cut_for_a_whole_page_moved() -> None:
    reference = typeset(text(300), 2.0)
    moved = Rendering(tuple(
        Page(p.number, p.width_mm, p.height_mm, translate(p.image, 20, 20),
             tuple(Word(w.text, w.x_mm + 20 / PX, w.y_mm + 20 / PX) for w in p.words), 0)
        for p in reference.pages), reference.page_count, DPI)
    flow = layout.flow(layout.match_words(reference, moved))
    assert flow.cuts == 0 and flow.matched_share == 1.0


def test_area_sees_no_change_when_ink_alone_moves_under_a_millimetre() -> None:
    """A ruled grid split across tile borders by a fraction of a tile is not content lost."""
    image = Image.new("L", (round(A4[0] * PX), round(A4[1] * PX)), 255)
    draw = ImageDraw.Draw(image)
    for y in range(30, 250, 6):  # a ruled table, rows 6 mm apart
        draw.line((20 * PX, y * PX, 190 * PX, y * PX), fill=0, width=1)
    for x in range(20, 200, 34):
        draw.line((x * PX, 30 * PX, x * PX, 246 * PX), fill=0, width=1)
    page = np.asarray(image, dtype=np.uint8)
    changed = [changed_tiles(page, translate(page, k, k), DPI)[0] for k in range(0, 4)]
    assert changed[0] == 0 and changed[1] == 0 and changed[2] == 0  # up to ~0.85 mm
    assert changed == sorted(changed)


REFERENCES = sorted((SHARED / "office2pdf-golden").glob("*.reference.pdf")) \
    if SHARED.is_dir() else []
# A ruled sheet and a plain text page: where SSIM and tiles behave least alike.
RULED, PLAIN = "03_inventory_en.reference.pdf", "04_resume_en.reference.pdf"


@needs_shared
@pytest.mark.parametrize("name", [RULED, PLAIN])
@settings(max_examples=6, deadline=None)
@given(shifts=st.lists(st.floats(min_value=0.0, max_value=10.0), min_size=2, max_size=2,
                       unique=True))
def test_grade_never_rises_as_a_real_page_moves_further(name: str, shifts: list[float],
                                                        tmp_path_factory) -> None:
    pdf = SHARED / "office2pdf-golden" / name
    scratch = tmp_path_factory.mktemp("shift")
    rasteriser = get_rasteriser("pypdfium2")
    reference = rendering.load(pdf, DPI, rasteriser)
    graded = []
    for mm in sorted(shifts):
        target = scratch / f"shift-{mm:.3f}.pdf"
        target.write_bytes(perturb.shifted_pdf(pdf, 0.0, mm))
        graded.append(compare_renderings(reference, rendering.load(target, DPI,
                                                                   rasteriser)).grading.grade)
    assert graded[0] >= graded[1], f"{name}: shifts {sorted(shifts)} mm graded {graded}"


@needs_shared
def test_perturbations_of_a_real_reference_grade_in_a_persons_order(tmp_path: Path) -> None:
    rasteriser = get_rasteriser("pypdfium2")
    pdf, other = (SHARED / "office2pdf-golden" / n for n in (PLAIN, RULED))
    reference = rendering.load(pdf, DPI, rasteriser)
    made = perturb.perturbations(pdf, reference, rendering.load(other, DPI, rasteriser), DPI,
                                 rasteriser, tmp_path)
    graded = perturb.grades(reference, made)
    assert perturb.violations(graded) == [], graded
    assert graded["identical"] == 5 and graded["unrelated"] <= 1


def test_a_metric_compatible_stand_in_is_named_as_such() -> None:
    from dataclasses import replace as with_

    from harness.compare.fonts import FontReport

    words = text(800)
    result = compare_renderings(typeset(words, 2.0), typeset(words, 2.3))
    fonts = FontReport(("Arial", "Aptos"), ("LiberationSans", "DejaVuSans"), (),
                       {"Arial": "LiberationSans", "Aptos": "DejaVuSans"})
    cause = with_(result, fonts=fonts).cause()
    assert "Arial is not installed, LiberationSans stood in (same metrics)" in cause
    assert "Aptos is not installed, DejaVuSans stood in;" in cause or \
        cause.endswith("Aptos is not installed, DejaVuSans stood in (text runs wider)")


def test_a_signal_the_reflow_did_not_lift_is_named_among_equals() -> None:
    light = {"anchor_mm": 3.0, "cuts_per_page": 30.0, "same_pages": True}
    graded = grade(layout=(12.0, 0.9), visual_score=0.2, area_changed=0.03, reflow=light)
    assert graded.signals["visual"] == graded.signals["area"] == graded.signals["layout"] == 3
    assert graded.reason == "limited by area"
