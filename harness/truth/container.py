"""Checks on the OOXML zip container before any library inflates it."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from lxml import etree

from harness.errors import SourceError

MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
MAX_MEMBERS = 20_000

# No external entities, no network, no entity expansion beyond libxml2's defaults.
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           load_dtd=False)


def check_zip(path: Path) -> None:
    """Refuse containers that are not zips or would inflate past sane bounds."""
    if path.stat().st_size == 0:
        raise SourceError("could not read: the file is 0 bytes")
    if not zipfile.is_zipfile(path):
        raise SourceError("could not read: not a zip container (truncated, or another format "
                          "under an OOXML extension)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"could not read: broken zip container ({exc})") from None
    if len(members) > MAX_MEMBERS:
        raise SourceError(f"refused: {len(members)} parts in the container (limit {MAX_MEMBERS})")
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    if total > MAX_UNCOMPRESSED_BYTES or (total > 50 * 1024 * 1024
                                          and total / packed > MAX_COMPRESSION_RATIO):
        raise SourceError(f"refused: parts inflate to {total / 2**20:.0f} MiB "
                          f"(ratio {total / packed:.0f}:1), a likely zip bomb")


# Picture formats a PDF keeps as image objects; vector ones (EMF, WMF, SVG) may become paths.
RASTER_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff"})
_CHART_PART = re.compile(r"(^|/)charts/chart\d*\.xml$")


def chart_parts(path: Path) -> int:
    """Charts in an OOXML package, counted by their parts (no library reads them all)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(1 for name in archive.namelist() if _CHART_PART.search(name))
    except (zipfile.BadZipFile, OSError):
        return 0


def app_properties(path: Path) -> dict[str, str]:
    """Application name and counts from docProps/app.xml, if present and readable."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read("docProps/app.xml")
        root = etree.fromstring(data, parser=SAFE_XML)
    except (KeyError, zipfile.BadZipFile, OSError, etree.XMLSyntaxError):
        return {}
    return {etree.QName(el).localname: (el.text or "").strip()
            for el in root if isinstance(el.tag, str)}


# No legible page holds more: dense 8 pt text on A4 is about 7,000 characters, CJK far fewer.
MAX_CHARACTERS_PER_PAGE = 10_000


def microsoft_page_count(path: Path, has_text: bool = False) -> tuple[int | None, str | None]:
    """Word's own page count, or None and why it is not trusted.

    Trusted only when the file says Word wrote it, and when it is physically plausible:
    tools that generate .docx from Word's template keep its `Pages` of 1 under thousands of
    characters (Word rewrites Pages, Words and Characters together on save)."""
    props = app_properties(path)
    if "Microsoft" not in props.get("Application", ""):
        return None, None
    try:
        pages = int(props.get("Pages", ""))
    except ValueError:
        return None, None
    if pages <= 0:
        return None, None
    characters, words = (_count(props.get(name)) for name in ("Characters", "Words"))
    why = implausible_page_count(pages, characters, words, has_text)
    return (None, f"docProps/app.xml {why}") if why else (pages, None)


def _count(value: str | None) -> int:
    try:
        return int(value or "0")
    except ValueError:
        return 0


def implausible_page_count(pages: int, characters: int, words: int | None = None,
                           has_text: bool = False) -> str | None:
    if characters > pages * MAX_CHARACTERS_PER_PAGE:
        return (f"says {pages} page(s) for {characters} characters: stale, not written by "
                "Word's last save")
    if has_text and words == 0 and characters == 0:
        return (f"says {pages} page(s) and no word for a document with text: a generator's "
                "template (python-docx writes Pages=1, Words=0), not Word's count")
    return None
