"""Nightly sweeps against the real LibreOffice: the cache, resuming after SIGKILL, a
regression failing the run, and a real Dask scheduler and workers on loopback."""

import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import renderers
from harness.cache import CacheKey
from harness.corpus import Document
from harness.pipeline import Job
from harness.store import Store
from tests.conftest import PROBES, REPO, SHARED, needs_libreoffice, needs_shared

SHOW = ["--suite", "libreoffice", "--task", "show", "--corpus", str(PROBES)]
PROBE_COUNT = len([p for p in PROBES.iterdir() if not p.name.endswith(".json")])


def fidelity(*args, env=None, timeout=900):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=timeout,
                          env=dict(os.environ, CI="", **(env or {})))


def _results(out: Path, run_id=None):
    """A run's results (the latest run by default), read through the store."""
    from harness.store import Store

    with Store(out / "fidelity.sqlite") as store:
        run_id = run_id or store.run().id
        return run_id, [{"document": r.document, "task": str(r.task), "status": str(r.status),
                         "grade": r.grade, "details": r.details, "seconds": r.total_seconds}
                        for r in store.results(run_id)]


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
    # --fail-below: exit 1 exactly when a graded result is below it, typed `grade` in JUnit
    gated = fidelity("run", *SHOW, "--out", str(out), "--fail-below", "5", "--junit", "g.xml",
                     "--no-report")
    low = [r for r in _results(out)[1] if r["grade"] is not None and r["grade"] < 5]
    assert gated.returncode == (1 if low else 0), gated.stderr[-2000:]
    assert (f"{len(low)} graded result(s) below grade 5" in gated.stderr) == bool(low)
    types = [f.get("type") for f in ET.parse(out / "g.xml").getroot().iter("failure")]
    assert types.count("grade") == len(low)
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


def _stalling_soffice(folder: Path, stall_on: str) -> Path:
    """A stand-in soffice (FIDELITY_SOFFICE) that hangs on documents whose path holds
    `stall_on` and is the real soffice for every other call: a timeout on purpose."""
    real = subprocess.run(["sh", "-c", "command -v soffice"], capture_output=True,
                          text=True).stdout.strip()
    script = folder / "stalling-soffice"
    script.write_text(f"""#!/bin/sh
for arg in "$@"; do
  case "$arg" in *{stall_on}*) exec sleep 600;; esac
done
exec {real} "$@"
""")
    script.chmod(0o755)
    return script


@needs_libreoffice
@pytest.mark.integration
def test_injected_timeouts_are_regressions_against_the_previous_run_of_those_documents(
        tmp_path):
    """The issue's night: a quick run on other documents comes between two sweeps of the
    same folder; the second sweep's timeouts are still found, and fail the run and
    `history`."""
    docs, other = tmp_path / "docs", tmp_path / "other"
    docs.mkdir()
    other.mkdir()
    for name in ("word-features.docx", "word-review.docx", "sheet-features.xlsx"):
        shutil.copy(PROBES / name, docs / name)
    shutil.copy(PROBES / "deck-media.pptx", other / "deck-media.pptx")
    out = tmp_path / "reports"
    common = ["--suite", "libreoffice", "--task", "show", "--libreoffice-mode", "oneshot",
              "--timeout", "30", "--out", str(out), "--no-report"]
    first = fidelity("run", "--corpus", str(docs), *common)
    assert first.returncode == 0, first.stderr[-2000:]
    assert fidelity("run", "--corpus", str(other), *common).returncode == 0
    stalling = _stalling_soffice(tmp_path, "word-review")
    worse = fidelity("run", "--corpus", str(docs), *common, "--no-cache", "--junit", "j.xml",
                     env={"FIDELITY_SOFFICE": str(stalling)})
    runs = sqlite3.connect(out / "fidelity.sqlite").execute(
        "SELECT id FROM runs ORDER BY started_at, id").fetchall()
    assert worse.returncode == 1, worse.stderr[-2000:]
    assert f"since run {runs[0][0]} of the same 3 document(s): 1 regression" in worse.stdout
    assert "regression: docs/word-review.docx [show]: grade" in worse.stdout
    assert "-> timed_out" in worse.stdout
    _, results = _results(out)
    timed_out = [r for r in results if r["status"] == "timed_out"]
    assert [r["document"] for r in timed_out] == ["word-review.docx"]
    assert int(ET.parse(out / "j.xml").getroot().get("errors")) == 1
    history = fidelity("history", "--out", str(out))
    assert history.returncode == 1 and "1 regression" in history.stdout
    assert "new" in history.stdout and "gone" not in history.stdout
    data = json.loads(fidelity("history", "--out", str(out), "--json").stdout)
    [suite] = data
    assert suite["previous_run_id"] == runs[0][0] and suite["baseline"]["same_documents"]
    # failures count as 0: the timed-out document pulls the mean down, it is not left out
    docx = [r for r in results if r["document"].endswith(".docx")]
    before, after = suite["means"]["libreoffice docx"]
    assert (after["failed"], after["graded"]) == (1, len(docx) - 1)
    assert after["mean_grade"] == pytest.approx(
        sum(r["grade"] for r in docx if r["grade"] is not None) / len(docx), abs=0.01)
    assert after["mean_grade"] < before["mean_grade"]


@needs_libreoffice
@pytest.mark.integration
def test_a_suite_that_stops_running_fails_the_night_and_history_says_why(tmp_path):
    """LibreOffice rendered the documents last night and is missing tonight: its results
    are still compared, each one that was ok is a regression, and the run exits 1. (AbiWord
    runs too: a night where no suite at all is available is an error, not a history.)"""
    abiword = renderers.get("abiword").availability()
    if not abiword.available:
        pytest.skip(f"AbiWord not available here: {abiword.reason}")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("word-features.docx", "sheet-features.xlsx"):
        shutil.copy(PROBES / name, docs / name)
    out = tmp_path / "reports"
    common = ["--corpus", str(docs), "--suite", "libreoffice", "--suite", "abiword", "--task",
              "show", "--libreoffice-mode", "oneshot", "--out", str(out), "--no-report"]
    first = fidelity("run", *common)
    assert first.returncode == 0, first.stderr[-2000:]
    with Store(out / "fidelity.sqlite") as store:
        ok = [r for r in store.results(store.run().id)
              if r.suite == "libreoffice" and r.status == "ok"]
    assert ok
    missing = fidelity("run", *common, env={"FIDELITY_SOFFICE": str(tmp_path / "no-soffice")})
    assert missing.returncode == 1, missing.stdout + missing.stderr[-2000:]
    [line] = [x for x in missing.stdout.splitlines() if x.startswith("libreoffice ")]
    assert line.startswith("libreoffice unavailable this run: soffice not found")
    assert f"of the same 2 document(s): {len(ok)} regression" in line
    assert f"fidelity: {len(ok)} regression(s)" in missing.stderr
    assert "-> unavailable" in missing.stdout
    history = fidelity("history", "--out", str(out))
    assert history.returncode == 1 and "libreoffice unavailable this run" in history.stdout


@needs_libreoffice
@pytest.mark.integration
def test_ctrl_c_says_what_is_stored_and_the_same_command_resumes(tmp_path):
    out = tmp_path / "reports"
    args = ["run", *SHOW, "--task", "save", "--out", str(out), "--jobs", "1", "--no-cache",
            "--no-report"]
    sweep = subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=REPO, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=dict(os.environ, CI=""), start_new_session=True)
    _wait_for_results(out / "fidelity.sqlite", 2, sweep)
    os.killpg(sweep.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, stderr[-2000:]
    run_id, stored = _results(out)
    said = [line for line in stderr.splitlines() if "resume it with the same command" in line]
    assert said and f"run {run_id} stopped with {len(stored)} result(s) stored" in said[0]
    command = shlex.split(said[0].split("same command: ", 1)[1])
    # the command as it was typed: here python -m harness (a script says .venv/bin/fidelity)
    assert command[:3] == [sys.executable, "-m", "harness"] and command[3:] == args
    resumed = fidelity(*command[3:])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming run {run_id}" in resumed.stderr
    assert _results(out)[0] == run_id


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


def _job_result(name, status="ok", cached_from=None):
    from harness.pipeline import JobResult
    result = JobResult(corpus="c", document=name, format="docx", suite="libreoffice",
                       suite_version="7.4", task="show", status=status,
                       grade=4 if status == "ok" else None, message="")
    if cached_from is None:
        return result
    from dataclasses import replace
    if hasattr(result, "suite_run"):  # typed records
        return replace(result, suite_run=replace(result.suite_run, cached_from_run=cached_from))
    result.details["cached_from"] = cached_from
    return result


def test_progress_after_a_resume_counts_what_failed_before(capsys):
    from harness.progress import SweepProgress

    earlier = [_job_result(f"e{i}", "failed" if i < 3 else "ok") for i in range(5)]
    with SweepProgress(10, plain=True, already_done=5, earlier=earlier) as progress:
        progress.advance(_job_result("n1", "timed_out"))
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("[6/10]") and "libreoffice failed: 3" in last
    assert "libreoffice timed_out: 1" in last


def test_progress_says_how_many_suite_jobs_ran_beside_the_share_done(capsys):
    """Results known at once (unsupported, not installed) fill most of a sweep's count: the
    summary line says how many jobs that start a suite have run, so 80 % is not read as
    work done."""
    from harness.progress import SweepProgress

    with SweepProgress(10, plain=True, interval_seconds=3600, to_run=2) as progress:
        for i in range(8):
            progress.advance(_job_result(f"u{i}", "unsupported"))
        progress._summary()
        assert "[8/10] 80 % done (0 of 2 suite jobs run)" in capsys.readouterr().err
        progress.advance(_job_result("computed"))
        progress._summary()
        assert "(1 of 2 suite jobs run)" in capsys.readouterr().err


def test_results_taken_at_once_do_not_shorten_the_eta():
    """Reused results arrive in a burst before anything is computed: the ETA is the pace
    of computed results alone, not of the burst."""
    from harness.progress import SweepProgress

    progress = SweepProgress(102, plain=True, interval_seconds=3600)
    for i in range(100):
        progress.advance(_job_result(f"r{i}", cached_from="earlier"))
    assert progress.eta_seconds() is None  # nothing computed yet: no guess
    time.sleep(0.2)
    progress.advance(_job_result("computed"))
    assert progress.eta_seconds() >= 0.15  # one left, at ~0.2 s a result


def test_run_help_names_where_profiles_live_and_a_file_is_not_a_corpus(tmp_path):
    helped = fidelity("run", "--help", env={"COLUMNS": "200"})
    assert "tool.fidelity.profiles.NAME" in helped.stdout and "one of ." not in helped.stdout
    document = tmp_path / "some.docx"
    shutil.copy(PROBES / "word-features.docx", document)
    refused = fidelity("run", "--corpus", str(document), "--out", str(tmp_path / "out"))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"--corpus takes a folder, and {document} is a file" in refused.stderr


@needs_libreoffice
@needs_shared
@pytest.mark.integration
def test_a_limited_run_samples_across_formats_and_fail_below_sets_the_exit_code(tmp_path):
    golden = SHARED / "office2pdf-golden"
    out = tmp_path / "reports"
    done = fidelity("run", "--corpus", str(golden), "--suite", "libreoffice", "--task", "show",
                    "--limit", "3", "--fail-below", "5", "--junit", "j.xml", "--out", str(out),
                    "--no-report")
    documents = sorted(p for p in golden.iterdir() if p.suffix in (".docx", ".xlsx", ".pptx"))
    assert (f"sampled 3 of {len(documents)} documents, stratified by format, references "
            "first") in done.stderr
    _, results = _results(out)
    assert sorted(Path(r["document"]).suffix for r in results) == [".docx", ".pptx", ".xlsx"]
    low = [r for r in results if r["grade"] is not None and r["grade"] < 5]
    failed = [r for r in results if r["status"] in ("failed", "empty", "crashed", "timed_out")]
    assert done.returncode == (1 if low or failed else 0), done.stderr[-2000:]
    failures = list(ET.parse(out / "j.xml").getroot().iter("failure"))
    assert [f.get("type") for f in failures].count("grade") == len(low)
