"""A sweep: every document through every chosen suite, in parallel worker processes.

The coordinating process is the only one that writes the store; each result is committed
as it arrives.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import renderers
from harness import PIPELINE_VERSION, __version__
from harness import executors
from harness.cache import CacheKey, adopt, font_families, fonts_fingerprint
from harness.config import feature_weights, load_settings
from harness.corpus import Document, document_key
from harness.corpus.manifest import hand_tags
from harness.corpus.properties import (PROPERTIES_VERSION, DocumentProperties,
                                       read_properties, with_hand_tags)
from harness.executors import Executor
from harness.errors import NothingToDo, UsageError
from harness.pipeline import Job, result_without_rendering
from harness.progress import SweepProgress
from harness.rasterise import DEFAULT_DPI
from harness.rasterise import get as get_rasteriser
from harness.records import JobResult
from harness.store import Run, Store, artifacts_root
from renderers.base import Availability, RenderOutcome, Status, Task
from renderers.msoffice import without_reference
from harness.processes.memory import DEFAULT_LIMIT_MB
from harness.processes.groups import network_containment, sweep_tagged

ALL_TASKS = tuple(Task)


@dataclass(frozen=True)
class SweepSettings:
    jobs: int
    timeout_seconds: float
    dpi: int = DEFAULT_DPI
    tasks: tuple[str, ...] = ALL_TASKS
    memory_limit_mb: int | None = DEFAULT_LIMIT_MB  # per suite process and job; None: unbounded
    use_cache: bool = True  # reuse a stored result whose inputs are all unchanged
    retry_failed: bool = False  # ... unless it was not `ok`
    resume: bool = True  # continue an unfinished run with the same plan
    # feature tag -> weight in the recommendation; None: the working folder's settings
    feature_weights: dict[str, float] | None = None
    follow_symlinks: bool = False  # documents linking outside their corpus were swept
    skipped: tuple[str, ...] = ()  # what discovery left alone, "corpus/path: reason"
    keep_outputs: bool = False  # every suite's PDF and saved file (see pipeline.Job)


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



def sweep(documents: list[Document], suites: list[str], store: Store,
          settings: SweepSettings, progress_plain: bool | None = None,
          executor: Executor | None = None) -> Run:
    """Run every job not already done, store every result, and return the finished run.

    A run killed before it finished, with the same plan (documents, suites, tasks,
    options), is resumed rather than started again; a job whose inputs are all unchanged
    since a stored result is not run (see harness.cache)."""
    if not documents:
        raise NothingToDo("no Office document found in the corpus folder(s)")
    executor = executor or executors.get("local", workers=settings.jobs)
    availability = executor.availability(suite_status(suites))
    usable = [n for n, a in availability.items() if a.available]
    for name, a in availability.items():
        if not a.available:
            print(f"warning: suite {name} is not available: {a.reason}", file=sys.stderr)
    if not usable:
        raise NothingToDo("none of the chosen suites is available: "
                          + "; ".join(f"{n}: {a.reason}" for n, a in availability.items()))
    run, done = _open_run(store, availability, documents, settings, executor,
                          document_properties(documents, store))
    _remove_orphaned_scratch()
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    artifacts = artifacts_root(store.path) / run.id
    immediate, jobs = _plan(documents, availability, settings, artifacts, scratch)
    immediate = [r for r in immediate if (r.corpus, r.document, r.suite, r.task) not in done]
    jobs = [j for j in jobs if (j.document.corpus, j.document.relpath, j.suite, j.task)
            not in done]
    reused, jobs, keys = _from_cache(store, jobs, availability, settings, artifacts)
    state = "interrupted"
    total = len(done) + len(immediate) + len(reused) + len(jobs)
    if done or reused:
        print("fidelity: " + (f"{len(done)} result(s) already stored in run {run.id}, "
                              if done else "")
              + f"{len(reused)} reused from the cache, {len(jobs)} job(s) to run",
              file=sys.stderr)

    def record(result: JobResult) -> None:
        key = keys.get((result.corpus, result.document, result.suite, result.task))
        cacheable = key is not None and result.status not in UNCACHED_STATUSES \
            and not result.suite_run.harness_error
        store.add_result(run.id, result, key.digest if cacheable else None,
                         key.parts if cacheable else None)
        progress.advance(result)

    try:
        earlier = [r for r in store.results(run.id)
                   if (r.corpus, r.document, r.suite, r.task) in done] if done else []
        with sweep_tagged(run.id), SweepProgress(total, progress_plain,
                                                 already_done=len(done), earlier=earlier,
                                                 to_run=len(jobs)) as progress:
            for result in immediate + reused:
                record(result)
            if jobs:
                executor.run(jobs, record)
        state = "complete"
    finally:
        store.finish_run(run.id, now_iso(), state)
        shutil.rmtree(scratch, ignore_errors=True)
    return store.run(run.id)


# Not reused from the cache: a timeout or a crash may be the machine's doing, not the
# document's, and is tried again on the next run.
UNCACHED_STATUSES = frozenset({Status.TIMED_OUT, Status.CRASHED})


def _options(suite: str, settings: SweepSettings) -> dict[str, object]:
    """The options that reach a suite, as the cache key sees them: the harness's, and the
    effective value of each option the suite declares."""
    options: dict[str, object] = {"timeout_seconds": settings.timeout_seconds}
    declared = renderers.renderer_class(suite)
    if declared is not None:
        options.update(declared.effective_options())
    return options


def _from_cache(store: Store, jobs: list[Job], availability: dict[str, Availability],
                settings: SweepSettings, artifacts: Path,
                ) -> tuple[list[JobResult], list[Job], dict[tuple, CacheKey]]:
    """Results reused from the cache, the jobs left to run, and every job's cache key."""
    reused: list[JobResult] = []
    to_run: list[Job] = []
    keys: dict[tuple, CacheKey] = {}
    root = artifacts_root(store.path)
    for job in jobs:
        key = CacheKey.of(job, availability[job.suite].version,
                          _options(job.suite, settings))
        keys[(job.document.corpus, job.document.relpath, job.suite, job.task)] = key
        hit = store.cached(key.digest) if settings.use_cache else None
        if hit is not None and (hit[1].status is Status.OK or not settings.retry_failed):
            run_id, cached = hit
            adopted = adopt(cached, root / run_id, artifacts, job.document,
                            document_key(cached.corpus, cached.document))
            if adopted is not None:
                first = adopted.suite_run.cached_from_run or run_id
                reused.append(replace(adopted, suite_run=replace(adopted.suite_run,
                                                                 cached_from_run=first)))
                continue
        to_run.append(job)
    return reused, to_run, keys


def plan_fingerprint(documents: list[Document], suites: list[str],
                     settings: SweepSettings) -> str:
    """What a run set out to do: a run with the same plan can be resumed."""
    plan = {"documents": sorted((d.corpus, d.relpath, d.sha256) for d in documents),
            "suites": sorted(suites), "tasks": sorted(settings.tasks), "dpi": settings.dpi,
            "timeout_seconds": settings.timeout_seconds}
    return hashlib.sha256(json.dumps(plan).encode()).hexdigest()


def _coordinator_gone(run: Run) -> bool:
    who = run.settings.get("coordinator") or {}
    if who.get("host") != platform.node() or not isinstance(who.get("pid"), int):
        return False  # another machine's run: cannot tell, so never taken over
    return not Path(f"/proc/{who['pid']}").exists()


def document_properties(documents: list[Document], store: Store,
                        ) -> dict[tuple[str, str], DocumentProperties]:
    """Each document's features and title: from the store when its bytes were seen before,
    else read now (and kept), plus the tags its corpus manifest adds by hand."""
    known = store.known_properties(PROPERTIES_VERSION)
    new = {d.sha256: read_properties(d) for d in documents if d.sha256 not in known}
    if new:
        print(f"fidelity: features of {len(new)} document(s) detected", file=sys.stderr)
        store.add_properties(PROPERTIES_VERSION, new)
    known.update(new)
    hand = {root: hand_tags(root) for root in {d.root for d in documents}}
    return {(d.corpus, d.relpath): with_hand_tags(known[d.sha256],
                                                   hand[d.root].get(d.relpath, ()))
            for d in documents}


def _open_run(store: Store, availability: dict[str, Availability], documents: list[Document],
              settings: SweepSettings, executor: Executor,
              properties: dict[tuple[str, str], DocumentProperties],
              ) -> tuple[Run, set[tuple]]:
    """A new run, or the unfinished run with the same plan, and what that run holds."""
    plan = plan_fingerprint(documents, list(availability), settings)
    fresh = _new_run(availability, documents, settings, executor, plan, properties)
    for old in reversed(store.runs()):
        stale = old.state == "running" and _coordinator_gone(old)
        if stale and old.settings.get("plan") != plan:
            store.finish_run(old.id, old.finished_at or now_iso(), "interrupted")
        resumable = old.state == "interrupted" or stale
        if settings.resume and resumable and old.settings.get("plan") == plan:
            settings_now = dict(fresh.settings, resumed=old.settings.get("resumed", 0) + 1)
            store.resume_run(old.id, settings_now)
            print(f"fidelity: resuming run {old.id}, which did not finish", file=sys.stderr)
            return store.run(old.id), store.stored_keys(old.id)
        if old.state == "complete" and old.settings.get("plan") == plan:
            break  # the newest run with this plan finished: nothing older to resume
    store.start_run(fresh, documents, properties)
    return fresh, set()


def suite_facts(name: str, availability: Availability) -> dict[str, object]:
    """What the report needs to know of a suite, kept in the run so that the store alone
    gives the same report anywhere, whatever the suites' code says later."""
    cls = renderers.renderer_class(name)
    return {"version": availability.version, "available": availability.available,
            "reason": availability.reason, "label": getattr(cls, "label", "") or name,
            "is_reference": bool(cls and cls.is_reference),
            "recommendable": bool(cls and cls.recommendable and not cls.is_reference),
            "tasks": [t.value for t in Task if cls and t in cls.tasks],
            "formats": sorted(cls.formats) if cls else []}


def run_feature_weights(documents: list[Document],
                        properties: dict[tuple[str, str], DocumentProperties],
                        configured: dict[str, float] | None) -> dict[str, object]:
    """The weights the recommendation gives features: those configured (kept so the report
    does not read the folder it is built in), and the effective ones over the documents
    counted (malformed ones are not)."""
    counted = [d for d in documents if not d.malformed]
    tags = Counter(t for d in counted for t in set(properties[(d.corpus, d.relpath)].features
                                                    if (d.corpus, d.relpath) in properties
                                                    else ()))
    return {"configured": dict(configured or {}),
            "effective": feature_weights(dict(tags), len(counted), configured)}


def _new_run(availability: dict[str, Availability], documents: list[Document],
             settings: SweepSettings, executor: Executor, plan: str,
             properties: dict[tuple[str, str], DocumentProperties] | None = None) -> Run:
    configured = (settings.feature_weights if settings.feature_weights is not None
                  else load_settings().get("feature_weights"))
    return Run(
        id=new_run_id(), started_at=now_iso(), finished_at=None, state="running",
        harness_version=__version__, pipeline_version=PIPELINE_VERSION,
        suites={n: suite_facts(n, a) for n, a in availability.items()},
        settings={"feature_weights": run_feature_weights(documents, properties or {},
                                                         configured),
                  "jobs": settings.jobs, "timeout_seconds": settings.timeout_seconds,
                  "memory_limit_mb": settings.memory_limit_mb, "tasks": list(settings.tasks),
                  "rasteriser": get_rasteriser().settings(settings.dpi).__dict__,
                  "corpora": sorted({str(d.root) for d in documents}),
                  "follow_symlinks": settings.follow_symlinks,
                  "keep_outputs": settings.keep_outputs,
                  "skipped": list(settings.skipped),
                  "plan": plan, **executor.describe(),
                  "coordinator": {"host": platform.node(), "pid": os.getpid()},
                  "fonts": fonts_fingerprint(), "font_families": font_families(),
                  "network": network_containment(),
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
                task = Task(task)
                if task not in renderer.tasks:
                    continue
                if not a.available:
                    outcome = RenderOutcome(Status.UNAVAILABLE, a.reason or "unavailable", 0.0)
                elif doc.refused:  # never given to a suite (harness.corpus.discover)
                    outcome = RenderOutcome(Status.UNSUPPORTED, doc.refused, 0.0)
                else:
                    outcome = renderer.refusal(doc.path, task)
                    if outcome is None and renderer.is_reference and doc.reference_pdf is None:
                        # only the reference discovery checked: none, or one it refused
                        outcome = without_reference(doc.path)
                    if outcome is None:
                        jobs.append(Job(doc, name, artifacts, scratch,
                                        settings.timeout_seconds, settings.dpi, task,
                                        settings.memory_limit_mb, settings.keep_outputs))
                        continue
                immediate.append(result_without_rendering(doc, name, a.version, outcome, task))
    return immediate, jobs
