"""Agreement with people: the grades people gave, read from ratings files kept beside a
corpus, joined with a run's grades, and measured (exact, within one, mean signed difference,
quadratically weighted kappa, Spearman's rho) per format and suite.

A grade answers "what would a person looking at these pages say?" (DESIGN.md): these figures
are how we know whether it does. A ratings file is a TSV with the header
``document, suite, task, grade, rater, note`` (an optional ``corpus`` column pins a row to
one corpus of a run); ``document`` is the path relative to its corpus folder, exactly as
results store it. Several people may grade the same result: each row is one pair (harness,
person), and a person's later row for the same result replaces their earlier one.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from harness.errors import UsageError
from harness.records import JobResult, Status, Task
from harness.store import Run

COLUMNS = ("document", "suite", "task", "grade", "rater", "note")
REQUIRED = ("document", "suite", "task", "grade")
HEADER = "\t".join(COLUMNS)
GRADES = range(6)
TASKS = tuple(Task)
RATINGS_NAME = "RATINGS.tsv"  # in a corpus folder the project owns
# <corpus name>.tsv for corpora it does not own, in the project's corpus/ratings/
PROJECT_RATINGS = Path(__file__).resolve().parents[2] / "corpus" / "ratings"
FAR_APART = 2  # pairs this many grades apart or more are listed for a developer to look at


@dataclass(frozen=True)
class Rating:
    """One row of a ratings file: the grade one person gave one (document, suite, task)."""
    document: str
    suite: str
    task: str
    grade: int
    rater: str = ""
    note: str = ""
    corpus: str | None = None  # None: whichever corpus of the run holds the document
    source: str = ""  # file:line, to find the row again

    def row(self) -> str:
        return "\t".join(_cell(v) for v in (self.document, self.suite, self.task,
                                            str(self.grade), self.rater, self.note))


@dataclass(frozen=True)
class RatingsFile:
    path: Path
    ratings: tuple[Rating, ...]
    problems: tuple[str, ...]  # "file:line: why", one per row skipped


@dataclass(frozen=True)
class Location:
    """Where the ratings of one corpus of a run are read from, and where to add new ones."""
    corpus: str
    folder: Path
    looked: tuple[Path, ...]  # where its ratings may be, in the order they are read
    add_to: Path

    @property
    def read(self) -> tuple[Path, ...]:
        return tuple(p for p in self.looked if p.is_file())


@dataclass(frozen=True)
class Pair:
    corpus: str
    document: str
    format: str
    suite: str
    task: str
    harness: int
    person: int
    rater: str
    note: str

    @property
    def difference(self) -> int:
        return self.harness - self.person

    def to_json(self) -> dict[str, Any]:
        return {"corpus": self.corpus, "document": self.document, "format": self.format,
                "suite": self.suite, "task": self.task, "harness": self.harness,
                "person": self.person, "difference": self.difference, "rater": self.rater,
                "note": self.note}


@dataclass(frozen=True)
class Unmatched:
    """A rating with no graded result to pair it with in the run, and why."""
    rating: Rating
    why: str

    def to_json(self) -> dict[str, Any]:
        r = self.rating
        return {"corpus": r.corpus, "document": r.document, "suite": r.suite, "task": r.task,
                "grade": r.grade, "rater": r.rater, "source": r.source, "why": self.why}


@dataclass(frozen=True)
class Figures:
    """The agreement of one group of pairs (a format and suite, or all of them)."""
    format: str
    suite: str
    n: int
    raters: int
    exact: float | None
    within_one: float | None
    mean_difference: float | None  # harness − person: above 0, the harness is kinder
    kappa: float | None  # quadratically weighted Cohen's kappa
    rho: float | None  # Spearman's; None when either side is constant

    def to_json(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 3)
        return {"format": self.format, "suite": self.suite, "n": self.n, "raters": self.raters,
                "exact": r(self.exact), "within_one": r(self.within_one),
                "mean_difference": r(self.mean_difference), "kappa": r(self.kappa),
                "rho": r(self.rho)}


@dataclass(frozen=True)
class Agreement:
    run_id: str
    files: tuple[Path, ...]
    problems: tuple[str, ...]
    pairs: tuple[Pair, ...]
    unmatched: tuple[Unmatched, ...]
    superseded: int  # rows replaced by the same person's later row for the same result
    groups: tuple[Figures, ...] = field(default=())
    overall: Figures | None = None

    @property
    def raters(self) -> list[str]:
        return sorted({p.rater for p in self.pairs})

    @property
    def rated_results(self) -> int:
        return len({(p.corpus, p.document, p.suite, p.task) for p in self.pairs})

    def far_apart(self) -> list[Pair]:
        """What a developer looks at first: a person and the harness 2 or more grades apart."""
        return sorted((p for p in self.pairs if abs(p.difference) >= FAR_APART),
                      key=lambda p: (-abs(p.difference), p.corpus, p.document, p.suite, p.task,
                                     p.rater))

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run_id, "files": [str(p) for p in self.files],
                "problems": list(self.problems), "pairs": len(self.pairs),
                "rated_results": self.rated_results, "raters": self.raters,
                "superseded_rows": self.superseded,
                "groups": [g.to_json() for g in self.groups],
                "all": self.overall.to_json() if self.overall else None,
                "far_apart": [p.to_json() for p in self.far_apart()],
                "unmatched": [u.to_json() for u in self.unmatched]}


# --- statistics -------------------------------------------------------------------------

def weighted_kappa(harness: Sequence[int], person: Sequence[int]) -> float | None:
    """Cohen's kappa with quadratic weights over the grades 0–5 themselves (a weight is the
    squared difference in grades, so a missing middle grade does not close the gap, unlike
    labels numbered by rank). None when it is undefined: no pair, or both sides give one and
    the same grade throughout (no disagreement could be expected)."""
    if len(harness) != len(person):
        raise ValueError("kappa needs pairs")
    if not harness:
        return None
    size = len(GRADES)
    observed = np.zeros((size, size))
    np.add.at(observed, (np.asarray(harness), np.asarray(person)), 1.0)
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    grades = np.arange(size)
    weights = (grades[:, None] - grades[None, :]) ** 2
    chance = float((weights * expected).sum())
    if chance == 0:
        return None
    return 1.0 - float((weights * observed).sum()) / chance


def spearman(harness: Sequence[int], person: Sequence[int]) -> float | None:
    """Spearman's rho (ties ranked by their mean); None when undefined: fewer than two
    pairs, or one side constant."""
    if len(harness) < 2 or len(set(harness)) < 2 or len(set(person)) < 2:
        return None
    from scipy.stats import spearmanr  # scipy comes with scikit-image; imported when needed

    rho = float(spearmanr(harness, person).statistic)
    return None if math.isnan(rho) else rho


def figures(pairs: Sequence[Pair], format: str = "all", suite: str = "all") -> Figures:
    harness = [p.harness for p in pairs]
    person = [p.person for p in pairs]
    n = len(pairs)
    diffs = [h - q for h, q in zip(harness, person)]
    return Figures(
        format=format, suite=suite, n=n, raters=len({p.rater for p in pairs}),
        exact=sum(d == 0 for d in diffs) / n if n else None,
        within_one=sum(abs(d) <= 1 for d in diffs) / n if n else None,
        mean_difference=sum(diffs) / n if n else None,
        kappa=weighted_kappa(harness, person), rho=spearman(harness, person))


# --- ratings files ----------------------------------------------------------------------

def _cell(value: str) -> str:
    """A TSV cell: a tab or line break inside it would split the row, so it becomes a space."""
    return re.sub(r"[\t\r\n]+", " ", value)


def read_ratings(path: Path, corpus: str | None = None) -> RatingsFile:
    """Every good row of a ratings file; each bad row is named with its line number and
    skipped. A repeated header line (an exported file appended whole) is skipped too."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return RatingsFile(path, (), (f"{path}: cannot be read: {exc}",))
    header: list[str] | None = None
    ratings: list[Rating] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        names = [f.strip().lower() for f in fields]
        if header is None:
            missing = [c for c in REQUIRED if c not in names]
            if missing:
                return RatingsFile(path, (), (f"{path}:{number}: the first line must be the "
                                              f"header ({HEADER}); it lacks "
                                              f"{', '.join(missing)}",))
            header = names
            continue
        if names == header:
            continue
        rating, why = _row(dict(zip(header, fields)), len(fields), len(header), corpus,
                           f"{path}:{number}")
        if rating is None:
            problems.append(f"{path}:{number}: {why}; row skipped")
        else:
            ratings.append(rating)
    if header is None:
        problems.append(f"{path}: empty (no header line {HEADER})")
    return RatingsFile(path, tuple(ratings), tuple(problems))


def _row(row: dict[str, str], found: int, expected: int, corpus: str | None,
         source: str) -> tuple[Rating | None, str]:
    if found > expected:
        return None, f"{found} fields where the header has {expected} (a tab inside a note?)"
    document, suite = row.get("document", ""), row.get("suite", "").strip()
    task, grade = row.get("task", "").strip(), row.get("grade", "").strip()
    if not document.strip():
        return None, "no document"
    if not suite:
        return None, "no suite"
    if task not in TASKS:
        return None, f"unknown task {task!r} (known: {', '.join(TASKS)})"
    if not re.fullmatch(r"[0-5]", grade):
        return None, f"grade {grade!r} is not a whole number from 0 to 5"
    return Rating(document, suite, task, int(grade), row.get("rater", "").strip(),
                  row.get("note", "").strip(), (row.get("corpus") or "").strip() or corpus,
                  source), ""


def append_ratings(path: Path, ratings: Iterable[Rating]) -> int:
    """Add rows to a ratings file, writing the header first when the file is new."""
    rows = [r.row() for r in ratings]
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8", newline="\n") as fh:
        if new:
            fh.write(HEADER + "\n")
        fh.writelines(row + "\n" for row in rows)
    return len(rows)


def locations(run: Run, corpora: Iterable[str], project: Path = PROJECT_RATINGS
              ) -> list[Location]:
    """Where each corpus of the run keeps its ratings: RATINGS.tsv in its folder, and, for a
    corpus outside the project (read-only, shared), the project's ratings/<name>.tsv. New
    ratings go to the first of those that exists and can be written, else to RATINGS.tsv
    inside the project and to ratings/<name>.tsv outside it. `corpora` are the run's corpus
    names, as results store them."""
    names = sorted(set(corpora))
    found = []
    project = project.resolve()
    own = project.parent
    for folder in sorted({Path(p) for p in run.settings.get("corpora", [])}):
        name = _corpus_name(folder, names)
        beside = folder / RATINGS_NAME
        owned = folder.resolve().is_relative_to(own)
        kept = project / f"{name}.tsv"
        candidates = [beside] if owned else [beside, kept]
        existing = [p for p in candidates if p.is_file() and os.access(p, os.W_OK)]
        found.append(Location(name, folder, tuple(candidates),
                              existing[0] if existing else beside if owned else kept))
    return found


def _corpus_name(folder: Path, names: list[str]) -> str:
    """The name results store for a corpus folder: the folder's name, with -2, -3... when
    two folders of a run share one (harness.corpus.discover numbers them in turn)."""
    base = folder.resolve().name or "corpus"
    taken = [n for n in names if n == base or re.fullmatch(re.escape(base) + r"-\d+", n)]
    return taken[0] if len(taken) == 1 else base


def gather(run: Run, corpora: Iterable[str], explicit: Sequence[Path] | None = None,
           project: Path = PROJECT_RATINGS) -> list[RatingsFile]:
    """The ratings files of a run: those given (each must exist: a usage error otherwise),
    or else those its corpora keep."""
    if explicit:
        missing = [str(p) for p in explicit if not p.is_file()]
        if missing:
            raise UsageError(f"ratings file not found: {', '.join(missing)}")
        return [read_ratings(p) for p in explicit]
    return [read_ratings(path, loc.corpus) for loc in locations(run, corpora, project)
            for path in loc.read]


# --- joining ----------------------------------------------------------------------------

def measure(run_id: str, files: Sequence[RatingsFile], results: Iterable[JobResult]
            ) -> Agreement:
    """Each rating paired with the run's graded result for the same (document, suite, task);
    the figures per format and suite, and over all pairs."""
    by_key = {(r.corpus, r.document, r.suite, r.task): r for r in results}
    corpora_of: dict[str, set[str]] = defaultdict(set)
    for corpus, document, _, _ in by_key:
        corpora_of[document].add(corpus)
    latest: dict[tuple[str, str, str, str, str], tuple[int, Rating]] = {}
    unmatched: list[tuple[int, Unmatched]] = []  # by the rating's place in the files
    rows = 0
    for place, rating in enumerate(r for f in files for r in f.ratings):
        where = sorted(corpora_of.get(rating.document, set()))
        if rating.corpus is not None:
            where = [rating.corpus] if rating.corpus in where else []
        if not where:
            unmatched.append((place, Unmatched(rating, "document not in this run")))
            continue
        if len(where) > 1:
            unmatched.append((place, Unmatched(
                rating, f"document in several corpora of this run ({', '.join(where)}): "
                        "add a corpus column")))
            continue
        rows += 1
        latest[(where[0], rating.document, rating.suite, rating.task, rating.rater)] = (
            place, rating)
    pairs = []
    for (corpus, document, suite, task, rater), (place, rating) in latest.items():
        result = by_key.get((corpus, document, suite, task))
        if result is None:
            why = f"no {suite} {task} result for it"
        elif result.status is not Status.OK:
            why = f"the result is {result.status}, not graded"
        elif result.grade is None:
            why = "the result is ok but has no grade"
        else:
            pairs.append(Pair(corpus, document, result.format, suite, task, result.grade,
                              rating.grade, rater, rating.note))
            continue
        unmatched.append((place, Unmatched(rating, why)))
    pairs.sort(key=lambda p: (p.format, p.suite, p.corpus, p.document, p.task, p.rater))
    grouped: dict[tuple[str, str], list[Pair]] = defaultdict(list)
    for p in pairs:
        grouped[(p.format, p.suite)].append(p)
    return Agreement(
        run_id=run_id, files=tuple(f.path for f in files),
        problems=tuple(p for f in files for p in f.problems), pairs=tuple(pairs),
        unmatched=tuple(u for _, u in sorted(unmatched, key=lambda pu: pu[0])),
        superseded=rows - len(latest),
        groups=tuple(figures(ps, fmt, suite) for (fmt, suite), ps in sorted(grouped.items())),
        overall=figures(pairs) if pairs else None)


# --- for the report ---------------------------------------------------------------------

@dataclass(frozen=True)
class ReportAgreement:
    """What the report shows: the figures (None without any rating), where each corpus's
    ratings live, and what people said about each result (for the document pages)."""
    agreement: Agreement | None
    locations: tuple[Location, ...]
    people: dict[tuple[str, str, str, str], tuple[Pair, ...]]  # (corpus, doc, suite, task)

    def add_to(self, corpus: str) -> str:
        for loc in self.locations:
            if loc.corpus == corpus:
                return str(loc.add_to)
        return str((PROJECT_RATINGS / f"{corpus}.tsv").resolve())

    def to_json(self) -> dict[str, Any]:
        data = (self.agreement.to_json() if self.agreement else
                {"pairs": 0, "groups": [], "all": None})
        data["locations"] = [{"corpus": loc.corpus, "folder": str(loc.folder),
                              "read": [str(p) for p in loc.read],
                              "add_to": str(loc.add_to)} for loc in self.locations]
        return data


def for_report(run: Run, results: Sequence[JobResult], project: Path = PROJECT_RATINGS
               ) -> ReportAgreement:
    """The agreement of a run from the ratings its corpora keep; never raises on a bad
    file (its problems are listed instead): a report is built whatever people wrote."""
    corpora = {r.corpus for r in results}
    places = tuple(locations(run, corpora, project))
    files = gather(run, corpora, None, project)
    if not any(f.ratings or f.problems for f in files):
        return ReportAgreement(None, places, {})
    agreement = measure(run.id, files, results)
    people: dict[tuple[str, str, str, str], list[Pair]] = defaultdict(list)
    for p in agreement.pairs:
        people[(p.corpus, p.document, p.suite, p.task)].append(p)
    return ReportAgreement(agreement, places, {k: tuple(v) for k, v in people.items()})


def write_json(path: Path, report: ReportAgreement) -> None:
    path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
