"""`fidelity compare` on real files: the JSON it promises, diff images, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import PROBES, SHARED, needs_libreoffice, needs_shared
from tests.test_cli import fidelity

GOLDEN = SHARED / "office2pdf-golden"


@needs_shared
def test_identical_pdfs_grade_five(tmp_path):
    pdf = GOLDEN / "05_technical_manual_en.reference.pdf"
    result = fidelity("compare", str(pdf), str(pdf), "--json", "--diff", str(tmp_path / "d"))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["grade"] == 5 and out["score"] == pytest.approx(1.0)
    assert out["page_count"] == {"reference": 2, "candidate": 2}
    assert [(p["reference_page"], p["candidate_page"]) for p in out["pages"]] == [(1, 1), (2, 2)]
    assert all(p["ssim"] == 1.0 and p["distance_mm"] == 0.0 for p in out["pages"])
    assert out["text_similarity"] == 1.0 and out["fonts"]["substituted"] == {}
    images = sorted((tmp_path / "d").iterdir())
    assert len(images) == 2 and out["diff_images"] == [str(p) for p in images]
    colours = Image.open(images[0]).convert("RGB").getcolors(1 << 20)
    assert all(r == g == b for _, (r, g, b) in colours)  # identical: no red, no blue


@needs_shared
def test_unrelated_documents_grade_one_or_less():
    result = fidelity("compare", str(GOLDEN / "05_technical_manual_en.reference.pdf"),
                      str(GOLDEN / "09_offer_letter_en.reference.pdf"), "--json")
    out = json.loads(result.stdout)
    assert out["grade"] <= 1 and out["score"] < 0.3


@needs_libreoffice
@needs_shared
def test_an_office_document_is_rendered_by_the_suite_first(tmp_path):
    document = GOLDEN / "04_resume_en.docx"
    result = fidelity("compare", str(GOLDEN / "04_resume_en.reference.pdf"), str(document),
                      "--suite", "libreoffice", "--diff", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("grade ") and "fonts substituted" in result.stdout
    diff = Image.open(next(tmp_path.iterdir())).convert("RGB")
    colours = {c for _, c in diff.getcolors(1 << 20)}
    assert any(r > 200 and g < 80 and b < 80 for r, g, b in colours)  # reference-only ink


@needs_libreoffice
def test_office_document_on_both_sides_asks_for_its_own_fonts(tmp_path):
    probe = PROBES / "word-features.docx"
    result = fidelity("compare", str(probe), str(probe), "--json")
    out = json.loads(result.stdout)
    assert out["grade"] == 5
    assert "Calibri" in out["fonts"]["asked"]
    assert out["fonts"]["substituted"].get("Calibri") == "Carlito"


def test_missing_input_is_a_usage_error(tmp_path):
    result = fidelity("compare", str(tmp_path / "absent.pdf"), str(tmp_path / "other.pdf"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_unreadable_pdf_exits_6_in_one_line(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not a PDF body")
    result = fidelity("compare", str(broken), str(broken))
    assert result.returncode == 6 and "cannot read broken.pdf" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_suite_for_a_document_is_a_usage_error(tmp_path):
    result = fidelity("compare", str(PROBES / "word-features.docx"),
                      str(PROBES / "word-features.docx"), "--suite", "wordperfect")
    assert result.returncode == 2 and "unknown suite" in result.stderr


def test_a_suite_that_cannot_render_exits_6(tmp_path):
    result = fidelity("compare", str(PROBES / "word-features.docx"),
                      str(PROBES / "word-features.docx"), "--suite", "gnumeric")
    assert result.returncode == 6 and "gnumeric did not render" in result.stderr


@needs_libreoffice
@needs_shared
def test_calibrate_measures_the_noise_floor_on_one_document():
    result = fidelity("calibrate", "--corpus", str(SHARED), "--limit", "1", "--json")
    assert result.returncode == 0, result.stderr
    (run,) = json.loads(result.stdout)
    summary = run["summary"]
    assert summary["twice"]["ssim_min"] == 1.0  # LibreOffice renders the same PDF twice
    assert summary["rasterisers"]["grades"] == {"5": 1}  # noise stays within a 5
    assert summary["degraded"]["area_changed_max"] > 0  # a lost block is seen
    assert run["speed"]["total_ms_per_page"] > 0 and not run["skipped"]


def test_calibrate_without_references_has_nothing_to_do(tmp_path):
    result = fidelity("calibrate", "--corpus", str(PROBES.parent))
    assert result.returncode == 3 and "no document with a Microsoft reference" in result.stderr
