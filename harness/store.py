"""Every result in one SQLite file, written as it arrives: a crash mid-run keeps what was done.

Only the coordinating process writes. The schema carries a version; a store written by a
newer harness is refused rather than misread.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from harness.corpus import Document
from harness.errors import StoreError
from harness.pipeline import JobResult

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL,
    harness_version TEXT NOT NULL,
    pipeline_version INTEGER NOT NULL,
    suites TEXT NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    run_id TEXT NOT NULL REFERENCES runs(id),
    corpus TEXT NOT NULL,
    path TEXT NOT NULL,
    key TEXT NOT NULL,
    format TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    reference_pdf TEXT,
    license TEXT,
    source TEXT,
    PRIMARY KEY (run_id, corpus, path)
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL REFERENCES runs(id),
    corpus TEXT NOT NULL,
    document TEXT NOT NULL,
    suite TEXT NOT NULL,
    task TEXT NOT NULL,
    format TEXT NOT NULL,
    suite_version TEXT,
    status TEXT NOT NULL,
    grade INTEGER CHECK (grade IS NULL OR grade BETWEEN 0 AND 5),
    message TEXT NOT NULL,
    stderr TEXT NOT NULL,
    suite_seconds REAL NOT NULL,
    total_seconds REAL NOT NULL,
    scores TEXT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (run_id, corpus, document, suite, task)
);
"""


@dataclass(frozen=True)
class Run:
    id: str
    started_at: str
    finished_at: str | None
    state: str  # running, complete, interrupted
    harness_version: str
    pipeline_version: int
    suites: dict[str, Any]  # name -> {"version": ..., "available": ..., "reason": ...}
    settings: dict[str, Any]


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            with self._db:
                self._db.executescript(_SCHEMA)
                self._check_version()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the result store {path}: {exc}") from None

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {row[0]}; this harness reads "
                             f"up to {SCHEMA_VERSION}: upgrade the harness")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: tuple | list) -> None:
        try:
            with self._db:
                if params and isinstance(params, list):
                    self._db.executemany(sql, params)
                else:
                    self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the result store {self.path}: {exc}") from None

    def start_run(self, run: Run, documents: list[Document]) -> None:
        self._write("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?)",
                    (run.id, run.started_at, run.finished_at, run.state, run.harness_version,
                     run.pipeline_version, json.dumps(run.suites), json.dumps(run.settings)))
        if documents:
            self._write("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)", [
                (run.id, d.corpus, d.relpath, d.key, d.format, d.size_bytes, d.sha256,
                 str(d.reference_pdf) if d.reference_pdf else None, d.license, d.source)
                for d in documents])

    def add_result(self, run_id: str, r: JobResult) -> None:
        self._write("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, r.corpus, r.document, r.suite, r.task, r.format, r.suite_version,
                     r.status, r.grade, r.message, r.stderr, r.suite_seconds, r.total_seconds,
                     json.dumps(r.scores), json.dumps(r.details)))

    def finish_run(self, run_id: str, finished_at: str, state: str) -> None:
        self._write("UPDATE runs SET finished_at=?, state=? WHERE id=?",
                    (finished_at, state, run_id))

    def runs(self) -> list[Run]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY started_at, id").fetchall()
        return [Run(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), json.loads(r[7]))
                for r in rows]

    def run(self, run_id: str | None = None) -> Run:
        runs = self.runs()
        if not runs:
            raise StoreError(f"{self.path} holds no run yet: run `fidelity run` first")
        if run_id is None:
            return runs[-1]
        for run in runs:
            if run.id == run_id:
                return run
        raise StoreError(f"no run {run_id!r} in {self.path}; known: "
                         + ", ".join(r.id for r in runs[-5:]))

    def documents(self, run_id: str) -> list[dict[str, Any]]:
        cursor = self._db.execute("SELECT * FROM documents WHERE run_id=? ORDER BY corpus, path",
                                  (run_id,))
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor]

    def results(self, run_id: str) -> Iterator[JobResult]:
        cursor = self._db.execute(
            "SELECT corpus, document, format, suite, suite_version, task, status, grade, "
            "message, stderr, suite_seconds, total_seconds, scores, details FROM results "
            "WHERE run_id=? ORDER BY corpus, document, suite, task", (run_id,))
        for row in cursor:
            yield JobResult(*row[:12], scores=json.loads(row[12]), details=json.loads(row[13]))

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
