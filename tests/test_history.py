"""History, JUnit, JSON Lines and profiles: what CI reads after a nightly sweep."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.config import BUILTIN_PROFILES, profile
from harness.errors import UsageError
from harness.history import classify, history, regressions
from harness.pipeline import JobResult
from harness.report.exports import write_jsonl
from harness.report.junit import write_junit
from harness.store import Run, Store
from tests.conftest import REPO


def _result(name, status="ok", grade=5, version="7.4", suite="libreoffice", task="show"):
    return JobResult("c", name, "docx", suite, version, task, status, grade, f"{name} msg",
                     stderr="trace <&>" if status != "ok" else "")


def _store(tmp_path, runs):
    """runs: [(run_id, state, [results])] in order."""
    store = Store(tmp_path / "s.sqlite")
    for number, (run_id, state, results) in enumerate(runs):
        store.start_run(Run(run_id, f"2026-01-0{number + 1}T00:00:00+00:00", None, "running",
                            "0.1.0", 2, {"libreoffice": {"version": "7.4"}}, {}), [])
        for r in results:
            store.add_result(run_id, r)
        store.finish_run(run_id, f"2026-01-0{number + 1}T01:00:00+00:00", state)
    return store


def test_each_result_is_classified_against_the_suites_previous_complete_run(tmp_path):
    before = [_result("same.docx"), _result("worse.docx", grade=5),
              _result("broke.docx"), _result("better.docx", grade=2),
              _result("mended.docx", status="crashed", grade=None), _result("gone.docx")]
    interrupted = [_result("worse.docx", grade=0)]  # an unfinished run is never the baseline
    after = [_result("same.docx", version="7.5"), _result("worse.docx", grade=3, version="7.5"),
             _result("broke.docx", status="timed_out", grade=None, version="7.5"),
             _result("better.docx", grade=4, version="7.5"),
             _result("mended.docx", version="7.5"), _result("new.docx", version="7.5")]
    with _store(tmp_path, [("r1", "complete", before), ("r2", "interrupted", interrupted),
                           ("r3", "complete", after)]) as store:
        [h] = history(store, "r3")
    assert h.previous_run_id == "r1"
    assert h.counts == {"regression": 2, "fix": 2, "unchanged": 1, "new": 1}
    assert {c.document: c.kind for c in h.changes} == {
        "worse.docx": "regression", "broke.docx": "regression", "better.docx": "fix",
        "mended.docx": "fix", "new.docx": "new"}
    assert h.version_changed and (h.previous_version, h.version) == ("7.4", "7.5")
    assert h.gone == 1 and regressions([h]) == 2


def test_what_was_not_run_is_neither_gone_nor_a_version(tmp_path):
    """A document the suite could not take (no reference PDF, say) in both runs is not
    'gone', and its empty version does not make a new version."""
    def unavailable(name):
        return _result(name, status="unavailable", grade=None, version=None, suite="msoffice")
    before = [_result("a.docx", suite="msoffice", version="Quartz"), unavailable("b.xlsx")]
    after = [_result("a.docx", suite="msoffice", version="Quartz"), unavailable("b.xlsx")]
    with _store(tmp_path, [("r1", "complete", before), ("r2", "complete", after)]) as store:
        [h] = history(store, "r2")
    assert h.gone == 0 and not h.version_changed and h.counts["unchanged"] == 1


def test_history_command_exits_1_on_regressions_and_says_which(tmp_path):
    _store(tmp_path, [("r1", "complete", [_result("a.docx", grade=5)]),
                      ("r2", "complete", [_result("a.docx", grade=2)])]).close()
    cmd = [sys.executable, "-m", "harness", "history", "--store", str(tmp_path / "s.sqlite")]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1, done.stderr
    assert "regression: c/a.docx [show]: grade 5 -> grade 2" in done.stdout
    data = json.loads(subprocess.run(cmd + ["--json"], capture_output=True, text=True,
                                     cwd=REPO).stdout)
    assert data[0]["counts"]["regression"] == 1


statuses = st.sampled_from(["ok", "failed", "crashed", "timed_out", "empty", "unsupported"])


@given(statuses, st.integers(0, 5), statuses, st.integers(0, 5))
def test_classification_is_antisymmetric(s1, g1, s2, g2):
    """What is a regression one way is a fix the other way, and nothing else changes."""
    a, b = _result("x", s1, g1 if s1 == "ok" else None), _result("x", s2, g2 if s2 == "ok" else None)
    forward, backward = classify(a, b), classify(b, a)
    assert {forward, backward} in ({"unchanged"}, {"regression", "fix"})
    assert classify(None, b) == "new"


def test_junit_has_a_suite_per_suite_version_and_the_right_outcomes(tmp_path):
    results = [_result("good.docx", grade=4), _result("poor.docx", grade=2),
               _result("hung.docx", status="timed_out", grade=None),
               _result("gone.docx", status="failed", grade=None),
               _result("old.doc", status="unsupported", grade=None, suite="abiword",
                       version="3.0"),
               _result("bad\x01name<script>.docx", grade=5)]
    run = Run("r1", "2026-01-01T00:00:00+00:00", None, "complete", "0.1.0", 2, {}, {})
    write_junit(tmp_path / "junit.xml", run, results, fail_below_grade=3)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"libreoffice 7.4", "abiword 3.0"}
    lo = suites["libreoffice 7.4"]
    assert (lo.get("tests"), lo.get("failures"), lo.get("errors")) == ("5", "2", "1")
    assert suites["abiword 3.0"].get("skipped") == "1"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["c/poor.docx"].find("failure").get("message").startswith("grade 2 is below 3")
    assert cases["c/hung.docx"].find("error") is not None
    assert "c/bad\ufffdname<script>.docx" in cases  # escaped by the writer, readable back
    write_jsonl(tmp_path / "r.jsonl", run, results)
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert len(lines) == len(results) and lines[2]["status"] == "timed_out"
    assert all(line["run"] == "r1" for line in lines)


def test_profiles_merge_builtin_and_configured_and_validate(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert profile(None, {}) == (None, {})
    monkeypatch.setenv("CI", "true")
    assert profile(None, {})[0] == "ci"
    name, quick = profile("quick", {"profiles": {"quick": {"jobs": 1}}})
    assert quick == {**BUILTIN_PROFILES["quick"], "jobs": 1}
    assert profile("mine", {"profiles": {"mine": {"suites": ["gnumeric"]}}})[1] == {
        "suites": ["gnumeric"]}
    for bad in ({"jobs": "two"}, {"jobs": True}, {"tasks": "show"}, {"colour": 1},
                {"suites": [1]}):
        with pytest.raises(UsageError):
            profile("mine", {"profiles": {"mine": bad}})
    with pytest.raises(UsageError, match="unknown profile"):
        profile("nope", {})
