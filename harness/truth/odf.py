"""OpenDocument files, as suites save them back: text per paragraph, sheets and slides.

Read straight from content.xml with the safe parser; enough to check a save-back against
the source's truth, not a general ODF reader.
"""

from __future__ import annotations

import re
import zipfile
from copy import deepcopy
from pathlib import Path

from lxml import etree

from harness.errors import SourceError
from harness.truth.model import Expectation, SourceTruth
from harness.truth.container import SAFE_XML, check_zip

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_PRESENTATION = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
_BLOCKS = {f"{{{_TEXT}}}p", f"{{{_TEXT}}}h"}
_SPACES = {f"{{{_TEXT}}}s", f"{{{_TEXT}}}tab", f"{{{_TEXT}}}line-break"}
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
# Not part of the page: speaker notes, deleted text kept for tracking, comments.
_SKIPPED = {f"{{{_PRESENTATION}}}notes", f"{{{_TEXT}}}tracked-changes",
            f"{{{_OFFICE}}}annotation"}


def _own_text(element: etree._Element, nested: list[etree._Element]) -> str:
    """A paragraph's text; paragraphs nested in it (frames, notes) are collected apart, and
    what is kept off the page (comments) is left out."""
    parts = [element.text or ""]
    for child in element:
        if child.tag in _BLOCKS:
            nested.append(child)
        elif child.tag in _SPACES:
            parts.append(" ")
        elif isinstance(child.tag, str) and child.tag not in _SKIPPED:
            parts.append(_own_text(child, nested))
        parts.append(child.tail or "")
    return "".join(parts)


def _blocks(root: etree._Element) -> list[str]:
    blocks: list[str] = []

    def paragraph(element: etree._Element) -> None:
        nested: list[etree._Element] = []
        text = " ".join(_own_text(element, nested).split())
        if text:
            blocks.append(text)
        for inner in nested:
            paragraph(inner)

    def visit(element: etree._Element) -> None:
        for child in element:
            if not isinstance(child.tag, str) or child.tag in _SKIPPED:
                continue
            if child.tag in _BLOCKS:
                paragraph(child)
            else:
                visit(child)

    visit(root)
    return blocks


def _styles(package: zipfile.ZipFile) -> etree._Element | None:
    """styles.xml, where ODF keeps page headers and footers and image fills."""
    try:
        return etree.fromstring(package.read("styles.xml"), parser=SAFE_XML)
    except KeyError:
        return None


def _headers_and_footers(styles: etree._Element | None) -> list[str]:
    """Text of the page headers and footers."""
    if styles is None:
        return []
    blocks: list[str] = []
    for element in styles.iter(f"{{{_STYLE}}}*"):
        name = etree.QName(element).localname
        if name.startswith(("header", "footer")) and not name.endswith(("-style", "-properties")):
            blocks.extend(_blocks(element))
    return blocks


_MATHML = "http://www.w3.org/1998/Math/MathML"
_OBJECT = re.compile(r"^Object[^/]*/content\.xml$")


def _formulas(package: zipfile.ZipFile) -> list[str]:
    """Equations, which ODF keeps as embedded Math objects (MathML) beside content.xml."""
    found = []
    for name in package.namelist():
        if _OBJECT.match(name) and package.getinfo(name).file_size < 8 * 1024 * 1024:
            try:
                root = etree.fromstring(package.read(name), parser=SAFE_XML)
            except etree.XMLSyntaxError:
                continue
            if root.tag == f"{{{_MATHML}}}math":
                shown = [t for el in root.iter() if isinstance(el.tag, str)
                         and etree.QName(el).localname in ("mi", "mn", "mo", "mtext")
                         for t in [el.text] if t]
                if shown:
                    found.append(" ".join(shown))
    return found


def read(path: Path) -> SourceTruth:
    check_zip(path)
    try:
        with zipfile.ZipFile(path) as package:
            root = etree.fromstring(package.read("content.xml"), parser=SAFE_XML)
            styles = _styles(package)
            formulas = _formulas(package)
    except KeyError:
        raise SourceError("could not read: the package has no content.xml") from None
    body = root.find(f"{{{_OFFICE}}}body")
    if body is None:
        raise SourceError("could not read: content.xml has no office:body")
    margins = _headers_and_footers(styles)
    fills = len(styles.findall(f".//{{{_DRAW}}}fill-image")) if styles is not None else 0
    facts: dict[str, int | str | bool] = {
        "tables": len(body.findall(f".//{{{_TABLE}}}table")),
        # Pictures, and backgrounds or shapes filled with one (kept as styles in ODF).
        "images": len(body.findall(f".//{{{_DRAW}}}image")) + fills
        + len(root.findall(f".//{{{_DRAW}}}fill-image")),
    }
    slides = body.findall(f".//{{{_DRAW}}}page")
    if slides:
        facts["slides"] = len(slides)
    return SourceTruth(reader="odf content.xml",
                       text_blocks=tuple(margins + _blocks(body) + formulas),
                       facts=facts, numeric_tokens_unreliable=path.suffix.lower() == ".ods",
                       hidden=tuple(_kept_off_page(body)))


# Text the file keeps off the page: a save must not lose it.
_OFF_PAGE = {f"{{{_PRESENTATION}}}notes": "notes", f"{{{_OFFICE}}}annotation": "comments",
             f"{{{_TEXT}}}tracked-changes": "tracked-changes"}


def _kept_off_page(body: etree._Element) -> list[Expectation]:
    found = []
    for tag, feature in _OFF_PAGE.items():
        for n, element in enumerate(body.iter(tag), start=1):
            wrapper = etree.Element("wrapper")
            wrapper.extend(deepcopy(child) for child in element)
            if text := " ".join(_blocks(wrapper)):
                found.append(Expectation(feature, f"{feature} {n}", (text,)))
    return found
