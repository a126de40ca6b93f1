"""`--limit N`: a small sweep that still says something about every format.

The alphabetically first N files of a corpus are mostly one format, and often the broken
ones (names like `000-truncated.docx`), none with a reference PDF. A sample instead takes
from each format in proportion to its share of the corpus, and within a format the
documents with a Microsoft reference PDF first, documents marked malformed after the rest,
documents discovery refused (never read) last, the rest in the order of their content hash:
the same corpus gives the same sample on every machine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from harness.corpus.discover import Document


@dataclass(frozen=True)
class Sample:
    documents: list[Document]  # in discovery order (corpus, then path)
    of: int  # documents there were to choose from
    per_format: dict[str, int]  # taken, by format

    @property
    def sampled(self) -> bool:
        return len(self.documents) < self.of

    def describe(self) -> str:
        with_reference = sum(1 for d in self.documents if d.reference_pdf is not None)
        shares = ", ".join(f"{fmt} {n}" for fmt, n in self.per_format.items())
        return (f"sampled {len(self.documents)} of {self.of} documents, stratified by format, "
                f"references first ({shares}; {with_reference} with a reference PDF)")


def _quotas(sizes: dict[str, int], limit: int) -> dict[str, int]:
    """Largest-remainder shares of `limit` in proportion to `sizes` (ties: larger format,
    then name), never more than a format holds."""
    total = sum(sizes.values())
    exact = {fmt: limit * n / total for fmt, n in sizes.items()}
    quotas = {fmt: min(int(share), sizes[fmt]) for fmt, share in exact.items()}
    order = sorted(sizes, key=lambda f: (-(exact[f] - int(exact[f])), -sizes[f], f))
    while sum(quotas.values()) < limit:
        grown = False
        for fmt in order:
            if sum(quotas.values()) >= limit:
                break
            if quotas[fmt] < sizes[fmt]:
                quotas[fmt] += 1
                grown = True
        if not grown:
            break
    return quotas


def _preference(document: Document) -> tuple[bool, bool, bool, str]:
    # A refused document (harness.corpus.discover) is never read, so its hash is "": by
    # hash alone it would come first, and a small sweep would be all refusals.
    return (document.refused is not None, document.reference_pdf is None, document.malformed,
            document.sha256)


def stratified_sample(documents: list[Document], limit: int | None) -> Sample:
    """At most `limit` documents, stratified by format (see the module's docstring); all of
    them when `limit` is None or not smaller than their number."""
    if not limit or limit >= len(documents):
        counts: dict[str, int] = defaultdict(int)
        for d in documents:
            counts[d.format] += 1
        return Sample(list(documents), len(documents), dict(sorted(counts.items())))
    by_format: dict[str, list[Document]] = defaultdict(list)
    for d in documents:
        by_format[d.format].append(d)
    quotas = _quotas({fmt: len(docs) for fmt, docs in by_format.items()}, limit)
    chosen: set[int] = set()
    for fmt, docs in by_format.items():
        chosen.update(id(d) for d in sorted(docs, key=_preference)[:quotas[fmt]])
    taken = [d for d in documents if id(d) in chosen]
    return Sample(taken, len(documents),
                  {fmt: quotas[fmt] for fmt in sorted(quotas) if quotas[fmt]})
