"""Microsoft Office, as the reference: the ``<stem>.reference.pdf`` rendered by Microsoft
beside a document is presented as this suite's output, so the reference stands in the matrix
(checked against the source like any suite) and every other suite is compared with it."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path


from harness.formats import extensions, reference_for
from harness.pdfinfo import producer_of
from renderers import register
from renderers.base import Availability, Renderer, RenderOutcome, Status, Task
from renderers.output import finish

PER_DOCUMENT = "per document (read from each reference PDF)"


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
        if not reference.is_file():
            return RenderOutcome(Status.UNAVAILABLE, "no Microsoft rendering beside this "
                                 f"document ({reference.name})", 0.0, via="reference file")
        target = workdir / "out" / f"{document.stem}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(reference, target)
        outcome = finish(self.label, target, "pdf", time.monotonic() - start,
                         via="reference file")
        return replace(outcome, suite_version=producer_of(reference) or "unknown producer")
