"""OnlyOffice's x2t adapter. OnlyOffice cannot be installed on our build machines, so these
run against ``fake_x2t``, a stand-in that enforces x2t's documented interface (params XML
tags, format codes, working directory) and answers with x2t's real exit codes. With
ONLYOFFICE_X2T pointing at a real x2t, the tests not marked stand-in-only run against it."""

import os
import subprocess
import time
from pathlib import Path

import pytest

import renderers
from tests.fakes.fake_x2t import install as install_x2t
from renderers.base import Status, Task
from renderers.onlyoffice import EXIT_CODES, FORMAT_CODES, params_xml
from tests.conftest import PROBES

REAL_X2T = os.environ.get("ONLYOFFICE_X2T_REAL")


@pytest.fixture(params=["stand-in"] + (["real"] if REAL_X2T else []))
def onlyoffice(request, tmp_path, monkeypatch):
    x2t = REAL_X2T if request.param == "real" else install_x2t(tmp_path / "oo")
    monkeypatch.setenv("ONLYOFFICE_X2T", str(x2t))
    return renderers.get("onlyoffice", tmp_path / "scratch")


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    monkeypatch.setenv("ONLYOFFICE_X2T", str(install_x2t(tmp_path / "oo")))
    return renderers.get("onlyoffice", tmp_path / "scratch")


def test_unavailable_without_x2t_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("ONLYOFFICE_X2T", str(tmp_path / "absent"))
    renderer = renderers.get("onlyoffice", tmp_path)
    assert not renderer.availability().available
    outcome = renderer.show(PROBES / "word-features.docx", tmp_path / "job", 10)
    assert outcome.status is Status.UNAVAILABLE and "x2t not found" in outcome.message


# Every task on every family: tests/test_suite_contract.py, as for every suite.
def test_x2t_is_named_as_the_way_it_was_driven(onlyoffice, tmp_path):
    outcome = onlyoffice.run(PROBES / "word-features.docx", Task.SAVE, tmp_path / "job", 120)
    assert outcome.status is Status.OK, (outcome.message, outcome.stderr)
    assert outcome.via == "x2t"


def test_params_carry_the_documented_tags_and_codes(tmp_path):
    xml = params_xml(Path("/in/a & b.docx"), Path("/out/a.pdf"), FORMAT_CODES["pdf"],
                     "/usr/share/fonts", tmp_path / "AllFonts.js", tmp_path)
    assert xml.count("<TaskQueueDataConvert") == 1 and "<m_nFormatTo>513</m_nFormatTo>" in xml
    assert "<m_sFileFrom>/in/a &amp; b.docx</m_sFileFrom>" in xml
    assert FORMAT_CODES == {"pdf": 513, "docx": 65, "xlsx": 257, "pptx": 129, "odt": 67,
                            "ods": 259, "odp": 131}


def test_a_corrupted_package_is_failed_with_x2t_s_reason(stand_in, tmp_path):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    outcome = stand_in.show(broken, tmp_path / "job", 60)
    assert outcome.status is Status.FAILED and outcome.returncode == 86
    assert "corrupted" in outcome.message


def test_a_password_protected_package_is_unsupported(stand_in, tmp_path):
    locked = tmp_path / "locked.docx"
    locked.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    outcome = stand_in.show(locked, tmp_path / "job", 60)
    assert outcome.status is Status.UNSUPPORTED and "password" in outcome.message


@pytest.mark.parametrize("code", sorted(EXIT_CODES))
def test_every_documented_exit_code_is_classified(stand_in, code, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_X2T_EXIT", str(code))
    outcome = stand_in.show(PROBES / "word-features.docx", tmp_path / "job", 60)
    meaning = EXIT_CODES[code]
    assert outcome.status is meaning.status
    if meaning.keeps_output:  # the file counts, the loss is said
        assert outcome.output_path is not None and meaning.message in outcome.warnings
    else:
        assert meaning.message in outcome.message and outcome.returncode == code


def test_a_crash_is_crashed_and_a_hang_is_killed(stand_in, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_X2T_EXIT", "segv")
    crashed = stand_in.show(PROBES / "word-features.docx", tmp_path / "a", 60)
    assert crashed.status is Status.CRASHED
    monkeypatch.setenv("FAKE_X2T_EXIT", "hang")
    start = time.monotonic()
    hung = stand_in.show(PROBES / "word-features.docx", tmp_path / "b", 1)
    assert hung.status is Status.TIMED_OUT and time.monotonic() - start < 10
    left = subprocess.run(["pgrep", "-f", str(stand_in.availability().executable)],
                          capture_output=True, text=True).stdout.split()
    assert left == []


def test_the_stand_in_refuses_a_wrong_working_directory(tmp_path):
    x2t = install_x2t(tmp_path / "oo")
    params = tmp_path / "params.xml"
    params.write_text(params_xml(PROBES / "word-features.docx", tmp_path / "o.pdf", 513, None,
                                 None, tmp_path))
    wrong = subprocess.run([str(x2t), str(params)], cwd=tmp_path, capture_output=True)
    right = subprocess.run([str(x2t), str(params)], cwd=x2t.parent, capture_output=True)
    assert (wrong.returncode, right.returncode) == (88, 0)
    bad = tmp_path / "bad.xml"
    bad.write_text(params.read_text().replace("513", "999"))
    assert subprocess.run([str(x2t), str(bad)], cwd=x2t.parent).returncode == 88
