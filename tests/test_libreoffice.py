"""The LibreOffice renderer against the real suite: every outcome classified."""

import shutil
import subprocess
import time

import pytest

import renderers
from renderers.base import Status
from renderers.pdfcheck import pdf_page_count
from tests.conftest import PROBES, SHARED, needs_libreoffice, needs_shared

pytestmark = [needs_libreoffice, pytest.mark.integration]


@pytest.fixture(scope="module")
def libreoffice(tmp_path_factory):
    return renderers.get("libreoffice", tmp_path_factory.mktemp("scratch"))


def test_probe_renders_to_a_pdf(libreoffice, tmp_path):
    outcome = libreoffice.show(PROBES / "deck-features.pptx", tmp_path, 120)
    assert outcome.status is Status.OK, outcome.message
    assert pdf_page_count(outcome.output_path) == (3, None)  # the hidden slide is not shown


def test_same_stem_never_overwrites(libreoffice, tmp_path):
    a, b = tmp_path / "a" / "same.docx", tmp_path / "b" / "same.docx"
    for folder, source in ((a, "word-features.docx"), (b, "word-features.docx")):
        folder.parent.mkdir()
        shutil.copyfile(PROBES / source, folder)
    first = libreoffice.show(a, tmp_path / "job-a", 120)
    second = libreoffice.show(b, tmp_path / "job-b", 120)
    assert first.status is second.status is Status.OK
    assert first.output_path != second.output_path
    assert first.output_path.is_file() and second.output_path.is_file()


def test_unloadable_file_is_failed_not_ok(libreoffice, tmp_path):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 this is not a real zip")
    outcome = libreoffice.show(broken, tmp_path / "job", 120)
    assert outcome.status in (Status.FAILED, Status.EMPTY), outcome
    assert outcome.message


def test_unsupported_format(libreoffice, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("plain")
    outcome = libreoffice.show(text, tmp_path / "job", 120)
    assert outcome.status is Status.UNSUPPORTED and ".txt" in outcome.message


def test_timeout_kills_soffice_and_leaves_no_orphan(libreoffice, tmp_path):
    outcome = libreoffice.show(PROBES / "word-features.docx", tmp_path / "job", 0.05)
    assert outcome.status is Status.TIMED_OUT
    time.sleep(0.5)
    ps = subprocess.run(["pgrep", "-af", str(libreoffice.scratch_dir)], capture_output=True,
                        text=True)
    assert ps.stdout.strip() == "", f"orphans: {ps.stdout}"
    # The next document gets a fresh profile and succeeds.
    again = libreoffice.show(PROBES / "word-features.docx", tmp_path / "job2", 120)
    assert again.status is Status.OK


def test_unavailable_when_soffice_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("FIDELITY_SOFFICE", str(tmp_path / "absent"))
    renderer = renderers.get("libreoffice", tmp_path)
    assert not renderer.availability().available
    outcome = renderer.show(PROBES / "word-features.docx", tmp_path / "job", 10)
    assert outcome.status is Status.UNAVAILABLE and "not found" in outcome.message


@needs_shared
def test_truncated_docx_from_the_shared_corpus(libreoffice, tmp_path):
    outcome = libreoffice.show(SHARED / "_malformed" / "truncated62886.docx", tmp_path, 120)
    assert outcome.status is Status.FAILED
    assert "could not" in outcome.message


def test_a_segfault_in_soffice_is_crashed_with_its_backtrace(libreoffice, tmp_path):
    import threading

    scratch = str(libreoffice.scratch_dir)

    def segfault_soffice():
        for _ in range(3000):
            pids = subprocess.run(["pgrep", "-f", f"soffice.bin.*{scratch}"],
                                  capture_output=True, text=True).stdout.split()
            if pids:
                subprocess.run(["kill", "-SEGV", *pids])
                return
            time.sleep(0.005)

    killer = threading.Thread(target=segfault_soffice)
    killer.start()
    outcome = libreoffice.show(PROBES / "word-features.docx", tmp_path / "job", 120)
    killer.join()
    assert outcome.status is Status.CRASHED, outcome
    assert outcome.stderr
    again = libreoffice.show(PROBES / "word-features.docx", tmp_path / "job2", 120)
    assert again.status is Status.OK  # a fresh profile after the crash
