"""One job: one document through one suite, from rendering to a grade.

Runs inside a worker process. It never raises: whatever happens to the document or the
suite ends as a JobResult with a status and a one-line message.
"""

from __future__ import annotations

import os
import shutil
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image

import renderers
from harness.compare import structure
from harness.compare.documents import compare_renderings, write_diffs
from harness.compare.drawn import drawn_checks
from harness.compare.fonts import compare_fonts, font_use
from harness.compare.rendering import Rendering, load as load_rendering
from harness.compare.text import compare_text, pdf_text
from harness.compare.visual import is_blank
from harness.corpus import Document
from harness.corpus.boundary import changed_since_discovery
from harness.corpus.features import detect
from harness.errors import SourceError, SourceTooLarge
from harness.grade import grade
from harness.images import encode_page_image, save_page_image, write_atomically
from harness.rasterise import DEFAULT_DPI, MAX_PAGES
from harness.rasterise import Rasteriser, get as get_rasteriser
from harness.reuse import file_digest, once
from harness.records import (Artifacts, JobResult, SaveMeasures, Scores, ShowMeasures,
                             SuiteRun)
from harness.truth import SourceTruth, read_truth
from harness.truth.fonts import asked_fonts
from renderers.base import RenderOutcome, Status, Task
from harness.processes.memory import DEFAULT_LIMIT_MB, JobMemory
from harness.pdfinfo import pdf_page_count

REPORT_PAGES = 40  # page images kept per document and suite for the report
TASK_SHOW = Task.SHOW
__all__ = ["Job", "JobResult", "TASK_SHOW", "changed_result", "release_renderers",
           "result_without_rendering", "run_job"]


@dataclass(frozen=True)
class Job:
    document: Document
    suite: str
    artifacts_dir: Path  # this run's artifacts folder
    scratch_dir: Path
    timeout_seconds: float
    dpi: int = DEFAULT_DPI
    task: Task = TASK_SHOW
    memory_limit_mb: int | None = DEFAULT_LIMIT_MB  # per suite process; None: unbounded
    # Keep the suite's PDF or saved file whatever its grade (`fidelity references` installs
    # it; `--keep-outputs`); by default only a result graded below 5 keeps it.
    keep_outputs: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "task", Task(self.task))


# One renderer per worker process and sweep: it owns the worker's private suite profile.
_RENDERERS: dict[tuple[str, Path], renderers.Renderer] = {}


def _renderer(name: str, scratch: Path) -> renderers.Renderer:
    if (name, scratch) not in _RENDERERS:
        _RENDERERS[(name, scratch)] = renderers.get(name, scratch)
    return _RENDERERS[(name, scratch)]


def release_renderers(under: Path | None = None) -> None:
    """Stop this process's persistent suites (a Dask worker outlives the sweep); with
    `under`, only those whose scratch folder is there (one sweep's, on a shared worker)."""
    for key in [k for k in list(_RENDERERS) if under is None or k[1].is_relative_to(under)]:
        renderer = _RENDERERS.pop(key, None)
        if renderer is not None:
            renderer.close()


def _save_pages(images: list[Image.Image], folder: Path, artifacts_dir: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for number, image in enumerate(images[:REPORT_PAGES], start=1):
        target = folder / f"page-{number:03d}.png"
        save_page_image(image, target)
        names.append(target.relative_to(artifacts_dir).as_posix())
    return names


def _rendering_once(pdf: Path, job: Job, rasteriser: Rasteriser, graphics: bool,
                    folder: Path) -> tuple[Rendering, tuple[str, ...]]:
    """A reference PDF read, and its page images encoded, once per run, document and
    content: every suite of a document is compared with the same one. Each job still writes
    the page files into its own artifacts folder when they are not there (a Dask job's is
    its own), so the names it returns always name files it can vouch for."""
    key = (f"rendering-{job.document.key}-{file_digest(pdf)}-{rasteriser.name}-{job.dpi}"
           f"-{int(graphics)}")

    def read() -> tuple[Rendering, tuple[bytes, ...]]:
        colour: list[Image.Image] = []
        rendering = load_rendering(pdf, job.dpi, rasteriser, MAX_PAGES, keep_rgb=colour,
                                   graphics=graphics)
        return rendering, tuple(encode_page_image(image) for image in colour[:REPORT_PAGES])

    rendering, encoded = once(job.scratch_dir, key, read)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for number, data in enumerate(encoded, start=1):
        target = folder / f"page-{number:03d}.png"
        if not target.is_file():
            write_atomically(data, target)
        names.append(target.relative_to(job.artifacts_dir).as_posix())
    return rendering, tuple(names)


def result_without_rendering(document: Document, suite: str, version: str | None,
                             outcome: RenderOutcome, task: Task = TASK_SHOW) -> JobResult:
    return JobResult(corpus=document.corpus, document=document.relpath,
                     format=document.format, suite=suite,
                     suite_version=outcome.suite_version or version, task=Task(task),
                     status=outcome.status, grade=None, message=outcome.message,
                     stderr=outcome.stderr, suite_seconds=outcome.seconds,
                     total_seconds=outcome.seconds,
                     suite_run=SuiteRun(via=outcome.via or None))


def run_job(job: Job) -> JobResult:
    start = time.monotonic()
    with JobMemory(job.memory_limit_mb) as memory:
        result = _guarded(job, start, memory)
    use = memory.use
    return replace(result, suite_peak_rss_mb=use.suite_peak_rss_mb,
                   harness_peak_rss_mb=use.harness_peak_rss_mb)


def _guarded(job: Job, start: float, memory: JobMemory) -> JobResult:
    try:
        return _run(job, start, memory)
    except Exception as exc:  # a bug in the harness must cost one document, not the sweep
        return JobResult(corpus=job.document.corpus, document=job.document.relpath,
                         format=job.document.format, suite=job.suite, suite_version=None,
                         task=job.task, status=Status.FAILED, grade=None,
                         message=f"internal error in the harness: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}",
                         stderr=traceback.format_exc(limit=8), suite_seconds=0.0,
                         total_seconds=time.monotonic() - start,
                         suite_run=SuiteRun(harness_error=True))


def changed_result(job: Job, version: str | None = None) -> JobResult | None:
    """The job refused, when its document is no longer what discovery checked (a link
    retargeted outside the corpus, a FIFO, other bytes); None when it may go ahead. Marked
    a harness matter so that it is neither cached nor kept on resume: it is done again."""
    reason = changed_since_discovery(job.document)
    if reason is None:
        return None
    result = result_without_rendering(job.document, job.suite, version,
                                      RenderOutcome(Status.UNSUPPORTED, reason, 0.0), job.task)
    return replace(result, suite_run=SuiteRun(harness_error=True))


def _run(job: Job, start: float, memory: JobMemory) -> JobResult:
    doc = job.document
    renderer = _renderer(job.suite, job.scratch_dir)
    memory.follow(renderer.process_groups)
    version = renderer.availability().version
    if (changed := changed_result(job, version)) is not None:  # before anything reads it
        return _with_total(changed, start)
    workdir = job.scratch_dir / "jobs" / f"{doc.key}-{job.suite}-{job.task}-{os.getpid()}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    try:
        # A run that follows links (--follow-symlinks) hands suites the file a link names,
        # so that the reference beside it is the one next to the real document.
        given = doc.path.resolve() if doc.links_followed else doc.path
        outcome = renderer.run(given, job.task, workdir, job.timeout_seconds)
        outcome = _password_refusal(outcome, doc)
        if memory.over_limit is not None:
            outcome = replace(outcome, status=Status.CRASHED, output_path=None,
                              message=f"{memory.over_limit} ({outcome.message})")
        if outcome.status is not Status.OK or outcome.output_path is None:
            result = result_without_rendering(doc, job.suite, version, outcome, job.task)
            return _with_total(result, start)
        version = outcome.suite_version or version
        if job.task is TASK_SHOW:
            result = _measure(job, renderer, version, outcome, start)
        else:
            result = _measure_saved(job, version, outcome, start)
        result = _without_unexamined_outputs(job, result)
        return replace(result, suite_run=replace(result.suite_run, via=outcome.via or None,
                                                 warnings=tuple(outcome.warnings)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _without_unexamined_outputs(job: Job, result: JobResult) -> JobResult:
    """The suite's own PDF or saved file, kept only where a person will open it: a result
    graded below 5, or one that is not ok (blank pages). Page images are kept for every
    result and every measure is in the store; the outputs of the rest, graded 5 or with
    nothing to grade, were 266 of the 514 MB a sweep of the shared corpus wrote."""
    if job.keep_outputs or result.status is not Status.OK or (
            result.grade is not None and result.grade < 5):
        return result
    artifacts = result.artifacts
    for relative in (artifacts.pdf, artifacts.saved):
        if relative is not None:
            (job.artifacts_dir / relative).unlink(missing_ok=True)
    return replace(result, artifacts=replace(artifacts, pdf=None, saved=None))


# A suite that cannot open a password-protected file refuses it: no suite is given a
# password. A crash stays a crash; the message still says why the file was hard.
_REFUSED_WHEN_ENCRYPTED = frozenset({Status.FAILED, Status.EMPTY})


def _password_refusal(outcome: RenderOutcome, doc: Document) -> RenderOutcome:
    if outcome.status is Status.OK or "encrypted" not in detect(doc.path, doc.format).tags:
        return outcome
    status = (Status.UNSUPPORTED if outcome.status in _REFUSED_WHEN_ENCRYPTED
              else outcome.status)
    return replace(outcome, status=status, message="the document is password-protected "
                   f"(encrypted) and no password is given: {outcome.message}")


def _with_total(result: JobResult, start: float) -> JobResult:
    return replace(result, total_seconds=time.monotonic() - start)


def _read_truth(job: Job) -> tuple[SourceTruth | None, str | None]:
    """The source's truth, read once per run whichever suite or task asks first."""
    doc = job.document

    def read() -> tuple[SourceTruth | None, str | None]:
        try:
            return read_truth(doc.path, doc.format), None
        except SourceError as exc:
            return None, str(exc)

    return once(job.scratch_dir, f"truth-{doc.key}-{doc.sha256}-{doc.format}", read)


def _asked_fonts(job: Job) -> list[str]:
    doc = job.document
    return once(job.scratch_dir, f"fonts-{doc.key}-{doc.sha256}",
                lambda: asked_fonts(doc.path))


def _measured(job: Job, version: str | None, outcome: RenderOutcome, start: float,
              **measures: Any) -> JobResult:
    """A result of a job whose suite produced a file: the run's facts, then what was measured."""
    doc = job.document
    return JobResult(corpus=doc.corpus, document=doc.relpath, format=doc.format,
                     suite=job.suite, suite_version=version, task=job.task,
                     stderr=outcome.stderr, suite_seconds=outcome.seconds,
                     total_seconds=time.monotonic() - start, **measures)


def _measure(job: Job, renderer: renderers.Renderer, version: str | None,
             outcome: RenderOutcome, start: float) -> JobResult:
    doc = job.document
    folder = job.artifacts_dir / doc.key
    folder.mkdir(parents=True, exist_ok=True)
    kept_pdf = folder / f"{job.suite}.pdf"
    shutil.copyfile(outcome.output_path, kept_pdf)

    rasteriser = get_rasteriser()
    colour: list[Image.Image] = []
    truth, truth_error = _read_truth(job)
    # Paths and images are read only for a source with something to draw: on a page of
    # thousands of vector objects they cost more than everything else.
    graphics = truth is not None and bool(truth.drawn)
    if renderer.is_reference:  # its rendering is the reference's: read once, shown once
        candidate, pages = _rendering_once(kept_pdf, job, rasteriser, graphics,
                                           folder / "reference")
    else:
        candidate = load_rendering(kept_pdf, job.dpi, rasteriser, MAX_PAGES, keep_rgb=colour,
                                   graphics=graphics)
        pages = tuple(_save_pages(colour, folder / job.suite, job.artifacts_dir))
    rendered_text = pdf_text(kept_pdf)
    # ShowMeasures' fields, by name, as they are found
    details: dict[str, Any] = {
        "rasteriser": rasteriser.settings(job.dpi).__dict__,
        "truth_reader": truth.reader if truth else None,
        "truth_error": truth_error,
        "truth_facts": truth.facts if truth else {},
    }
    files: dict[str, Any] = {
        "pages": pages,
        "pdf": kept_pdf.relative_to(job.artifacts_dir).as_posix(),
    }
    rendered_pages = outcome.pages or pdf_page_count(kept_pdf)[0]
    scores: Scores = {"pages_rendered": rendered_pages}

    def result(status: Status, grade_: int | None, message: str) -> JobResult:
        return _measured(job, version, outcome, start, status=status, grade=grade_,
                         message=message, scores=scores, artifacts=Artifacts(**files),
                         show=ShowMeasures(**details))

    nothing_shown = not rendered_text.strip() and all(is_blank(p.image)
                                                      for p in candidate.pages)
    source_has_text = truth is None or bool(truth.text_blocks)
    if nothing_shown and source_has_text:
        why = (f"the source could not be read either ({truth_error})" if truth_error
               else f"the source has {len(truth.text_blocks)} text block(s)")
        return result(Status.EMPTY, None, f"{renderer.label} showed only blank pages; {why}")

    text_recall = None
    if truth is not None:
        text = compare_text(truth.text_blocks, rendered_text, truth.numeric_tokens_unreliable)
        measured = text.recall if text.source_tokens else None
        if truth.text_trusted:
            text_recall = measured
            scores["text_recall"] = measured
        else:  # a lossy reader's figure keeps a name of its own, so nobody grades on it
            scores["text_recall_lossy_reader"] = measured
        scores.update(text_similarity=text.order_similarity, source_words=text.source_tokens,
                      rendered_words=text.rendered_tokens)
        details["missing_words"] = tuple(text.missing_sample)

    asked = _asked_fonts(job)
    expected_pages = truth.expected_pages if truth else None
    details["expected_pages_source"] = truth.expected_pages_source if truth else None
    comparison = reference = None
    if renderer.is_reference:
        details["reference_note"] = ("this suite is the reference: checked against the "
                                     "source only")
        # Microsoft's own rendering has the pages Microsoft gave it: a count in app.xml
        # (perhaps a generator's template) cannot make it wrong.
        expected_pages = rendered_pages
        details["expected_pages_source"] = "the reference PDF itself"
    elif doc.reference_pdf is not None:
        reference, files["reference_pages"] = _rendering_once(
            doc.reference_pdf, job, rasteriser, graphics, folder / "reference")
        comparison = compare_renderings(reference, candidate, asked or None)
        diffs = write_diffs(reference, candidate, comparison, folder / f"{job.suite}-diff",
                            limit=REPORT_PAGES)
        files["diff_pages"] = tuple(p.relative_to(job.artifacts_dir).as_posix() for p in diffs)
        expected_pages = reference.page_count
        details["expected_pages_source"] = "Microsoft reference PDF"
        details["page_pairs"] = tuple(p.to_json() for p in comparison.pages)
        details["layout"] = comparison.layout.__dict__
        scores.update(comparison.scores())
    # Counted per character: a font the suite chose apart from one drawing a few glyphs.
    fonts = compare_fonts(asked or (comparison.fonts.asked if comparison else ()),
                          candidate.fonts, font_use(kept_pdf))
    details["fonts"] = fonts.to_json()
    scores["fonts_substituted"] = fonts.substitutions
    scores["pages_expected"] = expected_pages

    checks_share = drawn_share = None
    if truth is not None and truth.text_trusted:
        checks = structure.show_checks(truth, candidate, rendered_text)
        drawn = drawn_checks(truth, candidate, reference)
        details["checks"] = tuple(c.to_json() for c in checks + drawn)
        checks_share = structure.passed_share(checks)
        drawn_share = structure.passed_share(drawn)
        scores["checks_passed"] = checks_share
        scores["drawn_passed"] = drawn_share

    grading = grade(text_recall=text_recall, expected_pages=expected_pages,
                    rendered_pages=rendered_pages, checks_passed=checks_share,
                    drawn_passed=drawn_share,
                    **(comparison.grade_inputs() if comparison else {}))
    details["signals"] = grading.signals
    message = grading.reason
    if comparison is not None:
        compared = replace(comparison, grading=grading, fonts=fonts)
        if cause := compared.cause():
            message += f"; {cause}"
            details["cause"] = cause
        details["flow"] = compared.to_json()["flow"]
    if truth is not None and not truth.text_trusted:
        message += (f"; text_recall_lossy_reader is for information only ({truth.reader} "
                    "is lossy)")
    if truth_error:
        message += f"; source truth unavailable ({truth_error})"
    return result(Status.OK, grading.grade, message)


def _measure_saved(job: Job, version: str | None, outcome: RenderOutcome,
                   start: float) -> JobResult:
    """A saved-back file, re-read and checked against the source's truth: what a recipient
    of the file still has."""
    doc = job.document
    # What the suite wrote decides: a document it took for another kind is saved as that kind.
    extension = outcome.output_path.suffix.lower().lstrip(".")
    folder = job.artifacts_dir / doc.key
    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / f"{job.suite}-{job.task}.{extension}"
    shutil.copyfile(outcome.output_path, kept)
    source, source_error = _read_truth(job)
    saved_as = Artifacts(saved=kept.relative_to(job.artifacts_dir).as_posix())
    # SaveMeasures' fields, by name, as they are found
    details: dict[str, Any] = {"truth_error": source_error,
                               "truth_reader": source.reader if source else None}
    scores: Scores = {}

    def result(status: Status, grade_: int | None, message: str) -> JobResult:
        return _measured(job, version, outcome, start, status=status, grade=grade_,
                         message=message, scores=scores, artifacts=saved_as,
                         save=SaveMeasures(**details))

    try:
        saved = read_truth(kept, extension)
    except SourceTooLarge as exc:  # it may open fine elsewhere: not a failure, just unchecked
        return result(Status.OK, None, f"not graded: the saved .{extension} is too large to "
                      f"check ({exc})")
    except SourceError as exc:
        return result(Status.FAILED, None, f"the saved .{extension} does not read back: {exc}")
    details["saved_facts"] = saved.facts
    if source is None:
        return result(Status.OK, None, f"not graded: source truth unavailable ({source_error})")
    details["truth_facts"] = source.facts
    details["facts_changed"] = {
        key: [value, saved.facts[key]] for key, value in source.facts.items()
        if key in saved.facts and isinstance(value, int) and saved.facts[key] != value}
    text = compare_text(source.text_blocks, "\n".join(saved.text_blocks),
                        source.numeric_tokens_unreliable or saved.numeric_tokens_unreliable)
    measured = text.recall if text.source_tokens else None
    text_recall = measured if source.text_trusted else None
    scores["text_recall" if source.text_trusted else "text_recall_lossy_reader"] = measured
    scores.update(text_similarity=text.order_similarity, source_words=text.source_tokens,
                  rendered_words=text.rendered_tokens)
    details["missing_words"] = tuple(text.missing_sample)
    if "slides" in saved.facts and "slides" in source.facts:
        scores.update(slides_source=source.facts["slides"], slides_saved=saved.facts["slides"])
    if job.task is Task.SAVE_RECALC:
        return _grade_recalculated(source, saved, text_recall, scores, details, result)
    checks = structure.save_checks(source, saved) if source.text_trusted else []
    details["checks"] = tuple(c.to_json() for c in checks)
    share = structure.passed_share(checks)
    scores["checks_passed"] = share
    grading = grade(text_recall=text_recall, checks_passed=share)
    details["signals"] = grading.signals
    note = ("; values as saved without recalculation (what a user gets by default)"
            if source.cells else "")
    return result(Status.OK, grading.grade, grading.reason + note)


def _grade_recalculated(source: SourceTruth, saved: SourceTruth, text_recall: float | None,
                        scores: dict, details: dict, result) -> JobResult:
    """A save after forced recalculation, graded on its formulas' values against Excel's."""
    checks = structure.recalculated_checks(source, saved)
    details["checks"] = tuple(c.to_json() for c in checks)
    share = structure.passed_share(checks)
    scores["checks_passed"] = share
    if not checks:
        grading = grade(text_recall=text_recall)
        why = ("no formula to recalculate" if source.cells else
               f"{source.reader} reads no cells, so no formula could be checked")
        return result(Status.OK, grading.grade, f"{grading.reason}; {why}")
    if not structure.cache_written_by_excel(source):
        who = source.facts.get("application") or "an unnamed application"
        details["signals"] = {}
        return result(Status.OK, None, f"not graded: the cached values were written by {who}, "
                      "not Microsoft Excel, so a stale cache cannot be told from a suite's "
                      f"error ({checks[0].label})")
    grading = grade(text_recall=text_recall, checks_passed=share)
    details["signals"] = grading.signals
    return result(Status.OK, grading.grade, grading.reason + "; values after a forced "
                  "recalculation, against the values Excel cached")
