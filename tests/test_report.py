"""Reports come from the store alone; document-controlled strings are escaped. The front
page says its verdict in words from the recommendation's numbers, with a chart and the
warnings its evidence calls for; cells where nothing ran are folded."""

import csv
import json
import re

from hypothesis import given, strategies as st

from PIL import Image

from harness.corpus import Document
from harness.pipeline import JobResult
from harness.records import Artifacts, SaveMeasures, ShowMeasures
from harness.report import build_report
from harness.store import Run, Store, artifacts_root

HOSTILE = "<script>alert(1)</script>.docx"


VERSIONS = {"libreoffice": "7.4.7.2", "abiword": "3.0", "gnumeric": "1.12"}


def _result(doc, suite, status, grade, task="show", fmt="docx", message="", **parts):
    return JobResult(corpus="c", document=doc, format=fmt, suite=suite,
                     suite_version=VERSIONS[suite],
                     task=task, status=status, grade=grade, message=message, **parts)


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
    store.add_result("r1", _result(
        "good.docx", "libreoffice", "ok", 4, message="limited by text",
        scores={"text_recall": 0.96, "pages_rendered": 1, "checks_passed": None},
        artifacts=Artifacts(pages=(f"{good.key}/libreoffice/page-001.png",)),
        show=ShowMeasures(signals={"text": 4}, missing_words=("<b>bold</b>",))))
    store.add_result("r1", _result(
        HOSTILE, "libreoffice", "crashed", None,
        message="LibreOffice crashed (signal 11) <img src=x onerror=alert(2)>",
        stderr="stderr <i>"))
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
    store.add_result("r1", _result("plain.docx", "libreoffice", "ok", None,
                                   message="not graded: nothing to compare"))
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
    store.add_result("r1", _result(
        "good.docx", "libreoffice", "ok", 5, task="save", message="limited by text",
        artifacts=Artifacts(saved=f"{good.key}/libreoffice-save.docx"),
        save=SaveMeasures(checks=({"feature": "table", "label": "table 1: kept", "score": 0.0,
                                   "expected": "<cell>", "found": "not found",
                                   "passed": False},))))
    out = build_report(store, None, tmp_path / "reports")
    html = (out / "documents" / f"{good.key}.html").read_text()
    pages = html[html.index('<table class="pages">'):]
    header = pages[:pages.index("</thead>")]
    assert "<th>libreoffice</th>" in header and "(save)" not in header
    assert "Structural checks, 0 of 1 passed" in html and "&lt;cell&gt;" in html


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
        store.add_result("r2", _result(d.relpath, "libreoffice", "ok", 2 if i < 2 else 5))
        store.add_result("r2", _result(d.relpath, "abiword", "crashed" if i % 2 else "ok",
                                       None if i % 2 else 3))
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


# --- the front page: a verdict in words, a chart, warnings, folded cells ----------------

def _sweep(tmp_path, n_docs, *, reference=False, source=None, gnumeric=False, runs=1,
           unswept=0):
    """n_docs .docx documents; LibreOffice graded 5/4, AbiWord 2/1 with a crash on every
    fifth; Gnumeric (optionally) refusing the format, as it does; `unswept` more documents
    the run had not reached."""
    from harness.corpus.properties import DocumentProperties

    store = Store(tmp_path / "reports" / "fidelity.sqlite")
    pdf = tmp_path / "ref.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    docs = [Document("c", tmp_path, f"d{i:02}.docx", "docx", 10, f"{i:02}" * 32,
                     reference_pdf=pdf if reference else None, source=source)
            for i in range(n_docs + unswept)]
    if gnumeric:
        docs.append(Document("c", tmp_path, "s.xlsx", "xlsx", 10, "f" * 64))
    # as a sweep records them: the report reads labels and formats from the run alone
    suites = {"libreoffice": {"version": "7.4", "available": True, "reason": None,
                              "label": "LibreOffice", "formats": ["docx", "xlsx"]},
              "abiword": {"version": "3.0", "available": True, "reason": None,
                          "label": "AbiWord", "formats": ["docx"]},
              "onlyoffice": {"version": None, "available": False, "reason": "not installed",
                             "label": "OnlyOffice", "formats": ["docx", "xlsx"]}}
    if gnumeric:
        suites["gnumeric"] = {"version": "1.12", "available": True, "reason": None,
                              "label": "Gnumeric", "formats": ["xlsx"]}
    for k in range(runs):
        run = Run(f"r{k}", f"2026-01-0{k + 1}T00:00:00+00:00", None, "complete", "0.1.0", 3,
                  suites, {"rasteriser": {"rasteriser": "pypdfium2", "rasteriser_version": "x",
                                          "dpi": 60}, "corpora": [str(tmp_path)],
                           "font_families": [f"Family {i}" for i in range(36)]})
        store.start_run(run, docs, {("c", d.relpath): DocumentProperties(
            ("table",) if i % 3 == 0 else (), None) for i, d in enumerate(docs)})
        for i, d in enumerate(d for d in docs[:n_docs] if d.format == "docx"):
            store.add_result(run.id, _result(d.relpath, "libreoffice", "ok", 5 - i % 2))
            crashed = i % 5 == 0 and k == runs - 1
            store.add_result(run.id, _result(d.relpath, "abiword",
                                             "crashed" if crashed else "ok",
                                             None if crashed else 2 - i % 2))
            if gnumeric:
                store.add_result(run.id, _result(d.relpath, "gnumeric", "unsupported", None,
                                                 message="Gnumeric does not open .docx files"))
        if gnumeric:  # and a workbook, which AbiWord does not open
            for suite, status, grade in (("gnumeric", "ok", 4), ("libreoffice", "ok", 5),
                                         ("abiword", "unsupported", None)):
                store.add_result(run.id, _result("s.xlsx", suite, status, grade, fmt="xlsx"))
    return store, docs


def _section(html, name):
    start = html.index(f'<section id="{name}">')
    return html[start:html.index("</section>", start)]


def test_enough_documents_with_references_give_a_recommendation_in_words(tmp_path):
    store, _ = _sweep(tmp_path, 40, reference=True)
    out = build_report(store, None, tmp_path / "reports")
    html = (out / "index.html").read_text()
    verdict = _section(html, "verdicts")
    payload = json.loads((out / "results.json").read_text())
    (rec,) = payload["recommendations"]
    best, other = rec["suites"]
    assert rec["clear"] and best["suite"] == "libreoffice"
    assert "Open .docx with LibreOffice: its interval lies wholly above" in verdict
    # The sentence carries the recommendation's own numbers.
    assert (f"LibreOffice 7.4.7.2: {best['score']:.1f} of 5 [{best['low']:.1f}–{best['high']:.1f}]"
            f" on {best['documents']} documents") in verdict
    assert f"AbiWord 3.0: {other['score']:.1f} of 5" in verdict
    assert "OnlyOffice was not measured on this machine" in verdict
    assert 'class="warning evidence"' not in verdict
    # The chart: inline SVG, its text selectable, one mark label per suite with its counts.
    chart = verdict[verdict.index("<svg"):verdict.index("</svg>")]
    assert "<image" not in chart and "LibreOffice 7.4.7.2" in chart and "40 docs, 8 failed" in chart
    assert f"{best['score']:.2f} [{best['low']:.2f}–{best['high']:.2f}]" in chart
    # AbiWord's crashes count 0 in the score but not in the matrix: the page says so.
    assert "AbiWord:" in verdict and "its 8 failures count 0 here" in verdict


def test_few_documents_without_references_are_flagged_and_not_recommended(tmp_path):
    store, _ = _sweep(tmp_path, 6, source="generated")
    html = build_report(store, None, tmp_path / "reports").joinpath("index.html").read_text()
    verdict = _section(html, "verdicts")
    warnings = verdict[verdict.index('class="warning evidence"'):]
    warnings = warnings[:warnings.index("</ul>")]
    assert "Few documents: 6 of this format, fewer than the 30" in warnings
    assert "No Microsoft reference PDF" in warnings and "Generated probes only" in warnings
    assert "Open .docx with" not in verdict
    assert "LibreOffice leads on .docx, but the evidence is thin" in verdict
    assert "(3 warnings)" in verdict  # in the summary at the top as well


def test_a_run_cut_short_is_flagged_by_the_documents_measured(tmp_path):
    store, _ = _sweep(tmp_path, 20, reference=True, unswept=25)
    verdict = _section(build_report(store, None, tmp_path / "reports")
                       .joinpath("index.html").read_text(), "verdicts")
    assert "Few documents: 20 measured of the 45 of this format" in verdict
    assert "Open .docx with" not in verdict


def test_real_documents_are_not_called_probes(tmp_path):
    store, _ = _sweep(tmp_path, 6, source="https://example.org/a")
    verdict = _section(build_report(store, None, tmp_path / "reports")
                       .joinpath("index.html").read_text(), "verdicts")
    assert "Few documents" in verdict and "Generated probes only" not in verdict


def test_cells_where_nothing_ran_are_folded(tmp_path):
    store, docs = _sweep(tmp_path, 4, gnumeric=True)
    out = build_report(store, None, tmp_path / "reports")
    html = (out / "index.html").read_text()
    matrix = _section(html, "matrix")
    assert 'class="fold-switch"' in matrix
    assert '<td class="na notrun"><span class="folded">unsupported 4 </span></td>' in matrix
    assert '<td class="na notrun"><span class="folded">unsupported 1 </span></td>' in matrix
    features = matrix[matrix.index("Suite × feature"):]
    assert "<th>gnumeric</th>" not in features and "No column for gnumeric" in features
    documents = _section(html, "documents")
    docx, xlsx = documents.split("<h3>.xlsx")
    assert "<th>gnumeric</th>" not in docx and "<th>abiword</th>" not in xlsx
    page = (out / "documents" / f"{docs[0].key}.html").read_text()
    rows = page[page.index('<table class="results">'):page.index("</table>",
                                                                 page.index('<table class="results">'))]
    assert "gnumeric" not in rows
    folded = page[page.index('<details class="notrun-rows">'):]
    assert "1 row that do" in folded and "Gnumeric does not open .docx files" in folded
    assert "<details class=\"fonts\"><summary>36 font families installed</summary>" in html


def test_charts_are_deterministic_and_their_ids_unique(tmp_path):
    store, _ = _sweep(tmp_path, 6, runs=2)
    first = build_report(store, None, tmp_path / "a")
    second = build_report(store, None, tmp_path / "b")
    for page in ("index.html", "history.html"):
        assert (first / page).read_text() == (second / page).read_text(), page
    html = (first / "history.html").read_text()
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert html.count('<svg class="chart"') == 1  # one format, one trend chart
    chart = html[html.index("<svg"):html.index("</svg>")]
    assert "mean grade (failure = 0)" in chart and "run (oldest left, newest right)" in chart
    assert "abiword (6 docs)" in chart and "2 failed" in chart  # the newest run's crashes
    # The table under it lists the newest run first, with its failures.
    table = html[html.index('<table class="trend">'):]
    assert table.index("r1</span>") < table.index("r0</span>")
    assert "2 failed" in table[:table.index("r0</span>")]


def test_the_method_page_explains_signals_and_thresholds(tmp_path):
    store, _, _ = _store_with_results(tmp_path)
    out = build_report(store, None, tmp_path / "reports")
    assert 'href="method.html"' in (out / "index.html").read_text()
    method = (out / "method.html").read_text()
    assert "Area changed" in method and "≥ 98.0" in method and "≤ 0.3" in method
    assert "fewer than 30" in method and "README" not in method
    single = build_report(store, None, tmp_path / "reports", single_file=tmp_path / "one.html")
    text = single.read_text()
    assert 'id="method"' in text and 'href="#method"' in text


def test_a_document_page_labels_its_scores_against_the_rubric(tmp_path):
    store, good, _ = _store_with_results(tmp_path)
    out = build_report(store, None, tmp_path / "reports")
    html = (out / "documents" / f"{good.key}.html").read_text()
    assert html.index('<section class="pages">') < html.index('<section class="results">')
    scores = html[html.index('<table class="scores">'):]
    scores = scores[:scores.index("</table>")]
    assert "<td>words of the original found</td><td class=\"num\">96.0</td><td>%</td>" in scores
    assert "met ≥ 95.0 % for 4; missed ≥ 98.0 % for 5" in scores
    assert "structural checks passed</td><td class=\"num\">not measured" in scores
    assert "checks_passed" not in html and " = " not in scores
    assert "Text (4 of 5): the share of the original&#39;s words" in html


@given(st.floats(min_value=0, max_value=1))
def test_a_scores_own_grade_is_the_gradings(recall):
    from harness.grade import TEXT_RECALL_STEPS, step_grade
    from harness.report.explain import score_rows

    (row,) = score_rows({"text_recall": recall}, {"text": 0})
    assert row.grade == step_grade(recall, TEXT_RECALL_STEPS)
    assert row.threshold.startswith("met" if row.grade else "missed")
    assert ("missed" in row.threshold) == (row.grade < 5)


def test_rebuilding_an_older_run_leaves_latest_at_the_newest(tmp_path):
    """Found by a new user: `fidelity report OLD_RUN` pointed `latest` back at the old run."""
    from dataclasses import replace as _replace

    store, good, _ = _store_with_results(tmp_path)
    newer = _replace(store.run("r1"), id="r2", started_at="2026-01-02T00:00:00+00:00",
                     finished_at="2026-01-02T00:05:00+00:00")
    store.start_run(newer, [good])
    store.add_result("r2", _result("good.docx", "libreoffice", "ok", 5))
    reports = tmp_path / "reports"
    build_report(store, None, reports)
    assert (reports / "latest").resolve() == (reports / "r2").resolve()
    build_report(store, "r1", reports)
    assert (reports / "r1" / "index.html").is_file()
    assert (reports / "latest").resolve() == (reports / "r2").resolve()


def test_a_kept_suite_output_is_one_click_from_its_result(tmp_path):
    """A PDF kept because its result is below 5 is linked from the document page (a new
    user found it kept but linked nowhere); one the run did not keep is not linked."""
    store, good, _ = _store_with_results(tmp_path)
    pdf = artifacts_root(store.path) / "r1" / good.key / "abiword.pdf"
    pdf.write_bytes(b"%PDF-1.4 kept")
    store.add_result("r1", _result("good.docx", "abiword", "ok", 2,
                                   artifacts=Artifacts(pdf=f"{good.key}/abiword.pdf")))
    store.add_result("r1", _result("good.docx", "libreoffice", "ok", 3, task="save",
                                   artifacts=Artifacts(saved=f"{good.key}/gone.docx")))
    out = build_report(store, None, tmp_path / "reports")
    page = (out / "documents" / f"{good.key}.html").read_text()
    assert f'href="../pages/{good.key}/abiword.pdf"' in page
    assert (out / "pages" / good.key / "abiword.pdf").read_bytes() == b"%PDF-1.4 kept"
    assert "gone.docx" not in page  # named by the result, but not on disk: no dead link
