"""The interface every office suite implements, and the outcome words the harness uses."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from harness.formats import target_extension
# The outcome words live with the records every stage shares; imported from here too.
from harness.records import Status, Task  # noqa: F401


@dataclass(frozen=True)
class SuiteOption:
    """A setting a suite reads, declared so the harness can offer it (``fidelity run
    --SUITE-NAME VALUE``, a profile's ``SUITE_NAME``), carry it to workers in ``variable``
    and put its effective value in the cache key (as ``SUITE_NAME``)."""

    name: str
    help: str
    choices: tuple[str, ...]
    default: str
    variable: str
    # For commands that render a document or two and keep no worker warm (compare,
    # calibrate): the value used when the environment says nothing.
    one_off: str | None = None


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


def option_key(suite: str, option: SuiteOption) -> str:
    """The name an option goes by in a profile and in the cache key: ``libreoffice_mode``."""
    return f"{suite}_{option.name}".replace("-", "_")


class Renderer:
    """A suite behind the harness. Subclasses set ``name``, ``formats`` and ``tasks``
    (``options`` and ``environment`` for what they read from the environment), implement
    ``availability`` and ``convert`` (``close`` when they keep something running), and call
    ``renderers.register``. ``with renderers.get(name) as suite:`` closes it at the end.

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
    # False for Microsoft Office itself (driven live): measured like any suite, never the
    # suite the recommendation proposes to replace it with.
    recommendable: ClassVar[bool] = True
    # Settings the suite reads from the environment, offered by the CLI and in the cache key.
    options: ClassVar[tuple[SuiteOption, ...]] = ()
    # Every other environment variable the suite reads (executable overrides, versions,
    # servers): a remote worker is given exactly these, and the options' variables.
    environment: ClassVar[tuple[str, ...]] = ()
    # Which suite renders a document for a one-off command (`compare`, `calibrate`) when none
    # is named: among those installed that open the format, the lowest rank.
    one_off_rank: ClassVar[int] = 100

    def __init__(self, scratch_dir: Path | None = None) -> None:
        self.scratch_dir = Path(scratch_dir) if scratch_dir else Path(tempfile.gettempdir())

    @classmethod
    def variables(cls) -> tuple[str, ...]:
        """Every environment variable this suite reads."""
        return tuple(dict.fromkeys((*cls.environment, *(o.variable for o in cls.options))))

    @classmethod
    def effective_options(cls) -> dict[str, str]:
        """Each option's value as a job will see it, keyed ``SUITE_NAME`` (the cache key's
        words: a change of any of them is a different rendering)."""
        return {option_key(cls.name, o): os.environ.get(o.variable, o.default)
                for o in cls.options}

    def close(self) -> None:
        """Stop whatever the suite keeps running between jobs; a no-op for most suites."""

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
