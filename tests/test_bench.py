"""`fidelity bench`, run for real on a few probes: the naive loop and the harness measure the
same documents, and the figures add up. Speed itself is written in the issue notes,
never asserted here."""

import json
import subprocess
import sys

from tests.conftest import PROBES, REPO, needs_libreoffice


@needs_libreoffice
def test_bench_times_the_naive_loop_and_the_harness_on_the_same_sample(tmp_path):
    done = subprocess.run([sys.executable, "-m", "harness", "bench", "--corpus", str(PROBES),
                           "--limit", "3", "--no-dask", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert figures["documents"] == figures["naive"]["documents"] == 3
    assert figures["harness"]["documents"] == 3
    assert figures["naive"]["failures"] == figures["harness"]["failures"] == 0
    harness = figures["harness"]
    assert 0 < harness["suite_seconds"] <= harness["job_seconds"]
    assert 0 <= harness["outside_suites_share"] <= 1
    assert figures["ratio"] > 0 and figures["rerun_seconds"] > 0
