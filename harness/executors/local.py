"""The default executor: a pool of worker processes on this machine (`--jobs N`)."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool

from harness.executors.base import Executor, Record, register
from harness.pipeline import Job, JobResult, result_without_rendering, run_job
from harness.workers import stop_workers, worker_pool
from renderers.base import RenderOutcome, Status
from harness.processes.groups import SWEEP_VARIABLE, kill_tagged


@register
class LocalExecutor(Executor):
    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def describe(self) -> dict[str, object]:
        return {"executor": self.name, "workers": self.workers}

    def run(self, jobs: list[Job], record: Record) -> None:
        """At most `workers` jobs in flight. When a worker process dies, the pool is broken
        for every job in it: the jobs in flight are retried one by one in a fresh pool, so
        only a document that really kills its worker ends as `crashed`."""
        queue = deque(jobs)
        while queue:
            suspects = self._run_pool(queue, record)
            if suspects:  # the broken pool's workers are gone; their suites must go too
                _kill_what_workers_left()
            for job in suspects:
                self._run_isolated(job, record)

    def _run_pool(self, queue: deque[Job], record: Record) -> list[Job]:
        """Drain the queue; return the jobs in flight if the pool broke."""
        with worker_pool(self.workers) as pool:
            in_flight: dict[Future[JobResult], Job] = {}
            try:
                while queue or in_flight:
                    while queue and len(in_flight) < self.workers:
                        job = queue.popleft()
                        in_flight[pool.submit(run_job, job)] = job
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        try:
                            result = future.result()
                        except BrokenProcessPool:
                            return list(in_flight.values())
                        record(result)
                        del in_flight[future]
            except BaseException:
                stop_workers(pool)
                raise
        return []

    def _run_isolated(self, job: Job, record: Record) -> None:
        with worker_pool(1) as pool:
            try:
                result = pool.submit(run_job, job).result()
            except BrokenProcessPool as exc:
                result = worker_died(job, type(exc).__name__)
            except BaseException:
                stop_workers(pool)
                raise
        record(result)


def worker_died(job: Job, why: str) -> JobResult:
    outcome = RenderOutcome(Status.CRASHED, "the worker process died while processing this "
                            f"document ({why})", 0.0)
    return result_without_rendering(job.document, job.suite, None, outcome, job.task)


def _kill_what_workers_left() -> None:
    tag = os.environ.get(SWEEP_VARIABLE)
    if tag:
        kill_tagged(tag, SWEEP_VARIABLE)
