"""The font families an OOXML document asks for: run and style fonts, and the theme fonts
its text refers to. Compared with the fonts a suite's PDF uses (harness.compare.fonts)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from lxml import etree

from harness.truth.container import check_zip

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PARTS = re.compile(r"^(word/(document|styles|header\d*|footer\d*|footnotes|endnotes)\.xml"
                    r"|word/theme/theme\d*\.xml|xl/styles\.xml|xl/theme/theme\d*\.xml"
                    r"|ppt/(slides|slideLayouts|slideMasters|theme)/[^/]+\.xml)$")
MAX_PART_BYTES = 64 * 1024 * 1024
_RUN_FONTS = (f"{{{W}}}ascii", f"{{{W}}}hAnsi", f"{{{W}}}eastAsia", f"{{{W}}}cs")
_THEME_REFS = (f"{{{W}}}asciiTheme", f"{{{W}}}hAnsiTheme", f"{{{W}}}eastAsiaTheme")


def asked_fonts(path: Path) -> list[str]:
    """Families named by the document; [] for anything that is not a readable OOXML
    package (legacy binaries name their fonts in records we do not parse)."""
    try:
        check_zip(path)
        archive = zipfile.ZipFile(path)
    except Exception:  # noqa: BLE001 - an unreadable file asks for nothing we can know
        return []
    named: set[str] = set()
    theme: dict[str, str] = {}  # 'major'/'minor' (+ '-ea') -> typeface
    uses_theme: set[str] = set()
    with archive:
        for info in archive.infolist():
            if not _PARTS.match(info.filename) or info.file_size > MAX_PART_BYTES:
                continue
            try:
                with archive.open(info) as stream:
                    _scan(stream, named, theme, uses_theme)
            except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, ValueError):
                continue
        is_deck = any(n.startswith("ppt/") for n in archive.namelist())
    for slot, face in theme.items():
        # Decks always draw titles and body text in the theme fonts; Word and Excel only
        # where a style or run refers to them.
        if is_deck or slot in uses_theme:
            named.add(face)
    return sorted(f for f in named if f and not f.startswith("+"))


def _scan(stream, named: set[str], theme: dict[str, str], uses_theme: set[str]) -> None:
    context = etree.iterparse(stream, events=("start",), resolve_entities=False,
                              no_network=True, load_dtd=False, huge_tree=False)
    for _, element in context:
        tag = element.tag
        if tag == f"{{{W}}}rFonts":
            named.update(v for k in _RUN_FONTS if (v := element.get(k)))
            for k in _THEME_REFS:
                value = element.get(k)
                if value:
                    uses_theme.add(("major" if value.startswith("major") else "minor")
                                   + ("-ea" if "EastAsia" in value else ""))
        elif tag in (f"{{{A}}}latin", f"{{{A}}}ea"):
            face = element.get("typeface")
            parent = element.getparent()
            slot = etree.QName(parent).localname if parent is not None else ""
            if slot in ("majorFont", "minorFont"):
                key = slot[:5] + ("-ea" if tag.endswith("}ea") else "")
                if face:
                    theme.setdefault(key, face)
            elif face:
                named.add(face)
        elif tag == f"{{{S}}}name" and element.getparent() is not None and \
                element.getparent().tag == f"{{{S}}}font":
            named.add(element.get("val") or "")
