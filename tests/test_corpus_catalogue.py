"""The catalogue keeps what a corpus holds honest: reference PDFs are hashed and checked,
a swept sub-folder finds its corpus's MANIFEST.tsv higher up, and a mistyped licence is
refused with the SPDX id it most likely meant."""

import shutil
import subprocess
import sys

import pytest

from harness.corpus import discover
from harness.corpus.manifest import load
from harness.corpus.metadata import add, license_problem, nearest_license, save, validate
from harness.errors import CorpusError
from tests.conftest import PROBES, REPO, SHARED, needs_shared
from tests.fakes.outputs import write_pdf

WORD = PROBES / "word-features.docx"
SHEET = PROBES / "sheet-features.xlsx"


def _corpus_with_references(tmp_path):
    root = tmp_path / "c"
    for document, words in ((WORD, "word"), (SHEET, "sheet")):
        reference = tmp_path / f"{words}.pdf"
        write_pdf(reference, [f"{words} reference"])
        add(root, [document], source="generated", license="CC0-1.0", reference=reference)
    return root


def _validate_cli(root):
    return subprocess.run([sys.executable, "-m", "harness", "corpus", "validate", "--corpus",
                           str(root)], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_adding_a_document_records_its_reference_pdf_hash(tmp_path):
    root = _corpus_with_references(tmp_path)
    recorded = {e.path: e.reference for e in load(root)}
    word = recorded["contributed/word-features.docx"]
    assert len(word["sha256"]) == 64
    assert word["sha256"] != recorded["contributed/sheet-features.xlsx"]["sha256"]
    assert validate(root) == []


def test_a_swapped_reference_pdf_fails_validation(tmp_path):
    root = _corpus_with_references(tmp_path)
    folder = root / "contributed"
    shutil.copyfile(folder / "sheet-features.reference.pdf",
                    folder / "word-features.reference.pdf")
    assert validate(root) == ["contributed/word-features.docx: reference PDF "
                              "contributed/word-features.reference.pdf: sha256 differs from "
                              "the manifest's"]
    result = _validate_cli(root)
    assert result.returncode == 5 and "Traceback" not in result.stderr
    assert result.stdout.count("sha256 differs") == 1


def test_a_missing_or_unhashed_reference_pdf_fails_validation(tmp_path):
    root = _corpus_with_references(tmp_path)
    (root / "contributed" / "sheet-features.reference.pdf").unlink()
    entries = load(root)
    save(root, [e if "word" not in e.path else
                type(e)(**{**e.__dict__, "reference": {"path": e.reference["path"]}})
                for e in entries])
    problems = validate(root)
    assert problems == [
        "contributed/sheet-features.xlsx: reference PDF contributed/sheet-features.reference.pdf"
        " missing",
        "contributed/word-features.docx: reference PDF contributed/word-features.reference.pdf"
        " has no sha256 recorded"]
    assert _validate_cli(root).returncode == 5


def test_a_reference_pdf_nobody_recorded_fails_validation(tmp_path):
    root = tmp_path / "c"
    add(root, [WORD], source="generated", license="CC0-1.0")
    write_pdf(root / "contributed" / "word-features.reference.pdf", ["slipped in"])
    assert validate(root) == ["contributed/word-features.docx: reference PDF contributed/"
                              "word-features.reference.pdf is not recorded (record it: "
                              "`fidelity corpus add` the document again with --reference)"]
    # doing as told records it, and the corpus is valid again
    (entry,) = add(root, [WORD], source="generated", license="CC0-1.0",
                   reference=root / "contributed" / "word-features.reference.pdf")
    assert entry.path == "contributed/word-features.docx" and len(entry.reference["sha256"]) == 64
    assert validate(root) == [] and len(load(root)) == 1


def test_a_document_already_in_the_corpus_gains_a_reference_but_never_swaps_one(tmp_path):
    root = tmp_path / "c"
    add(root, [WORD], source="generated", license="CC0-1.0")
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    write_pdf(first, ["the Word export"])
    write_pdf(second, ["another document's export"])
    (entry,) = add(root, [WORD], source="generated", license="CC0-1.0", reference=first)
    assert (root / entry.reference["path"]).read_bytes() == first.read_bytes()
    with pytest.raises(CorpusError, match="already has a reference PDF"):
        add(root, [WORD], source="generated", license="CC0-1.0", reference=second)
    assert (root / entry.reference["path"]).read_bytes() == first.read_bytes()
    assert validate(root) == []


def test_a_sub_folder_finds_the_manifest_tsv_of_a_parent(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "golden" / "deep").mkdir(parents=True)
    (corpus / "other").mkdir()
    shutil.copyfile(WORD, corpus / "golden" / "deep" / "a.docx")
    shutil.copyfile(SHEET, corpus / "golden" / "b.xlsx")
    # A nearer manifest that lists nothing below the swept folder does not hide the corpus's.
    (corpus / "golden" / "MANIFEST.tsv").write_text("path\tlicense\tsource_repo\n"
                                                    "elsewhere.docx\tMIT\tx/y\n")
    (corpus / "MANIFEST.tsv").write_text(
        "path\tsource_repo\tlicense\tnotes\n"
        "golden/deep/a.docx\tacme/word\tApache-2.0\t\n"
        "golden/b.xlsx\tacme/sheet\tMIT\t\n"
        "other/c.docx\tacme/other\tCC0-1.0\t\n")
    found = {d.relpath: (d.license, d.source) for d in discover([corpus / "golden" / "deep"])}
    assert found == {"a.docx": ("Apache-2.0", "acme/word")}
    found = {d.relpath: (d.license, d.source) for d in discover([corpus / "golden"])}
    assert found == {"deep/a.docx": ("Apache-2.0", "acme/word"),
                     "b.xlsx": ("MIT", "acme/sheet")}


@needs_shared
def test_the_shared_golden_folder_takes_provenance_from_the_corpus_manifest():
    rows = {}
    for line in (SHARED / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        path, source, *_ = line.split("\t")
        rows[path] = source
    documents = discover([SHARED / "office2pdf-golden"])
    assert documents and all(d.license and d.source == rows[f"office2pdf-golden/{d.relpath}"]
                             for d in documents)


def test_a_folder_with_no_manifest_above_has_no_provenance(tmp_path):
    (tmp_path / "loose").mkdir()
    shutil.copyfile(WORD, tmp_path / "loose" / "a.docx")
    [doc] = discover([tmp_path / "loose"])
    assert (doc.license, doc.source) == (None, None)


@pytest.mark.parametrize("written, meant", [
    ("Apache 2", "Apache-2.0"), ("MIT License", "MIT"), ("CC BY 4.0", "CC-BY-4.0"),
    ("cc0", "CC0-1.0"), ("GPLv3", "GPL-3.0-only"), ("CC BY-SA 4.0", "CC-BY-SA-4.0")])
def test_a_mistyped_licence_gets_the_nearest_spdx_id(written, meant):
    assert nearest_license(written) == meant
    assert license_problem(written).endswith(
        f"unknown licence {written!r}; did you mean {meant}?")


def test_only_the_unknown_operand_of_an_expression_gets_a_suggestion():
    assert license_problem("MIT AND Apache 2") == (
        "licence 'MIT AND Apache 2' is not an SPDX expression: unknown licence 'Apache 2'; "
        "did you mean Apache-2.0?")
    assert license_problem("Apache-2.0 OR MIT") is None
    assert "did you mean" not in license_problem("zzzz qqqq")


def test_add_refuses_a_mistyped_licence_with_the_suggestion(tmp_path):
    with pytest.raises(CorpusError, match=r"did you mean Apache-2\.0\?"):
        add(tmp_path / "c", [WORD], source="generated", license="Apache 2")
    assert not (tmp_path / "c").exists()


BROKEN_MANIFESTS = {
    "a TSV without a path column": ("MANIFEST.tsv", "name\tlicense\ngolden/a.docx\tMIT\n"),
    "a TSV that is no UTF-8": ("MANIFEST.tsv", b"path\tlicense\n\xff\xfe\x00a.docx\n"),
    "TOML that does not parse": ("corpus.toml", "schema_version = 1\n[[document]]\nbad"),
    "TOML missing keys": ("corpus.toml", 'schema_version = 1\n[[document]]\npath = "x"\n'),
}


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


@pytest.mark.parametrize("broken", sorted(BROKEN_MANIFESTS))
def test_a_broken_manifest_above_never_breaks_discovery_below(tmp_path, broken):
    name, content = BROKEN_MANIFESTS[broken]
    top = tmp_path / "top"
    (top / "mid" / "golden").mkdir(parents=True)
    shutil.copyfile(WORD, top / "mid" / "golden" / "a.docx")
    _write(top / "mid" / name, content)  # the nearest manifest cannot be read
    [doc] = discover([top / "mid" / "golden"])
    assert (doc.relpath, doc.license, doc.source) == ("a.docx", None, None)
    # a readable manifest further up that lists the document still gives its provenance
    (top / "MANIFEST.tsv").write_text("path\tlicense\tsource_repo\n"
                                      "mid/golden/a.docx\tMIT\tacme/word\n")
    [doc] = discover([top / "mid" / "golden"])
    assert (doc.license, doc.source) == ("MIT", "acme/word")


@pytest.mark.parametrize("broken", sorted(BROKEN_MANIFESTS))
def test_a_broken_manifest_in_the_swept_folder_is_reported(tmp_path, broken):
    name, content = BROKEN_MANIFESTS[broken]
    root = tmp_path / "c"
    root.mkdir()
    shutil.copyfile(WORD, root / "a.docx")
    _write(root / name, content)
    (tmp_path / "MANIFEST.tsv").write_text("path\tlicense\n")  # readable, lists nothing here
    with pytest.raises(CorpusError, match=name.replace(".", r"\.")):
        discover([root])
    result = _validate_cli(root)
    assert result.returncode not in (0, 70) and "Traceback" not in result.stderr
    assert name in result.stdout + result.stderr
