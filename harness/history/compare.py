"""Each (document, suite, task) of a run against the previous run of the same documents:
what got worse, what got better, what is new. A regression is what QA must not miss.

Definitions used throughout (means: `harness.history.grades`; trends:
`harness.history.trends`):

- *The previous run of the same documents*, for a suite: the most recent earlier *complete*
  run that ran that suite and whose documents (corpus, path and content hash, as the run
  recorded them) are exactly this run's, however far back it is. Two runs with the same
  stored plan fingerprint hold the same documents without their lists being read; other
  runs are compared by their recorded documents, never by their results. When none is
  exactly the same, the nearest earlier run (most documents in common, then fewest
  different, then most recent; sought among the latest NEAREST_AMONG runs of the suite, and
  further back only until one shares a document) is the baseline, the difference is said in
  words ("no earlier run of these 315 documents; nearest earlier run R differs by 12
  documents") and the comparison is made on the documents both hold, still result by
  result; results of the other documents are counted as `not_compared`. With nothing in
  common there is no baseline: every result is new. A document whose content changed is
  another document.
- *Every suite of the baseline*: a suite this run was given that did not run (not
  installed, say) but ran in the previous run of these documents still has its history,
  saying so in words ("libreoffice unavailable this run: not installed"); a suite that
  never ran on these documents has none, and one this run was not given is not compared.
- *Regression*: a result that was `ok` and is now anything else (`timed_out`, `crashed`,
  `failed`, `empty`, `unsupported`, `unavailable`), or whose grade fell. A *fix* is the
  reverse. A result `unavailable` in the baseline is no result: what follows it is `new`.
- Means compare the baseline and this run on the compared documents, failures counted as 0;
  documents the corpus marks malformed are left out of means and trends (as the report sets
  them apart), not out of regressions.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from harness.history.grades import (NOT_RUN, MeanGrade, mean_grade, mean_of_counts,
                                    row_label, task_label)
from harness.records import JobResult
from harness.store import ResultSummary, Run, Store

Outcome = JobResult | ResultSummary  # what history reads of a result: its outcome

KINDS = ("regression", "fix", "unchanged", "new")
# Without a run of the same documents, the nearest is sought among this many earlier runs of
# the suite (the latest first), so a history of years stays quick to read. The run of the
# same documents is sought without this bound.
NEAREST_AMONG = 60

DocumentId = tuple  # (corpus, path, sha256) or, when a run did not record hashes, (corpus, path)
Documents = dict[tuple[str, str], "str | None"]  # (corpus, path) -> content hash


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
    unavailable: str | None = None  # why the suite did not run this run, when it did not

    @property
    def version_changed(self) -> bool:
        return (self.previous_run_id is not None and self.unavailable is None
                and self.version != self.previous_version)

    def to_json(self) -> dict:
        data = asdict(self)
        data["version_changed"] = self.version_changed
        data["baseline"] = (dict(asdict(self.baseline), differs_by=self.baseline.differs_by,
                                 described=self.baseline.describe())
                            if self.baseline else None)
        return data


def classify(before: Outcome | None, after: Outcome) -> str:
    return _classify(before.status if before is not None else None,
                     before.grade if before is not None else None, after.status, after.grade)


def _classify(status_before: str | None, grade_before: int | None, status: str,
              grade: int | None) -> str:
    if status_before is None or status_before in NOT_RUN:
        return "new"
    ok_before, ok_after = status_before == "ok", status == "ok"
    if ok_before and not ok_after:
        return "regression"
    if ok_after and not ok_before:
        return "fix"
    if ok_before and grade_before is not None and grade is not None:
        if grade < grade_before:
            return "regression"
        if grade > grade_before:
            return "fix"
    return "unchanged"


def _version(results: list[Outcome], run: Run, suite: str) -> str | None:
    versions = sorted({r.suite_version for r in results if r.suite_version})
    if len(versions) == 1:
        return versions[0]
    return (run.suites.get(suite) or {}).get("version")


class RunCache:
    """The store's runs, and their documents and results loaded once, when first asked."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.runs = store.runs()
        self._by_id = {r.id: r for r in self.runs}
        self._results: dict[str, list[ResultSummary]] = {}
        self._documents: dict[str, Documents] = {}
        self._malformed: dict[str, frozenset[tuple[str, str]]] = {}
        self._fingerprints: dict[str, tuple[bool, str, str]] = {}

    def run(self, run_id: str | None) -> Run:
        return self._by_id[run_id] if run_id in self._by_id else self.store.run(run_id)

    def earlier(self, run: Run) -> list[Run]:
        """The complete runs before `run`, oldest first."""
        position = [r.id for r in self.runs].index(run.id)
        return [r for r in self.runs[:position] if r.state == "complete"]

    def keep(self, run_id: str, results: list[ResultSummary]) -> None:
        """The run's results, read already by the caller: not read twice."""
        self._results[run_id] = results

    def results(self, run_id: str) -> list[ResultSummary]:
        """The run's results as outcomes alone (status, grade, message): all history
        reads, and light enough for a run of 100,000 documents."""
        if run_id not in self._results:
            self._results[run_id] = self.store.summaries(run_id)
        return self._results[run_id]

    def documents(self, run_id: str) -> Documents:
        """(corpus, path) -> content hash; from the results when the run recorded no
        documents (hash unknown)."""
        if run_id not in self._documents:
            self._documents[run_id] = self._read_documents(run_id)
        return self._documents[run_id]

    def _read_documents(self, run_id: str) -> Documents:
        rows = self.store.documents(run_id)
        self._malformed[run_id] = frozenset((d["corpus"], d["path"]) for d in rows
                                            if d.get("malformed"))
        return ({(d["corpus"], d["path"]): d["sha256"] for d in rows}
                or {(r.corpus, r.document): None for r in self.results(run_id)})

    def malformed(self, run_id: str) -> frozenset[tuple[str, str]]:
        self.documents(run_id)
        return self._malformed[run_id]

    def fingerprint(self, run_id: str) -> tuple[bool, str, str]:
        """(whether hashes were recorded, digest of the documents with their hashes, digest
        of their names alone): compares runs without keeping every run's list in memory."""
        if run_id not in self._fingerprints:
            documents = (self._documents[run_id] if run_id in self._documents
                         else self._read_documents(run_id))
            names = sorted(documents)
            self._fingerprints[run_id] = (
                None not in documents.values(),
                _digest([[*name, documents[name]] for name in names]), _digest(names))
        return self._fingerprints[run_id]

    def same_documents(self, run: Run, other: Run) -> bool:
        """Whether both runs hold exactly the same documents (see `overlap`)."""
        plan = run.settings.get("plan")
        if plan and plan == other.settings.get("plan"):  # the plan lists every document
            return True
        hashed, with_hashes, names = self.fingerprint(run.id)
        other_hashed, other_with_hashes, other_names = self.fingerprint(other.id)
        if hashed and other_hashed:
            return with_hashes == other_with_hashes
        return names == other_names

    def ran(self, run: Run, suite: str) -> bool:
        info = run.suites.get(suite)
        if isinstance(info, dict) and "available" in info:
            return bool(info["available"])
        return any(r.suite == suite and r.status not in NOT_RUN for r in self.results(run.id))

    def why_not_run(self, run: Run, suite: str) -> str:
        """Why a suite did not run, as the run recorded it."""
        reason = (run.suites.get(suite) or {}).get("reason")
        messages = {r.message for r in self.results(run.id)
                    if r.suite == suite and r.status in NOT_RUN and r.message}
        return reason or (messages.pop() if len(messages) == 1 else "unavailable")


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()


def _ids(documents: Documents, hashed: bool) -> set[DocumentId]:
    return {(c, p, sha) if hashed else (c, p) for (c, p), sha in documents.items()}


def overlap(here: Documents, there: Documents) -> tuple[set[tuple[str, str]], int, int]:
    """Documents in common (as (corpus, path)), only here, only there. A document whose
    content changed is a different document; hashes are compared when both runs have them."""
    hashed = None not in here.values() and None not in there.values()
    a, b = _ids(here, hashed), _ids(there, hashed)
    common = {(i[0], i[1]) for i in a & b}
    return common, len(a - b), len(b - a)


def baseline(store: Store, run_id: str | None, suite: str,
             _runs: RunCache | None = None) -> Baseline:
    """The previous run of the same documents for `suite`, else the nearest (see the
    module's definitions): every earlier run is looked at for the same documents, only the
    latest NEAREST_AMONG of the suite (or until one shares a document) for the nearest."""
    cache = _runs or RunCache(store)
    run = cache.run(run_id)
    here = cache.documents(run.id)
    best: tuple[tuple[int, int], Run, int, int, int] | None = None
    looked = 0
    for candidate in reversed(cache.earlier(run)):  # the latest first
        if not cache.ran(candidate, suite):
            continue
        if cache.same_documents(run, candidate):
            return Baseline(candidate.id, len(here), True, len(here), 0, 0)
        if looked >= NEAREST_AMONG and best is not None:
            continue  # the nearest is chosen; still looking for the same documents
        looked += 1
        common, only_here, only_there = overlap(here, cache.documents(candidate.id))
        rank = (len(common), -(only_here + only_there))
        if common and (best is None or rank > best[0]):  # on a tie, the later run stays
            best = (rank, candidate, len(common), only_here, only_there)
    if best is None:
        return Baseline(None, len(here), False, 0, len(here), 0)
    _, candidate, shared, only_here, only_there = best
    return Baseline(candidate.id, len(here), False, shared, only_here, only_there)


def history(store: Store, run_id: str | None = None,
            _runs: RunCache | None = None) -> list[SuiteHistory]:
    """Per suite of the run and of its baselines: its changes since the previous run of the
    same documents, a suite that did not run this time included."""
    cache = _runs or RunCache(store)
    run = cache.run(run_id)
    bases = {suite: baseline(store, run.id, suite, cache) for suite in store.suites_of(run.id)}
    # The usual night, a baseline of the same documents, is counted by SQLite: a run of
    # 100,000 documents is compared in seconds, without reading its results into Python.
    counted: dict[str, list[str]] = defaultdict(list)
    if store.has_documents(run.id):
        for suite, base in bases.items():
            if base.run_id is not None and base.same_documents:
                counted[base.run_id].append(suite)
    found: dict[str, SuiteHistory] = {}
    for previous, suites in counted.items():
        found.update(_counted_histories(store, cache, run, cache.run(previous), suites,
                                        bases))
    rest = [suite for suite in bases if suite not in found]
    per_suite: dict[str, list[Outcome]] = defaultdict(list)
    if rest:
        for result in cache.results(run.id):
            per_suite[result.suite].append(result)
    for suite in rest:
        base = bases[suite]
        previous_run = cache.run(base.run_id) if base.run_id else None
        suite_history = _suite_history(cache, run, suite, per_suite[suite], base,
                                       previous_run)
        if suite_history is not None:
            found[suite] = suite_history
    return [found[suite] for suite in sorted(found)]


def _counted_histories(store: Store, cache: RunCache, run: Run, previous_run: Run,
                       suites: list[str], bases: dict[str, Baseline],
                       ) -> dict[str, SuiteHistory]:
    """`_suite_history` for suites whose baseline holds the same documents, from SQL
    counts and the changed results alone (the same definitions, tested against it)."""
    counts = {s: Counter({kind: 0 for kind in KINDS}) for s in suites}
    versions: dict[str, tuple[set, set]] = {s: (set(), set()) for s in suites}
    means: dict[str, dict[str, tuple[list, list]]] = {s: defaultdict(lambda: ([], []))
                                                      for s in suites}
    for (suite, task, fmt, version, status, grade, status_before, grade_before,
         version_before, apart, n) in store.compared_counts(run.id, previous_run.id, suites):
        counts[suite][_classify(status_before, grade_before, status, grade)] += n
        if version:
            versions[suite][0].add(version)
        if version_before and status_before is not None:
            versions[suite][1].add(version_before)
        if not apart:
            label = task_label(suite, task)
            sides = means[suite][f"{label} {fmt}"]
            sides[1].append((status, grade, n))
            if status_before is not None:
                sides[0].append((status_before, grade_before, n))
    gone: Counter[str] = Counter()
    for suite, task, fmt, status, grade, version, apart, n in store.gone_counts(
            run.id, previous_run.id, suites):
        gone[suite] += n
        if version:
            versions[suite][1].add(version)
        if not apart:
            label = task_label(suite, task)
            means[suite][f"{label} {fmt}"][0].append((status, grade, n))
    changes: dict[str, list[Change]] = defaultdict(list)
    for suite, corpus, document, task, status_before, grade_before, status, grade in \
            store.changed_results(run.id, previous_run.id, suites):
        changes[suite].append(Change(corpus, document, task,
                                     _classify(status_before, grade_before, status, grade),
                                     status_before, grade_before, status, grade))
    out = {}
    for suite in suites:
        if not sum(counts[suite].values()):
            continue  # nothing compared: it never ran here, nor on what its baseline had
        after, before = versions[suite]
        out[suite] = SuiteHistory(
            suite, run.id, previous_run.id,
            after.pop() if len(after) == 1 else (run.suites.get(suite) or {}).get("version"),
            before.pop() if len(before) == 1 else
            (previous_run.suites.get(suite) or {}).get("version"),
            dict(counts[suite]), changes[suite], gone[suite], bases[suite], 0,
            {key: (mean_of_counts(b), mean_of_counts(a))
             for key, (b, a) in sorted(means[suite].items())},
            None if cache.ran(run, suite) else cache.why_not_run(run, suite))
    return out


def _suite_history(cache: RunCache, run: Run, suite: str, everything: list[Outcome],
                   base: Baseline, previous_run: Run | None) -> SuiteHistory | None:
    """One suite's history; None when it never ran, neither here nor in its baseline."""
    if previous_run is not None and not base.same_documents:
        common, _, _ = overlap(cache.documents(run.id), cache.documents(previous_run.id))
    else:
        common = None  # every document
    before = {(r.corpus, r.document, r.task): r
              for r in (cache.results(previous_run.id) if previous_run else [])
              if r.suite == suite and r.status not in NOT_RUN
              and (common is None or (r.corpus, r.document) in common)}
    # A result here that is not one of the suite's (unavailable) counts only against one
    # the baseline had: a result that was ok and is now unavailable is a regression.
    results = [r for r in everything
               if r.status not in NOT_RUN or (r.corpus, r.document, r.task) in before]
    if not results:
        return None
    compared = [r for r in results if common is None or (r.corpus, r.document) in common]
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
        groups: dict[str, tuple[list[Outcome], list[Outcome]]] = defaultdict(
            lambda: ([], []))
        for side, rows in ((0, before.values()), (1, compared)):
            for r in rows:
                if (r.corpus, r.document) not in apart:
                    groups[f"{row_label(r)} {r.format}"][side].append(r)
        means = {key: (mean_grade(b), mean_grade(a)) for key, (b, a) in sorted(groups.items())}
    return SuiteHistory(
        suite, run.id, previous_run.id if previous_run else None,
        _version(results, run, suite),
        _version(list(before.values()), previous_run, suite) if previous_run else None,
        dict(counts), changes, sum(1 for k in before if k not in seen), base,
        len(results) - len(compared) if previous_run else 0, means,
        None if cache.ran(run, suite) else cache.why_not_run(run, suite))


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
        name = (f"{h.suite} unavailable this run: {h.unavailable};" if h.unavailable
                else f"{h.suite} {h.version or ''}")
        lines.append(f"{name} {where}{version}: "
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
