"""`--limit N`: a sample stratified by format, references first, the same every time."""

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from harness.corpus import Document
from harness.corpus.sample import stratified_sample

FORMATS = ("docx", "doc", "xlsx", "pptx", "xls")


def _corpus(spec: list[tuple[str, bool, bool]]) -> list[Document]:
    """spec: (format, has a reference PDF, malformed) per document, named in order."""
    return [Document(corpus="c", root=Path("/nowhere"), relpath=f"{i:03d}.{fmt}", format=fmt,
                     size_bytes=1, sha256=f"{(i * 7919) % 1000:064d}",
                     reference_pdf=Path(f"/nowhere/{i:03d}.reference.pdf") if ref else None,
                     malformed=bad)
            for i, (fmt, ref, bad) in enumerate(spec)]


documents = st.lists(st.tuples(st.sampled_from(FORMATS), st.booleans(), st.booleans()),
                     min_size=1, max_size=60).map(_corpus)


@given(documents, st.integers(1, 70))
def test_a_sample_is_proportional_deterministic_and_prefers_references(docs, limit):
    sample = stratified_sample(docs, limit)
    taken = sample.documents
    assert len(taken) == min(limit, len(docs)) and sample.of == len(docs)
    again = stratified_sample(list(reversed(docs)), limit).documents  # order does not matter
    assert {d.relpath for d in taken} == {d.relpath for d in again}
    assert [d.relpath for d in taken] == sorted(d.relpath for d in taken)  # discovery order
    for fmt in FORMATS:
        pool = [d for d in docs if d.format == fmt]
        got = [d for d in taken if d.format == fmt]
        if pool:  # in proportion, to within one document
            assert abs(len(got) - len(taken) * len(pool) / len(docs)) < 1 + 1e-9
        if any(d.reference_pdf is None for d in got):  # references first
            assert all(d in got for d in pool if d.reference_pdf is not None)
    assert sum(sample.per_format.values()) == len(taken)


def test_the_alphabetically_first_broken_files_are_not_the_sample():
    spec = ([("docx", False, True)] * 6 + [("docx", True, False)] * 4
            + [("xlsx", False, False)] * 6 + [("pptx", True, False)] * 4)
    sample = stratified_sample(_corpus(spec), 10)
    assert sample.per_format == {"docx": 5, "pptx": 2, "xlsx": 3}
    docx = [d for d in sample.documents if d.format == "docx"]
    assert sum(1 for d in docx if d.reference_pdf) == 4 and sum(d.malformed for d in docx) == 1
    assert sample.describe().startswith("sampled 10 of 20 documents, stratified by format, "
                                        "references first")


def test_refused_documents_come_last_whatever_their_empty_hash():
    """Refused documents are never read, so their sha256 is "" and would sort first."""
    docs = _corpus([("docx", False, False)] * 3 + [("docx", False, True)] * 2
                   + [("docx", True, False)] * 2)
    refused = [Document(corpus="c", root=Path("/nowhere"), relpath=f"link-{i}.docx",
                        format="docx", size_bytes=0, sha256="",
                        reference_pdf=Path(f"/nowhere/link-{i}.reference.pdf") if i else None,
                        refused="links outside the corpus to /outside/secret.docx")
               for i in range(4)]
    everything = refused + docs
    for limit in range(1, len(docs) + 1):
        taken = stratified_sample(everything, limit).documents
        assert not any(d.refused for d in taken), limit
    taken = stratified_sample(everything, 5).documents
    assert sum(d.malformed for d in taken) == 0 and sum(1 for d in taken if d.reference_pdf) == 2
    assert sum(1 for d in stratified_sample(everything, 8).documents if d.refused) == 1
