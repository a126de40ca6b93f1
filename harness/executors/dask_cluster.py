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

Several sweeps may share a fleet. On a worker each sweep has its own scratch folder, outbox
and process tag, and each job its sweep's settings in the environment only while it runs;
the end of one sweep releases that sweep's suites and files, never another's.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
import uuid
from collections import Counter, deque
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Iterator

import renderers
from harness.errors import UsageError
from harness.executors import transfer
from harness.executors.base import Executor, Record, register
from harness.executors.fleet import (DEFAULT_WORKER_WAIT_SECONDS, Fleet, connect, fleet_of,
                                     resource_name, stopping, wait_for_fleet)
from harness.executors.local import worker_died
from harness.formats import reference_for
from harness.reuse import forget
from harness.pipeline import (Job, JobResult, changed_result, release_renderers,
                              result_without_rendering, run_job)
from harness.processes.groups import (HARNESS_VARIABLES, SWEEP_VARIABLE, WORKER_VARIABLE,
                                      kill_tagged)
from renderers.base import Availability, RenderOutcome, Status
from harness.records import SuiteRun

SCRATCH_PREFIX = transfer.SCRATCH_PREFIX
POLL_SECONDS = 1.0  # how often the fleet is looked at while jobs are waiting
# A sweep that ran nothing on a worker for this long, and never said it ended (its
# coordinator was killed), is released there when another sweep ends.
STALE_SWEEP_SECONDS = 6 * 3600.0


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
        return connect(self.scheduler, self.connect_seconds)

    def availability(self, here: dict[str, Availability]) -> dict[str, Availability]:
        """Each suite as the connected workers offer it, after a bounded wait for them."""
        with self._client() as client:
            fleet, _ = wait_for_fleet(client, self.scheduler, list(here),
                                      self.worker_wait_seconds, say=lambda line: print(
                                          f"fidelity: {line}", file=sys.stderr, flush=True))
        for line in _fleet_warnings(fleet):
            print(f"fidelity: {line}", file=sys.stderr)
        self.routed = fleet.routed
        return fleet.availability(here, self.worker_wait_seconds)

    def run(self, jobs: list[Job], record: Record) -> None:
        client = self._client()
        dispatch = None
        try:
            fleet, _ = wait_for_fleet(client, self.scheduler, sorted({j.suite for j in jobs}),
                                      self.worker_wait_seconds)
            routed = fleet.routed if self.routed is None else self.routed
            dispatch = _Dispatch(client, fleet, routed, self.scheduler,
                                 self.worker_wait_seconds, record)
            try:
                dispatch.run(jobs)
            finally:
                if dispatch.lost is None:  # without a scheduler, no worker can be told
                    try:
                        client.run(release_sweep, dispatch.sweep.tag, on_error="ignore")
                    except Exception:  # a worker gone already has nothing left to release
                        pass
        finally:
            if dispatch is not None and dispatch.lost is not None:
                # Dask logs its cancelled reconnection as an error with a traceback; the
                # sweep already said, in one line, that the scheduler was lost
                logging.disable(logging.ERROR)
                try:
                    client.close()
                finally:
                    logging.disable(logging.NOTSET)
            else:
                client.close()


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
        self.sweep = SweepOnWorker(uuid.uuid4().hex, job_environment(routed))
        self.pending: dict[str, deque[Job]] = {}
        self.in_flight: dict[str, tuple[object, Job]] = {}
        self.lost_since: dict[str, float] = {}
        self.lost: str | None = None  # why the scheduler was lost, once it was

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
                except CancelledError:  # all of them, when Dask loses the scheduler
                    if self._scheduler_lost():
                        return
            else:
                time.sleep(POLL_SECONDS)
            for key, (future, job) in list(self.in_flight.items()):
                if future.cancelled() and self._scheduler_lost():
                    return
                if future.done():
                    del self.in_flight[key]
                    self.record(self._result_of(future, job))
                    future.release()
            if time.monotonic() - last_look >= POLL_SECONDS:
                last_look = time.monotonic()
                self._look_at_fleet()

    def _scheduler_lost(self) -> bool:
        """When the client lost its scheduler (Dask then cancels every future, and the jobs'
        work is gone with it): the jobs in flight and those not sent are classified as a
        harness matter (not cached, run again next time), one line says so, and the sweep
        ends. A future cancelled while the client is still connected is not that."""
        if self.client.status == "running":
            return False
        self.lost = f"lost the Dask scheduler at {self.scheduler} mid-sweep"
        unrun = [job for _, job in self.in_flight.values()]
        self.in_flight.clear()
        for queue in self.pending.values():
            unrun.extend(queue)
            queue.clear()
        for job in unrun:
            self.record(_stranded(job, self.lost))
        print(f"warning: {self.lost}: {len(unrun)} job(s) not done are unavailable "
              "and run again next time", file=sys.stderr)
        return True

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
                future = self.client.submit(run_remote, job, document, reference, self.sweep,
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
        if future.cancelled():  # not by this sweep (it forgets what it cancels): nothing ran
            return _stranded(job, "its Dask task was cancelled")
        try:
            result, shipment = future.result()
        except Exception as exc:  # KilledWorker: the job took its worker down, more than once
            return worker_died(job, f"{type(exc).__name__}: {str(exc)[:200]}")
        try:
            transfer.unpack(shipment, job.artifacts_dir, self.client)
        except transfer.TransferLost as exc:  # the job was done: not the document's doing
            return _stranded(job, f"its renderings could not be fetched from the worker, "
                                  f"which left: {exc}")
        except transfer.TransferRefused as exc:
            return _refused(job, result, str(exc))
        return result


def _stranded(job: Job, why: str) -> JobResult:
    """Nothing ran (or what ran is lost): unavailable, and marked a harness matter so that
    it is neither cached nor kept on resume: the next sweep tries it again."""
    result = result_without_rendering(job.document, job.suite, None,
                                      RenderOutcome(Status.UNAVAILABLE, why, 0.0), job.task)
    return replace(result, suite_run=SuiteRun(harness_error=True))


def _refused(job: Job, result: JobResult, why: str) -> JobResult:
    """A worker's renderings that would land outside the run's artifacts folder: none is
    written, and the job fails as the harness's matter (not cached, run again next time)."""
    outcome = RenderOutcome(Status.FAILED, f"the worker's renderings were refused: {why}", 0.0)
    refused = result_without_rendering(job.document, job.suite, result.suite_version,
                                       outcome, job.task)
    return replace(refused, suite_run=SuiteRun(harness_error=True))


def _read_inputs(job: Job) -> tuple[bytes, bytes | None]:
    doc = job.document
    reference = doc.reference_pdf.read_bytes() if doc.reference_pdf else None
    return doc.path.read_bytes(), reference


@dataclass(frozen=True)
class SweepOnWorker:
    """What every job of a sweep carries to its worker besides itself: the sweep's tag
    (its scratch folder, outbox and suite processes there are tagged with it) and the
    environment its jobs run with (a variable mapped to None is unset for the job)."""

    tag: str
    environment: dict[str, str | None]


def job_environment(routed: bool) -> dict[str, str | None]:
    """The environment a sweep's jobs get on a worker. The sweep's settings (suite options,
    the harness's own variables) are the coordinator's, unset when it has none, since its
    cache key records them so; where a suite is installed is the fleet worker's own
    business, so only a plain worker gets the coordinator's (when it has them)."""
    settings = (*HARNESS_VARIABLES, *(o.variable for _, o in renderers.options()))
    located = {} if routed else forwarded_environment()
    return {**located, **{name: os.environ.get(name) for name in settings}}


def _this_worker(named: bool = False) -> str | None:
    """The worker's address (or, `named`, the name it was started with, else its address)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except ValueError:  # not on a worker (tests call it directly)
        return None
    return str(worker.name) if named and worker.name is not None else worker.address


def run_remote(job: Job, document: bytes, reference: bytes | None,
               sweep: SweepOnWorker) -> tuple[JobResult, transfer.Shipment]:
    """On a worker: the job on local copies of its inputs, in its sweep's folder and
    environment; its artifacts shipped back. A job whose worker is stopping asks Dask to
    run it elsewhere: its suite was killed on the way out, not by the document."""
    from distributed import Reschedule

    os.environ.setdefault(WORKER_VARIABLE, uuid.uuid4().hex)  # tags every suite it starts
    base = transfer.sweep_folder(sweep.tag) / f"thread-{threading.get_ident()}"
    inputs = base / "inputs" / uuid.uuid4().hex
    artifacts = base / "artifacts" / uuid.uuid4().hex
    _SWEEPS.enter(sweep.tag)
    try:
        with _ENVIRONMENT.applied({**sweep.environment, SWEEP_VARIABLE: sweep.tag}):
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
            if stopping():
                raise Reschedule()
            # which desk made it: a bad result can be traced to one machine's suite
            result = replace(result, suite_run=replace(result.suite_run,
                                                       worker=_this_worker(named=True)))
            return result, transfer.pack(artifacts, _this_worker(), sweep.tag)
    finally:
        shutil.rmtree(inputs, ignore_errors=True)
        shutil.rmtree(artifacts, ignore_errors=True)
        if _SWEEPS.leave(sweep.tag):  # released while this job ran: clear what it left
            _release(sweep.tag)


def forwarded_environment(options_only: bool = False) -> dict[str, str]:
    """What a job reads from the environment (the suites and the harness declare it), as
    the coordinator has it. With `options_only`, the sweep's settings alone (suite options,
    the harness's own), not where suites are installed."""
    if options_only:
        names = (*HARNESS_VARIABLES, *(o.variable for _, o in renderers.options()))
    else:
        names = renderers.environment()
    return {k: os.environ[k] for k in names if k in os.environ}


class _JobEnvironment:
    """The environment of the jobs running in this worker process. Suites read settings
    from the environment, and it is one per process: a job's settings are set while it
    runs and the worker's own restored after, so a sweep's settings never reach the next
    sweep (nor its cache keys). With one thread per worker (the default) jobs take turns
    anyway; with several, jobs with the same settings (the same sweep's) run together and
    one with other settings waits until they are done."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._active: dict[str, str | None] | None = None
        self._users = 0
        self._saved: dict[str, str | None] = {}
        self._waiting: list[dict[str, str | None]] = []

    @contextmanager
    def applied(self, environment: dict[str, str | None]) -> Iterator[None]:
        with self._changed:
            self._waiting.append(environment)
            try:  # same settings join running jobs unless other settings are waiting
                while self._users and (self._active != environment or any(
                        w != environment for w in self._waiting)):
                    self._changed.wait()
            finally:
                self._waiting.remove(environment)
            if not self._users:
                self._saved = {name: os.environ.get(name) for name in environment}
                _set_environment(environment)
                self._active = environment
            self._users += 1
        try:
            yield
        finally:
            with self._changed:
                self._users -= 1
                if not self._users:
                    _set_environment(self._saved)
                    self._active = None
                    self._changed.notify_all()


def _set_environment(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class _SweepsHere:
    """The sweeps this worker process has run jobs of: how many run now, since when none,
    and which were released (a job still running then clears up after itself)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()
        self._idle_since: dict[str, float] = {}
        self._released: set[str] = set()

    def enter(self, sweep: str) -> None:
        with self._lock:
            self._running[sweep] += 1
            self._idle_since.pop(sweep, None)

    def leave(self, sweep: str) -> bool:
        """True when the sweep was released while this job ran."""
        with self._lock:
            self._running[sweep] -= 1
            if self._running[sweep] <= 0:
                del self._running[sweep]
                if sweep not in self._released:
                    self._idle_since[sweep] = time.monotonic()
            return sweep in self._released

    def end(self, sweep: str) -> list[str]:
        """`sweep` and the sweeps left idle for STALE_SWEEP_SECONDS: now released."""
        with self._lock:
            now = time.monotonic()
            stale = [s for s, since in self._idle_since.items()
                     if s != sweep and now - since >= STALE_SWEEP_SECONDS]
            for ended in (sweep, *stale):
                self._idle_since.pop(ended, None)
                self._released.add(ended)
            return [sweep, *stale]


_ENVIRONMENT = _JobEnvironment()
_SWEEPS = _SweepsHere()


def release_sweep(sweep: str) -> None:
    """On a worker (`client.run`), after a sweep: that sweep's persistent suites stopped,
    what still carries its tag killed, its scratch and outbox removed; likewise for sweeps
    idle for hours whose coordinator never said it ended. Other sweeps are left alone."""
    for ended in _SWEEPS.end(sweep):
        _release(ended)


def _release(sweep: str) -> None:
    folder = transfer.sweep_folder(sweep)
    release_renderers(under=folder)
    forget()  # what the worker's memory kept of the sweep's documents
    kill_tagged(sweep, SWEEP_VARIABLE)
    shutil.rmtree(folder, ignore_errors=True)
