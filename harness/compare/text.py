"""Text a suite showed (the PDF text layer) against the text of the original."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from rapidfuzz.distance import Indel

# CJK ideographs, kana and Hangul count one token per character: a PDF text layer breaks
# lines inside such runs, so whole runs would never match.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])\w)+")
MAX_ORDER_TOKENS = 100_000
MISSING_SAMPLE = 25
# Arabic's mandatory lam-alef ligature comes out of PDF text layers in either order (ال for
# لا): within a run of lams and alefs, order is not compared.
_LAM_ALEF = re.compile("[\u0644\u0627\u0623\u0625\u0622]{2,}")


def _sorted_run(match: re.Match) -> str:
    return "".join(sorted(match.group()))


@dataclass(frozen=True)
class TextComparison:
    source_tokens: int
    rendered_tokens: int
    recall: float  # share of the source's words (with multiplicity) found in the rendering
    order_similarity: float | None  # normalised Indel similarity of the two word sequences
    missing_sample: tuple[str, ...]


def tokens(text: str, drop_numbers: bool = False) -> list[str]:
    """Words, NFKC-folded and case-folded, without non-spacing marks: Arabic harakat and
    Hebrew points are kept by one file and dropped by another, and would split a word."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if not folded.isascii():
        folded = "".join(c for c in folded if unicodedata.category(c) != "Mn")
    found = _TOKEN.findall(folded)
    if not folded.isascii():
        found = [_LAM_ALEF.sub(_sorted_run, t) for t in found]
    if drop_numbers:
        found = [t for t in found if not t.replace("_", "").isdigit()]
    return found


def pdf_text(pdf: Path) -> str:
    document = pdfium.PdfDocument(str(pdf))
    try:
        parts = []
        for page in document:
            textpage = page.get_textpage()
            parts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(parts)
    finally:
        document.close()


def compare_text(source_blocks: tuple[str, ...] | list[str], rendered: str,
                 drop_numbers: bool = False) -> TextComparison:
    source = tokens("\n".join(source_blocks), drop_numbers)
    shown = tokens(rendered, drop_numbers)
    if not source:
        return TextComparison(0, len(shown), 1.0, None, ())
    have, want = Counter(shown), Counter(source)
    found = sum(min(n, have[t]) for t, n in want.items())
    missing = [t for t, n in want.most_common() if have[t] < n][:MISSING_SAMPLE]
    order = None
    if len(source) <= MAX_ORDER_TOKENS and len(shown) <= MAX_ORDER_TOKENS:
        order = Indel.normalized_similarity(source, shown)
    return TextComparison(len(source), len(shown), found / len(source), order, tuple(missing))
