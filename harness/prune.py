"""Retention: a store keeps every result for ever, and the artifacts (page images, PDFs,
saved files) of its last N complete runs only, plus those of any run a regression points at.

Which runs keep their artifacts:
- the last `keep_runs` *complete* runs, and any run one of them regressed against (the run
  `fidelity history` compares it with, when a result got worse), so a regression can still
  be shown against the pages it had before;
- every run not complete (running, or interrupted and waiting for `--resume`): it is never
  counted among the N nor pruned, as its files are still being written or will be reused.
Of a pruned run, the files a cache entry's result names stay: a later run reuses a cached
result by hard-linking its files from the run that made it, so they must still be there.

Everything else under a pruned run's artifacts folder goes, and so do the page images of
that run's report folder (hard links to the same files: left there, they would free
nothing). The store records the run as pruned, and its report, rebuilt, says "artifacts
pruned" in words instead of showing broken images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from harness.errors import UsageError
from harness.history import history
from harness.history.compare import RunCache
from harness.report import build_report
from harness.store import Run, Store, artifacts_root


@dataclass(frozen=True)
class PrunedRun:
    run_id: str
    files: int  # deleted, in the artifacts folder and the report's pages
    freed_bytes: int  # bytes no other link still held: what the disk got back


@dataclass(frozen=True)
class Pruning:
    kept: tuple[str, ...]  # runs whose artifacts were kept
    pruned: tuple[PrunedRun, ...]
    protected_files: int  # files of pruned runs kept because a kept run or the cache uses them
    dry_run: bool
    reports_rebuilt: tuple[str, ...] = field(default_factory=tuple)
    why_kept: dict[str, str] = field(default_factory=dict)  # run id -> why it was kept

    @property
    def freed_bytes(self) -> int:
        return sum(p.freed_bytes for p in self.pruned)

    def lines(self) -> list[str]:
        verb = "would free" if self.dry_run else "freed"
        out = [f"kept the artifacts of {len(self.kept)} run(s):"]
        out += [f"  {run}: {self.why_kept.get(run, 'kept')}" for run in self.kept]
        for p in self.pruned:
            out.append(f"pruned {p.run_id}: {p.files} file(s), {verb} "
                       f"{p.freed_bytes / 1e6:.1f} MB")
        if self.protected_files:
            out.append(f"{self.protected_files} file(s) of pruned runs kept: a kept run or "
                       "the cache still uses them")
        out.append(f"{verb} {self.freed_bytes / 1e6:.1f} MB in all; every result is kept")
        return out


def kept_runs(store: Store, keep_runs: int) -> list[Run]:
    """The last `keep_runs` complete runs, every run one of them regressed against in
    history, and every run that is not complete (running or interrupted: never pruned)."""
    why = why_kept(store, keep_runs)
    return [r for r in store.runs() if r.id in why]


def why_kept(store: Store, keep_runs: int) -> dict[str, str]:
    """Each kept run, with the reason in words (the output says why a run stayed)."""
    if keep_runs < 1:
        raise UsageError("--keep-runs must be at least 1: the latest run keeps its artifacts")
    runs = store.runs()
    latest = [r for r in runs if r.state == "complete"][-keep_runs:]
    cache = RunCache(store)
    why = {r.id: f"{r.state}, never pruned" for r in runs if r.state != "complete"}
    why.update({r.id: f"one of the last {keep_runs} complete run(s)" for r in latest})
    for run in latest:
        for h in history(store, run.id, cache):
            if h.previous_run_id is not None and h.counts.get("regression") \
                    and h.previous_run_id not in why:
                why[h.previous_run_id] = (f"run {run.id} regressed against it "
                                          f"({h.suite}: {h.counts['regression']} result(s))")
    return why


def _used_files(store: Store, pruned: list[str], root: Path) -> set[Path]:
    """Files of the runs being pruned that must stay: those the cache points at. (A kept
    run's files are in its own folder, which is not pruned.)"""
    return {Path(os.path.normpath(root / run_id / rel))
            for run_id, rel in store.cached_artifact_files(pruned)}


def _delete(path: Path, dry_run: bool, seen: dict[tuple[int, int], int]) -> int:
    """Delete one file; the bytes it gives back: its size when this was its last link, else
    0. `seen` counts the links of each inode already removed (or, in a dry run, that would
    have been), so a dry run and a real one count the same."""
    stat = path.stat()
    inode = (stat.st_dev, stat.st_ino)
    # links left before this one goes: a real unlink lowers st_nlink, a dry run does not
    left = stat.st_nlink - (seen.get(inode, 0) if dry_run else 0)
    seen[inode] = seen.get(inode, 0) + 1
    if not dry_run:
        path.unlink()
    return stat.st_size if left == 1 else 0


def _prune_folder(folder: Path, used: set[Path], dry_run: bool,
                  seen: dict[tuple[int, int], int]) -> tuple[int, int, int]:
    """(files deleted, bytes freed, files kept because used) under `folder`."""
    files = freed = protected = 0
    if not folder.is_dir():
        return 0, 0, 0
    for directory, _, names in os.walk(folder, topdown=False):
        for name in names:
            path = Path(os.path.normpath(Path(directory) / name))
            if path in used:
                protected += 1
                continue
            freed += _delete(path, dry_run, seen)
            files += 1
        if not dry_run and directory != str(folder):
            try:
                os.rmdir(directory)
            except OSError:
                pass  # not empty: a used file is still in it
    return files, freed, protected


def prune(store: Store, keep_runs: int, reports_root: Path | None = None,
          dry_run: bool = False) -> Pruning:
    """Delete the artifacts of every run but the kept ones (see the module), and the page
    images of their reports under `reports_root`; rebuild those reports so that they say
    "artifacts pruned". Results, runs and the cache stay in the store."""
    why = why_kept(store, keep_runs)
    kept = [r for r in store.runs() if r.id in why]
    kept_ids = {r.id for r in kept}
    candidates = [run for run in store.runs() if run.id not in kept_ids]
    root = artifacts_root(store.path)
    used = _used_files(store, [run.id for run in candidates], root)
    seen: dict[tuple[int, int], int] = {}
    pruned, protected, rebuilt = [], 0, []
    for run in candidates:
        files, freed, held = _prune_folder(root / run.id, used, dry_run, seen)
        report_pages = reports_root / run.id / "pages" if reports_root else None
        if report_pages is not None:
            # the report's links to files that stay, stay too: its rebuilt pages show them
            shown = {report_pages / p.relative_to(root / run.id) for p in used
                     if p.is_relative_to(root / run.id)}
            more, more_freed, _ = _prune_folder(report_pages, shown, dry_run, seen)
            files, freed = files + more, freed + more_freed
        protected += held
        if not files and store.pruned(run.id):
            continue  # pruned before, nothing new
        pruned.append(PrunedRun(run.id, files, freed))
        if dry_run:
            continue
        store.mark_pruned(run.id, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          files, freed)
        if reports_root is not None and (reports_root / run.id / "index.html").is_file():
            build_report(store, run.id, reports_root, point_latest=False)
            rebuilt.append(run.id)
    return Pruning(tuple(r.id for r in kept), tuple(pruned), protected, dry_run,
                   tuple(rebuilt), why)
