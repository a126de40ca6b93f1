"""Presentations through python-pptx: text of every visible slide, hidden slides counted."""

from __future__ import annotations

from collections import Counter
from importlib.metadata import version
from pathlib import Path

from pptx.package import Package
from pptx.enum.shapes import MSO_SHAPE_TYPE

from harness.truth.model import Expectation, SourceTruth
from harness.truth.container import RASTER_EXTENSIONS, chart_parts, check_zip



_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_DYNAMIC_FIELDS = ("slidenum", "datetime")  # their cached text is a snapshot, not content


def _paragraph_text(paragraph) -> str:
    parts = []
    for child in paragraph._p:
        if child.tag == f"{_A}r":
            parts.append("".join(t.text or "" for t in child.iter(f"{_A}t")))
        elif child.tag == f"{_A}br":
            parts.append(" ")
        elif child.tag == f"{_A}fld" and not (child.get("type") or "").startswith(
                _DYNAMIC_FIELDS):
            parts.append("".join(t.text or "" for t in child.iter(f"{_A}t")))
    return " ".join("".join(parts).split())


def _shape_texts(shapes, counts: dict[str, int], tables: list[str]) -> list[str]:
    texts: list[str] = []
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            texts.extend(_shape_texts(shape.shapes, counts, tables))
            continue
        if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
            try:
                counts["raster_images"] += shape.image.ext.lower() in RASTER_EXTENSIONS
            except Exception:  # noqa: BLE001 - a linked or broken picture has no image part
                pass
        if getattr(shape, "has_table", False) and shape.has_table:
            counts["tables"] += 1
            cells = [c.text.strip() for row in shape.table.rows for c in row.cells
                     if c.text.strip()]
            texts.extend(cells)
            if cells:
                tables.append(" ".join(cells))
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            texts.extend(t for p in shape.text_frame.paragraphs if (t := _paragraph_text(p)))
    return texts


def read(path: Path) -> SourceTruth:
    check_zip(path)
    # pptx.Presentation() refuses templates and shows by content type; their parts are the same.
    deck = Package.open(str(path)).main_document_part.presentation
    counts = {"images": 0, "raster_images": 0, "tables": 0, "notes": 0}
    blocks: list[str] = []
    shown: list[Expectation] = []
    kept_off: list[Expectation] = []
    slides = hidden = 0
    for slide in deck.slides:
        slides += 1
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                counts["notes"] += 1
                kept_off.append(Expectation("notes", f"notes of slide {slides}",
                                            (notes.text.strip(),)))
        tables: list[str] = []
        if slide._element.get("show") in ("0", "false"):
            hidden += 1
            if text := " ".join(_shape_texts(slide.shapes, Counter(), [])):
                kept_off.append(Expectation("hidden-slides", f"hidden slide {slides}", (text,)))
            continue
        texts = _shape_texts(slide.shapes, counts, tables)
        # Pictures, and shapes filled with one: a save may turn one into the other.
        counts["images"] += sum(1 for _ in slide._element.iter(f"{_A}blip"))
        blocks.extend(texts)
        page = slides - hidden  # a PDF of a deck has one page per slide shown
        if texts:
            shown.append(Expectation("text", f"slide {slides} text on page {page}",
                                     (" ".join(texts),), page=page))
        shown += [Expectation("table", f"slide {slides} table", (t,), page=page)
                  for t in tables]
    visible = slides - hidden
    return SourceTruth(
        reader=f"python-pptx {version('python-pptx')}",
        text_blocks=tuple(blocks),
        # A PDF of a deck is one page per slide shown; hidden slides are not exported.
        expected_pages=visible or None,
        expected_pages_source="visible slides" if visible else None,
        facts={"slides": slides, "hidden_slides": hidden, **counts, "charts": chart_parts(path)},
        shown=tuple(shown),
        hidden=tuple(kept_off),
    )
