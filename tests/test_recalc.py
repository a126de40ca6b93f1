"""Recalculation: a cached value that is wrong (=A1*2 cached as 999) survives a plain save in
LibreOffice, which trusts an OOXML cache by default, and is corrected by `save-recalc`.
Both are measured; the grade of each says which values it used."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

import renderers
from harness.compare import structure
from harness.corpus import discover
from harness.truth import read_truth
from renderers.base import Status, Task

from .conftest import needs_libreoffice, run_suite

EXCEL_APP = ("<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/"
             "extended-properties\"><Application>Microsoft Excel</Application>"
             "<AppVersion>16.0300</AppVersion></Properties>")


def stale_workbook(path: Path, by_excel: bool = True) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet["A1"] = 21
    sheet["B1"] = "=A1*2"
    sheet["A2"] = "Label"
    draft = path.with_suffix(".draft.xlsx")
    book.save(draft)
    with zipfile.ZipFile(draft) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info).decode("utf-8")
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(r"<f>A1\*2</f><v\s*/>|<f>A1\*2</f><v></v>|<f>A1\*2</f>",
                              "<f>A1*2</f><v>999</v>", data, count=1)
                assert "<v>999</v>" in data
            if info.filename == "docProps/app.xml" and by_excel:
                data = EXCEL_APP
            out.writestr(info, data)
    draft.unlink()
    return path


def _run(suite: str, task: Task, source: Path, tmp_path: Path) -> Path:
    outcome = run_suite(suite, task, source, tmp_path)
    assert outcome.status is Status.OK, outcome.message
    return outcome.output_path


def test_the_source_cache_is_read_as_written(tmp_path):
    truth = read_truth(stale_workbook(tmp_path / "stale.xlsx"), "xlsx")
    assert truth.cells["Data!B1"].value == 999 and truth.cells["Data!B1"].formula == "=A1*2"
    assert structure.cache_written_by_excel(truth)
    generated = read_truth(stale_workbook(tmp_path / "gen.xlsx", by_excel=False), "xlsx")
    assert not structure.cache_written_by_excel(generated)  # openpyxl's own stamp


@needs_libreoffice
@pytest.mark.parametrize("mode", ["persistent", "oneshot"])
def test_libreoffice_keeps_a_stale_cache_unless_forced_to_recalculate(tmp_path, monkeypatch,
                                                                      mode):
    monkeypatch.setenv("FIDELITY_LIBREOFFICE_MODE", mode)
    source = stale_workbook(tmp_path / "stale.xlsx")
    truth = read_truth(source, "xlsx")
    plain = read_truth(_run("libreoffice", Task.SAVE, source, tmp_path), "xlsx")
    forced = read_truth(_run("libreoffice", Task.SAVE_RECALC, source, tmp_path), "xlsx")
    assert plain.cells["Data!B1"].value == 999  # what a user gets by default
    assert forced.cells["Data!B1"].value == 42  # after recalculation
    assert all(c.passed for c in structure.save_checks(truth, plain))
    (check,) = structure.recalculated_checks(truth, forced)
    assert not check.passed and "Data!B1: 999 -> 42" in str(check.found)


def test_gnumeric_recalculates_when_asked(tmp_path):
    if not renderers.get("gnumeric").availability().available:
        pytest.skip("Gnumeric not installed here")
    source = stale_workbook(tmp_path / "stale.xlsx")
    forced = read_truth(_run("gnumeric", Task.SAVE_RECALC, source, tmp_path), "xlsx")
    assert forced.cells["Data!B1"].value == 42


def test_recalculation_is_refused_for_documents_that_are_not_workbooks(tmp_path):
    from tests.conftest import PROBES

    outcome = renderers.get("libreoffice").run(PROBES / "word-features.docx",
                                               Task.SAVE_RECALC, tmp_path, 60)
    assert outcome.status is Status.UNSUPPORTED and "save-recalc" in outcome.message


@needs_libreoffice
def test_the_sweep_grades_recalculation_only_against_excels_cache(tmp_path):
    from harness.pipeline import Job, run_job

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    stale_workbook(corpus / "excel.xlsx")
    stale_workbook(corpus / "generated.xlsx", by_excel=False)
    results = {}
    for document in discover([corpus], None):
        job = Job(document, "libreoffice", tmp_path / "artifacts", tmp_path / "scratch", 120,
                  task=Task.SAVE_RECALC.value)
        results[document.relpath] = run_job(job)
    assert results["excel.xlsx"].status == "ok" and results["excel.xlsx"].grade <= 1
    assert "against the values Excel cached" in results["excel.xlsx"].message
    assert results["generated.xlsx"].grade is None
    assert "not Microsoft Excel" in results["generated.xlsx"].message


@needs_libreoffice
def test_a_saved_workbook_too_large_to_check_is_ungraded_not_failed(tmp_path, monkeypatch):
    """A save bloated past what the harness reads (a suite styling whole rows out to XFD) may
    still open elsewhere: it is left unchecked, with the reason, not called broken."""
    from harness.pipeline import Job, run_job
    from harness.truth import xlsx

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    stale_workbook(corpus / "excel.xlsx")
    monkeypatch.setattr(xlsx, "MAX_STORED_CELLS", 1)  # every workbook is "too large" now
    [document] = discover([corpus], None)
    result = run_job(Job(document, "libreoffice", tmp_path / "artifacts", tmp_path / "scratch",
                         120, task=Task.SAVE.value))
    assert result.status == "ok" and result.grade is None, result.message
    assert "the saved .xlsx is too large to check" in result.message
    assert "harness reads workbooks of up to 1" in result.message
