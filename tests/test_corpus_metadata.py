"""The corpus manifest: adding documents with provenance, refusing what must be refused with
nothing written, and validation that notices every drift."""

import shutil
import subprocess
import sys

import pytest

from harness.corpus import discover
from harness.corpus.manifest import MANIFEST_NAME, load
from harness.corpus.metadata import add, validate
from harness.errors import CorpusError
from tests.conftest import PROBES, REPO, SHARED, needs_shared
from tests.fakes.outputs import write_pdf

WORD = PROBES / "word-features.docx"


def _snapshot(root):
    return sorted((p.relative_to(root).as_posix(), p.read_bytes()) for p in root.rglob("*")
                  if p.is_file())


def test_the_built_in_corpus_is_valid():
    assert validate(REPO / "corpus") == []


def test_add_copies_records_and_validates(tmp_path):
    reference = tmp_path / "ref.pdf"
    write_pdf(reference, ["reference"])
    [entry] = add(tmp_path / "c", [WORD], source="https://example.org/w.docx",
                  license="CC-BY-4.0", reference=reference, tags=("handpicked",))
    assert entry.path == "contributed/word-features.docx" and "table" in entry.features
    assert entry.reference["path"] == "contributed/word-features.reference.pdf"
    assert entry.tags == ("handpicked",)
    assert validate(tmp_path / "c") == []
    [doc] = discover([tmp_path / "c"])
    assert (doc.license, doc.source, doc.reference_pdf is not None) == (
        "CC-BY-4.0", "https://example.org/w.docx", True)


@pytest.mark.parametrize("case", ["duplicate", "no-licence", "not-spdx", "unreadable",
                                  "reference-not-pdf", "no-source"])
def test_refusals_write_nothing(case, tmp_path):
    root = tmp_path / "c"
    add(root, [PROBES / "deck-features.pptx"], source="generated", license="CC0-1.0")
    before = _snapshot(root)
    broken = tmp_path / "broken.docx"
    broken.write_bytes(WORD.read_bytes()[:500])
    not_pdf = tmp_path / "ref.pdf"
    not_pdf.write_text("not a pdf")
    args = {"duplicate": ([WORD, WORD], {}), "no-licence": ([WORD], {"license": ""}),
            "not-spdx": ([WORD], {"license": "Whatever-1"}), "unreadable": ([broken], {}),
            "reference-not-pdf": ([WORD], {"reference": not_pdf}),
            "no-source": ([WORD], {"source": " "})}[case]
    options = {"source": "generated", "license": "MIT", **args[1]}
    with pytest.raises(CorpusError, match="refused"):
        add(root, args[0], **options)
    assert _snapshot(root) == before


def test_a_malformed_file_is_accepted_when_said_so(tmp_path):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(WORD.read_bytes()[:500])
    [entry] = add(tmp_path / "c", [broken], source="generated", license="MIT", malformed=True)
    assert entry.malformed and "error:not-a-package" in entry.features


@needs_shared
def test_every_shared_malformed_file_goes_through_add(tmp_path):
    files = sorted((SHARED / "_malformed").iterdir())
    entries = add(tmp_path / "c", files, source="https://example.org", license="Apache-2.0",
                  malformed=True)
    assert len(entries) == len(files) and validate(tmp_path / "c") == []


def test_validate_notices_drift(tmp_path):
    root = tmp_path / "c"
    add(root, [WORD, PROBES / "deck-features.pptx"], source="generated", license="MIT")
    (root / "contributed" / "word-features.docx").write_bytes(b"changed")
    (root / "contributed" / "deck-features.pptx").unlink()
    shutil.copyfile(PROBES / "sheet-features.xlsx", root / "contributed" / "extra.xlsx")
    problems = "\n".join(validate(root))
    assert "sha256 differs" in problems and "file missing" in problems
    assert "extra.xlsx: in the corpus folder but not in corpus.toml" in problems
    (root / MANIFEST_NAME).write_text("schema_version = 1\n[[document]]\npath = 'x'\n")
    assert "missing keys" in validate(root)[0]


def test_cli_refuses_with_exit_5_and_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "harness", "corpus", "add", str(WORD),
                             "--source", "generated", "--corpus", str(tmp_path / "c")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 5 and "no licence" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "c").exists()


def test_manifest_round_trips(tmp_path):
    root = tmp_path / "c"
    added = add(root, [WORD], source="generated", license="MIT", notes="a note")
    assert load(root) == added


def test_a_manifest_tsv_corpus_is_validated_too(tmp_path):
    shutil.copyfile(WORD, tmp_path / "a.docx")
    shutil.copyfile(WORD, tmp_path / "b.docx")
    (tmp_path / "MANIFEST.tsv").write_text(
        "path\tlicense\tsha256\n"
        f"a.docx\tMIT\t{'0' * 64}\n"
        "b.docx\t\t\n")
    problems = "\n".join(validate(tmp_path))
    assert "a.docx: sha256 differs" in problems and "b.docx: no licence" in problems
