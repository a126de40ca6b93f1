"""A rendered PDF as the comparison sees it: per page, its physical size, a grey image at the
scoring resolution, the words of its text layer placed in millimetres, and its fonts.

Word positions come from the PDF itself (each word's first character origin on the
baseline), so they are exact whatever the raster resolution: layout is measured there, and
the raster only has to show what text layers cannot (pictures, lines, fills).
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from harness.compare.text import tokens
from harness.rasterise import DEFAULT_DPI, MAX_PAGES, Rasteriser
from harness.rasterise import get as get_rasteriser

MM_PER_POINT = 25.4 / 72
# A character further than this from the previous one (in its font size) starts a new word
# even when the PDF has no space between them (e.g. justified text drawn glyph by glyph).
WORD_GAP_EM = 0.35
_SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")


@dataclass(frozen=True)
class Word:
    text: str  # normalised as compare.text.tokens does (NFKC, case-folded)
    x_mm: float  # origin of the first character, from the page's left edge
    y_mm: float  # baseline, from the page's top edge


@dataclass(frozen=True, eq=False)
class Page:
    number: int  # 1-based
    width_mm: float
    height_mm: float
    image: np.ndarray  # grey, uint8, at the scoring resolution
    words: tuple[Word, ...]
    images: int  # image objects placed on the page


@dataclass(frozen=True, eq=False)
class Rendering:
    pages: tuple[Page, ...]
    page_count: int  # every page of the PDF; only the first MAX_PAGES are compared
    dpi: int
    fonts: dict[str, bool] = field(default_factory=dict)  # font name -> embedded


def font_name(raw: str) -> str:
    """PostScript name without the subset prefix ('ABCDEF+Carlito-Bold' -> 'Carlito-Bold')."""
    return _SUBSET_PREFIX.sub("", raw)


def _page_fonts(page: pdfium.PdfPage, fonts: dict[str, bool]) -> None:
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT], max_depth=4):
        font = pdfium_c.FPDFTextObj_GetFont(obj.raw)
        if not font:
            continue
        size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
        if size <= 1:
            continue
        buffer = ctypes.create_string_buffer(size)
        pdfium_c.FPDFFont_GetBaseFontName(font, buffer, size)
        name = font_name(buffer.value.decode("utf-8", "replace"))
        if name:
            fonts[name] = fonts.get(name, False) or bool(pdfium_c.FPDFFont_GetIsEmbedded(font))


def page_words(textpage: pdfium.PdfTextPage, height_pt: float) -> tuple[Word, ...]:
    """Words of one page in reading order, each placed at its first character's origin.

    Sizes come from each glyph's loose box (font ascent to descent), not the reported font
    size: some producers (macOS Quartz) draw every glyph at size 1 scaled by a matrix."""
    count = textpage.count_chars()
    x, y = ctypes.c_double(), ctypes.c_double()
    box = pdfium_c.FS_RECTF()
    words: list[Word] = []
    current: list[str] = []
    start = (0.0, 0.0)
    last = None  # (left, right, baseline, em) of the previous character of the current word

    def flush() -> None:
        if current:
            for token in tokens("".join(current)):
                words.append(Word(token, start[0] * MM_PER_POINT,
                                  (height_pt - start[1]) * MM_PER_POINT))
            current.clear()

    raw = textpage.raw
    for index in range(count):
        code = pdfium_c.FPDFText_GetUnicode(raw, index)
        char = chr(code) if 0 < code < 0x110000 else " "
        if pdfium_c.FPDFText_IsGenerated(raw, index) == 1 or not _word_char(char):
            flush()
            last = None
            continue
        pdfium_c.FPDFText_GetCharOrigin(raw, index, ctypes.byref(x), ctypes.byref(y))
        pdfium_c.FPDFText_GetLooseCharBox(raw, index, ctypes.byref(box))
        em = abs(box.top - box.bottom) or 10.0
        if last is not None:  # a superscript ('21st') is measured against its base's size
            em = max(em, last[3])
        ligature = last is not None and abs(box.left - last[0]) < 0.01  # 'ti' shares a glyph
        if last is not None and not ligature and (
                abs(y.value - last[2]) > 0.5 * em
                or not -0.3 * em < box.left - last[1] < WORD_GAP_EM * em):
            flush()
        if not current:
            start = (x.value, y.value)
        current.append(char)
        last = (box.left, box.right, y.value, abs(box.top - box.bottom) or 10.0)
        if _single_char_token(char):  # a CJK character is a word of its own
            flush()
            last = None
    flush()
    return tuple(words)


_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF),
               (0xF900, 0xFAFF))


def _single_char_token(char: str) -> bool:
    return any(lo <= ord(char) <= hi for lo, hi in _CJK_RANGES)


def _word_char(char: str) -> bool:
    return unicodedata.normalize("NFKC", char).isalnum() or char == "_" or \
        unicodedata.category(char).startswith("M")


def load(pdf: Path, dpi: int = DEFAULT_DPI, rasteriser: Rasteriser | None = None,
         max_pages: int = MAX_PAGES, keep_rgb: list | None = None) -> Rendering:
    """Read a PDF once: images at `dpi`, words, fonts. `keep_rgb`, when given, receives the
    colour page images (for the report) so the PDF is rasterised only once."""
    rasteriser = rasteriser or get_rasteriser()
    images = rasteriser.render(pdf, dpi, max_pages)
    if keep_rgb is not None:
        keep_rgb.extend(images)
    document = pdfium.PdfDocument(str(pdf))
    try:
        fonts: dict[str, bool] = {}
        pages = []
        for index in range(min(len(document), max_pages, len(images))):
            page = document[index]
            try:
                width, height = page.get_size()
                textpage = page.get_textpage()
                try:
                    words = page_words(textpage, height)
                finally:
                    textpage.close()
                _page_fonts(page, fonts)
                placed = sum(1 for _ in page.get_objects(
                    filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4))
            finally:
                page.close()
            grey = np.asarray(images[index].convert("L"), dtype=np.uint8)
            pages.append(Page(index + 1, width * MM_PER_POINT, height * MM_PER_POINT, grey,
                              words, placed))
        return Rendering(tuple(pages), len(document), dpi, fonts)
    finally:
        document.close()
