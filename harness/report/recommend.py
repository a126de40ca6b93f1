"""Which suite to open each format with by default, and how sure we are.

A suite's value on a document is the mean of its grades for the tasks a desktop user meets
(`show`, then `save` back to the same format), a failure counting 0 (a document that does
not open, or that is lost on saving, is the worst outcome, not a missing number); `ok`
results with nothing to be graded against, and suites not installed, add nothing.

A suite's score for a format is the mean of its per-feature means, each feature weighted by
how common it is (its share of the corpus's documents, overridable with `feature_weights`),
plus every document at weight 1 (the share of documents that are documents). The interval
is a 95 % percentile bootstrap over documents, resampled together for every suite (paired),
so two suites are compared on the same draws. The best suite is recommended outright only
when its interval lies wholly above every other suite's; otherwise the report says "no
clear winner" and names the suites it cannot tell apart.

Documents the corpus manifest marks malformed (broken on purpose) are left out of all of
it: a fuzzer case every suite refuses would otherwise count 0 for every suite, create a
format row of its own, and top the recommended suite's worst documents. The report counts
them apart, in its robustness table.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable, Collection

import numpy as np

from harness.config import feature_weights
from harness.records import JobResult, Status

TASKS = ("show", "save")
ALL_DOCUMENTS = "(every document)"
RESAMPLES = 2000
FAILING = frozenset({Status.FAILED, Status.CRASHED, Status.TIMED_OUT, Status.EMPTY,
                     Status.UNSUPPORTED})


@dataclass(frozen=True)
class FeatureScore:
    feature: str
    mean_grade: float
    documents: int


@dataclass(frozen=True)
class SuiteScore:
    suite: str
    version: str | None
    score: float
    low: float
    high: float
    documents: int  # documents with a value
    failures: int  # results that failed (counted 0)
    worst_features: list[FeatureScore] = field(default_factory=list)
    worst_documents: list[tuple[str, str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Recommendation:
    format: str
    documents: int
    suites: list[SuiteScore]  # best first
    winner: str | None
    clear: bool  # the winner's interval is above every other's
    tied: list[str]  # suites whose interval overlaps the winner's (winner included)
    not_opening: list[str]  # suites that refused every document of this format
    weights: dict[str, float]
    # suites that opened documents of this format but got no grade on any: nothing (no
    # reference PDF, no trusted reading of the source) to measure them against
    ungraded: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.winner is None and self.ungraded:
            return (f"{', '.join(self.ungraded)} opened this format, but nothing could grade "
                    "them (no reference PDF, no trusted reading of the source)")
        if self.winner is None:
            return "no suite could be measured on this format"
        if len(self.suites) == 1:
            return f"{self.winner}: the only suite measured, so nothing to compare it with"
        if self.clear:
            return f"{self.winner}"
        return "no clear winner between " + ", ".join(self.tied)


def run_weights(features: dict[tuple[str, str], list[str]],
                overrides: dict | None = None) -> dict[str, float]:
    """Each feature's share of the run's documents, or its configured weight."""
    counts = Counter(t for tags in features.values() for t in set(tags))
    return feature_weights(dict(counts), len(features), overrides)


def _values(results: list[JobResult], reference: Callable[[str], bool],
            ) -> dict[str, dict[tuple[str, str], float]]:
    """suite -> document -> value (mean over the user's tasks, failures 0)."""
    collected: dict[str, dict[tuple[str, str], list[float]]] = {}
    for r in results:
        if r.task not in TASKS or reference(r.suite):
            continue
        per_doc = collected.setdefault(r.suite, {})
        key = (r.corpus, r.document)
        if r.grade is not None:
            per_doc.setdefault(key, []).append(float(r.grade))
        elif r.status in FAILING:
            per_doc.setdefault(key, []).append(0.0)
    return {s: {d: float(np.mean(v)) for d, v in docs.items() if v}
            for s, docs in collected.items()}


def recommend(results: list[JobResult], features: dict[tuple[str, str], list[str]],
              overrides: dict | None = None, resamples: int = RESAMPLES,
              malformed: Collection[tuple[str, str]] = (),
              references: Collection[str] = (),
              ) -> list[Recommendation]:
    """One recommendation per format of the run, from its results alone; the `malformed`
    documents (corpus, path) count nowhere: not in scores, intervals, weights, worst
    features or documents, nor in which suites open a format. `references`: the suites
    the run recorded as the reference (``Run.references``)."""
    reference = frozenset(references).__contains__
    if malformed:
        results = [r for r in results if (r.corpus, r.document) not in malformed]
        features = {k: v for k, v in features.items() if k not in malformed}
    weights = run_weights(features, overrides)
    versions = {r.suite: r.suite_version for r in results if r.suite_version}
    out = []
    for fmt in sorted({r.format for r in results}):
        of_format = [r for r in results if r.format == fmt]
        docs = sorted({(r.corpus, r.document) for r in of_format})
        statuses: dict[str, set[str]] = {}
        for r in of_format:
            if r.task in TASKS and not reference(r.suite):
                statuses.setdefault(r.suite, set()).add(r.status)
        not_opening = sorted(s for s, st in statuses.items()
                             if st <= {Status.UNSUPPORTED})
        values = {s: v for s, v in _values(of_format, reference).items()
                  if s not in not_opening and v}
        ungraded = sorted(s for s, st in statuses.items()
                          if Status.OK in st and s not in values and s not in not_opening)
        out.append(replace(_recommend_format(fmt, docs, values, features, weights, versions,
                                             not_opening, resamples, of_format),
                           ungraded=ungraded))
    return out


def _recommend_format(fmt, docs, values, features, weights, versions, not_opening,
                      resamples, results) -> Recommendation:
    tags = sorted({t for d in docs for t in features.get(d, ())
                   if not t.startswith("error:") and weights.get(t, 0) > 0})
    columns = [ALL_DOCUMENTS] + tags
    w = np.array([1.0] + [weights[t] for t in tags])
    incidence = np.array([[1.0] + [t in features.get(d, ()) for t in tags] for d in docs])
    rng = np.random.default_rng(zlib.crc32(fmt.encode()))
    matrices = {}
    for suite, per_doc in values.items():
        v = np.array([per_doc.get(d, np.nan) for d in docs])
        valid = ~np.isnan(v)
        a = incidence * valid[:, None]
        matrices[suite] = (valid, a, a * np.nan_to_num(v)[:, None])
    # The draws are made a block at a time (the same stream as all at once), every suite
    # scored on each block: 2,000 draws of 40,000 documents never sit in memory together.
    boots: dict[str, list[np.ndarray]] = {suite: [] for suite in values}
    block = max(1, min(resamples, 4_000_000 // max(1, len(docs))))
    for start in range(0, resamples if docs else 0, block):
        draws = rng.multinomial(len(docs), [1 / len(docs)] * len(docs),
                                size=min(block, resamples - start))
        for suite, (_, a, av) in matrices.items():
            boots[suite].append(_score(draws, a, av, w)[0])
    scores = []
    for suite, per_doc in values.items():
        valid, a, av = matrices[suite]
        point, means = _score(np.ones((1, len(docs))), a, av, w)
        boot = np.concatenate(boots[suite]) if boots[suite] else np.zeros(0)
        boot = boot[~np.isnan(boot)]
        low, high = (np.percentile(boot, [2.5, 97.5]) if boot.size else (point[0], point[0]))
        feature_means = [FeatureScore(t, round(float(m), 2), int(a[:, i + 1].sum()))
                         for i, (t, m) in enumerate(zip(tags, means[0, 1:])) if not np.isnan(m)]
        worst_docs = sorted(((d[0], d[1], per_doc[d]) for d in docs if d in per_doc),
                            key=lambda x: (x[2], x[1]))
        scores.append(SuiteScore(
            suite, versions.get(suite), round(float(point[0]), 2), round(float(low), 2),
            round(float(high), 2), int(valid.sum()),
            sum(1 for r in results if r.suite == suite and r.task in TASKS
                and r.status in FAILING - {Status.UNSUPPORTED}),
            sorted((f for f in feature_means if f.mean_grade < 5),
                   key=lambda f: (f.mean_grade, -f.documents))[:6],
            [x for x in worst_docs if x[2] < 5][:6]))
    scores.sort(key=lambda s: (-s.score, s.suite))
    if not scores:
        return Recommendation(fmt, len(docs), [], None, False, [], not_opening, {})
    best = scores[0]
    tied = [s.suite for s in scores if s is best or s.high >= best.low]
    return Recommendation(fmt, len(docs), scores, best.suite, len(tied) == 1 and len(scores) > 1,
                          tied, not_opening, {c: float(x) for c, x in zip(columns, w)})


def _score(draws: np.ndarray, a: np.ndarray, av: np.ndarray, w: np.ndarray,
           ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of per-feature means, for each row of draws (counts per document)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (draws @ av) / (draws @ a)
        present = ~np.isnan(means)
        total = (np.where(present, means, 0) * w).sum(axis=1)
        weight = (present * w).sum(axis=1)
        return np.where(weight > 0, total / weight, np.nan), means
