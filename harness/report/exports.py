"""Machine-readable exports. results.json is a contract other tools read (README)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from harness.pipeline import JobResult
from harness.store import Run

EXPORT_SCHEMA_VERSION = 1


def result_record(r: JobResult) -> dict[str, Any]:
    return {
        "corpus": r.corpus, "document": r.document, "format": r.format, "suite": r.suite,
        "suite_version": r.suite_version, "task": r.task, "status": r.status,
        "grade": r.grade, "scores": r.scores, "message": r.message,
        "suite_seconds": round(r.suite_seconds, 3), "total_seconds": round(r.total_seconds, 3),
        "via": r.details.get("via"),
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


def write_json(path: Path, run: Run, results: list[JobResult]) -> None:
    payload = {"schema_version": EXPORT_SCHEMA_VERSION, "run": run_record(run),
               "results": [result_record(r) for r in results]}
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")


def write_csv(path: Path, results: list[JobResult]) -> None:
    score_names = sorted({name for r in results for name in r.scores})
    fixed = ["corpus", "document", "format", "suite", "suite_version", "task", "status",
             "grade", "message", "suite_seconds", "total_seconds"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(fixed + score_names)
        for r in results:
            record = result_record(r)
            writer.writerow([record[k] for k in fixed] + [r.scores.get(n) for n in score_names])


def write_jsonl(path: Path, run: Run, results: list[JobResult]) -> None:
    """One result per line, each with its run: easy to append, grep and stream."""
    with path.open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps({"schema_version": EXPORT_SCHEMA_VERSION, "run": run.id,
                                 **result_record(r)}, ensure_ascii=False) + "\n")
