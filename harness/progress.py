"""Progress of a sweep: a Rich bar on a terminal (done/total, failures per suite, ETA);
on a pipe (CI logs), one line per result that is not `ok` and a summary line at most every
`interval_seconds`, so a night of tens of thousands of documents stays readable.

A resumed run counts what its earlier part stored, failures included; the ETA is the time
per result actually computed, so results taken at once (stored before, reused from the
cache, or not runnable) neither shorten nor lengthen it."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Iterable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from harness.records import JobResult, Status

QUIET = frozenset({Status.OK, Status.UNAVAILABLE, Status.UNSUPPORTED})  # not worth a line of their own
INSTANT = frozenset({Status.UNAVAILABLE, Status.UNSUPPORTED})  # known without running anything


class SweepProgress:
    def __init__(self, total: int, plain: bool | None = None, already_done: int = 0,
                 interval_seconds: float = 10.0, earlier: Iterable[JobResult] = (),
                 to_run: int | None = None) -> None:
        """`earlier`: results a resumed run already holds (their failures are counted);
        `to_run`: the jobs that start a suite, of `total` (the rest are known at once: not
        installed, format not opened, reused), so that "73 % done" is not read as work done."""
        self.to_run = to_run
        self.total = total
        self.done = already_done
        self.failures: Counter[str] = Counter(
            f"{r.suite} {r.status}" for r in earlier if r.status not in QUIET)
        self.computed = 0  # results computed by this process, the ETA's measure
        self.plain = not sys.stderr.isatty() if plain is None else plain
        self.interval_seconds = interval_seconds
        self._started = time.monotonic()
        self._first = already_done
        self._last_line = self._started
        self._summarised = -1  # `done` when the last summary line was printed
        self._bar: Progress | None = None
        if not self.plain:
            self._bar = Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[failures]}"),
                                 TextColumn("{task.fields[eta]}"),
                                 console=Console(stderr=True), transient=False)
            self._task = self._bar.add_task("sweep", total=total, completed=already_done,
                                            failures=self._failure_text(), eta="")

    def __enter__(self) -> SweepProgress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._bar.stop()
        elif self.done > self._first and self.done != self._summarised:
            self._summary()

    def _failure_text(self) -> str:
        return ", ".join(f"{k}: {n}" for k, n in sorted(self.failures.items()))

    def advance(self, result: JobResult) -> None:
        self.done += 1
        if result.suite_run.cached_from_run or result.status in INSTANT:
            if self.computed == 0:  # the clock starts with the first computed result
                self._started = time.monotonic()
        else:
            self.computed += 1
        if result.status not in QUIET:
            self.failures[f"{result.suite} {result.status}"] += 1
        if self._bar:
            self._bar.update(self._task, advance=1, failures=self._failure_text(),
                             eta=self._eta_text())
            return
        if result.status not in QUIET:
            print(f"[{self.done}/{self.total}] {result.suite} {result.task} "
                  f"{result.corpus}/{result.document}: {result.status} "
                  f"({result.total_seconds:.1f} s) {result.message}",
                  file=sys.stderr, flush=True)
        now = time.monotonic()
        if now - self._last_line >= self.interval_seconds:
            self._summary()

    def eta_seconds(self) -> float | None:
        """Seconds left: what remains, at the pace of the results computed so far."""
        elapsed = time.monotonic() - self._started
        if self.computed <= 0 or elapsed <= 0:
            return None
        return (self.total - self.done) * elapsed / self.computed

    def _eta_text(self) -> str:
        eta = self.eta_seconds()
        if eta is None or self.done >= self.total:
            return ""
        hours, rest = divmod(int(eta), 3600)
        return (f"ETA {hours}:{rest // 60:02d}:{rest % 60:02d}" if hours
                else f"ETA {rest // 60}:{rest % 60:02d}")

    def _summary(self) -> None:
        self._last_line = time.monotonic()
        self._summarised = self.done
        eta_text = self._eta_text()
        share = 100 * self.done / self.total if self.total else 100
        eta_text = f", {eta_text}" if eta_text else ""
        jobs = f" ({self.computed} of {self.to_run} suite jobs run)" if self.to_run else ""
        print(f"[{self.done}/{self.total}] {share:.0f} % done{jobs}{eta_text}; not ok: "
              f"{self._failure_text() or 'none'}", file=sys.stderr, flush=True)
