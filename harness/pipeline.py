"""One job: one document through one suite, from rendering to a grade.

Runs inside a worker process. It never raises: whatever happens to the document or the
suite ends as a JobResult with a status and a one-line message.
"""

from __future__ import annotations

import os
import shutil
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

import renderers
from harness.compare.text import compare_text, pdf_text
from harness.compare.visual import compare_pages, is_blank
from harness.corpus import Document
from harness.errors import SourceError
from harness.grade import grade
from harness.rasterise import DEFAULT_DPI, MAX_PAGES
from harness.rasterise import get as get_rasteriser
from harness.truth import SourceTruth, read_truth
from renderers.base import RenderOutcome, Status, Task
from renderers.output import pdf_page_count

REPORT_PAGES = 40  # page images kept per document and suite for the report
TASK_SHOW = Task.SHOW.value


@dataclass(frozen=True)
class Job:
    document: Document
    suite: str
    artifacts_dir: Path  # this run's artifacts folder
    scratch_dir: Path
    timeout_seconds: float
    dpi: int = DEFAULT_DPI
    task: str = TASK_SHOW


@dataclass(frozen=True)
class JobResult:
    corpus: str
    document: str
    format: str
    suite: str
    suite_version: str | None
    task: str
    status: str
    grade: int | None
    message: str
    stderr: str = ""
    suite_seconds: float = 0.0
    total_seconds: float = 0.0
    scores: dict[str, float | int | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


# One renderer per worker process and sweep: it owns the worker's private suite profile.
_RENDERERS: dict[tuple[str, Path], renderers.Renderer] = {}


def _renderer(name: str, scratch: Path) -> renderers.Renderer:
    if (name, scratch) not in _RENDERERS:
        _RENDERERS[(name, scratch)] = renderers.get(name, scratch)
    return _RENDERERS[(name, scratch)]


def _save_pages(images: list[Image.Image], folder: Path, artifacts_dir: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for number, image in enumerate(images[:REPORT_PAGES], start=1):
        target = folder / f"page-{number:03d}.png"
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        image.save(temporary, format="PNG")  # optimize=True: 4x slower for 2 % smaller
        os.replace(temporary, target)  # atomic: suites of one document share the reference
        names.append(target.relative_to(artifacts_dir).as_posix())
    return names


def result_without_rendering(document: Document, suite: str, version: str | None,
                             outcome: RenderOutcome, task: str = TASK_SHOW) -> JobResult:
    details = {"via": outcome.via} if outcome.via else {}
    return JobResult(document.corpus, document.relpath, document.format, suite,
                     outcome.suite_version or version, task, outcome.status.value, None,
                     outcome.message, outcome.stderr, outcome.seconds, outcome.seconds,
                     details=details)


def run_job(job: Job) -> JobResult:
    start = time.monotonic()
    try:
        return _run(job, start)
    except Exception as exc:  # a bug in the harness must cost one document, not the sweep
        return JobResult(job.document.corpus, job.document.relpath, job.document.format,
                         job.suite, None, job.task, Status.FAILED.value, None,
                         f"internal error in the harness: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}",
                         traceback.format_exc(limit=8), 0.0, time.monotonic() - start,
                         details={"harness_error": True})


def _run(job: Job, start: float) -> JobResult:
    doc = job.document
    renderer = _renderer(job.suite, job.scratch_dir)
    version = renderer.availability().version
    workdir = job.scratch_dir / "jobs" / f"{doc.key}-{job.suite}-{job.task}-{os.getpid()}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    try:
        outcome = renderer.run(doc.path, Task(job.task), workdir, job.timeout_seconds)
        if outcome.status is not Status.OK or outcome.output_path is None:
            result = result_without_rendering(doc, job.suite, version, outcome, job.task)
            return _with_total(result, start)
        version = outcome.suite_version or version
        if job.task == TASK_SHOW:
            result = _measure(job, renderer, version, outcome, start)
        else:
            result = _measure_saved(job, version, outcome, start)
        if outcome.via:
            result.details["via"] = outcome.via
        if outcome.warnings:
            result.details["suite_warnings"] = list(outcome.warnings)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _with_total(result: JobResult, start: float) -> JobResult:
    return replace(result, total_seconds=time.monotonic() - start)


def _read_truth(doc: Document) -> tuple[SourceTruth | None, str | None]:
    try:
        return read_truth(doc.path, doc.format), None
    except SourceError as exc:
        return None, str(exc)


def _measure(job: Job, renderer: renderers.Renderer, version: str | None,
             outcome: RenderOutcome, start: float) -> JobResult:
    doc = job.document
    rasteriser = get_rasteriser()
    folder = job.artifacts_dir / doc.key
    folder.mkdir(parents=True, exist_ok=True)
    kept_pdf = folder / f"{job.suite}.pdf"
    shutil.copyfile(outcome.output_path, kept_pdf)

    candidate = rasteriser.render(kept_pdf, job.dpi, MAX_PAGES)
    rendered_text = pdf_text(kept_pdf)
    truth, truth_error = _read_truth(doc)
    details: dict[str, Any] = {
        "rasteriser": rasteriser.settings(job.dpi).__dict__,
        "truth_reader": truth.reader if truth else None,
        "truth_error": truth_error,
        "truth_facts": truth.facts if truth else {},
        "pages": _save_pages(candidate, folder / job.suite, job.artifacts_dir),
        "pdf": kept_pdf.relative_to(job.artifacts_dir).as_posix(),
    }
    rendered_pages = outcome.pages or pdf_page_count(kept_pdf)[0]
    scores: dict[str, float | int | None] = {"pages_rendered": rendered_pages}

    nothing_shown = not rendered_text.strip() and all(is_blank(p) for p in candidate)
    source_has_text = truth is None or bool(truth.text_blocks)
    if nothing_shown and source_has_text:
        why = (f"the source could not be read either ({truth_error})" if truth_error
               else f"the source has {len(truth.text_blocks)} text block(s)")
        return JobResult(doc.corpus, doc.relpath, doc.format, job.suite, version, job.task,
                         Status.EMPTY.value, None,
                         f"{renderer.label} showed only blank pages; {why}",
                         outcome.stderr, outcome.seconds, time.monotonic() - start,
                         scores, details)

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
        details["missing_words"] = list(text.missing_sample)

    visual_score = None
    expected_pages = truth.expected_pages if truth else None
    details["expected_pages_source"] = truth.expected_pages_source if truth else None
    if renderer.is_reference:
        details["reference"] = "this suite is the reference: checked against the source only"
    elif doc.reference_pdf is not None:
        reference = rasteriser.render(doc.reference_pdf, job.dpi, MAX_PAGES)
        details["reference_pages"] = _save_pages(reference, folder / "reference",
                                                 job.artifacts_dir)
        visual = compare_pages(reference, candidate)
        visual_score = visual.score
        expected_pages = len(reference)
        details["expected_pages_source"] = "Microsoft reference PDF"
        details["page_pairs"] = [p.__dict__ for p in visual.pairs]
        scores.update(ssim_mean=round(visual.score, 4), ssim_min=round(visual.min_ssim, 4),
                      pages_reference=len(reference))
    scores["pages_expected"] = expected_pages

    grading = grade(text_recall=text_recall, visual_score=visual_score,
                    expected_pages=expected_pages, rendered_pages=rendered_pages)
    details["signals"] = grading.signals
    message = grading.reason
    if truth is not None and not truth.text_trusted:
        message += (f"; text_recall_lossy_reader is for information only ({truth.reader} "
                    "is lossy)")
    if truth_error:
        message += f"; source truth unavailable ({truth_error})"
    return JobResult(doc.corpus, doc.relpath, doc.format, job.suite, version, job.task,
                     Status.OK.value, grading.grade, message, outcome.stderr, outcome.seconds,
                     time.monotonic() - start, scores, details)


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
    source, source_error = _read_truth(doc)
    details: dict[str, Any] = {"saved": kept.relative_to(job.artifacts_dir).as_posix(),
                               "truth_error": source_error,
                               "truth_reader": source.reader if source else None}
    scores: dict[str, float | int | None] = {}

    def result(status: Status, grade_: int | None, message: str) -> JobResult:
        return JobResult(doc.corpus, doc.relpath, doc.format, job.suite, version, job.task,
                         status.value, grade_, message, outcome.stderr, outcome.seconds,
                         time.monotonic() - start, scores, details)

    try:
        saved = read_truth(kept, extension)
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
    details["missing_words"] = list(text.missing_sample)
    # Slides are the one count a save must keep exactly (hidden ones included).
    expected = source.facts.get("slides") if "slides" in saved.facts else None
    if expected is not None:
        scores.update(slides_source=expected, slides_saved=saved.facts["slides"])
    grading = grade(text_recall=text_recall, visual_score=None,
                    expected_pages=int(expected) if expected is not None else None,
                    rendered_pages=int(saved.facts.get("slides", 0)))
    details["signals"] = grading.signals
    return result(Status.OK, grading.grade, grading.reason)
