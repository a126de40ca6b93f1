"""Faults during a real sweep: a worker process killed mid-document costs nothing."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROBES, REPO, needs_libreoffice

pytestmark = [needs_libreoffice, pytest.mark.integration]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_killed_worker_is_replaced_and_no_result_is_lost(tmp_path):
    out = tmp_path / "reports"
    sweep = subprocess.Popen([sys.executable, "-m", "harness", "run", "--corpus", str(PROBES),
                              "--out", str(out), "--jobs", "1"], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and sweep.poll() is None:
        for pid in _children(sweep.pid):
            if "spawn_main" in _cmdline(pid) and _children(pid):  # a worker running a suite
                subprocess.run(["kill", "-KILL", str(pid)])
                killed = pid
                break
        time.sleep(0.05)
    stdout, stderr = sweep.communicate(timeout=600)
    assert killed is not None, "never saw a worker running a suite"
    assert sweep.returncode == 0, stderr[-2000:]
    results = json.loads((out / "latest" / "results.json").read_text())["results"]
    assert sorted(r["document"] for r in results) == sorted(
        p.name for p in PROBES.iterdir() if not p.name.endswith(".json"))
    # The job that lost its worker was retried alone and rendered.
    assert all(r["status"] == "ok" for r in results), results
