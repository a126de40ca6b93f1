"""More probes: one per family for the features the first three do not exercise.

Authored with python-docx, openpyxl and python-pptx, and raw OOXML where they cannot
(tracked changes, endnotes, equations, fields, text boxes, columns, transitions,
animations). ``features`` in each expectation are the tags ``harness.corpus.features``
must detect; ``text_blocks`` what a faithful rendering shows.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import docx
import openpyxl
import pptx
from docx.enum.section import WD_SECTION
from docx.oxml import parse_xml
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.util import Cm

from harness.corpus.base_probes import (FIXED_DATE, normalise_zip, add_note_reference,
                                    add_notes_part)

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_M = "http://schemas.openxmlformats.org/officeDocument/2006/math"
_V = "urn:schemas-microsoft-com:vml"
_NS = f'xmlns:w="{_W}"'

REVIEW = {
    "heading": "Fidelity probe: review and layout features",
    "toc": "Contents entry kept from the last update",
    "commented": "This sentence carries a reviewer comment.",
    "comment": "Reviewer remark kept out of the printed page.",
    "tracked": "Tracked sentence with",
    "inserted": "inserted words",
    "deleted": "removed words",
    "endnote_anchor": "This sentence carries an endnote.",
    "endnote": "Endnote text written as a raw part.",
    "equation_intro": "An equation follows.",
    "field": "Page field:",
    "text_box": "Words inside a text box",
    "outer": "Outer cell", "inner": "Inner nested cell",
    "cjk": "中文段落测试",
    "rtl": "שלום עולם",
    "columns": ["Left column words flow here.", "Right column words flow here."],
}


def _run(text: str) -> str:
    return f'<w:r {_NS}><w:t xml:space="preserve">{text}</w:t></w:r>'


def build_review_docx() -> tuple[bytes, dict[str, Any]]:
    t = REVIEW
    document = docx.Document()
    document.core_properties.created = document.core_properties.modified = FIXED_DATE
    toc = document.add_paragraph()
    for xml in ('<w:r {ns}><w:fldChar w:fldCharType="begin"/></w:r>',
                '<w:r {ns}><w:instrText xml:space="preserve"> TOC \\o "1-3" \\h </w:instrText></w:r>',
                '<w:r {ns}><w:fldChar w:fldCharType="separate"/></w:r>',
                _run(t["toc"]).replace(f"<w:r {_NS}>", "<w:r {ns}>"),
                '<w:r {ns}><w:fldChar w:fldCharType="end"/></w:r>'):
        toc._p.append(parse_xml(xml.format(ns=_NS)))
    document.add_heading(t["heading"], level=1)
    commented = document.add_paragraph(t["commented"])
    document.add_comment(commented.runs, text=t["comment"], author="Probe", initials="P")
    tracked = document.add_paragraph(t["tracked"] + " ")
    tracked._p.append(parse_xml(f'<w:ins {_NS} w:id="101" w:author="Probe" '
                                f'w:date="2024-01-01T00:00:00Z">{_run(t["inserted"])}</w:ins>'))
    tracked._p.append(parse_xml(
        f'<w:del {_NS} w:id="102" w:author="Probe" w:date="2024-01-01T00:00:00Z"><w:r>'
        f'<w:delText xml:space="preserve"> {t["deleted"]}</w:delText></w:r></w:del>'))
    anchor = document.add_paragraph(t["endnote_anchor"])
    add_note_reference(anchor, "endnote")
    add_notes_part(document, "endnote", t["endnote"])
    document.add_paragraph(t["equation_intro"])._p.append(parse_xml(
        f'<m:oMath xmlns:m="{_M}"><m:r><m:t>x=a+b</m:t></m:r></m:oMath>'))
    field = document.add_paragraph(t["field"] + " ")
    field._p.append(parse_xml(f'<w:fldSimple {_NS} w:instr=" PAGE ">{_run("1")}</w:fldSimple>'))
    box = document.add_paragraph()
    box._p.append(parse_xml(
        f'<w:r {_NS} xmlns:v="{_V}"><w:pict><v:shape style="width:200pt;height:40pt" '
        f'stroked="t"><v:textbox><w:txbxContent><w:p>{_run(t["text_box"])}</w:p>'
        '</w:txbxContent></v:textbox></v:shape></w:pict></w:r>'))
    outer = document.add_table(rows=1, cols=2)
    outer.style = "Table Grid"
    outer.cell(0, 0).text = t["outer"]
    inner = outer.cell(0, 1).add_table(rows=1, cols=1)
    inner.cell(0, 0).text = t["inner"]
    document.add_paragraph(t["cjk"])
    rtl = document.add_paragraph(t["rtl"])
    rtl._p.get_or_add_pPr().append(parse_xml(f'<w:bidi {_NS}/>'))
    section = document.add_section(WD_SECTION.CONTINUOUS)
    section._sectPr.append(parse_xml(f'<w:cols {_NS} w:num="2" w:space="720"/>'))
    for text in t["columns"]:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    expected = {
        "format": "docx",
        "features": ["comments", "tracked-changes", "endnotes", "equation", "fields",
                     "table-of-contents",
                     "text-boxes", "table", "nested-tables", "cjk", "right-to-left",
                     "sections", "columns"],
        "text_blocks": [t["toc"], t["heading"], t["commented"], f'{t["tracked"]} {t["inserted"]}',
                        t["endnote_anchor"], t["equation_intro"], f'{t["field"]} 1',
                        t["text_box"], t["outer"], t["inner"], t["cjk"], t["rtl"],
                        *t["columns"], t["endnote"]],
        "hidden_text": [t["comment"], t["deleted"]],
        "facts": {"tables": 2, "endnotes": 1, "footnotes": 0, "sections": 2},
    }
    fixed_date = (lambda xml: re.sub(rb'w:date="[^"]*"', b'w:date="2024-01-01T00:00:00Z"', xml))
    return normalise_zip(out.getvalue(), {"word/comments.xml": fixed_date}), expected


def build_analysis_xlsx() -> tuple[bytes, dict[str, Any]]:
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = FIXED_DATE
    sheet = book.active
    sheet.title = "Scores"
    rows = [("Team", "Score"), ("Red", 12), ("Blue", 30), ("Green", 21)]
    for row in rows:
        sheet.append(row)
    sheet.column_dimensions["A"].width = 14
    sheet["A1"].comment = Comment("Note on the header cell", "Probe")
    sheet.conditional_formatting.add("B2:B4", CellIsRule(
        operator="greaterThan", formula=["20"], fill=PatternFill("solid", fgColor="FFC7CE")))
    rule = DataValidation(type="whole", operator="between", formula1="0", formula2="100")
    sheet.add_data_validation(rule)
    rule.add("B2:B4")
    book.defined_names["ScoreRange"] = DefinedName("ScoreRange", attr_text="Scores!$B$2:$B$4")
    chart = BarChart()
    chart.title = "Scores by team"
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=4))
    sheet.add_chart(chart, "D2")
    hidden = book.create_sheet("Hidden")
    hidden["A1"] = "Hidden sheet text"
    hidden.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    expected = {
        "format": "xlsx",
        "features": ["comments", "conditional-formatting", "data-validation", "defined-names",
                     "charts", "multiple-sheets", "hidden-sheets"],
        "text_blocks": ["Team", "Score", "Red", "Blue", "Green"],
        "hidden_text": ["Hidden sheet text"],
        "facts": {"sheets": 2, "visible_sheets": 1},
    }
    return normalise_zip(out.getvalue()), expected


_P = "http://schemas.openxmlformats.org/presentationml/2006/main"


def build_motion_pptx() -> tuple[bytes, dict[str, Any]]:
    deck = pptx.Presentation()
    deck.core_properties.created = deck.core_properties.modified = FIXED_DATE
    layout = deck.slide_layouts[5]
    slide = deck.slides.add_slide(layout)
    slide.shapes.title.text = "Chart slide"
    data = CategoryChartData()
    data.categories = ["North", "South"]
    data.add_series("Sales", (40, 60))
    slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Cm(3), Cm(5), Cm(18), Cm(10), data)
    slide.notes_slide.notes_text_frame.text = "Speaker notes stay off the slide"
    moving = deck.slides.add_slide(layout)
    moving.shapes.title.text = "Animated slide"
    box = moving.shapes.add_textbox(Cm(3), Cm(6), Cm(16), Cm(3))
    box.text_frame.text = "This text box fades in"
    shape_id = box.shape_id
    # p:transition, then p:timing, after p:clrMapOvr: the order the schema requires.
    moving._element.append(parse_xml(f'<p:transition xmlns:p="{_P}"><p:fade/></p:transition>'))
    moving._element.append(parse_xml(
        f'<p:timing xmlns:p="{_P}"><p:tnLst><p:par><p:cTn id="1" dur="indefinite" '
        'restart="never" nodeType="tmRoot"><p:childTnLst><p:seq concurrent="1" '
        'nextAc="seek"><p:cTn id="2" dur="indefinite" nodeType="mainSeq"><p:childTnLst>'
        '<p:par><p:cTn id="3" fill="hold"><p:stCondLst><p:cond delay="indefinite"/>'
        '</p:stCondLst><p:childTnLst><p:par><p:cTn id="4" fill="hold"><p:stCondLst>'
        '<p:cond delay="0"/></p:stCondLst><p:childTnLst><p:par><p:cTn id="5" '
        'presetID="10" presetClass="entr" presetSubtype="0" fill="hold" '
        'nodeType="clickEffect"><p:stCondLst><p:cond delay="0"/></p:stCondLst>'
        '<p:childTnLst><p:set><p:cBhvr><p:cTn id="6" dur="1" fill="hold"><p:stCondLst>'
        '<p:cond delay="0"/></p:stCondLst></p:cTn><p:tgtEl><p:spTgt '
        f'spid="{shape_id}"/></p:tgtEl><p:attrNameLst><p:attrName>style.visibility'
        '</p:attrName></p:attrNameLst></p:cBhvr><p:to><p:strVal val="visible"/></p:to>'
        '</p:set></p:childTnLst></p:cTn></p:par></p:childTnLst></p:cTn></p:par>'
        '</p:childTnLst></p:cTn></p:par></p:childTnLst></p:cTn><p:prevCondLst><p:cond '
        'evt="onPrev" delay="0"><p:tgtEl><p:sldTgt/></p:tgtEl></p:cond></p:prevCondLst>'
        '<p:nextCondLst><p:cond evt="onNext" delay="0"><p:tgtEl><p:sldTgt/></p:tgtEl>'
        '</p:cond></p:nextCondLst></p:seq></p:childTnLst></p:cTn></p:par></p:tnLst>'
        '</p:timing>'))
    out = io.BytesIO()
    deck.save(out)
    # The chart's data travels as an embedded workbook with its own timestamps.
    embedded = {name: normalise_zip for name in zipfile.ZipFile(out).namelist()
                if name.startswith("ppt/embeddings/") and name.endswith(".xlsx")}
    expected = {
        "format": "pptx",
        "features": ["charts", "notes", "transitions", "animations"],
        "text_blocks": ["Chart slide", "Animated slide", "This text box fades in"],
        "hidden_text": ["Speaker notes stay off the slide"],
        "expected_pages": 2,
        "facts": {"slides": 2, "hidden_slides": 0},
    }
    return normalise_zip(out.getvalue(), embedded), expected



MORE_PROBES = {
    "word-review.docx": build_review_docx,
    "sheet-analysis.xlsx": build_analysis_xlsx,
    "deck-motion.pptx": build_motion_pptx,
}
