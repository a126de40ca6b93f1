"""LibreOffice, persistent over UNO by default, through its one-shot command line otherwise.

Each worker process gets a private profile (two soffice instances sharing a profile block
each other), with macros disabled before the first start. Each job gets a private output
folder, so two documents with the same stem never overwrite each other.

``FIDELITY_LIBREOFFICE_MODE`` (the option ``mode``: ``fidelity run --libreoffice-mode``)
chooses ``persistent`` (the default: one listener per worker, falling back to the command
line when it cannot start) or ``oneshot``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from renderers import register
from harness.formats import PRESENTATION, SAVE_TARGETS, SPREADSHEET, WORD, extensions, family
from renderers.base import Availability, Renderer, RenderOutcome, Status, SuiteOption, Task
from renderers.command import command_version
from renderers.output import classify, finish
from harness.processes.groups import run_in_group
from renderers.uno_listener import UnoListener, UnoUnavailable

_CANDIDATES = ("soffice", "libreoffice", "/usr/lib/libreoffice/program/soffice",
               "/opt/libreoffice/program/soffice")

# Written into a fresh profile before LibreOffice first starts: no macro ever runs, and
# documents may not pull remote content.
_PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""

FORMATS = extensions(without=frozenset({"csv"}))
SOFFICE_VARIABLE = "FIDELITY_SOFFICE"
MODE_VARIABLE = "FIDELITY_LIBREOFFICE_MODE"


def find_soffice() -> str | None:
    override = os.environ.get(SOFFICE_VARIABLE)
    if override:
        return override if os.access(override, os.X_OK) else None
    for candidate in _CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


MODES = ("persistent", "oneshot")
MODE = SuiteOption(
    "mode", "LibreOffice driven by a persistent UNO listener per worker (falls back to the "
    "command line when it cannot start), or one command per document (oneshot).",
    MODES, "persistent", MODE_VARIABLE, one_off="oneshot")  # one document: no listener
RESTART_AFTER_DOCUMENTS = 200

# PDF like Microsoft's: no notes pages, hidden slides left out.
_PDF_DATA = {"ExportNotesPages": False, "ExportHiddenSlides": False}
_FILTERS: dict[Task, dict[str, tuple[str, dict]]] = {
    Task.SHOW: {WORD: ("writer_pdf_Export", _PDF_DATA), SPREADSHEET: ("calc_pdf_Export", _PDF_DATA),
                PRESENTATION: ("impress_pdf_Export", _PDF_DATA),
                "draw": ("draw_pdf_Export", _PDF_DATA)},
    Task.SAVE: {WORD: ("MS Word 2007 XML", {}), SPREADSHEET: ("Calc MS Excel 2007 XML", {}),
                PRESENTATION: ("Impress MS PowerPoint 2007 XML", {})},
    Task.SAVE_ODF: {WORD: ("writer8", {}), SPREADSHEET: ("calc8", {}),
                    PRESENTATION: ("impress8", {})},
    Task.SAVE_RECALC: {SPREADSHEET: ("Calc MS Excel 2007 XML", {})},
}
# Recalculation on load set to "always" (0) for OOXML and ODF workbooks: the command line's
# way to a forced recalculation (LibreOffice's default for OOXML is to trust the cache).
_RECALC_SETTINGS = """<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
"""


def _extension(task: Task, kind: str) -> str | None:
    """What a task writes for a document LibreOffice loaded as ``kind``."""
    return "pdf" if task is Task.SHOW else SAVE_TARGETS[task.value].get(kind)


def remove_stale_office_pipes() -> None:
    """LibreOffice keeps its IPC sockets in /tmp whatever TMPDIR says, and a killed instance
    leaves them behind; remove those no process listens on any more."""
    for pipe in Path("/tmp").glob(f"OSL_PIPE_{os.getuid()}_*"):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(pipe))
        except ConnectionRefusedError:
            pipe.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            probe.close()


def mode() -> str:
    chosen = os.environ.get(MODE_VARIABLE, MODE.default).strip().lower()
    return chosen if chosen in MODES else MODE.default


def _convert_to(task: Task, kind: str) -> str:
    """The --convert-to argument: extension, filter and, for PDF, its options as JSON."""
    name, data = _FILTERS[task][kind]
    extension = _extension(task, kind)
    if not data:
        return f"{extension}:{name}"
    options = {k: {"type": "boolean", "value": str(v).lower()} for k, v in data.items()}
    return f"{extension}:{name}:{json.dumps(options, separators=(',', ':'))}"


@register
class LibreOffice(Renderer):
    name = "libreoffice"
    label = "LibreOffice"
    formats = FORMATS
    tasks = frozenset(Task)
    options = (MODE,)
    environment = (SOFFICE_VARIABLE,)
    one_off_rank = 0  # the suite most formats open in, and the one the rubric was set with

    def __init__(self, scratch_dir: Path | None = None) -> None:
        super().__init__(scratch_dir)
        self._profile: Path | None = None
        self._recalc_profile: Path | None = None
        self._listener: UnoListener | None = None
        self._listener_problem: str | None = None

    def availability(self) -> Availability:
        exe = find_soffice()
        if exe is None:
            return Availability(False, reason="soffice not found on PATH (Debian: apt-get install "
                                "libreoffice-writer-nogui libreoffice-calc-nogui "
                                "libreoffice-impress-nogui; or set FIDELITY_SOFFICE)")
        # "LibreOffice 7.4.7.2 40(Build:2)" -> "7.4.7.2"
        version = command_version((exe, "--version"), r"^LibreOffice (\S+)")
        if version is None:
            return Availability(False, executable=exe,
                                reason=f"{exe} --version did not answer like LibreOffice")
        return Availability(True, version=version, executable=exe)

    def _profile_dir(self) -> Path:
        if self._profile is None or not self._profile.exists():
            profile = self.scratch_dir / f"libreoffice-profile-{os.getpid()}"
            (profile / "user").mkdir(parents=True, exist_ok=True)
            (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE_SETTINGS)
            self._profile = profile
        return self._profile

    def _recalc_profile_dir(self) -> Path:
        """A second profile, for the command line's forced recalculation."""
        if self._recalc_profile is None or not self._recalc_profile.exists():
            profile = self.scratch_dir / f"libreoffice-profile-recalc-{os.getpid()}"
            (profile / "user").mkdir(parents=True, exist_ok=True)
            (profile / "user" / "registrymodifications.xcu").write_text(
                _PROFILE_SETTINGS.replace("</oor:items>", _RECALC_SETTINGS + "</oor:items>"))
            self._recalc_profile = profile
        return self._recalc_profile

    def _discard_profile(self) -> None:
        # A killed instance can leave a profile half-written; the next job starts clean.
        self.close()
        for profile in (self._profile, self._recalc_profile):
            if profile is not None:
                shutil.rmtree(profile, ignore_errors=True)
        self._profile = self._recalc_profile = None
        remove_stale_office_pipes()

    def _env(self) -> dict[str, str]:
        # Its temporary folders (lu*.tmp, left behind by every instance) go inside the
        # private profile, removed with the sweep's scratch, not into the machine's /tmp.
        temporary = self._profile_dir() / "tmp"
        temporary.mkdir(exist_ok=True)
        return dict(os.environ, SAL_USE_VCLPLUGIN="svp", HOME=str(self._profile_dir()),
                    TMPDIR=str(temporary))

    def process_groups(self) -> frozenset[int]:
        group = self._listener.group if self._listener is not None else None
        return frozenset() if group is None else frozenset({group})

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
            remove_stale_office_pipes()

    def convert(self, document: Path, task: Task, workdir: Path,
                timeout_seconds: float) -> RenderOutcome:
        kind = family(document.suffix) or WORD
        outdir = workdir / "out"
        outdir.mkdir(parents=True, exist_ok=True)
        if mode() == "persistent" and self._listener_problem is None:
            outcome = self._convert_persistent(document, task, outdir, timeout_seconds)
            if outcome is not None and outcome.status is not Status.CRASHED:
                return outcome
            if outcome is not None:
                # LibreOffice 7.4's listener aborts on some Writer documents (comments,
                # footnotes) while building UI that --convert-to never builds: a crash of
                # the harness's mode, not of what a user sees. The command line decides.
                retried = self._convert_oneshot(document, task, kind, outdir, timeout_seconds)
                log = "\n".join(part for part in (
                    retried.stderr, outcome.stderr and "--- the UNO listener, before it crashed "
                    "---\n" + outcome.stderr) if part)
                return replace(retried, via=f"command line (the UNO listener crashed: "
                               f"{outcome.message})", seconds=retried.seconds + outcome.seconds,
                               stderr=log)
        return self._convert_oneshot(document, task, kind, outdir, timeout_seconds)

    def _convert_persistent(self, document: Path, task: Task, outdir: Path,
                            timeout_seconds: float) -> RenderOutcome | None:
        """Through the worker's listener; None when the listener cannot be started."""
        if self._listener is None:
            self._listener = UnoListener(self.availability().executable, self._profile_dir(),
                                         self._env(), RESTART_AFTER_DOCUMENTS)
        targets = {k: (outdir / f"{document.stem}.{_extension(task, k)}", name, data)
                   for k, (name, data) in _FILTERS[task].items()}
        try:
            result = self._listener.convert(document, targets, timeout_seconds,
                                            recalculate=task is Task.SAVE_RECALC)
        except UnoUnavailable as exc:
            # Remembered for this worker: every later job goes straight to the command line.
            self._listener_problem = str(exc)
            self._listener = None
            return None
        via = "UNO listener"
        if result.status is Status.OK:
            target = targets[result.kind][0]
            return finish(self.label, target, target.suffix[1:], result.seconds, via=via)
        if result.status in (Status.CRASHED, Status.TIMED_OUT):
            self._discard_profile()
        return RenderOutcome(result.status, result.message, result.seconds, via=via,
                             stderr=result.stderr)

    def _convert_oneshot(self, document: Path, task: Task, kind: str, outdir: Path,
                         timeout_seconds: float) -> RenderOutcome:
        profile = (self._recalc_profile_dir() if task is Task.SAVE_RECALC
                   else self._profile_dir())
        argv = [self.availability().executable,
                f"-env:UserInstallation=file://{quote(str(profile.resolve()))}",
                "--headless", "--invisible", "--nologo", "--norestore", "--nolockcheck",
                "--nodefault", "--convert-to", _convert_to(task, kind), "--outdir", str(outdir),
                str(document.resolve())]
        result = run_in_group(argv, timeout_seconds=timeout_seconds, cwd=outdir.parent,
                              env=self._env())
        via = "command line"
        if self._listener_problem:
            via += f" (persistent mode unavailable: {self._listener_problem})"
        extension = _extension(task, kind)
        outcome = classify(self.label, result, outdir / f"{document.stem}.{extension}",
                           extension, timeout_seconds=timeout_seconds, via=via)
        if outcome.status in (Status.CRASHED, Status.TIMED_OUT):
            self._discard_profile()
        return outcome
