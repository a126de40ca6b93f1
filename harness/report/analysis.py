"""The figures the report shows, computed from stored results alone: mean grades per suite
and format, per suite and feature, grade distributions, worst documents, and how
each suite survives the documents broken on purpose.

A document its corpus manifest marks malformed (truncated zips, fuzzer cases, invalid XML)
says nothing about how faithfully a suite renders real documents: it is set apart before the
matrices and the recommendation are computed, and counted only in the robustness table."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from statistics import mean
from typing import Any, Collection, Iterable

from harness.history.grades import row_label
from harness.records import JobResult, Status

NOT_RUN = frozenset({Status.UNSUPPORTED, Status.UNAVAILABLE})
# What the robustness table counts per suite: opened, or how it did not.
ROBUSTNESS_STATUSES = (Status.OK, Status.FAILED, Status.EMPTY, Status.CRASHED,
                       Status.TIMED_OUT, Status.UNSUPPORTED)
DocumentKey = tuple[str, str]  # (corpus, path)


@dataclass
class Cell:
    graded: list[int] = field(default_factory=list)
    statuses: Counter[Status] = field(default_factory=Counter)
    documents: set[tuple[str, str]] = field(default_factory=set)

    def add(self, result: JobResult) -> None:
        self.statuses[result.status] += 1
        self.documents.add((result.corpus, result.document))
        if result.grade is not None:
            self.graded.append(result.grade)

    @property
    def mean(self) -> float | None:
        return round(mean(self.graded), 2) if self.graded else None

    @property
    def ungraded(self) -> int:
        """Results that rendered but had nothing trustworthy to be graded against."""
        return self.statuses[Status.OK] - len(self.graded)

    @property
    def failures(self) -> dict[str, int]:
        return {s: n for s, n in sorted(self.statuses.items()) if s is not Status.OK}

    @property
    def ran(self) -> bool:
        """Something was attempted: not only unsupported formats or a missing suite."""
        return not set(self.statuses) <= NOT_RUN


def malformed_documents(documents: Iterable[dict[str, Any]]) -> frozenset[DocumentKey] | None:
    """The run's documents marked malformed, as the sweep stored them; None when the run did
    not record the mark (a store older than schema 5), in which case nothing is set apart:
    the corpus is not read again at report time."""
    rows = list(documents)
    if any(d.get("malformed") is None for d in rows):
        return None
    return frozenset((d["corpus"], d["path"]) for d in rows if d["malformed"])


def set_apart(results: Iterable[JobResult], malformed: Collection[DocumentKey] | None,
              ) -> tuple[list[JobResult], list[JobResult]]:
    """(results that count, results on malformed documents)."""
    counted: list[JobResult] = []
    apart: list[JobResult] = []
    for r in results:
        (apart if malformed and (r.corpus, r.document) in malformed else counted).append(r)
    return counted, apart


def robustness(results: Iterable[JobResult]) -> dict[str, Cell]:
    """Per suite (task), what happened to the malformed documents: each status counted.
    A row where nothing ran (suite not installed) is left out."""
    cells: dict[str, Cell] = defaultdict(Cell)
    for r in results:
        cells[row_label(r)].add(r)
    return {label: cell for label, cell in sorted(cells.items()) if cell.ran}


def matrix(results: Iterable[JobResult]) -> tuple[list[str], list[str], dict[tuple[str, str], Cell]]:
    """Suite (task) × format."""
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    for r in results:
        cells[(row_label(r), r.format)].add(r)
    suites = sorted({label for label, _ in cells})
    formats = sorted({fmt for _, fmt in cells})
    return suites, formats, dict(cells)


def feature_matrix(results: Iterable[JobResult], features: dict[tuple[str, str], list[str]],
                   ) -> tuple[dict[str, int], dict[tuple[str, str], Cell]]:
    """Suite (task) × feature: each result counts for every feature its document exercises
    (error:* tags are not features); with the documents per feature, most common first."""
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    for r in results:
        for tag in features.get((r.corpus, r.document), ()):
            if not tag.startswith("error:"):
                cells[(row_label(r), tag)].add(r)
    documents: Counter[str] = Counter(
        tag for tags in features.values() for tag in set(tags) if not tag.startswith("error:"))
    return ({t: documents[t] for t in sorted(documents, key=lambda t: (-documents[t], t))},
            dict(cells))


def shown_labels(cells: dict[tuple[str, str], Cell]) -> list[str]:
    """Rows worth a line: a suite (task) that ran on at least one document."""
    return sorted({label for (label, _), cell in cells.items() if cell.ran})


GRADES = (5, 4, 3, 2, 1, 0)


def distribution(results: Iterable[JobResult]) -> dict[str, Counter[str]]:
    """Per row label: how many results got each grade, ungraded ok, or each failure."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        out[row_label(r)][str(r.grade) if r.grade is not None else
                          ("ungraded" if r.status is Status.OK else r.status)] += 1
    return dict(out)


def worst(results: Iterable[JobResult], limit: int = 15) -> list[JobResult]:
    """Graded results from the lowest grade up, then failures (not what was not run)."""
    graded = sorted((r for r in results if r.grade is not None),
                    key=lambda r: (r.grade, r.scores.get("score") or 0, r.document))
    return graded[:limit]


def failures(results: Iterable[JobResult]) -> list[JobResult]:
    return sorted((r for r in results if r.status is not Status.OK and r.status not in NOT_RUN),
                  key=lambda r: (r.status, r.corpus, r.document, r.task))
