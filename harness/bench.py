"""`fidelity bench`: the harness against the naive loop, on the same documents, in one go.

The naive loop is what one would write first: for each document a fresh `soffice
--convert-to pdf`, `pdftoppm`, and scikit-image's SSIM per page against the reference
(itself rasterised by pdftoppm), one document after the other. The harness runs the same
documents through LibreOffice (`show`) with its own executor, cache off; then again with
nothing changed (everything from the cache); and on a Dask cluster of as many workers on
loopback, whose results must equal the local run's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

import renderers
from harness import executors
from harness.corpus import Document
from harness.errors import NothingToDo
from harness.processes.groups import run_in_group
from harness.records import Status
from harness.store import Store
from harness.sweep import SweepSettings, sweep

SUITE = "libreoffice"


@dataclass(frozen=True)
class Timing:
    documents: int
    wall_seconds: float
    failures: int

    @property
    def per_minute(self) -> float:
        return 60 * self.documents / self.wall_seconds if self.wall_seconds else 0.0


@dataclass(frozen=True)
class HarnessTiming(Timing):
    workers: int = 1
    suite_seconds: float = 0.0  # inside the suites, summed over jobs
    job_seconds: float = 0.0  # whole jobs (suite + reading, comparing, grading), summed
    peak_worker_rss_mb: float = 0.0  # the largest harness worker process
    peak_suite_rss_mb: float = 0.0  # the largest suite process
    results: dict = field(default_factory=dict, repr=False)

    @property
    def outside_share(self) -> float:
        """Share of the workers' wall time not spent inside a suite (comparison, grading,
        storing, scheduling, idling)."""
        capacity = self.wall_seconds * self.workers
        return 1 - self.suite_seconds / capacity if capacity else 0.0


class _PeakMemory:
    """Samples the resident memory of this process's descendants: harness workers and
    suites apart. psutil, every 0.2 s: a peak shorter than that can be missed."""

    def __init__(self) -> None:
        self.worker_mb = 0.0
        self.suite_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.2):
            try:
                children = me.children(recursive=True)
            except psutil.Error:
                continue
            for child in children:
                try:
                    rss = child.memory_info().rss / 2**20
                    python = "python" in child.name()
                except psutil.Error:
                    continue
                if python:
                    self.worker_mb = max(self.worker_mb, rss)
                else:
                    self.suite_mb = max(self.suite_mb, rss)


def _pages(pdf: Path, folder: Path, timeout: float) -> list[np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    run_in_group(["pdftoppm", "-r", "60", "-gray", "-png", str(pdf), str(folder / "p")],
                 timeout_seconds=timeout)
    return [np.asarray(Image.open(p).convert("L")) for p in sorted(folder.glob("p*.png"))]


def naive_loop(documents: list[Document], scratch: Path, timeout: float) -> Timing:
    from skimage.metrics import structural_similarity

    soffice = renderers.get(SUITE).availability().executable
    profile = (scratch / "profile").as_uri()
    failures = 0
    start = time.monotonic()
    for number, doc in enumerate(documents):
        out = scratch / f"doc-{number}"
        out.mkdir()
        run_in_group([soffice, "--headless", "--norestore", f"-env:UserInstallation={profile}",
                      "--convert-to", "pdf", "--outdir", str(out), str(doc.path)],
                     timeout_seconds=timeout)
        pdf = out / (doc.path.stem + ".pdf")
        if not pdf.is_file():
            failures += 1
            continue
        pages = _pages(pdf, out / "pages", timeout)
        if doc.reference_pdf is not None:
            reference = _pages(doc.reference_pdf, out / "reference", timeout)
            for a, b in zip(reference, pages):
                h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
                if min(h, w) >= 7:  # scikit-image's window; a sliver of a page has none
                    structural_similarity(a[:h, :w], b[:h, :w], data_range=255)
    return Timing(len(documents), time.monotonic() - start, failures)


def harness_run(documents: list[Document], store_path: Path, workers: int, timeout: float,
                use_cache: bool, scheduler: str | None = None) -> HarnessTiming:
    executor = (executors.get("dask", scheduler=scheduler) if scheduler
                else executors.get("local", workers=workers))
    settings = SweepSettings(jobs=workers, timeout_seconds=timeout, tasks=("show",),
                             use_cache=use_cache, resume=False)
    with Store(store_path) as store, _PeakMemory() as memory:
        start = time.monotonic()
        run = sweep(documents, [SUITE], store, settings, progress_plain=True,
                    executor=executor)
        wall = time.monotonic() - start
        results = list(store.results(run.id))
    return HarnessTiming(
        len(documents), wall, sum(r.status is not Status.OK for r in results), workers,
        sum(r.suite_seconds for r in results), sum(r.total_seconds for r in results),
        round(memory.worker_mb, 1), round(memory.suite_mb, 1),
        {(r.corpus, r.document, r.task): (r.status, r.grade) for r in results})


def rerun_seconds(roots: list[Path], store_path: Path, limit: int | None) -> float:
    """A whole `fidelity run` with nothing changed, as a user types it (report aside)."""
    argv = [sys.executable, "-m", "harness", "run", "--suite", SUITE, "--task", "show",
            "--store", str(store_path), "--out", str(store_path.parent), "--no-report",
            "--fresh"]
    for root in roots:
        argv += ["--corpus", str(root)]
    if limit:
        argv += ["--limit", str(limit)]
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, CI=""))
    seconds = time.monotonic() - start
    if done.returncode not in (0, 1):
        raise NothingToDo(f"the re-run failed: {done.stderr.strip().splitlines()[-1:]}")
    return seconds


def dask_run(documents: list[Document], store_path: Path, workers: int,
             timeout: float) -> HarnessTiming:
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster:
        return harness_run(documents, store_path, workers, timeout, use_cache=False,
                           scheduler=cluster.scheduler_address)


def bench(documents: list[Document], roots: list[Path], limit: int | None, workers: int,
          timeout: float, with_dask: bool, say=print) -> dict:
    if not renderers.get(SUITE).availability().available:
        raise NothingToDo(f"bench needs LibreOffice: {renderers.get(SUITE).availability().reason}")
    with tempfile.TemporaryDirectory(prefix="fidelity-bench-") as folder:
        scratch = Path(folder)
        say(f"naive loop over {len(documents)} document(s)...")
        (scratch / "naive").mkdir()
        naive = naive_loop(documents, scratch / "naive", timeout)
        say(f"harness ({workers} worker(s))...")
        store = scratch / "harness" / "fidelity.sqlite"
        harness = harness_run(documents, store, workers, timeout, use_cache=False)
        say("re-run with nothing changed...")
        rerun = rerun_seconds(roots, store, limit)
        dask = None
        if with_dask:
            say(f"Dask, {workers} worker(s) on loopback...")
            dask = dask_run(documents, scratch / "dask" / "fidelity.sqlite", workers, timeout)
    figures = {
        "documents": len(documents), "workers": workers,
        "naive": {**asdict(naive), "per_minute": round(naive.per_minute, 2)},
        "harness": {k: v for k, v in asdict(harness).items() if k != "results"}
        | {"per_minute": round(harness.per_minute, 2),
           "outside_suites_share": round(harness.outside_share, 3)},
        "ratio": round(harness.per_minute / naive.per_minute, 2) if naive.per_minute else None,
        "rerun_seconds": round(rerun, 2),
    }
    if dask is not None:
        differing = sorted(k for k in harness.results if harness.results[k] != dask.results.get(k))
        figures["dask"] = {"per_minute": round(dask.per_minute, 2),
                           "wall_seconds": round(dask.wall_seconds, 1),
                           "same_results": not differing and len(dask.results) == len(
                               harness.results),
                           "differing": [list(k) for k in differing[:20]]}
    return figures
