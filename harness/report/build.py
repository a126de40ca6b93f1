"""The HTML report, built from the store alone: an overview (recommendation per format,
matrices by format and by feature), a page per suite, per document, and the history.

It opens from disk and fetches nothing: style and script ship beside it (or inside it, with
`single_file`). Every string that comes from a document is escaped by Jinja's autoescape,
and none is ever placed inside the script.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.report.agreement import for_report
from harness.report.agreement import write_json as write_agreement
from harness.config import load_settings
from harness.history import history, trends
from harness.history.compare import RunCache
from harness.history.grades import counted_grade
from harness.report.analysis import (GRADES, NOT_RUN, ROBUSTNESS_STATUSES, distribution,
                                     failures, feature_matrix, malformed_documents, matrix,
                                     robustness, row_label, set_apart, shown_labels, worst)
from harness.report.charts import TrendLine, trend_chart
from harness.report.explain import SIGNALS, limit_explained, rubric, score_rows
from harness.report.exports import write_csv, write_json
from harness.report.recommend import TASKS, recommend, run_weights
from harness.report.verdict import MIN_DOCUMENTS, suite_name, verdicts
from harness.records import JobResult, Status, Task
from harness.store import ResultSummary, Run, Store, artifacts_root

TEMPLATES = Path(__file__).parent / "templates"
FAILURE_STATUSES = [s.value for s in Status if s is not Status.OK]
TASK_ORDER = [t.value for t in Task]
TREND_RUNS = 30  # history shows at most this many complete runs
# Above this many documents a run is large: its documents' table is split into pages of
# TABLE_PAGE rows, and only documents the report names or that did badly get a page of their
# own, at most PAGED_AT_MOST (see `worth_a_page`); the others are a row of that table.
LARGE_RUN = 2000
TABLE_PAGE = 500
PAGED_AT_MOST = 5000  # documents of a large run with a page: the named ones, then the worst
LOW_GRADE = 3  # in a large run, a document with a result at or below this (or failed) is
# worth a page, room permitting


def list_page(number: int) -> str:
    return f"list-{number:04d}.html"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("harness.report", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["grade_class"] = lambda g: "na" if g is None else f"g{int(round(g))}"
    return env


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link to the artifact: the report's pages take no room of their own. On
    another file system (or one without links) a copy, made once per file: the report
    must open without the store beside it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


@dataclass
class Links:
    """Where each page lives: files beside each other, or anchors in one file."""
    root: str
    single: bool
    images: Path  # the report's pages/ folder (or the artifacts, for a single file)
    with_pages: bool = True  # a single file may leave page images out, to stay small
    # A large run (LARGE_RUN): the documents that have a page of their own, and the page of
    # the documents' table each document is listed on; None: every document has a page.
    paged: frozenset[str] | None = None
    listed: dict[str, int] | None = None
    outputs: frozenset[str] = frozenset()  # suites' PDFs and saved files linked in pages/

    def page(self, kind: str, key: str = "") -> str:
        if self.single:
            return {"index": "#overview", "history": "#history",
                    "method": "#method"}.get(kind, f"#{kind}-{key}")
        if kind == "document" and self.paged is not None and key not in self.paged:
            return f"{self.root}documents/{list_page(self.listed.get(key, 1))}#{key}"
        return {"index": f"{self.root}index.html", "history": f"{self.root}history.html",
                "method": f"{self.root}method.html",
                "document": f"{self.root}documents/{key}.html",
                "suite": f"{self.root}suites/{_slug(key)}.html"}[kind]

    def file(self, rel: str | None) -> str:
        """A suite's PDF or saved file, when the report links it (never in a single file)."""
        return f"{self.root}pages/{rel}" if rel in self.outputs and not self.single else ""

    def image(self, rel: str | None) -> str:
        if rel is None or not self.with_pages:
            return ""
        if not self.single:
            return f"{self.root}pages/{rel}"
        path = self.images / rel
        if not path.is_file():
            return ""
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def build_report(store: Store, run_id: str | None, reports_root: Path,
                 single_file: Path | None = None, pages: bool = True,
                 point_latest: bool = True) -> Path:
    """Write reports_root/<run-id>/ and point reports_root/latest at it; or, with
    single_file, write that one self-contained HTML file instead (and return it), with the
    page images inside unless `pages` is false. `point_latest` false leaves `latest` as it
    is (an older run's report rebuilt after pruning).

    The figures are counted from the results' outcomes (Store.summaries); a document's full
    results are read only for its own page, so a run of 100,000 documents builds in minutes."""
    run = store.run(run_id)
    documents = store.documents(run.id)
    artifacts = artifacts_root(store.path) / run.id
    env = _environment()
    if single_file is not None:
        results = list(store.results(run.id))
        context = _context(store, run, results, documents, artifacts,
                           list(store.page_images(run.id)))
        context.update(_document_parts(context["by_doc"], run))
        links = Links("", True, artifacts, with_pages=pages)
        html = env.get_template("single.html").render(
            **context, links=links, style=(TEMPLATES / "style.css").read_text(),
            script=(TEMPLATES / "report.js").read_text())
        single_file.parent.mkdir(parents=True, exist_ok=True)
        single_file.write_text(html, encoding="utf-8")
        return single_file

    images = list(store.page_images(run.id))
    summaries = store.summaries(run.id)
    context = _context(store, run, summaries, documents, artifacts, images)
    out = reports_root / run.id
    if out.exists():
        shutil.rmtree(out)
    for folder in ("documents", "suites"):
        (out / folder).mkdir(parents=True)
    large = len(documents) > LARGE_RUN
    paged = listed = None
    if large:
        paged = worth_a_page(context, documents)
        listed = {d["key"]: i // TABLE_PAGE + 1 for i, d in enumerate(_table_order(documents))}
    # A pruned run links what is left of its artifacts (the files the cache still uses; the
    # next prune leaves their links alone) and says the rest was pruned. A large run links
    # the pages of the documents that have a page only.
    kept_images: set[str] = set()
    for rel in dict.fromkeys(images):  # a reference page is named by every suite's result
        if paged is not None and rel.split("/", 1)[0] not in paged:
            continue
        if (artifacts / rel).is_file():
            _link_or_copy(artifacts / rel, out / "pages" / rel)
            kept_images.add(rel.split("/", 1)[0])
    outputs = set()  # the suites' PDFs and saved files kept: one click from their result
    for rel in store.output_files(run.id):
        if (paged is None or rel.split("/", 1)[0] in paged) and (artifacts / rel).is_file():
            _link_or_copy(artifacts / rel, out / "pages" / rel)
            outputs.add(rel)
    context.update(large=large, paged=paged, table_pages=_table_pages(documents)
                   if large else [])
    del summaries

    def write(name: str, template: str, root: str, **extra: Any) -> None:
        links = Links(root, False, out / "pages", paged=paged, listed=listed,
                      outputs=frozenset(outputs))
        (out / name).write_text(env.get_template(template).render(
            {**context, **extra, "links": links, "root": root}), encoding="utf-8")

    write("index.html", "index.html", "")
    write("history.html", "history.html", "")
    write("method.html", "method.html", "")
    for suite in context["suite_pages"]:
        write(f"suites/{_slug(suite['name'])}.html", "suite.html", "../", suite=suite)
    for number, table in enumerate(context["table_pages"], start=1):
        write(f"documents/{list_page(number)}", "documents.html", "../", table=table,
              number=number)
    for doc in documents:
        if paged is not None and doc["key"] not in paged:
            continue
        key = (doc["corpus"], doc["path"])
        own = _by_label(store.results(run.id, document=key))
        write(f"documents/{doc['key']}.html", "document.html", "../", doc=doc,
              kept_images=doc["key"] in kept_images, **_document_parts({key: own}, run))
    for static in ("style.css", "report.js"):
        shutil.copyfile(TEMPLATES / static, out / static)
    write_json(out / "results.json", run, store.results(run.id, measures=False), documents,
               context["recommendations"], context["robustness"], context["malformed"])
    write_csv(out / "results.csv", store.results(run.id, measures=False),
              context["malformed"], store.score_names(run.id))
    write_agreement(out / "agreement.json", context["agreement"])
    if point_latest and run.id == store.run(None).id:  # an older run rebuilt: latest stays
        _point_latest(reports_root, run.id)
    return out


def worth_a_page(context: dict[str, Any], documents: list[dict],
                 limit: int | None = None) -> frozenset[str]:
    """The keys of the documents a large run gives a page of their own: those the report
    names (the recommended suite's worst documents per format, a suite's worst documents and listed failures, the
    changes the history page lists), then those with a result graded 3 or less or failed,
    the worst first, until PAGED_AT_MOST documents have a page. Page images alone earn no
    page: in a real run every document shown has them. The method page says so, and every
    other document is a row of the documents' list."""
    limit = PAGED_AT_MOST if limit is None else limit
    keys = {(d["corpus"], d["path"]): d["key"] for d in documents}
    named = {(corpus, path) for rec in context["recommendations"]  # the index shows the
             for s in rec.suites[:1] for corpus, path, _ in s.worst_documents}  # best's
    for suite in context["suite_pages"]:
        named |= {(r.corpus, r.document) for r in (*suite["worst"], *suite["failures"])}
    for h in context["history"]["changes"]:
        shown = sorted((c for c in h.changes if c.kind != "new"), key=lambda c: c.kind,
                       reverse=True)[:CHANGES_SHOWN]
        named |= {(c.corpus, c.document) for c in shown}
    paged = {keys[k] for k in named if k in keys}
    low = []
    for doc, rows in context["by_doc"].items():
        grades = [g for g in map(counted_grade, rows.values()) if g is not None]
        if doc in keys and keys[doc] not in paged and grades and min(grades) <= LOW_GRADE:
            low.append((min(grades), sum(grades) / len(grades), keys[doc]))
    room = max(0, limit - len(paged))
    return frozenset(paged | {key for _, _, key in sorted(low)[:room]})


def _table_order(documents: list[dict]) -> list[dict]:
    return sorted(documents, key=lambda d: (d["format"], d["corpus"], d["path"]))


def _table_pages(documents: list[dict]) -> list[list[dict]]:
    ordered = _table_order(documents)
    return [ordered[i:i + TABLE_PAGE] for i in range(0, len(ordered), TABLE_PAGE)]


def _by_label(results: Iterable[Any]) -> dict[str, Any]:
    """A document's results by row label, in the report's order (suite, then task)."""
    return {row_label(r): r for r in sorted(
        results, key=lambda r: (r.suite, TASK_ORDER.index(r.task)
                                if r.task in TASK_ORDER else 99, r.task))}


def _document_parts(by_doc: dict[tuple[str, str], dict[str, JobResult]], run: Run,
                    ) -> dict[str, Any]:
    """What document pages read of full results: the results, their side-by-side rows and
    which have overlays."""
    return {"full_results": by_doc,
            "page_rows": {key: _page_rows(rs, run.is_reference) for key, rs in by_doc.items()},
            "with_overlay": {key for key, rs in by_doc.items()
                             if any(r.artifacts.diff_pages for r in rs.values())}}


def _context(store: Store, run: Run, results: list[Any], documents: list[dict],
             artifacts: Path, images: list[str]) -> dict[str, Any]:
    """Everything the pages share, from `results` (JobResults or their ResultSummary)."""
    by_doc: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for r in sorted(results, key=lambda r: (r.suite, TASK_ORDER.index(r.task)
                                            if r.task in TASK_ORDER else 99, r.task)):
        by_doc[(r.corpus, r.document)][row_label(r)] = r
    # Malformed documents (as the sweep stored the manifest's mark) are shown everywhere
    # but counted only in the robustness table: not in the matrices nor the recommendation.
    # Documents the harness refused (a link out of the corpus, bytes that are no Office
    # file) never reached a suite: their results say nothing of one, and count nowhere.
    refused = frozenset((d["corpus"], d["path"]) for d in documents if d.get("refused"))
    malformed = malformed_documents(documents)
    counted, apart = set_apart([r for r in results if (r.corpus, r.document) not in refused],
                               malformed)
    documents_counted = [d for d in documents if (d["corpus"], d["path"]) not in refused]
    features = {(d["corpus"], d["path"]): d["features"] for d in documents_counted
                if not malformed or (d["corpus"], d["path"]) not in malformed}
    suites, formats, cells = matrix(counted)
    feature_counts, feature_cells = feature_matrix(counted, features)
    labels = shown_labels(cells)
    # what the run recorded; a run made before schema 6 kept no weights: the folder's
    overrides = (run.feature_weight_overrides if run.weights_recorded
                 else load_settings().get("feature_weights"))
    recommendations = recommend(counted, features, overrides, references=run.not_recommended)
    weights = run_weights(features, overrides)
    missing_images = sum(1 for rel in images if not (artifacts / rel).is_file())
    runs = RunCache(store)
    if results and isinstance(results[0], ResultSummary):
        runs.keep(run.id, results)
    counted_documents = [d for d in documents_counted
                         if not malformed or (d["corpus"], d["path"]) not in malformed]
    return {
        "verdicts": verdicts(recommendations, counted_documents, run.suites,
                             {key: c.mean for key, c in cells.items()}),
        "min_documents": MIN_DOCUMENTS,
        "suite_name": lambda name, version=None: suite_name(name, version, run.suites),
        "is_reference": run.is_reference,
        "per_format": _per_format(counted, features, formats, labels, counted_documents),
        "signals_explained": SIGNALS, "limit_explained": limit_explained,
        "score_rows": score_rows, "rubric": rubric(),
        "run": run, "documents": documents, "by_doc": by_doc, "formats": formats,
        "cells": cells, "labels": labels, "suites": suites,
        "not_run": sorted(set(suites) - set(labels)),
        "feature_order": [f for f in feature_counts
                          if any(feature_cells.get((lab, f)) for lab in labels)],
        "feature_cells": feature_cells, "feature_documents": feature_counts,
        "weights": weights, "recommendation_tasks": TASKS,
        "recommendations": recommendations, "failure_statuses": FAILURE_STATUSES,
        "status_counts": {s: sum((c.statuses for (label, _), c in cells.items()
                                  if label == s), Counter()) for s in suites},
        "total_results": len(results), "missing_images": missing_images,
        "malformed": malformed, "robustness": robustness(apart),
        "refused_documents": [d for d in documents if d.get("refused")],
        "robustness_statuses": ROBUSTNESS_STATUSES,
        "suite_pages": _suite_pages(run, results), "grades": GRADES,
        "history": _history(store, run, runs),
        "agreement": for_report(run, results),  # people's grades, from the ratings files
        "doc_key": {(d["corpus"], d["path"]): d["key"] for d in documents},
        "large": False, "paged": None, "table_pages": [], "table_page_size": TABLE_PAGE,
        "large_run": LARGE_RUN, "changes_shown": CHANGES_SHOWN,
        "paged_at_most": PAGED_AT_MOST,
        "pruned": store.pruned(run.id),
    }


def _per_format(results: list[JobResult], features: dict[tuple[str, str], list[str]],
                formats: list[str], labels: list[str], documents: list[dict],
                ) -> dict[str, dict[str, Any]]:
    """Per format, only the suites (tasks) that ran on it as columns, the others named apart
    (what they did instead), and its own suite × feature matrix: a table that fits the
    screen instead of one column per suite and task of the whole run."""
    out = {}
    for fmt in formats:
        own = [r for r in results if r.format == fmt]
        _, _, cells = matrix(own)
        ran = [label for label in labels if (label, fmt) in cells and cells[(label, fmt)].ran]
        keys = {(d["corpus"], d["path"]) for d in documents if d["format"] == fmt}
        counts, feature_cells = feature_matrix(
            own, {k: v for k, v in features.items() if k in keys})
        out[fmt] = {
            "labels": ran,
            "not_run": {label: cells[(label, fmt)].statuses for label in labels
                        if (label, fmt) in cells and label not in ran},
            "features": [f for f in counts if any(feature_cells.get((lab, f)) for lab in ran)],
            "feature_documents": counts, "feature_cells": feature_cells,
            "documents": [d for d in documents if d["format"] == fmt],
        }
    return out


FAILURES_SHOWN = 500  # a suite page lists this many failures; results.csv has them all
CHANGES_SHOWN = 500  # the history page lists this many changes per suite


def _suite_pages(run: Run, results: list[Any]) -> list[dict[str, Any]]:
    pages = []
    for name in sorted({r.suite for r in results} | set(run.suites)):
        own = [r for r in results if r.suite == name]
        info = run.suites.get(name, {})
        pages.append({"name": name, "version": info.get("version"),
                      "available": info.get("available", bool(own)),
                      "reason": info.get("reason"), "results": len(own),
                      "distribution": distribution(own), "worst": worst(own),
                      "failures": failures(own)[:FAILURES_SHOWN],
                      "failures_total": sum(1 for r in own if r.status is not Status.OK
                                            and r.status not in NOT_RUN)})
    return pages


def _history(store: Store, run: Run, cache: RunCache) -> dict[str, Any]:
    """The trend of each suite (task) per format across the runs of this run's documents
    (harness.history.trends: failures count 0, the same documents in every run), drawn per
    format, and what changed since the previous run."""
    lines: dict[str, list[TrendLine]] = defaultdict(list)
    runs: list[tuple[str, str]] = [(run.id, run.started_at)]
    for t in trends(store, run.id, TREND_RUNS, cache):
        runs = [(p.run_id, p.started_at) for p in t.points]
        lines[t.format].append(TrendLine(
            t.label, max((p.mean.counted for p in t.points), default=0),
            [p.mean.mean_grade for p in t.points],
            [p.mean.failed if p.mean.counted else None for p in t.points]))
    dates = [started[5:16].replace("T", " ") for _, started in runs]
    return {
        "runs": list(reversed(runs)),  # newest first
        "formats": {fmt: {"chart": trend_chart(fmt, dates, own) if len(runs) > 1 else "",
                          "lines": own} for fmt, own in sorted(lines.items())},
        "changes": history(store, run.id, cache)}


def _page_rows(results: dict[str, JobResult], is_reference: Callable[[str], bool],
               ) -> list[dict[str, Any]]:
    """Rows of the side-by-side view: the reference page, then each suite's page; no column
    for a suite that rendered nothing (format not opened, not installed), nor for the
    reference suite beside the reference itself."""
    reference = next((r.artifacts.reference_pages for r in results.values()
                      if r.task == Task.SHOW and r.artifacts.reference_pages), ())
    results = {name: r for name, r in results.items() if r.task == Task.SHOW
               and r.status not in NOT_RUN and not (reference and is_reference(r.suite))}
    longest = max([len(reference)] + [len(r.artifacts.pages) for r in results.values()])
    if not longest:
        return []
    rows = []
    for i in range(longest):
        rows.append({
            "number": i + 1,
            "reference": reference[i] if i < len(reference) else None,
            "suites": {name: (r.artifacts.pages[i] if i < len(r.artifacts.pages) else None,
                              _pair(r, i + 1))
                       for name, r in results.items()},
        })
    return rows


def _pair(result: JobResult, page: int) -> dict[str, Any] | None:
    """The aligned pair a candidate page belongs to, with its overlay when one was kept."""
    diffs = result.artifacts.diff_pages
    for n, pair in enumerate(result.show.page_pairs if result.show else ()):
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
