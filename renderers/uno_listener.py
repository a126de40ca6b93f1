"""One persistent soffice per worker, driven over UNO.

Starting LibreOffice costs about a second and a half per document; a listener kept alive
across documents saves that. Documents are loaded with ``Hidden=True`` (LibreOffice 7.4
crashes on some .xlsx loaded visibly, as plain unoserver does), never run macros, and are
closed after each task. The listener is restarted after a number of documents (its memory
grows) and after any crash or timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from harness.formats import PRESENTATION, SPREADSHEET, WORD
from renderers.base import Status
from harness.processes.groups import STDERR_LIMIT_CHARS, kill_tree, start_group

CONNECT_SECONDS = 60.0
# Where Debian's python3-uno and LibreOffice's own bundle keep the bridge's Python modules.
_UNO_DIRS = ("/usr/lib/python3/dist-packages", "/usr/lib/libreoffice/program",
             "/opt/libreoffice/program")

# LibreOffice's document services and the filters each task uses for them.
_SERVICES = (
    ("com.sun.star.presentation.PresentationDocument", PRESENTATION),
    ("com.sun.star.sheet.SpreadsheetDocument", SPREADSHEET),
    ("com.sun.star.text.TextDocument", WORD),
    ("com.sun.star.drawing.DrawingDocument", "draw"),
)


class UnoUnavailable(RuntimeError):
    """The UNO bridge cannot be imported or the listener cannot be reached."""


def import_uno(program_dir: Path | None = None) -> Any:
    """Import LibreOffice's ``uno`` module from a virtual environment.

    The bridge is a system package, invisible to a venv. Only its two modules are exposed,
    through a private folder of links, so no other system package leaks into the venv.
    """
    try:
        import uno  # noqa: PLC0415
        return uno
    except ImportError:
        pass
    candidates = [program_dir] if program_dir else []
    for folder in [*candidates, *map(Path, _UNO_DIRS)]:
        if folder and (folder / "uno.py").exists():
            shim = Path(tempfile.gettempdir()) / f"fidelity-uno-shim-{os.getuid()}"
            shim.mkdir(exist_ok=True)
            for module in ("uno.py", "unohelper.py"):
                link = shim / module
                if (folder / module).exists() and not link.exists():
                    try:
                        link.symlink_to(folder / module)
                    except FileExistsError:
                        pass  # another worker made it first
            sys.path.append(str(shim))
            try:
                import uno  # noqa: PLC0415
                return uno
            except ImportError as exc:
                raise UnoUnavailable(f"LibreOffice's Python bridge did not load ({exc})") \
                    from None
    raise UnoUnavailable("LibreOffice's Python bridge (uno.py) is not installed "
                         "(Debian: apt-get install python3-uno)")


def _wait_for_group_gone(pgid: int, seconds: float = 3.0) -> None:
    """soffice.bin outlives the launcher by a moment; its sockets close only when it is gone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.02)


@dataclass(frozen=True)
class UnoResult:
    status: Status
    message: str
    seconds: float
    kind: str | None = None  # a family of harness.formats, or draw, as LibreOffice loaded it
    stderr: str = ""


def _properties(uno: Any, **values: Any) -> tuple:
    struct = uno.getClass("com.sun.star.beans.PropertyValue")
    return tuple(struct(Name=k, Value=v) for k, v in values.items())


class UnoListener:
    def __init__(self, soffice: str, profile: Path, env: dict[str, str],
                 restart_after: int) -> None:
        self.soffice = soffice
        self.profile = profile
        self.env = env
        self.restart_after = restart_after
        self._proc = None
        self._tag: str | None = None
        self._desktop: Any = None
        self._uno: Any = None
        self._served = 0
        self.log = profile.parent / f"{profile.name}-listener.log"

    def log_tail(self) -> str:
        """The end of what the listener printed (a crash's backtrace)."""
        try:
            data = self.log.read_bytes()[-STDERR_LIMIT_CHARS:]
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    @property
    def group(self) -> int | None:
        """The listener's process group, while it runs."""
        return self._proc.pid if self.running else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        self._uno = import_uno(Path(os.path.realpath(self.soffice)).parent)
        pipe = f"fidelity-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        url = "file://" + quote(str(self.profile.resolve()))
        argv = [self.soffice, f"-env:UserInstallation={url}", "--headless", "--invisible",
                "--nologo", "--norestore", "--nolockcheck", "--nodefault",
                f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"]
        self.log.unlink(missing_ok=True)
        self._proc, self._tag = start_group(argv, env=self.env, log=self.log)
        local = self._uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + CONNECT_SECONDS
        while True:
            try:
                context = resolver.resolve(
                    f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                self._desktop = context.ServiceManager.createInstanceWithContext(
                    "com.sun.star.frame.Desktop", context)
                self._served = 0
                return
            except Exception as exc:  # NoConnectException until soffice listens
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    code = self._proc.poll()
                    self.stop()
                    why = (f"soffice exited with code {code}" if code is not None
                           else f"no answer in {CONNECT_SECONDS:g} s ({type(exc).__name__})")
                    raise UnoUnavailable(f"the UNO listener did not start: {why}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self._proc is not None:
            kill_tree(self._proc.pid, self._tag)
            self._proc.wait()
            _wait_for_group_gone(self._proc.pid)
        self._proc, self._tag, self._desktop = None, None, None

    def convert(self, source: Path, targets: dict[str, tuple[Path, str, dict]],
                timeout_seconds: float, recalculate: bool = False) -> UnoResult:
        """Load source hidden and store it with the filter for the kind it loaded as.

        ``targets`` maps a document kind to (target path, filter name, filter data); the
        result's ``kind`` says which target was written. Raises UnoUnavailable
        only when the listener cannot be started; everything else is a result.
        """
        # Starting (or restarting) LibreOffice is the suite's time, counted in this job's
        # seconds like a one-shot suite's start: the harness's share is not inflated by it.
        start = time.monotonic()
        if not self.running or self._served >= self.restart_after:
            self.stop()
            self.start()
        self._served += 1
        box: dict[str, Any] = {}
        worker = threading.Thread(target=self._convert, args=(source, targets, box, recalculate),
                                  daemon=True)
        worker.start()
        worker.join(timeout_seconds)  # the whole timeout for the document itself
        seconds = time.monotonic() - start
        if worker.is_alive():
            self.stop()
            worker.join(5)
            return UnoResult(Status.TIMED_OUT, f"no answer after {timeout_seconds:g} s; "
                             "listener's process group killed", seconds)
        if "error" in box:
            code = self._exit_code(bridge_lost=box.get("bridge_lost", False))
            if code is not None or box.get("bridge_lost") or not self.running:
                self.stop()
                how = f"exit code {code}" if code is not None else "connection lost"
                return UnoResult(Status.CRASHED, f"LibreOffice crashed ({how})", seconds,
                                 stderr=self.log_tail())
            return UnoResult(Status.FAILED, box["error"], seconds, box.get("kind"))
        return UnoResult(Status.OK, "", seconds, box.get("kind"))

    def _exit_code(self, bridge_lost: bool) -> int | None:
        """The listener's exit code if it died; a lost bridge is waited on briefly, since
        the exception can arrive before the dying process is reaped."""
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout=5 if bridge_lost else 0.05)
        except subprocess.TimeoutExpired:
            return None

    def _convert(self, source: Path, targets: dict[str, tuple[Path, str, dict]],
                 box: dict[str, Any], recalculate: bool = False) -> None:
        uno = self._uno
        document = None
        try:
            # MacroExecutionMode 0 = NEVER_EXECUTE; UpdateDocMode 0 = NO_UPDATE (links).
            document = self._desktop.loadComponentFromURL(
                uno.systemPathToFileUrl(str(source.resolve())), "_blank", 0,
                _properties(uno, Hidden=True, ReadOnly=True, MacroExecutionMode=0,
                            UpdateDocMode=0))
            if document is None:
                box["error"] = "LibreOffice could not load the document"
                return
            kind = next((k for service, k in _SERVICES if document.supportsService(service)),
                        None)
            box["kind"] = kind
            if kind not in targets:
                box["error"] = f"LibreOffice loaded it as a {kind or 'unknown'} document, " \
                               "which this task cannot write"
                return
            target, name, data = targets[kind]
            if recalculate:  # every formula, as Calc's Data > Calculate > Recalculate Hard
                document.calculateAll()
            options = dict(FilterName=name, Overwrite=True)
            if data:
                options["FilterData"] = uno.Any("[]com.sun.star.beans.PropertyValue",
                                                _properties(uno, **data))
            document.storeToURL(uno.systemPathToFileUrl(str(target)),
                                _properties(uno, **options))
        except Exception as exc:  # UNO raises its own exception classes
            text = getattr(exc, "Message", "") or str(exc)
            box["bridge_lost"] = (type(exc).__name__ == "DisposedException"
                                  or "disposed" in text.lower())
            box["error"] = (f"LibreOffice could not convert the document: "
                            f"{type(exc).__name__}{': ' + text.strip() if text else ''}")[:500]
        finally:
            if document is not None:
                try:
                    document.close(True)
                except Exception:  # noqa: S110 - the listener may be gone; nothing to close
                    pass
