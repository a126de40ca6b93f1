"""What a result counts for in every mean, trend and gate: a failure is grade 0.

- *Mean grade*: over the results where the suite got the document (`ok` or a failure);
  a failure (`failed`, `empty`, `crashed`, `timed_out`) counts as grade 0, so a night of
  timeouts lowers the mean instead of leaving the survivors to raise it. Results where
  nothing ran (`unsupported`, `unavailable`) and `ok` results with nothing to be graded
  against are left out, and counted.
- *Below grade G* (`fidelity run --fail-below G`): the same results, the same zeros: a
  graded result under G, or a failure when G > 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from harness.records import JobResult, Status, Task

NOT_RUN = frozenset({Status.UNAVAILABLE.value})  # not a result of the suite at all
NOTHING_RAN = frozenset({Status.UNAVAILABLE.value, Status.UNSUPPORTED.value})  # for means
FAILED = frozenset({Status.FAILED.value, Status.EMPTY.value, Status.CRASHED.value,
                    Status.TIMED_OUT.value})  # the suite got the document and failed: grade 0


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


def counted_grade(result: JobResult) -> int | None:
    """The grade a result counts for: its grade, 0 for a failure, None when it is left out."""
    if result.status in FAILED:
        return 0
    if result.status == Status.OK.value:
        return result.grade
    return None


def mean_grade(results: Iterable[JobResult]) -> MeanGrade:
    """The mean grade of results, failures counted as 0 (see the module's definitions)."""
    return mean_of_counts((r.status, r.grade, 1) for r in results)


def mean_of_counts(counts: Iterable[tuple[str, int | None, int]]) -> MeanGrade:
    """`mean_grade` of results given as (status, grade, how many), as SQL counts them."""
    total, graded, failed, left_out = 0, 0, 0, 0
    for status, grade, n in counts:
        if status in FAILED:
            failed += n
        elif status == Status.OK.value and grade is not None:
            graded += n
            total += grade * n
        else:
            left_out += n
    counted = graded + failed
    return MeanGrade(round(total / counted, 2) if counted else None, graded, failed, left_out)


def below_grade(results: Iterable[JobResult], fail_below_grade: int) -> list[JobResult]:
    """Results under the threshold of `--fail-below`, failures counted as 0 as in the means:
    a night where everything timed out is below any threshold above 0."""
    return [r for r in results
            if (grade := counted_grade(r)) is not None and grade < fail_below_grade]


def row_label(result: JobResult) -> str:
    """A suite's row as the report and history name it: showing and saving back are graded
    apart ("libreoffice", "libreoffice (save)")."""
    return task_label(result.suite, result.task)


def task_label(suite: str, task: str) -> str:
    """`row_label` of a suite and task given apart (as SQL counts return them)."""
    return suite if task == Task.SHOW else f"{suite} ({task})"
