"""The three base probes (one per family) and the tools every probe module shares.

Each probe is written with the same libraries that read source truth, plus raw OOXML where
they cannot author a feature (footnotes, cached formula values), next to a
``<name>.expected.json`` that says what it contains. Zip entries get fixed timestamps and
document properties fixed dates, so regenerating gives the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from typing import Any, Callable

import docx
import openpyxl
import pptx
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.shared import Cm
from lxml import etree
from PIL import Image, ImageDraw
from pptx.util import Cm as PptxCm

FIXED_DATE = datetime(2024, 1, 1, 0, 0, 0)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def probe_image() -> bytes:
    """A small deterministic picture: coloured bands and a disc."""
    image = Image.new("RGB", (240, 160), "white")
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate(("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")):
        draw.rectangle((i * 60, 0, i * 60 + 59, 40), fill=colour)
    draw.ellipse((80, 60, 160, 140), fill="#9467bd", outline="black", width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def normalise_zip(data: bytes,
                   patches: dict[str, Callable[[bytes], bytes]] | None = None,
                   extra: dict[str, bytes] | None = None) -> bytes:
    """Rewrite a zip with fixed timestamps and core-property dates, applying patches and
    adding the extra parts at the end."""
    patches = patches or {}
    source = zipfile.ZipFile(io.BytesIO(data))
    added = [(zipfile.ZipInfo(name), content) for name, content in (extra or {}).items()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info, content in [(i, source.read(i.filename)) for i in source.infolist()] + added:
            if info.filename in patches:
                content = patches[info.filename](content)
            if info.filename == "docProps/app.xml":
                # Library templates claim to be Word/PowerPoint, with counts Word never made.
                content = re.sub(rb"<Application>[^<]*</Application>",
                                 rb"<Application>fidelity-harness probe generator</Application>",
                                 content)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                                 rb"\g<1>2024-01-01T00:00:00Z", content)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    return out.getvalue()


# --- Word ------------------------------------------------------------------------------

DOCX_TEXT = {
    "heading": "Fidelity probe: Word features",
    "intro": "This paragraph checks plain body text with several ordinary words.",
    "subheading": "Lists and tables",
    "bullets": ["First bullet item", "Second bullet item"],
    "numbers": ["Numbered step one", "Numbered step two"],
    "table": [["Merged header across two", None, "Third"],
              ["Alpha", "Beta", "Gamma"],
              ["Delta", "Epsilon", "Zeta"]],
    "footnote_anchor": "This sentence carries a footnote.",
    "footnote": "Footnote text written as a raw part.",
    "header": "Probe header line",
    "footer": "Probe footer line",
    "closing": "Final paragraph after the picture.",
}


def add_notes_part(document: docx.document.Document, kind: str, text: str) -> None:
    """A footnotes or endnotes part holding one note (id 1), written raw: python-docx
    cannot author notes."""
    xml = (f'<w:{kind}s xmlns:w="{_W}">'
           f'<w:{kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
           f'</w:{kind}><w:{kind} w:type="continuationSeparator" w:id="0"><w:p><w:r>'
           f'<w:continuationSeparator/></w:r></w:p></w:{kind}>'
           f'<w:{kind} w:id="1"><w:p><w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
           f'<w:{kind}Ref/></w:r><w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p>'
           f'</w:{kind}></w:{kind}s>')
    content_type, reltype = {"footnote": (CT.WML_FOOTNOTES, RT.FOOTNOTES),
                             "endnote": (CT.WML_ENDNOTES, RT.ENDNOTES)}[kind]
    part = Part(PackURI(f"/word/{kind}s.xml"), content_type, xml.encode(),
                document.part.package)
    document.part.relate_to(part, reltype)


def add_note_reference(paragraph, kind: str) -> None:
    paragraph._p.append(parse_xml(
        f'<w:r xmlns:w="{_W}"><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
        f'<w:{kind}Reference w:id="1"/></w:r>'))


def build_docx() -> tuple[bytes, dict[str, Any]]:
    t = DOCX_TEXT
    document = docx.Document()
    document.core_properties.created = document.core_properties.modified = FIXED_DATE
    document.core_properties.title = "Word features probe"
    section = document.sections[0]
    section.header.paragraphs[0].text = t["header"]
    section.footer.paragraphs[0].text = t["footer"]
    document.add_heading(t["heading"], level=1)
    document.add_paragraph(t["intro"])
    document.add_heading(t["subheading"], level=2)
    for item in t["bullets"]:
        document.add_paragraph(item, style="List Bullet")
    for item in t["numbers"]:
        document.add_paragraph(item, style="List Number")
    table = document.add_table(rows=3, cols=3)
    table.style = "Table Grid"
    for r, row in enumerate(t["table"]):
        for c, value in enumerate(row):
            if value is not None:
                table.cell(r, c).text = value
    table.cell(0, 0).merge(table.cell(0, 1))
    anchor = document.add_paragraph(t["footnote_anchor"])
    add_notes_part(document, "footnote", t["footnote"])
    add_note_reference(anchor, "footnote")
    document.add_picture(io.BytesIO(probe_image()), width=Cm(6))
    document.add_paragraph(t["closing"])
    out = io.BytesIO()
    document.save(out)
    table_text = [v for row in t["table"] for v in row if v]
    expected = {
        "format": "docx",
        "features": ["headings", "paragraphs", "table", "merged-cells", "bulleted-list",
                     "numbered-list", "header", "footer", "image", "footnote"],
        "text_blocks": [t["heading"], t["intro"], t["subheading"], *t["bullets"],
                        *t["numbers"], *table_text, t["footnote_anchor"], t["closing"],
                        t["header"], t["footer"], t["footnote"]],
        "facts": {"tables": 1, "images": 1, "footnotes": 1, "sections": 1},
        "merged_cells": [{"row": 0, "columns": [0, 1], "text": t["table"][0][0]}],
    }
    return normalise_zip(out.getvalue()), expected


# --- Excel -----------------------------------------------------------------------------

def build_xlsx() -> tuple[bytes, dict[str, Any]]:
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = FIXED_DATE
    data = book.active
    data.title = "Data"
    data["A1"], data["B1"], data["C1"] = "Item", "Quantity", "Price"
    rows = [("Apples", 3, 1.25), ("Pears", 5, 0.8), ("Plums", 2, 2.5)]
    for i, (name, qty, price) in enumerate(rows, start=2):
        data.cell(i, 1, name), data.cell(i, 2, qty), data.cell(i, 3, price)
        data.cell(i, 3).number_format = "#,##0.00"
    data["A5"] = "Total"
    data["B5"] = "=SUM(B2:B4)"
    data["C5"] = "=SUMPRODUCT(B2:B4,C2:C4)"
    data["C5"].number_format = "#,##0.00"
    data["D1"] = "Share"
    data["D2"] = "=B2/B5"
    data["D2"].number_format = "0.0%"
    data["A7"] = "Merged note spanning three columns"
    data.merge_cells("A7:C7")
    # Wide enough that no text is clipped at a cell edge, as Excel and LibreOffice both do.
    for column, width in zip("ABCD", (16, 12, 12, 10)):
        data.column_dimensions[column].width = width
    summary = book.create_sheet("Summary")
    summary.column_dimensions["A"].width = 16
    summary["A1"] = "Grand total"
    summary["B1"] = "=Data!C5"
    summary["B1"].number_format = "#,##0.00"
    cached = {"Data!B5": 10, "Data!C5": 12.75, "Data!D2": 0.3, "Summary!B1": 12.75}
    out = io.BytesIO()
    book.save(out)

    def cache_values(sheet: str) -> Callable[[bytes], bytes]:
        def patch(xml: bytes) -> bytes:
            root = etree.fromstring(xml)
            for cell in root.iter(f"{{{_S}}}c"):
                key = f"{sheet}!{cell.get('r')}"
                if key in cached and cell.find(f"{{{_S}}}f") is not None:
                    value = cell.find(f"{{{_S}}}v")
                    if value is None:
                        value = etree.SubElement(cell, f"{{{_S}}}v")
                    value.text = repr(cached[key]) if isinstance(cached[key], float) \
                        else str(cached[key])
            return etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                  standalone=True)
        return patch

    patches = {"xl/worksheets/sheet1.xml": cache_values("Data"),
               "xl/worksheets/sheet2.xml": cache_values("Summary")}
    expected = {
        "format": "xlsx",
        "features": ["formulas", "cached-values", "merged-cells", "number-formats",
                     "multiple-sheets"],
        "text_blocks": ["Item", "Quantity", "Price", "Share", "Apples", "Pears", "Plums",
                        "Total", "Merged note spanning three columns", "Grand total"],
        "facts": {"sheets": 2, "visible_sheets": 2, "merged_ranges": 1},
        "sheets": ["Data", "Summary"],
        "formulas": {"Data!B5": "=SUM(B2:B4)", "Data!C5": "=SUMPRODUCT(B2:B4,C2:C4)",
                     "Data!D2": "=B2/B5", "Summary!B1": "=Data!C5"},
        "cached_values": cached,
        "number_formats": {"Data!C2": "#,##0.00", "Data!D2": "0.0%"},
        "merged_ranges": {"Data": ["A7:C7"]},
    }
    return normalise_zip(out.getvalue(), patches), expected


# --- PowerPoint ------------------------------------------------------------------------

def build_pptx() -> tuple[bytes, dict[str, Any]]:
    deck = pptx.Presentation()
    deck.core_properties.created = deck.core_properties.modified = FIXED_DATE
    title_layout, content_layout, blank_title = (deck.slide_layouts[0], deck.slide_layouts[1],
                                                 deck.slide_layouts[5])
    slide = deck.slides.add_slide(title_layout)
    slide.shapes.title.text = "Fidelity probe deck"
    slide.placeholders[1].text = "Title slide subtitle"

    slide = deck.slides.add_slide(blank_title)
    slide.shapes.title.text = "Table slide"
    cells = [["Region", "Sales"], ["North", "Forty"], ["South", "Sixty"]]
    table = slide.shapes.add_table(3, 2, PptxCm(3), PptxCm(5), PptxCm(14), PptxCm(4)).table
    for r, row in enumerate(cells):
        for c, value in enumerate(row):
            table.cell(r, c).text = value

    slide = deck.slides.add_slide(blank_title)
    slide.shapes.title.text = "Picture slide"
    slide.shapes.add_picture(io.BytesIO(probe_image()), PptxCm(6), PptxCm(5), width=PptxCm(12))

    slide = deck.slides.add_slide(content_layout)
    slide.shapes.title.text = "Hidden slide title"
    slide.placeholders[1].text = "This slide is hidden and must not be shown"
    slide._element.set("show", "0")
    out = io.BytesIO()
    deck.save(out)
    expected = {
        "format": "pptx",
        "features": ["title-slide", "table", "image", "hidden-slide"],
        "text_blocks": ["Fidelity probe deck", "Title slide subtitle", "Table slide",
                        *[v for row in cells for v in row], "Picture slide"],
        "hidden_text": ["Hidden slide title", "This slide is hidden and must not be shown"],
        "expected_pages": 3,
        "facts": {"slides": 4, "hidden_slides": 1, "images": 1, "tables": 1},
    }
    return normalise_zip(out.getvalue()), expected


PROBES: dict[str, Callable[[], tuple[bytes, dict[str, Any]]]] = {
    "word-features.docx": build_docx,
    "sheet-features.xlsx": build_xlsx,
    "deck-features.pptx": build_pptx,
}
