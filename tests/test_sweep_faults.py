"""Faults during a real sweep: a worker process killed mid-document costs nothing."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.conftest import PROBES, REPO, needs_libreoffice

pytestmark = [needs_libreoffice, pytest.mark.integration]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _kill_first(sweep: subprocess.Popen, candidates: Callable[[int], list[int]],
                pick: Callable[[int], Any]) -> Any:
    """SIGKILL the first of the sweep's processes that pick names, within 120 s: the name."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sweep.poll() is None:
        for pid in candidates(sweep.pid):
            name = pick(pid)
            if name is not None:
                subprocess.run(["kill", "-KILL", str(pid)])
                return name
        time.sleep(0.02)
    return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_killed_worker_is_replaced_and_no_result_is_lost(tmp_path):
    out = tmp_path / "reports"
    sweep = subprocess.Popen([sys.executable, "-m", "harness", "run", "--corpus", str(PROBES),
                              "--out", str(out), "--jobs", "1", "--suite", "libreoffice",
                              "--task", "show"], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tracker_environ: bytes | None = None

    def worker_running_a_suite(pid: int) -> int | None:
        nonlocal tracker_environ
        if tracker_environ is None and "resource_tracker" in _cmdline(pid):
            tracker_environ = Path(f"/proc/{pid}/environ").read_bytes()
        return pid if "spawn_main" in _cmdline(pid) and _children(pid) else None

    killed = _kill_first(sweep, _children, worker_running_a_suite)
    stdout, stderr = sweep.communicate(timeout=600)
    assert killed is not None, "never saw a worker running a suite"
    assert sweep.returncode == 0, stderr[-2000:]
    # What a dead worker left is killed by the sweep's tag; the coordinator's own resource
    # tracker must not carry it (killing it made this sweep fail at random).
    assert tracker_environ is not None, "never saw the sweep's resource tracker"
    assert b"FIDELITY_SWEEP_TAG=" not in tracker_environ
    assert "process died unexpectedly" not in stderr
    results = json.loads((out / "latest" / "results.json").read_text())["results"]
    assert sorted(r["document"] for r in results) == sorted(
        p.name for p in PROBES.iterdir() if not p.name.endswith(".json"))
    # The job that lost its worker was retried alone and rendered.
    assert all(r["status"] == "ok" for r in results), results
    # The dead worker's persistent listener had no parent left to stop it: the sweep did.
    leftovers = subprocess.run(["pgrep", "-f", f"soffice.*fidelity-{sweep.pid}-"],
                               capture_output=True, text=True).stdout.split()
    assert leftovers == [], [_cmdline(int(p)) for p in leftovers]


def _start_sweep_and_wait_for_a_suite(out: Path) -> tuple[subprocess.Popen, list[int]]:
    sweep = subprocess.Popen([sys.executable, "-m", "harness", "run", "--corpus", str(PROBES),
                              "--out", str(out), "--jobs", "2", "--suite", "libreoffice"],
                             cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        workers = [p for p in _children(sweep.pid) if "spawn_main" in _cmdline(p)]
        if any(_children(w) for w in workers):
            return sweep, workers
        time.sleep(0.02)
    sweep.kill()
    pytest.fail("never saw a worker running a suite")


def _scratch_suites(sweep_pid: int) -> list[int]:
    """Suites running from this sweep's scratch folder (profiles live there)."""
    found = subprocess.run(["pgrep", "-f", f"soffice.*fidelity-{sweep_pid}-"],
                           capture_output=True, text=True).stdout.split()
    return _alive([int(p) for p in found])


def _alive(pids: list[int]) -> list[int]:
    return [p for p in pids if Path(f"/proc/{p}").exists()
            and "State:\tZ" not in Path(f"/proc/{p}/status").read_text()]


@pytest.mark.parametrize("signal_name", ["TERM", "KILL"])
def test_a_stopped_coordinator_leaves_no_worker_and_no_suite(tmp_path, signal_name):
    sweep, workers = _start_sweep_and_wait_for_a_suite(tmp_path / "reports")
    suites = [s for w in workers for s in _children(w)]
    subprocess.run(["kill", f"-{signal_name}", str(sweep.pid)])
    sweep.communicate(timeout=60)
    deadline = time.monotonic() + 15
    while _alive(workers + suites) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(workers), "orphan worker processes"
    deadline = time.monotonic() + 10
    while _scratch_suites(sweep.pid) and time.monotonic() < deadline:  # being reaped
        time.sleep(0.1)
    assert not _scratch_suites(sweep.pid), [_cmdline(p) for p in _scratch_suites(sweep.pid)]
    if signal_name == "KILL":  # no chance to clean up: the next sweep does it
        import tempfile
        leftovers = list(Path(tempfile.gettempdir()).glob(f"fidelity-{sweep.pid}-*"))
        assert leftovers
        one = tmp_path / "one"
        one.mkdir()
        (one / "deck.pptx").symlink_to(PROBES / "deck-features.pptx")
        subprocess.run([sys.executable, "-m", "harness", "run", "--corpus", str(one), "--out",
                        str(tmp_path / "again"), "--jobs", "1"], cwd=REPO, check=True,
                       capture_output=True, timeout=300)
        assert not any(p.exists() for p in leftovers)
    if signal_name == "TERM":
        assert sweep.returncode == 130
        import sqlite3
        db = sqlite3.connect(tmp_path / "reports" / "fidelity.sqlite")
        assert db.execute("SELECT state FROM runs").fetchone()[0] == "interrupted"


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        children = _children(queue.pop())
        found += children
        queue += children
    return found


def test_a_suite_killed_mid_document_costs_that_document_only(tmp_path):
    """soffice.bin killed while it renders: that result is `crashed`, every other document
    is rendered, and the sweep ends normally. One-shot mode, so that the persistent mode's
    retry on the command line cannot hide the crash."""
    out = tmp_path / "reports"
    sweep = subprocess.Popen([sys.executable, "-m", "harness", "run", "--corpus", str(PROBES),
                              "--out", str(out), "--jobs", "1", "--suite", "libreoffice",
                              "--task", "show", "--libreoffice-mode", "oneshot"], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    def rendering_a_probe(pid: int) -> str | None:
        line = _cmdline(pid)
        if "soffice.bin" not in line or "--convert-to" not in line:
            return None
        return next((p.name for p in PROBES.iterdir() if str(p) in line), None)

    victim = _kill_first(sweep, _descendants, rendering_a_probe)
    stdout, stderr = sweep.communicate(timeout=600)
    assert victim is not None, "never saw soffice.bin rendering a probe"
    assert sweep.returncode == 0, stderr[-2000:]
    results = json.loads((out / "latest" / "results.json").read_text())["results"]
    by = {r["document"]: r for r in results}
    assert by[victim]["status"] == "crashed", by[victim]  # oosplash reports "exit code 137"
    others = [r for name, r in by.items() if name != victim]
    assert len(others) == len(by) - 1 and all(r["status"] == "ok" for r in others), others
