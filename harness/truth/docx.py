"""Word documents through python-docx: body, tables, text boxes, headers, footers, notes."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.part import PartFactory
from docx.oxml.ns import qn
from docx.package import Package
from docx.parts.document import DocumentPart
from lxml import etree

from harness.truth import SourceTruth
from harness.truth.container import SAFE_XML, check_zip, microsoft_page_count

FORMATS = ("docx", "docm", "dotx", "dotm")
# python-docx opens only plain .docx; macro-enabled documents and templates share its parts.
_OOXML = "application/vnd.openxmlformats-officedocument.wordprocessingml"
for _content_type in ("application/vnd.ms-word.document.macroEnabled.main+xml",
                      f"{_OOXML}.template.main+xml",
                      "application/vnd.ms-word.template.macroEnabledTemplate.main+xml"):
    PartFactory.part_type_for.setdefault(_content_type, DocumentPart)
_P, _T = qn("w:p"), qn("w:t")
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_PICTURE = "{http://schemas.openxmlformats.org/drawingml/2006/picture}pic"


def paragraph_texts(root: etree._Element) -> list[str]:
    """Text of each paragraph under root, each run counted once.

    A text box is a paragraph inside a paragraph, and Word stores it twice (the DrawingML
    choice and a VML fallback): text belongs to its nearest paragraph, fallbacks are skipped.
    """
    blocks: dict[etree._Element, list[str]] = {}
    for t in root.iter(_T):
        owner, node = None, t.getparent()
        while node is not None:
            if node.tag == _FALLBACK:
                owner = None
                break
            if owner is None and node.tag == _P:
                owner = node
            node = node.getparent()
        else:
            if owner is not None and t.text:
                blocks.setdefault(owner, []).append(t.text)
    return [text for parts in blocks.values() if (text := "".join(parts).strip())]


def _notes(document: docx.document.Document, reltype: str, tag: str) -> list[str]:
    texts: list[str] = []
    for rel in document.part.rels.values():
        if rel.reltype == reltype and not rel.is_external:
            root = etree.fromstring(rel.target_part.blob, parser=SAFE_XML)
            for note in root.iter(qn(tag)):
                if note.get(qn("w:type")) in (None, "normal"):
                    texts.extend(paragraph_texts(note))
    return texts


def _headers_footers(document: docx.document.Document) -> list[str]:
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
                texts.extend(paragraph_texts(part._element))
    return texts


def read(path: Path) -> SourceTruth:
    check_zip(path)
    document = Package.open(str(path)).main_document_part.document
    body = document.element.body
    blocks = paragraph_texts(body) + _headers_footers(document)
    footnotes = _notes(document, RT.FOOTNOTES, "w:footnote")
    endnotes = _notes(document, RT.ENDNOTES, "w:endnote")
    pages, ignored = microsoft_page_count(path)
    return SourceTruth(
        reader=f"python-docx {version('python-docx')}",
        text_blocks=tuple(blocks + footnotes + endnotes),
        expected_pages=pages,
        expected_pages_source="Word's page count (docProps/app.xml)" if pages else None,
        facts={
            "paragraphs": sum(1 for _ in body.iter(_P)),
            "tables": sum(1 for _ in body.iter(qn("w:tbl"))),
            "images": sum(1 for _ in body.iter(_PICTURE)),
            "footnotes": len(footnotes),
            "endnotes": len(endnotes),
            "sections": len(document.sections),
            **({"word_page_count_ignored": ignored} if ignored else {}),
        },
    )
