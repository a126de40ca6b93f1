"""Run a suite's command in its own process group under a hard timeout.

Office suites fork helpers (oosplash -> soffice.bin); killing only the direct child would
leave the real worker running, so the whole group is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

STDERR_LIMIT_CHARS = 20_000

# Process groups started by this process and still running: killed if this process is told
# to stop, so a suite never outlives the worker that started it.
_ACTIVE_GROUPS: set[int] = set()


@dataclass(frozen=True)
class ProcessResult:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def kill_active_groups() -> None:
    for pgid in list(_ACTIVE_GROUPS):
        _kill_group(pgid)
    _ACTIVE_GROUPS.clear()


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
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    _ACTIVE_GROUPS.add(proc.pid)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid)
        out, err = proc.communicate()
    except BaseException:
        _kill_group(proc.pid)
        _ACTIVE_GROUPS.discard(proc.pid)
        proc.wait()
        raise
    # Helpers may outlive a parent that exited normally; the group must not.
    _kill_group(proc.pid)
    _ACTIVE_GROUPS.discard(proc.pid)
    return ProcessResult(
        returncode=None if timed_out else proc.returncode,
        stdout=_clip(out),
        stderr=_clip(err),
        seconds=time.monotonic() - start,
        timed_out=timed_out,
    )
