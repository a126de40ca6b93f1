"""Renderings travel from a Dask worker back to the coordinator as files, in bounded memory.

A job's small files (page images, most PDFs) come back inside its result; a file larger
than `INLINE_BYTES`, or any file past `INLINE_TOTAL_BYTES` per job, stays in the worker's
outbox and the coordinator pulls it in `CHUNK_BYTES` pieces, then tells the worker to drop
it. So neither side ever holds more than a few MiB of one job's renderings at a time.
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


@dataclass(frozen=True)
class Shipment:
    """A job's artifacts: some as bytes, the rest waiting in `worker`'s outbox `box`."""

    worker: str | None
    box: str | None
    inline: dict[str, bytes] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)  # relative path -> bytes


def outbox() -> Path:
    """This worker process's outbox (removed with its scratch after each sweep)."""
    return Path(tempfile.gettempdir()) / f"{SCRATCH_PREFIX}{os.getpid()}-dask-outbox"


def pack(artifacts: Path, worker: str | None) -> Shipment:
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
        target = outbox() / box / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        waiting[relative] = size
    return Shipment(worker, box if waiting else None, inline, waiting)


def read_chunk(box: str, relative: str, offset: int) -> bytes:
    """On the worker (`client.run`): one piece of a waiting file."""
    with open(_waiting(box, relative), "rb") as handle:
        handle.seek(offset)
        return handle.read(CHUNK_BYTES)


def drop(box: str) -> None:
    """On the worker (`client.run`): the box fetched, or abandoned."""
    shutil.rmtree(outbox() / box, ignore_errors=True)


def _waiting(box: str, relative: str) -> Path:
    path = (outbox() / box / relative).resolve()
    if not path.is_relative_to(outbox().resolve()):
        raise ValueError(f"{relative} is outside the outbox")
    return path


def unpack(shipment: Shipment, target: Path, client) -> None:
    """On the coordinator: every file written under `target`, each atomically; raises
    TransferLost when the worker holding the rest is gone."""
    for relative, data in shipment.inline.items():
        _write(target / relative, [data])
    if not shipment.waiting:
        return
    try:
        for relative, size in shipment.waiting.items():
            _write(target / relative, _pull(client, shipment, relative, size))
    finally:
        try:
            client.run(drop, shipment.box, workers=[shipment.worker], on_error="ignore")
        except Exception:  # the worker left: its outbox went with its scratch
            pass


def _pull(client, shipment: Shipment, relative: str, size: int):
    offset = 0
    while offset < size:
        try:
            answers = client.run(read_chunk, shipment.box, relative, offset,
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
