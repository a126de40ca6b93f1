"""Microsoft Office itself, driven through COM on a Windows worker: Word, Excel and
PowerPoint export each document to PDF, as a user of Office would see it.

Not the reference (``msoffice`` presents the reference PDFs kept beside documents): in a
sweep it is a suite like the others, compared with the reference when there is one, and
``fidelity references`` uses it to make the references a corpus lacks.

One driver (``renderers.msoffice_driver``) per worker, in its own process group, keeps one
instance of each application it needed across documents; it is restarted after a crash, a
lost application, a timeout (its group is killed, and the Office processes COM started for
it, which the driver names as soon as each starts), and every ``RESTART_AFTER`` documents.
A PDF's ``suite_version`` names the application that exported it, with its version.
Available where pywin32 imports on Windows with Office registered; elsewhere only when the
COM stand-in of the tests (``tests/fakes/win32com``) declares itself, and its version then
says so.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import psutil

from harness.formats import WORD, extensions, family
from harness.processes.groups import (STDERR_LIMIT_CHARS, adopt, kill_adopted,
                                      kill_process_tree, kill_tree, start_group)
from renderers import register
from renderers.base import Availability, Renderer, RenderOutcome, Status, Task
from renderers.msoffice_driver import APPLICATIONS
from renderers.output import finish

VIA = "Microsoft Office through COM"
NEEDS = "needs Windows with Microsoft Office and pywin32"
STAND_IN = "COM stand-in"
START_SECONDS = 60.0
PROBE_SECONDS = 120.0
RESTART_AFTER = 200  # documents per driver: Office's memory grows, as LibreOffice's does
QUIT_SECONDS = 10.0  # for Office to end after a clean Quit, before it is killed


def application_of(document: Path) -> str:
    """The Office application that opens the document: Word, Excel or PowerPoint."""
    return APPLICATIONS[family(document.suffix) or WORD].name


def _stand_in_declared() -> bool:
    """Off Windows, whether the ``win32com`` a child Python imports is the tests' stand-in
    that says so; asked of a bare Python, so that a Linux machine answers in milliseconds."""
    try:
        done = subprocess.run([sys.executable, "-c", "import sys, win32com; sys.exit(0 if "
                               "getattr(win32com, 'STAND_IN', None) else 3)"],
                              capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _kill_started(said: str | bytes | None) -> None:
    """Kill the applications a driver said it started (``{"started": PID}`` lines)."""
    said = said or b""  # a timeout's partial output is bytes whatever text=True says
    for line in (said.decode("utf-8", "replace") if isinstance(said, bytes)
                 else said).splitlines():
        try:
            started = json.loads(line).get("started")
        except (ValueError, AttributeError):
            continue
        if isinstance(started, int):
            kill_process_tree(started)


@register
class MicrosoftOfficeLive(Renderer):
    name = "msoffice-live"
    label = "Microsoft Office (live, through COM)"
    recommendable = False  # the suite being migrated from
    formats = extensions()
    tasks = frozenset({Task.SHOW})

    def __init__(self, scratch_dir: Path | None = None) -> None:
        super().__init__(scratch_dir)
        self._availability: Availability | None = None
        self._driver: _Driver | None = None

    def availability(self) -> Availability:
        if self._availability is None:
            self._availability = self._check()
        return self._availability

    def _check(self) -> Availability:
        if os.name != "nt" and not _stand_in_declared():
            return Availability(False, reason=f"{NEEDS} (this is {sys.platform})")
        try:
            done = subprocess.run([sys.executable, "-m", "renderers.msoffice_driver", "probe"],
                                  capture_output=True, text=True, timeout=PROBE_SECONDS,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:  # the probe is killed; its Office too
            _kill_started(exc.stdout)
            return Availability(False, reason=f"Office did not answer within "
                                f"{PROBE_SECONDS:g} s when asked its version")
        try:
            answer = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            tail = (done.stderr.strip().splitlines() or ["no answer"])[-1]
            return Availability(False, reason=f"the Office driver failed: {tail}")
        if os.name != "nt" and not answer.get("stand_in"):
            return Availability(False, reason=f"{NEEDS} (this is {sys.platform})")
        if not answer.get("ok"):
            return Availability(False, reason=f"{NEEDS}: {answer.get('message')}")
        version = answer.get("version") or "unknown"
        missing = [a.name for f, a in APPLICATIONS.items() if f not in answer["registered"]]
        notes = [STAND_IN] if answer.get("stand_in") else []
        notes += [f"no {', '.join(missing)}"] if missing else []
        return Availability(True, version=version + (f" ({'; '.join(notes)})" if notes else ""),
                            executable=sys.executable)

    def process_groups(self) -> frozenset[int]:
        group = self._driver.group if self._driver is not None else None
        return frozenset({group}) if group is not None else frozenset()

    def close(self) -> None:
        self._end(quit_first=True)

    def _end(self, quit_first: bool) -> None:
        """The driver stopped: asked to quit Office first when it is well, else killed."""
        if self._driver is not None:
            self._driver.stop(quit_first=quit_first)
            self._driver = None

    def convert(self, document: Path, task: Task, workdir: Path,
                timeout_seconds: float) -> RenderOutcome:
        target = workdir / "out" / f"{document.stem}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        app = application_of(document)
        start = time.monotonic()
        if self._driver is None or not self._driver.running \
                or self._driver.served >= RESTART_AFTER:
            self.close()
            self._driver = _Driver(self.scratch_dir)
            problem = self._driver.start(min(START_SECONDS, timeout_seconds))
            if problem is not None:
                stderr = self._driver.stderr()
                self._end(quit_first=False)
                return RenderOutcome(Status.FAILED, f"the Office driver did not start: "
                                     f"{problem}", time.monotonic() - start, stderr=stderr,
                                     via=VIA)
        driver = self._driver
        reply = driver.ask({"family": family(document.suffix) or WORD,
                            "source": str(document.resolve()), "target": str(target.resolve())},
                           timeout_seconds - (time.monotonic() - start))
        seconds = time.monotonic() - start
        if reply is None:  # no answer in time: the driver and its Office are killed
            stderr = driver.stderr()
            self._end(quit_first=False)
            return RenderOutcome(Status.TIMED_OUT, f"no answer after {timeout_seconds:g} s; "
                                 "the Office driver's process group and Office killed",
                                 seconds, stderr=stderr, via=VIA)
        if "kind" not in reply:  # the driver died without a word
            stderr = driver.stderr()
            code = driver.exit_code()
            self._end(quit_first=False)
            return RenderOutcome(Status.CRASHED, f"the Office driver died ({reply['died']}"
                                 f"{f', exit code {code}' if code is not None else ''}); "
                                 "restarted for the next document", seconds, stderr=stderr,
                                 via=VIA)
        return self._outcome(reply, app, target, seconds, driver.stand_in)

    def _outcome(self, reply: dict[str, Any], app: str, target: Path, seconds: float,
                 stand_in: bool) -> RenderOutcome:
        kind, said = reply["kind"], reply.get("message") or "no message"
        if kind == "written":  # versioned by the application that exported it
            version = f"{app} {reply.get('version') or 'unknown version'}" \
                      + (f" ({STAND_IN})" if stand_in else "")
            return replace(finish(app, target, "pdf", seconds, via=VIA), suite_version=version)
        if kind == "app_lost":
            self._end(quit_first=False)
            return RenderOutcome(Status.CRASHED, f"{app} stopped answering ({said}); "
                                 "restarted for the next document", seconds, via=VIA)
        meanings = {
            "password": (Status.UNSUPPORTED, f"password-protected document: {app} says "
                         f"\"{said}\" (no password is given)"),
            "repair": (Status.FAILED, f"{app} says the document needs repair; not repaired: "
                       f"{said}"),
            "open_failed": (Status.FAILED, f"{app} could not open the document: {said}"),
            "export_failed": (Status.FAILED, f"{app} opened the document but could not "
                              f"export a PDF: {said}"),
            "missing_app": (Status.UNAVAILABLE, f"{app} is not installed on this worker "
                            f"({said})"),
        }
        status, message = meanings.get(kind, (Status.FAILED, f"the Office driver failed on "
                                              f"this document: {said}"))
        hresult = reply.get("hresult")
        stderr = f"HRESULT {hresult & 0xFFFFFFFF:#010x}" if isinstance(hresult, int) else ""
        return RenderOutcome(status, message, seconds, stderr=stderr, via=VIA)


class _Driver:
    """The driver process: requests on its stdin, one JSON reply a line on its stdout."""

    def __init__(self, scratch_dir: Path) -> None:
        self.scratch_dir = scratch_dir
        self.served = 0
        self._proc: subprocess.Popen | None = None
        self._tag: str | None = None
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=200)
        self._office: list[psutil.Process] = []  # started by COM, outside the driver's tree
        self.stand_in = False

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def group(self) -> int | None:
        return self._proc.pid if self.running and os.name != "nt" else None

    def start(self, timeout_seconds: float) -> str | None:
        """None once the driver said it is ready, else why not."""
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "renderers.msoffice_driver", "serve"]
        if os.name == "nt":
            self._proc = subprocess.Popen(
                argv, cwd=self.scratch_dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, creationflags=subprocess.CREATE_NEW_PROCESS_GROUP)
        else:
            self._proc, self._tag = start_group(argv, cwd=self.scratch_dir,
                                                stdin=subprocess.PIPE)
        threading.Thread(target=self._read_replies, args=(self._proc.stdout,),
                         daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self._proc.stderr,),
                         daemon=True).start()
        ready = self._wait(timeout_seconds)
        if ready is None:
            return f"no answer in {timeout_seconds:g} s"
        if not ready.get("ready"):
            return ready.get("message") or ready.get("died") or "it exited"
        self.stand_in = bool(ready.get("stand_in"))
        return None

    def ask(self, request: dict[str, Any], timeout_seconds: float) -> dict[str, Any] | None:
        """The reply; ``{"died": why}`` when the driver ended; None after the timeout."""
        self.served += 1
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            self._proc.stdin.flush()
        except OSError as exc:
            return {"died": f"its input is closed: {exc}"}
        return self._wait(max(timeout_seconds, 0.0))

    def _wait(self, timeout_seconds: float) -> dict[str, Any] | None:
        try:
            return self._replies.get(timeout=timeout_seconds)
        except queue.Empty:
            return None

    def _read_replies(self, pipe: IO[bytes]) -> None:
        with pipe:
            for line in pipe:
                try:
                    message = json.loads(line)
                except ValueError:
                    self._stderr.append(line.decode("utf-8", "replace"))  # stray output
                    continue
                if isinstance(message, dict) and "started" in message:
                    self._remember(message["started"])
                else:
                    self._replies.put(message)
        self._replies.put({"died": "it exited"})

    def _remember(self, pid: object) -> None:
        """An Office process the driver started: killed with the driver, whatever it says,
        or with this process if it stops first (a worker ended by its pool)."""
        process = adopt(pid) if isinstance(pid, int) else None
        if process is not None:
            self._office.append(process)

    def _read_stderr(self, pipe: IO[bytes]) -> None:
        with pipe:
            for line in pipe:
                self._stderr.append(line.decode("utf-8", "replace"))

    def stderr(self) -> str:
        return "".join(self._stderr)[-STDERR_LIMIT_CHARS:]

    def exit_code(self) -> int | None:
        try:
            return self._proc.wait(timeout=5) if self._proc is not None else None
        except subprocess.TimeoutExpired:
            return None

    def stop(self, quit_first: bool = False) -> None:
        """Ends the driver: asked to quit Office first when it is well, then killed."""
        proc = self._proc
        if proc is None:
            return
        quit_cleanly = False
        if quit_first and proc.poll() is None:
            try:
                proc.stdin.close()  # end of requests: the driver quits Office and exits
                quit_cleanly = proc.wait(timeout=30) == 0
            except (OSError, subprocess.TimeoutExpired):
                pass
        if os.name == "nt":  # no process groups: its tree, by process id
            kill_process_tree(proc.pid)
        else:
            kill_tree(proc.pid, self._tag)
        # Office's processes, started by COM outside the driver's tree: given a moment to
        # end after a clean Quit, else killed (psutil spares a number reused since).
        office, self._office = self._office, []
        if quit_cleanly:
            psutil.wait_procs(office, timeout=QUIT_SECONDS)
        kill_adopted(office)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            proc.stdin.close()
        except OSError:
            pass
        self._proc = None
