"""`fidelity references`: Microsoft renderings written beside the documents that lack one,
through the real command, executor and msoffice-live driver, on the COM stand-in
(``tests/fakes/win32com``), in a temporary copy of a few corpus documents."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.formats import reference_for
from harness.pdfinfo import pdf_page_count, producer_of
from harness.references import install
from tests.conftest import REPO, SHARED, needs_shared
from tests.fakes.outputs import write_pdf

GOLDEN = SHARED / "office2pdf-golden"
LACKING = ("04_resume_en.docx", "05_project_schedule_en.xlsx", "01_startup_pitch_en.pptx")
HAVING = "09_offer_letter_en.docx"  # copied with its reference, which must stay as it is
STAND_IN = os.pathsep.join([str(REPO), str(REPO / "tests" / "fakes")])


def _references(corpus: Path, *extra: str, stand_in: bool = True,
                ) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=STAND_IN if stand_in else str(REPO))
    return subprocess.run([sys.executable, "-m", "harness", "references", "--corpus",
                           str(corpus), "--jobs", "1", *extra], capture_output=True,
                          text=True, timeout=300, cwd=corpus.parent, env=env)


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
    first = _references(corpus)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("fidelity references: 3 written, 1 already had one, "
                                   "0 failed, 1 skipped"), first.stdout
    for name in LACKING:
        reference = reference_for(corpus / name)
        assert pdf_page_count(reference)[0] >= 1, name
        assert "COM stand-in" in (producer_of(reference) or ""), name  # the Office version
    assert "Microsoft PowerPoint" in producer_of(reference_for(corpus / LACKING[2]))
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
