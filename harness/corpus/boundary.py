"""At job time, the document is still the one discovery checked.

Discovery (harness.corpus.discover) checks each path once; a job opens it later, through
whatever the path is by then. A link retargeted outside the corpus, a file swapped for a
FIFO or rewritten in between is caught here, just before anything reads the document, and
the job is refused with the reason. What is left is the moment between this check and the
suite's own open: narrowed, not closed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from harness.corpus.discover import Document, special_file

CHANGED = "changed since discovery"


def changed_since_discovery(document: Document) -> str | None:
    """Why `document` is no longer what discovery checked, or None. Nothing is opened
    before stat says it is a regular file; its bytes are hashed and compared with
    discovery's hash. A refused document is never read, so there is nothing to check."""
    if document.refused is not None:
        return None
    problem = _outside_or_special(document.path, document, "")
    if problem is None and document.reference_pdf is not None:
        problem = _outside_or_special(document.reference_pdf, document, "its reference PDF ")
    if problem is not None:
        return f"{CHANGED}: {problem}"
    real = document.path.resolve(strict=True)
    if os.stat(real).st_size != document.size_bytes or _sha256(real) != document.sha256:
        return f"{CHANGED}: its bytes are not those discovery read (sha256 differs)"
    return None


def _outside_or_special(path: Path, document: Document, what: str) -> str | None:
    try:
        real = path.resolve(strict=True)
        root = document.root.resolve(strict=True)
        mode = os.stat(real).st_mode
    except (OSError, RuntimeError):  # gone, a broken link, or a loop of links
        return f"{what}no longer there"
    if not document.links_followed and not real.is_relative_to(root):
        return f"{what}now links outside the corpus to {real}"
    special = special_file(mode)
    return f"{what}now {special}, never opened" if special else None


def _sha256(real: Path) -> str | None:
    """The file's hash, opened so that a file swapped for a FIFO or a link since the stat
    neither blocks nor is followed (None then)."""
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        digest = hashlib.sha256()
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
        return digest.hexdigest()
