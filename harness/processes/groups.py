"""Run a suite's command in its own process group under a hard timeout.

Office suites fork helpers (oosplash -> soffice.bin); killing only the direct child would
leave the real worker running, so the whole group is killed. A helper that leaves the group
(setsid, as daemonising launchers do) still inherits the environment, so every process
started here carries a tag variable, and processes carrying it are killed with the group.

On Windows (msoffice-live's workers) there are neither process groups nor a ``/proc`` to
find tags in: a process is killed with its tree, by process id, and tags find nothing.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import resource_tracker
from pathlib import Path
from typing import IO

import psutil

from harness.processes.memory import PeakWatch

STDERR_LIMIT_CHARS = 20_000
TAG_VARIABLE = "FIDELITY_PROCESS_TAG"
# Set by a sweep's coordinator and inherited by everything below it: what a dead worker left
# behind (a persistent listener has no parent to follow) is found and killed by it.
SWEEP_VARIABLE = "FIDELITY_SWEEP_TAG"
# Set by each worker: what it started, even a group not yet registered when a signal came.
WORKER_VARIABLE = "FIDELITY_WORKER_TAG"

# "host" lets suites reach the network (debugging only); by default each runs offline.
NETWORK_VARIABLE = "FIDELITY_SUITE_NETWORK"
# What every job reads whatever its suite: carried to remote workers like a suite's own.
# (The tag variables above are set per sweep and per worker, never carried.)
HARNESS_VARIABLES = (NETWORK_VARIABLE,)

# Process groups started by this process and still running, with their tags: killed if this
# process is told to stop, so a suite never outlives the worker that started it.
_ACTIVE_GROUPS: dict[int, str] = {}
# Processes a suite had started outside this one's tree (Office, which COM starts): neither
# a group nor a tag reaches them, so they are killed by number with the groups above.
_ADOPTED: list[psutil.Process] = []
# Where the environments of processes are read, to find tags; absent on Windows.
PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessResult:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool


def _kill_group(pgid: int) -> None:
    if not hasattr(os, "killpg"):  # Windows: the leader's tree instead
        kill_process_tree(pgid)
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def kill_process_tree(process: int | psutil.Process) -> None:
    """Kill a process and its descendants by process id: on Windows, which has no process
    groups, and for Office, which COM starts outside ours. A ``psutil.Process`` taken when
    it started is checked to be that one still, so a number reused since is spared."""
    try:
        process = process if isinstance(process, psutil.Process) else psutil.Process(process)
        tree = [*process.children(recursive=True), process]
    except psutil.Error:
        return  # gone already
    for member in tree:
        try:
            member.kill()
        except psutil.Error:
            continue


def adopt(pid: int) -> psutil.Process | None:
    """A process started for a suite outside this one's tree, killed with this process's
    groups if it is still running when this process stops; None when it is gone already."""
    try:
        process = psutil.Process(pid)
    except psutil.Error:
        return None
    _ADOPTED.append(process)
    return process


def kill_adopted(processes: list[psutil.Process]) -> None:
    """Kill adopted processes (each with its tree) and forget them."""
    for process in processes:
        kill_process_tree(process)
        if process in _ADOPTED:
            _ADOPTED.remove(process)


def kill_tagged(tag: str, variable: str = TAG_VARIABLE, spare: frozenset[int] = frozenset(),
                ) -> int:
    """Kill every process whose environment carries the tag, wherever its group is (none
    where there is no ``/proc`` to read environments in: Windows)."""
    if not PROC.is_dir():
        return 0
    needle = f"{variable}={tag}".encode()
    killed = 0
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) in spare or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
        except (OSError, ValueError):
            continue  # gone already, or not ours to read
    return killed


def kill_tree(pgid: int, tag: str | None) -> None:
    _kill_group(pgid)
    if tag:
        kill_tagged(tag)
    _ACTIVE_GROUPS.pop(pgid, None)


def kill_active_groups() -> None:
    for pgid, tag in list(_ACTIVE_GROUPS.items()):
        kill_tree(pgid, tag)
    _ACTIVE_GROUPS.clear()
    kill_adopted(list(_ADOPTED))
    worker = os.environ.get(WORKER_VARIABLE)
    if worker:
        kill_tagged(worker, WORKER_VARIABLE)


atexit.register(kill_active_groups)


@contextmanager
def sweep_tagged(tag: str) -> Iterator[None]:
    """Inside, every process started (workers, and every suite below them) carries the
    sweep's tag; at the end, whatever still carries it (what a worker that died left running:
    a persistent listener has no parent to follow) is killed and the tag is taken back."""
    # multiprocessing's resource tracker is the coordinator's, not a worker's: started before
    # the tag, it is not killed with what a dead worker left behind (it was, and the sweep
    # then failed at random with "resource_tracker: process died unexpectedly"). Windows
    # has none.
    if os.name != "nt":
        resource_tracker.ensure_running()
    previous = os.environ.get(SWEEP_VARIABLE)
    os.environ[SWEEP_VARIABLE] = tag
    try:
        yield
    finally:
        kill_tagged(tag, SWEEP_VARIABLE)
        if previous is None:
            os.environ.pop(SWEEP_VARIABLE, None)
        else:
            os.environ[SWEEP_VARIABLE] = previous


@functools.lru_cache(maxsize=1)
def _isolation_problem() -> str | None:
    """Why a new network namespace cannot be made here, or None when it can."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "unshare (util-linux) is not installed"
    try:
        done = subprocess.run([unshare, "--net", "--", "true"], capture_output=True,
                              timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if done.returncode != 0:
        return done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
    return None


def network_containment() -> str:
    """How suites are kept off the network on this machine, in words (for run records)."""
    if os.environ.get(NETWORK_VARIABLE) == "host":
        return f"not isolated: {NETWORK_VARIABLE}=host lets suites reach the network"
    problem = _isolation_problem()
    if problem is None:
        return ("isolated: every suite process runs in a new network namespace with no "
                "interface up (not even loopback)")
    return (f"not isolated: a new network namespace cannot be made here ({problem}); only "
            "the suites' own settings keep remote content out")


def offline(argv: list[str]) -> list[str]:
    """argv run in a new network namespace when one can be made: a document's linked
    picture or remote template can reach no server, local or remote. A Unix socket (the
    UNO pipe, the X display) is a file and still works."""
    if os.environ.get(NETWORK_VARIABLE) == "host" or _isolation_problem() is not None:
        return argv
    return [shutil.which("unshare") or "unshare", "--net", "--", *argv]


def start_group(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                capture: bool = True, log: Path | None = None,
                stdin: int | None = subprocess.DEVNULL,
                ) -> tuple[subprocess.Popen, str]:
    """Start argv as the leader of a new process group carrying a fresh tag
    (``stdin=subprocess.PIPE`` for a process driven over its standard input).

    The caller ends it with ``kill_tree(proc.pid, tag)``.
    """
    tag = uuid.uuid4().hex
    environment = dict(os.environ if env is None else env)
    environment[TAG_VARIABLE] = tag
    # A long-lived process writes to a log file instead: a pipe nobody reads would fill up.
    output = open(log, "ab") if log else (subprocess.PIPE if capture else subprocess.DEVNULL)
    try:
        proc = subprocess.Popen(offline(argv), cwd=cwd, env=environment, stdin=stdin,
                                stdout=output, stderr=output, start_new_session=True)
    finally:
        if log:
            output.close()  # the child holds its own descriptor
    _ACTIVE_GROUPS[proc.pid] = tag
    return proc, tag


def _clip(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    if len(text) > STDERR_LIMIT_CHARS:
        more = len(text) - STDERR_LIMIT_CHARS
        return text[:STDERR_LIMIT_CHARS] + f"\n[... {more} more characters]"
    return text


def run_in_group(
    argv: list[str],
    *,
    timeout_seconds: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> ProcessResult:
    """Run argv; on timeout kill its whole process group. Never raises for the child's failure."""
    start = time.monotonic()
    proc, tag = start_group(argv, cwd=cwd, env=env)
    timed_out = False
    readers = [_Reader(proc.stdout), _Reader(proc.stderr)]
    watch = PeakWatch(proc.pid)
    try:
        if not _reap(proc, start + timeout_seconds, watch):
            timed_out = True
            kill_tree(proc.pid, tag)
            _reap(proc, None, watch)
    except BaseException:
        kill_tree(proc.pid, tag)
        proc.wait()
        raise
    # Helpers may outlive a parent that exited normally; the group must not.
    kill_tree(proc.pid, tag)
    for reader in readers:
        reader.join(5)  # a helper that escaped both group and tag may hold a pipe open
    watch.report()
    return ProcessResult(
        returncode=None if timed_out else proc.returncode,
        stdout=_clip(readers[0].data),
        stderr=_clip(readers[1].data),
        seconds=time.monotonic() - start,
        timed_out=timed_out,
    )


class _Reader(threading.Thread):
    """Drains one pipe, so a chatty suite never blocks on a full one."""

    def __init__(self, pipe: IO[bytes] | None) -> None:
        super().__init__(daemon=True)
        self.pipe, self.data = pipe, b""
        self.start()

    def run(self) -> None:
        if self.pipe is not None:
            with self.pipe:
                self.data = self.pipe.read()


def _reap(proc: subprocess.Popen, deadline: float | None, watch: PeakWatch) -> bool:
    """Wait for the child with wait4 (its resource usage carries the peak of the child and
    of every helper it reaped, which subprocess's own wait discards), reading the child's
    peak while it runs. False at the deadline."""
    while True:
        watch.look()
        try:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere (a SIGCHLD handler): no figure to read
            proc.poll()  # subprocess's own answer to that case
            return True
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            watch.at_exit(usage.ru_maxrss)
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
