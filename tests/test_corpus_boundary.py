"""A corpus never reaches outside itself: a link out of the corpus, a special file named
like a document and a file whose bytes are no Office document are each refused with a
reason, never given to a suite, and the sweep goes on."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.compare.text import pdf_text
from harness.corpus.boundary import changed_since_discovery
from harness.corpus.discover import scan
from harness.corpus.metadata import add
from harness.corpus.sniff import accepts, kind_of
from harness.errors import CorpusError
from harness.pipeline import Job, run_job
from harness.store import Store, artifacts_root
from harness.sweep import SweepSettings, sweep
from renderers.base import Status, Task
from renderers.msoffice import MicrosoftReference
from tests.conftest import PROBES, REPO, needs_libreoffice
from tests.fakes.outputs import write_pdf

MARKER = "OUTSIDE-SECRET-7d1c"  # the text of the document outside the corpus
WORD = PROBES / "word-features.docx"


@pytest.fixture
def no_hang():
    """Fails the test, rather than hanging it, if anything opens the FIFO."""
    def stuck(*_):
        raise AssertionError("something opened the FIFO and blocked")
    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _secret_document(path: Path) -> Path:
    document = docx.Document()
    document.add_paragraph(f"{MARKER} outside the corpus")
    document.save(path)
    return path


def _folder(tmp_path: Path) -> tuple[Path, Path]:
    """A corpus holding each case, and the folder outside it that its links reach."""
    outside = tmp_path / "outside"
    outside.mkdir()
    _secret_document(outside / "secret.docx")
    write_pdf(outside / "secret.reference.pdf", [f"{MARKER} reference"])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(WORD, corpus / "good.docx")
    (corpus / "evil.docx").symlink_to(outside / "secret.docx")
    (corpus / "passwd.docx").symlink_to("/etc/passwd")
    (corpus / "linked").symlink_to(outside, target_is_directory=True)
    (corpus / "alias.docx").symlink_to("good.docx")  # inside: the same document
    (corpus / "gone.docx").symlink_to(tmp_path / "nowhere.docx")
    os.mkfifo(corpus / "pipe.docx")
    (corpus / "text.docx").write_text("Plain text pretending to be a Word document.\n")
    (corpus / "page.docx").write_text("<!DOCTYPE html><html><body><p>a page</p></body></html>")
    shutil.copyfile(PROBES / "deck-features.pptx", corpus / "deck.docx")  # wrong extension
    (corpus / "report.xlsx").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    (corpus / "rich.doc").write_text("{\\rtf1\\ansi RTF under a .doc name.\\par}")
    shutil.copyfile(WORD, corpus / "borrowed.docx")
    (corpus / "borrowed.reference.pdf").symlink_to(outside / "secret.reference.pdf")
    return corpus, outside


def test_discovery_refuses_links_out_special_files_and_impostors(tmp_path, no_hang):
    corpus, outside = _folder(tmp_path)
    found = scan([corpus])
    documents = {d.relpath: d for d in found.documents}
    skipped = {s.relpath: s.reason for s in found.skipped}
    evil, passwd = documents["evil.docx"], documents["passwd.docx"]
    assert evil.refused == f"links outside the corpus to {outside / 'secret.docx'}"
    assert passwd.refused == "links outside the corpus to /etc/passwd"
    assert (evil.sha256, evil.size_bytes, passwd.sha256) == ("", 0, "")  # never read
    assert documents["text.docx"].refused == "not an Office document: plain text"
    assert documents["page.docx"].refused == "not an Office document: HTML"
    assert documents["report.xlsx"].refused == "not an Office document: PDF"
    for kept in ("good.docx", "deck.docx", "rich.doc", "borrowed.docx"):
        assert documents[kept].refused is None, kept
    assert documents["borrowed.docx"].reference_pdf is None
    assert "links outside the corpus" in skipped["borrowed.docx (reference)"]
    assert skipped["pipe.docx"] == "a FIFO (named pipe), never opened"
    assert "links outside the corpus" in skipped["linked"]
    assert "does not resolve" in skipped["gone.docx"]
    assert skipped["alias.docx"] == "a link to good.docx, which is swept under its own name"
    assert not any(r.startswith("linked/") for r in documents)


def test_follow_symlinks_sweeps_what_the_user_links_to(tmp_path, no_hang):
    corpus, _ = _folder(tmp_path)
    found = scan([corpus], follow_symlinks=True)
    documents = {d.relpath: d for d in found.documents}
    secret = documents["linked/secret.docx"]
    assert secret.refused is None and secret.sha256
    # evil.docx is the same file, reached through the followed folder under its own name
    assert "evil.docx" not in documents
    assert {s.relpath: s.reason for s in found.skipped}["evil.docx"] == (
        "a link to linked/secret.docx, which is swept under its own name")
    assert documents["borrowed.docx"].reference_pdf is not None
    # followed, /etc/passwd is still no Office document
    assert documents["passwd.docx"].refused == "not an Office document: plain text"
    assert "pipe.docx" in {s.relpath for s in found.skipped}


def test_a_symlinked_root_is_its_own_inside(tmp_path):
    corpus, _ = _folder(tmp_path)
    alias = tmp_path / "alias-of-corpus"
    alias.symlink_to(corpus, target_is_directory=True)
    documents = {d.relpath: d for d in scan([alias]).documents}
    assert documents["good.docx"].refused is None
    assert documents["evil.docx"].refused.startswith("links outside the corpus")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1))
def test_text_is_never_an_office_package(text):
    kind = kind_of(text.encode("utf-8")[:4096])
    assert kind is not None and kind not in ("a ZIP package", "an OLE2 compound file")
    assert not any(accepts(fmt, kind) for fmt in ("docx", "xlsx", "pptx", "docm"))


@given(st.binary(max_size=64), st.sampled_from([b"PK\x03\x04",
                                                 bytes.fromhex("d0cf11e0a1b11ae1")]))
def test_a_container_is_left_to_the_suites_whatever_follows(tail, magic):
    assert all(accepts(fmt, kind_of(magic + tail)) for fmt in ("docx", "doc", "xls", "pptx"))


def test_corpus_add_refuses_links_and_special_files_and_copies_bytes(tmp_path, no_hang):
    root = tmp_path / "c"
    link = tmp_path / "link.docx"
    link.symlink_to(WORD)
    fifo = tmp_path / "pipe.docx"
    os.mkfifo(fifo)
    text = tmp_path / "text.docx"
    text.write_text("plain text")
    for file, why in ((link, "is a symlink"), (fifo, "is a FIFO"),
                      (text, "not an Office document: plain text")):
        with pytest.raises(CorpusError, match=why):
            add(root, [file], source="generated", license="MIT", malformed=True)
    outside = tmp_path / "outside.docx"
    (root / "contributed").mkdir(parents=True)
    (root / "contributed" / "word-features.docx").symlink_to(outside)  # left at the target
    with pytest.raises(CorpusError, match="already exists"):
        add(root, [WORD], source="generated", license="MIT")
    assert not outside.exists()
    (root / "contributed" / "word-features.docx").unlink()
    [entry] = add(root, [WORD], source="generated", license="MIT")
    copy = root / entry.path
    assert not copy.is_symlink() and copy.read_bytes() == WORD.read_bytes()
    assert os.stat(copy).st_ino != os.stat(WORD).st_ino


def _leaks(out: Path) -> list[str]:
    """Output files holding the outside text: in their bytes, or in a PDF's text (PDFs
    compress their streams)."""
    found = []
    for path in out.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            text = pdf_text(path) if path.suffix == ".pdf" else ""
            if any(m in data or m.decode() in text for m in (MARKER.encode(), b"root:x:0:0")):
                found.append(path.relative_to(out).as_posix())
    return found


@needs_libreoffice
@pytest.mark.integration
def test_a_sweep_shows_nothing_of_what_lies_outside(tmp_path, no_hang):
    corpus, _ = _folder(tmp_path)
    out = tmp_path / "reports"
    suites = [s for s in ("libreoffice", "abiword") if shutil.which(
        {"libreoffice": "soffice", "abiword": "abiword"}[s])]
    argv = [sys.executable, "-m", "harness", "run", "--corpus", str(corpus), "--out", str(out),
            "--task", "show", "--jobs", "2", "--no-cache", "--timeout", "60"]
    for suite in suites + ["msoffice"]:
        argv += ["--suite", suite]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "skipped: corpus/pipe.docx: a FIFO (named pipe), never opened" in done.stdout
    results = json.loads((out / "latest" / "results.json").read_text())["results"]
    by = {(r["document"], r["suite"]): r for r in results}
    for suite in suites:
        for name, reason in (("evil.docx", "links outside the corpus to "),
                             ("passwd.docx", "links outside the corpus to /etc/passwd"),
                             ("text.docx", "not an Office document: plain text"),
                             ("page.docx", "not an Office document: HTML")):
            result = by[(name, suite)]
            assert result["status"] == "unsupported" and reason in result["message"], result
        assert by[("good.docx", suite)]["status"] == "ok"  # the sweep went on
    borrowed = by[("borrowed.docx", "msoffice")]  # its reference links outside: not used
    assert (borrowed["status"], borrowed["message"]) == (
        "unavailable", "no Microsoft rendering beside this document (borrowed.reference.pdf)")
    assert not {r["document"] for r in results} & {"pipe.docx", "alias.docx", "gone.docx"}
    refused = {"evil", "passwd", "text", "page", "report"}
    for folder in (out / "artifacts", out / "latest" / "pages"):
        made = {p.name.rsplit("-", 1)[0] for p in folder.glob("*/*") if p.is_dir()} | {
            p.name.rsplit("-", 1)[0] for p in folder.glob("*") if p.is_dir()}
        assert not made & refused, (folder, made)
    assert _leaks(out) == []
    index = (out / "latest" / "index.html").read_text()
    assert "a FIFO (named pipe), never opened" in index
    assert "symlinks to files outside the corpus were refused, unread" in index
    # what the harness refused says nothing of a suite: listed apart, counted nowhere
    assert 'id="refused"' in index and "not an Office document: plain text" in index
    for rec in json.loads((out / "latest" / "results.json").read_text())["recommendations"]:
        for score in rec["suites"]:
            assert not {d[1] for d in score["worst_documents"]} & {
                "evil.docx", "passwd.docx", "text.docx", "page.docx", "report.xlsx"}, score
            if rec["format"] == "docx" and score["suite"] in suites:
                assert score["score"] > 3, score  # the refused files did not drag it to 0


def test_the_reference_suite_reads_only_the_reference_discovery_checked(tmp_path, no_hang):
    """borrowed.reference.pdf links to a PDF outside the corpus: discovery refuses it, and
    the Microsoft reference suite must not find it again by name and copy it."""
    corpus, _ = _folder(tmp_path)
    documents = scan([corpus]).documents
    store = Store(tmp_path / "out" / "results.sqlite")
    run = sweep(documents, ["msoffice"], store, SweepSettings(jobs=1, timeout_seconds=60,
                                                             tasks=("show",)), True)
    by = {r.document: r for r in store.results(run.id)}
    assert (by["borrowed.docx"].status, by["borrowed.docx"].message) == (
        Status.UNAVAILABLE, "no Microsoft rendering beside this document "
        "(borrowed.reference.pdf)")
    assert _leaks(artifacts_root(store.path)) == []


def test_the_reference_suite_never_follows_a_link(tmp_path, no_hang):
    _secret_document(tmp_path / "doc.docx")
    outside = tmp_path / "outside"
    outside.mkdir()
    write_pdf(outside / "secret.pdf", [f"{MARKER} reference"])
    (tmp_path / "doc.reference.pdf").symlink_to(outside / "secret.pdf")
    suite = MicrosoftReference(tmp_path / "scratch")
    outcome = suite.run(tmp_path / "doc.docx", Task.SHOW, tmp_path / "work", 60)
    assert outcome.status is Status.UNAVAILABLE and outcome.output_path is None
    assert "is a symbolic link; not read" in outcome.message
    (tmp_path / "doc.reference.pdf").unlink()
    os.mkfifo(tmp_path / "doc.reference.pdf")
    outcome = suite.run(tmp_path / "doc.docx", Task.SHOW, tmp_path / "work", 60)
    assert outcome.status is Status.UNAVAILABLE and "a FIFO (named pipe)" in outcome.message
    assert _leaks(tmp_path / "work") == []


def _moving(tmp_path: Path):
    """A corpus whose moving.docx links, inside it, to a file discovery reads; and the
    document discovery made of it."""
    corpus, outside = _folder(tmp_path)
    (corpus / ".kept").mkdir()  # a hidden folder is not walked: moving.docx is no alias
    shutil.copyfile(WORD, corpus / ".kept" / "real.docx")
    (corpus / "moving.docx").symlink_to(Path(".kept") / "real.docx")
    write_pdf(corpus / "moving.reference.pdf", ["the reference, inside the corpus"])
    [moving] = [d for d in scan([corpus]).documents if d.relpath == "moving.docx"]
    assert moving.refused is None and moving.reference_pdf is not None
    return corpus, outside, moving


def _retarget(link: Path, target: Path) -> None:
    link.unlink()
    link.symlink_to(target)


CHANGES = {  # what happens to moving.docx between discovery and its job -> the reason
    "retargeted outside": (lambda c, o: _retarget(c / "moving.docx", o / "secret.docx"),
                           "changed since discovery: now links outside the corpus to "),
    "now a FIFO": (lambda c, o: (os.unlink(c / ".kept" / "real.docx"),
                                 os.mkfifo(c / ".kept" / "real.docx")),
                   "changed since discovery: now a FIFO (named pipe), never opened"),
    "other bytes": (lambda c, o: shutil.copyfile(o / "secret.docx", c / ".kept" / "real.docx"),
                    "changed since discovery: its bytes are not those discovery read"),
    "reference retargeted": (lambda c, o: _retarget(c / "moving.reference.pdf",
                                                    o / "secret.reference.pdf"),
                             "changed since discovery: its reference PDF now links outside"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_document_changed_after_discovery_is_refused_at_job_time(tmp_path, no_hang, change):
    corpus, outside, moving = _moving(tmp_path)
    job = Job(moving, "msoffice", tmp_path / "artifacts", tmp_path / "scratch", 60)
    assert changed_since_discovery(moving) is None
    assert run_job(job).status is Status.OK  # as discovered: read and measured
    shutil.rmtree(tmp_path / "artifacts")
    make, reason = CHANGES[change]
    make(corpus, outside)
    result = run_job(job)
    assert (result.status, result.grade) == (Status.UNSUPPORTED, None)
    assert result.message.startswith(reason), result.message
    assert result.suite_run.harness_error  # neither cached nor kept: done again next time
    assert not (tmp_path / "artifacts").exists()


def test_the_dask_executor_never_reads_a_document_changed_after_discovery(tmp_path, no_hang):
    from distributed import LocalCluster

    from harness import executors

    corpus, outside, moving = _moving(tmp_path)
    jobs = [Job(moving, "msoffice", tmp_path / "artifacts", tmp_path / "scratch", 60)]
    _retarget(corpus / "moving.docx", outside / "secret.docx")
    results = []
    # a worker of its own process, as in a real cluster: an in-process one would tag this
    # test process (FIDELITY_WORKER_TAG), and every later test's processes with it
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        executors.get("dask", scheduler=cluster.scheduler_address).run(jobs, results.append)
    [result] = results
    assert result.status is Status.UNSUPPORTED
    assert result.message.startswith("changed since discovery: now links outside the corpus")
    assert not (tmp_path / "artifacts").exists()
