"""What a PDF says of itself (pages, the application that made it), read without rendering:
the corpus checks its reference PDFs with it and the suites check their output."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium


def pdf_page_count(path: Path) -> tuple[int, str | None]:
    """Pages in the PDF, or 0 and why it is unusable."""
    try:
        if path.stat().st_size == 0:
            return 0, "the file is 0 bytes"
        pdf = pdfium.PdfDocument(str(path))
    except (OSError, pdfium.PdfiumError) as exc:
        return 0, f"not a readable PDF ({exc})"
    try:
        return len(pdf), None
    finally:
        pdf.close()


def producer_of(pdf: Path) -> str | None:
    """Which application made the PDF, from its Creator and Producer entries."""
    try:
        document = pdfium.PdfDocument(str(pdf))
    except (OSError, pdfium.PdfiumError):
        return None
    try:
        meta = document.get_metadata_dict(skip_empty=True)
    finally:
        document.close()
    parts = [meta.get("Creator"), meta.get("Producer")]
    return " / ".join(p.strip() for p in parts if p and p.strip()) or None
