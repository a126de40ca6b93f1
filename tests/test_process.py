"""The process runner kills whole process groups: no suite helper survives a timeout."""

import subprocess
import sys
import time
import uuid

from harness.processes.groups import run_in_group


def _alive(marker: str) -> bool:
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return bool(out.stdout.strip())


def test_timeout_kills_the_whole_group():
    marker = f"fidelity-test-{uuid.uuid4().hex}"
    # A parent that forks a grandchild, like oosplash -> soffice.bin.
    script = f"import subprocess,time; subprocess.Popen(['sleep','300','{marker}']); time.sleep(300)"
    result = run_in_group([sys.executable, "-c", script, marker], timeout_seconds=1.0)
    assert result.timed_out and result.returncode is None
    time.sleep(0.2)
    assert not _alive(marker), "a grandchild outlived the timeout"


def test_helpers_left_behind_by_a_normal_exit_are_killed():
    marker = f"fidelity-test-{uuid.uuid4().hex}"
    script = f"import subprocess; subprocess.Popen(['sleep','300','{marker}'])"
    result = run_in_group([sys.executable, "-c", script], timeout_seconds=30)
    assert result.returncode == 0 and not result.timed_out
    time.sleep(0.2)
    assert not _alive(marker)


def test_exit_code_and_stderr_are_kept():
    result = run_in_group([sys.executable, "-c", "import sys; sys.stderr.write('boom'); "
                           "sys.exit(3)"], timeout_seconds=30)
    assert result.returncode == 3 and result.stderr == "boom"


def test_death_by_signal_is_negative():
    result = run_in_group([sys.executable, "-c", "import os,signal; "
                           "os.kill(os.getpid(), signal.SIGSEGV)"], timeout_seconds=30)
    assert result.returncode == -11
