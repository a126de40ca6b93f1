"""Microsoft Office, as the reference: the ``<stem>.reference.pdf`` rendered by Microsoft
beside a document is presented as this suite's output, so the reference stands in the matrix
(checked against the source like any suite) and every other suite is compared with it."""

from __future__ import annotations

import os
import shutil
import stat
import time
from dataclasses import replace
from pathlib import Path


from harness.corpus.discover import special_file
from harness.formats import extensions, reference_for
from harness.pdfinfo import producer_of
from renderers import register
from renderers.base import Availability, Renderer, RenderOutcome, Status, Task
from renderers.output import finish

PER_DOCUMENT = "per document (read from each reference PDF)"
VIA = "reference file"


def without_reference(document: Path) -> RenderOutcome:
    """The outcome for a document with no reference PDF discovery let through (none there,
    or one it refused: a link out of the corpus, a FIFO)."""
    return RenderOutcome(Status.UNAVAILABLE, "no Microsoft rendering beside this "
                         f"document ({reference_for(document).name})", 0.0, via=VIA)


@register
class MicrosoftReference(Renderer):
    name = "msoffice"
    label = "Microsoft Office (reference PDF)"
    formats = extensions(without=frozenset({"csv"}))
    tasks = frozenset({Task.SHOW})
    is_reference = True

    def availability(self) -> Availability:
        # Each document carries its own rendering; its producer is read per document.
        return Availability(True, version=PER_DOCUMENT)

    def convert(self, document: Path, task: Task, workdir: Path,
                timeout_seconds: float) -> RenderOutcome:
        start = time.monotonic()
        reference = reference_for(document)
        try:
            mode = os.lstat(reference).st_mode
        except OSError:
            return without_reference(document)
        # A link is never followed, wherever it points: discovery decides what a corpus
        # holds, and a link may have been retargeted since.
        if stat.S_ISLNK(mode):
            return RenderOutcome(Status.UNAVAILABLE, f"the Microsoft rendering beside this "
                                 f"document ({reference.name}) is a symbolic link; not read",
                                 0.0, via=VIA)
        if (special := special_file(mode)) is not None:
            return RenderOutcome(Status.UNAVAILABLE, f"the Microsoft rendering beside this "
                                 f"document ({reference.name}) is {special}; never opened",
                                 0.0, via=VIA)
        target = workdir / "out" / f"{document.stem}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _copy_regular(reference, target)
        except OSError as exc:  # swapped for a link or a special file since the lstat
            return RenderOutcome(Status.UNAVAILABLE, f"the Microsoft rendering beside this "
                                 f"document ({reference.name}) cannot be read: {exc}", 0.0,
                                 via=VIA)
        outcome = finish(self.label, target, "pdf", time.monotonic() - start, via=VIA)
        return replace(outcome, suite_version=producer_of(target) or "unknown producer")


def _copy_regular(source: Path, target: Path) -> None:
    """Copy a regular file, never through a link and never blocking on a FIFO."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{source.name} is no regular file")
        with target.open("wb") as out:
            shutil.copyfileobj(fh, out)
