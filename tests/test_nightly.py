"""Nightly sweeps against the real LibreOffice: the cache, resuming after SIGKILL, a
regression failing the run, and a real Dask scheduler and workers on loopback."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cache import CacheKey
from harness.corpus import Document
from harness.pipeline import Job
from tests.conftest import PROBES, REPO, needs_libreoffice

SHOW = ["--suite", "libreoffice", "--task", "show", "--corpus", str(PROBES)]
PROBE_COUNT = len([p for p in PROBES.iterdir() if not p.name.endswith(".json")])


def fidelity(*args, env=None, timeout=900):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=timeout,
                          env=dict(os.environ, CI="", **(env or {})))


def _results(out: Path, run_id=None):
    db = sqlite3.connect(out / "fidelity.sqlite")
    if run_id is None:
        run_id = db.execute("SELECT id FROM runs ORDER BY started_at DESC, id DESC").fetchone()[0]
    rows = db.execute("SELECT document, task, status, grade, details, total_seconds FROM "
                      "results WHERE run_id=?", (run_id,)).fetchall()
    return run_id, [{"document": r[0], "task": r[1], "status": r[2], "grade": r[3],
                     "details": json.loads(r[4]), "seconds": r[5]} for r in rows]


def test_the_cache_key_changes_with_every_input(tmp_path, monkeypatch):
    doc = Document("c", tmp_path, "a.docx", "docx", 3, "aa" * 32)
    job = Job(doc, "libreoffice", tmp_path, tmp_path, 60.0)
    base = CacheKey.of(job, "7.4", {"timeout_seconds": 60.0}).digest
    from dataclasses import replace
    variants = [
        CacheKey.of(replace(job, document=replace(doc, sha256="bb" * 32)), "7.4",
                    {"timeout_seconds": 60.0}),
        CacheKey.of(job, "7.5", {"timeout_seconds": 60.0}),
        CacheKey.of(replace(job, task="save"), "7.4", {"timeout_seconds": 60.0}),
        CacheKey.of(replace(job, suite="abiword"), "7.4", {"timeout_seconds": 60.0}),
        CacheKey.of(job, "7.4", {"timeout_seconds": 30.0}),
        CacheKey.of(replace(job, dpi=100), "7.4", {"timeout_seconds": 60.0}),
    ]
    monkeypatch.setattr("harness.cache.fonts_fingerprint", lambda: "other fonts")
    variants.append(CacheKey.of(job, "7.4", {"timeout_seconds": 60.0}))
    monkeypatch.undo()
    monkeypatch.setattr("harness.cache.PIPELINE_VERSION", 999)
    variants.append(CacheKey.of(job, "7.4", {"timeout_seconds": 60.0}))
    digests = [v.digest for v in variants]
    assert base not in digests and len(set(digests)) == len(digests)
    monkeypatch.undo()
    assert CacheKey.of(job, "7.4", {"timeout_seconds": 60.0}).digest == base


@needs_libreoffice
@pytest.mark.integration
def test_a_rerun_converts_nothing_and_keeps_every_artifact(tmp_path):
    out = tmp_path / "reports"
    first = fidelity("run", *SHOW, "--out", str(out), "--jsonl", "r.jsonl", "--junit", "j.xml")
    assert first.returncode == 0, first.stderr[-2000:]
    first_id, before = _results(out)
    assert len(before) == PROBE_COUNT and not any("cached_from" in r["details"] for r in before)
    again = fidelity("run", *SHOW, "--out", str(out))
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{PROBE_COUNT} reused from the cache, 0 job(s) to run" in again.stderr
    assert f"features of {PROBE_COUNT} document(s) detected" in first.stderr
    assert "detected" not in again.stderr  # known by their hash: no document is read
    second_id, after = _results(out)
    assert second_id != first_id
    assert {(r["document"], r["grade"]) for r in after} == {
        (r["document"], r["grade"]) for r in before}
    assert all(r["details"]["cached_from"] == first_id for r in after)
    for r in after:  # the second run's report finds its images in its own folder
        for page in r["details"]["pages"]:
            assert (out / "artifacts" / second_id / page).is_file()
    assert "0 regression, 0 fix" in again.stdout
    info = json.loads(fidelity("cache", "info", "--out", str(out), "--json").stdout)
    assert info["entries"] == PROBE_COUNT == info["matching_this_machine"]
    cases = list(ET.parse(out / "j.xml").getroot().iter("testcase"))
    assert len(cases) == PROBE_COUNT
    assert len((out / "r.jsonl").read_text().splitlines()) == PROBE_COUNT
    assert f"removed {PROBE_COUNT} cache entries" in fidelity("cache", "clear", "--out",
                                                              str(out)).stdout
    third = fidelity("run", *SHOW, "--out", str(out), "--limit", "1")
    assert "reused" not in third.stderr
    assert not any("cached_from" in r["details"] for r in _results(out)[1])


@needs_libreoffice
@pytest.mark.integration
def test_a_worse_result_is_a_regression_and_fails_the_run(tmp_path):
    out = tmp_path / "reports"
    assert fidelity("run", *SHOW, "--out", str(out), "--limit", "2").returncode == 0
    # One second is too short for a fresh soffice: every document times out.
    worse = fidelity("run", *SHOW, "--out", str(out), "--limit", "2", "--timeout", "1",
                     "--libreoffice-mode", "oneshot", "--junit", "j.xml")
    assert worse.returncode == 1, worse.stderr[-2000:]
    assert "regression(s) since the previous run" in worse.stderr
    assert "regression: probes/" in worse.stdout
    errors = ET.parse(out / "j.xml").getroot().get("errors")
    assert int(errors) >= 1


def _wait_for_results(store: Path, count: int, process: subprocess.Popen,
                      deadline_seconds: float = 300) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline and process.poll() is None:
        if store.exists():
            try:
                with sqlite3.connect(store, timeout=1) as db:
                    if db.execute("SELECT count(*) FROM results").fetchone()[0] >= count:
                        return
            except sqlite3.Error:
                pass
        time.sleep(0.1)
    raise AssertionError("the sweep never stored enough results")


@needs_libreoffice
@pytest.mark.integration
def test_a_sweep_killed_with_sigkill_resumes_without_losing_or_duplicating(tmp_path):
    out = tmp_path / "reports"
    args = ["run", "--suite", "libreoffice", "--task", "show", "--task", "save",
            "--corpus", str(PROBES), "--out", str(out), "--jobs", "1", "--no-cache"]
    sweep = subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=dict(os.environ, CI=""))
    _wait_for_results(out / "fidelity.sqlite", 3, sweep)
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    killed_id, stored = _results(out)
    assert 3 <= len(stored) < 2 * PROBE_COUNT
    time.sleep(1)  # workers follow their coordinator (PR_SET_PDEATHSIG)
    resumed = fidelity(*args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming run {killed_id}" in resumed.stderr
    run_id, final = _results(out)
    assert run_id == killed_id
    keys = [(r["document"], r["task"]) for r in final]
    assert len(keys) == len(set(keys)) == 2 * PROBE_COUNT
    kept = {(r["document"], r["task"]): r["seconds"] for r in stored}
    assert all(kept[(r["document"], r["task"])] == r["seconds"] for r in final
               if (r["document"], r["task"]) in kept), "a stored result was redone"
    with sqlite3.connect(out / "fidelity.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT state FROM runs").fetchall() == [("complete",)]
    leftovers = subprocess.run(["pgrep", "-f", f"fidelity-{sweep.pid}-"], capture_output=True,
                               text=True).stdout.split()
    assert leftovers == []


@needs_libreoffice
@pytest.mark.integration
def test_a_dask_cluster_gives_the_results_of_a_local_run(tmp_path):
    """A real scheduler and two real worker processes on loopback (dask.distributed)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        remote = fidelity("run", *SHOW, "--out", str(tmp_path / "dask"), "--scheduler",
                          cluster.scheduler_address)
        with Client(cluster) as client:
            workers = list(client.run(os.getpid).values())
        assert remote.returncode == 0, remote.stderr[-2000:]
        assert f"Dask scheduler {cluster.scheduler_address}" in remote.stderr
        # Each worker's persistent LibreOffice was stopped at the end of the sweep.
        for pid in workers:
            children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                      text=True).stdout.split()
            names = [Path(f"/proc/{c}/comm").read_text().strip() for c in children
                     if Path(f"/proc/{c}/comm").exists()]
            assert not [n for n in names if "soffice" in n or "oosplash" in n], names
    local = fidelity("run", *SHOW, "--out", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr[-2000:]
    dask_id, dask_results = _results(tmp_path / "dask")
    _, local_results = _results(tmp_path / "local")
    assert {(r["document"], r["status"], r["grade"]) for r in dask_results} == {
        (r["document"], r["status"], r["grade"]) for r in local_results}
    for r in dask_results:  # artifacts came back as bytes and were written here
        for page in r["details"]["pages"]:
            assert (tmp_path / "dask" / "artifacts" / dask_id / page).is_file()
