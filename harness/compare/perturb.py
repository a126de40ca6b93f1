"""Known damage done to a reference PDF, to check that grades order as a person would order
the damage: the same pages 5; the whole page shifted by half a millimetre at least 4, by
2 mm in between, by 8 mm at most 3; a page left blank or dropped at most 3; another
document altogether at most 1.

Shifts are made in the PDF itself (every page object translated, text included), so the
text layer moves with the ink and the raster is drawn anew at the new position, sub-pixel
rendering included: what a suite placing everything a little lower would produce.
"""

from __future__ import annotations

import ctypes
import io
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from harness.compare import rendering
from harness.compare.documents import compare_renderings
from harness.compare.rendering import Rendering
from harness.rasterise import Rasteriser

POINTS_PER_MM = 72 / 25.4
SHIFTS_MM = (0.5, 2.0, 8.0)


@dataclass(frozen=True)
class Expectation:
    kind: str
    lowest: int  # the grade must be at least this ...
    highest: int  # ... and at most this


# The order a person would give (issue 15's targets); "2 mm between" is between the others.
EXPECTED = (Expectation("identical", 5, 5), Expectation("shift-0.5mm", 4, 5),
            Expectation("shift-2mm", 2, 5), Expectation("shift-8mm", 0, 3),
            Expectation("blank-page", 0, 3), Expectation("dropped-page", 0, 3),
            Expectation("unrelated", 0, 1))


def shifted_pdf(pdf: Path, right_mm: float, down_mm: float) -> bytes:
    """The PDF with every page's content moved right and down (text layer included)."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        # Wraps each page's content streams in `q cm ... Q`: nothing re-encoded, so the
        # text layer stays as it was (regenerating content garbles subset fonts' text).
        matrix = pdfium_c.FS_MATRIX(1, 0, 0, 1, right_mm * POINTS_PER_MM,
                                    -down_mm * POINTS_PER_MM)
        for index in range(len(document)):
            page = document[index]
            pdfium_c.FPDFPage_TransFormWithClip(page.raw, ctypes.byref(matrix), None)
            page.close()
        buffer = io.BytesIO()
        document.save(buffer)
        return buffer.getvalue()
    finally:
        document.close()


def blank_page(reference: Rendering, index: int) -> Rendering:
    page = reference.pages[index]
    blank = replace(page, image=np.full_like(page.image, 255), words=(), images=0)
    return replace(reference, pages=reference.pages[:index] + (blank,)
                   + reference.pages[index + 1:])


def dropped_page(reference: Rendering, index: int) -> Rendering:
    pages = reference.pages[:index] + reference.pages[index + 1:]
    return replace(reference, pages=pages, page_count=reference.page_count - 1)


def perturbations(pdf: Path, reference: Rendering, unrelated: Rendering, dpi: int,
                  rasteriser: Rasteriser, scratch: Path) -> dict[str, Rendering]:
    """Every kind of EXPECTED, made from `pdf` (already loaded as `reference`)."""
    made = {"identical": rendering.load(pdf, dpi, rasteriser)}
    for mm in SHIFTS_MM:
        target = scratch / f"{pdf.stem}-shift-{mm:g}.pdf"
        leg = mm / math.sqrt(2)  # diagonally, `mm` in all
        target.write_bytes(shifted_pdf(pdf, leg, leg))
        made[f"shift-{mm:g}mm"] = rendering.load(target, dpi, rasteriser)
    middle = len(reference.pages) // 2
    made["blank-page"] = blank_page(reference, middle)
    if len(reference.pages) > 1:
        made["dropped-page"] = dropped_page(reference, middle)
    made["unrelated"] = unrelated
    return made


def grades(reference: Rendering, perturbed: dict[str, Rendering]) -> dict[str, int | None]:
    return {kind: compare_renderings(reference, candidate).grading.grade
            for kind, candidate in perturbed.items()}


def violations(graded: dict[str, int | None]) -> list[str]:
    """Where a grade falls outside what a person would give, in words."""
    wrong = []
    for e in EXPECTED:
        got = graded.get(e.kind)
        if got is not None and not e.lowest <= got <= e.highest:
            wrong.append(f"{e.kind} graded {got}, expected {e.lowest}-{e.highest}")
    order = [graded.get(k) for k in ("identical", "shift-0.5mm", "shift-2mm", "shift-8mm")]
    if all(g is not None for g in order) and any(a < b for a, b in zip(order, order[1:])):
        wrong.append(f"grades rise as the shift grows: {order}")
    return wrong
