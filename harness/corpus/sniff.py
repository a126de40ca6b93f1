"""What a file's first bytes say it is, and whether that is a container its extension's
family can be: a plain text or HTML file named .docx, or a PDF named .xlsx, is no Office
document and is not given to a suite as one.

Only kinds recognised positively are refused. Bytes nothing here recognises (Word 2 or
BIFF4 files, which predate OLE2, or a corrupt package) go on to the suites as before,
whose failure is then the answer. A package of the wrong kind (a deck named .docx) is a
container of the family's kind and is left to the source-truth readers, which name it
("wrong extension").
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

HEAD_BYTES = 4096

ZIP = "a ZIP package"
OLE2 = "an OLE2 compound file"
RTF = "RTF"
XML = "XML"
KINDS_BY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", ZIP), (b"PK\x05\x06", ZIP), (b"PK\x07\x08", ZIP),
    (bytes.fromhex("d0cf11e0a1b11ae1"), OLE2),
    (b"{\\rtf", RTF),
    (b"%PDF-", "a PDF"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"), (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "gzip data"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"), (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
)
# OOXML and ODF are ZIP packages, and an encrypted OOXML package is an OLE2 file; the legacy
# binaries are OLE2. Either container under either kind of name is a real Office document
# with a misleading extension, which Office opens by its bytes, so both stay. Word also
# opens RTF under .doc (old tools and web exports write it), and Word and Excel open their
# 2003 XML formats under .doc and .xls, so those stay too; HTML under any name is a web
# page, whose rendering says nothing of a suite's Office filters.
LEGACY = frozenset({"doc", "dot", "xls", "xlt", "ppt", "pot", "pps"})
LEGACY_WORD = frozenset({"doc", "dot"})


def kind_of(head: bytes) -> str | None:
    """What these leading bytes are, or None when nothing here recognises them."""
    if not head:
        return "an empty file"
    for magic, kind in KINDS_BY_MAGIC:
        if head.startswith(magic):
            return kind
    text = _as_text(head)
    if text is None:
        return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html", "<head", "<body", "<meta", "<table")):
        return "HTML"
    if start.startswith("<?xml"):
        return "HTML" if "<html" in start else XML
    return "plain text"


def _as_text(head: bytes) -> str | None:
    """The bytes as text when they look like text: no NUL, decodable, printable."""
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not a character cut at the end of the head
            try:
                text = head.decode("cp1252")
            except UnicodeDecodeError:
                return None
        else:
            text = head[:exc.start].decode("utf-8")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f")
    return text if controls <= len(text) // 100 else None


def accepts(fmt: str, kind: str | None) -> bool:
    """Whether a file of this kind may be what a `.fmt` name says."""
    if kind in (None, ZIP, OLE2):
        return True  # unrecognised bytes are the suites' to judge; OLE2 may be encrypted
    if fmt in LEGACY_WORD and kind == RTF:
        return True
    return fmt in LEGACY and kind == XML


def container_problem(path: Path, fmt: str) -> str | None:
    """Why this regular file is not an Office document of its extension's family, or None.

    The caller has checked with lstat that it is a regular file: opening a FIFO blocks."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        return "not a regular file"
    with path.open("rb") as fh:
        kind = kind_of(fh.read(HEAD_BYTES))
    if accepts(fmt, kind):
        return None
    return f"not an Office document: {kind.removeprefix('a ').removeprefix('an ')}"
