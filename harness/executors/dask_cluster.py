"""Jobs on a Dask cluster (`--scheduler tcp://HOST:PORT`), for when one machine is not enough.

Workers are started with `fidelity worker ADDRESS` (harness.executors.fleet): each
advertises the suites installed on its machine as Dask worker resources, and a job goes
only to a worker that has its suite. A suite no connected worker advertises is
`unavailable` ("no worker advertises wps"). Plain `dask worker`s advertise nothing: when
no worker advertises any suite, any worker takes any job, as before fleets existed (and
the coordinator's own suites decide what is available); once one does, plain workers get
no job.

A sweep never waits for ever: with no worker at all, it waits `worker_wait_seconds` and
its suites are unavailable; a suite whose last worker leaves mid-sweep has its remaining
jobs classified after the same wait. A job whose worker dies is rerun by Dask on another
worker with the suite, or, after it took several workers down, `crashed`.

Workers need no shared disk: each task carries its document (and reference PDF) as bytes,
and its renderings come back as files (harness.executors.transfer). The coordinating
process writes them, and the store, alone.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import replace
from pathlib import Path

import renderers
from harness.errors import UsageError
from harness.executors import transfer
from harness.executors.base import Executor, Record, register
from harness.executors.fleet import (DEFAULT_WORKER_WAIT_SECONDS, Fleet, fleet_of,
                                     resource_name, wait_for_fleet)
from harness.executors.local import worker_died
from harness.formats import reference_for
from harness.pipeline import (Job, JobResult, changed_result, release_renderers,
                              result_without_rendering, run_job)
from harness.processes.groups import HARNESS_VARIABLES, WORKER_VARIABLE, kill_active_groups
from renderers.base import Availability, RenderOutcome, Status
from harness.records import SuiteRun

SCRATCH_PREFIX = transfer.SCRATCH_PREFIX
POLL_SECONDS = 1.0  # how often the fleet is looked at while jobs are waiting


@register
class DaskExecutor(Executor):
    name = "dask"

    def __init__(self, scheduler: str | None = None, connect_seconds: float = 30,
                 worker_wait_seconds: float | None = None) -> None:
        if not scheduler:
            raise UsageError("the dask executor needs --scheduler tcp://HOST:PORT")
        self.scheduler = scheduler
        self.connect_seconds = connect_seconds
        self.worker_wait_seconds = (DEFAULT_WORKER_WAIT_SECONDS if worker_wait_seconds is None
                                    else float(worker_wait_seconds))
        self.routed: bool | None = None  # decided when the sweep planned with the fleet

    def describe(self) -> dict[str, object]:
        return {"executor": self.name, "scheduler": self.scheduler,
                "worker_wait_seconds": self.worker_wait_seconds}

    def _client(self):
        from distributed import Client

        try:
            return Client(self.scheduler, timeout=self.connect_seconds)
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {self.scheduler}: "
                             f"{exc}") from None

    def availability(self, here: dict[str, Availability]) -> dict[str, Availability]:
        """Each suite as the connected workers offer it, after a bounded wait for them."""
        with self._client() as client:
            fleet, _ = wait_for_fleet(client, self.scheduler, list(here),
                                      self.worker_wait_seconds)
        for line in _fleet_warnings(fleet):
            print(f"fidelity: {line}", file=sys.stderr)
        self.routed = fleet.routed
        return fleet.availability(here, self.worker_wait_seconds)

    def run(self, jobs: list[Job], record: Record) -> None:
        with self._client() as client:
            fleet, _ = wait_for_fleet(client, self.scheduler, sorted({j.suite for j in jobs}),
                                      self.worker_wait_seconds)
            try:
                routed = fleet.routed if self.routed is None else self.routed
                _Dispatch(client, fleet, routed, self.scheduler, self.worker_wait_seconds,
                          record).run(jobs)
            finally:
                try:
                    client.run(_release_worker, on_error="ignore")
                except Exception:  # a worker gone already has nothing left to release
                    pass


def _fleet_warnings(fleet: Fleet) -> list[str]:
    lines = []
    if fleet.routed and fleet.plain():
        lines.append(f"{len(fleet.plain())} plain dask worker(s) advertise no suite and get "
                     "no job while fleet workers (`fidelity worker`) are connected")
    pipelines = {w.offer.pipeline_version for w in fleet.workers if w.offer is not None}
    if len(pipelines) > 1:
        lines.append(f"the fleet's workers run different pipeline versions "
                     f"({', '.join(map(str, sorted(pipelines)))}): results may not compare")
    return lines


class _Dispatch:
    """One sweep's jobs on the cluster: a bounded window per suite (documents travel as
    bytes), each routed to the workers that advertise its suite, and every job ends with a
    result even when its suite's last worker leaves."""

    def __init__(self, client, fleet: Fleet, routed: bool, scheduler: str,
                 wait_seconds: float, record: Record) -> None:
        self.client, self.fleet, self.scheduler = client, fleet, scheduler
        self.wait_seconds, self.record = wait_seconds, record
        self.routed = routed
        # what the jobs read from the environment: the sweep's settings; where a suite is
        # installed is the fleet worker's own business, so only plain workers get that too
        self.env = forwarded_environment(options_only=self.routed)
        self.pending: dict[str, deque[Job]] = {}
        self.in_flight: dict[str, tuple[object, Job]] = {}
        self.lost_since: dict[str, float] = {}

    def run(self, jobs: list[Job]) -> None:
        from distributed import wait

        for job in jobs:
            self.pending.setdefault(self._group(job), deque()).append(job)
        last_look = time.monotonic()
        while any(self.pending.values()) or self.in_flight:
            self._fill()
            futures = [f for f, _ in self.in_flight.values()]
            if futures:
                try:
                    wait(futures, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    pass
            else:
                time.sleep(POLL_SECONDS)
            for key, (future, job) in list(self.in_flight.items()):
                if future.done():
                    del self.in_flight[key]
                    self.record(self._result_of(future, job))
                    future.release()
            if time.monotonic() - last_look >= POLL_SECONDS:
                last_look = time.monotonic()
                self._look_at_fleet()

    def _group(self, job: Job) -> str:
        return job.suite if self.routed else ""

    def _fill(self) -> None:
        for group, queue in self.pending.items():
            limit = 2 * max(1, self.fleet.threads_for(group) if group else sum(
                w.nthreads for w in self.fleet.workers))
            busy = sum(1 for _, j in self.in_flight.values() if self._group(j) == group)
            while queue and busy < limit:
                job = queue.popleft()
                if (changed := changed_result(job)) is not None:
                    self.record(changed)  # never read, never shipped
                    continue
                document, reference = _read_inputs(job)
                key = f"fidelity-{job.suite}-{uuid.uuid4().hex}"
                resources = {resource_name(job.suite): 1} if self.routed else None
                future = self.client.submit(run_remote, job, document, reference, self.env,
                                            pure=False, key=key, resources=resources)
                self.in_flight[key] = (future, job)
                busy += 1

    def _look_at_fleet(self) -> None:
        """A suite no connected worker advertises any more: its jobs wait for one the
        bounded time, then are classified rather than left queued for ever."""
        try:
            self.fleet = fleet_of(self.client, self.scheduler, ask=False)
        except Exception:  # the scheduler itself is gone: Dask fails the futures
            return
        now = time.monotonic()
        waiting = {self._group(j) for _, j in self.in_flight.values()} | {
            g for g, q in self.pending.items() if q}
        for group in waiting:
            served = (self.fleet.offering(group) if group else self.fleet.workers)
            if served:
                self.lost_since.pop(group, None)
                continue
            since = self.lost_since.setdefault(group, now)
            if now - since >= self.wait_seconds:
                self._give_up(group, now - since)

    def _give_up(self, group: str, seconds: float) -> None:
        gone = f"no worker advertises {group}" if group else "no worker is connected"
        why = (f"{gone} any more: the last one left the Dask scheduler at {self.scheduler} "
               f"during the sweep and none came back within {seconds:.0f} s")
        stranded = [(k, f, j) for k, (f, j) in self.in_flight.items() if self._group(j) == group]
        self.client.cancel([f for _, f, _ in stranded])
        for key, _, job in stranded:
            del self.in_flight[key]
            self.record(_stranded(job, why))
        while self.pending.get(group):
            self.record(_stranded(self.pending[group].popleft(), why))
        self.lost_since.pop(group, None)

    def _result_of(self, future, job: Job) -> JobResult:
        try:
            result, shipment = future.result()
        except Exception as exc:  # KilledWorker: the job took its worker down, more than once
            return worker_died(job, f"{type(exc).__name__}: {str(exc)[:200]}")
        try:
            transfer.unpack(shipment, job.artifacts_dir, self.client)
        except transfer.TransferLost as exc:
            return worker_died(job, f"it left before its renderings were fetched: {exc}")
        return result


def _stranded(job: Job, why: str) -> JobResult:
    """Nothing ran (or what ran is lost): unavailable, and marked a harness matter so that
    it is neither cached nor kept on resume: the next sweep tries it again."""
    result = result_without_rendering(job.document, job.suite, None,
                                      RenderOutcome(Status.UNAVAILABLE, why, 0.0), job.task)
    return replace(result, suite_run=SuiteRun(harness_error=True))


def _read_inputs(job: Job) -> tuple[bytes, bytes | None]:
    doc = job.document
    reference = doc.reference_pdf.read_bytes() if doc.reference_pdf else None
    return doc.path.read_bytes(), reference


def _scratch() -> Path:
    return Path(tempfile.gettempdir()) / (
        f"{SCRATCH_PREFIX}{os.getpid()}-dask-{threading.get_ident()}")


def _this_worker() -> str | None:
    try:
        from distributed import get_worker

        return get_worker().address
    except ValueError:  # not on a worker (tests call it directly)
        return None


def run_remote(job: Job, document: bytes, reference: bytes | None,
               env: dict[str, str] | None = None) -> tuple[JobResult, transfer.Shipment]:
    """On a worker: the job on local copies of its inputs; its artifacts shipped back."""
    _configure_worker(env or {})
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
        return result, transfer.pack(artifacts, _this_worker())
    finally:
        shutil.rmtree(inputs, ignore_errors=True)
        shutil.rmtree(artifacts, ignore_errors=True)


def forwarded_environment(options_only: bool = False) -> dict[str, str]:
    """What a job reads from the environment (the suites and the harness declare it), as
    the coordinator has it: sent with every job. With `options_only`, the sweep's settings
    alone (suite options, the harness's own), not where suites are installed."""
    if options_only:
        names = (*HARNESS_VARIABLES, *(o.variable for _, o in renderers.options()))
    else:
        names = renderers.environment()
    return {k: os.environ[k] for k in names if k in os.environ}


def _configure_worker(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault(WORKER_VARIABLE, uuid.uuid4().hex)  # tags every suite it starts


def _release_worker() -> None:
    """After a sweep: the worker's persistent suites stopped, its scratch removed."""
    release_renderers()
    kill_active_groups()
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}{os.getpid()}-dask-*"):
        shutil.rmtree(folder, ignore_errors=True)
