"""A report is rebuilt from the store alone: the same pages from a copy of the store in
another folder, built from another working folder whose settings say otherwise, with the
suites' code saying otherwise about which one is the reference."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import renderers
from harness.records import SCORE_NAMES
from harness.report import build_report
from harness.store import Store

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path("/work/shared/corpus/office2pdf-golden")
DOCUMENTS = ("04_resume_en.docx", "10_kpi_tracker_en.xlsx")


def _pages(folder: Path, *paths: Path) -> dict[str, str]:
    """Every text file of a report, with the given folders written as one placeholder."""
    pages = {}
    for file in sorted(folder.rglob("*")):
        if file.is_file() and file.suffix in (".html", ".json", ".csv", ".js", ".css"):
            text = file.read_text(encoding="utf-8")
            for path in paths:
                text = text.replace(str(path), "<store>")
            pages[file.relative_to(folder).as_posix()] = text
    return pages


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    if not GOLDEN.is_dir():
        pytest.skip(f"the shared corpus is not here ({GOLDEN})")
    if not renderers.get("libreoffice").availability().available:
        pytest.skip("LibreOffice is not installed here")
    root = tmp_path_factory.mktemp("reproducible")
    corpus, home = root / "corpus", root / "made-here"
    corpus.mkdir()
    home.mkdir()
    for name in DOCUMENTS:
        shutil.copyfile(GOLDEN / name, corpus / name)
        reference = GOLDEN / (name.rsplit(".", 1)[0] + ".reference.pdf")
        shutil.copyfile(reference, corpus / reference.name)
    # the folder the run is made in weighs every feature alike, heavily
    (home / "fidelity.toml").write_text("[feature_weights]\nheadings = 9.0\nlists = 9.0\n"
                                        "formulas = 9.0\nmerged-cells = 9.0\n")
    out = home / "reports"
    run = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--corpus", str(corpus), "--suite",
         "libreoffice", "--suite", "msoffice", "--task", "show", "--out", str(out),
         "--jobs", "1", "--no-report"], cwd=home, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=900)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    return root, home, out


def test_a_moved_store_gives_the_same_report_anywhere(swept, monkeypatch):
    root, home, out = swept
    monkeypatch.chdir(home)
    with Store(out / "fidelity.sqlite") as store:
        made_here = build_report(store, None, root / "report-here")
        run = store.run()
    assert run.suites["msoffice"]["is_reference"] is True
    assert run.settings["feature_weights"]["configured"]["headings"] == 9.0
    assert run.settings["feature_weights"]["effective"]["lists"] == 9.0
    assert run.suites["libreoffice"]["tasks"] and run.suites["libreoffice"]["label"]
    with Store(out / "fidelity.sqlite") as store:  # scores are named as the schema says
        names = {name for r in store.results(run.id) for name in r.scores}
    assert "ssim_mean" in names and names <= SCORE_NAMES, names - SCORE_NAMES

    # Another machine: the store and its artifacts under another path, built from a folder
    # whose settings weigh features otherwise, by code that no longer takes the Microsoft
    # renderer for the reference.
    elsewhere = root / "another" / "machine"
    shutil.copytree(out, elsewhere / "store")
    (root / "another" / "fidelity.toml").write_text("[feature_weights]\nheadings = 0.0\n")
    monkeypatch.chdir(root / "another")
    monkeypatch.setattr(renderers.renderer_class("msoffice"), "is_reference", False)
    with Store(elsewhere / "store" / "fidelity.sqlite") as store:
        made_there = build_report(store, None, root / "report-there")

    here = _pages(made_here, out)
    there = _pages(made_there, elsewhere / "store")
    assert here.keys() == there.keys() and "index.html" in here
    assert [name for name in here if here[name] != there[name]] == []
    # and the images the pages name were carried with the store
    assert sorted(p.relative_to(made_here).as_posix() for p in made_here.rglob("*.png")) == \
        sorted(p.relative_to(made_there).as_posix() for p in made_there.rglob("*.png"))


def test_the_working_folder_would_have_changed_the_report(swept, monkeypatch):
    """The counter-proof: a run that recorded no weights (as before schema 6) is reported
    with the weights of the folder the report is built in, so the check above can fail."""
    root, home, out = swept
    copy = root / "unrecorded"
    shutil.copytree(out, copy)
    with Store(copy / "fidelity.sqlite") as store:
        run = store.run()
        settings = {k: v for k, v in run.settings.items() if k != "feature_weights"}
        store._db.execute("UPDATE runs SET settings=? WHERE id=?",
                          (json.dumps(settings), run.id))
        store._db.commit()
        monkeypatch.chdir(home)
        heavy = _pages(build_report(store, None, root / "heavy"), copy)
        monkeypatch.chdir(root)  # no settings here: each feature's share of the documents
        plain = _pages(build_report(store, None, root / "plain"), copy)
    assert heavy["results.json"] != plain["results.json"]
    # and which suite is the reference, as recorded, changes the recommendation
    with Store(copy / "fidelity.sqlite") as store:
        run = store.run()
        suites = {**run.suites, "msoffice": {**run.suites["msoffice"], "is_reference": False}}
        store._db.execute("UPDATE runs SET suites=? WHERE id=?",
                          (json.dumps(suites), run.id))
        store._db.commit()
        demoted = _pages(build_report(store, None, root / "demoted"), copy)
    assert demoted["results.json"] != plain["results.json"]
