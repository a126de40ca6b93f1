"""Each (document, suite, task) of a run against the previous run of the same documents:
what got worse, what got better, what is new; and each suite's mean grade per format over
the runs of those documents. A regression is what QA must not miss.

Definitions used throughout:

- *The previous run of the same documents*, for a suite: the most recent earlier *complete*
  run that ran that suite and whose documents (corpus, path and content hash, as the run
  recorded them) are exactly this run's. When none is exactly the same, the nearest earlier
  run (most documents in common, then fewest different, then most recent; sought among the
  latest NEAREST_AMONG runs of the suite) is the baseline, the difference is said in words
  ("no earlier run of these 315 documents; nearest earlier run R differs by 12 documents")
  and the comparison is made on the documents both hold, still result by result; results
  of the other documents are counted as `not_compared`. With nothing in common there is no
  baseline: every result is new. A document whose content changed is another document.
- *Trend*: a suite (task) on a format, over this run and the earlier complete runs that hold
  all of its documents, computed on this run's documents only.
- *Regression*: a result that was `ok` and is now anything else (`timed_out`, `crashed`,
  `failed`, `empty`, `unsupported`), or whose grade fell. A *fix* is the reverse.
- *Mean grade*: over the results where the suite got the document (`ok` or a failure);
  a failure (`failed`, `empty`, `crashed`, `timed_out`) counts as grade 0, so a night of
  timeouts lowers the mean instead of leaving the survivors to raise it. Results where
  nothing ran (`unsupported`, `unavailable`) and `ok` results with nothing to be graded
  against are left out, and counted. Documents the corpus marks malformed are left out of
  means and trends (as the report sets them apart), not out of regressions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Iterable

from harness.records import JobResult, Status, Task
from harness.store import Run, Store

NOT_RUN = frozenset({Status.UNAVAILABLE.value})  # not a result of the suite at all
NOTHING_RAN = frozenset({Status.UNAVAILABLE.value, Status.UNSUPPORTED.value})  # for means
FAILED = frozenset({Status.FAILED.value, Status.EMPTY.value, Status.CRASHED.value,
                    Status.TIMED_OUT.value})  # the suite got the document and failed: grade 0
KINDS = ("regression", "fix", "unchanged", "new")
# Without a run of the same documents, the nearest is sought among this many earlier runs of
# the suite (the latest first), so a history of years stays quick to read.
NEAREST_AMONG = 60

DocumentId = tuple  # (corpus, path, sha256) or, when a run did not record hashes, (corpus, path)


@dataclass(frozen=True)
class Change:
    corpus: str
    document: str
    task: str
    kind: str  # regression, fix, unchanged, new
    status_before: str | None
    grade_before: int | None
    status_after: str
    grade_after: int | None

    def describe(self) -> str:
        def state(status: str | None, grade: int | None) -> str:
            return "nothing" if status is None else (
                f"grade {grade}" if status == "ok" and grade is not None else status)
        return (f"{self.corpus}/{self.document} [{self.task}]: "
                f"{state(self.status_before, self.grade_before)} -> "
                f"{state(self.status_after, self.grade_after)}")


@dataclass(frozen=True)
class Baseline:
    """Which earlier run a suite's results are compared with, and how its documents differ."""
    run_id: str | None
    documents: int  # in this run
    same_documents: bool
    shared_documents: int  # compared: in both runs
    only_here: int  # documents of this run the baseline did not have
    only_there: int  # documents of the baseline this run does not have

    @property
    def differs_by(self) -> int:
        return self.only_here + self.only_there

    def describe(self) -> str:
        if self.run_id is None:
            return f"no earlier run of these {self.documents} document(s) with this suite"
        if self.same_documents:
            return f"since run {self.run_id} of the same {self.documents} document(s)"
        return (f"no earlier run of these {self.documents} document(s); nearest earlier run "
                f"{self.run_id} differs by {self.differs_by} document(s) ({self.only_here} "
                f"only here, {self.only_there} only there): compared on the "
                f"{self.shared_documents} in common")


@dataclass(frozen=True)
class MeanGrade:
    """A mean grade with failures as 0, and what it is made of."""
    mean_grade: float | None
    graded: int  # ok results with a grade
    failed: int  # failed, empty, crashed, timed_out: counted as 0
    left_out: int  # nothing ran (unsupported, unavailable) or ok but nothing to grade against

    @property
    def counted(self) -> int:
        return self.graded + self.failed


@dataclass(frozen=True)
class SuiteHistory:
    suite: str
    run_id: str
    previous_run_id: str | None
    version: str | None
    previous_version: str | None
    counts: dict[str, int]
    changes: list[Change] = field(default_factory=list)  # every one but `unchanged`
    gone: int = 0  # results of the shared documents the previous run had and this one has not
    baseline: Baseline | None = None
    not_compared: int = 0  # results of documents the baseline did not hold
    # (task label, format) -> (mean before, mean after), both on the compared documents
    means: dict[str, tuple[MeanGrade, MeanGrade]] = field(default_factory=dict)

    @property
    def version_changed(self) -> bool:
        return self.previous_run_id is not None and self.version != self.previous_version

    def to_json(self) -> dict:
        data = asdict(self)
        data["version_changed"] = self.version_changed
        data["baseline"] = (dict(asdict(self.baseline), differs_by=self.baseline.differs_by,
                                 described=self.baseline.describe())
                            if self.baseline else None)
        return data


def classify(before: JobResult | None, after: JobResult) -> str:
    if before is None or before.status in NOT_RUN:
        return "new"
    ok_before, ok_after = before.status == "ok", after.status == "ok"
    if ok_before and not ok_after:
        return "regression"
    if ok_after and not ok_before:
        return "fix"
    if ok_before and before.grade is not None and after.grade is not None:
        if after.grade < before.grade:
            return "regression"
        if after.grade > before.grade:
            return "fix"
    return "unchanged"


def mean_grade(results: Iterable[JobResult]) -> MeanGrade:
    """The mean grade of results, failures counted as 0 (see the module's definitions)."""
    total, graded, failed, left_out = 0, 0, 0, 0
    for r in results:
        if r.status in FAILED:
            failed += 1
        elif r.status == Status.OK.value and r.grade is not None:
            graded += 1
            total += r.grade
        else:
            left_out += 1
    counted = graded + failed
    return MeanGrade(round(total / counted, 2) if counted else None, graded, failed, left_out)


def task_label(suite: str, task: str) -> str:
    """A suite's row as the report names it: showing and saving back are graded apart."""
    return suite if task == Task.SHOW else f"{suite} ({task})"


def _version(results: list[JobResult], run: Run, suite: str) -> str | None:
    versions = sorted({r.suite_version for r in results if r.suite_version})
    if len(versions) == 1:
        return versions[0]
    return (run.suites.get(suite) or {}).get("version")


class _Runs:
    """Lazily loaded documents and results of the store's runs."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._results: dict[str, list[JobResult]] = {}
        self._documents: dict[str, dict[tuple[str, str], str | None]] = {}
        self._malformed: dict[str, frozenset[tuple[str, str]]] = {}

    def results(self, run_id: str) -> list[JobResult]:
        if run_id not in self._results:
            self._results[run_id] = list(self.store.results(run_id))
        return self._results[run_id]

    def documents(self, run_id: str) -> dict[tuple[str, str], str | None]:
        """(corpus, path) -> content hash; from the results when the run recorded no
        documents (hash unknown)."""
        if run_id not in self._documents:
            rows = self.store.documents(run_id)
            self._malformed[run_id] = frozenset((d["corpus"], d["path"]) for d in rows
                                                if d.get("malformed"))
            self._documents[run_id] = ({(d["corpus"], d["path"]): d["sha256"] for d in rows}
                                       or {(r.corpus, r.document): None
                                           for r in self.results(run_id)})
        return self._documents[run_id]

    def malformed(self, run_id: str) -> frozenset[tuple[str, str]]:
        self.documents(run_id)
        return self._malformed[run_id]

    def ran(self, run: Run, suite: str) -> bool:
        info = run.suites.get(suite)
        if isinstance(info, dict) and "available" in info:
            return bool(info["available"])
        return any(r.suite == suite and r.status not in NOT_RUN for r in self.results(run.id))


def _ids(documents: dict[tuple[str, str], str | None], hashed: bool) -> set[DocumentId]:
    return {(c, p, sha) if hashed else (c, p) for (c, p), sha in documents.items()}


def _overlap(here: dict, there: dict) -> tuple[set[tuple[str, str]], int, int]:
    """Documents in common (as (corpus, path)), only here, only there. A document whose
    content changed is a different document; hashes are compared when both runs have them."""
    hashed = None not in here.values() and None not in there.values()
    a, b = _ids(here, hashed), _ids(there, hashed)
    common = {(i[0], i[1]) for i in a & b}
    return common, len(a - b), len(b - a)


def baseline(store: Store, run_id: str | None, suite: str,
             _runs: _Runs | None = None) -> Baseline:
    """The previous run of the same documents for `suite` (see the module's definitions)."""
    runs_cache = _runs or _Runs(store)
    run = store.run(run_id)
    runs = store.runs()
    earlier = [r for r in runs[:[r.id for r in runs].index(run.id)] if r.state == "complete"]
    here = runs_cache.documents(run.id)
    best: tuple[tuple[int, int], Run, int, int, int] | None = None
    looked = 0
    for candidate in reversed(earlier):  # the latest first
        if not runs_cache.ran(candidate, suite):
            continue
        common, only_here, only_there = _overlap(here, runs_cache.documents(candidate.id))
        if not only_here and not only_there:
            return Baseline(candidate.id, len(here), True, len(common), 0, 0)
        rank = (len(common), -(only_here + only_there))
        if common and (best is None or rank > best[0]):  # on a tie, the later run stays
            best = (rank, candidate, len(common), only_here, only_there)
        looked += 1
        if best is not None and looked >= NEAREST_AMONG:
            break
    if best is None:
        return Baseline(None, len(here), False, 0, len(here), 0)
    _, candidate, shared, only_here, only_there = best
    return Baseline(candidate.id, len(here), False, shared, only_here, only_there)


def history(store: Store, run_id: str | None = None) -> list[SuiteHistory]:
    """Per suite of the run: its changes since the previous run of the same documents."""
    cache = _Runs(store)
    run = store.run(run_id)
    current: dict[str, list[JobResult]] = defaultdict(list)
    for result in cache.results(run.id):
        if result.status not in NOT_RUN:
            current[result.suite].append(result)
    out = []
    for suite, results in sorted(current.items()):
        base = baseline(store, run.id, suite, cache)
        previous_run = store.run(base.run_id) if base.run_id else None
        if previous_run is not None and not base.same_documents:
            common, _, _ = _overlap(cache.documents(run.id), cache.documents(previous_run.id))
        else:
            common = None  # every document
        compared = [r for r in results if common is None or (r.corpus, r.document) in common]
        before = {(r.corpus, r.document, r.task): r
                  for r in (cache.results(previous_run.id) if previous_run else [])
                  if r.suite == suite and r.status not in NOT_RUN
                  and (common is None or (r.corpus, r.document) in common)}
        counts: Counter[str] = Counter({kind: 0 for kind in KINDS})
        changes = []
        for result in (compared if previous_run else results):
            old = before.get((result.corpus, result.document, result.task))
            kind = classify(old, result)
            counts[kind] += 1
            if kind != "unchanged":
                changes.append(Change(result.corpus, result.document, result.task, kind,
                                      old.status if old else None, old.grade if old else None,
                                      result.status, result.grade))
        seen = {(r.corpus, r.document, r.task) for r in results}
        means = {}
        if previous_run is not None:
            apart = cache.malformed(run.id) | cache.malformed(previous_run.id)
            groups: dict[str, tuple[list[JobResult], list[JobResult]]] = defaultdict(
                lambda: ([], []))
            for side, rows in ((0, before.values()), (1, compared)):
                for r in rows:
                    if (r.corpus, r.document) not in apart:
                        groups[f"{task_label(r.suite, r.task)} {r.format}"][side].append(r)
            means = {key: (mean_grade(b), mean_grade(a)) for key, (b, a) in sorted(groups.items())}
        out.append(SuiteHistory(
            suite, run.id, previous_run.id if previous_run else None,
            _version(results, run, suite),
            _version(list(before.values()), previous_run, suite) if previous_run else None,
            dict(counts), changes, sum(1 for k in before if k not in seen), base,
            len(results) - len(compared) if previous_run else 0, means))
    return out


def regressions(histories: list[SuiteHistory]) -> int:
    return sum(h.counts.get("regression", 0) for h in histories)


def _mean_text(m: MeanGrade) -> str:
    return "-" if m.mean_grade is None else f"{m.mean_grade:.2f}"


def summary_lines(histories: list[SuiteHistory], limit: int = 20) -> list[str]:
    lines = []
    for h in histories:
        where = h.baseline.describe() if h.baseline else ""
        if h.previous_run_id is None:
            lines.append(f"{h.suite} {h.version or ''}: {where or 'first run of this suite'} "
                         f"({h.counts['new']} new result(s))")
            continue
        version = (f"; new version {h.previous_version} -> {h.version}"
                   if h.version_changed else "")
        lines.append(f"{h.suite} {h.version or ''} {where}{version}: "
                     + ", ".join(f"{h.counts[k]} {k}" for k in KINDS)
                     + (f", {h.gone} gone" if h.gone else "")
                     + (f"; {h.not_compared} result(s) of other documents not compared"
                        if h.not_compared else ""))
        for key, (before, after) in h.means.items():
            if before != after:
                lines.append(f"  mean grade {key}: {_mean_text(before)} -> {_mean_text(after)} "
                             f"(failures counted as 0: {before.failed} of {before.counted} "
                             f"-> {after.failed} of {after.counted})")
        shown = [c for c in h.changes if c.kind == "regression"][:limit]
        lines += [f"  regression: {c.describe()}" for c in shown]
        more = h.counts["regression"] - len(shown)
        if more > 0:
            lines.append(f"  ... and {more} more regression(s): `fidelity history --json`")
    return lines


@dataclass(frozen=True)
class TrendPoint:
    run_id: str
    started_at: str
    mean: MeanGrade


@dataclass(frozen=True)
class Trend:
    """One row of the history page: a suite (task) on a format, run after run."""
    label: str  # task_label: "libreoffice", "libreoffice (save)"
    format: str
    points: list[TrendPoint]  # oldest first; one per run of trend_runs()

    def to_json(self) -> dict:
        return asdict(self)


def trend_runs(store: Store, run_id: str | None = None, limit: int = 30) -> list[Run]:
    """The run and the earlier complete runs that hold every one of its documents (same
    content), oldest first, at most `limit`: the runs a trend over these documents spans."""
    cache = _Runs(store)
    run = store.run(run_id)
    runs = store.runs()
    here = cache.documents(run.id)
    chosen: list[Run] = []
    for r in reversed(runs[:[r.id for r in runs].index(run.id)]):
        if len(chosen) >= limit - 1:
            break
        if r.state == "complete" and _overlap(here, cache.documents(r.id))[1] == 0:
            chosen.append(r)
    return (chosen[::-1] + [run])[-limit:]


def trends(store: Store, run_id: str | None = None, limit: int = 30) -> list[Trend]:
    """Mean grade (failures as 0, with its counts) per suite (task) and format, for each run
    of `trend_runs`, computed on the chosen run's documents only, its malformed ones left
    out: a trend never moves because the corpus changed under it."""
    cache = _Runs(store)
    run = store.run(run_id)
    here = cache.documents(run.id)
    apart = cache.malformed(run.id)
    counted = {key for key in here if key not in apart}
    runs = trend_runs(store, run.id, limit)
    per_run: list[dict[tuple[str, str], MeanGrade]] = []
    keys: set[tuple[str, str]] = set()
    for r in runs:
        groups: dict[tuple[str, str], list[JobResult]] = defaultdict(list)
        for result in cache.results(r.id):
            if (result.corpus, result.document) in counted and result.status not in NOTHING_RAN:
                groups[(task_label(result.suite, result.task), result.format)].append(result)
        cells = {key: mean_grade(rows) for key, rows in groups.items()}
        keys.update(k for k, m in cells.items() if m.counted)
        per_run.append(cells)
    empty = MeanGrade(None, 0, 0, 0)
    return [Trend(label, fmt, [TrendPoint(r.id, r.started_at, cells.get((label, fmt), empty))
                               for r, cells in zip(runs, per_run)])
            for label, fmt in sorted(keys)]


def below_grade(results: Iterable[JobResult], fail_below_grade: int) -> list[JobResult]:
    """Graded results under the threshold of `--fail-below`."""
    return [r for r in results
            if r.status == Status.OK.value and r.grade is not None and r.grade < fail_below_grade]
