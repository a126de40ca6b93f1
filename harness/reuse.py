"""Work a run does once per document, whichever of its jobs asks first: a source's truth
and the fonts it asks for, a reference PDF read at the scoring resolution.

Every suite and task of a document needs the same truth, and every suite shown against a
reference the same reference pages; reading them again per job was most of the harness's
time on a sweep of several suites. What one job computes is kept in the job's scratch
folder (the sweep's, shared by a local sweep's workers; a Dask worker thread's own) and in
the process's memory; a job finding it there only unpickles it. Keys hold the bytes'
SHA-256, so a file changed between two jobs is read again, never mistaken for the one
before. A sweep plans a document's jobs one after the other, so only the latest documents'
entries are kept: the folder holds at most KEPT_ON_DISK of them, the oldest removed first."""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")

FOLDER = "reuse"
IN_MEMORY = 4  # entries kept in a worker's memory: the documents of its latest jobs
KEPT_ON_DISK = 96  # about 30 documents' truth, fonts and reference: far more than in flight

_recent: OrderedDict[str, object] = OrderedDict()
_lock = threading.Lock()  # a Dask worker may run jobs on several threads


def once(scratch: Path, key: str, compute: Callable[[], T]) -> T:
    """`compute()`, or what an earlier job of this run computed under `key`."""
    path = scratch / FOLDER / f"{key}.pickle"
    remembered = str(path)  # a run's own: another sweep in this process has other scratch
    with _lock:
        if remembered in _recent:
            _recent.move_to_end(remembered)
            return _recent[remembered]  # type: ignore[return-value]
    value: T
    try:
        with open(path, "rb") as kept:
            value = pickle.load(kept)  # written by this run's own workers, never by a user
        os.utime(path)  # recently used: the last to be removed
    except Exception:  # absent, half-written or damaged: computed again, nothing is lost
        value = compute()
        _keep(path, value)
    with _lock:
        _recent[remembered] = value
        while len(_recent) > IN_MEMORY:
            _recent.popitem(last=False)
    return value


def _keep(path: Path, value: object) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # atomic: two jobs computing it at once both succeed
        _bound(path.parent)
    except Exception:  # not kept (no room, not picklable): the next job computes it again
        temporary.unlink(missing_ok=True)


def _bound(folder: Path) -> None:
    """The oldest entries removed beyond KEPT_ON_DISK: a whole night's references would
    otherwise fill the scratch disk (a reference's grey pages are 350 KB each)."""
    entries = []
    for entry in os.scandir(folder):
        if entry.name.endswith(".pickle"):
            try:
                entries.append((entry.stat().st_mtime_ns, entry.path))
            except OSError:
                continue
    for _, old in sorted(entries)[:-KEPT_ON_DISK]:
        try:
            os.unlink(old)  # a job reading it meanwhile has it open, or computes it again
        except OSError:
            pass


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def forget() -> None:
    """Drop what this process remembers (a Dask worker between sweeps)."""
    with _lock:
        _recent.clear()
