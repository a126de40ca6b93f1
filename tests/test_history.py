"""History, JUnit, JSON Lines and profiles: what CI reads after a nightly sweep."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.config import BUILTIN_PROFILES, profile
from harness.errors import UsageError
from harness.corpus import Document
from harness.history import (below_grade, classify, history, mean_grade, regressions,
                             summary_lines, trends)
from harness.history.compare import NEAREST_AMONG
from harness.pipeline import JobResult
from harness.report.exports import write_jsonl
from harness.report.junit import write_junit
from harness.store import Run, Store
from tests.conftest import REPO


def _result(name, status="ok", grade=5, version="7.4", suite="libreoffice", task="show",
            corpus="c", fmt="docx"):
    return JobResult(corpus=corpus, document=name, format=fmt, suite=suite,
                     suite_version=version, task=task, status=status, grade=grade,
                     message=f"{name} msg", stderr="trace <&>" if status != "ok" else "")


def _documents(tmp_path, results, changed=()):
    """The documents the results are of, as a sweep records them (content hash included;
    a name in `changed` gets other content)."""
    seen = {}
    for r in results:
        sha = ("bb" if r.document in changed else "aa") * 32
        seen[(r.corpus, r.document)] = Document(
            corpus=r.corpus, root=tmp_path, relpath=r.document, format=r.format,
            size_bytes=1, sha256=sha)
    return list(seen.values())


def _store(tmp_path, runs, with_documents=False, suites=None):
    """runs: [(run_id, state, [results])] in order; with_documents: each run records its
    documents (else history falls back on the documents its results name); suites: run id
    -> the suites the run records (else libreoffice 7.4, its availability unsaid)."""
    store = Store(tmp_path / "s.sqlite")
    for number, (run_id, state, results, *changed) in enumerate(runs):
        documents = _documents(tmp_path, results, *changed) if with_documents else []
        facts = (suites or {}).get(run_id, {"libreoffice": {"version": "7.4"}})
        started = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=number)
        store.start_run(Run(run_id, started.isoformat(), None,
                            "running", "0.1.0", 2, facts, {}), documents)
        for r in results:
            store.add_result(run_id, r)
        store.finish_run(run_id, (started + timedelta(minutes=30)).isoformat(), state)
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
    # the documents differ by two (gone.docx, new.docx): compared on the five in common
    assert h.counts == {"regression": 2, "fix": 2, "unchanged": 1, "new": 0}
    assert {c.document: c.kind for c in h.changes} == {
        "worse.docx": "regression", "broke.docx": "regression", "better.docx": "fix",
        "mended.docx": "fix"}
    assert h.version_changed and (h.previous_version, h.version) == ("7.4", "7.5")
    assert h.not_compared == 1 and h.gone == 0 and regressions([h]) == 2
    assert (h.baseline.only_here, h.baseline.only_there) == (1, 1)


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


def _night(names, timed_out=(), grade=4, corpus="c", fmt="docx"):
    return [_result(n, "timed_out", None, corpus=corpus, fmt=fmt) if n in timed_out
            else _result(n, grade=grade, corpus=corpus, fmt=fmt) for n in names]


SWEEP = [f"d{i:02d}.docx" for i in range(12)]


def test_a_run_is_compared_with_the_previous_run_of_the_same_documents(tmp_path):
    """The issue's night: a quick run on other documents came in between; the sweep with
    timeouts is still compared with the last sweep, result by result."""
    quick = _night(["probe.docx", "probe2.docx"], corpus="probes")
    runs = [("full1", "complete", _night(SWEEP)), ("quick", "complete", quick),
            ("full2", "complete", _night(SWEEP, timed_out={"d03.docx", "d07.docx"}))]
    with _store(tmp_path, runs, with_documents=True) as store:
        [h] = history(store, "full2")
        [first_quick] = history(store, "quick")
    assert h.previous_run_id == "full1" and h.baseline.same_documents
    assert h.counts == {"regression": 2, "fix": 0, "unchanged": 10, "new": 0}
    assert h.gone == 0 and h.not_compared == 0
    assert {c.document for c in h.changes} == {"d03.docx", "d07.docx"}
    [(before, after)] = h.means.values()  # failures as 0: 4.00 -> 40/12
    assert (before.mean_grade, after.mean_grade, after.failed) == (4.0, 3.33, 2)
    assert first_quick.previous_run_id is None and first_quick.counts["new"] == 2
    assert "no earlier run of these 2 document(s)" in summary_lines([first_quick])[0]


def test_without_the_same_documents_the_nearest_run_is_compared_on_the_shared_ones(tmp_path):
    older = _night(SWEEP[:4])
    nearer = _night(SWEEP[:10])
    now = _night(SWEEP, timed_out={"d01.docx"})  # two documents more, one of them changed
    runs = [("older", "complete", older), ("nearer", "complete", nearer),
            ("now", "complete", now, {"d09.docx"})]
    with _store(tmp_path, runs, with_documents=True) as store:
        [h] = history(store, "now")
    assert h.previous_run_id == "nearer" and not h.baseline.same_documents
    assert (h.baseline.shared_documents, h.baseline.only_here, h.baseline.only_there) == (
        9, 3, 1)
    assert h.counts["regression"] == 1 and h.counts["new"] == 0 and h.gone == 0
    assert h.not_compared == 3
    assert ("no earlier run of these 12 document(s); nearest earlier run nearer differs by "
            "4 document(s)") in summary_lines([h])[0]


def test_an_interrupted_run_is_never_the_baseline(tmp_path):
    runs = [("r1", "complete", _night(SWEEP)),
            ("r2", "interrupted", _night(SWEEP, grade=1)),
            ("r3", "complete", _night(SWEEP, grade=3))]
    with _store(tmp_path, runs, with_documents=True) as store:
        [h] = history(store, "r3")
    assert h.previous_run_id == "r1" and h.counts["regression"] == len(SWEEP)


results_lists = st.lists(st.tuples(st.sampled_from(["ok", "failed", "timed_out", "crashed",
                                                    "empty", "unsupported"]),
                                   st.integers(0, 5)), max_size=20)


@given(results_lists, st.sampled_from(["failed", "timed_out", "crashed", "empty"]))
def test_a_failure_never_raises_a_mean_grade(rows, failure):
    """Failures count as 0: one more failure lowers the mean or leaves it at 0."""
    results = [_result(f"x{i}", s, g if s == "ok" else None) for i, (s, g) in enumerate(rows)]
    before = mean_grade(results)
    after = mean_grade(results + [_result("more", failure, None)])
    assert after.failed == before.failed + 1 and after.mean_grade is not None
    assert before.mean_grade is None or after.mean_grade <= before.mean_grade


def test_trends_span_runs_of_the_same_documents_with_failures_as_zero(tmp_path):
    docs = SWEEP[:6]
    runs = [("n1", "complete", _night(docs, grade=4)),
            ("other", "complete", _night(["x.doc"], fmt="doc", corpus="elsewhere")),
            ("n2", "complete", _night(docs, timed_out={"d00.docx"}, grade=4))]
    with _store(tmp_path, runs, with_documents=True) as store:
        [t] = trends(store, "n2")
    assert (t.label, t.format) == ("libreoffice", "docx")
    assert [p.run_id for p in t.points] == ["n1", "n2"]  # the other corpus is not a point
    assert [p.mean.mean_grade for p in t.points] == [4.0, round(20 / 6, 2)]
    assert [(p.mean.graded, p.mean.failed) for p in t.points] == [(6, 0), (5, 1)]


def test_fail_below_counts_a_failure_as_0_and_junit_types_it_by_its_status(tmp_path):
    results = [_result("good.docx", grade=5), _result("poor.docx", grade=4),
               _result("hung.docx", "timed_out", None),
               _result("old.doc", "unsupported", None, fmt="doc"),
               _result("away.docx", "unavailable", None, suite="wps")]
    assert [r.document for r in below_grade(results, 5)] == ["poor.docx", "hung.docx"]
    assert [r.document for r in below_grade(results, 1)] == ["hung.docx"]
    assert below_grade(results, 0) == []  # nothing is below 0, a failure neither
    run = Run("r1", "2026-01-01T00:00:00+00:00", None, "complete", "0.1.0", 2, {}, {})
    write_junit(tmp_path / "j.xml", run, results, fail_below_grade=5)
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "j.xml").getroot().iter("testcase")}
    assert cases["c/poor.docx"].find("failure").get("type") == "grade"
    assert cases["c/hung.docx"].find("error").get("type") == "timed_out"
    assert cases["c/old.doc"].find("skipped") is not None


def test_a_night_where_everything_timed_out_is_below_any_gate_above_0():
    night = [_result(f"d{i}.docx", "timed_out", None) for i in range(5)]
    assert mean_grade(night).mean_grade == 0
    assert len(below_grade(night, 5)) == len(night) == len(below_grade(night, 1))


@given(results_lists, st.integers(0, 5))
def test_fail_below_agrees_with_the_mean_grade(rows, gate):
    """Counted the same way: when nothing is below G, the mean is not below G either."""
    results = [_result(f"x{i}", s, g if s == "ok" else None) for i, (s, g) in enumerate(rows)]
    mean = mean_grade(results).mean_grade
    if not below_grade(results, gate):
        assert mean is None or mean >= gate
    if mean is not None and mean < gate:
        assert below_grade(results, gate)


def _suites(**available):
    """What a run records of its suites: name -> (available, reason)."""
    return {name: {"version": "7.4" if ok else None, "available": ok, "reason": why}
            for name, (ok, why) in available.items()}


def test_a_suite_that_stops_running_is_still_in_history_its_ok_results_regressed(tmp_path):
    def unavailable(name, suite="libreoffice", why="not installed"):
        return replace(_result(name, "unavailable", None, version=None, suite=suite),
                       message=why)
    names = ["a.docx", "b.docx", "c.docx"]
    first = ([_result("a.docx", grade=5), _result("b.docx", grade=3),
              _result("c.docx", "crashed", None)]
             + [unavailable(n, "wps", "not a real wps") for n in names])
    night = [unavailable(n) for n in names] + [unavailable(n, "wps", "not a real wps")
                                               for n in names]
    suites = {"r1": _suites(libreoffice=(True, None), wps=(False, "not a real wps")),
              "r2": _suites(libreoffice=(False, "not installed"),
                            wps=(False, "not a real wps"))}
    with _store(tmp_path, [("r1", "complete", first), ("r2", "complete", night)],
                with_documents=True, suites=suites) as store:
        histories = history(store, "r2")
    [h] = histories  # wps never ran on these documents: nothing to say of it
    assert (h.suite, h.previous_run_id, h.unavailable) == ("libreoffice", "r1", "not installed")
    assert h.counts == {"regression": 2, "fix": 0, "unchanged": 1, "new": 0}
    assert {c.document: c.status_after for c in h.changes} == {"a.docx": "unavailable",
                                                               "b.docx": "unavailable"}
    assert h.gone == 0 and not h.version_changed and regressions(histories) == 2
    lines = summary_lines(histories)
    assert lines[0].startswith("libreoffice unavailable this run: not installed; since run r1 "
                               "of the same 3 document(s): 2 regression")
    assert "  regression: c/a.docx [show]: grade 5 -> unavailable" in lines
    done = subprocess.run([sys.executable, "-m", "harness", "history", "--store",
                           str(tmp_path / "s.sqlite")], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1 and "libreoffice unavailable this run" in done.stdout


def test_the_run_of_the_same_documents_is_found_behind_any_number_of_other_runs(
        tmp_path, monkeypatch):
    """More than NEAREST_AMONG runs of part of the documents came in between: the earlier
    run of exactly these documents is still the baseline, found without reading results."""
    between = [(f"part{i:02d}", "complete", _night(SWEEP[:6], grade=2))
               for i in range(NEAREST_AMONG + 5)]
    runs = [("full1", "complete", _night(SWEEP)), *between,
            ("full2", "complete", _night(SWEEP, timed_out={"d03.docx"}))]
    facts = {run_id: _suites(libreoffice=(True, None)) for run_id, *_ in runs}
    with _store(tmp_path, runs, with_documents=True, suites=facts) as store:
        read = []
        real = Store.summaries  # history reads results' outcomes alone
        monkeypatch.setattr(Store, "summaries", lambda self, run_id: read.append(run_id)
                            or real(self, run_id))
        [h] = history(store, "full2")
    assert h.previous_run_id == "full1" and h.baseline.same_documents
    assert h.counts == {"regression": 1, "fix": 0, "unchanged": 11, "new": 0}
    assert set(read) <= {"full1", "full2"}  # no run between is read (these two: counted in SQL)


def test_without_the_same_documents_the_nearest_is_sought_among_the_latest_runs(tmp_path):
    """The bound is on the nearest only: an older, nearer run behind NEAREST_AMONG others
    that share documents is not sought."""
    runs = [("near", "complete", _night(SWEEP[:11])),
            *[(f"part{i:02d}", "complete", _night(SWEEP[:3])) for i in range(NEAREST_AMONG)],
            ("now", "complete", _night(SWEEP))]
    with _store(tmp_path, runs, with_documents=True) as store:
        [h] = history(store, "now")
    assert h.previous_run_id == f"part{NEAREST_AMONG - 1:02d}"
    assert (h.baseline.shared_documents, h.baseline.only_here) == (3, 9)


def test_an_unknown_run_is_a_usage_error(tmp_path):
    _store(tmp_path, [("r1", "complete", [_result("a.docx")])]).close()
    for command in ("report", "history"):
        done = subprocess.run([sys.executable, "-m", "harness", command, "nosuchrun",
                               "--store", str(tmp_path / "s.sqlite"), "--out",
                               str(tmp_path / "out")], capture_output=True, text=True, cwd=REPO)
        assert done.returncode == 2, (command, done.stderr)
        assert "no run 'nosuchrun'" in done.stderr and "Traceback" not in done.stderr


def test_a_suite_with_nothing_compared_has_no_history_counted_or_read(tmp_path, monkeypatch):
    """abiword ran on a.docx in r1; in r2 it is `unavailable` on b.docx only (nothing in r1
    to compare with) and has no result for a.docx: nothing compared, so no history, the
    same whether SQL counts it (a result gone) or the results are read one by one."""
    suites = {run: {"libreoffice": {"version": "7.4", "available": True},
                    "abiword": {"version": "3.0", "available": True}} for run in ("r1", "r2")}
    first = [_result("a.docx"), _result("b.docx"), _result("a.docx", suite="abiword")]
    second = [_result("a.docx"), _result("b.docx", grade=3),
              _result("b.docx", suite="abiword", status="unavailable", grade=None)]
    with _store(tmp_path, [("r1", "complete", first), ("r2", "complete", second)],
                with_documents=True, suites=suites) as store:
        counted = [h.to_json() for h in history(store, "r2")]
        monkeypatch.setattr(Store, "has_documents", lambda self, run_id: False)
        read = [h.to_json() for h in history(store, "r2")]
    assert counted == read
    assert [h["suite"] for h in counted] == ["libreoffice"]
    assert counted[0]["counts"]["regression"] == 1
