"""Validation and classification of what a suite left behind.

A suite may exit 0 and still write nothing usable, or exit non-zero after writing a good
file; the outcome is decided by the exit status and by the file itself, the same way for
every suite.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


from harness.formats import main_part
from harness.pdfinfo import pdf_page_count
from renderers.base import RenderOutcome, Status
from harness.processes.groups import ProcessResult



@dataclass(frozen=True)
class ExitMeaning:
    """What a suite's documented exit code means; ``keeps_output`` when the file still counts."""

    status: Status
    message: str
    keeps_output: bool = False


def package_problem(path: Path, extension: str) -> str | None:
    """Why a saved OOXML/ODF package is unusable, or None when it holds its main part."""
    try:
        if path.stat().st_size == 0:
            return "the file is 0 bytes"
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
    except (OSError, zipfile.BadZipFile) as exc:
        return f"not a readable package ({exc})"
    main = main_part(extension)
    if main and main not in names:
        return f"the package has no {main}"
    if extension in ("docx", "xlsx", "pptx") and "[Content_Types].xml" not in names:
        return "the package has no [Content_Types].xml"
    return None


def finish(label: str, output: Path | None, extension: str, seconds: float, *,
           returncode: int | None = None, stderr: str = "", via: str = "",
           warnings: tuple[str, ...] = ()) -> RenderOutcome:
    """The outcome for a run that ended normally, decided by the file it wrote."""
    common = dict(returncode=returncode, stderr=stderr, via=via, warnings=warnings)
    if output is None or not output.exists():
        reason = first_error_line(stderr) or f"no .{extension} file was written"
        return RenderOutcome(Status.FAILED, f"{label} could not convert the document: {reason}",
                             seconds, **common)
    if extension == "pdf":
        pages, problem = pdf_page_count(output)
        if not pages:
            return RenderOutcome(Status.EMPTY, f"{label} wrote a PDF with no usable page"
                                 f"{': ' + problem if problem else ''}", seconds,
                                 output_path=output, **common)
        message = f"{pages} page(s)"
    else:
        problem = package_problem(output, extension)
        if problem:
            return RenderOutcome(Status.EMPTY, f"{label} wrote an unusable .{extension}: "
                                 f"{problem}", seconds, output_path=output, **common)
        pages, message = None, f"saved as .{extension}"
    if warnings:
        message += "; " + "; ".join(warnings)
    return RenderOutcome(Status.OK, message, seconds, output_path=output, pages=pages, **common)


def classify(label: str, result: ProcessResult, output: Path | None, extension: str, *,
             timeout_seconds: float, via: str = "command line",
             exit_codes: Mapping[int, ExitMeaning] | None = None) -> RenderOutcome:
    """The outcome of one suite command: timeout, crash, documented failure, or its file."""
    log = "\n".join(part for part in (result.stderr.strip(), result.stdout.strip()) if part)
    rc = result.returncode
    common = dict(returncode=rc, stderr=log, via=via)
    if result.timed_out:
        return RenderOutcome(Status.TIMED_OUT, f"no answer after {timeout_seconds:g} s; "
                             "process group killed", result.seconds, stderr=log, via=via)
    meaning = (exit_codes or {}).get(rc) if rc is not None else None
    if meaning is not None and meaning.keeps_output:
        return finish(label, output, extension, result.seconds, warnings=(meaning.message,),
                      **common)
    if meaning is not None:
        return RenderOutcome(meaning.status, f"{label}: {meaning.message} (exit code {rc})",
                             result.seconds, **common)
    if rc is not None and (rc < 0 or rc >= 128):
        how = f"signal {-rc}" if rc < 0 else f"exit code {rc}"
        return RenderOutcome(Status.CRASHED, f"{label} crashed ({how})", result.seconds,
                             **common)
    if rc != 0:
        reason = first_error_line(log)
        return RenderOutcome(Status.FAILED, f"{label} exited with code {rc}"
                             f"{': ' + reason if reason else ''}", result.seconds, **common)
    return finish(label, output, extension, result.seconds, **common)


def first_error_line(log: str) -> str | None:
    for line in log.splitlines():
        if "error" in line.lower():
            return line.strip()[:300]
    return None
