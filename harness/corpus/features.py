"""Which features a document exercises, read from its parts (never from its name).

OOXML packages are checked for zip bombs first, then their parts are streamed through the
safe XML parser and matched against a table of element names and attributes; legacy
binaries are opened with olefile. Detection never raises: what could not be read becomes an
``error:*`` tag beside whatever was found.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path

import olefile
from lxml import etree

from harness.corpus import part_content as content
from harness.errors import SourceError
from harness.truth.container import check_zip

MAX_PART_BYTES = 64 * 1024 * 1024  # a part larger than this is not scanned (error tag)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
M = "http://schemas.openxmlformats.org/officeDocument/2006/math"

# (namespace, local name) of an element -> the tag it proves.
_ELEMENTS = {
    (W, "tbl"): "table", (A, "tbl"): "table", (W, "gridSpan"): "merged-cells",
    (W, "vMerge"): "merged-cells", (S, "mergeCell"): "merged-cells",
    (A, "gridSpan"): "merged-cells", (A, "rowSpan"): "merged-cells",
    (M, "oMath"): "equation", (W, "footnoteReference"): "footnotes",
    (W, "endnoteReference"): "endnotes",
    (W, "ins"): "tracked-changes", (W, "del"): "tracked-changes",
    (W, "moveFrom"): "tracked-changes", (W, "moveTo"): "tracked-changes",
    (W, "fldSimple"): "fields", (W, "fldChar"): "fields", (W, "txbxContent"): "text-boxes",
    (W, "bidi"): "right-to-left", (W, "rtl"): "right-to-left",
    (W, "embedRegular"): "embedded-fonts", (A, "blip"): "images",
    (S, "f"): "formulas", (S, "conditionalFormatting"): "conditional-formatting",
    (S, "dataValidation"): "data-validation", (S, "definedName"): "defined-names",
    (S, "numFmt"): "custom-number-formats", (P, "transition"): "transitions",
    (P, "timing"): "animations", (A, "videoFile"): "media", (A, "audioFile"): "media",
    (P, "embeddedFont"): "embedded-fonts",
}
# Part name patterns -> tag, and what a used part of that name must hold to prove it.
# None: any bytes do (a picture or a sound is not opened to be counted).
_PARTS: tuple[tuple[re.Pattern[str], str, Callable[[bytes, set[str]], bool] | None], ...] = (
    (re.compile(r"(^|/)charts/chart\d*\.xml$"), "charts", None),
    (re.compile(r"(^|/)diagrams/data\d*\.xml$"), "smartart", content.smartart_nodes),
    (re.compile(r"(^|/)comments\d*\.xml$|(^|/)comments/|(^|/)threadedComments/"), "comments",
     content.any_comment),
    (re.compile(r"^word/(header|footer)\d*\.xml$"), "headers-footers", content.header_content),
    (re.compile(r"vbaProject\.bin$"), "macros", content.vba_project),
    (re.compile(r"(^|/)pivotTables/"), "pivot-tables", content.root_named("pivotTableDefinition")),
    (re.compile(r"(^|/)externalLinks/[^/]+\.xml$"), "external-links", content.linked_book),
    (re.compile(r"(^|/)notesSlides/"), "notes", content.notes_text),
    (re.compile(r"(^|/)media/.*\.(mp4|m4v|mov|avi|wmv|mp3|wav|wma|m4a)$", re.I), "media",
     None),
    (re.compile(r"(^|/)media/.*\.(png|jpe?g|gif|bmp|tiff?|emf|wmf|svg)$", re.I), "images",
     None),
    (re.compile(r"(^|/)fonts/.*\.(odttf|ttf|fntdata)$", re.I), "embedded-fonts",
     None),
    (re.compile(r"^xl/tables/"), "table", content.root_named("table")),
    (re.compile(r"^ppt/slide(Masters|Layouts)/[^/]+\.xml$"), "masters-and-layouts",
     content.master_content),
)
_SCANNED = re.compile(r"^(word/(document|footnotes|endnotes|header\d*|footer\d*)\.xml"
                      r"|xl/(workbook|styles|sharedStrings)\.xml|xl/worksheets/sheet\d*\.xml"
                      r"|ppt/presentation\.xml|ppt/slides/slide\d+\.xml)$")
LEGACY = {"doc", "dot", "xls", "xlt", "ppt", "pot", "pps"}
# Tags set by the code below rather than by the tables above.
_HEADING_STYLE = re.compile(r"(?i)^(heading|title)")
_LIST_STYLE = re.compile(r"(?i)^list(bullet|number|paragraph)")


def _in_paragraph(element: etree._Element) -> bool:
    properties = element.getparent()
    paragraph = properties.getparent() if properties is not None else None
    return paragraph is not None and paragraph.tag == f"{{{W}}}p"


_DERIVED = {"headings", "lists", "nested-tables", "sections", "columns", "table-of-contents", "cjk",
            "cached-values", "hidden-sheets", "hidden-slides", "multiple-sheets",
            "external-links", "legacy-binary", "encrypted"}
KNOWN_FEATURES = frozenset(_ELEMENTS.values()) | {t for _, t, _ in _PARTS} | _DERIVED


@dataclass(frozen=True)
class Features:
    tags: frozenset[str]

    @property
    def errors(self) -> list[str]:
        return sorted(t for t in self.tags if t.startswith("error:"))


def detect(path: Path, fmt: str | None = None) -> Features:
    """The feature tags of one document; never raises for anything the file contains."""
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    tags: set[str] = set()
    try:
        if fmt in LEGACY:
            _legacy(path, tags)
        else:
            _package(path, tags)
    except (OSError, SourceError, zipfile.BadZipFile, ValueError, KeyError) as exc:
        tags.add(_error_tag(exc))
    except Exception:  # noqa: BLE001 - a parser's surprise must not stop a corpus scan
        tags.add("error:unreadable")
    return Features(frozenset(tags))


def _error_tag(exc: Exception) -> str:
    text = str(exc)
    if "zip bomb" in text or "refused" in text:
        return "error:refused-container"
    if "0 bytes" in text:
        return "error:empty-file"
    if "not a zip" in text or isinstance(exc, zipfile.BadZipFile):
        return "error:not-a-package"
    return "error:unreadable"


def _legacy(path: Path, tags: set[str]) -> None:
    tags.add("legacy-binary")
    if not olefile.isOleFile(str(path)):
        tags.add("error:not-an-ole-file")
        return
    with olefile.OleFileIO(str(path)) as ole:
        streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True,
                                                                   storages=True)}
    if any(s.startswith(("macros", "_vba_project_cur", "vba")) or "/vba" in s
           for s in streams):
        tags.add("macros")
    if "encryptioninfo" in streams or "encryptedpackage" in streams:
        tags.add("encrypted")


def _package(path: Path, tags: set[str]) -> None:
    if olefile.isOleFile(str(path)):  # an encrypted OOXML is an OLE container
        tags.add("encrypted")
        return
    check_zip(path)
    with zipfile.ZipFile(path) as zipped:
        package = content.Package.open(zipped, lambda info: _read(zipped, info, tags), tags)
        used = sorted(package.reachable)  # parts nothing uses prove nothing
        for name in used:
            for pattern, tag, proves in _PARTS:
                if tag not in tags and pattern.search(name) and package.holds(name, proves):
                    tags.add(tag)
        if sum(1 for n in used if re.match(r"^xl/worksheets/sheet\d*\.xml$", n)) > 1:
            tags.add("multiple-sheets")
        if package.used_external():
            tags.add("external-links")
        for name in used:
            if _SCANNED.match(name):
                data = package.part(name)
                if data:
                    _scan(data, name, tags)


def _read(package: zipfile.ZipFile, info: zipfile.ZipInfo, tags: set[str]) -> bytes | None:
    if info.file_size > MAX_PART_BYTES:
        tags.add("error:part-too-large")
        return None
    return package.read(info)


def _scan(data: bytes, part: str, tags: set[str]) -> None:
    sections = 0
    table_depth = 0
    for element in content.elements(data, tags):
        namespace, local = content.local(element)
        found = _ELEMENTS.get((namespace, local))
        if found:
            tags.add(found)
        if namespace == W:
            if local == "tbl":
                table_depth = sum(1 for a in element.iterancestors(f"{{{W}}}tbl")) + 1
                if table_depth > 1:
                    tags.add("nested-tables")
            elif local == "sectPr":
                sections += 1
            elif local == "cols" and int(element.get(f"{{{W}}}num", "1") or 1) > 1:
                tags.add("columns")
            elif local == "instrText" and "TOC" in (element.text or ""):
                tags.add("table-of-contents")
            elif local == "pStyle" and _HEADING_STYLE.match(element.get(f"{{{W}}}val", "")):
                tags.add("headings")
            elif local == "pStyle" and _LIST_STYLE.match(element.get(f"{{{W}}}val", "")):
                tags.add("lists")
            elif local == "numPr" and _in_paragraph(element):  # styles.xml has numPr too
                tags.add("lists")
            elif local == "t":
                _script(element.text, tags)
        elif local == "t" and namespace in (S, A):
            _script(element.text, tags)
        elif namespace == S and local == "c" and element.find(f"{{{S}}}f") is not None:
            if element.find(f"{{{S}}}v") is not None:
                tags.add("cached-values")
        elif namespace == S and local == "sheet" and element.get("state") in ("hidden",
                                                                           "veryHidden"):
            tags.add("hidden-sheets")
        elif namespace == P and local == "sld" and element.get("show") in ("0", "false"):
            tags.add("hidden-slides")
        elif namespace == A and local == "pPr" and element.get("rtl") in ("1", "true"):
            tags.add("right-to-left")
    if sections > 1:
        tags.add("sections")


def _script(text: str | None, tags: set[str]) -> None:
    if not text:
        return
    if CJK.search(text):
        tags.add("cjk")
    if RTL.search(text):
        tags.add("right-to-left")
