"""Part-based feature tags come from content: for each tag, a document generated here with
the part present but empty (or used by nothing) has no tag, and the same document with
content in that part has it."""

import io
import re
import zipfile

import docx
import openpyxl
import pptx
from PIL import Image
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.worksheet.table import Table
from pptx.dml.color import RGBColor
from pptx.util import Cm

from harness.corpus.features import detect
from harness.corpus.package_probes import build_chart_docx, build_media_pptx, probe_sound
from harness.truth import read_truth
from tests.conftest import PROBES

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(out, "PNG")
    return out.getvalue()


PNG = _png()


def _saved(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _edit(data: bytes, changes: dict) -> bytes:
    """A copy of a package with parts replaced (bytes, or a function of the old bytes),
    added, or removed (None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for name in old.namelist():
            change = changes.get(name, old.read(name))
            if callable(change):
                change = change(old.read(name))
            if change is not None:
                new.writestr(name, change)
        for name, change in changes.items():
            if name not in old.namelist() and change is not None:
                new.writestr(name, change)
    return out.getvalue()


def _relate(rid: str, kind: str, target: str):
    def add(rels: bytes) -> bytes:
        return rels.replace(b"</Relationships>", f'<Relationship Id="{rid}" Type="{R}/{kind}" '
                            f'Target="{target}"/></Relationships>'.encode())
    return add


def _rels(*relationships: tuple[str, str, str]) -> bytes:
    return (f'<Relationships xmlns="{RELS}">' + "".join(
        f'<Relationship Id="{i}" Type="{R}/{k}" Target="{t}"/>' for i, k, t in relationships)
        + "</Relationships>").encode()


def _tags(tmp_path, name: str, data: bytes) -> frozenset[str]:
    path = tmp_path / name
    path.write_bytes(data)
    return detect(path).tags


def _word(build=None) -> bytes:
    document = docx.Document()
    document.add_paragraph("Body text")
    if build:
        build(document)
    return _saved(document)


def _body(extra: str):
    """Adds raw WordprocessingML before the body's section properties."""
    def add(xml: bytes) -> bytes:
        return re.sub(rb"(<w:sectPr)", extra.encode() + rb"\1", xml, count=1)
    return add


def test_comments_need_a_comment_in_word(tmp_path):
    def comment(document):
        document.add_comment(document.paragraphs[0].runs, text="A remark", author="R")

    with_comment = _word(comment)
    emptied = _edit(with_comment, {"word/comments.xml": lambda xml: re.sub(
        rb"<w:comment\b.*</w:comment>", b"", xml, flags=re.S)})
    assert b"word/comments.xml" in emptied  # the part stays, as Word leaves it
    assert "comments" in _tags(tmp_path, "c.docx", with_comment)
    assert "comments" not in _tags(tmp_path, "e.docx", emptied)
    # The tag and the document page's own count of comments tell the same story.
    for name in ("c.docx", "e.docx"):
        counted = read_truth(tmp_path / name, "docx").facts["comments"]
        assert (counted > 0) == ("comments" in detect(tmp_path / name).tags), name


def test_comments_need_a_comment_in_a_workbook(tmp_path):
    book = openpyxl.Workbook()
    book.active["A1"] = "value"
    book.active["A1"].comment = Comment("A remark", "R")
    with_comment = _saved(book)
    part = next(n for n in zipfile.ZipFile(io.BytesIO(with_comment)).namelist()
                if re.search(r"comments/comment\d*\.xml$", n))
    emptied = _edit(with_comment, {part: lambda xml: re.sub(
        rb"<comment\b.*</comment>", b"", xml, flags=re.S)})
    assert "comments" in _tags(tmp_path, "c.xlsx", with_comment)
    assert "comments" not in _tags(tmp_path, "e.xlsx", emptied)


def test_headers_and_footers_need_something_printed(tmp_path):
    def unlinked(document):
        document.sections[0].header.is_linked_to_previous = False  # an empty header part

    def worded(document):
        document.sections[0].footer.paragraphs[0].text = "Footer words"

    empty = _word(unlinked)
    assert any(re.match(r"word/header\d*\.xml$", n)
               for n in zipfile.ZipFile(io.BytesIO(empty)).namelist())
    assert "headers-footers" not in _tags(tmp_path, "e.docx", empty)
    assert "headers-footers" in _tags(tmp_path, "c.docx", _word(worded))


def test_a_chart_counts_only_where_the_body_draws_it(tmp_path):
    drawn, _ = build_chart_docx()
    rid = re.search(rb'<c:chart [^>]*r:id="(\w+)"', zipfile.ZipFile(io.BytesIO(drawn)).read(
        "word/document.xml")).group(1)
    # The chart part and its relationship stay; the body no longer names it.
    undrawn = _edit(drawn, {"word/document.xml": lambda xml: xml.replace(
        b'r:id="' + rid + b'"', b'r:id="rIdGone"')})
    assert "charts" in _tags(tmp_path, "c.docx", drawn)
    assert "charts" not in _tags(tmp_path, "e.docx", undrawn)


def test_a_workbook_chart_counts_through_its_sheet_and_drawing(tmp_path):
    book = openpyxl.Workbook()
    for row in ([1], [2], [3]):
        book.active.append(row)
    chart = BarChart()
    chart.add_data(Reference(book.active, min_col=1, min_row=1, max_row=3))
    book.active.add_chart(chart, "C1")
    drawn = _saved(book)
    undrawn = _edit(drawn, {"xl/worksheets/sheet1.xml": lambda xml: re.sub(
        rb"<drawing [^>]*/>", b"", xml)})
    assert "charts" in _tags(tmp_path, "c.xlsx", drawn)
    assert "charts" not in _tags(tmp_path, "e.xlsx", undrawn)


DGM = "http://schemas.openxmlformats.org/drawingml/2006/diagram"


def _smartart(points: str) -> bytes:
    data = (f'<dgm:dataModel xmlns:dgm="{DGM}"><dgm:ptLst><dgm:pt modelId="0" type="doc"/>'
            f"{points}</dgm:ptLst></dgm:dataModel>")
    frame = (f'<w:p><w:r><w:drawing><dgm:relIds xmlns:dgm="{DGM}" xmlns:r="{R}" r:dm="rIdD1"'
             ' r:lo="rIdD1" r:qs="rIdD1" r:cs="rIdD1"/></w:drawing></w:r></w:p>')
    return _edit(_word(), {"word/diagrams/data1.xml": data.encode(),
                           "word/document.xml": _body(frame),
                           "word/_rels/document.xml.rels": _relate(
                               "rIdD1", "diagramData", "diagrams/data1.xml")})


def test_smartart_needs_a_node(tmp_path):
    assert "smartart" not in _tags(tmp_path, "e.docx", _smartart(""))
    node = '<dgm:pt modelId="1"><dgm:t><a:p xmlns:a="x"/></dgm:t></dgm:pt>'
    assert "smartart" in _tags(tmp_path, "c.docx", _smartart(node))


def _macro(project: bytes) -> bytes:
    return _edit(_word(), {"word/vbaProject.bin": project,
                           "word/_rels/document.xml.rels": _relate(
                               "rIdV1", "vbaProject", "vbaProject.bin")})


def test_macros_need_a_vba_project_container(tmp_path):
    ole = bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 2040  # an OLE compound file header
    assert "macros" not in _tags(tmp_path, "e.docm", _macro(b"no project here"))
    assert "macros" in _tags(tmp_path, "c.docm", _macro(ole))


def _pivot(part: bytes) -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = 1
    return _edit(_saved(book), {
        "xl/pivotTables/pivotTable1.xml": part,
        "xl/worksheets/_rels/sheet1.xml.rels": _rels(
            ("rIdP1", "pivotTable", "../pivotTables/pivotTable1.xml"))})


def test_pivot_tables_need_a_pivot_table_definition(tmp_path):
    assert "pivot-tables" not in _tags(tmp_path, "e.xlsx", _pivot(b""))
    definition = (b'<pivotTableDefinition xmlns="http://schemas.openxmlformats.org/'
                  b'spreadsheetml/2006/main" name="P"><location ref="A3:B5"/>'
                  b"</pivotTableDefinition>")
    assert "pivot-tables" in _tags(tmp_path, "c.xlsx", _pivot(definition))


def test_external_links_need_a_workbook_that_names_them(tmp_path):
    linked = (PROBES / "sheet-external-link.xlsx").read_bytes()
    unlinked = _edit(linked, {"xl/workbook.xml": lambda xml: re.sub(
        rb"<externalReferences>.*</externalReferences>", b"", xml, flags=re.S)})
    assert "external-links" in _tags(tmp_path, "c.xlsx", linked)
    assert "external-links" not in _tags(tmp_path, "e.xlsx", unlinked)


def test_an_attached_template_is_no_external_link(tmp_path):
    template = _edit(_word(), {
        "word/settings.xml": lambda xml: xml.replace(
            b"</w:settings>", b'<w:attachedTemplate r:id="rIdT1"/></w:settings>'),
        "word/_rels/settings.xml.rels": (
            f'<Relationships xmlns="{RELS}"><Relationship Id="rIdT1" Type="{R}/attachedTemplate"'
            ' Target="file:///C:/Normal.dotm" TargetMode="External"/></Relationships>').encode()})
    assert "external-links" not in _tags(tmp_path, "t.docx", template)


def _deck(build) -> bytes:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    slide.shapes.add_textbox(Cm(2), Cm(2), Cm(10), Cm(2)).text_frame.text = "Slide words"
    build(deck, slide)
    return _saved(deck)


def test_notes_need_words(tmp_path):
    def empty(deck, slide):
        assert slide.notes_slide is not None  # created, with an empty notes placeholder

    def worded(deck, slide):
        slide.notes_slide.notes_text_frame.text = "What to say here"

    empty_deck = _deck(empty)
    assert any("notesSlides/" in n for n in zipfile.ZipFile(io.BytesIO(empty_deck)).namelist())
    assert "notes" not in _tags(tmp_path, "e.pptx", empty_deck)
    assert "notes" in _tags(tmp_path, "c.pptx", _deck(worded))


def test_media_counts_only_where_a_slide_plays_it(tmp_path):
    played, _ = build_media_pptx()
    unplayed = _deck(lambda deck, slide: None)
    unplayed = _edit(unplayed, {"ppt/media/media1.wav": probe_sound()})
    assert "media" in _tags(tmp_path, "c.pptx", played)
    assert "media" not in _tags(tmp_path, "e.pptx", unplayed)


def test_images_count_only_where_something_shows_them(tmp_path):
    def picture(document):
        document.add_picture(io.BytesIO(PNG))

    orphan = _edit(_word(), {"word/media/image1.png": PNG})
    assert "images" not in _tags(tmp_path, "e.docx", orphan)
    assert "images" in _tags(tmp_path, "c.docx", _word(picture))


def _embedded_font(named: bool) -> bytes:
    reference = '<w:embedRegular r:id="rIdF1"/>' if named else ""
    fonts = (f'<w:fonts xmlns:w="{W}" xmlns:r="{R}"><w:font w:name="Probe Sans">{reference}'
             "</w:font></w:fonts>")
    return _edit(_word(), {"word/fontTable.xml": fonts.encode(),
                           "word/fonts/font1.odttf": b"\1" * 64,
                           "word/_rels/fontTable.xml.rels": _rels(
                               ("rIdF1", "font", "fonts/font1.odttf"))})


def test_embedded_fonts_need_a_font_table_that_names_them(tmp_path):
    assert "embedded-fonts" not in _tags(tmp_path, "e.docx", _embedded_font(named=False))
    assert "embedded-fonts" in _tags(tmp_path, "c.docx", _embedded_font(named=True))


def test_a_sheet_table_counts_only_where_the_sheet_lists_it(tmp_path):
    book = openpyxl.Workbook()
    for row in (["Name", "Count"], ["a", 1], ["b", 2]):
        book.active.append(row)
    book.active.add_table(Table(displayName="Counts", ref="A1:B3"))
    listed = _saved(book)
    unlisted = _edit(listed, {"xl/worksheets/sheet1.xml": lambda xml: re.sub(
        rb"<tableParts.*?</tableParts>", b"", xml, flags=re.S)})
    assert "table" in _tags(tmp_path, "c.xlsx", listed)
    assert "table" not in _tags(tmp_path, "e.xlsx", unlisted)


def test_masters_and_layouts_need_something_drawn_of_their_own(tmp_path):
    def background(deck, slide):
        fill = deck.slide_master.background.fill
        fill.solid()
        fill.fore_color.rgb = RGBColor(0x20, 0x40, 0x80)

    plain = _deck(lambda deck, slide: None)  # placeholders and the theme's plain background
    assert "masters-and-layouts" not in _tags(tmp_path, "e.pptx", plain)
    assert "masters-and-layouts" in _tags(tmp_path, "c.pptx", _deck(background))


def test_sheets_count_when_the_workbook_lists_them(tmp_path):
    book = openpyxl.Workbook()
    book.create_sheet("Second")
    two = _saved(book)
    one_listed = _edit(two, {"xl/workbook.xml": lambda xml: re.sub(
        rb'<sheet [^>]*name="Second"[^>]*/>', b"", xml)})
    assert "multiple-sheets" in _tags(tmp_path, "c.xlsx", two)
    assert "multiple-sheets" not in _tags(tmp_path, "e.xlsx", one_listed)


def test_many_relationships_over_a_large_part_stay_quick(tmp_path):
    """Each source part is read once for the ids it names, however many relationships it
    has: 20,000 relationships over a 4 MB body must not mean 20,000 scans of it."""
    import time

    rels = _rels(*[(f"rIdX{n}", "chart", f"charts/chart{n}.xml") for n in range(20_000)])
    big = _edit(_word(), {
        "word/_rels/document.xml.rels": lambda xml: xml.replace(
            b"</Relationships>", rels.split(b">", 1)[1].replace(b"</Relationships>", b"")
            + b"</Relationships>"),
        "word/document.xml": _body("<w:p><w:r><w:t>" + "words " * 700_000 + "</w:t></w:r></w:p>"),
        "word/charts/chart1.xml": b"<c:chartSpace xmlns:c='x'/>"})
    started = time.monotonic()
    tags = _tags(tmp_path, "many.docx", big)
    assert "charts" not in tags and time.monotonic() - started < 30
