"""Progress of a sweep: a Rich bar on a terminal, plain lines otherwise (CI logs)."""

from __future__ import annotations

import sys
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from harness.pipeline import JobResult


class SweepProgress:
    def __init__(self, total: int, plain: bool | None = None) -> None:
        self.total = total
        self.done = 0
        self.failures: Counter[str] = Counter()
        self.plain = not sys.stderr.isatty() if plain is None else plain
        self._bar: Progress | None = None
        if not self.plain:
            self._bar = Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[failures]}"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False)
            self._task = self._bar.add_task("sweep", total=total, failures="")

    def __enter__(self) -> SweepProgress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._bar.stop()

    def advance(self, result: JobResult) -> None:
        self.done += 1
        if result.status != "ok":
            self.failures[f"{result.suite} {result.status}"] += 1
        if self._bar:
            summary = ", ".join(f"{k}: {n}" for k, n in sorted(self.failures.items()))
            self._bar.update(self._task, advance=1, failures=summary)
            return
        grade = f"grade {result.grade}" if result.grade is not None else result.status
        print(f"[{self.done}/{self.total}] {result.suite} {result.task} "
              f"{result.corpus}/{result.document}: "
              f"{grade} ({result.total_seconds:.1f} s) {result.message}",
              file=sys.stderr, flush=True)
