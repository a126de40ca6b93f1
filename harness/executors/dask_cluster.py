"""Jobs on a Dask cluster (`--scheduler tcp://HOST:PORT`), for when one machine is not enough.

Workers need the suites installed, and the harness (`pip install fidelity-harness`); they
need no shared disk: each task carries its document (and reference PDF) as bytes, and
returns its result with the artifacts it wrote as bytes. The coordinating process writes
them, and the store, alone. Start workers with one thread each (`dask worker ADDRESS
--nthreads 1 --nworkers N`): a suite instance is not shared between threads anyway, but one
thread per process lets a timeout's process-group kill stay within one job.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from dataclasses import replace
from pathlib import Path

import renderers
from harness.errors import UsageError
from harness.formats import reference_for
from harness.executors.base import Executor, Record, register
from harness.executors.local import worker_died
from harness.pipeline import Job, JobResult, changed_result, release_renderers, run_job
from harness.processes.groups import WORKER_VARIABLE, kill_active_groups

SCRATCH_PREFIX = "fidelity-"


@register
class DaskExecutor(Executor):
    name = "dask"

    def __init__(self, scheduler: str | None = None, connect_seconds: float = 30) -> None:
        if not scheduler:
            raise UsageError("the dask executor needs --scheduler tcp://HOST:PORT")
        self.scheduler = scheduler
        self.connect_seconds = connect_seconds

    def describe(self) -> dict[str, object]:
        return {"executor": self.name, "scheduler": self.scheduler}

    def run(self, jobs: list[Job], record: Record) -> None:
        from distributed import Client, as_completed

        try:
            client = Client(self.scheduler, timeout=self.connect_seconds)
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {self.scheduler}: "
                             f"{exc}") from None
        with client:
            env = forwarded_environment()
            client.run(_configure_worker, env)
            threads = sum(w.get("nthreads", 1)
                          for w in client.scheduler_info()["workers"].values()) or 1
            pending = list(reversed(jobs))
            window = as_completed()
            in_flight: dict[str, Job] = {}

            def submit() -> None:
                while pending:
                    job = pending.pop()
                    if (changed := changed_result(job)) is not None:
                        record(changed)  # never read, never shipped
                        continue
                    document, reference = _read_inputs(job)
                    future = client.submit(run_remote, job, document, reference, pure=False,
                                           key=f"fidelity-{uuid.uuid4().hex}")
                    in_flight[future.key] = job
                    window.add(future)
                    return

            try:
                # A bounded window: documents travel as bytes, so never all at once.
                while pending and len(in_flight) < 2 * threads:
                    submit()
                for future in window:
                    job = in_flight.pop(future.key)
                    record(_result_of(future, job))
                    future.release()
                    if pending:
                        submit()
            finally:
                try:
                    client.run(_release_worker)
                except Exception:  # a worker gone already has nothing left to release
                    pass


def _read_inputs(job: Job) -> tuple[bytes, bytes | None]:
    doc = job.document
    reference = doc.reference_pdf.read_bytes() if doc.reference_pdf else None
    return doc.path.read_bytes(), reference


def _result_of(future, job: Job) -> JobResult:
    try:
        result, files = future.result()
    except Exception as exc:  # KilledWorker: the job took its worker down, more than once
        return worker_died(job, f"{type(exc).__name__}: {str(exc)[:200]}")
    for relative, data in files.items():
        target = job.artifacts_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".part")
        temporary.write_bytes(data)
        os.replace(temporary, target)
    return result


def _scratch() -> Path:
    return Path(tempfile.gettempdir()) / (
        f"{SCRATCH_PREFIX}{os.getpid()}-dask-{threading.get_ident()}")


def run_remote(job: Job, document: bytes, reference: bytes | None,
               ) -> tuple[JobResult, dict[str, bytes]]:
    """On a worker: the job on local copies of its inputs; its artifacts returned as bytes."""
    base = _scratch()
    inputs = base / "inputs" / uuid.uuid4().hex
    artifacts = base / "artifacts" / uuid.uuid4().hex
    try:
        path = inputs / job.document.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(document)
        reference_path = None
        if reference is not None:
            reference_path = reference_for(path)  # where the reference suite looks
            reference_path.write_bytes(reference)
        local = replace(job, document=replace(job.document, root=inputs,
                                              reference_pdf=reference_path),
                        artifacts_dir=artifacts, scratch_dir=base / "scratch")
        result = run_job(local)
        files = {p.relative_to(artifacts).as_posix(): p.read_bytes()
                 for p in sorted(artifacts.rglob("*")) if p.is_file()}
        return result, files
    finally:
        shutil.rmtree(inputs, ignore_errors=True)
        shutil.rmtree(artifacts, ignore_errors=True)


def forwarded_environment() -> dict[str, str]:
    """What a job reads from the environment (the suites and the harness declare it), as
    the coordinator has it: copied to every worker before the sweep."""
    return {k: os.environ[k] for k in renderers.environment() if k in os.environ}


def _configure_worker(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault(WORKER_VARIABLE, uuid.uuid4().hex)  # tags every suite it starts


def _release_worker() -> None:
    """After a sweep: the worker's persistent suites stopped, its scratch removed."""
    release_renderers()
    kill_active_groups()
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}{os.getpid()}-dask-*"):
        shutil.rmtree(folder, ignore_errors=True)
