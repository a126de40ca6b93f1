"""The grade picker in a real browser (Debian's Chromium driven by Playwright, the report
opened from disk, as in test_report_browser.py): a person picks grades on a document page
and exports them as a ratings file that `fidelity agreement` reads back; the method section
shows the figures. Any console error, page error, dialog or request leaving the machine
fails the test."""

from __future__ import annotations

import pytest

from harness.report.agreement import read_ratings
from harness.report import build_report
from harness.store import Store
from tests.test_agreement import _store
# The report tests' browser (Debian's Chromium, one per module) and page watcher.
from tests.test_report_browser import CHROMIUM, Watched, browser, sync_playwright  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed"),
    pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"Chromium not found at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("agreement-browser")
    store_path, corpus = _store(base)
    with Store(store_path) as store:
        out = build_report(store, None, base / "reports")
        single = build_report(store, None, base / "reports", single_file=base / "one.html")
    return out, single, corpus


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)
    yield context
    context.close()


def test_a_person_picks_grades_and_exports_a_ratings_file(report, context, tmp_path):
    out, _, _ = report
    page = Watched(context.new_page())
    page.page.goto((out / "index.html").as_uri())
    page.page.locator("#documents a.doc", has_text="b.docx").click()
    page.page.wait_for_load_state("load")
    pickers = page.page.locator("select.rate-grade")
    assert pickers.count() == 1  # the crashed save has no grade to pick beside
    assert "people gave: 1 (ana)" in page.page.locator("td.rate").first.inner_text()
    button = page.page.locator("button.rate-export-button")
    status = page.page.locator(".rate-status")
    button.click()  # nothing picked, no name: says what is missing, downloads nothing
    assert "name" in status.inner_text()
    page.page.locator("input.rate-rater").fill("Dana\tQ")
    button.click()
    assert "Pick a grade" in status.inner_text()
    pickers.first.select_option("2")
    page.page.locator("input.rate-note").first.fill("table\tborders lost")
    with page.page.expect_download() as download:
        button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("ratings-b-") and saved.suffix == ".tsv"
    assert saved.read_text() == ("document\tsuite\ttask\tgrade\trater\tnote\n"
                                 "b.docx\tlibreoffice\tshow\t2\tDana Q\ttable borders lost\n")
    assert "1 grade(s) exported" in status.inner_text()
    [rating] = read_ratings(saved).ratings
    assert (rating.document, rating.suite, rating.task, rating.grade, rating.rater) == (
        "b.docx", "libreoffice", "show", 2, "Dana Q")
    page.page.screenshot(path=str(tmp_path / "picker.png"), full_page=True)
    page.page.reload()  # the name is remembered, the grades are not
    assert page.page.locator("input.rate-rater").input_value() == "Dana Q"
    assert page.page.locator("select.rate-grade").first.input_value() == ""
    page.check()


def test_a_hostile_document_name_is_exported_as_it_is(report, context, tmp_path):
    out, _, _ = report
    page = Watched(context.new_page())
    page.page.goto((out / "index.html").as_uri())
    page.page.locator("#documents a.doc", has_text="onerror").click()
    page.page.wait_for_load_state("load")
    page.page.locator("input.rate-rater").fill("ana")
    page.page.locator("select.rate-grade").first.select_option("0")
    with page.page.expect_download() as download:
        page.page.locator("button.rate-export-button").click()
    saved = tmp_path / "hostile.tsv"
    download.value.save_as(saved)
    [rating] = read_ratings(saved).ratings
    assert rating.document == "<img src=x onerror=alert(1)>.docx" and rating.grade == 0
    assert page.page.locator("main img").count() == 0
    page.check()


def test_the_method_section_shows_the_agreement(report, context):
    out, _, _ = report
    page = Watched(context.new_page())
    page.page.goto((out / "index.html").as_uri())
    section = page.page.locator("#agreement")
    rows = section.locator("table.agreement tbody tr").all_inner_texts()
    assert [r.split("\t")[:3] for r in rows] == [[".docx", "libreoffice", "3"],
                                                 [".xlsx", "libreoffice", "1"]]
    assert section.locator("table.agreement tfoot").inner_text().startswith("all\tall\t4")
    section.locator("table.far-apart a", has_text="b.docx").click()
    page.page.wait_for_load_state("load")
    assert "b.docx" in page.page.locator("h1").inner_text()
    page.check()


def test_the_single_file_exports_the_grades_of_its_own_document(report, context, tmp_path):
    _, single, _ = report
    page = Watched(context.new_page())
    page.page.goto(single.as_uri())
    page.page.locator("#documents a.doc", has_text="a.docx").click()
    article = page.page.locator(page.page.evaluate("location.hash") + " article")
    article.locator("input.rate-rater").fill("ana")
    article.locator("select.rate-grade").first.select_option("4")
    with page.page.expect_download() as download:
        article.locator("button.rate-export-button").click()
    saved = tmp_path / "single.tsv"
    download.value.save_as(saved)
    assert [r.document for r in read_ratings(saved).ratings] == ["a.docx"]
    page.check()
