"""Corpus discovery: any folder, MANIFEST provenance, the reference convention."""

import pytest

from harness.corpus import discover
from harness.errors import UsageError
from tests.conftest import SHARED, needs_shared


def test_finds_office_documents_and_their_references(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "report.docx").write_bytes(b"one")
    (tmp_path / "b" / "report.docx").write_bytes(b"two")  # same stem, other folder
    (tmp_path / "a" / "report.reference.pdf").write_bytes(b"%PDF")
    (tmp_path / "a" / "Legacy.DOC").write_bytes(b"three")
    (tmp_path / "notes.txt").write_text("not a document")
    (tmp_path / "MANIFEST.tsv").write_text("path\tlicense\tsource_repo\n"
                                           "a/report.docx\tCC0-1.0\texample/repo\n")
    docs = discover([tmp_path])
    assert [d.relpath for d in docs] == ["a/Legacy.DOC", "a/report.docx", "b/report.docx"]
    legacy, first, second = docs
    assert legacy.format == "doc" and legacy.family == "word"
    assert first.reference_pdf == tmp_path / "a" / "report.reference.pdf"
    assert second.reference_pdf is None
    assert first.license == "CC0-1.0" and first.source == "example/repo"
    assert first.key != second.key and first.sha256 != second.sha256


def test_two_corpora_with_the_same_name_get_distinct_labels(tmp_path):
    for side in ("x", "y"):
        (tmp_path / side / "corpus").mkdir(parents=True)
        (tmp_path / side / "corpus" / "d.xlsx").write_bytes(side.encode())
    docs = discover([tmp_path / "x" / "corpus", tmp_path / "y" / "corpus"])
    assert sorted(d.corpus for d in docs) == ["corpus", "corpus-2"]


def test_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        discover([tmp_path / "absent"])


@needs_shared
def test_shared_corpus_references_and_licences():
    docs = discover([SHARED])
    assert len(docs) > 250
    with_reference = [d for d in docs if d.reference_pdf]
    assert len(with_reference) == 30
    assert all(d.license for d in docs)
