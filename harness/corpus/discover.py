"""Find the Office documents in corpus folders, with their provenance and reference PDFs.

Any folder works. Where it (or, for a sub-folder of a corpus, its nearest ancestor) holds a
corpus.toml or a MANIFEST.tsv (columns ``path``, ``license``, ``source_repo``, ``notes``...),
provenance and the malformed mark come from it; a Microsoft-rendered PDF is found beside a
document as ``<stem>.reference.pdf``.

A corpus never reaches outside itself: every path is resolved, and a document whose real
path lies outside its corpus folder (a symlink, or a symlinked folder) is kept with a
refusal and never read, unless the user asks for links to be followed. Special files (FIFO,
socket, device) named like documents are listed as skipped and never opened; a file whose
bytes are no Office container (harness.corpus.sniff) is kept with a refusal.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from harness.corpus.manifest import Provenance, provenance
from harness.corpus.sniff import container_problem
from harness.errors import UsageError
from harness.formats import FAMILIES, SWEPT as OFFICE_FORMATS  # what a sweep takes, by family
from harness.formats import REFERENCE_SUFFIX



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
    # Why no suite or reader is given the file (it links outside the corpus, or its bytes
    # are no Office document): every job is then `unsupported` with this reason.
    refused: str | None = None
    # Discovered with --follow-symlinks: its real path may lie outside `root`, as the user
    # asked (harness.corpus.boundary checks it again at job time).
    links_followed: bool = False

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


@dataclass(frozen=True)
class Skipped:
    """A file or folder named like a document that discovery left alone, and why."""

    corpus: str
    relpath: str
    reason: str

    def line(self) -> str:
        return f"{self.corpus}/{self.relpath}: {self.reason}"


@dataclass(frozen=True)
class Discovery:
    documents: list[Document]
    skipped: list[Skipped] = field(default_factory=list)


SPECIAL_FILES = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                 (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def special_file(mode: int) -> str | None:
    """What a stat mode says the file is when it is no regular file ("a FIFO (named
    pipe)"...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in SPECIAL_FILES if test(mode)),
                "a folder" if stat.S_ISDIR(mode) else "something other than a regular file")


def regular_file_problem(path: Path) -> str | None:
    """Why a file named on the command line is no plain file to read, or None; by lstat,
    before anything opens it."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "is not a file"
    if stat.S_ISLNK(mode):
        return f"is a symlink (to {os.readlink(path)}); give the file itself"
    special = special_file(mode)
    return f"is {special}, not a regular file" if special else None


def discover(roots: list[Path], limit: int | None = None, *,
             follow_symlinks: bool = False) -> list[Document]:
    """Every Office document below the roots, sorted by corpus then path."""
    return scan(roots, limit, follow_symlinks=follow_symlinks).documents


def scan(roots: list[Path], limit: int | None = None, *,
         follow_symlinks: bool = False) -> Discovery:
    """The documents below the roots, and what was skipped with its reason.

    Nothing is opened before lstat/stat says it is a regular file (opening a FIFO blocks),
    and nothing whose real path is outside its root is read unless `follow_symlinks`."""
    documents: list[Document] = []
    skipped: list[Skipped] = []
    labels: set[str] = set()
    for root in roots:
        if not root.is_dir():
            raise UsageError(f"corpus folder not found: {root}")
        label = _corpus_label(root, labels)
        found, left = _scan_root(root, label, provenance(root), follow_symlinks)
        documents.extend(sorted(found, key=lambda d: d.relpath))
        skipped.extend(sorted(left, key=lambda s: s.relpath))
    return Discovery(documents[:limit] if limit else documents, skipped)


def _scan_root(root: Path, label: str, manifest: dict, follow_symlinks: bool,
               ) -> tuple[list[Document], list[Skipped]]:
    unknown = Provenance(None, None, False)
    real_root = root.resolve(strict=True)
    found: list[Document] = []
    reals: dict[str, tuple[Path, bool]] = {}  # relpath -> (real path, is it a link)
    skipped: list[Skipped] = []
    walked: set[Path] = {real_root}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_symlinks):
        here = Path(dirpath)
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            folder = here / name
            if folder.is_symlink():
                target = _real(folder)
                if target is None or target in walked or target.is_relative_to(real_root):
                    continue  # broken, a loop, or walked under its own name
                if not follow_symlinks:
                    skipped.append(Skipped(
                        label, folder.relative_to(root).as_posix(),
                        f"a folder that links outside the corpus to {target}; not walked "
                        "(--follow-symlinks walks it)"))
                    continue
                walked.add(target)
            kept.append(name)
        dirnames[:] = kept
        for filename in sorted(filenames):
            path = here / filename
            fmt = path.suffix.lower().lstrip(".")
            if fmt not in OFFICE_FORMATS or filename.startswith("."):
                continue
            relpath = path.relative_to(root).as_posix()
            row = manifest.get(relpath, unknown)

            def keep(**fields) -> Document:
                return Document(corpus=label, root=root, relpath=relpath, format=fmt,
                                license=row.license, source=row.source,
                                malformed=row.malformed, links_followed=follow_symlinks,
                                **fields)

            real = _real(path)
            if real is None:
                target = os.readlink(path) if path.is_symlink() else path
                skipped.append(Skipped(label, relpath, f"a link to {target}, which does not "
                                       "resolve"))
                continue
            if not follow_symlinks and not real.is_relative_to(real_root):
                found.append(keep(size_bytes=0, sha256="",
                                  refused=f"links outside the corpus to {real}"))
                continue
            special = special_file(os.stat(real).st_mode)  # stat, not open: a FIFO blocks
            if special is not None:
                skipped.append(Skipped(label, relpath, f"{special}, never opened"))
                continue
            reference, note = _reference(path, real_root, follow_symlinks)
            if note:
                skipped.append(Skipped(label, relpath + " (reference)", note))
            document = keep(size_bytes=os.stat(real).st_size, sha256=sha256_of(real),
                            reference_pdf=reference, refused=container_problem(real, fmt))
            found.append(document)
            reals[relpath] = (real, path.is_symlink())
    return _without_aliases(found, reals, label, skipped)


def _without_aliases(found: list[Document], reals: dict[str, tuple[Path, bool]], label: str,
                     skipped: list[Skipped]) -> tuple[list[Document], list[Skipped]]:
    """A link to a document swept under its own name is listed once, under that name."""
    own = {real: relpath for relpath, (real, link) in reals.items() if not link}
    kept = []
    for document in found:
        real, link = reals.get(document.relpath, (None, False))
        if link and real in own:
            skipped.append(Skipped(label, document.relpath,
                                   f"a link to {own[real]}, which is swept under its own name"))
        else:
            kept.append(document)
    return kept, skipped


def _real(path: Path) -> Path | None:
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing target, or a loop of links
        return None


def _reference(path: Path, real_root: Path, follow_symlinks: bool,
               ) -> tuple[Path | None, str | None]:
    """The document's reference PDF, when it is a regular file inside the corpus."""
    reference = path.with_name(path.stem + REFERENCE_SUFFIX)
    if not os.path.lexists(reference):
        return None, None
    real = _real(reference)
    if real is None:
        return None, "its reference PDF is a link that does not resolve; not used"
    if not follow_symlinks and not real.is_relative_to(real_root):
        return None, f"its reference PDF links outside the corpus to {real}; not used"
    special = special_file(os.stat(real).st_mode)
    if special is not None:
        return None, f"its reference PDF is {special}; never opened"
    return reference, None
