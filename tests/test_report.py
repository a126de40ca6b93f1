"""Reports come from the store alone; document-controlled strings are escaped."""

import csv
import json

from PIL import Image

from harness.corpus import Document
from harness.pipeline import JobResult
from harness.report import build_report
from harness.store import Run, Store
from harness.sweep import artifacts_root

HOSTILE = "<script>alert(1)</script>.docx"


def _store_with_results(tmp_path):
    store = Store(tmp_path / "reports" / "fidelity.sqlite")
    run = Run("r1", "2026-01-01T00:00:00+00:00", "2026-01-01T00:05:00+00:00", "complete",
              "0.1.0", 1, {"libreoffice": {"version": "7.4.7.2", "available": True,
                                           "reason": None}},
              {"rasteriser": {"rasteriser": "pypdfium2", "rasteriser_version": "x", "dpi": 60,
                              "max_pages": 200}, "corpora": [str(tmp_path)]})
    good = Document("c", tmp_path, "good.docx", "docx", 10, "a" * 64)
    hostile = Document("c", tmp_path, HOSTILE, "docx", 10, "b" * 64)
    store.start_run(run, [good, hostile])
    page = artifacts_root(store.path) / "r1" / good.key / "libreoffice" / "page-001.png"
    page.parent.mkdir(parents=True)
    Image.new("RGB", (40, 60), "white").save(page)
    store.add_result("r1", JobResult(
        "c", "good.docx", "docx", "libreoffice", "7.4.7.2", "show", "ok", 4, "limited by text",
        scores={"text_recall": 0.96, "pages_rendered": 1},
        details={"pages": [f"{good.key}/libreoffice/page-001.png"], "signals": {"text": 4},
                 "missing_words": ["<b>bold</b>"]}))
    store.add_result("r1", JobResult(
        "c", HOSTILE, "docx", "libreoffice", "7.4.7.2", "show", "crashed", None,
        "LibreOffice crashed (signal 11) <img src=x onerror=alert(2)>", "stderr <i>"))
    return store, good, hostile


def test_report_files_and_contract(tmp_path):
    store, good, hostile = _store_with_results(tmp_path)
    out = build_report(store, None, tmp_path / "reports")
    assert (tmp_path / "reports" / "latest").resolve() == out.resolve()
    for name in ("index.html", "style.css", "results.json", "results.csv",
                 f"documents/{good.key}.html", f"documents/{hostile.key}.html",
                 f"pages/{good.key}/libreoffice/page-001.png"):
        assert (out / name).is_file(), name
    payload = json.loads((out / "results.json").read_text())
    assert payload["run"]["id"] == "r1"
    assert payload["run"]["suites"] == {"libreoffice": "7.4.7.2"}
    by_doc = {r["document"]: r for r in payload["results"]}
    assert by_doc["good.docx"]["grade"] == 4 and by_doc["good.docx"]["status"] == "ok"
    assert by_doc[HOSTILE]["grade"] is None and by_doc[HOSTILE]["status"] == "crashed"
    for r in payload["results"]:
        assert {"document", "format", "suite", "status", "grade", "scores"} <= set(r)
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {r["document"] for r in rows} == {"good.docx", HOSTILE}
    assert "text_recall" in rows[0]


def test_hostile_strings_are_escaped(tmp_path):
    store, _, hostile = _store_with_results(tmp_path)
    out = build_report(store, "r1", tmp_path / "reports")
    for page in [out / "index.html", out / "documents" / f"{hostile.key}.html"]:
        html = page.read_text()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html
    good_page = (out / "documents").glob("good-*.html")
    assert "<b>bold</b>" not in next(good_page).read_text()


def test_matrix_shows_grades_and_failures_apart(tmp_path):
    store, _, _ = _store_with_results(tmp_path)
    html = build_report(store, "r1", tmp_path / "reports").joinpath("index.html").read_text()
    assert 'class="g4"' in html and "crashed 1" in html and "2 docs, 1 graded" in html
    assert "ungraded 1" not in html
    store.add_result("r1", JobResult("c", "plain.docx", "docx", "libreoffice", "7.4.7.2",
                                     "show", "ok", None, "not graded: nothing to compare"))
    html = build_report(store, "r1", tmp_path / "reports").joinpath("index.html").read_text()
    assert "ungraded 1" in html


def test_rebuilding_replaces_the_previous_report(tmp_path):
    store, _, _ = _store_with_results(tmp_path)
    out = build_report(store, "r1", tmp_path / "reports")
    (out / "stale.html").write_text("old")
    out = build_report(store, "r1", tmp_path / "reports")
    assert not (out / "stale.html").exists()


def test_page_columns_are_the_shown_renderings_only(tmp_path):
    store, good, _ = _store_with_results(tmp_path)
    store.add_result("r1", JobResult(
        "c", "good.docx", "docx", "libreoffice", "7.4.7.2", "save", "ok", 5, "limited by text",
        details={"saved": f"{good.key}/libreoffice-save.docx",
                 "checks": [{"feature": "table", "label": "table 1: kept", "score": 0.0,
                             "expected": "<cell>", "found": "not found", "passed": False}]}))
    out = build_report(store, None, tmp_path / "reports")
    html = (out / "documents" / f"{good.key}.html").read_text()
    pages = html[html.index('<table class="pages">'):]
    header = pages[:pages.index("</thead>")]
    assert "<th>libreoffice</th>" in header and "(save)" not in header
    assert "structural checks, 0 of 1 passed" in html and "&lt;cell&gt;" in html


def _store_with_features(tmp_path):
    from harness.corpus.properties import DocumentProperties

    store = Store(tmp_path / "reports" / "fidelity.sqlite")
    run = Run("r2", "2026-01-02T00:00:00+00:00", None, "complete", "0.1.0", 3,
              {"libreoffice": {"version": "7.4", "available": True, "reason": None},
               "abiword": {"version": "3.0", "available": True, "reason": None}},
              {"rasteriser": {"rasteriser": "pypdfium2", "rasteriser_version": "x", "dpi": 60},
               "corpora": [str(tmp_path)]})
    docs = [Document("c", tmp_path, f"d{i}.docx", "docx", 10, f"{i}" * 64) for i in range(6)]
    properties = {("c", d.relpath): DocumentProperties(("table",) if i < 2 else ("cjk",),
                                                       f"Title {i}")
                  for i, d in enumerate(docs)}
    store.start_run(run, docs, properties)
    for i, d in enumerate(docs):
        store.add_result("r2", JobResult("c", d.relpath, "docx", "libreoffice", "7.4", "show",
                                         "ok", 2 if i < 2 else 5, ""))
        store.add_result("r2", JobResult("c", d.relpath, "docx", "abiword", "3.0", "show",
                                         "crashed" if i % 2 else "ok", None if i % 2 else 3,
                                         ""))
    return store, docs


def test_feature_matrix_and_recommendation_come_from_stored_features(tmp_path):
    store, docs = _store_with_features(tmp_path)
    out = build_report(store, "r2", tmp_path / "reports")
    html = (out / "index.html").read_text()
    features = html[html.index('class="matrix features"'):]
    assert "<th>table</th><td>2</td><td>0.333</td>" in features
    assert "<th>cjk</th><td>4</td><td>0.667</td>" in features
    assert "2.00" in features  # libreoffice on the table documents
    payload = json.loads((out / "results.json").read_text())
    (rec,) = payload["recommendations"]
    assert rec["winner"] == "libreoffice" and rec["format"] == "docx"
    assert [s["suite"] for s in rec["suites"]] == ["libreoffice", "abiword"]
    assert {d["document"]: d["title"] for d in payload["documents"]}["d0.docx"] == "Title 0"
    assert "Title 3" in (out / "documents" / f"{docs[3].key}.html").read_text()
    for page in ("history.html", "suites/libreoffice.html", "suites/abiword.html"):
        assert (out / page).is_file(), page
    assert "crashed" in (out / "suites" / "abiword.html").read_text()


def test_the_single_file_holds_everything(tmp_path):
    store, good, _ = _store_with_results(tmp_path)
    single = build_report(store, "r1", tmp_path / "reports", single_file=tmp_path / "one.html")
    html = single.read_text()
    assert "data:image/png;base64," in html and 'src="../' not in html
    assert '<link rel="stylesheet"' not in html and '<script src=' not in html
    assert f'id="document-{good.key}"' in html and f'href="#document-{good.key}"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert not (tmp_path / "reports" / "r1").exists()  # nothing else was written


def test_an_older_store_gains_features_and_titles(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE documents; CREATE TABLE documents (run_id TEXT, corpus TEXT, "
                     "path TEXT, key TEXT, format TEXT, size_bytes INTEGER, sha256 TEXT, "
                     "reference_pdf TEXT, license TEXT, source TEXT, PRIMARY KEY (run_id, "
                     "corpus, path)); UPDATE meta SET value='2' WHERE key='schema_version';")
    db.execute("INSERT INTO runs VALUES ('r0','2026','2026','complete','0.1',2,'{}','{}')")
    db.execute("INSERT INTO documents VALUES ('r0','c','a.docx','k','docx',1,'s',NULL,NULL,"
               "NULL)")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.documents("r0")[0]["features"] == [] and store.documents("r0")[0]["title"] is None
