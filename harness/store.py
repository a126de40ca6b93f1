"""Every result in one SQLite file, written as it arrives: a crash mid-run keeps what was done.

Only the coordinating process writes. The schema carries a version; a store written by a
newer harness is refused rather than misread.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import renderers
from harness.corpus import Document
from harness.corpus.properties import DocumentProperties
from harness.errors import StoreError, UnknownRun
from harness.records import (JSON_FIELDS, Artifacts, JobResult, Status, Task, from_json,
                             parts_from_details, result_columns, result_from_row,
                             result_to_row)

# 2: the result cache; 3: documents' features and titles; 4: peak memory per result;
# 5: whether the corpus manifest marks a document malformed (NULL: not recorded by the run);
# 6: a result's columns are JobResult's fields, its `details` split into typed parts
# (artifacts, show, save, suite_run); the score names of harness.records.SCORE_NAMES; each
# run's suites say whether they are the reference and which tasks they do; a document's
# `refused`: why discovery never gave it to a suite (a link out of the corpus, not Office)
SCHEMA_VERSION = 6


def _column(field: dataclasses.Field, hint: Any) -> str:
    """A result field's column, from its type: JSON text for the nested parts."""
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and \
        type(None) in typing.get_args(hint)
    inner = next((a for a in typing.get_args(hint) if a is not type(None)), hint) \
        if optional else hint
    kind = ("TEXT" if field.name in JSON_FIELDS or inner in (str, Task, Status)
            else "INTEGER" if inner is int else "REAL" if inner is float else "TEXT")
    check = " CHECK (grade IS NULL OR grade BETWEEN 0 AND 5)" if field.name == "grade" else ""
    return f"{field.name} {kind}{'' if optional else ' NOT NULL'}{check}"


def _results_table(name: str) -> str:
    hints = typing.get_type_hints(JobResult)
    columns = ",\n    ".join(_column(f, hints[f.name]) for f in dataclasses.fields(JobResult))
    return (f"CREATE TABLE IF NOT EXISTS {name} (\n    run_id TEXT NOT NULL REFERENCES runs(id),"
            f"\n    {columns},\n    PRIMARY KEY (run_id, corpus, document, suite, task)\n);")


# Outcomes alone, in key order: history, trends and the report's counts read this index
# instead of the results' rows with their measures (a store of 100,000 documents holds
# gigabytes of those). Built on the first open of an older store.
_OUTCOMES_INDEX = ("CREATE INDEX IF NOT EXISTS results_outcomes ON results (run_id, corpus, "
                   "document, suite, task, status, grade, format, suite_version);")

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
    features TEXT NOT NULL DEFAULT '[]',
    title TEXT,
    malformed INTEGER,
    refused TEXT,
    PRIMARY KEY (run_id, corpus, path)
);
CREATE TABLE IF NOT EXISTS properties (
    sha256 TEXT NOT NULL,
    version INTEGER NOT NULL,
    features TEXT NOT NULL,
    title TEXT,
    PRIMARY KEY (sha256, version)
);
CREATE TABLE IF NOT EXISTS pruned (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    pruned_at TEXT NOT NULL,
    files INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    corpus TEXT NOT NULL,
    document TEXT NOT NULL,
    suite TEXT NOT NULL,
    task TEXT NOT NULL,
    parts TEXT NOT NULL
);
""" + _results_table("results") + "\n" + _OUTCOMES_INDEX + "\n"


# Columns later schema versions added, in order: an older store gains them in place.
_ADDED_COLUMNS = (("documents", "features", "TEXT NOT NULL DEFAULT '[]'"),
                  ("documents", "title", "TEXT"),
                  ("results", "suite_peak_rss_mb", "REAL"),
                  ("results", "harness_peak_rss_mb", "REAL"),
                  ("documents", "malformed", "INTEGER"),
                  ("documents", "refused", "TEXT"))
_RESULT_FIELDS = tuple(result_columns())
_RESULT_COLUMNS = ", ".join(_RESULT_FIELDS)
_MEASURE_PARTS = frozenset({"show", "save", "artifacts"})



def _json_or_empty(text: str | None) -> dict:
    """An old row's JSON column; one that no longer parses (a store damaged by hand) upgrades
    as empty rather than stopping the upgrade of every other row."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def artifacts_root(store_path: Path) -> Path:
    """Where a store's runs keep their files (page images, PDFs, saved copies): beside it,
    so that a store copied with its folder keeps its evidence."""
    return store_path.parent / "artifacts"


@dataclass(frozen=True, slots=True)
class ResultSummary:
    """A result's outcome without its measures: the fields every count, mean, trend and
    regression reads, and the `score` of its scores. Light enough to hold two million."""
    corpus: str
    document: str
    format: str
    suite: str
    suite_version: str | None
    task: Task
    status: Status
    grade: int | None
    message: str
    score: float | None = None

    @property
    def scores(self) -> dict[str, float]:
        return {} if self.score is None else {"score": self.score}


@dataclass(frozen=True)
class Run:
    id: str
    started_at: str
    finished_at: str | None
    state: str  # running, complete, interrupted
    harness_version: str
    pipeline_version: int
    # name -> {"version", "available", "reason", "label", "is_reference", "tasks", "formats"}
    suites: dict[str, Any]
    settings: dict[str, Any]  # what the sweep was told, and "feature_weights" (see below)

    # What the report needs is read from here, never from the code or folder it is built in:
    # the same store gives the same report anywhere.
    def is_reference(self, suite: str) -> bool:
        """Whether the suite was, in this run, the reference the others are compared with."""
        return bool(self.suites.get(suite, {}).get("is_reference", False))

    @property
    def references(self) -> frozenset[str]:
        return frozenset(name for name in self.suites if self.is_reference(name))

    @property
    def not_recommended(self) -> frozenset[str]:
        """The reference, and Microsoft Office driven live: never proposed as the default."""
        return self.references | frozenset(
            name for name, facts in self.suites.items()
            if facts.get("recommendable") is False)

    def label(self, suite: str) -> str:
        """The suite as a person calls it ("LibreOffice"), as the run recorded it."""
        return self.suites.get(suite, {}).get("label") or suite

    def opens(self, suite: str, fmt: str) -> bool | None:
        """Whether the suite opens the format, as the run recorded it; None if not recorded."""
        formats = self.suites.get(suite, {}).get("formats")
        return None if formats is None else fmt in formats

    @property
    def weights_recorded(self) -> bool:
        """False for a run made before schema 6, which did not keep its feature weights."""
        return isinstance(self.settings.get("feature_weights"), dict)

    @property
    def feature_weight_overrides(self) -> dict[str, float]:
        """The weights configured when the run was made (feature tag -> weight)."""
        return dict((self.settings.get("feature_weights") or {}).get("configured") or {})


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=30)
            self._db.row_factory = sqlite3.Row
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
        elif int(row[0]) < SCHEMA_VERSION:  # tables are created above; columns added here
            for table, name, kind in _ADDED_COLUMNS:
                columns = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}
                if name not in columns:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            self._split_details()
            self._describe_suites()
            self._db.execute("UPDATE meta SET value=? WHERE key='schema_version'",
                             (SCHEMA_VERSION,))

    def _split_details(self) -> None:
        """Schema 6: results of an older store are rewritten with typed parts in place of
        the flat `details` (the table is rebuilt, in the same transaction)."""
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(results)")}
        if "details" not in columns:
            return
        if not self._db.in_transaction:
            self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DROP TABLE IF EXISTS results_v6")
        self._db.execute(_results_table("results_v6"))
        old = [c for c in _RESULT_FIELDS if c in columns]
        rows = []
        for row in self._db.execute(f"SELECT run_id, {', '.join(old)}, details FROM results"):
            values = {c: row[c] for c in old}
            values.update(parts_from_details(_json_or_empty(row["details"]), row["task"]))
            values["scores"] = _json_or_empty(values.get("scores"))
            rows.append((row["run_id"], *result_to_row(JobResult(**values)).values()))
        self._db.executemany(f"INSERT INTO results_v6 (run_id, {_RESULT_COLUMNS}) VALUES "
                             f"({','.join('?' * (1 + len(_RESULT_FIELDS)))})", rows)
        self._db.execute("DROP TABLE results")
        self._db.execute("ALTER TABLE results_v6 RENAME TO results")
        self._db.execute(_OUTCOMES_INDEX)

    def _describe_suites(self) -> None:
        """Schema 6: each suite of an older run is told apart as the reference or not, and
        given its tasks, as the suites' code says at the time of the upgrade."""
        for row in self._db.execute("SELECT id, suites FROM runs").fetchall():
            suites = json.loads(row["suites"])
            if all("is_reference" in info for info in suites.values()):
                continue
            for name, info in suites.items():
                cls = renderers.renderer_class(name)
                info.setdefault("is_reference", bool(cls and cls.is_reference))
                info.setdefault("tasks", [t.value for t in Task if cls and t in cls.tasks])
                info.setdefault("label", getattr(cls, "label", "") or name)
                info.setdefault("formats", sorted(cls.formats) if cls else [])
            self._db.execute("UPDATE runs SET suites=? WHERE id=?",
                             (json.dumps(suites), row["id"]))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: tuple | list, *more: tuple[str, tuple]) -> None:
        """One transaction: the statement and any `more` (sql, params) commit together."""
        try:
            with self._db:
                if params and isinstance(params, list):
                    self._db.executemany(sql, params)
                else:
                    self._db.execute(sql, params)
                for extra_sql, extra_params in more:
                    self._db.execute(extra_sql, extra_params)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot write to the result store {self.path}: {exc}") from None

    def start_run(self, run: Run, documents: list[Document],
                  properties: dict[tuple[str, str], DocumentProperties] | None = None) -> None:
        """The run and its documents; `properties` by (corpus, path)."""
        self._write("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?)",
                    (run.id, run.started_at, run.finished_at, run.state, run.harness_version,
                     run.pipeline_version, json.dumps(run.suites), json.dumps(run.settings)))
        known = properties or {}
        if documents:
            rows = []
            for d in documents:
                p = known.get((d.corpus, d.relpath))
                rows.append((run.id, d.corpus, d.relpath, d.key, d.format, d.size_bytes,
                             d.sha256, str(d.reference_pdf) if d.reference_pdf else None,
                             d.license, d.source, json.dumps(list(p.features) if p else []),
                             p.title if p else None, int(d.malformed), d.refused))
            self._write("INSERT INTO documents (run_id, corpus, path, key, format, size_bytes, "
                        "sha256, reference_pdf, license, source, features, title, malformed, "
                        "refused) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)

    def known_properties(self, version: int) -> dict[str, DocumentProperties]:
        """What detection found, by content hash, at this detector version."""
        return {sha: DocumentProperties(tuple(json.loads(features)), title)
                for sha, features, title in self._db.execute(
                    "SELECT sha256, features, title FROM properties WHERE version=?",
                    (version,))}

    def add_properties(self, version: int, found: dict[str, DocumentProperties]) -> None:
        if found:
            self._write("INSERT OR REPLACE INTO properties VALUES (?,?,?,?)",
                        [(sha, version, json.dumps(list(p.features)), p.title)
                         for sha, p in found.items()])

    def add_result(self, run_id: str, r: JobResult, cache_key: str | None = None,
                   cache_parts: dict | None = None) -> None:
        """The result, and its cache entry when it has one, in one transaction."""
        more = []
        if cache_key is not None:
            more.append(("INSERT OR REPLACE INTO cache VALUES (?,?,?,?,?,?,?)",
                         (cache_key, run_id, r.corpus, r.document, r.suite, r.task,
                          json.dumps(cache_parts or {}, default=str))))
        row = result_to_row(r)
        self._write(f"INSERT OR REPLACE INTO results (run_id, {', '.join(row)}) VALUES "
                    f"(:run_id, {', '.join(':' + name for name in row)})",
                    {"run_id": run_id, **row}, *more)

    def add_results(self, run_id: str, results: list[JobResult]) -> None:
        """Many results in one transaction, without cache entries: a bulk import (the
        synthetic store of scripts/synthetic_store.py) rather than a sweep's one by one."""
        if not results:
            return
        names = _RESULT_FIELDS
        sql = (f"INSERT OR REPLACE INTO results (run_id, {_RESULT_COLUMNS}) VALUES "
               f"({','.join('?' * (1 + len(names)))})")
        self._write(sql, [(run_id, *result_to_row(r).values()) for r in results])

    def cached(self, key: str) -> tuple[str, JobResult] | None:
        """The run and result a cache key points at, if both are still stored."""
        row = self._db.execute(
            f"SELECT r.run_id, {', '.join('r.' + f for f in _RESULT_FIELDS)} "
            "FROM cache c JOIN results r ON "
            "r.run_id=c.run_id AND r.corpus=c.corpus AND r.document=c.document AND "
            "r.suite=c.suite AND r.task=c.task WHERE c.key=?", (key,)).fetchone()
        if row is None:
            return None
        return row["run_id"], result_from_row(row)

    def cache_entries(self) -> list[dict[str, Any]]:
        cursor = self._db.execute("SELECT key, run_id, corpus, document, suite, task, parts "
                                  "FROM cache ORDER BY suite, task, corpus, document")
        return [dict(row) for row in cursor]

    def clear_cache(self, suite: str | None = None) -> int:
        count = len([e for e in self.cache_entries() if suite in (None, e["suite"])])
        if suite is None:
            self._write("DELETE FROM cache", ())
        else:
            self._write("DELETE FROM cache WHERE suite=?", (suite,))
        return count

    def stored_keys(self, run_id: str) -> set[tuple[str, str, str, str]]:
        """(corpus, document, suite, task) of every result a run holds: what a resumed run
        need not do again. A result the harness itself failed to produce (a full disk, say)
        is the machine's fault, not the document's: it is done again."""
        return {tuple(row) for row in self._db.execute(
            "SELECT corpus, document, suite, task FROM results WHERE run_id=? AND "
            "coalesce(json_extract(suite_run, '$.harness_error'), 0) = 0", (run_id,))}

    def resume_run(self, run_id: str, settings: dict[str, Any]) -> None:
        self._write("UPDATE runs SET state='running', finished_at=NULL, settings=? WHERE id=?",
                    (json.dumps(settings), run_id))

    def finish_run(self, run_id: str, finished_at: str, state: str) -> None:
        self._write("UPDATE runs SET finished_at=?, state=? WHERE id=?",
                    (finished_at, state, run_id))

    def runs(self) -> list[Run]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY started_at, id").fetchall()
        return [Run(**{name: json.loads(r[name]) if name in ("suites", "settings") else r[name]
                       for name in (f.name for f in dataclasses.fields(Run))}) for r in rows]

    def run(self, run_id: str | None = None) -> Run:
        runs = self.runs()
        if not runs:
            raise StoreError(f"{self.path} holds no run yet: run `fidelity run` first")
        if run_id is None:
            return runs[-1]
        for run in runs:
            if run.id == run_id:
                return run
        raise UnknownRun(f"no run {run_id!r} in {self.path}; known: "
                         + ", ".join(r.id for r in runs[-5:]))

    def documents(self, run_id: str) -> list[dict[str, Any]]:
        """The run's documents; `malformed` is True or False as the sweep recorded it from
        the corpus manifest, None for a run made before the store kept it (schema < 5)."""
        cursor = self._db.execute("SELECT * FROM documents WHERE run_id=? ORDER BY corpus, path",
                                  (run_id,))
        rows = [dict(row) for row in cursor]
        for row in rows:
            row["features"] = json.loads(row.get("features") or "[]")
            row["malformed"] = None if row.get("malformed") is None else bool(row["malformed"])
        return rows

    def results(self, run_id: str, document: tuple[str, str] | None = None,
                measures: bool = True) -> Iterator[JobResult]:
        """The run's results (of one (corpus, path) `document` when given); without
        `measures`, their show, save and artifacts parts are left empty: what exports and
        counts need, read several times faster."""
        columns = _RESULT_COLUMNS if measures else ", ".join(
            f"NULL AS {c}" if c in _MEASURE_PARTS else c for c in _RESULT_FIELDS)
        where, params = "run_id=?", (run_id,)
        if document is not None:
            where, params = "run_id=? AND corpus=? AND document=?", (run_id, *document)
        cursor = self._db.execute(f"SELECT {columns} FROM results WHERE {where} "
                                  "ORDER BY corpus, document, suite, task", params)
        for row in cursor:
            yield result_from_row(row)

    def summaries(self, run_id: str) -> list[ResultSummary]:
        """Every result of the run as its outcome alone (see ResultSummary), in the order of
        `results`: what the matrices, trends and history count, for 100,000 documents too.
        Repeated strings (paths, messages) are shared, not held once per row."""
        shared: dict[Any, Any] = {}
        status = {s.value: s for s in Status}
        task = {t.value: t for t in Task}

        def one(value: Any) -> Any:
            return shared.setdefault(value, value)

        return [ResultSummary(one(c), one(d), one(f), one(s), one(v), task[t], status[st], g,
                              one(m), sc)
                for c, d, f, s, v, t, st, g, m, sc in self._db.execute(
                    "SELECT corpus, document, format, suite, suite_version, task, status, "
                    "grade, message, json_extract(scores, '$.score') FROM results "
                    "WHERE run_id=? ORDER BY corpus, document, suite, task", (run_id,))]

    def artifacts(self, run_id: str) -> Iterator[Artifacts]:
        """The artifacts of each of the run's results that names a file."""
        for (text,) in self._db.execute(
                "SELECT artifacts FROM results WHERE run_id=? AND artifacts LIKE '%/%'",
                (run_id,)):
            yield from_json(Artifacts, json.loads(text))

    def artifact_files(self, run_id: str) -> Iterator[str]:
        """Every file the run's results name, relative to its artifacts folder."""
        for artifacts in self.artifacts(run_id):
            yield from artifacts.files()

    def cached_artifact_files(self, run_ids: list[str] | None = None,
                              ) -> Iterator[tuple[str, str]]:
        """(run id, file) of every file a cache entry's result names (of the runs `run_ids`
        only, when given): a later run reuses them by linking them from that run's folder."""
        where, params = "", ()
        if run_ids is not None:
            if not run_ids:
                return
            where, params = f" AND c.run_id IN ({','.join('?' * len(run_ids))})", tuple(run_ids)
        for run_id, text in self._db.execute(
                "SELECT r.run_id, r.artifacts FROM cache c JOIN results r ON "
                "r.run_id=c.run_id AND r.corpus=c.corpus AND r.document=c.document AND "
                "r.suite=c.suite AND r.task=c.task WHERE r.artifacts LIKE '%/%'" + where,
                params):
            for rel in from_json(Artifacts, json.loads(text)).files():
                yield run_id, rel

    def page_images(self, run_id: str) -> Iterator[str]:
        """The page images and overlays the run's results name (what a report shows)."""
        for a in self.artifacts(run_id):
            yield from (*a.pages, *a.reference_pages, *a.diff_pages)

    def output_files(self, run_id: str) -> Iterator[str]:
        """The suites' own PDFs and saved files the run kept (those below 5 or not ok)."""
        for a in self.artifacts(run_id):
            yield from (p for p in (a.pdf, a.saved) if p is not None)

    def pruned(self, run_id: str) -> dict[str, Any] | None:
        """When and how far the run's artifacts were pruned (`fidelity prune`); None if not."""
        row = self._db.execute("SELECT pruned_at, files, bytes FROM pruned WHERE run_id=?",
                               (run_id,)).fetchone()
        return dict(row) if row else None

    def mark_pruned(self, run_id: str, pruned_at: str, files: int, size_bytes: int) -> None:
        """The run's artifacts were deleted (its results are kept): reports say so."""
        self._write("INSERT INTO pruned VALUES (?,?,?,?) ON CONFLICT(run_id) DO UPDATE SET "
                    "pruned_at=excluded.pruned_at, files=pruned.files + excluded.files, "
                    "bytes=pruned.bytes + excluded.bytes",
                    (run_id, pruned_at, files, size_bytes))

    def outcome_counts(self, run_id: str, documents_of: str,
                       ) -> list[tuple[str, str, str, str, int | None, int]]:
        """(suite, task, format, status, grade, count) of the results of `run_id` on the
        documents `documents_of` recorded, its malformed ones left out: a trend's point,
        counted by SQLite instead of reading every result."""
        return [tuple(row) for row in self._db.execute(
            "SELECT r.suite, r.task, r.format, r.status, r.grade, count(*) FROM results r "
            "JOIN documents d ON d.run_id=? AND d.corpus=r.corpus AND d.path=r.document "
            "AND coalesce(d.malformed, 0)=0 WHERE r.run_id=? "
            "GROUP BY r.suite, r.task, r.format, r.status, r.grade", (documents_of, run_id))]

    # History counted in SQL: each result of `run_id` beside the same (document, suite,
    # task) of `previous` (NULL when `previous` has none, or only an `unavailable` one), and
    # whether either run marks the document malformed.
    _BESIDE = ("FROM results a LEFT JOIN results b ON b.run_id=:previous AND "
               "b.corpus=a.corpus AND b.document=a.document AND b.suite=a.suite AND "
               "b.task=a.task AND b.status != 'unavailable' "
               "LEFT JOIN documents da ON da.run_id=:run AND da.corpus=a.corpus AND "
               "da.path=a.document LEFT JOIN documents db ON db.run_id=:previous AND "
               "db.corpus=a.corpus AND db.path=a.document "
               "WHERE a.run_id=:run AND a.suite IN ({suites}) "
               "AND NOT (a.status='unavailable' AND b.status IS NULL)")

    def suites_of(self, run_id: str) -> list[str]:
        """The suites the run holds results of."""
        return [row[0] for row in self._db.execute(
            "SELECT DISTINCT suite FROM results WHERE run_id=? ORDER BY 1", (run_id,))]

    def compared_counts(self, run_id: str, previous: str, suites: list[str]) -> list[tuple]:
        """(suite, task, format, version, status, grade, status before, grade before,
        version before, malformed in either run, count), grouped."""
        sql = ("SELECT a.suite, a.task, a.format, a.suite_version, a.status, a.grade, "
               "b.status, b.grade, b.suite_version, "
               "coalesce(da.malformed, 0) OR coalesce(db.malformed, 0), count(*) "
               + self._BESIDE.format(suites=",".join("?" * len(suites)))
               + " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10")
        return self._beside(sql, run_id, previous, suites)

    def changed_results(self, run_id: str, previous: str, suites: list[str]) -> list[tuple]:
        """(suite, corpus, document, task, status before, grade before, status, grade) of
        every result that is not unchanged since `previous` (see history.classify)."""
        sql = ("SELECT a.suite, a.corpus, a.document, a.task, b.status, b.grade, a.status, "
               "a.grade " + self._BESIDE.format(suites=",".join("?" * len(suites)))
               + " AND NOT (b.status IS NOT NULL AND (b.status='ok') = (a.status='ok') "
               "AND NOT (b.status='ok' AND a.status='ok' AND b.grade IS NOT NULL AND "
               "a.grade IS NOT NULL AND a.grade != b.grade)) "
               "ORDER BY a.corpus, a.document, a.suite, a.task")
        return self._beside(sql, run_id, previous, suites)

    def gone_counts(self, run_id: str, previous: str, suites: list[str]) -> list[tuple]:
        """(suite, task, format, status, grade, version, malformed in either run, count) of
        the results `previous` had (not unavailable) that `run_id` has not."""
        marks = ",".join("?" * len(suites))
        sql = ("SELECT b.suite, b.task, b.format, b.status, b.grade, b.suite_version, "
               "coalesce(da.malformed, 0) OR coalesce(db.malformed, 0), count(*) "
               "FROM results b LEFT JOIN documents da ON da.run_id=:run AND "
               "da.corpus=b.corpus AND da.path=b.document LEFT JOIN documents db ON "
               "db.run_id=:previous AND db.corpus=b.corpus AND db.path=b.document "
               f"WHERE b.run_id=:previous AND b.suite IN ({marks}) AND "
               "b.status != 'unavailable' AND NOT EXISTS (SELECT 1 FROM results a WHERE "
               "a.run_id=:run AND a.corpus=b.corpus AND a.document=b.document AND "
               "a.suite=b.suite AND a.task=b.task) GROUP BY 1, 2, 3, 4, 5, 6, 7")
        return self._beside(sql, run_id, previous, suites)

    def _beside(self, sql: str, run_id: str, previous: str, suites: list[str]) -> list[tuple]:
        # named and positional parameters cannot mix: the suites are spelled in
        sql = sql.replace("IN (" + ",".join("?" * len(suites)) + ")",
                          "IN (" + ",".join(f":s{i}" for i in range(len(suites))) + ")")
        params = {"run": run_id, "previous": previous,
                  **{f"s{i}": name for i, name in enumerate(suites)}}
        return [tuple(row) for row in self._db.execute(sql, params)]

    def has_documents(self, run_id: str) -> bool:
        """Whether the run recorded its documents (every run since schema 1 did)."""
        return self._db.execute("SELECT 1 FROM documents WHERE run_id=? LIMIT 1",
                                (run_id,)).fetchone() is not None

    def score_names(self, run_id: str) -> list[str]:
        """Every score name the run's results hold, sorted."""
        return [row[0] for row in self._db.execute(
            "SELECT DISTINCT j.key FROM results, json_each(results.scores) AS j "
            "WHERE results.run_id=? ORDER BY 1", (run_id,))]

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
