"""A store the shape of a large night (scripts/synthetic_store.py), small enough for a test:
the report of a large run lists documents a page at a time and links only to pages that
exist; history and trends read outcomes (and SQL counts) and agree with reading every
result in full."""

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from harness.history import history, trends
from harness.history.compare import classify
from harness.report import build as report_build
from harness.store import Store
from tests.conftest import REPO

DOCUMENTS = 60


def _synthetic():
    spec = importlib.util.spec_from_file_location("synthetic_store",
                                                  REPO / "scripts" / "synthetic_store.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def store_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    figures = _synthetic().build(DOCUMENTS, out, seed=7, batch=25, with_pages=10)
    assert figures["results"] == DOCUMENTS * 5 * 4 * 2
    return out


def test_the_synthetic_store_holds_real_results_of_every_suite_and_task(store_folder):
    with Store(store_folder / "fidelity.sqlite") as store:
        runs = store.runs()
        assert [r.state for r in runs] == ["complete", "complete"]
        results = list(store.results(runs[-1].id))
    assert len(results) == DOCUMENTS * 20
    per_document = Counter((r.corpus, r.document) for r in results)
    assert set(per_document.values()) == {20}
    assert {r.suite for r in results} == {"libreoffice", "abiword", "gnumeric", "onlyoffice",
                                          "wps"}
    statuses = Counter(r.status for r in results)
    assert statuses["ok"] and statuses["unsupported"]
    assert len({r.grade for r in results if r.grade is not None}) >= 4
    assert any(r.show is not None and r.show.page_pairs for r in results)
    assert any(r.save is not None for r in results)


def test_history_from_outcomes_matches_history_from_full_results(store_folder):
    with Store(store_folder / "fidelity.sqlite") as store:
        first, second = store.runs()
        [*histories] = history(store, second.id)
        before = {(r.corpus, r.document, r.suite, r.task): r for r in store.results(first.id)}
        expected = Counter()
        for r in store.results(second.id):
            old = before.get((r.corpus, r.document, r.suite, r.task))
            expected[(r.suite, classify(old, r))] += 1
    for h in histories:
        assert h.previous_run_id == first.id
        for kind, count in h.counts.items():
            assert count == expected[(h.suite, kind)], (h.suite, kind)
    assert sum(h.counts["regression"] for h in histories) > 0


def test_trends_counted_in_sql_match_trends_read_result_by_result(store_folder, monkeypatch):
    with Store(store_folder / "fidelity.sqlite") as store:
        in_sql = [t.to_json() for t in trends(store)]
        monkeypatch.setattr(Store, "has_documents", lambda self, run_id: False)
        read = [t.to_json() for t in trends(store)]
    assert in_sql == read and len(in_sql) > 5


def _links(html: str) -> list[str]:
    return [h for h in re.findall(r'href="([^"#]+)(?:#[^"]*)?"', html)
            if not h.startswith(("http", "mailto"))]


def test_a_large_run_lists_documents_a_page_at_a_time_and_every_link_resolves(
        store_folder, monkeypatch, tmp_path):
    monkeypatch.setattr(report_build, "LARGE_RUN", 20)
    monkeypatch.setattr(report_build, "TABLE_PAGE", 25)
    with Store(store_folder / "fidelity.sqlite") as store:
        out = report_build.build_report(store, None, tmp_path)
        documents = store.documents(store.run().id)
    index = (out / "index.html").read_text()
    lists = sorted((out / "documents").glob("list-*.html"))
    assert len(lists) == -(-DOCUMENTS // 25)
    # the index holds no row per document: each is listed once, on one page of the list
    assert index.count('<tr id="') == 0
    listed = Counter(re.findall(r'<tr id="([^"]+)"', "".join(p.read_text() for p in lists)))
    assert set(listed) == {d["key"] for d in documents} and set(listed.values()) == {1}
    pages = {p.stem for p in (out / "documents").glob("*.html")} - {p.stem for p in lists}
    assert 0 < len(pages) < DOCUMENTS, "only documents with something to show have a page"
    linked = re.findall(r'<a class="doc" href="([^"]+)\.html"', "".join(p.read_text()
                                                                       for p in lists))
    assert {Path(h).name for h in linked} == pages, "a row links to a page only if it exists"
    # a page goes to each document with a result graded 3 or less or failed, and to those
    # the report names (linked from the index, a suite page or the history); page images
    # alone earn none, and only documents with a page have their images linked
    low = {d["key"] for d in documents if _worst_counted(store_folder, d) <= 3}
    named = {Path(h).stem for f in [out / "index.html", out / "history.html",
                                    *(out / "suites").glob("*.html")]
             for h in re.findall(r'href="(?:\.\./)?documents/([^"#/]+)\.html"',
                                 f.read_text()) if not h.startswith("list-")}
    assert low and low <= pages and pages <= low | named
    with_images = {p.name for p in (out / "pages").iterdir()} if (out / "pages").is_dir() \
        else set()
    assert with_images <= pages
    for html_file in [out / "index.html", out / "history.html", *lists,
                      *(out / "suites").glob("*.html"),
                      *list((out / "documents").glob("*.html"))[:10]]:
        for href in _links(html_file.read_text()):
            assert (html_file.parent / href).resolve().is_file(), (html_file.name, href)
    method = (out / "method.html").read_text()
    assert "Large runs" in method and f"{len(pages)} of its {DOCUMENTS} documents" in method
    exported = json.loads((out / "results.json").read_text())
    assert len(exported["results"]) == DOCUMENTS * 20
    assert len((out / "results.csv").read_text().splitlines()) == DOCUMENTS * 20 + 1


def _worst_counted(store_folder, doc) -> int:
    """The lowest grade a document's results count for (failures 0; 9: none counted)."""
    from harness.history.grades import counted_grade

    with Store(store_folder / "fidelity.sqlite") as store:
        grades = [counted_grade(r) for r in store.results(
            store.run().id, document=(doc["corpus"], doc["path"]), measures=False)]
    return min((g for g in grades if g is not None), default=9)


def test_a_large_run_gives_pages_to_the_worst_documents_up_to_a_cap(
        store_folder, monkeypatch, tmp_path):
    monkeypatch.setattr(report_build, "LARGE_RUN", 20)
    with Store(store_folder / "fidelity.sqlite") as store:
        out = report_build.build_report(store, None, tmp_path / "all")
        everyone = {p.stem for p in (out / "documents").glob("*.html")
                    if not p.stem.startswith("list-")}
        monkeypatch.setattr(report_build, "PAGED_AT_MOST", 1)  # below the named ones
        out = report_build.build_report(store, None, tmp_path / "capped")
        documents = store.documents(store.run().id)
    capped = {p.stem for p in (out / "documents").glob("*.html")
              if not p.stem.startswith("list-")}
    # the named documents keep their pages; no low-graded one is added beyond the cap
    named = {Path(h).stem for f in [out / "index.html", out / "history.html",
                                    *(out / "suites").glob("*.html")]
             for h in re.findall(r'href="(?:\.\./)?documents/([^"#/]+)\.html"',
                                 f.read_text()) if not h.startswith("list-")}
    assert capped == named and len(capped) < len(everyone) < len(documents)
    assert "at most 1 in all" in (out / "index.html").read_text()


def test_a_small_run_keeps_one_table_and_a_page_per_document(store_folder, tmp_path):
    with Store(store_folder / "fidelity.sqlite") as store:
        out = report_build.build_report(store, None, tmp_path)
    index = (out / "index.html").read_text()
    assert index.count('<tr id="') == DOCUMENTS
    assert not list((out / "documents").glob("list-*.html"))
    assert len(list((out / "documents").glob("*.html"))) == DOCUMENTS
    said = [p for p in (out / "documents").glob("*.html")
            if "No page image was kept for this document" in p.read_text()]
    assert said and not any((out / "pages" / p.stem).is_dir() for p in said)


def test_history_counted_in_sql_is_history_read_result_by_result(store_folder, monkeypatch):
    """Every figure: counts, each change in order, results gone, means, versions."""
    with Store(store_folder / "fidelity.sqlite") as store:
        counted = [h.to_json() for h in history(store)]
        monkeypatch.setattr(Store, "has_documents", lambda self, run_id: False)
        read = [h.to_json() for h in history(store)]
    assert counted == read
    assert any(h["changes"] for h in counted) and any(h["means"] for h in counted)
