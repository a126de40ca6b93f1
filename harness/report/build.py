"""The HTML report: a matrix of grades, and a page per document with pages side by side."""

from __future__ import annotations

import os
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.pipeline import TASK_SHOW, JobResult
from harness.report.exports import write_csv, write_json
from harness.store import Store
from harness.sweep import artifacts_root
from renderers.base import Status

FAILURE_STATUSES = [s.value for s in Status if s is not Status.OK]


@dataclass
class Cell:
    graded: list[int] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def mean(self) -> float | None:
        return round(mean(self.graded), 2) if self.graded else None

    @property
    def ungraded(self) -> int:
        """Results that rendered but had nothing trustworthy to be graded against."""
        return self.statuses["ok"] - len(self.graded)

    @property
    def failures(self) -> dict[str, int]:
        return {s: n for s, n in self.statuses.items() if s != "ok"}


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("harness.report", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["grade_class"] = lambda g: "na" if g is None else f"g{int(round(g))}"
    return env


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def row_label(result: JobResult) -> str:
    """A suite's row: showing a document and saving it back are graded apart."""
    return result.suite if result.task == TASK_SHOW else f"{result.suite} ({result.task})"


def matrix(results: list[JobResult]) -> tuple[list[str], list[str], dict[tuple[str, str], Cell]]:
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    for r in results:
        cell = cells[(row_label(r), r.format)]
        cell.statuses[r.status] += 1
        if r.grade is not None:
            cell.graded.append(r.grade)
    suites = sorted({row_label(r) for r in results})
    formats = sorted({r.format for r in results})
    return suites, formats, cells


def build_report(store: Store, run_id: str | None, reports_root: Path) -> Path:
    """Write reports_root/<run-id>/ and point reports_root/latest at it."""
    run = store.run(run_id)
    results = list(store.results(run.id))
    documents = store.documents(run.id)
    out = reports_root / run.id
    if out.exists():
        shutil.rmtree(out)
    (out / "documents").mkdir(parents=True)
    artifacts = artifacts_root(store.path) / run.id

    by_doc: dict[tuple[str, str], dict[str, JobResult]] = defaultdict(dict)
    for r in results:
        by_doc[(r.corpus, r.document)][row_label(r)] = r
    missing_images = 0
    for r in results:
        for rel in (r.details.get("pages", []) + r.details.get("reference_pages", [])
                    + r.details.get("diff_pages", [])):
            source = artifacts / rel
            if source.is_file():
                _link_or_copy(source, out / "pages" / rel)
            else:
                missing_images += 1

    suites, formats, cells = matrix(results)
    env = _environment()
    common = {"run": run, "suites": suites, "failure_statuses": FAILURE_STATUSES}
    for doc in documents:
        doc_results = by_doc.get((doc["corpus"], doc["path"]), {})
        (out / "documents" / f"{doc['key']}.html").write_text(env.get_template(
            "document.html").render(doc=doc, results=doc_results, rows=_page_rows(doc_results),
                                    root="../", **common), encoding="utf-8")
    status_counts = {s: Counter(r.status for r in results if row_label(r) == s) for s in suites}
    (out / "index.html").write_text(env.get_template("index.html").render(
        documents=documents, by_doc=by_doc, formats=formats, cells=cells,
        status_counts=status_counts, missing_images=missing_images, root="",
        total_results=len(results), **common), encoding="utf-8")
    shutil.copyfile(Path(__file__).parent / "templates" / "style.css", out / "style.css")
    write_json(out / "results.json", run, results)
    write_csv(out / "results.csv", results)
    _point_latest(reports_root, run.id)
    return out


def _page_rows(results: dict[str, JobResult]) -> list[dict[str, Any]]:
    """Rows of the side-by-side view: the reference page, then each suite's page."""
    results = {name: r for name, r in results.items() if r.task == TASK_SHOW}
    reference = next((r.details.get("reference_pages") for r in results.values()
                      if r.details.get("reference_pages")), [])
    longest = max([len(reference)] + [len(r.details.get("pages", [])) for r in results.values()])
    rows = []
    for i in range(longest):
        rows.append({
            "number": i + 1,
            "reference": reference[i] if i < len(reference) else None,
            "suites": {name: (r.details.get("pages", [])[i]
                              if i < len(r.details.get("pages", [])) else None,
                              _pair(r, i + 1))
                       for name, r in results.items()},
        })
    return rows


def _pair(result: JobResult, page: int) -> dict[str, Any] | None:
    """The aligned pair a candidate page belongs to, with its overlay when one was kept."""
    diffs = result.details.get("diff_pages", [])
    for n, pair in enumerate(result.details.get("page_pairs", [])):
        if pair.get("candidate_page") == page:
            return {**pair, "diff": diffs[n] if n < len(diffs) else None}
    return None


def _point_latest(root: Path, run_id: str) -> None:
    latest = root / "latest"
    if latest.is_symlink() or latest.is_file():
        latest.unlink()
    elif latest.is_dir():
        shutil.rmtree(latest)
    try:
        latest.symlink_to(run_id, target_is_directory=True)
    except OSError:  # filesystems without symlinks get a copy
        shutil.copytree(root / run_id, latest)
