"""Work a run does once per document, whichever of its jobs asks first: a source's truth
and the fonts it asks for, a reference PDF read at the scoring resolution.

Every suite and task of a document needs the same truth, and every suite shown against a
reference the same reference pages; reading them again per job was most of the harness's
time on a sweep of several suites. What one job computes is kept in the sweep's scratch
folder (shared by the workers of this machine, removed with the run) and in the worker's
memory; a job finding it there only unpickles it. Keys hold the bytes' SHA-256, so a file
changed between two jobs is read again, never mistaken for the one before."""

from __future__ import annotations

import hashlib
import os
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")

FOLDER = "reuse"
IN_MEMORY = 4  # entries kept in a worker's memory: the documents of its latest jobs

_recent: OrderedDict[str, object] = OrderedDict()


def once(scratch: Path, key: str, compute: Callable[[], T]) -> T:
    """`compute()`, or what an earlier job of this run computed under `key`."""
    path = scratch / FOLDER / f"{key}.pickle"
    remembered = str(path)  # a run's own: another sweep in this process has other scratch
    if remembered in _recent:
        _recent.move_to_end(remembered)
        return _recent[remembered]  # type: ignore[return-value]
    value: T
    try:
        with open(path, "rb") as kept:
            value = pickle.load(kept)  # written by this run's own workers, never by a user
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
        value = compute()
        _keep(path, value)
    _recent[remembered] = value
    while len(_recent) > IN_MEMORY:
        _recent.popitem(last=False)
    return value


def _keep(path: Path, value: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(temporary, "wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # atomic: two jobs computing it at once both succeed
    except (OSError, pickle.PicklingError, TypeError):
        pass  # not kept: the next job computes it again, nothing is lost


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def forget() -> None:
    """Drop what this process remembers (a Dask worker between sweeps)."""
    _recent.clear()
