"""Retention (`fidelity prune --keep-runs N`) on real sweeps: artifacts of old runs go, every
result stays, a file the cache still uses stays, and a pruned run's report says so."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from harness.history import history
from harness.store import Store, artifacts_root
from tests.conftest import REPO, SHARED, needs_libreoffice, needs_shared

GOLDEN = SHARED / "office2pdf-golden"
DOCUMENTS = ("01_invoice_en.docx", "01_startup_pitch_en.pptx")


def fidelity(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=timeout, env=dict(os.environ, CI=""))


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """Three real sweeps of the same two documents, each converting again (--no-cache)."""
    tmp = tmp_path_factory.mktemp("prune")
    corpus = tmp / "corpus"
    corpus.mkdir()
    for name in DOCUMENTS:
        shutil.copy(GOLDEN / name, corpus / name)
        reference = GOLDEN / (Path(name).stem + ".reference.pdf")
        shutil.copy(reference, corpus / reference.name)
    out = tmp / "reports"
    for _ in range(3):
        done = fidelity("run", "--corpus", str(corpus), "--suite", "libreoffice", "--task",
                        "show", "--no-cache", "--out", str(out))
        assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: a grade moved
    return tmp, corpus, out


def _snapshot(out: Path):
    with Store(out / "fidelity.sqlite") as store:
        runs = [r.id for r in store.runs()]
        root = artifacts_root(store.path)
        results = {r: sum(1 for _ in store.results(r)) for r in runs}
        regressed_against = {h.previous_run_id for h in history(store, runs[-1])
                             if h.counts["regression"]}
    return runs, root, results, regressed_against


@needs_shared
@needs_libreoffice
def test_prune_keeps_results_and_the_last_run_and_frees_the_rest(three_runs):
    tmp, corpus, out = three_runs
    runs, root, results, regressed_against = _snapshot(out)
    assert len(runs) == 3 and all(results.values())
    before = {r: _files(root / r) for r in runs}
    assert all(before.values()), "every run kept page images and PDFs"
    assert all(_files(out / r / "pages") for r in runs), "every report has its pages"

    dry = fidelity("prune", "--keep-runs", "1", "--out", str(out), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would free" in dry.stdout
    assert {r: _files(root / r) for r in runs} == before, "a dry run deletes nothing"

    done = fidelity("prune", "--keep-runs", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    freed = float(done.stdout.rsplit("freed ", 1)[1].split(" MB")[0])
    assert freed > 0
    kept = {runs[-1]} | (regressed_against - {None})
    for run in runs:
        if run in kept:
            assert _files(root / run) == before[run], f"{run} is kept whole"
            assert _files(out / run / "pages")
        else:
            assert not _files(root / run), f"{run}'s artifacts are gone"
            assert not (out / run / "pages").exists()
            page = next((out / run / "documents").glob("01_invoice_en-*.html")).read_text()
            assert "Artifacts pruned" in page and "<img" not in page.split(
                '<section class="pages">')[1].split("</section>")[0]
    assert _snapshot(out)[2] == results, "every result of every run is kept"
    assert (out / "latest").resolve().name == runs[-1]
    # the report of a pruned run still builds, from the store alone
    oldest = fidelity("report", runs[0], "--out", str(tmp / "rebuilt"), "--store",
                      str(out / "fidelity.sqlite"))
    assert oldest.returncode == 0, oldest.stderr
    assert "Artifacts pruned" in "".join(
        p.read_text() for p in (tmp / "rebuilt" / runs[0] / "documents").glob("*.html"))
    again = fidelity("prune", "--keep-runs", "1", "--out", str(out))
    assert again.returncode == 0 and "freed 0.0 MB in all" in again.stdout


@needs_shared
@needs_libreoffice
def test_files_the_cache_points_at_are_kept_and_reused(three_runs):
    """A cache entry pointing at an old run (a later run did not do that document) keeps
    that run's files, and the next run reuses them instead of converting again."""
    tmp, corpus, out = three_runs
    store_path = out / "fidelity.sqlite"
    with Store(store_path) as store:
        runs = [r.id for r in store.runs()]
        newest = runs[-1]
        oldest = runs[0]
    # make the oldest run the one the cache points at, with files again (copied back from
    # the newest run, as an earlier pruning left none)
    root = artifacts_root(store_path)
    for path in _files(root / newest):
        target = root / oldest / path.relative_to(root / newest)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE cache SET run_id=?", (oldest,))
    with Store(store_path) as store:
        used = {root / run / rel for run, rel in store.cached_artifact_files()}
    assert used and all(p.is_file() and oldest in str(p) for p in used)
    done = fidelity("prune", "--keep-runs", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert all(p.is_file() for p in used), "files the cache uses are never pruned"
    assert "the cache still uses them" in done.stdout
    rerun = fidelity("run", "--corpus", str(corpus), "--suite", "libreoffice", "--task",
                     "show", "--out", str(out), "--no-report")
    assert rerun.returncode in (0, 1), rerun.stderr[-2000:]
    assert "2 reused from the cache" in rerun.stderr


def test_keep_runs_is_a_profile_key_of_at_least_one():
    from harness.config import profile
    from harness.errors import UsageError

    assert profile("night", {"profiles": {"night": {"keep_runs": 7}}})[1]["keep_runs"] == 7
    for wrong in (0, "7", 1.5):
        with pytest.raises(UsageError):
            profile("night", {"profiles": {"night": {"keep_runs": wrong}}})
    done = fidelity("prune", "--keep-runs", "0", "--store", "/nonexistent/s.sqlite")
    assert done.returncode == 2 and "no result store" in done.stderr


# Fabricated stores: real SQLite, real files and real reports, no suite needed. Each run
# has results of DOCS with a PDF and a page image; the page is hard-linked into its report.
DOCS = ("a.docx", "b.docx", "c.docx")


def _fabricate(tmp_path: Path, runs, cached: str | None = None):
    """runs: [(run_id, state, {document: grade})] oldest first; `cached`: a run whose
    results the cache points at. Returns (store path, reports folder)."""
    from datetime import datetime, timedelta, timezone

    from harness.corpus import Document
    from harness.corpus.discover import document_key
    from harness.records import Artifacts, JobResult
    from harness.report import build_report
    from harness.store import Run

    out = tmp_path / "reports"
    path = out / "fidelity.sqlite"
    root = artifacts_root(path)
    documents = [Document("c", tmp_path, name, "docx", 1, "aa" * 32) for name in DOCS]
    with Store(path) as store:
        for number, (run_id, state, grades) in enumerate(runs):
            started = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=number)
            store.start_run(Run(run_id, started.isoformat(), None, "running", "0.1.0", 2,
                                {"libreoffice": {"version": "7.4", "available": True}},
                                {"rasteriser": {"rasteriser": "pypdfium2", "dpi": 60}}),
                            documents)
            for name in DOCS:
                key = document_key("c", name)
                artifacts = Artifacts(pdf=f"{key}/libreoffice/show.pdf",
                                      pages=(f"{key}/libreoffice/page-001.png",))
                for rel, size in zip(artifacts.files(), (3000, 5000)):
                    (root / run_id / rel).parent.mkdir(parents=True, exist_ok=True)
                    (root / run_id / rel).write_bytes(os.urandom(size))
                result = JobResult(corpus="c", document=name, format="docx",
                                   suite="libreoffice", suite_version="7.4", task="show",
                                   status="ok", grade=grades.get(name, 5), message="m",
                                   artifacts=artifacts)
                store.add_result(run_id, result, cache_key=f"{name}-show"
                                 if run_id == cached else None)
            store.finish_run(run_id, (started + timedelta(minutes=5)).isoformat(), state)
            build_report(store, run_id, out)
    return path, out


def _sizes(folder: Path) -> int:
    """Bytes of the distinct files under `folder` (a hard link counted once)."""
    inodes = {(p.stat().st_dev, p.stat().st_ino): p.stat().st_size for p in _files(folder)}
    return sum(inodes.values())


def test_running_and_interrupted_runs_are_neither_counted_nor_pruned(tmp_path):
    from harness.prune import kept_runs, prune

    path, out = _fabricate(tmp_path, [("r1", "complete", {}), ("r2", "interrupted", {}),
                                      ("r3", "complete", {}), ("r4", "running", {})])
    root = artifacts_root(path)
    before = {r: _files(root / r) for r in ("r1", "r2", "r3", "r4")}
    with Store(path) as store:
        # the last complete run is r3, not r4 (running) nor r2 (interrupted)
        assert [r.id for r in kept_runs(store, 1)] == ["r2", "r3", "r4"]
        done = prune(store, 1, out)
    assert [p.run_id for p in done.pruned] == ["r1"]
    assert not _files(root / "r1")
    for run in ("r2", "r3", "r4"):
        assert _files(root / run) == before[run], f"{run} is untouched"
        assert _files(out / run / "pages")


def test_the_run_a_regression_points_at_keeps_its_artifacts(tmp_path):
    """r3 got worse than r2 on b.docx: with --keep-runs 1, r2 stays although only r3 is
    among the last 1, and r1 (regressed against by nobody) goes."""
    from harness.prune import prune

    path, out = _fabricate(tmp_path, [("r1", "complete", {}), ("r2", "complete", {}),
                                      ("r3", "complete", {"b.docx": 2})])
    with Store(path) as store:
        [h] = history(store, "r3")
        assert h.previous_run_id == "r2" and h.counts["regression"] == 1
        done = prune(store, 1, out)
    root = artifacts_root(path)
    assert set(done.kept) == {"r2", "r3"} and [p.run_id for p in done.pruned] == ["r1"]
    said = "\n".join(done.lines())  # and it says why each run stayed
    assert "r3: one of the last 1 complete run(s)" in said
    assert "r2: run r3 regressed against it (libreoffice" in said
    assert _files(root / "r2") and _files(out / "r2" / "pages")
    assert not _files(root / "r1")


def test_a_dry_run_and_a_real_one_count_the_same_bytes_freed(tmp_path):
    from harness.prune import prune

    path, out = _fabricate(tmp_path, [("r1", "complete", {}), ("r2", "complete", {})])
    root = artifacts_root(path)
    # every file of r1: its PDFs, and its pages (linked into the report: counted once)
    expected = _sizes(root / "r1")
    assert expected == len(DOCS) * 8000 and _files(out / "r1" / "pages")
    with Store(path) as store:
        dry = prune(store, 1, out, dry_run=True)
        done = prune(store, 1, out)
        recorded = store.pruned("r1")
    assert dry.freed_bytes == done.freed_bytes == expected
    # per document: its PDF and page in the artifacts, and their two links in the report
    assert recorded["bytes"] == expected and recorded["files"] == len(DOCS) * 4
    assert f"freed {expected / 1e6:.1f} MB in all" in done.lines()[-1]


def test_a_second_prune_frees_nothing_and_rebuilds_nothing(tmp_path):
    """Files the cache keeps of a pruned run are still shown by its rebuilt report (they
    are there), and the next prune leaves their links alone: nothing to delete, count or
    rebuild."""
    from harness.prune import prune

    path, out = _fabricate(tmp_path, [("r1", "complete", {}), ("r2", "complete", {})],
                           cached="r1")
    root = artifacts_root(path)
    with Store(path) as store:
        first = prune(store, 1, out)
        assert first.protected_files == len(DOCS) * 2 and first.reports_rebuilt == ("r1",)
        assert _files(root / "r1"), "the cache still uses r1's files"
        shown = {p.relative_to(out / "r1" / "pages") for p in _files(out / "r1" / "pages")}
        left = {p.relative_to(root / "r1") for p in _files(root / "r1")}
        assert left and shown == left, "the rebuilt report shows exactly the files left"
        page = next((out / "r1" / "documents").glob("a-*.html")).read_text()
        assert "Artifacts pruned on" in page and "reuses from the cache" in page
        second = prune(store, 1, out)
        recorded = store.pruned("r1")
    assert second.pruned == () and second.reports_rebuilt == () and second.freed_bytes == 0
    assert recorded["files"] == first.pruned[0].files, "nothing counted twice"
