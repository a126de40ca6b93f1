"""Worker processes of a sweep, and how they end: never as orphans.

A worker asks the kernel for SIGTERM when its parent dies (Linux PR_SET_PDEATHSIG), and on
SIGTERM kills the process group of the suite it is running before it exits. So a
coordinator that is killed, even with SIGKILL, takes its workers and their suites with it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from types import FrameType

from harness.processes.groups import WORKER_VARIABLE, kill_active_groups

_PR_SET_PDEATHSIG = 1


def _on_term(signum: int, frame: FrameType | None) -> None:
    kill_active_groups()
    os._exit(128 + signum)


def _initialise_worker(parent_pid: int) -> None:
    os.environ[WORKER_VARIABLE] = uuid.uuid4().hex  # inherited by every suite it starts
    # A worker leaving normally takes its persistent suites (UNO listeners) with it.
    multiprocessing.util.Finalize(None, kill_active_groups, exitpriority=100)
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        _on_term(signal.SIGTERM, None)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(
        "spawn"), initializer=_initialise_worker, initargs=(os.getpid(),))


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End every worker now: each kills its suite's process group on the way out."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)
