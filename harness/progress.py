"""Progress of a sweep: a Rich bar on a terminal (done/total, failures per suite, ETA);
on a pipe (CI logs), one line per result that is not `ok` and a summary line at most every
`interval_seconds`, so a night of tens of thousands of documents stays readable."""

from __future__ import annotations

import sys
import time
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from harness.pipeline import JobResult

QUIET = frozenset({"ok", "unavailable", "unsupported"})  # not worth a line of their own


class SweepProgress:
    def __init__(self, total: int, plain: bool | None = None, already_done: int = 0,
                 interval_seconds: float = 10.0) -> None:
        self.total = total
        self.done = already_done
        self.failures: Counter[str] = Counter()
        self.plain = not sys.stderr.isatty() if plain is None else plain
        self.interval_seconds = interval_seconds
        self._started = time.monotonic()
        self._first = already_done
        self._last_line = self._started
        self._bar: Progress | None = None
        if not self.plain:
            self._bar = Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[failures]}"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False)
            self._task = self._bar.add_task("sweep", total=total, completed=already_done,
                                            failures="")

    def __enter__(self) -> SweepProgress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._bar.stop()
        elif self.done > self._first:
            self._summary()

    def _failure_text(self) -> str:
        return ", ".join(f"{k}: {n}" for k, n in sorted(self.failures.items()))

    def advance(self, result: JobResult) -> None:
        self.done += 1
        if result.status not in QUIET:
            self.failures[f"{result.suite} {result.status}"] += 1
        if self._bar:
            self._bar.update(self._task, advance=1, failures=self._failure_text())
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
        elapsed = time.monotonic() - self._started
        ran = self.done - self._first
        if ran <= 0 or elapsed <= 0:
            return None
        return (self.total - self.done) * elapsed / ran

    def _summary(self) -> None:
        self._last_line = time.monotonic()
        eta = self.eta_seconds()
        eta_text = (f", ETA {int(eta // 60)}:{int(eta % 60):02d}"
                    if eta is not None and self.done < self.total else "")
        share = 100 * self.done / self.total if self.total else 100
        print(f"[{self.done}/{self.total}] {share:.0f} % done{eta_text}; not ok: "
              f"{self._failure_text() or 'none'}", file=sys.stderr, flush=True)
