"""Drawn checks (issue 15): every chart and picture of the source drawn where it belongs.

The workbook and deck are generated here and rendered by the real suites: LibreOffice
draws their charts, Gnumeric 1.12 drops openpyxl's chart frames ("Unexpected element
'a:graphic'") and draws none. The failing drawings a person would call empty are made
from LibreOffice's own PDF with pdfium: its bars and slices taken out (an empty frame with
its title, axes, gridlines and legend text), or everything but the titles taken out.
"""

from __future__ import annotations

import ctypes
import io
import zipfile
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import renderers
from harness.compare.drawn import MARK, classify, drawn_checks
from harness.compare.rendering import Graphic, Page, Rendering, Word, load, page_graphics
from harness.compare.text import tokens
from harness.truth import SourceTruth, read_truth
from harness.truth.drawn import Drawn, read_drawn
from renderers.base import Status
from tests.conftest import PROBES, needs_libreoffice

MM_PER_INCH = 25.4


# ------------------------------------------------------------------------ documents


def _workbook(path: Path) -> Path:
    """A data table, a column chart and a pie chart below it (each within one printed
    page), and a red picture beside the table."""
    import openpyxl
    from openpyxl.chart import BarChart, PieChart, Reference
    from openpyxl.drawing.image import Image as Picture
    from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    for row in (("Region", "Sales", "Costs"), ("North", 120, 80), ("South", 95, 70),
                ("East", 140, 90), ("West", 60, 50)):
        sheet.append(row)
    categories = Reference(sheet, min_col=1, min_row=2, max_row=5)
    bars = BarChart()
    bars.title, bars.y_axis.title, bars.x_axis.title = "Sales by region", "Amount", "Region"
    bars.add_data(Reference(sheet, min_col=2, min_row=1, max_col=3, max_row=5),
                  titles_from_data=True)
    bars.set_categories(categories)
    bars.anchor = TwoCellAnchor(_from=AnchorMarker(col=0, row=7), to=AnchorMarker(col=6, row=24))
    sheet.add_chart(bars)
    pie = PieChart()
    pie.title = "Share of sales"
    pie.add_data(Reference(sheet, min_col=2, min_row=1, max_row=5), titles_from_data=True)
    pie.set_categories(categories)
    pie.anchor = TwoCellAnchor(_from=AnchorMarker(col=0, row=26), to=AnchorMarker(col=6, row=43))
    sheet.add_chart(pie)
    picture = io.BytesIO()
    Image.new("RGB", (120, 80), (200, 30, 30)).save(picture, "PNG")
    sheet.add_image(Picture(picture), "E1")
    book.save(path)
    return path


def _deck(path: Path) -> Path:
    """Slide 1: a column chart; slide 2 (hidden): a picture; slide 3: a picture and a pie."""
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    deck = Presentation()
    blank = deck.slide_layouts[6]
    data = CategoryChartData()
    data.categories = ["North", "South", "East", "West"]
    data.add_series("Sales", (120, 95, 140, 60))
    first = deck.slides.add_slide(blank)
    chart = first.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1.5),
                                   Inches(8), Inches(5), data).chart
    chart.has_legend = True
    picture = io.BytesIO()
    Image.new("RGB", (90, 60), (30, 120, 200)).save(picture, "PNG")
    hidden = deck.slides.add_slide(blank)
    hidden.shapes.add_picture(picture, Inches(1), Inches(1), Inches(3), Inches(2))
    hidden._element.set("show", "0")
    third = deck.slides.add_slide(blank)
    picture.seek(0)
    third.shapes.add_picture(picture, Inches(0.5), Inches(0.5), Inches(3), Inches(2))
    pie = third.shapes.add_chart(XL_CHART_TYPE.PIE, Inches(4), Inches(2), Inches(5), Inches(5),
                                 data).chart
    pie.has_legend = True
    deck.save(path)
    return path


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    return _workbook(tmp_path_factory.mktemp("book") / "charts.xlsx")


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    return _deck(tmp_path_factory.mktemp("deck") / "charts.pptx")


# ------------------------------------------------------------------------ source side


def test_a_workbook_s_charts_and_picture_are_read_with_their_labels(workbook):
    drawn = read_truth(workbook, "xlsx").drawn
    bars, pie, picture = drawn
    assert (bars.feature, bars.kind, bars.title) == ("charts", "column", "Sales by region")
    # openpyxl writes no caches: labels and points come from the cells the chart reads.
    assert set(bars.texts) == {"North", "South", "East", "West", "Sales", "Costs", "Region",
                               "Amount"}
    assert (bars.points, bars.series, bars.anchor, bars.sheet) == (8, 2, "A8:G25", "Data")
    assert bars.size_estimated and 100 < bars.width_mm < 140 and 80 < bars.height_mm < 100
    assert (pie.kind, pie.title, set(pie.texts), pie.points) == (
        "pie", "Share of sales", {"North", "South", "East", "West"}, 4)
    assert (picture.feature, picture.raster, picture.anchor) == ("images", True, "E1")
    assert picture.width_mm == pytest.approx(120 / 96 * MM_PER_INCH, abs=0.1)
    assert 'chart 1 "Sales by region" (column chart) on sheet "Data"' == bars.label


def test_a_deck_s_objects_carry_their_slide_page_and_frame(deck):
    chart, hidden, picture, pie = read_drawn(deck, "pptx")
    assert (chart.slide, chart.page, chart.shown) == (1, 1, True)
    assert {"North", "South", "East", "West"} <= set(chart.texts)
    assert chart.points == 4
    assert (chart.x_mm, chart.y_mm, chart.width_mm, chart.height_mm) == pytest.approx(
        (1 * MM_PER_INCH, 1.5 * MM_PER_INCH, 8 * MM_PER_INCH, 5 * MM_PER_INCH))
    assert (hidden.slide, hidden.page, hidden.shown) == (2, None, False)
    assert (picture.slide, picture.page) == (3, 2)  # the hidden slide is not a page
    assert (pie.kind, pie.page, pie.points) == ("pie", 2, 4)
    assert picture.slide_width_mm == pytest.approx(10 * MM_PER_INCH)


def test_probes_charts_and_pictures():
    word = read_drawn(PROBES / "word-chart.docx", "docx")
    assert [(d.kind, d.texts, d.points) for d in word] == [("column", ("Q1", "Q2", "Q3", "Q4"),
                                                            4)]
    assert word[0].width_mm == pytest.approx(140) and word[0].page is None
    (picture,) = read_drawn(PROBES / "word-features.docx", "docx")
    assert (picture.feature, picture.width_mm, picture.height_mm) == ("images", 60, 40)
    (slide_picture,) = read_drawn(PROBES / "deck-features.pptx", "pptx")
    assert (slide_picture.slide, slide_picture.page) == (3, 3)
    assert read_drawn(PROBES / "word-review.docx", "docx") == ()


def test_what_a_faithful_print_leaves_out_is_not_expected(tmp_path):
    """A chart on a hidden sheet, or outside its sheet's print area, is not printed."""
    import openpyxl
    from openpyxl.chart import BarChart, Reference

    book = openpyxl.Workbook()
    for name, hide, area in (("Shown", False, None), ("Hidden", True, None),
                             ("Printed", False, "A1:B5")):
        sheet = book.create_sheet(name)
        for row in (("Team", "Score"), ("Red", 3), ("Blue", 5)):
            sheet.append(row)
        chart = BarChart()
        chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=3), titles_from_data=True)
        sheet.add_chart(chart, "H2")
        if hide:
            sheet.sheet_state = "hidden"
        if area:
            sheet.print_area = area
    path = tmp_path / "sheets.xlsx"
    book.save(path)
    drawn = read_drawn(path, "xlsx")
    assert [(d.sheet, d.shown) for d in drawn] == [("Shown", True), ("Hidden", False),
                                                   ("Printed", False)]


def test_broken_and_missing_files_have_nothing_drawn(tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    assert read_drawn(broken, "xlsx") == ()
    assert read_drawn(tmp_path / "missing.docx", "docx") == ()


def _replaced(source: Path, target: Path, part: str, data: bytes) -> Path:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as out:
        for info in original.infolist():
            out.writestr(info.filename, data if info.filename == part else original.read(info))
    return target


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(["xlsx", "pptx", "docx"]),
       cut=st.floats(min_value=0.0, max_value=1.0), junk=st.binary(max_size=200),
       xml=st.text(alphabet="<>/=\"' abc:cxrtvpf&;#x0123456789", max_size=300))
def test_read_drawn_never_raises_on_damaged_parts(workbook, deck, tmp_path_factory, data,
                                                  which, cut, junk, xml):
    """Any part truncated, garbled or replaced (a chart, a drawing, relationships, the
    main part): objects are left out, nothing raises."""
    source = {"xlsx": workbook, "pptx": deck, "docx": PROBES / "word-chart.docx"}[which]
    with zipfile.ZipFile(source) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith((".xml", ".rels")))
        part = data.draw(st.sampled_from(names))
        original = archive.read(part)
    damaged = original[: int(len(original) * cut)] + junk + xml.encode()
    path = _replaced(source, tmp_path_factory.mktemp("bad") / source.name, part, damaged)
    assert isinstance(read_drawn(path, which), tuple)
    assert isinstance(read_drawn(path, "xlsx"), tuple)  # under another format's name


_SIZES = st.one_of(st.none(), st.floats(min_value=-50, max_value=500, allow_nan=False))


@settings(max_examples=120, deadline=None)
@given(feature=st.sampled_from(["charts", "images", "smartart", "text-boxes", "equation"]),
       kind=st.sampled_from(["column", "bar", "pie", "line", "3-D area", "unknown"]),
       texts=st.lists(st.text(max_size=12), max_size=4), title=st.text(max_size=20),
       points=st.integers(min_value=-1, max_value=20), page=st.one_of(st.none(),
                                                                      st.integers(-1, 4)),
       sizes=st.tuples(_SIZES, _SIZES, _SIZES, _SIZES, _SIZES, _SIZES),
       estimated=st.booleans(), raster=st.booleans(),
       boxes=st.lists(st.tuples(st.sampled_from(["path", "image", "shading"]),
                                st.floats(-20, 250), st.floats(-20, 320), st.floats(0, 300),
                                st.floats(0, 300), st.booleans(), st.booleans(),
                                st.booleans()), max_size=12))
def test_drawn_checks_never_raise(feature, kind, texts, title, points, page, sizes, estimated,
                                  raster, boxes):
    """Whatever a source claims and whatever a page holds: checks or none, never a crash."""
    x, y, width, height, slide_width, slide_height = sizes
    item = Drawn(feature, "object 1", kind, title, tuple(texts), points, 1, False, raster,
                 page=page, x_mm=x, y_mm=y, width_mm=width, height_mm=height,
                 slide_width_mm=slide_width, slide_height_mm=slide_height,
                 size_estimated=estimated)
    graphics = tuple(Graphic(*box) for box in boxes)
    words = tuple(Word(t, 20.0 + 10 * i, 50.0) for i, text in enumerate(texts)
                  for t in tokens(text))
    pages = tuple(Page(n, 210.0, 297.0, np.full((4, 4), 255, np.uint8), words, 0, graphics)
                  for n in (1, 2))
    truth = SourceTruth("test", (), drawn=(item,))
    rendering = Rendering(pages, 3, 60)
    for reference in (None, rendering):
        checks = drawn_checks(truth, rendering, reference)
        assert all(0.0 <= c.score <= 1.0 and c.label for c in checks)


# --------------------------------------------------------------------- PDF graphics


def test_page_graphics_places_paths_images_and_forms_in_mm(tmp_path):
    """A filled bar, a white box (paper on paper: left out), a diagonal line, a curve and a
    bar inside a form XObject scaled by 2 and moved: each where a person sees it."""
    source = pdfium.PdfDocument.new()
    inner = source.new_page(200, 200)
    bar = pdfium_c.FPDFPageObj_CreateNewRect(10, 10, 20, 30)
    pdfium_c.FPDFPageObj_SetFillColor(bar, 200, 0, 0, 255)
    pdfium_c.FPDFPath_SetDrawMode(bar, pdfium_c.FPDF_FILLMODE_ALTERNATE, False)
    pdfium_c.FPDFPage_InsertObject(inner, bar)
    pdfium_c.FPDFPage_GenerateContent(inner)

    document = pdfium.PdfDocument.new()
    page = document.new_page(600, 800)

    def path(points, fill=None, stroke=None, curve=False):
        obj = pdfium_c.FPDFPageObj_CreateNewPath(*points[0])
        for x, y in points[1:]:
            if curve:
                pdfium_c.FPDFPath_BezierTo(obj, x - 20, y + 20, x + 20, y + 20, x, y)
            else:
                pdfium_c.FPDFPath_LineTo(obj, x, y)
        if fill:
            pdfium_c.FPDFPageObj_SetFillColor(obj, *fill, 255)
        if stroke:
            pdfium_c.FPDFPageObj_SetStrokeColor(obj, *stroke, 255)
        pdfium_c.FPDFPath_SetDrawMode(obj, pdfium_c.FPDF_FILLMODE_ALTERNATE if fill else 0,
                                      bool(stroke))
        pdfium_c.FPDFPage_InsertObject(page, obj)

    path([(72, 72), (144, 72), (144, 144), (72, 144), (72, 72)], fill=(0, 0, 200))
    path([(300, 300), (400, 300), (400, 400), (300, 300)], fill=(255, 255, 255))
    path([(100, 500), (200, 600)], stroke=(0, 0, 0))
    path([(300, 500), (400, 500)], stroke=(0, 0, 0), curve=True)
    xobject = pdfium_c.FPDF_NewXObjectFromPage(document, source, 0)
    form = pdfium_c.FPDF_NewFormObjectFromXObject(xobject)
    pdfium_c.FPDFPageObj_Transform(form, 2, 0, 0, 2, 100, 200)
    pdfium_c.FPDFPage_InsertObject(page, form)
    pdfium_c.FPDFPage_GenerateContent(page)
    pdf = tmp_path / "drawn.pdf"
    document.save(str(pdf))

    reopened = pdfium.PdfDocument(str(pdf))
    graphics = page_graphics(reopened[0], 800)
    mm = MM_PER_INCH / 72
    square, diagonal, curve, in_form = graphics
    assert (square.kind, square.filled, square.stroked, square.straight) == (
        "path", True, False, True)
    assert (square.x_mm, square.y_mm, square.width_mm) == pytest.approx(
        (72 * mm, (800 - 144) * mm, 72 * mm), abs=0.05)
    assert (diagonal.stroked, diagonal.straight) == (True, False)
    assert (curve.stroked, curve.straight) == (True, False)
    assert (in_form.x_mm, in_form.y_mm, in_form.width_mm, in_form.height_mm) == pytest.approx(
        (120 * mm, (800 - 280) * mm, 40 * mm, 60 * mm), abs=0.05)  # (10,10,20x30) x2 +(100,200)
    assert len(page_graphics(reopened[0], 800, limit=2)) == 2


# --------------------------------------------------------------- real renderings


def _render(suite: str, source: Path, workdir: Path) -> Path:
    with renderers.get(suite, workdir / f"scratch-{suite}") as renderer:
        outcome = renderer.show(source, workdir / suite, 120)
    assert outcome.status is Status.OK, outcome.message
    return outcome.output_path


@pytest.fixture(scope="module")
def libreoffice_pdf(workbook, tmp_path_factory) -> Path:
    if not renderers.get("libreoffice").availability().available:
        pytest.skip("LibreOffice not available here")
    return _render("libreoffice", workbook, tmp_path_factory.mktemp("lo"))


def _text_of(obj, textpage) -> str:
    size = pdfium_c.FPDFTextObj_GetText(obj, textpage, None, 0)
    buffer = (ctypes.c_ushort * max(size // 2, 1))()
    pdfium_c.FPDFTextObj_GetText(obj, textpage, buffer, size)
    return bytes(buffer)[:max(size - 2, 0)].decode("utf-16-le", "replace")


def _stripped(pdf: Path, out: Path, keep_words: set[str] | None = None) -> Path:
    """The PDF with every path filled with a colour taken out (bars, slices, legend keys:
    frames, axes and gridlines are strokes and stay); with `keep_words`, also every text
    object holding a word not among them."""
    document = pdfium.PdfDocument(str(pdf))
    for page in document:
        textpage = page.get_textpage()
        doomed = []
        for index in range(pdfium_c.FPDFPage_CountObjects(page)):
            obj = pdfium_c.FPDFPage_GetObject(page, index)
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
                fill, stroke = ctypes.c_int(), ctypes.c_int()
                pdfium_c.FPDFPath_GetDrawMode(obj, fill, stroke)
                rgba = [ctypes.c_uint() for _ in range(4)]
                pdfium_c.FPDFPageObj_GetFillColor(obj, *rgba)
                if fill.value and min(c.value for c in rgba[:3]) < 240:
                    doomed.append(obj)
            elif kind == pdfium_c.FPDF_PAGEOBJ_TEXT and keep_words is not None:
                if not set(tokens(_text_of(obj, textpage))) <= keep_words:
                    doomed.append(obj)
        textpage.close()
        for obj in doomed:
            pdfium_c.FPDFPage_RemoveObject(page, obj)
            pdfium_c.FPDFPageObj_Destroy(obj)
        pdfium_c.FPDFPage_GenerateContent(page)
    document.save(str(out))
    return out


def _by_feature(checks, feature):
    return [c for c in checks if c.feature == feature]


@needs_libreoffice
@pytest.mark.integration
def test_libreoffice_draws_the_charts_and_the_picture(workbook, libreoffice_pdf):
    truth = read_truth(workbook, "xlsx")
    checks = drawn_checks(truth, load(libreoffice_pdf))
    charts = _by_feature(checks, "charts")
    assert len(charts) == 2 and all(c.passed for c in charts), [c.label for c in charts]
    assert "column chart" in charts[0].label and "drawn (page 1" in charts[0].label
    assert "filled shape" in charts[1].label  # the pie's slices
    (picture,) = _by_feature(checks, "images")
    assert picture.passed, picture.label
    # On the page itself: the charts' frames and gridlines are straight strokes, not
    # marks; the bars and legend keys are filled boxes, the slices filled curves.
    page = load(libreoffice_pdf).pages[0]
    kinds = [(g, classify(g, page)) for g in page.graphics]
    assert all(kind != MARK for g, kind in kinds if g.kind == "path" and not g.filled)
    assert sum(1 for g, kind in kinds if kind == MARK and g.straight) >= 8  # the bars
    assert sum(1 for g, kind in kinds if kind == MARK and not g.straight) >= 4  # the slices


@needs_libreoffice
@pytest.mark.integration
def test_an_empty_frame_or_a_title_alone_is_not_a_chart(workbook, libreoffice_pdf, tmp_path):
    truth = read_truth(workbook, "xlsx")
    empty = _stripped(libreoffice_pdf, tmp_path / "empty.pdf")
    checks = drawn_checks(truth, load(empty))
    charts = _by_feature(checks, "charts")
    assert [c.score for c in charts] == [0.0, 0.0], [c.label for c in charts]
    assert all("not drawn" in c.label for c in charts)
    assert _by_feature(checks, "images")[0].passed  # the picture is an image: still there
    titles = {t for item in truth.drawn for t in tokens(item.title)}
    alone = _stripped(libreoffice_pdf, tmp_path / "titles.pdf", keep_words=titles)
    charts = _by_feature(drawn_checks(truth, load(alone)), "charts")
    assert [c.score for c in charts] == [0.0, 0.0]
    # The pie's title shares no word with its labels; the bar chart's ('Sales by region')
    # holds two of them, so it is its title and 2/8 label words that are printed.
    assert "only its title is shown" in charts[1].label
    assert "its title and 2/8 of its label words" in charts[0].label


@needs_libreoffice
@pytest.mark.integration
def test_against_a_reference_the_region_must_hold_comparable_marks(workbook, libreoffice_pdf,
                                                                   tmp_path):
    """LibreOffice's own PDF stands in for a Microsoft reference (no chart document of the
    shared corpus has one): the same PDF matches it, the emptied one does not."""
    truth = read_truth(workbook, "xlsx")
    reference = load(libreoffice_pdf)
    same = _by_feature(drawn_checks(truth, reference, reference), "charts")
    assert all(c.passed and "like the reference" in c.label for c in same)
    emptied = load(_stripped(libreoffice_pdf, tmp_path / "empty.pdf"))
    charts = _by_feature(drawn_checks(truth, emptied, reference), "charts")
    assert [c.score for c in charts] == [0.0, 0.0]


@needs_libreoffice
@pytest.mark.integration
def test_gnumeric_that_drops_the_charts_grades_below_libreoffice(workbook, libreoffice_pdf,
                                                                  tmp_path):
    if not renderers.get("gnumeric").availability().available:
        pytest.skip("Gnumeric not available here")
    truth = read_truth(workbook, "xlsx")
    gnumeric = drawn_checks(truth, load(_render("gnumeric", workbook, tmp_path)))
    libreoffice = drawn_checks(truth, load(libreoffice_pdf))
    # Gnumeric 1.12 prints the table and the picture but neither chart.
    assert [c.score for c in _by_feature(gnumeric, "charts")] == [0.0, 0.0]
    assert _by_feature(gnumeric, "images")[0].passed
    share = [sum(c.score for c in checks) / len(checks) for checks in (gnumeric, libreoffice)]
    assert share[0] < share[1] == 1.0


@needs_libreoffice
@pytest.mark.integration
def test_a_deck_s_charts_and_pictures_are_found_on_their_slides(deck, tmp_path):
    truth = read_truth(deck, "pptx")
    pdf = _render("libreoffice", deck, tmp_path)
    checks = drawn_checks(truth, load(pdf))
    assert len(checks) == 3 and all(c.passed for c in checks), [c.label for c in checks]
    assert any("page 2" in c.label and c.feature == "images" for c in checks)
    # Every object taken off the page: the checks say so.
    empty = drawn_checks(truth, load(_stripped(pdf, tmp_path / "empty.pdf", keep_words=set())))
    assert [c.score for c in _by_feature(empty, "charts")] == [0.0, 0.0]


def test_a_negative_size_from_a_damaged_file_counts_as_unknown():
    """Found by hypothesis: a chart whose file gives it a width of -1 mm made the size
    misfit take the log of a negative area, so the whole job failed."""
    from harness.compare.drawn import _Box, _misfit
    from harness.truth.drawn import Drawn

    box = _Box(0.0, 0.0, 40.0, 30.0)
    for width, height in ((-1.0, 50.0), (50.0, -1.0), (0.0, 50.0)):
        item = Drawn("charts", "chart", "column", width_mm=width, height_mm=height)
        assert _misfit(box, item) == 0.0
    assert _misfit(box, Drawn("charts", "chart", "column", width_mm=80.0, height_mm=30.0)) == 0.0
