"""Profile checks: each setting's type and range, and the options the suites declare."""

import subprocess
import sys

import pytest

import renderers
from harness.config import PROFILE_SCHEMA, profile
from harness.errors import UsageError
from renderers.base import option_key


def _mine(**settings):
    return {"profiles": {"mine": settings}}


@pytest.mark.parametrize("grade", [0, 3, 5])
def test_fail_below_grade_takes_a_grade(grade):
    assert profile("mine", _mine(fail_below_grade=grade))[1] == {"fail_below_grade": grade}


@pytest.mark.parametrize("grade", [-1, 6, 50])
def test_fail_below_grade_outside_0_to_5_is_refused(grade):
    with pytest.raises(UsageError, match="fail_below_grade must be between 0 and 5"):
        profile("mine", _mine(fail_below_grade=grade))


def test_a_suite_option_is_a_setting_only_when_a_suite_declares_it():
    assert "libreoffice_mode" not in PROFILE_SCHEMA  # not hard-coded: declared by the suite
    with pytest.raises(UsageError, match="unknown setting libreoffice_mode"):
        profile("mine", _mine(libreoffice_mode="oneshot"))
    assert profile("mine", _mine(abiword_flavour="dry"), suite_options=["abiword_flavour"])[
        1] == {"abiword_flavour": "dry"}
    with pytest.raises(UsageError, match="abiword_flavour must be str"):
        profile("mine", _mine(abiword_flavour=2), suite_options=["abiword_flavour"])


def test_run_checks_a_profile_against_the_options_the_suites_declare(tmp_path):
    """`fidelity run` hands the declared options to the check: a declared one is taken (and
    its value checked against its choices), an undeclared one is named with the known."""
    declared = [option_key(suite, option) for suite, option in renderers.options()]
    assert "libreoffice_mode" in declared
    (tmp_path / "docs").mkdir()

    def run_with(line):
        (tmp_path / "fidelity.toml").write_text(f"[profiles.mine]\n{line}\n")
        return subprocess.run([sys.executable, "-m", "harness", "run", "--profile", "mine",
                               "--corpus", "docs", "--out", "out"], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120)

    taken = run_with('libreoffice_mode = "sometimes"')
    assert taken.returncode == 2 and "unknown libreoffice mode sometimes" in taken.stderr
    unknown = run_with('colour_mode = "x"')
    assert unknown.returncode == 2 and "unknown setting colour_mode" in unknown.stderr
    assert all(key in unknown.stderr for key in declared)
    out_of_range = run_with("fail_below_grade = 9")
    assert out_of_range.returncode == 2 and "between 0 and 5" in out_of_range.stderr


@pytest.mark.parametrize("key", ["timeout_seconds", "worker_wait_seconds", "jobs"])
def test_a_boolean_is_not_a_number_of_seconds_or_jobs(key):
    with pytest.raises(UsageError, match=key):
        profile("mine", _mine(**{key: True}))
    assert profile("mine", _mine(keep_outputs=True))[1] == {"keep_outputs": True}
