"""The WPS Office adapter. WPS cannot be installed on our build machines, so these run the
real driver, under a real Xvfb, against ``tests/fakes/pywpsrpc``: a stand-in for pywpsrpc
with the calls and constants the driver uses and the checks a real WPS imposes (an X
display, an accepted EULA, existing absolute paths, known format codes). With
WPS_OFFICE_HOME_REAL set (and the real pywpsrpc installed), the task test runs on it too."""

import os
import subprocess
import time

import pytest

import renderers
from renderers.base import Status, Task
from tests.conftest import PROBES, REPO

REAL_HOME = os.environ.get("WPS_OFFICE_HOME_REAL")
needs_xvfb = pytest.mark.skipif(subprocess.run(["which", "Xvfb"], capture_output=True)
                                .returncode != 0, reason="Xvfb not installed")


def _xvfb_count() -> int:
    return len(subprocess.run(["pgrep", "-x", "Xvfb"], capture_output=True, text=True)
               .stdout.split())


def _xvfb_back_to(count: int) -> bool:
    """Killed processes take a moment to be reaped; wait for that, not longer."""
    deadline = time.monotonic() + 5
    while _xvfb_count() > count and time.monotonic() < deadline:
        time.sleep(0.05)
    return _xvfb_count() <= count


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    home = tmp_path / "wps-office"
    (home / "office6").mkdir(parents=True)
    monkeypatch.setenv("WPS_OFFICE_HOME", str(home))
    monkeypatch.setenv("WPS_OFFICE_VERSION", "0.0.0 (stand-in)")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), str(REPO / "tests" / "fakes")]))
    return renderers.get("wps", tmp_path / "scratch")


@pytest.fixture(params=["stand-in"] + (["real"] if REAL_HOME else []))
def wps(request, tmp_path, monkeypatch):
    if request.param == "real":
        monkeypatch.setenv("WPS_OFFICE_HOME", REAL_HOME)
        return renderers.get("wps", tmp_path / "scratch")
    return request.getfixturevalue("stand_in")


def test_unavailable_without_wps_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("WPS_OFFICE_HOME", str(tmp_path / "absent"))
    availability = renderers.get("wps", tmp_path).availability()
    assert not availability.available and "not found" in availability.reason


def test_unavailable_when_pywpsrpc_does_not_import(stand_in, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "")
    availability = renderers.get("wps", stand_in.scratch_dir).availability()
    assert not availability.available and "pywpsrpc" in availability.reason


@needs_xvfb
# Every task on every family: tests/test_suite_contract.py, as for every suite.
@pytest.mark.parametrize("probe", ["sheet-features.xlsx", "deck-features.pptx"])
def test_each_document_s_display_goes_with_it(wps, probe, tmp_path):
    before = _xvfb_count()
    outcome = wps.run(PROBES / probe, Task.SHOW, tmp_path / "job", 120)
    assert outcome.status is Status.OK, (outcome.message, outcome.stderr)
    assert outcome.via == "pywpsrpc under Xvfb"
    assert _xvfb_back_to(before)


@needs_xvfb
def test_a_document_that_does_not_open_is_failed(stand_in, tmp_path):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"no zip here")
    outcome = stand_in.show(broken, tmp_path / "job", 120)
    assert outcome.status is Status.FAILED and "could not open" in outcome.message


@needs_xvfb
def test_without_the_accepted_eula_wps_would_not_start(stand_in, tmp_path, monkeypatch):
    monkeypatch.setattr("renderers.wps.OFFICE_CONF", "[6.0]\n")
    renderer = renderers.get("wps", tmp_path / "other-scratch")
    outcome = renderer.show(PROBES / "word-features.docx", tmp_path / "job", 120)
    assert outcome.status is Status.FAILED and "RPC interface did not start" in outcome.message


@needs_xvfb
def test_a_hung_wps_is_killed_with_its_display(stand_in, tmp_path, monkeypatch):
    before = _xvfb_count()
    monkeypatch.setenv("FAKE_WPS_HANG", "1")
    start = time.monotonic()
    outcome = stand_in.show(PROBES / "word-features.docx", tmp_path / "job", 3)
    assert outcome.status is Status.TIMED_OUT and time.monotonic() - start < 15
    assert _xvfb_back_to(before)
