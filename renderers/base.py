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
    pages: int | None = None  # counted when the output was validated
    returncode: int | None = None
    stderr: str = ""


class Renderer:
    """A suite behind the harness. Subclasses set ``name`` and ``formats`` and register.

    ``show`` turns a document into the PDF a user would see on opening it. It never raises for
    a problem of the document or the suite: those are outcomes.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    formats: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, scratch_dir: Path | None = None) -> None:
        self.scratch_dir = Path(scratch_dir) if scratch_dir else Path(tempfile.gettempdir())

    def availability(self) -> Availability:
        raise NotImplementedError

    def show(self, document: Path, workdir: Path, timeout_seconds: float) -> RenderOutcome:
        raise NotImplementedError

    def unsupported(self, document: Path) -> RenderOutcome:
        suffix = document.suffix.lower().lstrip(".") or "(none)"
        return RenderOutcome(
            Status.UNSUPPORTED, f"{self.label or self.name} does not open .{suffix} files", 0.0
        )
