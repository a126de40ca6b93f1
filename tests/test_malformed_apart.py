"""Documents broken on purpose (a manifest marks them malformed) are swept and shown, but kept
out of the recommendation and the matrices, and counted in a robustness table of their own.
The mark comes from what the sweep stored, never from the corpus re-read at report time."""

import csv
import json
import sqlite3

import pytest

from harness.corpus import Document, discover
from harness.corpus.catalogue import describe, statistics
from harness.corpus.manifest import Entry, malformed_note
from harness.corpus.metadata import save
from harness.corpus.properties import DocumentProperties
from harness.pipeline import JobResult
from harness.report import build_report
from harness.report.analysis import malformed_documents, robustness, set_apart
from harness.report.recommend import recommend
from harness.store import Run, Store
from tests.conftest import SHARED, needs_shared

TSV_HEADER = "path\tsource_repo\tlicense\tsha256\tformat\tnotes\n"


def _result(doc, suite, status="ok", grade=None, fmt=None, task="show"):
    fmt = fmt or doc.rsplit(".", 1)[1]
    return JobResult(corpus="c", document=doc, format=fmt, suite=suite, suite_version="1.0",
                     task=task, status=status, grade=grade, message="")


# --- the mark, read from the manifests -------------------------------------------------


@pytest.mark.parametrize("notes, expected", [
    ("malformed: truncated zip (POI bug #62886); detected: not-zip", True),
    ("malformed/hostile: XML external entity (XXE) in document text", True),
    ("Malformed: wrong shared-string count", True),
    ("detected: tables; malformed: invalid XML", True),  # a later clause saying it
    ("detected: tables; not malformed", False),
    ("lo_math-malformed_xml fixture, renders fine", False),
    ("", False),
])
def test_a_manifest_note_marks_a_file_malformed_only_when_a_clause_says_so(notes, expected):
    assert malformed_note(notes) is expected


def test_the_mark_comes_from_manifest_tsv_notes_also_for_a_sub_folder(tmp_path):
    (tmp_path / "_malformed").mkdir()
    (tmp_path / "real").mkdir()
    for name in ("_malformed/trunc.docx", "_malformed/xxe.docx", "real/fine.docx",
                 "real/odd.xlsx"):
        (tmp_path / name).write_bytes(name.encode())
    (tmp_path / "MANIFEST.tsv").write_text(
        TSV_HEADER
        + "_malformed/trunc.docx\tapache/poi\tApache-2.0\t\tdocx\tmalformed: truncated zip\n"
        + "_malformed/xxe.docx\tapache/poi\tApache-2.0\t\tdocx\tmalformed/hostile: XXE\n"
        + "real/fine.docx\tx/y\tMIT\t\tdocx\tdetected: tables\n"
        + "real/odd.xlsx\tx/y\tMIT\t\txlsx\tdetected: sheets=2; not malformed\n")
    whole = {d.relpath: d.malformed for d in discover([tmp_path])}
    assert whole == {"_malformed/trunc.docx": True, "_malformed/xxe.docx": True,
                     "real/fine.docx": False, "real/odd.xlsx": False}
    # Swept on its own, the sub-folder keeps its parent manifest's marks and licences.
    alone = discover([tmp_path / "_malformed"])
    assert [(d.relpath, d.malformed, d.license) for d in alone] == [
        ("trunc.docx", True, "Apache-2.0"), ("xxe.docx", True, "Apache-2.0")]
    assert not any(d.malformed for d in discover([tmp_path / "real"]))


def test_the_mark_comes_from_corpus_toml(tmp_path):
    for name in ("broken.docx", "good.docx", "extra.docx"):
        (tmp_path / "sub" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "sub" / name).write_bytes(name.encode())
    save(tmp_path, [
        Entry(id="1" * 64, path="sub/broken.docx", format="docx", source="generated",
              license="CC0-1.0", malformed=True, tags=("hand-tag",)),
        Entry(id="2" * 64, path="sub/good.docx", format="docx", source="generated",
              license="CC0-1.0")])
    docs = {d.relpath: d for d in discover([tmp_path])}
    assert docs["sub/broken.docx"].malformed and not docs["sub/good.docx"].malformed
    assert not docs["sub/extra.docx"].malformed  # not listed: nothing says it is broken
    below = {d.relpath: d.malformed for d in discover([tmp_path / "sub"])}
    assert below == {"broken.docx": True, "extra.docx": False, "good.docx": False}
    rows = describe(list(docs.values()))
    assert {r["path"]: r["malformed"] for r in rows}["sub/broken.docx"] is True
    assert statistics(rows)["malformed"] == 1


@needs_shared
def test_the_shared_corpus_marks_exactly_its_malformed_folder():
    docs = discover([SHARED])
    marked = sorted(d.relpath for d in docs if d.malformed)
    on_disk = sorted(f"_malformed/{p.name}" for p in (SHARED / "_malformed").iterdir())
    assert marked == on_disk and len(marked) == 10


# --- the mark, stored ------------------------------------------------------------------


def _run(run_id="r1"):
    return Run(run_id, "2026-01-01T00:00:00+00:00", "2026-01-01T00:05:00+00:00", "complete",
               "0.1.0", 1, {"libreoffice": {"version": "1.0", "available": True,
                                            "reason": None},
                            "abiword": {"version": "1.0", "available": True, "reason": None}},
               {"rasteriser": {"rasteriser": "pypdfium2", "rasteriser_version": "x",
                               "dpi": 60}, "corpora": ["c"]})


def test_the_store_keeps_the_mark_and_an_older_store_says_not_recorded(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.start_run(_run(), [Document("c", tmp_path, "a.docx", "docx", 1, "a" * 64),
                                 Document("c", tmp_path, "b.docx", "docx", 1, "b" * 64,
                                          malformed=True)])
        assert {d["path"]: d["malformed"] for d in store.documents("r1")} == {
            "a.docx": False, "b.docx": True}
    # A store written before the mark existed: the column is gained, its value unknown.
    db = sqlite3.connect(path)
    db.executescript("ALTER TABLE documents DROP COLUMN malformed; "
                     "UPDATE meta SET value='4' WHERE key='schema_version';")
    db.close()
    with Store(path) as store:
        documents = store.documents("r1")
        assert [d["malformed"] for d in documents] == [None, None]
        assert malformed_documents(documents) is None


# --- the recommendation and the robustness counts ----------------------------------------


def _distorting_run():
    """Real documents where libreoffice is plainly better than abiword, plus broken ones:
    a lone .ppt, a .xls both suites fail, and a .docx fuzz case abiword alone shows."""
    results, features = [], {}
    for i in range(8):
        doc = f"d{i}.docx"
        features[("c", doc)] = ["tables"] if i < 4 else []
        results += [_result(doc, "libreoffice", grade=5 if i % 4 else 4),
                    _result(doc, "abiword", grade=2 if i % 2 else 3)]
        results.append(_result(doc, "gnumeric", "unsupported"))
    broken = {("c", "fuzz.docx"), ("c", "badzip.ppt"), ("c", "bad.xls")}
    features.update({("c", "fuzz.docx"): ["equation", "error:not-a-package"],
                     ("c", "badzip.ppt"): [], ("c", "bad.xls"): []})
    results += [_result("fuzz.docx", "libreoffice", "failed"),
                _result("fuzz.docx", "abiword", grade=5),
                _result("fuzz.docx", "gnumeric", "failed"),  # refused, not "unsupported"
                _result("badzip.ppt", "libreoffice", "failed"),
                _result("badzip.ppt", "abiword", "unsupported"),
                _result("bad.xls", "libreoffice", "crashed"),
                _result("bad.xls", "abiword", "unsupported"),
                _result("bad.xls", "gnumeric", "timed_out")]
    return results, features, frozenset(broken)


def test_the_recommendation_ignores_malformed_documents():
    results, features, broken = _distorting_run()
    before = {r.format: r for r in recommend(results, features)}
    after = {r.format: r for r in recommend(results, features, malformed=broken)}
    # What the broken files did when they counted: rows of their own, 0.00 vs 0.00, a fuzz
    # case on top of the recommended suite's worst documents, a suite named as opening .docx.
    assert set(before) == {"docx", "ppt", "xls"}
    assert [s.score for s in before["xls"].suites] == [0.0, 0.0]
    assert before["docx"].suites[0].worst_documents[0][1] == "fuzz.docx"
    assert "gnumeric" not in before["docx"].not_opening
    assert set(after) == {"docx"}
    rec = after["docx"]
    assert rec.documents == 8 and rec.winner == "libreoffice" and rec.clear
    assert rec.not_opening == ["gnumeric"]
    best = rec.suites[0]
    assert best.failures == 0 and best.documents == 8
    assert all(d[1] != "fuzz.docx" for s in rec.suites for d in s.worst_documents)
    assert all(f.feature != "equation" for f in best.worst_features)
    assert "equation" not in rec.weights
    # The same as if the broken documents had never been swept.
    kept = [r for r in results if ("c", r.document) not in broken]
    alone = recommend(kept, {k: v for k, v in features.items() if k not in broken})
    assert [(s.suite, s.score, s.low, s.high) for s in alone[0].suites] == \
        [(s.suite, s.score, s.low, s.high) for s in rec.suites]


def test_robustness_counts_each_suites_outcome_on_the_malformed_documents():
    results, _, broken = _distorting_run()
    results.append(_result("bad.xls", "wps", "unavailable"))  # not installed: no row
    counted, apart = set_apart(results, broken)
    assert len(apart) == 9 and all(("c", r.document) in broken for r in apart)
    assert len(counted) == 24
    table = robustness(apart)
    assert list(table) == ["abiword", "gnumeric", "libreoffice"]
    assert dict(table["libreoffice"].statuses) == {"failed": 2, "crashed": 1}
    assert dict(table["abiword"].statuses) == {"ok": 1, "unsupported": 2}
    assert dict(table["gnumeric"].statuses) == {"failed": 1, "timed_out": 1}
    assert len(table["libreoffice"].documents) == 3
    assert set_apart(results, None) == (results, [])  # not recorded: nothing set apart


# --- end to end: a report built from a store ---------------------------------------------


def _store(tmp_path, record_mark=True):
    results, features, broken = _distorting_run()
    store = Store(tmp_path / "reports" / "fidelity.sqlite")
    names = sorted({r.document for r in results})
    docs = [Document("c", tmp_path, name, name.rsplit(".", 1)[1], 10, f"{i:064d}",
                     malformed=("c", name) in broken) for i, name in enumerate(names)]
    store.start_run(_run(), docs, {("c", d.relpath): DocumentProperties(
        tuple(features[("c", d.relpath)]), None) for d in docs})
    for r in results:
        store.add_result("r1", r)
    if not record_mark:  # as a store from before the mark keeps it
        store._db.execute("UPDATE documents SET malformed=NULL")
        store._db.commit()
    return store


def test_the_report_sets_malformed_documents_apart_and_counts_them(tmp_path):
    out = build_report(_store(tmp_path), "r1", tmp_path / "reports")
    payload = json.loads((out / "results.json").read_text())
    marks = {d["document"]: d["malformed"] for d in payload["documents"]}
    assert marks["fuzz.docx"] is True and marks["d0.docx"] is False
    assert [r["format"] for r in payload["recommendations"]] == ["docx"]
    assert payload["recommendations"][0]["winner"] == "libreoffice"
    assert payload["robustness"]["recorded"] and payload["robustness"]["documents"] == 3
    assert payload["robustness"]["suites"]["libreoffice"] == {
        "documents": 3, "ok": 0, "failed": 2, "empty": 0, "crashed": 1, "timed_out": 0,
        "unsupported": 0}
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {r["document"]: r["malformed"] for r in rows}["bad.xls"] == "true"
    assert {r["document"]: r["malformed"] for r in rows}["d3.docx"] == "false"
    html = (out / "index.html").read_text()
    matrix = html[html.index('<section id="matrix">'):html.index('<section id="statuses">')]
    assert ".ppt" not in matrix and ".xls" not in matrix and "equation" not in matrix
    assert "failed" not in matrix  # the fuzz case's failures are not the matrix's
    robust = html[html.index('<section id="robustness">'):html.index('<section id="documents">')]
    assert "These 3 documents are broken on purpose" in robust
    assert "do not count in the matrices or the recommendation" in robust
    assert ("<tr><th>libreoffice</th><td>3</td><td>0</td><td class=\"status failed\">2</td>"
            "<td>0</td><td class=\"status crashed\">1</td><td>0</td><td>0</td></tr>") in robust
    # Still shown: in the documents table, marked, and on its own page.
    assert html.count('class="badge malformed"') == 3
    fuzz_page = next((out / "documents").glob("fuzz-*.html")).read_text()
    assert "broken on purpose" in fuzz_page


def test_a_store_without_the_mark_sets_nothing_apart_and_says_so(tmp_path):
    out = build_report(_store(tmp_path, record_mark=False), "r1", tmp_path / "reports")
    payload = json.loads((out / "results.json").read_text())
    assert all(d["malformed"] is None for d in payload["documents"])
    assert payload["robustness"] == {"recorded": False, "documents": 0, "suites": {}}
    assert {r["format"] for r in payload["recommendations"]} == {"docx", "ppt", "xls"}
    assert {r["malformed"] for r in csv.DictReader((out / "results.csv").open())} == {""}
    html = (out / "index.html").read_text()
    assert "This run did not record which documents its corpus manifest marks malformed" in html
