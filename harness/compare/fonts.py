"""Fonts a document asks for against the fonts a suite's PDF uses.

Substitution is the first cause of reflow on a desktop without Microsoft fonts: Calibri
becomes Carlito (metric-compatible, layout kept) or DejaVu Sans (wider, text reflows). For
each font asked for and not used, fontconfig (`fc-match`, what the suites themselves consult
here) names the family it stands in with. A suite may also ignore fontconfig and draw the
text in a face of its own choosing (AbiWord draws Liberation Serif where a document asks for
Calibri): a face drawn that nothing asked for is a substitution too (see `compare_fonts`).
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from harness.compare.rendering import font_name
from harness.rasterise import MAX_PAGES

_STYLE = re.compile(r"[-,](bold|italic|oblique|regular|roman|light|medium|semibold|black|"
                    r"condensed|narrow|book|demi|heavy|thin)\w*$", re.I)
_PS_SUFFIX = re.compile(r"(PSMT|MT|PS)$")  # PostScript names' suffixes are upper case


def _without_style(name: str) -> str:
    """'Arial-BoldItalicMT' -> 'Arial': style suffixes, however many, left out."""
    base = name.strip()
    for _ in range(3):
        base = _STYLE.sub("", base)
    return base


def family_name(name: str) -> str:
    """A family name fontconfig understands, from a PostScript name: 'Arial-BoldMT' ->
    'Arial', 'TimesNewRomanPSMT' -> 'Times New Roman'; a family name is kept as it is."""
    if " " in name.strip():
        return name.strip()
    base = _without_style(name).split(",")[0]
    base = _PS_SUFFIX.sub("", base) or base
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", base).split()
    while len(words) > 1 and words[-1] != "Roman" and _STYLE.match("-" + words[-1]):
        words.pop()
    return " ".join(words)


_STYLE_WORDS = re.compile(r"(?:bold|italic|oblique|regular|roman|light|medium|semibold|black|"
                          r"condensed|narrow|book|demi|heavy|thin|mt|ps|vkana)*")


def is_family(key: str, family: str) -> bool:
    """Whether a PDF font's key is of the family with key `family`, however its styles are
    spelt: 'carlitobold' is 'carlito'; 'dejavusansmono' is not 'dejavusans', nor
    'notosanscjkjp' 'notosans'."""
    return key.startswith(family) and _STYLE_WORDS.fullmatch(key[len(family):]) is not None


def family_key(name: str) -> str:
    """A comparable family key: 'Arial-BoldMT' and 'Arial' -> 'arial'; 'Times New Roman'
    and 'TimesNewRomanPSMT' -> 'timesnewroman'."""
    base = _without_style(name).split(",")[0]
    base = _PS_SUFFIX.sub("", base) or base
    return re.sub(r"[\s_-]", "", base).lower()


# Families drawn with the same advance widths as Microsoft's (the point of Liberation,
# Carlito and Caladea): such a stand-in changes glyph shapes, never where lines break.
METRIC_COMPATIBLE = {"arial": "liberationsans", "helvetica": "liberationsans",
                     "timesnewroman": "liberationserif", "couriernew": "liberationmono",
                     "calibri": "carlito", "cambria": "caladea"}


def same_metrics(asked: str, used: str) -> bool:
    return METRIC_COMPATIBLE.get(family_key(asked)) == family_key(used)


@lru_cache(maxsize=512)
def fontconfig_match(family: str) -> str | None:
    """The family fontconfig gives for `family` here, or None without fontconfig."""
    if not shutil.which("fc-match"):
        return None
    try:
        done = subprocess.run(["fc-match", "-f", "%{family[0]}", family], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


# Faces that draw symbols, not text: bullets, check boxes, arrows, formulas, emoji
# (OpenSymbol, Symbol and its stand-in Standard Symbols PS, Wingdings and its stand-in
# D050000L, Zapf Dingbats, Cambria Math, MT Extra, Segoe UI Emoji ...).
_SYMBOL_FACE = re.compile(r"symbol|dingbat|wingding|webding|d050000l|math|emoji|mtextra|"
                          r"marlett|bookshelf", re.I)
# A face drawing less than this share of a document's characters, or fewer than
# FEW_CHARACTERS while others draw most of them, is a suite's glyph fallback for what the
# fonts it uses lack.
MIN_SHARE = 0.05
FEW_CHARACTERS = 20
_UNKNOWN_FAMILY = "No Such Family"  # what fontconfig gives it is its last resort


@dataclass(frozen=True)
class FontUse:
    """What one font of a PDF drew: its characters, and of those the East Asian ones."""

    characters: int
    east_asian: int = 0


def _east_asian(char: str) -> bool:
    """Han, Hangul, Kana, and their full-width forms and punctuation."""
    return unicodedata.east_asian_width(char) in ("W", "F") and not unicodedata.category(
        char).startswith("S")


def font_use(pdf: Path, max_pages: int = MAX_PAGES) -> dict[str, FontUse]:
    """The characters each font of a PDF draws on its first `max_pages` pages, named as
    `Rendering.fonts` names them (subset prefix left out); {} when the PDF cannot be read."""
    counts: dict[str, list[int]] = {}
    try:
        document = pdfium.PdfDocument(str(pdf))
    except (pdfium.PdfiumError, OSError):
        return {}
    try:
        for index in range(min(len(document), max_pages)):
            page = document[index]
            textpage = page.get_textpage()
            try:
                for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT], max_depth=4):
                    name = _font_of(obj.raw)
                    if not name:
                        continue
                    text = _text_of(obj.raw, textpage.raw)
                    tally = counts.setdefault(name, [0, 0])
                    tally[0] += sum(1 for c in text if not c.isspace())
                    tally[1] += sum(1 for c in text if _east_asian(c))
            finally:
                textpage.close()
                page.close()
    finally:
        document.close()
    return {name: FontUse(*tally) for name, tally in counts.items()}


def _font_of(obj) -> str:
    font = pdfium_c.FPDFTextObj_GetFont(obj)
    size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0) if font else 0
    if size <= 1:
        return ""
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDFFont_GetBaseFontName(font, buffer, size)
    return font_name(buffer.value.decode("utf-8", "replace"))


def _text_of(obj, textpage) -> str:
    size = pdfium_c.FPDFTextObj_GetText(obj, textpage, None, 0)  # bytes, UTF-16 with NUL
    if size <= 2:
        return ""
    buffer = (ctypes.c_ushort * (size // 2))()
    pdfium_c.FPDFTextObj_GetText(obj, textpage, buffer, size)
    return bytes(buffer).decode("utf-16-le", "replace").rstrip("\0")


@dataclass(frozen=True)
class FontReport:
    asked: tuple[str, ...]  # families the document (or the reference PDF) asks for
    used: tuple[str, ...]  # fonts in the candidate PDF, as named there
    embedded: tuple[str, ...]  # of those, the ones embedded in the PDF
    substituted: dict[str, str]  # asked family -> the font in the PDF that stands in for it
    # Asked for, but neither it nor its stand-in is in the PDF (a style no text uses, or
    # a substitute fontconfig would not pick): with the stand-in fontconfig names here.
    unused: dict[str, str] = field(default_factory=dict)
    # Fonts that draw text though nothing asked for them (nor for a family fontconfig
    # stands them in for), and that no unused family could be paired with.
    unasked: tuple[str, ...] = ()
    # Asked families whose entry in `substituted` is such a font, not fontconfig's stand-in:
    # the suite drew in it instead of the family (or instead of another unused one: which
    # family the text used cannot be told, so every unused family is paired with it).
    paired: tuple[str, ...] = ()

    @property
    def substitutions(self) -> int:
        """Substitutions to store and compare: each asked family drawn in fontconfig's
        stand-in, plus each font drawn that nothing asked for, once however many unused
        families it was paired with."""
        by_fontconfig = sum(1 for f in self.substituted if f not in self.paired)
        drawn_unasked = {self.substituted[f] for f in self.paired} | set(self.unasked)
        return by_fontconfig + len(drawn_unasked)

    def to_json(self) -> dict:
        return {"asked": list(self.asked), "used": list(self.used),
                "embedded": list(self.embedded), "substituted": dict(self.substituted),
                "unused": dict(self.unused), "unasked": list(self.unasked),
                "paired": list(self.paired), "substitutions": self.substitutions}


def _text_faces(keys: Iterable[str], drawn: Mapping[str, FontUse] | None) -> dict[str, int]:
    """Of the fonts drawn that nothing asked for (by family key), those that draw text,
    with the characters they draw (0 when not known). Left out: symbol faces, and a
    suite's glyph fallback, which Word has too: a face drawing mostly East Asian characters
    (the script the asked fonts lack; the desktop has one CJK family), or less than
    MIN_SHARE of the characters text faces draw, or fewer than FEW_CHARACTERS while other
    faces draw most (a check mark, an arrow). Without character counts, by name: CJK
    faces, and the face fontconfig falls back to for a family it does not know (DejaVu
    Sans here)."""
    keys = [k for k in keys if not _SYMBOL_FACE.search(k)]
    if drawn is None:
        fallback = family_key(fontconfig_match(_UNKNOWN_FAMILY) or "")
        return {k: 0 for k in keys
                if "cjk" not in k and not (fallback and is_family(k, fallback))}
    by_key: dict[str, list[int]] = {}
    for name, d in drawn.items():
        tally = by_key.setdefault(family_key(name), [0, 0])
        tally[0], tally[1] = tally[0] + d.characters, tally[1] + d.east_asian
    total = sum(c for k, (c, _) in by_key.items() if not _SYMBOL_FACE.search(k))
    faces = {}
    for key in keys:
        characters, east_asian = by_key.get(key, [0, 0])
        if (characters >= MIN_SHARE * total and east_asian * 2 < characters
                and (characters >= FEW_CHARACTERS or characters * 2 >= total > 0)):
            faces[key] = characters
    return faces


def compare_fonts(asked: Iterable[str], used: dict[str, bool],
                  drawn: Mapping[str, FontUse] | None = None) -> FontReport:
    """Each asked family: drawn as itself, or in fontconfig's stand-in (substituted), or
    not at all (unused). Then each font drawn that nothing asked for and that draws text
    (see `_text_faces`; `drawn` from `font_use`, counts per font, makes that exact):
    paired with every unused family, the face drawing most characters first, or, with no
    unused family left, listed as `unasked`. Nothing is unasked when nothing is asked for
    (a legacy binary's fonts are not read)."""
    families = sorted({family_name(a) for a in asked if a and a.strip()}, key=str.lower)
    # Stand-ins are named as the PDF names them, style left out ('DejaVuSans').
    used_keys = {family_key(name): _without_style(name) for name in used}
    substituted: dict[str, str] = {}
    unused: dict[str, str] = {}
    accounted: set[str] = set()
    for family in families:
        key = family_key(family)
        itself = {k for k in used_keys if is_family(k, key)}
        stand_in = fontconfig_match(family)
        standing = {k for k in used_keys if stand_in and is_family(k, family_key(stand_in))}
        accounted |= itself | standing  # a stand-in is asked for, if only through fontconfig
        if itself:
            continue
        if standing:
            substituted[family] = used_keys[min(standing)]
        else:
            unused[family] = stand_in or "?"
    faces = _text_faces((k for k in used_keys if k not in accounted), drawn) \
        if families else {}
    ranked = sorted(faces, key=lambda k: (-faces[k], k))
    paired = tuple(sorted(unused)) if ranked else ()
    for family in paired:
        substituted[family] = used_keys[ranked[0]]
        del unused[family]
    unasked = tuple(sorted(used_keys[k] for k in ranked[1 if paired else 0:]))
    return FontReport(tuple(families), tuple(sorted(used)),
                      tuple(sorted(n for n, e in used.items() if e)), substituted, unused,
                      unasked, paired)
