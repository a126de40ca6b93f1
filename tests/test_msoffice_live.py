"""Microsoft Office driven through COM (msoffice-live). Office cannot run here: these run the
real suite and its real driver process against ``tests/fakes/win32com``, a stand-in for
pywin32's automation of Word, Excel and PowerPoint that enforces the object-model calls the
suite makes (read-only, macros off, no dialogs, links not updated, closed unsaved) and raises
Office's own errors for a password, a corrupt file and one that needs repair."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pypdfium2 as pdfium
import pytest
from msoffcrypto.format.ooxml import OOXMLFile

import renderers
from renderers.base import Status, Task
from tests.conftest import PROBES, REPO

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the stand-in is for machines "
                                "without Office; on Windows the contract test runs Office")
FAKES = REPO / "tests" / "fakes"
SOURCES = ("word-features.docx", "sheet-features.xlsx", "deck-features.pptx")


def _calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _drivers_left(log: Path) -> list[int]:
    """Processes whose environment names this test's log: its driver, or anything it left."""
    needle = f"FAKE_OFFICE_LOG={log}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(entry.name) != os.getpid() \
                    and needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _none_left(log: Path) -> bool:
    deadline = time.monotonic() + 5  # a killed process takes a moment to be reaped
    while _drivers_left(log) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _drivers_left(log)


def _applications(log: Path) -> list[int]:
    """The processes standing for the Office applications started (see the stand-in)."""
    return [c["arguments"]["pid"] for c in _calls(log) if c["call"] == "DispatchEx"]


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + 5
    while any(map(_running, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(map(_running, pids))


@pytest.fixture
def log(tmp_path) -> Path:
    return tmp_path / "office-calls.jsonl"


@pytest.fixture
def office(tmp_path, monkeypatch, log):
    """msoffice-live on the stand-in; its calls logged, the probe's left out of the log."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), str(FAKES)]))
    monkeypatch.setenv("FAKE_OFFICE_LOG", str(log))
    for variable in ("FAKE_OFFICE_HANG", "FAKE_OFFICE_CRASH", "FAKE_OFFICE_EXIT",
                     "FAKE_OFFICE_MISSING"):
        monkeypatch.delenv(variable, raising=False)
    renderer = renderers.get("msoffice-live", tmp_path / "scratch")
    availability = renderer.availability()
    assert availability.available, availability.reason
    log.unlink(missing_ok=True)
    yield renderer
    renderer.close()


def _copy(tmp_path: Path, name: str) -> Path:
    copy = tmp_path / "docs" / name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROBES / name, copy)
    return copy


def test_without_pywin32_it_says_it_needs_windows_office_and_pywin32(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # no stand-in on the path
    availability = renderers.get("msoffice-live", tmp_path).availability()
    assert not availability.available
    assert "needs Windows with Microsoft Office and pywin32" in availability.reason


def test_the_stand_in_never_passes_for_office(office):
    assert "COM stand-in" in office.availability().version
    assert not office.is_reference and office.tasks == {Task.SHOW}


@pytest.mark.parametrize("name", SOURCES)
def test_a_document_is_exported_read_only_and_closed_without_saving(office, log, tmp_path,
                                                                     name):
    source = _copy(tmp_path, name)
    before = source.read_bytes()
    outcome = office.show(source, tmp_path / "job", 60)
    assert outcome.status is Status.OK, (outcome.message, outcome.stderr)
    assert outcome.via == "Microsoft Office through COM"
    application = {"docx": "Word", "xlsx": "Excel", "pptx": "PowerPoint"}[name[-4:]]
    # versioned by the application that exported it, as the PDF's Producer will say
    assert outcome.suite_version == f"Microsoft {application} 16.0.0.0 (COM stand-in)"
    assert len(pdfium.PdfDocument(str(outcome.output_path))) == outcome.pages == 1
    assert source.read_bytes() == before
    calls = _calls(log)
    names = [c["call"] for c in calls]
    assert names.count("DispatchEx") == 1 and "Save" not in names
    opened = next(c for c in calls if c["call"].endswith(".Open"))
    assert opened["arguments"].get("ReadOnly") in (True, -1)
    closed = next(c for c in calls if c["call"] == "Close")
    assert closed["arguments"] in ({"SaveChanges": 0}, {"SaveChanges": False}, {})
    if name.endswith(".pptx"):  # Close takes no argument: the presentation is marked saved
        assert {"app": "Microsoft PowerPoint", "call": "set Presentation.Saved",
                "arguments": {"value": -1}} in calls


def test_one_instance_per_application_serves_every_document_until_closed(office, log,
                                                                          tmp_path):
    for number in range(3):
        outcome = office.show(_copy(tmp_path, "word-features.docx"), tmp_path / f"j{number}", 60)
        assert outcome.status is Status.OK, outcome.message
    groups = office.process_groups()
    assert len(groups) == 1
    office.close()
    names = [c["call"] for c in _calls(log)]
    assert names.count("DispatchEx") == 1 and names.count("Documents.Open") == 3
    assert names[-1] == "Quit"  # asked to quit, with SaveChanges=0 (the stand-in checks)
    assert office.process_groups() == frozenset() and _none_left(log)
    assert _gone(_applications(log))


@pytest.mark.parametrize("name", SOURCES)
def test_a_password_protected_document_is_refused_as_other_suites_refuse_it(office, tmp_path,
                                                                            name):
    locked = tmp_path / f"locked-{name}"
    with (PROBES / name).open("rb") as plain, locked.open("wb") as out:
        OOXMLFile(plain).encrypt("not given to Office", out)
    outcome = office.show(locked, tmp_path / "job", 60)
    assert outcome.status is Status.UNSUPPORTED, outcome.message
    assert "password-protected" in outcome.message and "password" in outcome.message.lower()


@pytest.mark.parametrize(("name", "said"), [
    ("broken.docx", "The file appears to be corrupted."),
    ("broken.xlsx", "because the file format or file extension is not valid"),
    ("broken.pptx", "PowerPoint could not open the file."),
])
def test_a_corrupt_file_fails_with_office_s_own_message(office, tmp_path, name, said):
    broken = tmp_path / name
    broken.write_bytes(b"these bytes are no Office document at all " * 20)
    outcome = office.show(broken, tmp_path / "job", 60)
    assert outcome.status is Status.FAILED and said in outcome.message, outcome.message
    assert outcome.output_path is None


@pytest.mark.parametrize("name", SOURCES)
def test_a_file_that_needs_repair_fails_and_is_never_repaired(office, log, tmp_path, name):
    truncated = tmp_path / f"truncated-{name}"
    truncated.write_bytes((PROBES / name).read_bytes()[:2000])
    outcome = office.show(truncated, tmp_path / "job", 60)
    assert outcome.status is Status.FAILED, outcome.message
    assert "needs repair; not repaired" in outcome.message
    opened = next(c for c in _calls(log) if c["call"].endswith(".Open"))
    assert not opened["arguments"].get("OpenAndRepair")
    assert opened["arguments"].get("CorruptLoad", 0) == 0


def test_a_hung_office_is_killed_and_the_next_document_gets_a_new_one(office, log, tmp_path,
                                                                      monkeypatch):
    """Office, which COM starts outside the driver's process group and environment, is
    killed by the process id the driver gave as soon as it started it."""
    monkeypatch.setenv("FAKE_OFFICE_HANG", "1")
    start = time.monotonic()
    outcome = office.show(_copy(tmp_path, "word-features.docx"), tmp_path / "hung", 3)
    assert outcome.status is Status.TIMED_OUT, outcome.message
    assert time.monotonic() - start < 15 and _none_left(log)
    hung = _applications(log)
    assert len(hung) == 1 and _gone(hung)
    monkeypatch.delenv("FAKE_OFFICE_HANG")
    outcome = office.show(_copy(tmp_path, "word-features.docx"), tmp_path / "after", 60)
    assert outcome.status is Status.OK, outcome.message


def test_an_office_that_hangs_when_asked_its_version_is_unavailable_and_killed(
        tmp_path, monkeypatch, log):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), str(FAKES)]))
    monkeypatch.setenv("FAKE_OFFICE_LOG", str(log))
    monkeypatch.setenv("FAKE_OFFICE_HANG", "start")
    monkeypatch.setattr("renderers.msoffice_live.PROBE_SECONDS", 4.0)
    availability = renderers.get("msoffice-live", tmp_path / "scratch").availability()
    assert not availability.available and "did not answer within 4 s" in availability.reason
    started = _applications(log)
    assert len(started) == 1 and _gone(started)


def test_an_office_that_dies_is_a_crash_and_is_restarted(office, log, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_OFFICE_CRASH", "1")
    outcome = office.show(_copy(tmp_path, "sheet-features.xlsx"), tmp_path / "died", 60)
    assert outcome.status is Status.CRASHED and "stopped answering" in outcome.message
    assert "RPC server is unavailable" in outcome.message and _none_left(log)
    monkeypatch.delenv("FAKE_OFFICE_CRASH")
    outcome = office.show(_copy(tmp_path, "sheet-features.xlsx"), tmp_path / "after", 60)
    assert outcome.status is Status.OK, outcome.message


def test_a_driver_that_dies_is_a_crash_with_its_exit_code_and_is_restarted(office, log,
                                                                           tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("FAKE_OFFICE_EXIT", "3")
    outcome = office.show(_copy(tmp_path, "deck-features.pptx"), tmp_path / "died", 60)
    assert outcome.status is Status.CRASHED, outcome.message
    assert "the Office driver died" in outcome.message and "exit code 3" in outcome.message
    assert _none_left(log) and _gone(_applications(log))  # its PowerPoint, orphaned, too
    monkeypatch.delenv("FAKE_OFFICE_EXIT")
    outcome = office.show(_copy(tmp_path, "deck-features.pptx"), tmp_path / "after", 60)
    assert outcome.status is Status.OK, outcome.message


def test_an_application_office_lacks_is_unavailable_for_its_documents(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), str(FAKES)]))
    monkeypatch.setenv("FAKE_OFFICE_MISSING", "PowerPoint.Application")
    with renderers.get("msoffice-live", tmp_path / "scratch") as office:
        assert "no Microsoft PowerPoint" in office.availability().version
        deck = office.show(PROBES / "deck-features.pptx", tmp_path / "deck", 60)
        assert deck.status is Status.UNAVAILABLE and "not installed" in deck.message
        sheet = office.show(PROBES / "sheet-features.xlsx", tmp_path / "sheet", 60)
        assert sheet.status is Status.OK, sheet.message


def test_the_stand_in_refuses_a_document_opened_with_macros_allowed(tmp_path):
    """The stand-in is strict, not a yes-machine: Word opened without forcing macros off."""
    script = ("import pythoncom, win32com.client\n"
              "pythoncom.CoInitialize()\n"
              "word = win32com.client.DispatchEx('Word.Application')\n"
              "word.Visible = False\nword.DisplayAlerts = 0\n"
              "word.Options.UpdateLinksAtOpen = False\n"
              f"word.Documents.Open(FileName={str(PROBES / SOURCES[0])!r}, ReadOnly=True,\n"
              "    ConfirmConversions=False, AddToRecentFiles=False, Visible=False,\n"
              "    PasswordDocument='x')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                              [str(REPO), str(FAKES)])))
    assert done.returncode != 0
    assert "StandInViolation" in done.stderr and "AutomationSecurity" in done.stderr


def test_without_process_groups_or_proc_as_on_windows_jobs_are_still_watched_and_killed(
        tmp_path, monkeypatch):
    """Windows simulated (no os.getpgid nor os.killpg, no /proc to read tags in): the memory
    watch and the kills fall back on process trees by number instead of raising, which
    made every job come back crashed. The Windows path itself is not run here."""
    from harness.processes import groups, memory

    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    before = subprocess.Popen(sleeper)  # running before the job: not the job's
    monkeypatch.delattr(os, "getpgid")
    monkeypatch.delattr(os, "killpg")
    monkeypatch.setattr(groups, "PROC", tmp_path / "no-proc")
    try:
        assert groups.kill_tagged("any", groups.SWEEP_VARIABLE) == 0
        with memory.JobMemory(limit_mb=1) as watch:
            during = subprocess.Popen(sleeper)  # the job's, and over a 1 MiB bound
            during.wait(timeout=10)
        assert watch.use.over_limit and "over the per-job bound" in watch.use.over_limit
        assert before.poll() is None  # neither followed nor killed
        groups._kill_group(before.pid)  # a group's leader: its tree, by number
        assert before.wait(timeout=10) != 0
    finally:
        for process in (before, locals().get("during")):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_a_rule_broken_on_close_or_quit_is_never_swallowed_but_a_lost_office_is():
    """Close and Quit ignore what a gone Office raises, but not the stand-in's
    StandInViolation (an AssertionError): a harness bug there must fail the test."""
    from renderers.msoffice_driver import Office, _close

    class Document:
        def __init__(self, error: Exception) -> None:
            self.error = error

        def Close(self, **arguments):  # noqa: N802 - Office's name
            raise self.error

        Quit = Close  # noqa: N815

    _close(Document(RuntimeError("The RPC server is unavailable.")), "word")
    with pytest.raises(AssertionError, match="rule"):
        _close(Document(AssertionError("a rule of the stand-in")), "spreadsheet")
    office = Office(None, None, None)
    office.apps = {"word": Document(RuntimeError("gone")),
                   "spreadsheet": Document(AssertionError("a rule of the stand-in"))}
    with pytest.raises(AssertionError, match="rule"):
        office.quit()
