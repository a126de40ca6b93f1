"""Microsoft renderings made for the documents of a corpus that lack one: each is rendered by
Microsoft Office (``msoffice-live``) as an ordinary `show` job on an executor (the local pool,
or a Dask cluster whose Windows worker has Office), and its PDF is written beside the document
as ``<stem>.reference.pdf``, with the application that exported it, and its version, as its
Producer.

A reference is never overwritten, nor ever seen half-written: documents that have one are
left alone, and the new file, written whole beside it under a temporary name, is put in
place with a hard link, which fails when a reference appeared meanwhile (that one is kept).
Where the file system has no hard links, it is renamed into place under a lock file, once
no reference is there (see ``_rename_exclusive``). Documents are found as a sweep finds
them: what discovery refuses or skips is listed, never rendered.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import renderers
from harness.corpus import Document
from harness.corpus.discover import scan
from harness.errors import NothingToDo, UsageError
from harness.executors import Executor
from harness.formats import reference_for
from harness.pdfinfo import pdf_page_count
from harness.pipeline import Job
from harness.processes.groups import sweep_tagged
from harness.processes.memory import DEFAULT_LIMIT_MB
from harness.records import JobResult, Status, Task

# Only Microsoft Office makes a reference: anything else would be compared with itself.
MAKERS = ("msoffice-live",)
# The job measures the rendering as a sweep would; nothing of that is kept here, so its page
# images are drawn at the lowest resolution the rasteriser takes, to cost little.
JOB_DPI = 20
SCRATCH_PREFIX = "fidelity-"


@dataclass(frozen=True)
class Made:
    """What became of one document."""

    document: str  # corpus/path
    reason: str = ""  # how it was written, or why not


@dataclass
class ReferencesSummary:
    written: list[Made] = field(default_factory=list)
    had_one: list[Made] = field(default_factory=list)
    failed: list[Made] = field(default_factory=list)
    skipped: list[Made] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary, then one line per document that was not simply left alone."""
        head = (f"{len(self.written)} written, {len(self.had_one)} already had one, "
                f"{len(self.failed)} failed, {len(self.skipped)} skipped")
        return [head,
                *(f"written: {m.document} ({m.reason})" for m in self.written),
                *(f"failed: {m.document}: {m.reason}" for m in self.failed),
                *(f"skipped: {m.document}: {m.reason}" for m in self.skipped)]


def make_references(roots: list[Path], executor: Executor, suite: str = MAKERS[0], *,
                    timeout_seconds: float = 120.0) -> ReferencesSummary:
    """Render each document of the corpora that has no reference with `suite`, where the
    executor runs its jobs, and write its reference beside it."""
    if suite not in MAKERS:
        raise UsageError(f"{suite} does not make references; only Microsoft Office does: "
                         f"{', '.join(MAKERS)}")
    found = scan(roots)
    if not found.documents:
        raise NothingToDo("no Office document found in the corpus folder(s)")
    summary = ReferencesSummary(skipped=[Made(f"{s.corpus}/{s.relpath}", s.reason)
                                         for s in found.skipped])
    with renderers.get(suite) as renderer:
        wanted = []
        for doc in found.documents:
            name = f"{doc.corpus}/{doc.relpath}"
            if doc.refused:
                summary.skipped.append(Made(name, doc.refused))
            elif doc.reference_pdf is not None:
                summary.had_one.append(Made(name))
            elif os.path.lexists(reference_for(doc.path)):  # one discovery would not use
                summary.had_one.append(Made(name, "not used by sweeps (see skipped)"))
            elif (refusal := renderer.refusal(doc.path, Task.SHOW)) is not None:
                summary.skipped.append(Made(name, refusal.message))
            elif not os.access(doc.path.parent, os.W_OK):  # not rendered for nothing
                summary.skipped.append(Made(name, "its folder is not writable"))
            else:
                wanted.append(doc)
        if not wanted:  # nothing to render: Office is not needed, nor asked for
            return summary
        # As the executor's workers have it (a Dask fleet's Windows worker), or this machine.
        available = executor.availability({suite: renderer.availability()})[suite]
        if not available.available:
            raise NothingToDo(f"{suite} is not available: {available.reason}")
    _render(wanted, executor, suite, timeout_seconds, summary)
    return summary


def _render(documents: list[Document], executor: Executor, suite: str,
            timeout_seconds: float, summary: ReferencesSummary) -> None:
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-references-"))
    artifacts = scratch / "artifacts"
    by_key = {(d.corpus, d.relpath): d for d in documents}
    jobs = [Job(d, suite, artifacts, scratch / "scratch", timeout_seconds, JOB_DPI,
                Task.SHOW, DEFAULT_LIMIT_MB, keep_outputs=True) for d in documents]
    unavailable: list[str] = []

    def record(result: JobResult) -> None:
        doc = by_key[(result.corpus, result.document)]
        name = f"{doc.corpus}/{doc.relpath}"
        if result.status is Status.UNAVAILABLE:
            unavailable.append(result.message)
        if result.status is not Status.OK or result.artifacts.pdf is None:
            summary.failed.append(Made(name, result.message if result.status is Status.FAILED
                                       else f"{result.status}: {result.message}"))
            return
        # The suite versions a PDF by the application that exported it: "Microsoft Word 16.0…"
        producer = result.suite_version or "Microsoft Office, unknown version"
        state, why = install(artifacts / result.artifacts.pdf, reference_for(doc.path),
                             producer)
        {"written": summary.written, "had one": summary.had_one,
         "failed": summary.failed}[state].append(Made(name, why))

    try:  # as a sweep does: whatever a worker that died left running is killed at the end
        with sweep_tagged(f"references-{uuid.uuid4().hex[:12]}"):
            executor.run(jobs, record)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if unavailable and len(unavailable) == len(jobs):
        raise NothingToDo(f"{suite} is not available: {unavailable[0]}")


def install(rendered: Path, target: Path, producer: str) -> tuple[str, str]:
    """Put the rendering in place as `target`, its Producer set: ("written", how),
    ("had one", why) when a reference appeared meanwhile (kept), or ("failed", why)."""
    pages, problem = pdf_page_count(rendered)
    if not pages:
        return "failed", f"the PDF is unusable: {problem}"
    part = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        note = _with_producer(rendered, part, producer)
        written, written_problem = pdf_page_count(part)
        if written != pages:
            return "failed", f"the PDF did not survive setting its Producer: {written_problem}"
        with part.open("r+b") as whole:  # on disk before its name is the reference's
            os.fsync(whole.fileno())
        try:
            os.link(part, target)  # atomic, and never replaces an existing file
        except FileExistsError:
            return "had one", "a reference appeared while it was rendered; kept"
        except OSError:  # a file system without hard links
            try:
                locked = _rename_exclusive(part, target)
            except FileExistsError:
                return "had one", "a reference appeared while it was rendered; kept"
            if locked is not None:
                return "failed", locked
    except OSError as exc:
        return "failed", f"cannot write {target}: {exc.strerror or exc}"
    finally:
        part.unlink(missing_ok=True)
    return "written", f"{target.name}, {pages} page(s), {producer}{note}"


def _with_producer(source: Path, target: Path, producer: str) -> str:
    """A copy of the PDF whose Producer names the Office that made it; "" or a note when
    the PDF is copied as it is (pypdf could not rewrite it)."""
    from pypdf import PdfReader, PdfWriter  # noqa: PLC0415 - only this command needs it
    from pypdf.errors import PyPdfError  # noqa: PLC0415

    try:
        writer = PdfWriter(clone_from=PdfReader(source))
        writer.add_metadata({"/Producer": producer})
        with target.open("xb") as out:
            writer.write(out)
        return ""
    except (PyPdfError, ValueError, KeyError) as exc:
        target.unlink(missing_ok=True)
        shutil.copyfile(source, target)
        return f"; Producer not recorded: {type(exc).__name__}: {exc}"


def _rename_exclusive(part: Path, target: Path) -> str | None:
    """The whole file `part` renamed to `target`, FileExistsError when one is there, or why
    not when another `fidelity references` holds the lock (or left it behind): a
    rename is atomic, so a crash leaves the reference absent or whole, never half-written.
    A rename replaces on POSIX, so it is done only under a lock file (created with O_EXCL)
    that every `fidelity references` takes, once no reference is there: only a writer that
    is not this command, in the instant between that look and the rename, could be
    replaced (on Windows, a rename never replaces)."""
    lock = target.with_name(f".{target.name}.lock")
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return (f"{lock} exists: another fidelity references is writing this reference, or "
                "one that was stopped left it (remove it then)")
    try:
        if os.path.lexists(target):
            raise FileExistsError(target)
        os.rename(part, target)
        return None
    finally:
        os.close(fd)
        lock.unlink(missing_ok=True)
