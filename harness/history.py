"""Each (document, suite, task) of a run against the same suite's previous run: what got
worse, what got better, what is new. A regression is what QA must not miss."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from harness.pipeline import JobResult
from harness.store import Run, Store
from renderers.base import Status

NOT_RUN = frozenset({Status.UNAVAILABLE.value})
KINDS = ("regression", "fix", "unchanged", "new")


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
class SuiteHistory:
    suite: str
    run_id: str
    previous_run_id: str | None
    version: str | None
    previous_version: str | None
    counts: dict[str, int]
    changes: list[Change] = field(default_factory=list)  # every one but `unchanged`
    gone: int = 0  # results the previous run had and this one has not

    @property
    def version_changed(self) -> bool:
        return self.previous_run_id is not None and self.version != self.previous_version

    def to_json(self) -> dict:
        data = asdict(self)
        data["version_changed"] = self.version_changed
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


def _version(results: list[JobResult], run: Run, suite: str) -> str | None:
    versions = sorted({r.suite_version for r in results if r.suite_version})
    if len(versions) == 1:
        return versions[0]
    return (run.suites.get(suite) or {}).get("version")


def history(store: Store, run_id: str | None = None) -> list[SuiteHistory]:
    """Per suite of the run: its changes since the last complete run that ran that suite."""
    run = store.run(run_id)
    runs = store.runs()
    earlier = [r for r in runs[:[r.id for r in runs].index(run.id)] if r.state == "complete"]
    current: dict[str, list[JobResult]] = {}
    for result in store.results(run.id):
        if result.status not in NOT_RUN:
            current.setdefault(result.suite, []).append(result)
    previous_cache: dict[str, list[JobResult]] = {}
    out = []
    for suite, results in sorted(current.items()):
        previous_run = None
        for candidate in reversed(earlier):
            if candidate.id not in previous_cache:
                previous_cache[candidate.id] = list(store.results(candidate.id))
            if any(r.suite == suite and r.status not in NOT_RUN
                   for r in previous_cache[candidate.id]):
                previous_run = candidate
                break
        before = {(r.corpus, r.document, r.task): r
                  for r in previous_cache.get(previous_run.id, [])
                  if r.suite == suite and r.status not in NOT_RUN} if previous_run else {}
        counts: Counter[str] = Counter({kind: 0 for kind in KINDS})
        changes = []
        for result in results:
            old = before.get((result.corpus, result.document, result.task))
            kind = classify(old, result)
            counts[kind] += 1
            if kind != "unchanged":
                changes.append(Change(result.corpus, result.document, result.task, kind,
                                      old.status if old else None, old.grade if old else None,
                                      result.status, result.grade))
        seen = {(r.corpus, r.document, r.task) for r in results}
        out.append(SuiteHistory(
            suite, run.id, previous_run.id if previous_run else None,
            _version(results, run, suite),
            _version(list(before.values()), previous_run, suite) if previous_run else None,
            dict(counts), changes, sum(1 for k in before if k not in seen)))
    return out


def regressions(histories: list[SuiteHistory]) -> int:
    return sum(h.counts.get("regression", 0) for h in histories)


def summary_lines(histories: list[SuiteHistory], limit: int = 20) -> list[str]:
    lines = []
    for h in histories:
        if h.previous_run_id is None:
            lines.append(f"{h.suite} {h.version or ''}: first run of this suite "
                         f"({h.counts['new']} result(s))")
            continue
        version = (f"; new version {h.previous_version} -> {h.version}"
                   if h.version_changed else "")
        lines.append(f"{h.suite} {h.version or ''} since run {h.previous_run_id}{version}: "
                     + ", ".join(f"{h.counts[k]} {k}" for k in KINDS)
                     + (f", {h.gone} gone" if h.gone else ""))
        shown = [c for c in h.changes if c.kind == "regression"][:limit]
        lines += [f"  regression: {c.describe()}" for c in shown]
    return lines
