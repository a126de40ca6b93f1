"""`fidelity references`: Microsoft renderings written beside the documents that lack one,
through the real command, executor and msoffice-live driver, on the COM stand-in
(``tests/fakes/win32com``), in a temporary copy of a few corpus documents."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.formats import reference_for
from harness.pdfinfo import pdf_page_count, producer_of
from harness.references import install
from tests.conftest import REPO, SHARED, needs_shared
from tests.fakes.outputs import write_pdf

BUILD = "16.0.0.0"  # what the COM stand-in's applications say of themselves
APPLICATIONS = ("Microsoft Word", "Microsoft Excel", "Microsoft PowerPoint")  # of LACKING

GOLDEN = SHARED / "office2pdf-golden"
LACKING = ("04_resume_en.docx", "05_project_schedule_en.xlsx", "01_startup_pitch_en.pptx")
HAVING = "09_offer_letter_en.docx"  # copied with its reference, which must stay as it is
STAND_IN = os.pathsep.join([str(REPO), str(REPO / "tests" / "fakes")])


def _references(corpus: Path, *extra: str, stand_in: bool = True, log: Path | None = None,
                ) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=STAND_IN if stand_in else str(REPO))
    if log is not None:  # the stand-in's calls, with its applications' processes
        env["FAKE_OFFICE_LOG"] = str(log)
    return subprocess.run([sys.executable, "-m", "harness", "references", "--corpus",
                           str(corpus), "--jobs", "1", *extra], capture_output=True,
                          text=True, timeout=300, cwd=corpus.parent, env=env)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in (*LACKING, HAVING):
        shutil.copyfile(GOLDEN / name, folder / name)
    shutil.copyfile(reference_for(GOLDEN / HAVING), reference_for(folder / HAVING))
    outside = tmp_path / "elsewhere" / "linked.docx"  # a link out of the folder
    outside.parent.mkdir()
    shutil.copyfile(GOLDEN / LACKING[0], outside)
    (folder / "linked.docx").symlink_to(outside)
    return folder


@needs_shared
def test_one_reference_per_document_lacking_one_and_a_second_run_writes_nothing(corpus):
    kept = _digest(reference_for(corpus / HAVING))
    log = corpus.parent / "office-calls.jsonl"
    first = _references(corpus, log=log)
    assert first.returncode == 0, first.stderr
    # Office's processes, started outside the worker's tree, end with the command
    started = [json.loads(line)["arguments"]["pid"] for line in log.read_text().splitlines()
               if json.loads(line)["call"] == "DispatchEx"]
    deadline = time.monotonic() + 5  # killed, then reaped by whoever adopted them
    while any(map(_running, started)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(started) >= 3 and not [pid for pid in started if _running(pid)]
    assert first.stdout.startswith("fidelity references: 3 written, 1 already had one, "
                                   "0 failed, 1 skipped"), first.stdout
    for name, application in zip(LACKING, APPLICATIONS):
        reference = reference_for(corpus / name)
        assert pdf_page_count(reference)[0] >= 1, name
        # The application that exported it, its version as the driver read it from Office
        assert producer_of(reference) == f"{application} {BUILD} (COM stand-in)", name
    assert _digest(reference_for(corpus / HAVING)) == kept  # never overwritten
    assert "skipped: corpus/linked.docx: links outside the corpus" in first.stdout
    assert not os.path.lexists(reference_for(corpus / "linked.docx"))
    assert not reference_for(corpus.parent / "elsewhere" / "linked.docx").exists()
    assert not [p.name for p in corpus.iterdir() if p.name.startswith(".")]  # no .part left

    written = {p: _digest(p) for p in corpus.glob("*.reference.pdf")}
    second = _references(corpus)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("fidelity references: 0 written, 4 already had one"), \
        second.stdout
    assert {p: _digest(p) for p in corpus.glob("*.reference.pdf")} == written


@needs_shared
def test_a_document_office_cannot_open_is_listed_as_failed_with_office_s_reason(corpus):
    (corpus / "truncated.xlsx").write_bytes((GOLDEN / LACKING[1]).read_bytes()[:1500])
    done = _references(corpus)
    assert done.returncode == 0, done.stderr
    assert "failed: corpus/truncated.xlsx: Microsoft Excel says the document needs repair" \
        in done.stdout
    assert not reference_for(corpus / "truncated.xlsx").exists()


def test_a_reference_that_appears_meanwhile_is_kept(tmp_path):
    rendered, target = tmp_path / "rendered.pdf", tmp_path / "doc.reference.pdf"
    write_pdf(rendered, ["Office's rendering"])
    write_pdf(target, ["someone else's reference, put there while Office worked"])
    before = target.read_bytes()
    state, why = install(rendered, target, "Microsoft Word 16.0")
    assert state == "had one" and "kept" in why
    assert target.read_bytes() == before
    assert {p.name for p in tmp_path.iterdir()} == {"rendered.pdf", "doc.reference.pdf"}


def _without_hard_links(monkeypatch) -> None:
    def refuse(source, target, **_):
        raise OSError(1, "Operation not permitted")  # what vfat or many SMB mounts say

    monkeypatch.setattr("harness.references.os.link", refuse)


def test_without_hard_links_the_whole_file_is_renamed_into_place(tmp_path, monkeypatch):
    _without_hard_links(monkeypatch)
    rendered, target = tmp_path / "rendered.pdf", tmp_path / "doc.reference.pdf"
    write_pdf(rendered, ["Office's rendering"])
    state, why = install(rendered, target, "Microsoft Word 16.0.17328.20184")
    assert state == "written", why
    assert producer_of(target) == "Microsoft Word 16.0.17328.20184"
    assert pdf_page_count(target) == (1, None)
    assert {p.name for p in tmp_path.iterdir()} == {"rendered.pdf", "doc.reference.pdf"}


def test_without_hard_links_a_reference_that_appeared_is_kept(tmp_path, monkeypatch):
    _without_hard_links(monkeypatch)
    rendered, target = tmp_path / "rendered.pdf", tmp_path / "doc.reference.pdf"
    write_pdf(rendered, ["Office's rendering"])
    write_pdf(target, ["someone else's reference"])
    before = target.read_bytes()
    state, why = install(rendered, target, "Microsoft Word 16.0")
    assert state == "had one" and "kept" in why
    assert target.read_bytes() == before
    assert {p.name for p in tmp_path.iterdir()} == {"rendered.pdf", "doc.reference.pdf"}


def test_without_hard_links_a_failed_rename_leaves_no_reference_at_all(tmp_path, monkeypatch):
    """Where the old code wrote the reference's own file as it went, a crash left it cut
    short; now the reference is there whole or not at all."""
    _without_hard_links(monkeypatch)

    def die(source, target):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("harness.references.os.rename", die)
    rendered, target = tmp_path / "rendered.pdf", tmp_path / "doc.reference.pdf"
    write_pdf(rendered, ["Office's rendering"])
    state, why = install(rendered, target, "Microsoft Word 16.0")
    assert state == "failed" and "Input/output error" in why
    assert {p.name for p in tmp_path.iterdir()} == {"rendered.pdf"}


def test_without_hard_links_another_writer_s_lock_is_respected(tmp_path, monkeypatch):
    _without_hard_links(monkeypatch)
    rendered, target = tmp_path / "rendered.pdf", tmp_path / "doc.reference.pdf"
    write_pdf(rendered, ["Office's rendering"])
    lock = tmp_path / ".doc.reference.pdf.lock"
    lock.touch()
    state, why = install(rendered, target, "Microsoft Word 16.0")
    assert state == "failed" and str(lock) in why and not target.exists()
    assert lock.exists()  # not ours to remove


def test_a_new_reference_carries_the_office_version_as_its_producer(tmp_path):
    rendered, target = tmp_path / "rendered.pdf", tmp_path / "doc.reference.pdf"
    write_pdf(rendered, ["Office's rendering"])
    state, why = install(rendered, target, "Microsoft Word 16.0.17328.20184")
    assert state == "written" and "1 page(s)" in why
    assert producer_of(target) == "Microsoft Word 16.0.17328.20184"
    assert pdf_page_count(target) == (1, None)


def test_an_unusable_rendering_is_never_put_in_place(tmp_path):
    rendered, target = tmp_path / "rendered.pdf", tmp_path / "doc.reference.pdf"
    rendered.write_bytes(b"%PDF-1.4 and nothing else")
    state, why = install(rendered, target, "Microsoft Word 16.0")
    assert state == "failed" and "unusable" in why and not target.exists()


@needs_shared
def test_without_office_it_says_so_in_one_line_and_exits_3(corpus):
    done = _references(corpus, stand_in=False)
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        "fidelity: msoffice-live is not available: needs Windows with Microsoft Office and "
        f"pywin32 (this is {sys.platform})"]
    assert sorted(p.name for p in corpus.glob("*.reference.pdf")) == [
        reference_for(corpus / HAVING).name]


def test_only_microsoft_office_makes_references(tmp_path):
    (tmp_path / "corpus").mkdir()
    done = _references(tmp_path / "corpus", "--suite", "libreoffice")
    assert done.returncode == 2 and "only Microsoft Office does" in done.stderr
    assert "Traceback" not in done.stderr


@needs_shared
@pytest.mark.integration
def test_through_a_scheduler_office_renders_on_the_worker_that_offers_it(corpus, tmp_path):
    """The coordinator has no Office (no stand-in on its path): the references it writes
    were rendered by the one `fidelity worker` that offers msoffice-live."""
    from tests.test_fleet import DASK, Cluster

    if not DASK.exists():
        pytest.skip(f"no dask command at {DASK}")
    cluster = Cluster(tmp_path / "cluster")
    try:
        cluster.worker("windows", {"PYTHONPATH": STAND_IN}, "--suite", "msoffice-live")
        cluster.wait_for({"windows"})
        done = _references(corpus, "--scheduler", cluster.address, stand_in=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("fidelity references: 3 written, 1 already had one"), \
            done.stdout
        for name in LACKING:
            assert "COM stand-in" in (producer_of(reference_for(corpus / name)) or ""), name
    finally:
        cluster.close()


@needs_shared
def test_a_folder_it_cannot_write_to_is_skipped_before_office_renders_anything(
        corpus, monkeypatch):
    from harness import executors
    from harness.references import make_references

    monkeypatch.setenv("PYTHONPATH", STAND_IN)
    monkeypatch.setattr("harness.references.os.access", lambda path, mode: mode != os.W_OK)
    ran = []
    executor = executors.get("local", workers=1)
    monkeypatch.setattr(executor, "run", lambda jobs, record: ran.extend(jobs))
    summary = make_references([corpus], executor)
    assert not ran and not summary.written and len(summary.had_one) == 1
    assert {m.reason for m in summary.skipped if m.document.endswith(LACKING)} == {
        "its folder is not writable"}
