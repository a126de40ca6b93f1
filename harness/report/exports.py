"""Machine-readable exports. results.json is a contract other tools read (docs/results.md)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Collection, Iterable

from harness.records import JobResult
from harness.report.analysis import ROBUSTNESS_STATUSES, Cell
from harness.store import Run

EXPORT_SCHEMA_VERSION = 1


def result_record(r: JobResult) -> dict[str, Any]:
    return {
        "corpus": r.corpus, "document": r.document, "format": r.format, "suite": r.suite,
        "suite_version": r.suite_version, "task": r.task, "status": r.status,
        "grade": r.grade, "scores": r.scores, "message": r.message,
        "suite_seconds": round(r.suite_seconds, 3), "total_seconds": round(r.total_seconds, 3),
        "suite_peak_rss_mb": r.suite_peak_rss_mb, "harness_peak_rss_mb": r.harness_peak_rss_mb,
        "via": r.suite_run.via, "worker": r.suite_run.worker,
    }


def run_record(run: Run) -> dict[str, Any]:
    return {
        "id": run.id, "started_at": run.started_at, "finished_at": run.finished_at,
        "state": run.state, "harness_version": run.harness_version,
        "pipeline_version": run.pipeline_version,
        "suites": {name: s.get("version") for name, s in run.suites.items()},
        "suite_availability": run.suites,
        "settings": run.settings,
    }


def document_record(doc: dict[str, Any]) -> dict[str, Any]:
    return {"corpus": doc["corpus"], "document": doc["path"], "format": doc["format"],
            "sha256": doc["sha256"], "size_bytes": doc["size_bytes"],
            "title": doc.get("title"), "features": doc.get("features", []),
            "license": doc.get("license"), "source": doc.get("source"),
            "reference_pdf": doc.get("reference_pdf") is not None,
            # broken on purpose, per the corpus manifest; null: the run did not record it
            "malformed": doc.get("malformed")}


def robustness_record(cells: dict[str, Cell],
                      malformed: Collection[tuple[str, str]] | None) -> dict[str, Any]:
    """The robustness table: per suite (task), the malformed documents' statuses."""
    return {"recorded": malformed is not None, "documents": len(malformed or ()),
            "suites": {label: {"documents": len(cell.documents),
                               **{st: cell.statuses[st] for st in ROBUSTNESS_STATUSES}}
                       for label, cell in cells.items()}}


def write_json(path: Path, run: Run, results: Iterable[JobResult],
               documents: list[dict[str, Any]] | None = None,
               recommendations: list[Any] | None = None,
               robustness: dict[str, Cell] | None = None,
               malformed: Collection[tuple[str, str]] | None = None) -> None:
    """The run, its results, and (when given) its documents, the recommendation per
    format and the robustness table (malformed documents), as the report shows them.
    Written as the results are read, one per line: two million results never sit in
    memory at once."""
    head: dict[str, Any] = {"schema_version": EXPORT_SCHEMA_VERSION, "run": run_record(run)}
    tail: dict[str, Any] = {}
    if documents is not None:
        tail["documents"] = [document_record(d) for d in documents]
    if recommendations is not None:
        tail["recommendations"] = [asdict(r) | {"verdict": r.verdict} for r in recommendations]
    if robustness is not None:
        tail["robustness"] = robustness_record(robustness, malformed)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "results": [')
        for n, r in enumerate(results):
            fh.write(("\n  " if n == 0 else ",\n  ")
                     + json.dumps(result_record(r), ensure_ascii=False))
        fh.write("\n ]")
        for key, value in tail.items():
            fh.write(f",\n {json.dumps(key)}: "
                     + json.dumps(value, indent=1, ensure_ascii=False))
        fh.write("\n}\n")


def _malformed_cell(r: JobResult, malformed: Collection[tuple[str, str]] | None) -> str:
    """true/false as recorded by the sweep; empty when the run did not record it."""
    if malformed is None:
        return ""
    return "true" if (r.corpus, r.document) in malformed else "false"


def write_csv(path: Path, results: Iterable[JobResult],
              malformed: Collection[tuple[str, str]] | None = None,
              score_names: list[str] | None = None) -> None:
    """One row per result; `malformed` says whether its document is broken on purpose (a
    spreadsheet user filters those out as the matrices do). Given `score_names` (every
    score the results hold, sorted), the results are read once, as they are written."""
    if score_names is None:
        results = list(results)
        score_names = sorted({name for r in results for name in r.scores})
    fixed = ["corpus", "document", "format", "suite", "suite_version", "task", "status",
             "grade", "message", "suite_seconds", "total_seconds", "suite_peak_rss_mb",
             "harness_peak_rss_mb"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(fixed + ["malformed"] + score_names)
        for r in results:
            record = result_record(r)
            writer.writerow([record[k] for k in fixed] + [_malformed_cell(r, malformed)]
                            + [r.scores.get(n) for n in score_names])


def write_jsonl(path: Path, run: Run, results: list[JobResult]) -> None:
    """One result per line, each with its run: easy to append, grep and stream."""
    with path.open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps({"schema_version": EXPORT_SCHEMA_VERSION, "run": run.id,
                                 **result_record(r)}, ensure_ascii=False) + "\n")
