"""The recommendation: weighted, with a paired bootstrap interval, failures counted 0."""

from hypothesis import given, settings, strategies as st

from harness.records import JobResult
from harness.report.recommend import recommend


def _result(doc, suite, grade, status="ok", task="show", fmt="docx"):
    return JobResult(corpus="c", document=doc, format=fmt, suite=suite, suite_version="1.0",
                     task=task, status=status, grade=grade, message="")


def _corpus(grades: dict[str, list], features=None):
    """grades: suite -> one grade per document (None with a status: a failure)."""
    results, n = [], len(next(iter(grades.values())))
    for suite, values in grades.items():
        for i, value in enumerate(values):
            status, grade = (value, None) if isinstance(value, str) else ("ok", value)
            results.append(_result(f"d{i}.docx", suite, grade, status))
    feats = {("c", f"d{i}.docx"): (features or {}).get(i, []) for i in range(n)}
    return results, feats


def test_a_clearly_better_suite_is_recommended_with_its_interval():
    results, features = _corpus({"libreoffice": [5, 5, 4, 5, 5, 4, 5, 5] * 4,
                                 "abiword": [2, 3, 2, 1, 3, 2, 2, 3] * 4})
    (rec,) = recommend(results, features, references={"msoffice"})
    assert rec.winner == "libreoffice" and rec.clear and rec.tied == ["libreoffice"]
    best, other = rec.suites
    assert best.low <= best.score <= best.high and other.low <= other.score <= other.high
    assert best.low > other.high
    assert rec.verdict == "libreoffice"


def test_suites_that_cannot_be_told_apart_give_no_clear_winner():
    results, features = _corpus({"a": [5, 3, 4, 5, 2, 4], "b": [4, 4, 5, 3, 4, 4]})
    (rec,) = recommend(results, features, references={"msoffice"})
    assert not rec.clear and set(rec.tied) == {"a", "b"}
    assert rec.verdict.startswith("no clear winner")


def test_failures_count_zero_and_the_reference_is_no_candidate():
    results, features = _corpus({"flaky": [5, "crashed", 5, "failed", 5, "timed_out"] * 3,
                                 "steady": [4] * 18, "msoffice": [5] * 18})
    (rec,) = recommend(results, features, references={"msoffice"})
    assert [s.suite for s in rec.suites] == ["steady", "flaky"]
    assert rec.suites[1].failures == 9 and rec.suites[1].score < 3


def test_a_suite_that_opens_no_document_of_the_format_is_named_apart():
    results, features = _corpus({"gnumeric": ["unsupported"] * 4, "libreoffice": [5, 4, 5, 5]})
    (rec,) = recommend(results, features, references={"msoffice"})
    assert rec.not_opening == ["gnumeric"] and [s.suite for s in rec.suites] == ["libreoffice"]
    assert "only suite measured" in rec.verdict


def test_feature_weights_decide_between_specialists():
    # "tables" is good on the documents with a table and poor elsewhere; "prose" the reverse.
    table_docs = {i: ["table"] for i in range(4)}
    results, features = _corpus({"tables": [5, 5, 5, 5, 2, 2, 2, 2, 2, 2],
                                 "prose": [2, 2, 2, 2, 5, 5, 5, 5, 5, 5]}, table_docs)
    (plain,) = recommend(results, features, {"table": 0})
    (heavy,) = recommend(results, features, {"table": 20})
    assert plain.suites[0].suite == "prose" and heavy.suites[0].suite == "tables"
    assert heavy.weights["table"] == 20


def test_the_worst_of_the_recommended_suite_is_named():
    results, features = _corpus({"lo": [5, 5, 1, 5, 5, 5]}, {2: ["charts"], 3: ["charts"]})
    (rec,) = recommend(results, features, references={"msoffice"})
    best = rec.suites[0]
    assert best.worst_documents[0][1] == "d2.docx" and best.worst_features[0].feature == "charts"
    assert best.worst_features[0].mean_grade == 3.0


def test_save_back_counts_and_other_tasks_do_not():
    results, features = _corpus({"lo": [5, 5, 5]})
    results += [_result(f"d{i}.docx", "lo", 1, task="save") for i in range(3)]
    results += [_result(f"d{i}.docx", "lo", 0, task="save-odf") for i in range(3)]
    (rec,) = recommend(results, features, references={"msoffice"})
    assert rec.suites[0].score == 3.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=2, max_size=12), st.data())
def test_a_lower_grade_never_raises_a_score(grades, data):
    index = data.draw(st.integers(0, len(grades) - 1))
    features = {i: ["table"] for i in range(0, len(grades), 2)}
    before = recommend(*_corpus({"s": grades}, features), resamples=50)[0].suites[0].score
    worse = list(grades)
    worse[index] = data.draw(st.integers(0, grades[index]))
    after = recommend(*_corpus({"s": worse}, features), resamples=50)[0].suites[0].score
    assert after <= before


def test_suites_that_opened_a_format_nothing_could_grade_are_named_not_called_unmeasured():
    results = [_result(f"d{i}.xls", suite, None, fmt="xls")
               for i in range(3) for suite in ("libreoffice", "gnumeric")]
    results += [_result(f"d{i}.xls", "abiword", None, "unsupported", fmt="xls") for i in range(3)]
    (rec,) = recommend(results, {("c", f"d{i}.xls"): [] for i in range(3)})
    assert rec.winner is None and rec.suites == []
    assert rec.ungraded == ["gnumeric", "libreoffice"] and rec.not_opening == ["abiword"]
    assert "opened this format, but nothing could grade them" in rec.verdict
    graded = recommend(results + [_result("d0.xls", "libreoffice", 4, fmt="xls")],
                       {("c", f"d{i}.xls"): [] for i in range(3)})[0]
    assert graded.ungraded == ["gnumeric"] and graded.winner == "libreoffice"


def test_microsoft_office_driven_live_is_measured_but_never_recommended():
    from harness.store import Run
    from harness.sweep import suite_facts
    from renderers.base import Availability

    suites = {name: suite_facts(name, Availability(True, version="1"))
              for name in ("msoffice", "msoffice-live", "libreoffice", "abiword")}
    run = Run("r", "t", None, "complete", "1", 1, suites, {})
    assert run.not_recommended == {"msoffice", "msoffice-live"}
    # Office against its own reference wins on every document, and is still not proposed
    results, features = _corpus({"msoffice-live": [5] * 16, "libreoffice": [4, 5] * 8,
                                 "abiword": [2, 3] * 8})
    (rec,) = recommend(results, features, references=run.not_recommended)
    assert rec.winner == "libreoffice"
    assert "msoffice-live" not in {s.suite for s in rec.suites}
