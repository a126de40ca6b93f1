"""Source truth: probes read back exactly as generated; malformed input is always a SourceError."""

import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import SourceError
from harness.truth import read_truth
from tests.conftest import PROBES, SHARED, needs_shared
from tests.hostile_files import SHEET, patched

PROBE_FILES = sorted(p for p in PROBES.iterdir() if not p.name.endswith(".json"))


@pytest.mark.parametrize("probe", PROBE_FILES, ids=lambda p: p.name)
def test_probe_truth_matches_its_expectation(probe: Path):
    expected = json.loads((probe.parent / f"{probe.name}.expected.json").read_text())
    truth = read_truth(probe, expected["format"])
    assert list(truth.text_blocks) == expected["text_blocks"]
    for fact, value in expected["facts"].items():
        assert truth.facts[fact] == value, fact
    assert truth.expected_pages == expected.get("expected_pages")


def test_hidden_slide_text_is_not_expected_on_screen():
    truth = read_truth(PROBES / "deck-features.pptx", "pptx")
    joined = " ".join(truth.text_blocks)
    assert "hidden" not in joined.lower()


def _claiming_word(tmp_path, pages: int, characters: int) -> Path:
    patched = tmp_path / f"claims-word-{pages}-{characters}.docx"
    with zipfile.ZipFile(PROBES / "word-features.docx") as src, \
            zipfile.ZipFile(patched, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/app.xml":
                data = (data.replace(b"fidelity-harness probe generator", b"Microsoft Office Word")
                        .replace(b"<Pages>1<", f"<Pages>{pages}<".encode())
                        .replace(b"<Characters>0<", f"<Characters>{characters}<".encode()))
            dst.writestr(item, data)
    return patched


def test_word_page_count_only_trusted_from_microsoft(tmp_path):
    assert read_truth(PROBES / "word-features.docx", "docx").expected_pages is None
    truth = read_truth(_claiming_word(tmp_path, 7, 20_000), "docx")
    assert truth.expected_pages == 7 and "Word" in truth.expected_pages_source


def test_an_impossible_word_page_count_is_ignored(tmp_path):
    truth = read_truth(_claiming_word(tmp_path, 1, 240_000), "docx")
    assert truth.expected_pages is None
    assert "stale" in truth.facts["word_page_count_ignored"]


def test_a_note_no_reference_points_at_is_not_expected(tmp_path):
    """Word shows a footnote only at its reference mark: one left behind in the notes part
    (its paragraph deleted) is on no page, and a suite must not be marked down for it."""
    with_note = read_truth(PROBES / "word-features.docx", "docx")
    assert with_note.facts["footnotes"] == 1
    orphaned = patched(tmp_path / "orphaned-note.docx", "word/document.xml",
                       lambda xml: xml.replace(b"<w:footnoteReference", b"<w:noteGone"))
    truth = read_truth(orphaned, "docx")
    assert truth.facts["footnotes"] == 0
    assert not [e for e in truth.shown if e.feature == "footnotes"]
    assert len(truth.text_blocks) == len(with_note.text_blocks) - 1


def test_zip_bomb_is_refused_before_inflating(tmp_path):
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (600 * 1024 * 1024))
    with pytest.raises(SourceError, match="zip bomb"):
        read_truth(bomb, "docx")


def test_external_entity_is_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    doc = patched(tmp_path / "xxe.docx", "word/document.xml", lambda xml: xml.replace(
        b"<w:document", f'<!DOCTYPE w [<!ENTITY x SYSTEM "file://{secret}">]><w:document'
        .encode(), 1).replace(b"Final paragraph", b"&x; Final paragraph"))
    try:
        truth = read_truth(doc, "docx")
    except SourceError:
        return
    assert "TOPSECRET" not in " ".join(truth.text_blocks)


@needs_shared
@pytest.mark.parametrize("path", sorted((SHARED / "_malformed").glob("*"))
                         if SHARED.is_dir() else [], ids=lambda p: p.name)
def test_malformed_files_read_or_fail_cleanly(path: Path):
    try:
        read_truth(path, path.suffix.lower().lstrip("."))
    except SourceError as exc:
        assert str(exc) and "\n" not in str(exc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=4096), fmt=st.sampled_from(["docx", "xlsx", "pptx", "doc"]))
def test_arbitrary_bytes_never_crash_a_reader(tmp_path_factory, data: bytes, fmt: str):
    path = tmp_path_factory.mktemp("fuzz") / f"input.{fmt}"
    path.write_bytes(data)
    try:
        read_truth(path, fmt)
    except SourceError:
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(min_value=0.0, max_value=0.99), fmt=st.sampled_from(["docx", "xlsx",
                                                                          "pptx"]))
def test_truncated_probes_never_crash_a_reader(tmp_path_factory, cut: float, fmt: str):
    source = next(p for p in PROBE_FILES if p.suffix == f".{fmt}")
    data = source.read_bytes()
    path = tmp_path_factory.mktemp("cut") / source.name
    path.write_bytes(data[: int(len(data) * cut)])
    try:
        read_truth(path, fmt)
    except SourceError:
        pass


def test_a_sheet_claiming_the_whole_grid_is_read_from_its_stored_cells(tmp_path):
    """A 5 KB workbook with cells at A1 and XFD1048576 once drove a worker to 14 GB."""
    import subprocess
    import sys

    import openpyxl

    path = tmp_path / "corners.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"], book.active["XFD1048576"] = "first corner", "last corner"
    book.save(path)
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30));"
              "from pathlib import Path; from harness.truth import read_truth;"
              f"t = read_truth(Path({str(path)!r}), 'xlsx'); print(len(t.text_blocks))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "2", out.stderr[-500:]


def test_macro_enabled_and_template_variants_are_read(tmp_path):
    import zipfile

    source = PROBES / "word-features.docx"
    target = tmp_path / "same.docm"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"wordprocessingml.document.main+xml",
                                    b"wordprocessingml.template.main+xml")
            dst.writestr(item, data)
    assert read_truth(target, "docm").text_blocks == read_truth(source, "docx").text_blocks


@needs_shared
def test_legacy_counts_come_from_microsoft_and_text_is_not_trusted():
    truth = read_truth(SHARED / "apache-poi" / "SampleShow.ppt", "ppt")
    assert truth.expected_pages == 2 and "PowerPoint" in truth.expected_pages_source
    assert truth.text_trusted is False
    word = read_truth(SHARED / "apache-poi" / "Lists.doc", "doc")
    assert word.expected_pages == 2 and "Word" in word.expected_pages_source


def _workbook_with_cells(target: Path, cells: int, prefix: str = "") -> Path:
    """The probe workbook with a first sheet storing exactly `cells` styled, empty cells."""
    p = f"{prefix}:" if prefix else ""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    ns = f'xmlns{":" + prefix if prefix else ""}="{main}"'
    rows = "".join(f'<{p}row r="{r + 1}">' + "".join(
        f'<{p}c r="A{r + 1}" s="0"/>' for _ in range(min(100, cells - r * 100))) + f"</{p}row>"
        for r in range((cells + 99) // 100))
    sheet = (f'<?xml version="1.0"?><{p}worksheet {ns}><{p}cols><{p}col min="1" max="1"/>'
             f"</{p}cols><{p}sheetData>{rows}</{p}sheetData></{p}worksheet>").encode()
    return patched(target, "xl/worksheets/sheet1.xml", lambda _: sheet, SHEET)


@pytest.mark.parametrize("cells, prefix", [(1, ""), (250_000, ""), (70_001, "x")])
def test_stored_cells_are_counted_across_chunks_and_prefixes(tmp_path, cells, prefix):
    from harness.truth.xlsx import stored_cells

    book = _workbook_with_cells(tmp_path / "cells.xlsx", cells, prefix)
    with zipfile.ZipFile(book) as archive:
        others = sum(archive.read(n).count(b"<c ") for n in archive.namelist()
                     if n.startswith("xl/worksheets/") and n != "xl/worksheets/sheet1.xml")
    assert stored_cells(book) == cells + others  # 250,000 cells span several 1 MiB chunks


def test_a_workbook_storing_too_many_cells_is_refused_as_too_large(tmp_path, monkeypatch):
    from harness.errors import SourceTooLarge
    from harness.truth import xlsx

    monkeypatch.setattr(xlsx, "MAX_STORED_CELLS", 1000)
    with pytest.raises(SourceTooLarge, match=r"stores 1,50\d cells"):
        read_truth(_workbook_with_cells(tmp_path / "big.xlsx", 1500), "xlsx")
    read_truth(_workbook_with_cells(tmp_path / "small.xlsx", 900), "xlsx")  # under: read


def test_numbers_print_as_excel_rounds_them_half_away_from_zero():
    from harness.truth.xlsx import number_displays

    assert number_displays(1.065, "0%") == ("107",)  # 106.49999... in binary floating point
    assert number_displays(2.5, "0") == ("3",)
    assert number_displays(-2.5, "0") == ("-3",)
    assert number_displays(1234.5, "#,##0") == ("1,235", "1235")


def test_a_range_of_hidden_columns_is_not_expected_on_the_page(tmp_path):
    """One <col min="2" max="4" hidden="1"> hides B:D; openpyxl keys it by B alone."""
    import openpyxl

    from harness.truth import read_truth

    book = openpyxl.Workbook()
    sheet = book.active
    for column in "ABCDE":
        sheet[f"{column}1"] = f"word{column}"
    sheet.column_dimensions.group("B", "D", hidden=True)
    book.save(tmp_path / "hidden.xlsx")
    truth = read_truth(tmp_path / "hidden.xlsx", "xlsx")
    shown = " ".join(t for e in truth.shown for t in e.texts) + " ".join(truth.text_blocks)
    assert "wordA" in shown and "wordE" in shown
    assert not any(w in shown for w in ("wordB", "wordC", "wordD"))
