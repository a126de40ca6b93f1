"""The store: results survive reopening, the schema version is enforced."""

import json
import sqlite3

import pytest

from harness.corpus import Document
from harness.errors import StoreError
from harness.records import (Artifacts, JobResult, SaveMeasures, ShowMeasures, Status,
                             SuiteRun, Task)
from harness.store import SCHEMA_VERSION, Run, Store


def _run(run_id="r1", started="2026-01-01T00:00:00+00:00"):
    return Run(run_id, started, None, "running", "0.1.0", 1,
               {"libreoffice": {"version": "7.4", "available": True, "reason": None}}, {})


def _doc(tmp_path, name="a.docx"):
    return Document("c", tmp_path, name, "docx", 3, "00" * 32)


def _result(name="a.docx", grade=4, status="ok"):
    return JobResult(corpus="c", document=name, format="docx", suite="libreoffice",
                     suite_version="7.4", task="show", status=status, grade=grade,
                     message="msg", scores={"text_recall": 0.97},
                     artifacts=Artifacts(pdf=f"k/{name}.pdf", pages=("k/p1.png", "k/p2.png")),
                     show=ShowMeasures(signals={"text": 4}, missing_words=("x",),
                                       checks=({"feature": "table", "passed": True},)),
                     suite_run=SuiteRun(via="UNO listener", warnings=("lost a chart",)))


def test_results_round_trip(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.start_run(_run(), [_doc(tmp_path)])
        store.add_result("r1", _result())
        store.add_result("r1", _result())  # a retried job replaces, never duplicates
        store.finish_run("r1", "2026-01-01T00:01:00+00:00", "complete")
    with Store(path) as store:
        run = store.run()
        assert run.state == "complete" and run.suites["libreoffice"]["version"] == "7.4"
        results = list(store.results("r1"))
        assert results == [_result()]
        assert results[0].status is Status.OK and results[0].task is Task.SHOW
        assert results[0].show.missing_words == ("x",)
        assert store.documents("r1")[0]["key"] == _doc(tmp_path).key
        assert store.integrity_ok()


def test_latest_run_is_the_default(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.start_run(_run("old", "2026-01-01T00:00:00+00:00"), [])
        store.start_run(_run("new", "2026-01-02T00:00:00+00:00"), [])
        assert store.run().id == "new"
        with pytest.raises(StoreError, match="no run"):
            store.run("absent")


def test_grades_outside_the_scale_are_refused(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.start_run(_run(), [])
        with pytest.raises(StoreError):
            store.add_result("r1", _result(grade=9))


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version"):
        Store(path)


def test_an_unwritable_store_is_a_store_error(tmp_path):
    path = tmp_path / "not-a-db.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError):
        Store(path)


def test_a_resumed_run_does_again_what_the_harness_failed(tmp_path):
    """A result the harness could not produce (the disk filled up mid-job) is the machine's
    fault: resuming runs it again, and keeps every result the documents earned."""
    with Store(tmp_path / "s.sqlite") as store:
        store.start_run(_run(), [_doc(tmp_path), _doc(tmp_path, "b.docx"),
                                 _doc(tmp_path, "c.docx")])
        store.add_result("r1", _result("a.docx"))
        store.add_result("r1", _result("b.docx", grade=None, status="failed"))
        store.add_result("r1", JobResult(
            corpus="c", document="c.docx", format="docx", suite="libreoffice",
            suite_version=None, task="show", status="failed", grade=None,
            message="internal error in the harness: OSError: [Errno 28] No space left on device",
            suite_run=SuiteRun(harness_error=True)))
        assert store.stored_keys("r1") == {("c", "a.docx", "libreoffice", "show"),
                                           ("c", "b.docx", "libreoffice", "show")}


def test_a_result_is_keyword_only_and_its_words_are_the_enums():
    with pytest.raises(TypeError):
        JobResult("c", "a.docx", "docx", "libreoffice", "7.4", "show", "ok", 4, "msg")
    result = _result()
    assert result.status == "ok" and result.status is Status.OK  # a str enum: both hold
    assert f"{result.status} {result.task}" == "ok show"
    with pytest.raises(ValueError):
        _result(status="fine")


def test_the_result_columns_are_the_record_fields(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    columns = [r[1] for r in db.execute("PRAGMA table_info(results)")]
    db.close()
    assert columns == ["run_id"] + [f.name for f in
                                    __import__("dataclasses").fields(JobResult)]


# The results table and a row as schema 5 (the harness before typed records) wrote them.
_V5_RESULTS = """
CREATE TABLE results (
    run_id TEXT NOT NULL REFERENCES runs(id), corpus TEXT NOT NULL, document TEXT NOT NULL,
    suite TEXT NOT NULL, task TEXT NOT NULL, format TEXT NOT NULL, suite_version TEXT,
    status TEXT NOT NULL,
    grade INTEGER CHECK (grade IS NULL OR grade BETWEEN 0 AND 5), message TEXT NOT NULL,
    stderr TEXT NOT NULL, suite_seconds REAL NOT NULL, total_seconds REAL NOT NULL,
    scores TEXT NOT NULL, details TEXT NOT NULL, suite_peak_rss_mb REAL,
    harness_peak_rss_mb REAL, PRIMARY KEY (run_id, corpus, document, suite, task));
"""
_V5_SHOW = {"rasteriser": {"name": "pypdfium2", "dpi": 60}, "truth_reader": "python-docx",
            "truth_error": None, "truth_facts": {"paragraphs": 3}, "pages": ["k/l/p1.png"],
            "pdf": "k/libreoffice.pdf", "missing_words": ["Aptos"],
            "expected_pages_source": "Microsoft reference PDF", "reference_pages": ["k/r/p1.png"],
            "diff_pages": ["k/d/p1.png"], "page_pairs": [{"candidate_page": 1}],
            "layout": {"median_mm": 0.4}, "fonts": {"substituted": {"Aptos": "DejaVu Sans"}},
            "checks": [{"feature": "table", "passed": False}], "signals": {"text": 5},
            "cause": "Aptos missing", "flow": {"cut_share": 0.0}, "via": "UNO listener",
            "suite_warnings": ["a chart was lost"], "cached_from": "r0"}
_V5_SAVE = {"saved": "k/libreoffice-save.docx", "truth_error": None,
            "truth_reader": "python-docx", "saved_facts": {"paragraphs": 2},
            "truth_facts": {"paragraphs": 3}, "facts_changed": {"paragraphs": [3, 2]},
            "missing_words": [], "checks": [], "signals": {"checks": 3}}


def _v5_store(path):
    """A store as the schema-5 harness left it: the old results table, filled."""
    Store(path).close()  # today's other tables; results is replaced by the old one below
    db = sqlite3.connect(path)
    db.execute("DROP TABLE results")
    db.executescript(_V5_RESULTS)
    db.execute("UPDATE meta SET value='5' WHERE key='schema_version'")
    db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?)", (
        "r5", "2026-01-01T00:00:00+00:00", "2026-01-01T00:10:00+00:00", "complete", "0.1.0",
        5, json.dumps({"libreoffice": {"version": "7.4", "available": True, "reason": None},
                       "msoffice": {"version": None, "available": True, "reason": None}}),
        json.dumps({"jobs": 2})))
    rows = [("show", "ok", 4, {"text_recall": 0.9}, _V5_SHOW),
            ("save", "ok", 3, {"checks_passed": 0.5}, _V5_SAVE),
            ("save-odf", "crashed", None, {}, {"via": "command line"}),
            ("save-recalc", "failed", None, {}, {"harness_error": True})]
    for task, status, grade, scores, details in rows:
        db.execute("INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
            "r5", "c", "a.docx", "libreoffice", task, "docx", "7.4", status, grade, "msg",
            "", 1.5, 2.5, json.dumps(scores), json.dumps(details), 300.0, None))
    db.commit()
    db.close()


def test_a_schema_5_store_is_migrated_in_place_and_read_back_by_name(tmp_path):
    path = tmp_path / "s.sqlite"
    _v5_store(path)
    with Store(path) as store:
        by_task = {r.task: r for r in store.results("r5")}
        run = store.run("r5")
        assert store.integrity_ok()
    show, save = by_task[Task.SHOW], by_task[Task.SAVE]
    assert (show.status, show.grade, show.scores, show.suite_peak_rss_mb) == \
        (Status.OK, 4, {"text_recall": 0.9}, 300.0)
    assert show.artifacts == Artifacts(pdf="k/libreoffice.pdf", pages=("k/l/p1.png",),
                                       reference_pages=("k/r/p1.png",),
                                       diff_pages=("k/d/p1.png",))
    assert show.show.fonts == {"substituted": {"Aptos": "DejaVu Sans"}}
    assert show.show.cause == "Aptos missing" and show.show.missing_words == ("Aptos",)
    assert show.suite_run == SuiteRun(via="UNO listener", warnings=("a chart was lost",),
                                      cached_from_run="r0")
    assert show.details == _V5_SHOW  # the flat view gives back exactly what was stored
    assert save.save == SaveMeasures(truth_reader="python-docx",
                                     truth_facts={"paragraphs": 3},
                                     saved_facts={"paragraphs": 2},
                                     facts_changed={"paragraphs": [3, 2]},
                                     signals={"checks": 3})
    assert save.artifacts.saved == "k/libreoffice-save.docx" and save.show is None
    assert by_task[Task.SAVE_ODF].suite_run.via == "command line"
    assert by_task[Task.SAVE_ODF].show is by_task[Task.SAVE_ODF].save is None
    # the harness's own failure is still done again when the run is resumed
    with Store(path) as store:
        assert ("c", "a.docx", "libreoffice", "save-recalc") not in store.stored_keys("r5")
        assert len(store.stored_keys("r5")) == 3
    assert run.suites["msoffice"]["is_reference"] is True
    assert run.suites["libreoffice"]["is_reference"] is False
    assert "show" in run.suites["libreoffice"]["tasks"]
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == \
        str(SCHEMA_VERSION)
    db.close()
