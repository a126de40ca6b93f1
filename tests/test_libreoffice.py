"""The LibreOffice renderer against the real suite: every outcome classified."""

import shutil
import subprocess
import threading
import time

import pytest

import renderers
from harness.compare.text import compare_text
from harness.truth import read_truth
from renderers.base import Status, Task
from renderers.uno_listener import UnoUnavailable
from harness.pdfinfo import pdf_page_count
from tests.conftest import PROBES, SHARED, needs_libreoffice, needs_shared

pytestmark = [needs_libreoffice, pytest.mark.integration]


@pytest.fixture(scope="module")
def libreoffice(tmp_path_factory):
    renderer = renderers.get("libreoffice", tmp_path_factory.mktemp("scratch"))
    yield renderer
    renderer.close()


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


def _segfault_soffice_later(scratch: str, delay_seconds: float) -> threading.Thread:
    def segfault() -> None:
        time.sleep(delay_seconds)
        for _ in range(3000):
            pids = subprocess.run(["pgrep", "-f", f"soffice.bin.*{scratch}"],
                                  capture_output=True, text=True).stdout.split()
            if pids:
                subprocess.run(["kill", "-SEGV", *pids])
                return
            time.sleep(0.005)

    killer = threading.Thread(target=segfault)
    killer.start()
    return killer


def test_a_segfault_in_oneshot_soffice_is_crashed_with_its_backtrace(tmp_path, monkeypatch):
    monkeypatch.setenv("FIDELITY_LIBREOFFICE_MODE", "oneshot")
    libreoffice = renderers.get("libreoffice", tmp_path / "scratch")
    killer = _segfault_soffice_later(str(libreoffice.scratch_dir), 0.0)
    outcome = libreoffice.show(PROBES / "word-features.docx", tmp_path / "job", 120)
    killer.join()
    assert outcome.status is Status.CRASHED and outcome.via == "command line", outcome
    assert outcome.stderr
    again = libreoffice.show(PROBES / "word-features.docx", tmp_path / "job2", 120)
    assert again.status is Status.OK  # a fresh profile after the crash


def test_a_listener_killed_mid_document_is_retried_on_the_command_line(tmp_path,
                                                                       monkeypatch):
    from renderers.uno_listener import UnoListener

    libreoffice = renderers.get("libreoffice", tmp_path / "scratch")
    warm = libreoffice.show(PROBES / "word-features.docx", tmp_path / "warm", 120)
    assert warm.status is Status.OK and warm.via == "UNO listener", warm
    original = UnoListener._convert
    killed = []

    def crash_during_the_call(self, *args):
        if not killed:  # the listener dies while the document is being converted
            pids = subprocess.run(["pgrep", "-f", f"soffice.bin.*{libreoffice.scratch_dir}"],
                                  capture_output=True, text=True).stdout.split()
            subprocess.run(["kill", "-SEGV", *pids])
            killed.extend(pids)
        return original(self, *args)

    monkeypatch.setattr(UnoListener, "_convert", crash_during_the_call)
    outcome = libreoffice.show(PROBES / "word-features.docx", tmp_path / "job", 120)
    assert killed
    # The listener's crash is said; the command line gives the document's real outcome.
    assert outcome.status is Status.OK, outcome
    assert outcome.via.startswith("command line (the UNO listener crashed"), outcome.via
    assert "the UNO listener, before it crashed" in outcome.stderr  # its backtrace is kept
    again = libreoffice.show(PROBES / "word-features.docx", tmp_path / "job2", 120)
    assert again.status is Status.OK and again.via == "UNO listener", again
    libreoffice.close()


def test_listener_that_cannot_start_falls_back_to_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setattr("renderers.uno_listener.import_uno", _no_bridge)
    libreoffice = renderers.get("libreoffice", tmp_path / "scratch")
    outcome = libreoffice.show(PROBES / "word-features.docx", tmp_path / "job", 120)
    assert outcome.status is Status.OK
    assert outcome.via.startswith("command line (persistent mode unavailable:"), outcome.via
    assert "no bridge in this test" in outcome.via


def _no_bridge(program_dir=None):
    raise UnoUnavailable("no bridge in this test")


@pytest.mark.parametrize("mode", ["persistent", "oneshot"])
@pytest.mark.parametrize("probe,saved,odf", [
    ("word-features.docx", "docx", "odt"), ("sheet-features.xlsx", "xlsx", "ods"),
    ("deck-features.pptx", "pptx", "odp")])
def test_save_back_writes_packages_that_read_back(mode, probe, saved, odf, tmp_path,
                                                  monkeypatch):
    monkeypatch.setenv("FIDELITY_LIBREOFFICE_MODE", mode)
    libreoffice = renderers.get("libreoffice", tmp_path / "scratch")
    source = read_truth(PROBES / probe, saved)
    for task, extension in ((Task.SAVE, saved), (Task.SAVE_ODF, odf)):
        outcome = libreoffice.run(PROBES / probe, task, tmp_path / task.value, 120)
        assert outcome.status is Status.OK, outcome
        assert outcome.output_path.suffix == f".{extension}"
        back = read_truth(outcome.output_path, extension)
        kept = compare_text(source.text_blocks, "\n".join(back.text_blocks),
                            source.numeric_tokens_unreliable)
        assert kept.recall == 1.0, (task, kept.missing_sample)
    libreoffice.close()


def test_legacy_binary_is_saved_back_as_ooxml(libreoffice, tmp_path):
    legacy = next((SHARED / "apache-poi").glob("*.doc"), None) if SHARED.is_dir() else None
    if legacy is None:
        pytest.skip("needs a .doc from ../shared/corpus")
    outcome = libreoffice.run(legacy, Task.SAVE, tmp_path, 120)
    assert outcome.status is Status.OK and outcome.output_path.suffix == ".docx", outcome


def test_pdf_export_leaves_hidden_slides_out_in_both_modes(tmp_path, monkeypatch):
    pages = set()
    for mode in ("persistent", "oneshot"):
        monkeypatch.setenv("FIDELITY_LIBREOFFICE_MODE", mode)
        libreoffice = renderers.get("libreoffice", tmp_path / mode)
        outcome = libreoffice.show(PROBES / "deck-features.pptx", tmp_path / f"job-{mode}", 120)
        pages.add(outcome.pages)
        libreoffice.close()
    assert pages == {3}  # four slides, one hidden


def test_no_listener_outlives_close(tmp_path):
    libreoffice = renderers.get("libreoffice", tmp_path / "scratch")
    libreoffice.show(PROBES / "word-features.docx", tmp_path / "job", 120)
    scratch = str(libreoffice.scratch_dir)
    assert subprocess.run(["pgrep", "-f", f"soffice.bin.*{scratch}"],
                          capture_output=True).returncode == 0
    libreoffice.close()
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", f"soffice.bin.*{scratch}"],
                          capture_output=True).returncode == 1
