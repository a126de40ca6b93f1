"""Renderings travel from a Dask worker back to the coordinator as files, in bounded memory.

A job's small files (page images, most PDFs) come back inside its result; a file larger
than `INLINE_BYTES`, or any file past `INLINE_TOTAL_BYTES` per job, stays in the worker's
outbox and the coordinator pulls it in `CHUNK_BYTES` pieces, then tells the worker to drop
it. So neither side ever holds more than a few MiB of one job's renderings at a time.

Each sweep has its own outbox on a worker (sweeps may share a fleet), and nothing a worker
sends is written outside the job's artifacts folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

INLINE_BYTES = 1 << 20
INLINE_TOTAL_BYTES = 8 << 20
CHUNK_BYTES = 4 << 20
SCRATCH_PREFIX = "fidelity-"


class TransferLost(Exception):
    """The worker holding a job's renderings left before they were fetched."""


class TransferRefused(Exception):
    """A shipment names a file outside the folder it is unpacked in: nothing is written."""


@dataclass(frozen=True)
class Shipment:
    """A job's artifacts: some as bytes, the rest waiting in box `box` of the outbox of
    sweep `sweep` on `worker`."""

    worker: str | None
    sweep: str
    box: str | None
    inline: dict[str, bytes] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)  # relative path -> bytes


def sweep_folder(sweep: str) -> Path:
    """On a worker: the folder of one sweep's files (scratch, outbox), removed when that
    sweep ends. Named after this process first, as every scratch folder of the harness
    is, so that one left by a killed worker is recognised as orphaned."""
    if not sweep.isalnum():
        raise ValueError(f"not a sweep tag: {sweep!r}")
    return Path(tempfile.gettempdir()) / f"{SCRATCH_PREFIX}{os.getpid()}-dask-{sweep}"


def outbox(sweep: str) -> Path:
    """This worker process's outbox for one sweep."""
    return sweep_folder(sweep) / "outbox"


def pack(artifacts: Path, worker: str | None, sweep: str) -> Shipment:
    """On the worker: the job's artifacts folder made a shipment (the folder is consumed)."""
    inline: dict[str, bytes] = {}
    waiting: dict[str, int] = {}
    total = 0
    box = uuid.uuid4().hex
    for path in sorted(p for p in artifacts.rglob("*") if p.is_file()):
        relative = path.relative_to(artifacts).as_posix()
        size = path.stat().st_size
        if size <= INLINE_BYTES and total + size <= INLINE_TOTAL_BYTES:
            inline[relative] = path.read_bytes()
            total += size
            continue
        target = outbox(sweep) / box / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        waiting[relative] = size
    return Shipment(worker, sweep, box if waiting else None, inline, waiting)


def read_chunk(sweep: str, box: str, relative: str, offset: int) -> bytes:
    """On the worker (`client.run`): one piece of a waiting file."""
    with open(_waiting(sweep, box, relative), "rb") as handle:
        handle.seek(offset)
        return handle.read(CHUNK_BYTES)


def drop(sweep: str, box: str) -> None:
    """On the worker (`client.run`): the box fetched, or abandoned."""
    shutil.rmtree(_waiting(sweep, box, "."), ignore_errors=True)


def _waiting(sweep: str, box: str, relative: str) -> Path:
    return inside(outbox(sweep), f"{box}/{relative}")


def inside(root: Path, relative: str) -> Path:
    """`root / relative`, resolved; refused (TransferRefused) unless it is strictly under
    `root`: no `..`, absolute path or link inside `root` takes a file elsewhere."""
    base = root.resolve()
    path = (root / relative).resolve()
    if path == base or not path.is_relative_to(base):
        raise TransferRefused(f"{relative!r} is outside {root}")
    return path


def unpack(shipment: Shipment, target: Path, client) -> None:
    """On the coordinator: every file written under `target`, each atomically; raises
    TransferRefused, before writing any, when one would land outside `target`, and
    TransferLost when the worker holding the rest is gone."""
    try:
        places = {relative: inside(target, relative)
                  for relative in (*shipment.inline, *shipment.waiting)}
        for relative, data in shipment.inline.items():
            _write(places[relative], [data])
        for relative, size in shipment.waiting.items():
            _write(places[relative], _pull(client, shipment, relative, size))
    finally:
        if shipment.waiting:
            try:
                client.run(drop, shipment.sweep, shipment.box, workers=[shipment.worker],
                           on_error="ignore")
            except Exception:  # the worker left: its outbox went with its scratch
                pass


def _pull(client, shipment: Shipment, relative: str, size: int):
    offset = 0
    while offset < size:
        try:
            answers = client.run(read_chunk, shipment.sweep, shipment.box, relative, offset,
                                 workers=[shipment.worker], on_error="return")
        except Exception as exc:
            raise TransferLost(f"{type(exc).__name__}: {exc}") from None
        chunk = answers.get(shipment.worker)
        if not isinstance(chunk, bytes) or not chunk:
            raise TransferLost(f"{shipment.worker} could not send {relative}: "
                               f"{chunk!r}"[:200])
        offset += len(chunk)
        yield chunk


def _write(target: Path, chunks) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".part")
    try:
        with open(temporary, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
