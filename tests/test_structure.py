"""Structural checks: every known fact of every probe is found on the original, and a probe
altered on purpose loses exactly the checks it should, and no other."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from harness.compare import structure
from harness.compare.rendering import load
from harness.compare.text import pdf_text, tokens
from harness.truth import read_truth
from renderers.base import Status, Task

from .conftest import PROBES, needs_libreoffice, run_suite

PROBE_FILES = sorted(p for p in PROBES.iterdir() if p.suffix in (".docx", ".xlsx", ".pptx"))


def _expected(probe: Path) -> dict:
    return json.loads(probe.with_name(probe.name + ".expected.json").read_text())


@pytest.mark.parametrize("probe", PROBE_FILES, ids=lambda p: p.name)
def test_every_known_fact_of_a_probe_is_found_on_the_original(probe: Path):
    truth = read_truth(probe, probe.suffix[1:])
    expected = _expected(probe)
    read_words = set(tokens(" ".join(truth.text_blocks)))
    for block in expected["text_blocks"]:
        assert set(tokens(block)) <= read_words, block
    hidden = " ".join(t for e in truth.hidden for t in e.texts)
    for block in expected.get("hidden_text", []):
        assert " ".join(tokens(block)) in " ".join(tokens(hidden)), block
    for key, value in expected.get("facts", {}).items():
        assert truth.facts[key] == value, key
    for cell, value in expected.get("cached_values", {}).items():
        assert truth.cells[cell].value == pytest.approx(value), cell
    for cell, formula in expected.get("formulas", {}).items():
        assert truth.cells[cell].formula == formula, cell
    for cell, number_format in expected.get("number_formats", {}).items():
        assert truth.cells[cell].number_format == number_format, cell
    checks = structure.save_checks(truth, truth)  # the original against itself
    assert checks and all(c.passed for c in checks), [c for c in checks if not c.passed]


def _altered(probe: Path, target: Path, part: str, edit) -> Path:
    with zipfile.ZipFile(probe) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == part:
                changed = edit(data.decode("utf-8"))
                assert changed != data.decode("utf-8"), f"the edit did not change {part}"
                data = changed.encode("utf-8")
            out.writestr(info, data)
    return target


def _failed(probe: Path, altered: Path) -> set[str]:
    source = read_truth(probe, probe.suffix[1:])
    saved = read_truth(altered, probe.suffix[1:])
    return {c.feature for c in structure.save_checks(source, saved) if not c.passed}


ALTERATIONS = [
    ("word-features.docx", "word/footnotes.xml",
     lambda x: re.sub(r"<w:footnote w:id=\"1\">.*?</w:footnote>", "", x, flags=re.S),
     {"footnotes"}),
    ("word-review.docx", "word/comments.xml",
     lambda x: re.sub(r"<w:comment .*?</w:comment>", "", x, flags=re.S), {"comments"}),
    ("sheet-features.xlsx", "xl/worksheets/sheet1.xml",
     lambda x: x.replace("<v>12.75</v>", "<v>99</v>"), {"cached-values"}),
    ("sheet-features.xlsx", "xl/worksheets/sheet1.xml",
     lambda x: x.replace("<f>SUM(B2:B4)</f>", "<f>SUM(B2:B3)</f>"), {"formulas"}),
    ("sheet-features.xlsx", "xl/worksheets/sheet1.xml",
     lambda x: re.sub(r"<mergeCells.*?</mergeCells>", "", x, flags=re.S), {"merged-cells"}),
    ("sheet-analysis.xlsx", "xl/workbook.xml",
     lambda x: x.replace('state="hidden"', ""), {"hidden-sheets"}),
    ("deck-motion.pptx", "ppt/notesSlides/notesSlide1.xml",
     lambda x: x.replace("Speaker notes stay off the slide", ""), {"notes"}),
]


@pytest.mark.parametrize("name, part, edit, lost", ALTERATIONS,
                         ids=[f"{a[0]}-{sorted(a[3])[0]}" for a in ALTERATIONS])
def test_an_altered_probe_loses_exactly_the_checks_it_should(tmp_path, name, part, edit, lost):
    probe = PROBES / name
    altered = _altered(probe, tmp_path / name, part, edit)
    assert _failed(probe, altered) == lost


def test_number_displays_follow_the_format():
    from harness.truth.xlsx import number_displays

    assert number_displays(0.3, "0.0%") == ("30.0",)
    assert number_displays(1234.5, '#,##0.00 "€"') == ("1,234.50", "1234.50")
    assert "12.33" in number_displays(12.3333, "General")
    assert "10" in number_displays(10, "General") and "1" not in number_displays(10, "General")
    assert "2.19E+09" in number_displays(2187499999.35, "General")
    assert number_displays(45000, "yyyy-mm-dd") == ()
    accounting = '_("$"* #,##0.00_);_("$"* \\(#,##0.00\\);_("$"* "-"??_);_(@_)'
    assert number_displays(0, accounting) == ()  # zero prints as a dash
    assert number_displays(-12.5, accounting) == ("12.50",)
    assert number_displays(3859.62, accounting) == ("3,859.62", "3859.62")


@needs_libreoffice
def test_show_checks_on_a_real_rendering_lose_exactly_what_was_taken(tmp_path):
    probe = PROBES / "word-review.docx"
    outcome = run_suite("libreoffice", Task.SHOW, probe, tmp_path)
    assert outcome.status is Status.OK
    truth = read_truth(probe, "docx")
    rendering = load(outcome.output_path)
    text = pdf_text(outcome.output_path)
    checks = structure.show_checks(truth, rendering, text)
    assert {c.feature for c in checks} >= {"table", "nested-tables", "text-boxes", "endnotes",
                                          "equation", "tracked-changes"}
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]
    # The endnote and the text box taken out of the page: exactly those two fail.
    taken = text.replace("Endnote text written as a raw part.", "").replace(
        "Words inside a text box", "")
    failed = {c.label.split(":")[0] for c in structure.show_checks(truth, rendering, taken)
              if not c.passed}
    assert failed == {"endnote 1", "text box 1"}


@needs_libreoffice
def test_a_hidden_slide_printed_fails_its_check(tmp_path):
    probe = PROBES / "deck-features.pptx"
    outcome = run_suite("libreoffice", Task.SHOW, probe, tmp_path)
    truth = read_truth(probe, "pptx")
    rendering = load(outcome.output_path)
    text = pdf_text(outcome.output_path)
    assert all(c.passed for c in structure.show_checks(truth, rendering, text))
    leaked = text + "\nHidden slide title This slide is hidden and must not be shown"
    failed = [c.feature for c in structure.show_checks(truth, rendering, leaked)
              if not c.passed]
    assert failed == ["hidden-slides"]
