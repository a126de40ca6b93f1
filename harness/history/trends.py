"""Each suite's mean grade per format over the runs of the same documents: the history page.

*Trend*: a suite (task) on a format, over this run and the earlier complete runs that hold
all of its documents, computed on this run's documents only (its malformed ones left out),
failures counted as 0 (`harness.history.grades`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass

from harness.history.compare import RunCache, overlap
from harness.history.grades import (NOTHING_RAN, MeanGrade, mean_grade, mean_of_counts,
                                    row_label, task_label)
from harness.store import Run, Store


@dataclass(frozen=True)
class TrendPoint:
    run_id: str
    started_at: str
    mean: MeanGrade


@dataclass(frozen=True)
class Trend:
    """One row of the history page: a suite (task) on a format, run after run."""
    label: str  # row_label: "libreoffice", "libreoffice (save)"
    format: str
    points: list[TrendPoint]  # oldest first; one per run of trend_runs()

    def to_json(self) -> dict:
        return asdict(self)


def trend_runs(store: Store, run_id: str | None = None, limit: int = 30,
               _runs: RunCache | None = None) -> list[Run]:
    """The run and the earlier complete runs that hold every one of its documents (same
    content), oldest first, at most `limit`: the runs a trend over these documents spans."""
    cache = _runs or RunCache(store)
    run = store.run(run_id)
    runs = store.runs()
    here = cache.documents(run.id)
    chosen: list[Run] = []
    for r in reversed(runs[:[r.id for r in runs].index(run.id)]):
        if len(chosen) >= limit - 1:
            break
        if r.state == "complete" and overlap(here, cache.documents(r.id))[1] == 0:
            chosen.append(r)
    return (chosen[::-1] + [run])[-limit:]


def trends(store: Store, run_id: str | None = None, limit: int = 30,
           _runs: RunCache | None = None) -> list[Trend]:
    """Mean grade (failures as 0, with its counts) per suite (task) and format, for each run
    of `trend_runs`, computed on the chosen run's documents only, its malformed ones left
    out: a trend never moves because the corpus changed under it. Counted in SQL when the
    run recorded its documents (a store of 100,000 documents is not read row by row)."""
    cache = _runs or RunCache(store)
    run = store.run(run_id)
    here = cache.documents(run.id)
    apart = cache.malformed(run.id)
    counted = {key for key in here if key not in apart}
    runs = trend_runs(store, run.id, limit, cache)
    in_sql = store.has_documents(run.id)
    per_run: list[dict[tuple[str, str], MeanGrade]] = []
    keys: set[tuple[str, str]] = set()
    for r in runs:
        if in_sql:
            grouped: dict[tuple[str, str], list[tuple]] = defaultdict(list)
            for suite, task, fmt, status, grade, n in store.outcome_counts(r.id, run.id):
                if status not in NOTHING_RAN:
                    grouped[(task_label(suite, task), fmt)].append((status, grade, n))
            cells = {key: mean_of_counts(rows) for key, rows in grouped.items()}
        else:
            groups: dict[tuple[str, str], list] = defaultdict(list)
            for result in cache.results(r.id):
                if (result.corpus, result.document) in counted \
                        and result.status not in NOTHING_RAN:
                    groups[(row_label(result), result.format)].append(result)
            cells = {key: mean_grade(rows) for key, rows in groups.items()}
        keys.update(k for k, m in cells.items() if m.counted)
        per_run.append(cells)
    empty = MeanGrade(None, 0, 0, 0)
    return [Trend(label, fmt, [TrendPoint(r.id, r.started_at, cells.get((label, fmt), empty))
                               for r, cells in zip(runs, per_run)])
            for label, fmt in sorted(keys)]
