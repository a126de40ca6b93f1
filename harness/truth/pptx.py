"""Presentations through python-pptx: text of every visible slide, hidden slides counted."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from pptx.package import Package
from pptx.enum.shapes import MSO_SHAPE_TYPE

from harness.truth import SourceTruth
from harness.truth.container import check_zip

FORMATS = ("pptx", "pptm", "potx", "potm", "ppsx")


def _shape_texts(shapes, counts: dict[str, int]) -> list[str]:
    texts: list[str] = []
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            texts.extend(_shape_texts(shape.shapes, counts))
            continue
        if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
            counts["images"] += 1
        if getattr(shape, "has_table", False) and shape.has_table:
            counts["tables"] += 1
            for row in shape.table.rows:
                texts.extend(c.text.strip() for c in row.cells if c.text.strip())
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            texts.extend(p.text.strip() for p in shape.text_frame.paragraphs if p.text.strip())
    return texts


def read(path: Path) -> SourceTruth:
    check_zip(path)
    # pptx.Presentation() refuses templates and shows by content type; their parts are the same.
    deck = Package.open(str(path)).main_document_part.presentation
    counts = {"images": 0, "tables": 0}
    blocks: list[str] = []
    slides = hidden = 0
    for slide in deck.slides:
        slides += 1
        if slide._element.get("show") in ("0", "false"):
            hidden += 1
            continue
        blocks.extend(_shape_texts(slide.shapes, counts))
    visible = slides - hidden
    return SourceTruth(
        reader=f"python-pptx {version('python-pptx')}",
        text_blocks=tuple(blocks),
        # A PDF of a deck is one page per slide shown; hidden slides are not exported.
        expected_pages=visible or None,
        expected_pages_source="visible slides" if visible else None,
        facts={"slides": slides, "hidden_slides": hidden, **counts},
    )
