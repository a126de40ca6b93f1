"""Fonts a document asks for against the fonts a suite's PDF uses.

Substitution is the first cause of reflow on a desktop without Microsoft fonts: Calibri
becomes Carlito (metric-compatible, layout kept) or DejaVu Sans (wider, text reflows). For
each font asked for and not used, fontconfig (`fc-match`, what the suites themselves consult
here) names the family it stands in with.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

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


def family_key(name: str) -> str:
    """A comparable family key: 'Arial-BoldMT' and 'Arial' -> 'arial'; 'Times New Roman'
    and 'TimesNewRomanPSMT' -> 'timesnewroman'."""
    base = _without_style(name).split(",")[0]
    base = _PS_SUFFIX.sub("", base) or base
    return re.sub(r"[\s_-]", "", base).lower()


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


@dataclass(frozen=True)
class FontReport:
    asked: tuple[str, ...]  # families the document (or the reference PDF) asks for
    used: tuple[str, ...]  # fonts in the candidate PDF, as named there
    embedded: tuple[str, ...]  # of those, the ones embedded in the PDF
    substituted: dict[str, str]  # asked family -> the font in the PDF that stands in for it
    # Asked for, but neither it nor its stand-in is in the PDF (a style no text uses, or
    # a substitute fontconfig would not pick): with the stand-in fontconfig names here.
    unused: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"asked": list(self.asked), "used": list(self.used),
                "embedded": list(self.embedded), "substituted": dict(self.substituted),
                "unused": dict(self.unused)}


def compare_fonts(asked: Iterable[str], used: dict[str, bool]) -> FontReport:
    families = sorted({family_name(a) for a in asked if a and a.strip()}, key=str.lower)
    # Stand-ins are named as the PDF names them, style left out ('DejaVuSans').
    used_keys = {family_key(name): _without_style(name) for name in used}
    substituted: dict[str, str] = {}
    unused: dict[str, str] = {}
    for family in families:
        key = family_key(family)
        if key in used_keys or any(k.startswith(key) for k in used_keys):
            continue
        stand_in = fontconfig_match(family)
        in_pdf = stand_in and next((used_keys[k] for k in used_keys
                                    if k.startswith(family_key(stand_in))), None)
        if in_pdf:
            substituted[family] = in_pdf
        else:
            unused[family] = stand_in or "?"
    return FontReport(tuple(families), tuple(sorted(used)),
                      tuple(sorted(n for n, e in used.items() if e)), substituted, unused)
