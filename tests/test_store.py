"""The store: results survive reopening, the schema version is enforced."""

import sqlite3

import pytest

from harness.corpus import Document
from harness.errors import StoreError
from harness.pipeline import JobResult
from harness.store import SCHEMA_VERSION, Run, Store


def _run(run_id="r1", started="2026-01-01T00:00:00+00:00"):
    return Run(run_id, started, None, "running", "0.1.0", 1,
               {"libreoffice": {"version": "7.4", "available": True, "reason": None}}, {})


def _doc(tmp_path, name="a.docx"):
    return Document("c", tmp_path, name, "docx", 3, "00" * 32)


def _result(name="a.docx", grade=4, status="ok"):
    return JobResult("c", name, "docx", "libreoffice", "7.4", "show", status, grade, "msg",
                     scores={"text_recall": 0.97}, details={"signals": {"text": 4}})


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
            "c", "c.docx", "docx", "libreoffice", None, "show", "failed", None,
            "internal error in the harness: OSError: [Errno 28] No space left on device",
            details={"harness_error": True}))
        assert store.stored_keys("r1") == {("c", "a.docx", "libreoffice", "show"),
                                           ("c", "b.docx", "libreoffice", "show")}
