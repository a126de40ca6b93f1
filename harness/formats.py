"""Every file format the harness knows, in one table: its family, its OOXML main part,
which source-truth reader reads it, and whether a corpus folder's file of it is swept.
Discovery, the truth readers and the suites derive what they accept from here.

Imports nothing of the harness or the suites, so both can import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

WORD, SPREADSHEET, PRESENTATION = "word", "spreadsheet", "presentation"
FAMILY_NAMES = (WORD, SPREADSHEET, PRESENTATION)


@dataclass(frozen=True)
class Format:
    extension: str
    family: str
    main_part: str | None  # the part without which a package is not a document of its kind
    reader: str | None  # the harness.truth module that reads it; None: no source truth
    swept: bool  # a corpus folder's file with this extension is a document to sweep


_OOXML = {WORD: "word/document.xml", SPREADSHEET: "xl/workbook.xml",
          PRESENTATION: "ppt/presentation.xml"}
_ODF_PART = "content.xml"


def _ooxml(family: str, reader: str, *extensions: str) -> tuple[Format, ...]:
    return tuple(Format(e, family, _OOXML[family], reader, True) for e in extensions)


FORMATS: tuple[Format, ...] = (
    *_ooxml(WORD, "docx", "docx", "docm", "dotx", "dotm"),
    *_ooxml(SPREADSHEET, "xlsx", "xlsx", "xlsm", "xltx", "xltm"),
    *_ooxml(PRESENTATION, "pptx", "pptx", "pptm", "potx", "potm", "ppsx"),
    *(Format(e, f, None, "legacy", True) for e, f in (
        ("doc", WORD), ("dot", WORD), ("xls", SPREADSHEET), ("xlt", SPREADSHEET),
        ("ppt", PRESENTATION), ("pot", PRESENTATION), ("pps", PRESENTATION))),
    # Opened by suites and written by their saves, but not swept from a corpus folder.
    Format("odt", WORD, _ODF_PART, "odf", False),
    Format("ods", SPREADSHEET, _ODF_PART, "odf", False),
    Format("odp", PRESENTATION, _ODF_PART, "odf", False),
    Format("rtf", WORD, None, None, False),
    Format("csv", SPREADSHEET, None, None, False),
)
BY_EXTENSION: Mapping[str, Format] = MappingProxyType({f.extension: f for f in FORMATS})

# What each save task writes, by the source's family ("show" always writes a PDF).
SAVE_TARGETS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "save": {WORD: "docx", SPREADSHEET: "xlsx", PRESENTATION: "pptx"},
    "save-odf": {WORD: "odt", SPREADSHEET: "ods", PRESENTATION: "odp"},
    "save-recalc": {SPREADSHEET: "xlsx"},
})

# Extension -> family, for the formats a corpus sweep takes.
FAMILIES: Mapping[str, str] = MappingProxyType(
    {f.extension: f.family for f in FORMATS if f.swept})
SWEPT = frozenset(FAMILIES)
# The OOXML main part -> the family its package is, whatever the file's name says.
OOXML_MAIN_PARTS: Mapping[str, str] = MappingProxyType({p: f for f, p in _OOXML.items()})


# Microsoft's rendering of a document, kept beside it: the reference every suite is held to.
REFERENCE_SUFFIX = ".reference.pdf"


def reference_for(document: Path) -> Path:
    return document.with_name(document.stem + REFERENCE_SUFFIX)


def _normal(extension: str) -> str:
    return extension.lower().lstrip(".")


def family(extension: str) -> str | None:
    """``word``, ``spreadsheet`` or ``presentation``; None for an extension not known."""
    known = BY_EXTENSION.get(_normal(extension))
    return known.family if known else None


def target_extension(task: str, source_extension: str) -> str | None:
    """The extension a task (a Task, or its value: show, save...) writes, None when it has
    no target."""
    if task == "show":
        return "pdf"
    kind = family(source_extension)
    return SAVE_TARGETS[task].get(kind) if kind else None


def main_part(extension: str) -> str | None:
    known = BY_EXTENSION.get(_normal(extension))
    return known.main_part if known else None


def extensions(*families: str, without: frozenset[str] = frozenset()) -> frozenset[str]:
    """Every known extension of the families (all when none is named), less ``without``."""
    wanted = set(families or FAMILY_NAMES)
    return frozenset(f.extension for f in FORMATS if f.family in wanted) - without


def readers() -> dict[str, str]:
    """Extension -> the harness.truth module that reads it."""
    return {f.extension: f.reader for f in FORMATS if f.reader}
