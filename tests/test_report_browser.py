"""The report in a real browser: Debian's Chromium, driven by Playwright, opening the files
from disk. Any console error, page error, dialog or request that is not for a local file
fails the test. The report comes from a real sweep (LibreOffice, AbiWord's PDF standing in
as the reference so that pages differ, and a document with a hostile name and title)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROBES, REPO, needs_libreoffice

CHROMIUM = Path("/usr/bin/chromium")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None

pytestmark = [
    needs_libreoffice, pytest.mark.integration, pytest.mark.browser,
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed"),
    pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"Chromium not found at {CHROMIUM}"),
]

HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_NAME = "<img src=x onerror=alert(2)> report.docx"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _with_title(source: Path, target: Path, title: str) -> None:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = data.replace(b"<dc:title>Word features probe</dc:title>",
                                    f"<dc:title>{title.replace('<', '&lt;')}</dc:title>"
                                    .encode())
            copy.writestr(item, data)


def _fidelity(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600, env=dict(os.environ, CI=""))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(PROBES / "word-features.docx", corpus)
    shutil.copy(PROBES / "sheet-features.xlsx", corpus)
    _with_title(PROBES / "word-features.docx", corpus / HOSTILE_NAME, HOSTILE_TITLE)
    pdf = base / "abiword"
    subprocess.run(["abiword", "--to=pdf", f"--to-name={pdf}.pdf",
                    str(corpus / "word-features.docx")], capture_output=True, timeout=120,
                   check=True)
    shutil.move(f"{pdf}.pdf", corpus / "word-features.reference.pdf")
    # The reference stands in for Microsoft's: real pages from another suite, so that the
    # comparison finds real differences to overlay.
    out = base / "reports"
    for _ in range(2):  # two runs: the history has something to compare
        done = _fidelity("run", "--corpus", str(corpus), "--suite", "libreoffice",
                         "--suite", "msoffice", "--task", "show", "--task", "save",
                         "--out", str(out), "--jobs", "1", cwd=REPO)
        assert done.returncode == 0, done.stderr
    single = out / "single.html"
    done = _fidelity("report", "--out", str(out), "--single-file", str(single), cwd=REPO)
    assert done.returncode == 0, done.stderr
    return out, single


class Watched:
    """A page whose console errors, page errors, dialogs and requests are recorded."""

    def __init__(self, page):
        self.page, self.errors, self.requests, self.dialogs = page, [], [], []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def check(self):
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs
        outside = [u for u in self.requests if not u.startswith(("file://", "data:"))]
        assert not outside, outside


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    watched = Watched(context.new_page())
    yield watched
    watched.check()
    context.close()


def test_the_front_page_says_its_verdict_with_a_chart_and_warnings(report, page, tmp_path):
    out, _ = report
    page.page.goto((out / "latest" / "index.html").as_uri())
    page.page.wait_for_load_state("load")
    cards = page.page.locator("#verdicts div.verdict")
    assert cards.count() == 2  # .docx and .xlsx
    headlines = cards.locator(".headline").all_inner_texts()
    assert all("LibreOffice is the only suite measured" in h for h in headlines)
    assert "Microsoft" not in " ".join(headlines)  # the reference is no candidate
    docx = page.page.locator("#verdict-docx")
    assert docx.locator(".sentence").inner_text().startswith("For .docx, LibreOffice ")
    warning = docx.locator("ul.warning.evidence")
    assert warning.is_visible() and "Few documents: 2 of this format" in warning.inner_text()
    chart = docx.locator("svg.chart")
    assert chart.is_visible() and chart.bounding_box()["width"] > 300
    assert "LibreOffice" in chart.text_content() and "0 worst to 5 best" in chart.text_content()
    page.page.screenshot(path=str(tmp_path / "front.png"))
    # The suite that is only the reference has nothing to measure on a workbook: folded.
    folded = page.page.locator("#matrix td.notrun .folded").first
    assert folded.count() == 1 and folded.is_hidden()
    page.page.locator("#matrix input.fold-switch").check()
    assert folded.is_visible() and "unavailable" in folded.inner_text()
    page.page.locator("#matrix input.fold-switch").uncheck()
    assert folded.is_hidden()
    assert page.page.locator("#how-to-read a", has_text="method").count() == 1
    matrix = page.page.locator("#matrix table.matrix").first
    assert matrix.locator("th", has_text=".docx").count() == 1
    assert matrix.locator("td.g5, td.g4, td.g3, td.g2, td.g1, td.g0").count() >= 2
    features = page.page.locator("table.features tbody th").all_inner_texts()
    assert "table" in features and "formulas" in features
    assert page.page.locator("header nav a", has_text="History").count() == 1
    page.page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)


def test_a_document_page_switches_its_overlay(report, page, tmp_path):
    out, _ = report
    page.page.goto((out / "latest" / "index.html").as_uri())
    page.page.locator("#documents a.doc", has_text="word-features.docx").click()
    page.page.wait_for_load_state("load")
    assert "word-features.docx" in page.page.locator("h1").inner_text()
    image = page.page.locator("table.pages img.page-image[data-overlay]").first
    before = image.get_attribute("src")
    page.page.screenshot(path=str(tmp_path / "document.png"), full_page=True)
    page.page.locator("input.overlay-switch").check()
    after = image.get_attribute("src")
    assert after != before and after == image.get_attribute("data-overlay")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    page.page.screenshot(path=str(tmp_path / "overlay.png"), full_page=True)
    page.page.locator("input.overlay-switch").uncheck()
    assert image.get_attribute("src") == before
    assert page.page.locator("details.checks").count() >= 1
    # Pages come first, and can be enlarged: all with the slider, one with a click.
    assert page.page.locator("section.pages").bounding_box()["y"] < \
        page.page.locator("section.results").bounding_box()["y"]
    width = image.bounding_box()["width"]
    page.page.locator("input.page-zoom").fill("600")
    assert image.bounding_box()["width"] > 1.8 * width
    page.page.locator("input.page-zoom").fill("300")
    image.click()
    assert image.bounding_box()["width"] > 2 * width
    image.click()
    assert abs(image.bounding_box()["width"] - width) < 2
    # The scores as a labelled table, the limiting signal explained in words.
    scores = page.page.locator("details.measures table.scores").first
    assert scores.is_visible() and "rubric threshold" in scores.inner_text()
    assert page.page.locator("td.why .explained").first.inner_text()


def test_hostile_name_and_title_show_as_text(report, page):
    out, _ = report
    page.page.goto((out / "latest" / "index.html").as_uri())
    link = page.page.locator("#documents a.doc", has_text="onerror")
    assert HOSTILE_NAME in link.inner_text()
    assert HOSTILE_TITLE in page.page.locator("#documents").inner_text()
    link.click()
    page.page.wait_for_load_state("load")
    assert HOSTILE_TITLE in page.page.locator("dl.facts").inner_text()
    assert page.page.locator("main script, main img[src='x']").count() == 0


def test_suite_and_history_pages(report, page):
    out, _ = report
    page.page.goto((out / "latest" / "index.html").as_uri())
    page.page.locator("#run a", has_text="libreoffice").first.click()
    page.page.wait_for_load_state("load")
    assert page.page.locator("table.distribution tbody tr").count() == 2  # show and save
    page.page.locator("header nav a", has_text="History").click()
    page.page.wait_for_load_state("load")
    text = page.page.locator("article.history").inner_text()
    assert "Against run" in text and "0 regression(s)" in text
    assert page.page.locator("table.trend tbody tr").count() >= 2
    chart = page.page.locator("section.trend svg.chart").first
    assert chart.is_visible() and "mean grade (failure = 0)" in chart.text_content()
    box = chart.bounding_box()  # the newest run is on screen, not off to the right
    assert box["x"] + box["width"] <= page.page.viewport_size["width"]


def test_the_single_file_report_needs_nothing_else(report, page, tmp_path):
    _, single = report
    lone = tmp_path / "mailed.html"  # alone in its folder: nothing beside it to load
    shutil.copy(single, lone)
    page.page.goto(lone.as_uri())
    page.page.wait_for_load_state("load")
    assert set(page.requests) <= {lone.as_uri()} | {u for u in page.requests
                                                     if u.startswith("data:")}
    images = page.page.locator("img")
    assert images.count() > 0
    assert all(src.startswith("data:image/png") for src in
               images.evaluate_all("imgs => imgs.map(i => i.getAttribute('src'))"))
    page.page.locator("#documents a.doc", has_text="word-features.docx").click()
    assert page.page.evaluate("location.hash").startswith("#document-")
    page.page.locator("input.overlay-switch").first.check()
    assert page.page.locator("img.overlaid").count() >= 1


def test_the_report_prints(report, page, tmp_path):
    out, _ = report
    page.page.goto((out / "latest" / "index.html").as_uri())
    page.page.emulate_media(media="print")
    assert page.page.locator("header nav").is_hidden()
    pdf = tmp_path / "printed.pdf"
    page.page.pdf(path=str(pdf), format="A4", print_background=True)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
