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


@dataclass(frozen=True, slots=True)
class Graphic:
    """One drawn object of a page that is not text: where it sits and how it is painted, so
    a chart's bars, lines and slices can be told from its frame and gridlines."""

    kind: str  # "path", "image" or "shading"
    x_mm: float  # left edge, from the page's left edge
    y_mm: float  # top edge, from the page's top edge
    width_mm: float
    height_mm: float
    filled: bool = False  # painted inside with a colour other than white (images: always)
    stroked: bool = False  # outlined with a colour other than white
    # Only horizontal and vertical straight lines: frames, gridlines, cell borders and
    # bars are; a pie slice, a diagonal line or a curve is not (images: False).
    straight: bool = True


@dataclass(frozen=True, eq=False)
class Page:
    number: int  # 1-based
    width_mm: float
    height_mm: float
    image: np.ndarray  # grey, uint8, at the scoring resolution
    words: tuple[Word, ...]
    images: int  # image objects placed on the page
    # What is drawn besides text, in drawing order, at most MAX_GRAPHICS (see page_graphics).
    graphics: tuple[Graphic, ...] = ()


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


# Graphics kept per page, in drawing order: a chart has hundreds, a worksheet's cell borders
# a few thousand. Of hairlines (rules, borders, gridlines: narrower than _THIN_PT) only the
# first MAX_HAIRLINES are kept, so a table's borders drawn first cannot crowd a chart's bars
# out, and a sheet of 200 bordered pages stays a few tens of MB.
MAX_GRAPHICS = 5_000
MAX_HAIRLINES = 1_000
MAX_VISITED = 50_000  # objects looked at per page (about 0.3 s of pdfium calls at most)
MAX_FORM_DEPTH = 4  # form XObjects opened inside each other, as for images above
_SEGMENTS_READ = 16  # a path with more segments is taken as a drawing, not a grid or a box
_WHITE = 240  # each channel at or above this is paper, not paint
_STRAIGHT_PT = 0.02  # a segment off the horizontal and vertical by less is still straight,
_SLANT = 0.1  # and one off by less than this share of its length
_THIN_PT = 1.5  # a path this narrow is a line along its long side, whatever its segments
_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _painted(obj, getter) -> bool:
    red, green, blue, alpha = (ctypes.c_uint() for _ in range(4))
    if not getter(obj, red, green, blue, alpha):
        return True  # a pattern or shading paint: no single colour, but paint
    return alpha.value > 0 and min(red.value, green.value, blue.value) < _WHITE


def _straight(obj) -> bool:
    """Whether a path is made of horizontal and vertical lines only (in its own space)."""
    count = pdfium_c.FPDFPath_CountSegments(obj)
    if count > _SEGMENTS_READ:
        return False
    x, y = ctypes.c_float(), ctypes.c_float()
    previous = None
    for index in range(max(count, 0)):
        segment = pdfium_c.FPDFPath_GetPathSegment(obj, index)
        kind = pdfium_c.FPDFPathSegment_GetType(segment)
        if kind == pdfium_c.FPDF_SEGMENT_BEZIERTO:
            return False
        if not pdfium_c.FPDFPathSegment_GetPoint(segment, x, y):
            return False
        point = (x.value, y.value)
        if kind == pdfium_c.FPDF_SEGMENT_LINETO and previous is not None:
            across, along = sorted((abs(point[0] - previous[0]), abs(point[1] - previous[1])))
            # Off the horizontal or vertical: by more than a rounding error, and by more
            # than a tenth of its length (a circle drawn as 100 tiny lines is a curve).
            if across > _STRAIGHT_PT and across > _SLANT * along:
                return False
        previous = point
    return True


def _compose(inner: tuple[float, ...], outer: tuple[float, ...]) -> tuple[float, ...]:
    """PDF matrices (a b c d e f): inner applied first, then outer."""
    a, b, c, d, e, f = inner
    oa, ob, oc, od, oe, of = outer
    return (a * oa + b * oc, a * ob + b * od, c * oa + d * oc, c * ob + d * od,
            e * oa + f * oc + oe, e * ob + f * od + of)


def _transformed(box: tuple[float, float, float, float], matrix: tuple[float, ...]
                 ) -> tuple[float, float, float, float]:
    a, b, c, d, e, f = matrix
    xs = [a * x + c * y + e for x in (box[0], box[2]) for y in (box[1], box[3])]
    ys = [b * x + d * y + f for x in (box[0], box[2]) for y in (box[1], box[3])]
    return min(xs), min(ys), max(xs), max(ys)


def page_graphics(page: pdfium.PdfPage, height_pt: float,
                  limit: int = MAX_GRAPHICS) -> tuple[Graphic, ...]:
    """Paths, images and shadings of a page in one pass over its objects, each a box in mm
    with how it is painted. Forms are opened and their children placed through the form's
    matrix (pdfium gives them in the form's own space). Paths painted only in white are left
    out: they draw nothing on paper. At most `limit` are kept, in drawing order, of which at
    most MAX_HAIRLINES hairlines, from the first MAX_VISITED objects."""
    kept: list[Graphic] = []
    hairlines = visited = 0
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    matrix = pdfium_c.FS_MATRIX()
    path, image = pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_IMAGE
    drawn = (path, image, pdfium_c.FPDF_PAGEOBJ_SHADING)

    def visit(parent, is_form: bool, depth: int, transform: tuple[float, ...]) -> None:
        nonlocal hairlines, visited
        count = (pdfium_c.FPDFFormObj_CountObjects(parent) if is_form
                 else pdfium_c.FPDFPage_CountObjects(parent))
        for index in range(max(count, 0)):
            visited += 1
            if len(kept) >= limit or visited > MAX_VISITED:
                return
            obj = (pdfium_c.FPDFFormObj_GetObject(parent, index) if is_form
                   else pdfium_c.FPDFPage_GetObject(parent, index))
            kind = pdfium_c.FPDFPageObj_GetType(obj) if obj else None
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
                if depth + 1 < MAX_FORM_DEPTH and pdfium_c.FPDFPageObj_GetMatrix(obj, matrix):
                    own = (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)
                    visit(obj, True, depth + 1, _compose(own, transform))
                continue
            if kind not in drawn or not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom,
                                                                         right, top):
                continue
            filled, stroked, straight = True, False, False
            if kind == path:
                thin = min(right.value - left.value, top.value - bottom.value) < _THIN_PT
                hairlines += thin
                if thin and hairlines > MAX_HAIRLINES:
                    continue  # before asking pdfium anything more about it
                if not pdfium_c.FPDFPath_GetDrawMode(obj, fill_mode, stroke):
                    continue
                filled = fill_mode.value != 0 and _painted(
                    obj, pdfium_c.FPDFPageObj_GetFillColor)
                stroked = bool(stroke.value) and _painted(
                    obj, pdfium_c.FPDFPageObj_GetStrokeColor)
                if not (filled or stroked):
                    continue
                straight = thin or _straight(obj)
            box = (left.value, bottom.value, right.value, top.value)
            if is_form:
                box = _transformed(box, transform)
            kept.append(Graphic("path" if kind == path else "image" if kind == image
                                else "shading",
                                box[0] * MM_PER_POINT, (height_pt - box[3]) * MM_PER_POINT,
                                (box[2] - box[0]) * MM_PER_POINT,
                                (box[3] - box[1]) * MM_PER_POINT, filled, stroked, straight))

    visit(page.raw, False, 0, _IDENTITY)
    return tuple(kept)


def load(pdf: Path, dpi: int = DEFAULT_DPI, rasteriser: Rasteriser | None = None,
         max_pages: int = MAX_PAGES, keep_rgb: list | None = None,
         graphics: bool = True) -> Rendering:
    """Read a PDF once: images at `dpi`, words, fonts, and (with `graphics`) each page's
    paths, images and shadings. `keep_rgb`, when given, receives the colour page images
    (for the report) so the PDF is rasterised only once."""
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
                drawn = page_graphics(page, height) if graphics else ()
            finally:
                page.close()
            grey = np.asarray(images[index].convert("L"), dtype=np.uint8)
            pages.append(Page(index + 1, width * MM_PER_POINT, height * MM_PER_POINT, grey,
                              words, placed, drawn))
        return Rendering(tuple(pages), len(document), dpi, fonts)
    finally:
        document.close()
