"""A real sweep: probes and a slice of the shared corpus through the real LibreOffice,
checked in the store, the exports and the report."""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import (PROBES, REPO, SHARED, needs_libreoffice, needs_shared,
                            processes_tagged)
from harness.store import SCHEMA_VERSION

pytestmark = [needs_libreoffice, pytest.mark.integration]
GOLDEN = ["01_invoice_en.docx", "01_quotation_ko.xlsx", "01_startup_pitch_en.pptx"]
STATUSES = {"ok", "failed", "timed_out", "crashed", "empty", "unsupported", "unavailable"}


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=1200)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """One sweep shared by the tests below: probes + golden slice + every malformed file."""
    base = tmp_path_factory.mktemp("sweep")
    corpora = [PROBES]
    if SHARED.is_dir():
        golden = base / "golden"
        golden.mkdir()
        for name in GOLDEN:  # a slice, read from ../shared by path through links
            source = SHARED / "office2pdf-golden" / name
            (golden / name).symlink_to(source)
            reference = source.with_name(source.stem + ".reference.pdf")
            (golden / reference.name).symlink_to(reference)
        corpora += [golden, SHARED / "_malformed"]
    args = ["run", "--out", str(base / "reports"), "--jobs", "2", "--timeout", "120",
            "--follow-symlinks"]  # the golden slice links outside its folder
    for corpus in corpora:
        args += ["--corpus", str(corpus)]
    sweep = subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=REPO, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = sweep.communicate(timeout=1200)
    assert sweep.returncode == 0, stderr[-3000:]
    return base, sweep.pid


def _results(base: Path, suite: str | None = None, task: str | None = None) -> list[dict]:
    results = json.loads((base / "reports" / "latest" / "results.json").read_text())["results"]
    return [r for r in results if (suite is None or r["suite"] == suite)
            and (task is None or r["task"] == task)]


ORIGINAL_PROBES = {"word-features.docx", "sheet-features.xlsx", "deck-features.pptx"}
PROBE_DOCUMENTS = sorted(p.name for p in PROBES.iterdir() if not p.name.endswith(".json"))


def _documents() -> int:
    return len(PROBE_DOCUMENTS) + (len(GOLDEN) + len(list((SHARED / "_malformed").iterdir()))
                if SHARED.is_dir() else 0)


def test_every_document_gets_one_classified_result_per_suite_and_task(swept):
    base, _ = swept
    results = _results(base)
    keys = [(r["corpus"], r["document"], r["suite"], r["task"]) for r in results]
    assert len(keys) == len(set(keys))
    suites = json.loads(_run("suites", "--json").stdout)
    tasks_per_document = sum(len(s["tasks"]) for s in suites.values())
    assert len(results) == _documents() * tasks_per_document
    for name, suite in suites.items():  # not installed here: said, in every row
        if not suite["available"]:
            rows = [r for r in results if r["suite"] == name]
            assert rows and {r["status"] for r in rows} == {"unavailable"}
            assert all(r["message"] == suite["reason"] for r in rows)
    for r in results:
        assert r["status"] in STATUSES
        assert (r["grade"] is None) if r["status"] != "ok" else True
        assert r["message"] and "\n" not in r["message"]


def test_probes_are_rendered_faithfully(swept):
    base, _ = swept
    for task in ("show", "save", "save-odf"):
        probes = {r["document"]: r for r in _results(base, "libreoffice", task)
                  if r["corpus"] == "probes"}
        assert sorted(probes) == PROBE_DOCUMENTS
        for r in probes.values():
            assert r["status"] == "ok" and r["grade"] is not None, r
            if task == "show" or r["document"] in ORIGINAL_PROBES:
                assert r["scores"]["text_recall"] == 1.0, r
            if r["document"] in ORIGINAL_PROBES:
                assert r["via"] == "UNO listener", r  # the persistent mode is the default
    # LibreOffice's listener aborts on Writer comments; the command line renders them.
    review = next(r for r in _results(base, "libreoffice", "show")
                  if r["document"] == "word-review.docx")
    assert review["via"].startswith("command line (the UNO listener crashed"), review
    shown = {r["document"]: r for r in _results(base, "libreoffice", "show")
             if r["corpus"] == "probes"}
    assert shown["deck-features.pptx"]["scores"]["pages_rendered"] == 3
    saved = {r["document"]: r for r in _results(base, "libreoffice", "save")
             if r["corpus"] == "probes"}
    assert saved["deck-features.pptx"]["scores"]["slides_saved"] == 4  # hidden one kept


@needs_shared
def test_references_are_compared_visually(swept):
    base, _ = swept
    golden = [r for r in _results(base, "libreoffice", "show") if r["corpus"] == "golden"]
    assert len(golden) == len(GOLDEN)
    for r in golden:
        assert r["status"] == "ok"
        assert 0.0 < r["scores"]["ssim_mean"] <= 1.0
        assert r["scores"]["pages_reference"] >= 1 and 0 <= r["grade"] <= 5


@needs_shared
def test_microsoft_reference_stands_in_the_matrix_as_a_suite(swept):
    base, _ = swept
    reference = [r for r in _results(base, "msoffice") if r["corpus"] == "golden"]
    assert len(reference) == len(GOLDEN) and {r["task"] for r in reference} == {"show"}
    for r in reference:
        assert r["status"] == "ok" and "ssim_mean" not in r["scores"], r
        assert r["suite_version"] and "per document" not in r["suite_version"]
    others = [r for r in _results(base, "msoffice") if r["corpus"] == "probes"]
    assert {r["status"] for r in others} == {"unavailable"}


@needs_shared
def test_malformed_files_do_not_stop_the_sweep(swept):
    base, _ = swept
    malformed = [r for r in _results(base, "libreoffice", "show")
                 if r["corpus"] == "_malformed"]
    assert len(malformed) == len(list((SHARED / "_malformed").iterdir()))
    truncated = next(r for r in malformed if r["document"] == "truncated62886.docx")
    assert truncated["status"] == "failed"


def test_store_holds_the_run_and_passes_integrity(swept):
    base, _ = swept
    db = sqlite3.connect(base / "reports" / "fidelity.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    state, suites = db.execute("SELECT state, suites FROM runs").fetchone()
    assert state == "complete" and json.loads(suites)["libreoffice"]["version"]
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == len(_results(base))


def test_report_pages_link_to_existing_images(swept):
    base, _ = swept
    latest = base / "reports" / "latest"
    index = (latest / "index.html").read_text()
    assert "Suite × format" in index and "libreoffice" in index
    pages = list((latest / "documents").glob("*.html"))
    assert len(pages) == _documents()
    deck = next(p for p in pages if p.name.startswith("deck-features"))
    html = deck.read_text()
    images = [line.split('<img')[1].split('src="../')[1].split('"')[0]
              for line in html.splitlines() if '<img' in line and 'src="../' in line]
    assert len(images) == 3 and all((latest / img).is_file() for img in images)


def test_report_rebuilds_from_the_store_without_converting(swept, tmp_path):
    base, _ = swept
    store = base / "reports" / "fidelity.sqlite"
    env = dict(os.environ, FIDELITY_SOFFICE=str(tmp_path / "no-soffice"))  # nothing to run
    result = subprocess.run([sys.executable, "-m", "harness", "report", "--store", str(store),
                             "--out", str(tmp_path / "rebuilt")], capture_output=True,
                            text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    rebuilt = json.loads((tmp_path / "rebuilt" / "latest" / "results.json").read_text())
    assert rebuilt["results"] == _results(base)


def test_no_suite_and_no_scratch_left_after_the_sweep(swept):
    _, pid = swept
    ps = subprocess.run(["pgrep", "-af", f"fidelity-{pid}-"], capture_output=True, text=True)
    assert ps.stdout.strip() == "", ps.stdout
    assert not list(Path(tempfile.gettempdir()).glob(f"fidelity-{pid}-*"))


@needs_shared
def test_legacy_text_is_measured_but_never_graded(tmp_path):
    corpus = tmp_path / "legacy"
    corpus.mkdir()
    (corpus / "SampleShow.ppt").symlink_to(SHARED / "apache-poi" / "SampleShow.ppt")
    result = _run("run", "--corpus", str(corpus), "--out", str(tmp_path / "r"), "--jobs", "1",
                  "--suite", "libreoffice", "--task", "show", "--follow-symlinks")
    assert result.returncode == 0, result.stderr[-2000:]
    [r] = json.loads((tmp_path / "r" / "latest" / "results.json").read_text())["results"]
    assert "text_recall" not in r["scores"] and "text_recall_lossy_reader" in r["scores"]
    assert r["scores"]["pages_expected"] == 2 and r["grade"] == 5  # PowerPoint's slide count


def test_stand_in_suites_take_part_in_a_sweep_and_leave_nothing_running(tmp_path):
    """OnlyOffice (x2t and Document Server) and WPS through their stand-ins, in a real sweep:
    every task gets a result under the suite's name and version, and no process the sweep
    started (x2t, the WPS driver, its Xvfb...) stays behind."""
    from tests.fakes.fake_docserver import FakeDocServer
    from tests.fakes.fake_x2t import install as install_x2t

    home = tmp_path / "wps-office"
    (home / "office6").mkdir(parents=True)
    with FakeDocServer() as server:
        env = dict(os.environ, ONLYOFFICE_X2T=str(install_x2t(tmp_path / "oo")),
                   ONLYOFFICE_VERSION="0.0.0 (stand-in)", ONLYOFFICE_DOCSERVER_URL=server.url,
                   WPS_OFFICE_HOME=str(home), WPS_OFFICE_VERSION="0.0.0 (stand-in)",
                   PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests" / "fakes")]))
        args = ["run", "--corpus", str(PROBES), "--out", str(tmp_path / "r"), "--jobs", "2"]
        for suite in ("onlyoffice", "onlyoffice-server", "wps"):
            args += ["--suite", suite]
        result = subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                                text=True, cwd=REPO, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "r" / "latest" / "results.json").read_text())["results"]
    assert len(results) == len(PROBE_DOCUMENTS) * 3 * 3
    for r in results:
        assert r["status"] == "ok", r
    assert {r["suite_version"] for r in results if r["suite"] != "onlyoffice-server"} == {
        "0.0.0 (stand-in)"}
    # Counted by the sweep's tag, which every process it started inherits: a suite process
    # of another test still dying on this machine must not make this one fail.
    run_id = json.loads((tmp_path / "r" / "latest" / "results.json").read_text())["run"]["id"]
    deadline = time.monotonic() + 10
    while processes_tagged(run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_tagged(run_id) == []
