"""Memory of one job: the suites' peak resident memory, measured, and bounded.

A suite's processes are this process's descendants (the persistent listener included), so
the watch follows them whatever group or namespace they run in. Peaks are read from the
kernel's high-water mark (``VmHWM``), reset at the start of each job for the processes
that outlive it, so a sample taken every ``SAMPLE_SECONDS`` still sees a peak between two
samples; a command that ends between two samples is measured when it is reaped
(``harness.processes.groups.run_in_group`` waits with ``wait4`` and reports here). The bound is
enforced by the same watch: a suite process whose resident memory passes it has its whole
process group killed, and the job ends ``crashed`` with the reason. It is the resident
set, not the address space, that is bounded: suites built on V8 or Chromium reserve far
more address space than they use.

On Windows (msoffice-live's workers), with neither ``/proc`` nor process groups, no peak is
read, only processes started during the job are followed, and a process over the bound is
killed with its tree by process id.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from typing import Callable

import psutil

SAMPLE_SECONDS = 0.2
DEFAULT_LIMIT_MB = 4096  # per suite process; 0 means unbounded


# The largest peak (kB) of the commands reaped since the current job started.
_REAPED_KB = [0]


def reaped(peak_kb: int) -> None:
    """A suite command ended with this peak resident memory (its reaped helpers included)."""
    _REAPED_KB[0] = max(_REAPED_KB[0], peak_kb)


class PeakWatch:
    """The peak of one command, for ``run_in_group``: its own high-water mark read while it
    runs, and wait4's figure once reaped. wait4's figure has a floor: a child spawned with
    vfork records the harness's own high-water mark when it execs, so it counts only when
    above that floor."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self.floor_kb = _status_kb("self", "VmHWM")[0]

    def look(self) -> None:
        self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmHWM")[0])

    def at_exit(self, maxrss_kb: int) -> None:
        if maxrss_kb > self.floor_kb:
            self.peak_kb = max(self.peak_kb, maxrss_kb)

    def report(self) -> None:
        reaped(self.peak_kb)


@dataclass(frozen=True)
class MemoryUse:
    suite_peak_rss_mb: float | None  # the largest suite process; None when none was seen
    harness_peak_rss_mb: float | None  # the worker process itself, rasterising included
    over_limit: str | None  # why the bound stopped a suite, when it did


def _status_kb(pid: int | str, *fields: str) -> list[int]:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            values = dict(line.split(":", 1) for line in fh if ":" in line)
    except OSError:
        return [0 for _ in fields]
    return [int(values.get(f, "0 kB").split()[0]) for f in fields]


def _reset_peak(pid: int | str) -> None:
    """Writing 5 to clear_refs sets the high-water mark back to the current resident set
    (Linux 4.0 and later); where it cannot be written, the peak includes earlier jobs."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        pass


class JobMemory:
    """``with JobMemory(limit_mb) as watch: ...`` then ``watch.use``."""

    def __init__(self, limit_mb: int | None = DEFAULT_LIMIT_MB) -> None:
        self.limit_kb = limit_mb * 1024 if limit_mb else None
        self._me = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="job-memory", daemon=True)
        self._suite_kb = 0
        self._over: str | None = None
        self._owned: Callable[[], frozenset[int]] = frozenset
        self._before: set[int] = set()
        self.use = MemoryUse(None, None, None)

    def follow(self, process_groups: Callable[[], frozenset[int]]) -> None:
        """Count the suite's long-lived groups too; another suite's idle listener in the
        same worker is not this job's memory."""
        self._owned = process_groups

    def __enter__(self) -> JobMemory:
        _reset_peak("self")
        for child in self._children():
            _reset_peak(child.pid)
            self._before.add(child.pid)
        _REAPED_KB[0] = 0
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self._suite_kb = max(self._suite_kb, _REAPED_KB[0])
        harness_kb = _status_kb("self", "VmHWM")[0]
        self.use = MemoryUse(round(self._suite_kb / 1024, 1) if self._suite_kb else None,
                             round(harness_kb / 1024, 1) if harness_kb else None, self._over)

    @property
    def over_limit(self) -> str | None:
        return self._over

    def _children(self) -> list[psutil.Process]:
        try:
            return self._me.children(recursive=True)
        except psutil.Error:
            return []

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._sample()

    def _mine(self, child: psutil.Process, owned: frozenset[int]) -> bool:
        if child.pid not in self._before:  # started during this job
            return True
        if not hasattr(os, "getpgid"):  # Windows: no groups to own
            return False
        try:
            return os.getpgid(child.pid) in owned
        except OSError:
            return False

    def _sample(self) -> None:
        owned = self._owned()
        for child in self._children():
            if not self._mine(child, owned):
                continue
            peak_kb, resident_kb = _status_kb(child.pid, "VmHWM", "VmRSS")
            self._suite_kb = max(self._suite_kb, peak_kb)
            if self.limit_kb and resident_kb > self.limit_kb and self._over is None:
                self._over = (f"a suite process ({_name(child)}) used {resident_kb // 1024} "
                              f"MiB of memory, over the per-job bound of "
                              f"{self.limit_kb // 1024} MiB, and was stopped")
                _kill(child.pid)


def _kill(pid: int) -> None:
    """Its whole group, as a timeout would; never the harness's own group."""
    if not hasattr(os, "getpgid"):  # Windows: its tree, by process id
        try:
            process = psutil.Process(pid)
            for member in [*process.children(recursive=True), process]:
                member.kill()
        except psutil.Error:
            pass
        return
    try:
        group = os.getpgid(pid)
        if group == os.getpgid(0):
            os.kill(pid, signal.SIGKILL)
        else:
            os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return f"pid {process.pid}"
