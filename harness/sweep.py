"""A sweep: every document through every chosen suite, in parallel worker processes.

The coordinating process is the only one that writes the store; each result is committed
as it arrives.
"""

from __future__ import annotations

import os
import platform
import secrets
import shutil
import sys
import tempfile
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import renderers
from harness import PIPELINE_VERSION, __version__
from harness.corpus import Document
from harness.errors import NothingToDo, UsageError
from harness.pipeline import Job, JobResult, result_without_rendering, run_job
from harness.progress import SweepProgress
from harness.rasterise import DEFAULT_DPI
from harness.rasterise import get as get_rasteriser
from harness.store import Run, Store
from harness.workers import stop_workers, worker_pool
from renderers.base import Availability, RenderOutcome, Status, Task
from renderers.process import SWEEP_VARIABLE, kill_tagged

ALL_TASKS = tuple(t.value for t in Task)


@dataclass(frozen=True)
class SweepSettings:
    jobs: int
    timeout_seconds: float
    dpi: int = DEFAULT_DPI
    tasks: tuple[str, ...] = ALL_TASKS


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def suite_status(names: list[str]) -> dict[str, Availability]:
    known = renderers.names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown suite {', '.join(unknown)}; known: {', '.join(known)}")
    return {name: renderers.get(name).availability() for name in names}


SCRATCH_PREFIX = "fidelity-"


def _remove_orphaned_scratch() -> None:
    """Scratch folders of sweeps that were killed outright (their owner pid is gone)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        owner = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists() and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def artifacts_root(store_path: Path) -> Path:
    return store_path.parent / "artifacts"


def sweep(documents: list[Document], suites: list[str], store: Store,
          settings: SweepSettings, progress_plain: bool | None = None) -> Run:
    """Run every job, store every result, and return the finished run."""
    if not documents:
        raise NothingToDo("no Office document found in the corpus folder(s)")
    availability = suite_status(suites)
    usable = [n for n, a in availability.items() if a.available]
    for name, a in availability.items():
        if not a.available:
            print(f"warning: suite {name} is not available here: {a.reason}", file=sys.stderr)
    if not usable:
        raise NothingToDo("none of the chosen suites is available here: "
                          + "; ".join(f"{n}: {a.reason}" for n, a in availability.items()))
    run = _new_run(availability, documents, settings)
    store.start_run(run, documents)
    _remove_orphaned_scratch()
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    immediate, jobs = _plan(documents, availability, settings,
                            artifacts_root(store.path) / run.id, scratch)
    state = "interrupted"
    previous_tag = os.environ.get(SWEEP_VARIABLE)
    # multiprocessing's resource tracker is the coordinator's, not a worker's: started before
    # the tag, it is not killed with what a dead worker left behind (it was, and the sweep
    # then failed at random with "resource_tracker: process died unexpectedly").
    resource_tracker.ensure_running()
    os.environ[SWEEP_VARIABLE] = run.id  # inherited by workers and every suite below them
    try:
        with SweepProgress(len(immediate) + len(jobs), progress_plain) as progress:
            for result in immediate:
                _record(store, run.id, progress, result)
            _execute(jobs, settings.jobs, store, run.id, progress)
        state = "complete"
    finally:
        kill_tagged(run.id, SWEEP_VARIABLE)  # whatever a dead worker left running
        if previous_tag is None:
            os.environ.pop(SWEEP_VARIABLE, None)
        else:
            os.environ[SWEEP_VARIABLE] = previous_tag
        store.finish_run(run.id, now_iso(), state)
        shutil.rmtree(scratch, ignore_errors=True)
    return store.run(run.id)


def _new_run(availability: dict[str, Availability], documents: list[Document],
             settings: SweepSettings) -> Run:
    return Run(
        id=new_run_id(), started_at=now_iso(), finished_at=None, state="running",
        harness_version=__version__, pipeline_version=PIPELINE_VERSION,
        suites={n: {"version": a.version, "available": a.available, "reason": a.reason}
                for n, a in availability.items()},
        settings={"jobs": settings.jobs, "timeout_seconds": settings.timeout_seconds,
                  "tasks": list(settings.tasks),
                  "rasteriser": get_rasteriser().settings(settings.dpi).__dict__,
                  "corpora": sorted({str(d.root) for d in documents}),
                  "machine": {"host": platform.node(), "system": platform.platform(),
                              "python": platform.python_version(), "cpus": os.cpu_count()}},
    )


def _plan(documents: list[Document], availability: dict[str, Availability],
          settings: SweepSettings, artifacts: Path, scratch: Path,
          ) -> tuple[list[JobResult], list[Job]]:
    """Jobs to run, and the results known without running anything (unavailable suite,
    unsupported format). A task a suite does not perform at all (the Microsoft reference
    does not save) is not planned; `fidelity suites` lists each suite's tasks."""
    immediate: list[JobResult] = []
    jobs: list[Job] = []
    suite_renderers = {name: renderers.get(name) for name in availability}
    for doc in documents:
        for name, renderer in suite_renderers.items():
            a = availability[name]
            for task in settings.tasks:
                if Task(task) not in renderer.tasks:
                    continue
                if not a.available:
                    outcome = RenderOutcome(Status.UNAVAILABLE, a.reason or "unavailable", 0.0)
                else:
                    outcome = renderer.refusal(doc.path, Task(task))
                    if outcome is None:
                        jobs.append(Job(doc, name, artifacts, scratch,
                                        settings.timeout_seconds, settings.dpi, task))
                        continue
                immediate.append(result_without_rendering(doc, name, a.version, outcome, task))
    return immediate, jobs


def _execute(jobs: list[Job], workers: int, store: Store, run_id: str,
             progress: SweepProgress) -> None:
    """Run jobs with at most `workers` in flight. When a worker process dies, the pool is
    broken for every job in it: the jobs in flight are retried one by one in a fresh pool,
    so only a document that really kills its worker ends as `crashed`."""
    queue = deque(jobs)
    while queue:
        suspects = _run_pool(queue, max(1, workers), store, run_id, progress)
        if suspects:  # the broken pool's workers are gone; their suites must go too
            kill_tagged(run_id, SWEEP_VARIABLE)
        for job in suspects:
            _run_isolated(job, store, run_id, progress)


def _record(store: Store, run_id: str, progress: SweepProgress, result: JobResult) -> None:
    store.add_result(run_id, result)
    progress.advance(result)


def _run_pool(queue: deque[Job], workers: int, store: Store, run_id: str,
              progress: SweepProgress) -> list[Job]:
    """Drain the queue; return the jobs in flight if the pool broke."""
    with worker_pool(workers) as pool:
        in_flight: dict[Future[JobResult], Job] = {}
        try:
            while queue or in_flight:
                while queue and len(in_flight) < workers:
                    job = queue.popleft()
                    in_flight[pool.submit(run_job, job)] = job
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        return list(in_flight.values())
                    _record(store, run_id, progress, result)
                    del in_flight[future]
        except BaseException:
            stop_workers(pool)
            raise
    return []


def _run_isolated(job: Job, store: Store, run_id: str, progress: SweepProgress) -> None:
    with worker_pool(1) as pool:
        try:
            result = pool.submit(run_job, job).result()
        except BrokenProcessPool as exc:
            outcome = RenderOutcome(Status.CRASHED, "the worker process died while processing "
                                    f"this document ({type(exc).__name__})", 0.0)
            result = result_without_rendering(job.document, job.suite, None, outcome, job.task)
        except BaseException:
            stop_workers(pool)
            raise
    _record(store, run_id, progress, result)
