"""The interface every office suite implements, and the outcome words the harness uses."""

from __future__ import annotations

import enum
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar


class Status(str, enum.Enum):
    """How a suite's attempt on one document ended. Only ``ok`` carries a grade."""

    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CRASHED = "crashed"
    EMPTY = "empty"
    UNSUPPORTED = "unsupported"
    UNAVAILABLE = "unavailable"


class Task(str, enum.Enum):
    """What a suite is asked to do with a document.

    ``show`` is what a user sees on opening it (a PDF); ``save`` is what a recipient gets
    back when the user saves it in Microsoft's format (legacy binaries become OOXML);
    ``save-odf`` is the same saved as OpenDocument; ``save-recalc`` (workbooks only) is the
    save after the suite recalculated every formula, which most suites do not do on load.
    """

    SHOW = "show"
    SAVE = "save"
    SAVE_ODF = "save-odf"
    SAVE_RECALC = "save-recalc"


# Document families: every input extension belongs to one, and a family fixes what a save
# produces.
FAMILIES = {
    "word": {"doc", "docx", "docm", "dot", "dotx", "dotm", "rtf", "odt"},
    "cell": {"xls", "xlsx", "xlsm", "xlt", "xltx", "xltm", "ods", "csv"},
    "slide": {"ppt", "pptx", "pptm", "pot", "potx", "potm", "pps", "ppsx", "odp"},
}
TARGETS = {
    Task.SAVE: {"word": "docx", "cell": "xlsx", "slide": "pptx"},
    Task.SAVE_ODF: {"word": "odt", "cell": "ods", "slide": "odp"},
    Task.SAVE_RECALC: {"cell": "xlsx"},
}


def family(extension: str) -> str | None:
    """``word``, ``cell`` or ``slide`` for an input extension, None for anything else."""
    extension = extension.lower().lstrip(".")
    for name, members in FAMILIES.items():
        if extension in members:
            return name
    return None


def target_extension(task: Task, source_extension: str) -> str | None:
    """The extension a task writes for a source, or None when the task has no target."""
    if task is Task.SHOW:
        return "pdf"
    kind = family(source_extension)
    return TARGETS[task].get(kind) if kind else None


@dataclass(frozen=True)
class Availability:
    available: bool
    version: str | None = None
    reason: str | None = None
    executable: str | None = None


@dataclass(frozen=True)
class RenderOutcome:
    """What a suite produced for one task; ``output_path`` is set only when a file was made."""

    status: Status
    message: str
    seconds: float
    output_path: Path | None = None
    pages: int | None = None  # counted when a PDF output was validated
    returncode: int | None = None
    stderr: str = ""
    via: str = ""  # how the suite was driven (command line, UNO listener, HTTP API...)
    suite_version: str | None = None  # when it differs per document (reference PDFs)
    warnings: tuple[str, ...] = ()  # output kept but something was lost on the way


class Renderer:
    """A suite behind the harness. Subclasses set ``name``, ``formats`` and ``tasks``,
    implement ``availability`` and ``convert``, and call ``renderers.register``.

    ``convert`` never raises for a problem of the document or the suite: those are outcomes.
    Every call runs in its own process group, writes into its own ``workdir`` and is killed
    with its whole tree after ``timeout_seconds``.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    formats: ClassVar[frozenset[str]] = frozenset()
    tasks: ClassVar[frozenset[Task]] = frozenset({Task.SHOW, Task.SAVE, Task.SAVE_ODF})
    # True for a renderer whose PDFs are the reference other suites are compared with.
    is_reference: ClassVar[bool] = False

    def __init__(self, scratch_dir: Path | None = None) -> None:
        self.scratch_dir = Path(scratch_dir) if scratch_dir else Path(tempfile.gettempdir())

    def availability(self) -> Availability:
        raise NotImplementedError

    def convert(self, document: Path, task: Task, workdir: Path,
                timeout_seconds: float) -> RenderOutcome:
        raise NotImplementedError

    def process_groups(self) -> frozenset[int]:
        """Process groups this suite keeps running between jobs (a persistent listener):
        their memory counts towards whichever of its jobs runs."""
        return frozenset()

    def show(self, document: Path, workdir: Path, timeout_seconds: float) -> RenderOutcome:
        return self.run(document, Task.SHOW, workdir, timeout_seconds)

    def save_back(self, document: Path, workdir: Path, timeout_seconds: float,
                  odf: bool = False) -> RenderOutcome:
        task = Task.SAVE_ODF if odf else Task.SAVE
        return self.run(document, task, workdir, timeout_seconds)

    def run(self, document: Path, task: Task, workdir: Path,
            timeout_seconds: float) -> RenderOutcome:
        """``convert`` behind the checks every suite shares: format, task, availability."""
        refusal = self.refusal(document, task)
        if refusal is not None:
            return refusal
        available = self.availability()
        if not available.available:
            return RenderOutcome(Status.UNAVAILABLE, available.reason or "unavailable", 0.0)
        workdir.mkdir(parents=True, exist_ok=True)
        return self.convert(document, Task(task), workdir, timeout_seconds)

    def refusal(self, document: Path, task: Task) -> RenderOutcome | None:
        """An ``unsupported`` outcome when this suite cannot take the document or task."""
        suffix = document.suffix.lower().lstrip(".")
        if suffix not in self.formats:
            return self.unsupported(document)
        if Task(task) not in self.tasks or target_extension(Task(task), suffix) is None:
            return RenderOutcome(Status.UNSUPPORTED,
                                 f"{self.label or self.name} cannot {Task(task).value} "
                                 f".{suffix} files", 0.0)
        return None

    def unsupported(self, document: Path) -> RenderOutcome:
        suffix = document.suffix.lower().lstrip(".") or "(none)"
        return RenderOutcome(
            Status.UNSUPPORTED, f"{self.label or self.name} does not open .{suffix} files", 0.0
        )
