"""`fidelity calibrate`: the noise floor the rubric must sit above, how well a scoring
resolution discriminates, and what comparing costs per page.

For every document with a Microsoft reference PDF:
- rasterisers: the reference through pypdfium2 and through pdftoppm (same PDF: any
  difference is the rasteriser's);
- twice: the document rendered twice by the suite (any difference is the suite's own
  nondeterminism);
- suite: the suite's rendering against Microsoft's (what the sweep grades);
- degraded: the reference against itself with a 30 mm block erased at the centre of the
  first page's ink (the smallest loss the visual signals must still see).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import renderers
from harness.compare import rendering
from harness.compare.documents import compare_renderings
from harness.compare.rendering import Page, Rendering
from harness.corpus import Document
from harness.rasterise import get as get_rasteriser
from renderers.base import Status, Task

BLOCK_MM = 30.0


@dataclass(frozen=True)
class Measure:
    document: str
    kind: str  # rasterisers | twice | suite | degraded
    ssim_mean: float
    area_changed: float  # the worst page pair's, as graded
    layout_median_mm: float | None
    layout_p95_mm: float | None
    score: float
    grade: int | None


def erase_block(page: Page, dpi: int, size_mm: float = BLOCK_MM,
                on_ink: bool = False) -> Page:
    """The page with a square of white paper over its centre (or over the centre of its ink),
    its words there removed."""
    image = page.image.copy()
    half = size_mm / 2
    px = dpi / 25.4
    cx, cy = page.width_mm / 2, page.height_mm / 2
    ink = np.argwhere(page.image < 200) if on_ink else ()
    if len(ink):
        cy, cx = ink.mean(axis=0) / px
    image[int((cy - half) * px):int((cy + half) * px),
          int((cx - half) * px):int((cx + half) * px)] = 255
    words = tuple(w for w in page.words
                  if not (cx - half <= w.x_mm <= cx + half and cy - half <= w.y_mm <= cy + half))
    return replace(page, image=image, words=words)


def _measure(name: str, kind: str, reference: Rendering, candidate: Rendering) -> Measure:
    result = compare_renderings(reference, candidate)
    return Measure(name, kind, round(result.ssim_mean, 4),
                   round(result.area_changed_worst or 0.0, 4),
                   result.layout.median_mm,
                   result.layout.p95_mm, round(result.score, 4), result.grading.grade)


def calibrate(documents: list[Document], suite: str, dpi: int, scratch: Path,
              timeout_seconds: float) -> dict:
    renderer = renderers.get(suite, scratch / "suite")
    pdfium_r, poppler = get_rasteriser("pypdfium2"), get_rasteriser("pdftoppm")
    measures: list[Measure] = []
    load_seconds = compare_seconds = 0.0
    loaded_pages = compared_pairs = 0
    skipped: list[str] = []
    try:
        for doc in documents:
            if doc.reference_pdf is None:
                continue
            name = f"{doc.corpus}/{doc.relpath}"
            started = time.process_time()
            reference = rendering.load(doc.reference_pdf, dpi, pdfium_r)
            load_seconds += time.process_time() - started
            loaded_pages += len(reference.pages)
            other = rendering.load(doc.reference_pdf, dpi, poppler)
            measures.append(_measure(name, "rasterisers", reference, other))
            degraded = replace(reference, pages=(erase_block(reference.pages[0], dpi,
                                                             on_ink=True),)
                               + reference.pages[1:])
            measures.append(_measure(name, "degraded", reference, degraded))
            outputs = []
            for attempt in (1, 2):
                outcome = renderer.run(doc.path, Task.SHOW, scratch / f"job{attempt}",
                                       timeout_seconds)
                if outcome.status is not Status.OK or outcome.output_path is None:
                    skipped.append(f"{name}: {suite} {outcome.status.value}: "
                                   f"{outcome.message}")
                    break
                kept = scratch / f"{doc.key}-{attempt}.pdf"
                kept.write_bytes(outcome.output_path.read_bytes())
                outputs.append(kept)
            if len(outputs) < 2:
                continue
            started = time.process_time()
            first = rendering.load(outputs[0], dpi, pdfium_r)
            load_seconds += time.process_time() - started
            loaded_pages += len(first.pages)
            second = rendering.load(outputs[1], dpi, pdfium_r)
            measures.append(_measure(name, "twice", first, second))
            started = time.process_time()
            measures.append(_measure(name, "suite", reference, first))
            compare_seconds += time.process_time() - started
            compared_pairs += max(len(reference.pages), len(first.pages))
    finally:
        renderer.close()
    return {"dpi": dpi, "suite": suite, "measures": [m.__dict__ for m in measures],
            "summary": summarise(measures), "skipped": skipped,
            "speed": {
                "load_ms_per_page": _ms(load_seconds, loaded_pages),
                "compare_ms_per_page": _ms(compare_seconds, compared_pairs),
                "total_ms_per_page": (_ms(load_seconds, loaded_pages) or 0)
                + (_ms(compare_seconds, compared_pairs) or 0),
                "pages_loaded": loaded_pages, "pages_compared": compared_pairs,
                "clock": "CPU time of this process (one core)"}}


def _ms(seconds: float, count: int) -> float | None:
    return round(1000 * seconds / count, 1) if count else None


def summarise(measures: list[Measure]) -> dict:
    out = {}
    for kind in ("rasterisers", "twice", "degraded", "suite"):
        chosen = [m for m in measures if m.kind == kind]
        if not chosen:
            continue
        ssim = [m.ssim_mean for m in chosen]
        medians = [m.layout_median_mm for m in chosen if m.layout_median_mm is not None]
        area = [m.area_changed for m in chosen]
        out[kind] = {
            "documents": len(chosen), "ssim_min": min(ssim),
            "ssim_median": round(statistics.median(ssim), 4),
            "ssim_p10": round(float(np.percentile(ssim, 10)), 4),
            "area_changed_min": min(area), "area_changed_median": round(statistics.median(area), 4),
            "area_changed_max": max(area),
            "layout_median_mm_max": max(medians) if medians else None,
            "layout_median_mm_median": round(statistics.median(medians), 3) if medians else None,
            "grades": {str(g): sum(1 for m in chosen if m.grade == g)
                       for g in sorted({m.grade for m in chosen}, key=lambda g: (g is None, g))},
        }
    return out
