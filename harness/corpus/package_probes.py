"""Probes for features no authoring library writes directly: a chart in a Word document
(chart part written with python-pptx's chart XML writer, related from the document part),
a sound on a slide (a generated WAV, embedded by python-pptx as a media part), and a
workbook formula reading another workbook (an external-link part with its cached value).

Not authored, on purpose: macros (a real `vbaProject.bin` is a compressed OLE container
that only Office writes; a fake one would test detection, not suites), embedded fonts (the
probe would carry a font file whose bytes differ between machines, breaking byte-for-byte
regeneration), SmartArt and pivot tables (five and three interlocking parts whose
consistency only Office checks; a wrong one tests a suite's error handling, not its
fidelity). Their detection is covered by synthetic packages in tests/test_features.py.
"""

from __future__ import annotations

import io
import math
import re
import struct
import wave
from typing import Any

import docx
import openpyxl
import pptx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.shared import Cm as DocxCm
from pptx.chart.data import CategoryChartData
from pptx.chart.xmlwriter import ChartXmlWriter
from pptx.enum.chart import XL_CHART_TYPE
from pptx.util import Cm

from harness.corpus.base_probes import FIXED_DATE, normalise_zip

CHART_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"


def _inline_chart(rid: str, width_emu: int, height_emu: int) -> str:
    return (
        '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        '<w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/'
        f'wordprocessingDrawing"><wp:extent cx="{width_emu}" cy="{height_emu}"/>'
        '<wp:docPr id="100" name="Chart 1"/><a:graphic xmlns:a="http://schemas.'
        'openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.'
        'openxmlformats.org/drawingml/2006/chart"><c:chart xmlns:c="http://schemas.'
        'openxmlformats.org/drawingml/2006/chart" xmlns:r="http://schemas.openxmlformats.'
        f'org/officeDocument/2006/relationships" r:id="{rid}"/></a:graphicData></a:graphic>'
        '</wp:inline></w:drawing></w:r>')


def build_chart_docx() -> tuple[bytes, dict[str, Any]]:
    document = docx.Document()
    document.core_properties.created = document.core_properties.modified = FIXED_DATE
    document.add_heading("Quarterly figures", level=1)
    document.add_paragraph("The chart below shows visitors per quarter.")
    data = CategoryChartData()
    data.categories = ["Q1", "Q2", "Q3", "Q4"]
    data.add_series("Visitors", (120, 180, 150, 210))
    xml = ChartXmlWriter(XL_CHART_TYPE.COLUMN_CLUSTERED, data).xml.encode("utf-8")
    part = Part(PackURI("/word/charts/chart1.xml"), CHART_CONTENT_TYPE, xml,
                document.part.package)
    rid = document.part.relate_to(part, RT.CHART)
    paragraph = document.add_paragraph()
    paragraph._p.append(parse_xml(_inline_chart(rid, int(DocxCm(14)), int(DocxCm(8)))))
    document.add_paragraph("Visitors rose in the last quarter.")
    out = io.BytesIO()
    document.save(out)
    expected = {
        "format": "docx",
        "features": ["charts", "headings"],
        "text_blocks": ["Quarterly figures", "The chart below shows visitors per quarter.",
                        "Visitors rose in the last quarter."],
        "facts": {"tables": 0},
    }
    return normalise_zip(out.getvalue()), expected


def probe_sound(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A short 440 Hz tone as a WAV file, the same bytes every time."""
    samples = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                       for i in range(int(seconds * rate)))
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(samples)
    return out.getvalue()


def build_media_pptx() -> tuple[bytes, dict[str, Any]]:
    deck = pptx.Presentation()
    deck.core_properties.created = deck.core_properties.modified = FIXED_DATE
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Slide with a sound"
    box = slide.shapes.add_textbox(Cm(3), Cm(12), Cm(16), Cm(2))
    box.text_frame.text = "Click the icon to play the tone"
    slide.shapes.add_movie(io.BytesIO(probe_sound()), Cm(10), Cm(6), Cm(3), Cm(3),
                           mime_type="audio/wav")
    out = io.BytesIO()
    deck.save(out)
    expected = {
        "format": "pptx",
        "features": ["media"],
        "text_blocks": ["Slide with a sound", "Click the icon to play the tone"],
        "expected_pages": 1,
        "facts": {"slides": 1, "hidden_slides": 0},
    }
    return normalise_zip(out.getvalue()), expected


EXTERNAL_LINK_TYPE = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                      "externalLink")
EXTERNAL_PATH_TYPE = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                      "externalLinkPath")
EXTERNAL_LINK_PART = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<externalBook r:id="rId1"><sheetNames><sheetName val="Prices"/></sheetNames>'
    '<sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>42</v></cell></row>'
    '</sheetData></sheetDataSet></externalBook></externalLink>').encode()
EXTERNAL_LINK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{EXTERNAL_PATH_TYPE}" Target="prices.xlsx" '
    'TargetMode="External"/></Relationships>').encode()


def build_external_link_xlsx() -> tuple[bytes, dict[str, Any]]:
    """A formula that reads another workbook (`prices.xlsx`, never shipped), with the value
    Excel cached for it: a suite must show the cached 42 and never go looking for the file."""
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = FIXED_DATE
    sheet = book.active
    sheet.title = "Linked"
    sheet["A1"], sheet["B1"] = "Price from the other workbook", "=[1]Prices!A1"
    sheet["A2"], sheet["B2"] = "Local note", "kept as typed"
    sheet.column_dimensions["A"].width = 36  # wide enough: B1 would clip the label
    out = io.BytesIO()
    book.save(out)

    def cached(xml: bytes) -> bytes:
        return re.sub(rb"(<f>\[1\]Prices!A1</f>)(<v\s*/>|<v></v>)?", rb"\g<1><v>42</v>", xml)

    def referenced(xml: bytes) -> bytes:
        # Excel shows what it cached for a link and recalculates on request only.
        xml = xml.replace(b' fullCalcOnLoad="1"', b"")
        return xml.replace(b"</sheets>", b'</sheets><externalReferences><externalReference '
                           b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                           b'relationships" r:id="rIdExt1"/></externalReferences>', 1)

    def related(xml: bytes) -> bytes:
        return xml.replace(b"</Relationships>", f'<Relationship Id="rIdExt1" Type="'
                           f'{EXTERNAL_LINK_TYPE}" Target="externalLinks/externalLink1.xml"/>'
                           '</Relationships>'.encode(), 1)

    def typed(xml: bytes) -> bytes:
        return xml.replace(b"</Types>", b'<Override PartName="/xl/externalLinks/'
                           b'externalLink1.xml" ContentType="application/vnd.openxmlformats-'
                           b'officedocument.spreadsheetml.externalLink+xml"/></Types>', 1)

    data = normalise_zip(out.getvalue(), {
        "xl/worksheets/sheet1.xml": cached, "xl/workbook.xml": referenced,
        "xl/_rels/workbook.xml.rels": related, "[Content_Types].xml": typed,
    }, extra={"xl/externalLinks/externalLink1.xml": EXTERNAL_LINK_PART,
              "xl/externalLinks/_rels/externalLink1.xml.rels": EXTERNAL_LINK_RELS})
    expected = {
        "format": "xlsx",
        "features": ["external-links", "formulas", "cached-values"],
        "text_blocks": ["Price from the other workbook", "Local note", "kept as typed"],
        "facts": {"sheets": 1, "visible_sheets": 1},
        "sheets": ["Linked"],
    }
    return data, expected


PACKAGE_PROBES = {
    "word-chart.docx": build_chart_docx,
    "deck-media.pptx": build_media_pptx,
    "sheet-external-link.xlsx": build_external_link_xlsx,
}
