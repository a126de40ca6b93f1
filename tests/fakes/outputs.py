"""What the stand-ins for suites that cannot be installed here hand back: a one-page PDF
with a text layer, written by hand, or the smallest package of a kind."""

from __future__ import annotations

import zipfile
from pathlib import Path


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path: Path, lines: list[str]) -> None:
    ascii_lines = [line.encode("latin-1", "replace").decode("latin-1")[:90] for line in lines]
    stream = "BT /F1 11 Tf 14 TL 56 780 Td " + " ".join(
        f"({_escape(line)}) Tj T*" for line in ascii_lines[:50]) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()
    path.write_bytes(bytes(out))


MAIN_PARTS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml",
              "pptx": "ppt/presentation.xml"}


def write_package(target: Path, kind: str) -> None:
    """The smallest package of the kind that a reader recognises: a container, not content."""
    with zipfile.ZipFile(target, "w") as package:
        if kind in MAIN_PARTS:
            package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns='
                             '"http://schemas.openxmlformats.org/package/2006/content-types"/>')
            package.writestr(MAIN_PARTS[kind], '<?xml version="1.0"?><root/>')
        else:
            package.writestr("mimetype", f"application/vnd.oasis.opendocument.{kind}")
            package.writestr("content.xml", '<?xml version="1.0"?><office:document-content '
                             'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">'
                             '<office:body/></office:document-content>')

