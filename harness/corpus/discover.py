"""Find the Office documents in corpus folders, with their provenance and reference PDFs.

Any folder works. Where it (or, for a sub-folder of a corpus, its nearest ancestor) holds a
corpus.toml or a MANIFEST.tsv (columns ``path``, ``license``, ``source_repo``, ``notes``...),
provenance and the malformed mark come from it; a Microsoft-rendered PDF is found beside a
document as ``<stem>.reference.pdf``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from renderers.msoffice import REFERENCE_SUFFIX

FAMILIES: dict[str, str] = {
    **dict.fromkeys(("doc", "docx", "docm", "dot", "dotx", "dotm"), "word"),
    **dict.fromkeys(("xls", "xlsx", "xlsm", "xlt", "xltx", "xltm"), "spreadsheet"),
    **dict.fromkeys(("ppt", "pptx", "pptm", "pot", "potx", "potm", "pps", "ppsx"), "presentation"),
}
OFFICE_FORMATS = frozenset(FAMILIES)



@dataclass(frozen=True)
class Document:
    corpus: str
    root: Path
    relpath: str
    format: str
    size_bytes: int
    sha256: str
    reference_pdf: Path | None = None
    license: str | None = None
    source: str | None = None
    malformed: bool = False  # its manifest says it is broken on purpose

    @property
    def path(self) -> Path:
        return self.root / self.relpath

    @property
    def family(self) -> str:
        return FAMILIES.get(self.format, "other")

    @property
    def key(self) -> str:
        """A file-name-safe id, stable across runs, for the document's artifacts."""
        return document_key(self.corpus, self.relpath)


def document_key(corpus: str, relpath: str) -> str:
    digest = hashlib.sha1(f"{corpus}/{relpath}".encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(relpath).stem)
    return f"{stem[:40]}-{digest}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _corpus_label(root: Path, taken: set[str]) -> str:
    label = root.resolve().name or "corpus"
    base, n = label, 2
    while label in taken:
        label, n = f"{base}-{n}", n + 1
    taken.add(label)
    return label


def discover(roots: list[Path], limit: int | None = None) -> list[Document]:
    """Every Office document below the roots, sorted by corpus then path."""
    from harness.corpus.metadata import Provenance, provenance  # noqa: PLC0415 - a cycle

    unknown = Provenance(None, None, False)
    documents: list[Document] = []
    labels: set[str] = set()
    for root in roots:
        if not root.is_dir():
            raise UsageError(f"corpus folder not found: {root}")
        label = _corpus_label(root, labels)
        manifest = provenance(root)
        found: list[Document] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                fmt = path.suffix.lower().lstrip(".")
                if fmt not in OFFICE_FORMATS or filename.startswith(".") or not path.is_file():
                    continue
                relpath = path.relative_to(root).as_posix()
                reference = path.with_name(path.stem + REFERENCE_SUFFIX)
                row = manifest.get(relpath, unknown)
                found.append(Document(
                    corpus=label, root=root, relpath=relpath, format=fmt,
                    size_bytes=path.stat().st_size, sha256=sha256_of(path),
                    reference_pdf=reference if reference.is_file() else None,
                    license=row.license, source=row.source, malformed=row.malformed,
                ))
        documents.extend(sorted(found, key=lambda d: d.relpath))
    return documents[:limit] if limit else documents
