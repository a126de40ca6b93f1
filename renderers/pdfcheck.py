"""Validation of a suite's PDF: a suite may exit 0 and still write nothing usable."""

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
