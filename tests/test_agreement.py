"""Agreement with people: the statistics, the ratings files, `fidelity agreement`, and the
figures and grade pickers of the report."""

import json
import subprocess
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.report.agreement import (HEADER, Pair, Rating, append_ratings, figures, gather,
                               locations, measure, read_ratings, spearman, weighted_kappa)
from harness.corpus import Document
from harness.errors import UsageError
from harness.pipeline import JobResult
from harness.report import build_report
from harness.store import Run, Store
from tests.conftest import REPO

grades = st.integers(min_value=0, max_value=5)
paired = st.lists(st.tuples(grades, grades), min_size=1, max_size=40)


# --- statistics -------------------------------------------------------------------------

def test_kappa_on_hand_computed_tables():
    # Observed mean squared difference (0 + 4 + 1) / 3; expected over all nine pairings of
    # the marginals {5, 3, 1} x {5, 1, 2}: 51 / 9. Kappa = 1 - (5/3) / (51/9) = 36/51.
    assert weighted_kappa([5, 3, 1], [5, 1, 2]) == pytest.approx(36 / 51)
    # Two adjacent grades: the quadratic weights are 0 and 1, so it is Cohen's unweighted
    # kappa: observed agreement 3/4, by chance 1/2 -> 0.5.
    assert weighted_kappa([0, 0, 1, 1], [0, 1, 1, 1]) == pytest.approx(0.5)
    # The weights are the grades' own distances: 0 against 5 is the worst disagreement.
    assert weighted_kappa([0, 5], [5, 0]) == pytest.approx(-1.0)
    assert weighted_kappa([0, 5, 5], [0, 5, 4]) > weighted_kappa([0, 5, 5], [0, 5, 1])


def test_kappa_and_rho_when_undefined():
    assert weighted_kappa([], []) is None
    assert weighted_kappa([3, 3, 3], [3, 3, 3]) is None  # no disagreement to expect
    assert weighted_kappa([4, 4], [3, 3]) == 0.0  # constant on each side, but apart
    assert spearman([3, 3, 3], [1, 2, 3]) is None and spearman([1, 2, 3], [4, 4, 4]) is None
    assert spearman([2], [2]) is None
    assert spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)  # 1 - 6*2 / (3*8)


@given(st.lists(grades, min_size=1, max_size=40))
def test_perfect_agreement_is_kappa_1_unless_one_grade_throughout(values):
    kappa = weighted_kappa(values, values)
    if len(set(values)) > 1:
        assert kappa == 1.0 and spearman(values, values) == pytest.approx(1.0)
    else:
        assert kappa is None and spearman(values, values) is None


@settings(max_examples=300)
@given(paired)
def test_kappa_is_symmetric_bounded_and_lins_concordance(pairs):
    harness, person = [h for h, _ in pairs], [p for _, p in pairs]
    kappa = weighted_kappa(harness, person)
    assume(kappa is not None)
    assert kappa == pytest.approx(weighted_kappa(person, harness))
    assert -1 - 1e-12 <= kappa <= 1 + 1e-12
    # An independent formula: quadratically weighted kappa equals Lin's concordance
    # correlation with population moments, 2 cov / (var h + var p + (mean h - mean p)^2).
    n = len(pairs)
    mh, mp = sum(harness) / n, sum(person) / n
    cov = sum((h - mh) * (p - mp) for h, p in pairs) / n
    vh = sum((h - mh) ** 2 for h in harness) / n
    vp = sum((p - mp) ** 2 for p in person) / n
    assert kappa == pytest.approx(2 * cov / (vh + vp + (mh - mp) ** 2))


@given(paired)
def test_exact_and_within_one_are_symmetric_and_the_difference_changes_sign(pairs):
    def pair(h, p):
        return Pair("c", "d.docx", "docx", "s", "show", h, p, "r", "")
    forward = figures([pair(h, p) for h, p in pairs])
    backward = figures([pair(p, h) for h, p in pairs])
    assert forward.exact == backward.exact and forward.within_one == backward.within_one
    assert 0 <= forward.exact <= forward.within_one <= 1
    assert forward.mean_difference == pytest.approx(-backward.mean_difference)
    assert (forward.rho is None) == (backward.rho is None)
    if forward.rho is not None:
        assert forward.rho == pytest.approx(backward.rho) and -1 <= forward.rho <= 1 + 1e-12


@given(st.lists(grades, min_size=2, max_size=20), grades)
def test_rho_is_none_whenever_one_side_is_constant(values, constant):
    assert spearman(values, [constant] * len(values)) is None
    assert spearman([constant] * len(values), values) is None


# --- ratings files ----------------------------------------------------------------------

def test_a_ratings_file_with_bad_rows_keeps_the_good_ones_and_names_each_bad_line(tmp_path):
    path = tmp_path / "RATINGS.tsv"
    path.write_text("\ufeff" + HEADER + "\n"
                    "# a comment\n"
                    "a.docx\tlibreoffice\tshow\t4\tana\tfine\n"
                    "\n"
                    "b.docx\tlibreoffice\tshow\t7\tana\t\n"             # line 5
                    "b.docx\tlibreoffice\tprint\t3\tana\t\n"            # line 6
                    "c.docx\tlibreoffice\tsave\t4.5\tana\t\n"           # line 7
                    "\tlibreoffice\tshow\t3\tana\t\n"                   # line 8
                    "d.docx\tlibreoffice\tshow\t2\tana\tsplit\tnote\n"  # line 9
                    + HEADER + "\n"                                     # appended export
                    "e dir/e.xlsx\tgnumeric\tsave-recalc\t0\n",         # no rater, no note
                    encoding="utf-8")
    found = read_ratings(path, "c")
    assert [(r.document, r.task, r.grade, r.rater, r.note) for r in found.ratings] == [
        ("a.docx", "show", 4, "ana", "fine"), ("e dir/e.xlsx", "save-recalc", 0, "", "")]
    assert found.ratings[0].source == f"{path}:3" and found.ratings[0].corpus == "c"
    assert [p.split(": ", 1)[0] for p in found.problems] == [
        f"{path}:{n}" for n in (5, 6, 7, 8, 9)]
    assert "grade '7'" in found.problems[0] and "unknown task 'print'" in found.problems[1]
    assert "grade '4.5'" in found.problems[2] and "no document" in found.problems[3]
    assert "a tab inside a note" in found.problems[4]


def test_a_file_without_its_header_is_one_problem(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("a.docx\tlibreoffice\tshow\t4\tana\t\n")
    found = read_ratings(path)
    assert found.ratings == () and len(found.problems) == 1
    assert "header" in found.problems[0] and found.problems[0].startswith(f"{path}:1:")


def test_ratings_written_are_read_back_and_a_tab_in_a_note_cannot_split_a_row(tmp_path):
    path = tmp_path / "ratings" / "x.tsv"
    rows = [Rating("a b/'q\".docx", "libreoffice", "show", 3, "ana", "tab\there\nand line"),
            Rating("c.pptx", "wps", "save-odf", 0, "bo", "")]
    assert append_ratings(path, rows[:1]) == 1 and append_ratings(path, rows[1:]) == 1
    assert path.read_text().count(HEADER) == 1
    back = read_ratings(path)
    assert back.problems == ()
    assert [(r.document, r.suite, r.task, r.grade, r.rater, r.note) for r in back.ratings] == [
        ("a b/'q\".docx", "libreoffice", "show", 3, "ana", "tab here and line"),
        ("c.pptx", "wps", "save-odf", 0, "bo", "")]


# --- joining with a run -----------------------------------------------------------------

def _result(document, grade, status="ok", suite="libreoffice", task="show", corpus="c",
            fmt=None):
    return JobResult(corpus=corpus, document=document,
                     format=fmt or document.rsplit(".", 1)[1], suite=suite,
                     suite_version="7.4", task=task, status=status, grade=grade, message="m")


def test_each_rating_is_a_pair_and_a_later_row_of_the_same_person_replaces_theirs(tmp_path):
    results = [_result("a.docx", 5), _result("b.docx", 2), _result("x.xlsx", 4),
               _result("f.docx", None, "failed"), _result("u.docx", None)]
    path = tmp_path / "r.tsv"
    append_ratings(path, [
        Rating("a.docx", "libreoffice", "show", 5, "ana"),
        Rating("a.docx", "libreoffice", "show", 4, "bo"),      # a second person: a pair
        Rating("b.docx", "libreoffice", "show", 5, "ana", "first look"),
        Rating("b.docx", "libreoffice", "show", 4, "ana", "looked again"),  # replaces
        Rating("x.xlsx", "libreoffice", "show", 4, "ana"),
        Rating("f.docx", "libreoffice", "show", 1, "ana"),
        Rating("u.docx", "libreoffice", "show", 1, "ana"),
        Rating("a.docx", "libreoffice", "save", 1, "ana"),
        Rating("gone.docx", "libreoffice", "show", 1, "ana")])
    found = measure("r1", [read_ratings(path)], results)
    assert [(p.document, p.harness, p.person, p.rater) for p in found.pairs] == [
        ("a.docx", 5, 5, "ana"), ("a.docx", 5, 4, "bo"), ("b.docx", 2, 4, "ana"),
        ("x.xlsx", 4, 4, "ana")]
    assert found.superseded == 1 and found.rated_results == 3 and found.raters == ["ana", "bo"]
    assert [(g.format, g.n, g.raters) for g in found.groups] == [("docx", 3, 2), ("xlsx", 1, 1)]
    docx = found.groups[0]
    assert docx.exact == pytest.approx(1 / 3) and docx.within_one == pytest.approx(2 / 3)
    assert docx.mean_difference == pytest.approx((0 + 1 - 2) / 3)
    assert found.overall.n == 4 and found.overall.exact == 0.5
    assert [(p.document, p.note) for p in found.far_apart()] == [("b.docx", "looked again")]
    assert [u.rating.document for u in found.unmatched] == [  # in the file's order
        "f.docx", "u.docx", "a.docx", "gone.docx"]
    why = {(u.rating.document, u.rating.task): u.why for u in found.unmatched}
    assert why == {("f.docx", "show"): "the result is failed, not graded",
                   ("u.docx", "show"): "the result is ok but has no grade",
                   ("a.docx", "save"): "no libreoffice save result for it",
                   ("gone.docx", "show"): "document not in this run"}


def test_a_file_given_by_hand_is_matched_across_corpora_unless_ambiguous(tmp_path):
    results = [_result("a.docx", 5, corpus="one"), _result("a.docx", 3, corpus="two"),
               _result("b.docx", 3, corpus="two")]
    path = tmp_path / "r.tsv"
    path.write_text(HEADER + "\tcorpus\n"
                    "a.docx\tlibreoffice\tshow\t3\tana\t\t\n"
                    "b.docx\tlibreoffice\tshow\t3\tana\t\t\n"
                    "a.docx\tlibreoffice\tshow\t3\tbo\t\ttwo\n")
    found = measure("r", [read_ratings(path)], results)
    assert [(p.corpus, p.document, p.rater) for p in found.pairs] == [
        ("two", "a.docx", "bo"), ("two", "b.docx", "ana")]
    [ambiguous] = found.unmatched
    assert "several corpora of this run (one, two)" in ambiguous.why


def test_ratings_live_beside_a_corpus_or_in_the_project_for_one_outside_it(tmp_path):
    project = tmp_path / "project" / "corpus" / "ratings"
    own = tmp_path / "project" / "corpus" / "probes"
    shared = tmp_path / "shared" / "corpus"
    for folder in (project, own, shared):
        folder.mkdir(parents=True)
    run = Run("r", "2026", None, "complete", "0.1", 4, {},
              {"corpora": [str(own), str(shared)]})
    for path in (own / "RATINGS.tsv", project / "corpus.tsv", project / "probes.tsv"):
        append_ratings(path, [Rating("a.docx", "libreoffice", "show", 3, path.stem)])
    places = {loc.corpus: loc for loc in locations(run, {"probes", "corpus"}, project)}
    assert places["probes"].read == (own / "RATINGS.tsv",)  # not the project's probes.tsv
    assert places["corpus"].read == (project / "corpus.tsv",)
    assert places["corpus"].add_to == project / "corpus.tsv"
    files = gather(run, {"probes", "corpus"}, None, project)
    assert {(f.path, f.ratings[0].corpus) for f in files} == {
        (own / "RATINGS.tsv", "probes"), (project / "corpus.tsv", "corpus")}
    (project / "corpus.tsv").unlink()
    assert locations(run, {"corpus"}, project)[1].add_to == project / "corpus.tsv"
    with pytest.raises(UsageError, match="ratings file not found: .*missing.tsv"):
        gather(run, {"corpus"}, [tmp_path / "missing.tsv"], project)


# --- the command ------------------------------------------------------------------------

def _store(tmp_path):
    """A run over a corpus folder `docs` whose RATINGS.tsv people have filled in."""
    corpus = tmp_path / "docs"
    corpus.mkdir()
    store = Store(tmp_path / "reports" / "fidelity.sqlite")
    run = Run("r1", "2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00", "complete",
              "0.1.0", 4, {"libreoffice": {"version": "7.4", "available": True,
                                           "reason": None}},
              {"rasteriser": {"rasteriser": "pypdfium2", "rasteriser_version": "x", "dpi": 60,
                              "max_pages": 200}, "corpora": [str(corpus)]})
    names = ["a.docx", "b.docx", "c.docx", "<img src=x onerror=alert(1)>.docx", "s.xlsx"]
    store.start_run(run, [Document("docs", corpus, n, n.rsplit(".", 1)[1], 10, f"{i}" * 64)
                          for i, n in enumerate(names)])
    for name, grade in zip(names, (5, 3, 1, 4, 4)):
        store.add_result("r1", _result(name, grade, corpus="docs"))
    store.add_result("r1", _result("b.docx", None, "crashed", task="save", corpus="docs"))
    store.close()
    (corpus / "RATINGS.tsv").write_text(
        HEADER + "\n"
        "a.docx\tlibreoffice\tshow\t5\tana\t\n"
        "b.docx\tlibreoffice\tshow\t1\tana\ttable lost\n"
        "c.docx\tlibreoffice\tshow\t2\tbo\t\n"
        "s.xlsx\tlibreoffice\tshow\t4\tbo\t\n"
        "b.docx\tlibreoffice\tsave\t2\tbo\t\n"
        "z.docx\tlibreoffice\tshow\t9\tbo\t\n")
    return tmp_path / "reports" / "fidelity.sqlite", corpus


def _fidelity(*args, cwd):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_the_agreement_command_prints_figures_far_pairs_and_what_it_could_not_pair(tmp_path):
    store, corpus = _store(tmp_path)
    done = _fidelity("agreement", "--store", store, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "run r1: 4 pair(s)" in out and "2 rater(s)" in out
    rows = {line.split("│")[1].strip() + " " + line.split("│")[2].strip():
            [c.strip() for c in line.split("│")[3:-1]]
            for line in out.splitlines() if line.startswith("│")}
    assert rows["docx libreoffice"] == ["3", "2", "33 %", "67 %", "+0.33", "0.71", "0.50"]
    assert rows["xlsx libreoffice"] == ["1", "1", "100 %", "100 %", "+0.00", "-", "-"]
    assert rows["all all"][:5] == ["4", "2", "50 %", "75 %", "+0.25"]
    assert "docs/b.docx libreoffice [show]: harness 3, person 1 (ana): table lost" in out
    assert "1 rating(s) have no graded result in run r1:" in out
    assert "b.docx libreoffice [save] (bo, " in out and "the result is crashed" in out
    assert done.stderr.strip() == (f"fidelity: {corpus / 'RATINGS.tsv'}:7: grade '9' is not "
                                   "a whole number from 0 to 5; row skipped")
    data = json.loads(_fidelity("agreement", "--store", store, "--json", "r1",
                                cwd=tmp_path).stdout)
    assert data["pairs"] == 4 and data["all"]["kappa"] == pytest.approx(
        weighted_kappa([5, 3, 1, 4], [5, 1, 2, 4]), abs=1e-3)
    assert [p["document"] for p in data["far_apart"]] == ["b.docx"]
    assert data["far_apart"][0]["difference"] == 2 and len(data["problems"]) == 1


def test_ratings_given_by_hand_replace_the_corpus_files(tmp_path):
    store, _ = _store(tmp_path)
    mine = tmp_path / "mine.tsv"
    append_ratings(mine, [Rating("c.docx", "libreoffice", "show", 1, "cy")])
    data = json.loads(_fidelity("agreement", "--store", store, "--ratings", mine, "--json",
                                cwd=tmp_path).stdout)
    assert data["files"] == [str(mine)] and data["pairs"] == 1 and data["all"]["exact"] == 1


def test_a_missing_ratings_file_is_a_usage_error_and_no_ratings_is_nothing_to_do(tmp_path):
    store, corpus = _store(tmp_path)
    done = _fidelity("agreement", "--store", store, "--ratings", tmp_path / "nope.tsv",
                     cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"fidelity: ratings file not found: {tmp_path / 'nope.tsv'}"]
    (corpus / "RATINGS.tsv").unlink()
    done = _fidelity("agreement", "--store", store, cwd=tmp_path)
    assert done.returncode == 3 and len(done.stderr.strip().splitlines()) == 1
    assert str(corpus / "RATINGS.tsv") in done.stderr
    assert _fidelity("agreement", "--store", tmp_path / "none.sqlite",
                     cwd=tmp_path).returncode == 2


# --- the report -------------------------------------------------------------------------

def test_the_report_shows_the_figures_and_a_picker_beside_each_graded_result(
        tmp_path, monkeypatch):
    store_path, corpus = _store(tmp_path)
    monkeypatch.chdir(tmp_path)
    with Store(store_path) as store:
        out = build_report(store, None, tmp_path / "reports")
    section = (out / "index.html").read_text()
    section = section[section.index('<section id="agreement">'):]
    section = section[:section.index("</section>")]
    assert "4 pair(s)" in section and "<td>+0.33</td>" in section and "<td>0.71</td>" in section
    assert "table lost" in section and 'class="far-apart"' in section
    assert str(corpus / "RATINGS.tsv") in section and "agreement.json" in section
    assert "1 problem(s)" in section and ":7: grade" in section
    data = json.loads((out / "agreement.json").read_text())
    assert data["pairs"] == 4 and data["locations"][0]["add_to"] == str(corpus / "RATINGS.tsv")
    hostile = next(p for p in (out / "documents").glob("_img*.html"))
    page = hostile.read_text()
    assert page.count('<select class="rate-grade"') == 1  # one graded result
    assert 'data-document="&lt;img src=x onerror=alert(1)&gt;.docx"' in page
    assert "<img src=x" not in page and 'class="rate-export"' in page
    b_page = next(p for p in (out / "documents").glob("b-*.html")).read_text()
    assert b_page.count('<select class="rate-grade"') == 1  # its crashed save has none
    assert "people gave: " in b_page and ">1 (ana)</span>" in b_page


def test_without_ratings_the_report_says_how_to_add_them(tmp_path, monkeypatch):
    store_path, corpus = _store(tmp_path)
    (corpus / "RATINGS.tsv").unlink()
    monkeypatch.chdir(tmp_path)
    with Store(store_path) as store:
        out = build_report(store, None, tmp_path / "reports")
    html = (out / "index.html").read_text()
    assert "No one has graded the results of this run yet." in html
    assert "<code>docs</code> → <code>" in html
    data = json.loads((out / "agreement.json").read_text())
    assert data["pairs"] == 0 and data["all"] is None
    assert data["locations"][0]["read"] == []
    # The project's ratings folder, wherever the command runs (here: another folder).
    from harness.report.agreement import PROJECT_RATINGS
    assert data["locations"][0]["add_to"] == str(PROJECT_RATINGS / "docs.tsv")
