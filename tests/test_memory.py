"""Peak memory per job, and the per-job bound, with real child processes."""

import subprocess
import sys
import time

import psutil

from harness.processes.memory import JobMemory
from harness.processes.groups import run_in_group

# A child that holds N MiB resident (touched, not just reserved) for a while, then exits.
_HOLD = ("import sys, time; b = bytearray(int(sys.argv[1]) * 2**20); "
         "b[::4096] = b'x' * len(b[::4096]); time.sleep(float(sys.argv[2]))")


def _hold(mib: int, seconds: float) -> list[str]:
    return [sys.executable, "-c", _HOLD, str(mib), str(seconds)]


def test_a_short_command_s_peak_is_measured_even_between_two_samples():
    with JobMemory(None) as watch:
        result = run_in_group(_hold(300, 0.0), timeout_seconds=30)
    assert result.returncode == 0
    assert 300 <= watch.use.suite_peak_rss_mb < 400
    assert watch.use.over_limit is None
    assert watch.use.harness_peak_rss_mb > 0


def test_a_small_command_is_not_given_the_harness_s_own_memory():
    # The harness holds 400 MiB; a vfork'ed child's exec records the parent's high-water
    # mark, which must not be taken for the child's.
    ballast = bytearray(400 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])
    with JobMemory(None) as watch:
        run_in_group(["true"], timeout_seconds=30)
    assert watch.use.suite_peak_rss_mb is None or watch.use.suite_peak_rss_mb < 50
    assert watch.use.harness_peak_rss_mb >= 400
    del ballast


def test_a_process_over_the_bound_is_killed_with_its_group_and_said_so():
    with JobMemory(200) as watch:
        result = run_in_group(_hold(600, 20), timeout_seconds=60)
    assert result.returncode == -9
    assert result.seconds < 10  # stopped, not left to its 20 s
    assert watch.use.over_limit is not None
    assert "over the per-job bound of 200 MiB" in watch.use.over_limit
    assert watch.use.suite_peak_rss_mb >= 200


def test_an_idle_process_started_before_the_job_is_not_this_job_s_memory():
    # Another suite's listener in the same worker, say: it was there before and is not
    # one of the groups the job's suite says it owns.
    bystander = subprocess.Popen(_hold(300, 30), start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while psutil.Process(bystander.pid).memory_info().rss < 300 * 2**20:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with JobMemory(100) as watch:
            run_in_group(_hold(20, 0.5), timeout_seconds=30)
        assert watch.use.over_limit is None
        assert watch.use.suite_peak_rss_mb < 100
        assert bystander.poll() is None

        # ... unless the suite owns it: then its memory counts and the bound holds.
        with JobMemory(100) as watch:
            watch.follow(lambda: frozenset({bystander.pid}))
            time.sleep(0.5)
        assert watch.use.suite_peak_rss_mb >= 300
        assert watch.use.over_limit is not None
        bystander.wait(timeout=10)
        assert bystander.returncode == -9
    finally:
        bystander.kill()
        bystander.wait()
