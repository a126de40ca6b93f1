"""Word documents through python-docx: body, tables, text boxes, headers, footers, notes."""

from __future__ import annotations

import re
from copy import deepcopy
from importlib.metadata import version
from pathlib import Path

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.part import PartFactory
from docx.oxml.ns import qn
from docx.package import Package
from docx.parts.document import DocumentPart
from lxml import etree

from harness.truth.model import Expectation, SourceTruth
from harness.truth.container import (RASTER_EXTENSIONS, SAFE_XML, chart_parts, check_zip,
                                     microsoft_page_count)

# python-docx opens only plain .docx; macro-enabled documents and templates share its parts.
_OOXML = "application/vnd.openxmlformats-officedocument.wordprocessingml"
for _content_type in ("application/vnd.ms-word.document.macroEnabled.main+xml",
                      f"{_OOXML}.template.main+xml",
                      "application/vnd.ms-word.template.macroEnabledTemplate.main+xml"):
    PartFactory.part_type_for.setdefault(_content_type, DocumentPart)
_P, _T = qn("w:p"), qn("w:t")
_SEPARATORS = (qn("w:tab"), qn("w:ptab"), qn("w:br"), qn("w:cr"))
_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
_EMBED = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_PICTURE = "{http://schemas.openxmlformats.org/drawingml/2006/picture}pic"


def paragraph_texts(root: etree._Element) -> list[str]:
    """Text of each paragraph under root, each run counted once; tabs and breaks separate
    words.

    A text box is a paragraph inside a paragraph, and Word stores it twice (the DrawingML
    choice and a VML fallback): text belongs to its nearest paragraph, fallbacks are skipped.
    """
    blocks: dict[etree._Element, list[str]] = {}
    for t in root.iter(_T, *_SEPARATORS):
        owner, node = None, t.getparent()
        while node is not None:
            if node.tag == _FALLBACK:
                owner = None
                break
            if owner is None and node.tag == _P:
                owner = node
            node = node.getparent()
        else:
            if owner is not None:
                blocks.setdefault(owner, []).append(t.text or "" if t.tag == _T else " ")
    return [text for parts in blocks.values() if (text := " ".join("".join(parts).split()))]


_TXBX, _TBL = qn("w:txbxContent"), qn("w:tbl")
_OMATH = "{http://schemas.openxmlformats.org/officeDocument/2006/math}oMath"
_MATH_T = "{http://schemas.openxmlformats.org/officeDocument/2006/math}t"
_PPR, _NUMPR = qn("w:pPr"), qn("w:numPr")
_HEADING = re.compile(r"(?i)^(heading \d|title)\b")
COMMENTS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"


def _body_expectations(body: etree._Element) -> tuple[list[Expectation], list[Expectation]]:
    """What the body says must show (tables, text boxes, equations, inserted text) and what
    it keeps off the page (deleted text)."""
    shown: list[Expectation] = []
    hidden: list[Expectation] = []
    for n, table in enumerate(body.iter(_TBL), start=1):
        nested = any(a.tag == _TBL for a in table.iterancestors())
        text = " ".join(paragraph_texts(table))
        if text:
            shown.append(Expectation("nested-tables" if nested else "table",
                                     f"{'nested ' if nested else ''}table {n}", (text,)))
    boxes = [b for b in body.iter(_TXBX)
             if not any(a.tag == _FALLBACK for a in b.iterancestors())]
    for n, box in enumerate(boxes, start=1):
        if text := " ".join(paragraph_texts(box)):
            shown.append(Expectation("text-boxes", f"text box {n}", (text,)))
    for n, math in enumerate(body.iter(_OMATH), start=1):
        if text := "".join(t.text or "" for t in math.iter(_MATH_T)).strip():
            shown.append(Expectation("equation", f"equation {n}", (text,), by_characters=True))
    revised = [p for p in body.iter(_P) if p.find(f".//{qn('w:ins')}") is not None]
    for n, paragraph in enumerate(revised, start=1):
        if text := " ".join(paragraph_texts(paragraph)):
            shown.append(Expectation("tracked-changes", f"paragraph with inserted text {n}",
                                     (text,), where="page"))
    inserted = "".join(t.text or "" for i in body.iter(qn("w:ins")) for t in i.iter(_T))
    deleted = "".join(t.text or "" for d in body.iter(qn("w:del"))
                      for t in d.iter(qn("w:delText")))
    if inserted.strip():
        shown.append(Expectation("tracked-changes", "inserted text", (inserted,),
                                 by_characters=True, where="file"))
    if deleted.strip():
        hidden.append(Expectation("tracked-changes", "deleted text", (deleted,),
                                  by_characters=True, where="file"))
    return shown, hidden


def _headings(document: docx.document.Document) -> list[str]:
    """Text of the body's headings (Title and Heading N styles, by style name)."""
    texts = []
    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        if _HEADING.match(style or "") and paragraph.text.strip():
            texts.append(paragraph.text.strip())
    return texts


def _raster_images(document: docx.document.Document, body: etree._Element) -> int:
    """Pictures stored as bitmaps: a PDF keeps them as image objects, while vector
    pictures (EMF, WMF, SVG) may become drawings."""
    count = 0
    for blip in body.iter(_BLIP):
        part = document.part.related_parts.get(blip.get(_EMBED) or "")
        if part is not None and part.partname.ext.lower() in RASTER_EXTENSIONS:
            count += 1
    return count


def _is_list_item(paragraph) -> bool:
    """Numbered or bulleted: numbering on the paragraph, or on its style or a base style."""
    direct = paragraph._p.find(f"{_PPR}/{_NUMPR}")
    if direct is not None:  # numId 0 takes a style's numbering away
        number = direct.find(qn("w:numId"))
        return number is None or number.get(qn("w:val")) != "0"
    style, seen = paragraph.style, 0
    while style is not None and seen < 10:  # base styles may loop in a broken file
        if style.element.find(f"{_PPR}/{_NUMPR}") is not None:
            return True
        style, seen = style.base_style, seen + 1
    return False


def _related_roots(document: docx.document.Document, reltype: str) -> list[etree._Element]:
    """The parsed parts the main document refers to with this relationship type."""
    return [etree.fromstring(rel.target_part.blob, parser=SAFE_XML)
            for rel in document.part.rels.values()
            if rel.reltype == reltype and not rel.is_external]


def _comments(document: docx.document.Document) -> list[str]:
    return [text for root in _related_roots(document, COMMENTS)
            for comment in root.iter(qn("w:comment"))
            if (text := " ".join(paragraph_texts(comment)))]


def _notes(document: docx.document.Document, reltype: str, tag: str) -> list[str]:
    """The notes the body refers to: Word shows a note only where a reference mark is, so
    one left in the notes part without a reference is not on any page."""
    references = document.element.body.iter(qn(f"{tag}Reference"))
    referenced = {ref.get(qn("w:id")) for ref in references}
    return [text for root in _related_roots(document, reltype) for note in root.iter(qn(tag))
            if note.get(qn("w:type")) in (None, "normal") and note.get(qn("w:id")) in referenced
            for text in paragraph_texts(note)]


# Fields whose cached result is a snapshot of one page or one moment.
_DYNAMIC_FIELD = re.compile(r"^\s*(PAGE|NUMPAGES|SECTIONPAGES|DATE|TIME|PRINTDATE|SAVEDATE)\b",
                            re.I)


def _without_page_fields(root: etree._Element) -> etree._Element:
    """A copy of a header or footer without the results of its page-number and date fields
    ('Page 2 of 3' as Word last saw it): what a faithful rendering prints there differs."""
    root = deepcopy(root)
    for simple in list(root.iter(qn("w:fldSimple"))):
        if _DYNAMIC_FIELD.match(simple.get(qn("w:instr"), "")):
            simple.getparent().remove(simple)
    for paragraph in root.iter(_P):
        instruction, in_result, doomed = "", False, []
        for run in paragraph.iter(qn("w:r")):
            char = run.find(qn("w:fldChar"))
            kind = char.get(qn("w:fldCharType")) if char is not None else None
            if kind == "begin":
                instruction, in_result = "", False
            elif kind == "separate":
                in_result = True
            elif kind == "end":
                in_result = False
            elif in_result and _DYNAMIC_FIELD.match(instruction):
                doomed.append(run)
            instruction += "".join(t.text or "" for t in run.iter(qn("w:instrText")))
        for run in doomed:
            run.getparent().remove(run)
    return root


def _headers_footers(document: docx.document.Document) -> list[str]:
    """Text of every header and footer in use, one block per part."""
    texts: list[str] = []
    even = document.settings.odd_and_even_pages_header_footer
    for section in document.sections:
        parts = [section.header, section.footer]
        if section.different_first_page_header_footer:
            parts += [section.first_page_header, section.first_page_footer]
        if even:
            parts += [section.even_page_header, section.even_page_footer]
        for part in parts:
            if not part.is_linked_to_previous:
                if text := " ".join(paragraph_texts(_without_page_fields(part._element))):
                    texts.append(text)
    return texts


def read(path: Path) -> SourceTruth:
    check_zip(path)
    document = Package.open(str(path)).main_document_part.document
    body = document.element.body
    margins = _headers_footers(document)
    blocks = paragraph_texts(body) + margins
    footnotes = _notes(document, RT.FOOTNOTES, "w:footnote")
    endnotes = _notes(document, RT.ENDNOTES, "w:endnote")
    pages, ignored = microsoft_page_count(path, has_text=bool(blocks))
    shown, hidden = _body_expectations(body)
    headings = _headings(document)
    shown += [Expectation("headings", f"heading {n}", (t,))
              for n, t in enumerate(headings, start=1)]
    shown += [Expectation("headers-footers", f"header or footer {n}", (t,))
              for n, t in enumerate(margins, start=1)]
    shown += [Expectation("footnotes", f"footnote {n}", (t,))
              for n, t in enumerate(footnotes, start=1)]
    shown += [Expectation("endnotes", f"endnote {n}", (t,))
              for n, t in enumerate(endnotes, start=1)]
    comments = _comments(document)
    hidden += [Expectation("comments", f"comment {n}", (t,))
               for n, t in enumerate(comments, start=1)]
    return SourceTruth(
        reader=f"python-docx {version('python-docx')}",
        text_blocks=tuple(blocks + footnotes + endnotes),
        shown=tuple(shown),
        hidden=tuple(hidden),
        expected_pages=pages,
        expected_pages_source="Word's page count (docProps/app.xml)" if pages else None,
        facts={
            "paragraphs": sum(1 for _ in body.iter(_P)),
            "tables": sum(1 for _ in body.iter(qn("w:tbl"))),
            "images": sum(1 for _ in body.iter(_PICTURE)),
            "raster_images": _raster_images(document, body),
            "footnotes": len(footnotes),
            "endnotes": len(endnotes),
            "sections": len(document.sections),
            "comments": len(comments),
            "headings": len(headings),
            "list_items": sum(1 for p in document.paragraphs if _is_list_item(p)),
            "fields": sum(1 for _ in body.iter(qn("w:fldSimple")))
            + sum(1 for c in body.iter(qn("w:fldChar")) if c.get(qn("w:fldCharType")) == "begin"),
            "charts": chart_parts(path),
            "tracked_changes": sum(1 for _ in body.iter(qn("w:ins")))
            + sum(1 for _ in body.iter(qn("w:del"))),  # shown; suites split them differently
            **({"word_page_count_ignored": ignored} if ignored else {}),
        },
    )
