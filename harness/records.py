"""The records passed between stages and kept in the store: one job's result and its parts.

The bottom layer: it imports nothing of the harness, and every stage above reads these
names instead of a dict of unnamed keys. A record is frozen and keyword-only; it turns into
JSON and back by its field names (`to_json`, `from_json`), which is how the store keeps
its nested parts.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping


class Status(enum.StrEnum):
    """How a suite's attempt on one document ended. Only ``ok`` carries a grade.

    A string enum: it equals, hashes, formats and serialises as its value (``"ok"``)."""

    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CRASHED = "crashed"
    EMPTY = "empty"
    UNSUPPORTED = "unsupported"
    UNAVAILABLE = "unavailable"


class Task(enum.StrEnum):
    """What a suite is asked to do with a document.

    ``show`` is what a user sees on opening it (a PDF); ``save`` is what a recipient gets
    back when the user saves it in Microsoft's format (legacy binaries become OOXML);
    ``save-odf`` is the same saved as OpenDocument; ``save-recalc`` (workbooks only) is the
    save after the suite recalculated every formula, which most suites do not do on load.
    """

    SHOW = "show"
    SAVE = "save"
    SAVE_ODF = "save-odf"
    SAVE_RECALC = "save-recalc"


# Every figure a result's `scores` may hold. They are flat numbers for the CSV and the
# matrices; a new name, or a name whose meaning changes, bumps the store's schema version.
SCORE_NAMES = frozenset({
    # every task
    "text_recall", "text_recall_lossy_reader", "text_similarity", "source_words",
    "rendered_words", "checks_passed",
    # show
    "pages_rendered", "pages_expected", "fonts_substituted", "drawn_passed",
    # show, against a reference rendering
    "score", "ssim_mean", "ssim_min", "area_changed", "area_changed_worst_page",
    "pages_reference", "pages_missing", "pages_extra", "layout_median_mm", "layout_p95_mm",
    "layout_moved_share", "words_missing_vs_reference", "words_extra_vs_reference",
    "text_recall_vs_reference", "flow_cut_share", "flow_drift_mm", "flow_anchor_mm",
    "reflowed", "words_displaced_vs_reference",
    # saves of presentations
    "slides_source", "slides_saved",
})

Scores = dict[str, float | int | None]


@dataclass(frozen=True, kw_only=True)
class Artifacts:
    """Files a result keeps in its run's artifacts folder, as paths relative to it."""

    pdf: str | None = None  # show: the suite's PDF
    saved: str | None = None  # save tasks: the file the suite wrote back
    pages: tuple[str, ...] = ()  # show: page images of the suite's rendering
    reference_pages: tuple[str, ...] = ()  # show: page images of the reference PDF
    diff_pages: tuple[str, ...] = ()  # show: one overlay per aligned page pair

    def files(self) -> list[str]:
        """Every file named, in field order."""
        single = [p for p in (self.pdf, self.saved) if p is not None]
        return single + [*self.pages, *self.reference_pages, *self.diff_pages]

    def renamed(self, rename: typing.Callable[[str], str]) -> Artifacts:
        """The same files under other relative paths."""
        return Artifacts(
            pdf=rename(self.pdf) if self.pdf is not None else None,
            saved=rename(self.saved) if self.saved is not None else None,
            pages=tuple(map(rename, self.pages)),
            reference_pages=tuple(map(rename, self.reference_pages)),
            diff_pages=tuple(map(rename, self.diff_pages)))


@dataclass(frozen=True, kw_only=True)
class ShowMeasures:
    """What comparing a `show` rendering found, beyond the flat scores."""

    rasteriser: dict[str, Any] = field(default_factory=dict)  # name, version, dpi
    truth_reader: str | None = None  # the library that read the source's facts
    truth_error: str | None = None  # why the source could not be read
    truth_facts: dict[str, Any] = field(default_factory=dict)  # counts the source declares
    missing_words: tuple[str, ...] = ()  # a sample of source words not in the rendering
    expected_pages_source: str | None = None  # where the expected page count came from
    reference_note: str | None = None  # set when this suite is itself the reference
    page_pairs: tuple[dict[str, Any], ...] = ()  # aligned reference/candidate pages
    layout: dict[str, Any] | None = None  # word positions against the reference, in mm
    fonts: dict[str, Any] | None = None  # fonts asked for against fonts used
    checks: tuple[dict[str, Any], ...] = ()  # structural and drawn checks, per feature
    signals: dict[str, int] = field(default_factory=dict)  # the grade each signal gives
    cause: str | None = None  # the cause of the differences, in words
    flow: dict[str, Any] | None = None  # reflow against loss, along the text flow


@dataclass(frozen=True, kw_only=True)
class SaveMeasures:
    """What re-reading a saved-back file found, against the source's truth."""

    truth_reader: str | None = None
    truth_error: str | None = None
    truth_facts: dict[str, Any] = field(default_factory=dict)
    saved_facts: dict[str, Any] = field(default_factory=dict)  # the same counts, saved
    facts_changed: dict[str, list[int]] = field(default_factory=dict)  # name -> [source, saved]
    missing_words: tuple[str, ...] = ()
    checks: tuple[dict[str, Any], ...] = ()
    signals: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SuiteRun:
    """How the job ran, apart from what it measured."""

    via: str | None = None  # how the suite was driven (command line, UNO listener, ...)
    warnings: tuple[str, ...] = ()  # output kept, but the suite reported a loss
    harness_error: bool = False  # the harness failed, not the suite: done again on resume
    cached_from_run: str | None = None  # the run whose result this one reuses
    worker: str | None = None  # the fleet worker that ran it (its name); None: this machine


@dataclass(frozen=True, kw_only=True)
class JobResult:
    """One document through one suite and task: the unit the store and the report count."""

    corpus: str
    document: str  # path inside the corpus
    format: str
    suite: str
    suite_version: str | None
    task: Task
    status: Status
    grade: int | None
    message: str
    stderr: str = ""
    suite_seconds: float = 0.0
    total_seconds: float = 0.0
    scores: Scores = field(default_factory=dict)
    artifacts: Artifacts = field(default_factory=Artifacts)
    show: ShowMeasures | None = None  # set for a `show` result that was compared
    save: SaveMeasures | None = None  # set for a save task whose file was re-read
    suite_run: SuiteRun = field(default_factory=SuiteRun)
    suite_peak_rss_mb: float | None = None  # the job's largest suite process
    harness_peak_rss_mb: float | None = None  # the worker, comparison included

    def __post_init__(self) -> None:
        # Plain strings are accepted (and kept as the enums) so callers and old rows agree.
        object.__setattr__(self, "task", Task(self.task))
        object.__setattr__(self, "status", Status(self.status))

    @property
    def measures(self) -> ShowMeasures | SaveMeasures | None:
        return self.show if self.show is not None else self.save

    @functools.cached_property
    def details(self) -> dict[str, Any]:
        """The flat view the store kept before schema 6 (keys as then: `pages`, `signals`,
        `via`...), for templates and exports still written against it; not to be changed."""
        flat: dict[str, Any] = to_json(self.measures) if self.measures is not None else {}
        if "reference_note" in flat:
            flat["reference"] = flat.pop("reference_note")
        if not flat.get("page_pairs", True):  # kept only by a comparison with a reference
            del flat["page_pairs"]
        flat.update({k: v for k, v in to_json(self.artifacts).items() if v})
        run = self.suite_run
        if run.via:
            flat["via"] = run.via
        if run.warnings:
            flat["suite_warnings"] = list(run.warnings)
        if run.harness_error:
            flat["harness_error"] = True
        if run.cached_from_run:
            flat["cached_from"] = run.cached_from_run
        if run.worker:
            flat["worker"] = run.worker
        return {k: v for k, v in flat.items() if v is not None or k in _KEPT_NONE}


# Keys the old flat details held even when None (the templates test them for truth).
_KEPT_NONE = frozenset({"truth_reader", "truth_error", "expected_pages_source"})


def to_json(record: Any) -> Any:
    """A record (or anything inside one) as JSON-ready values, keyed by field name."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: to_json(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, enum.Enum):
        return record.value
    if isinstance(record, (list, tuple)):
        return [to_json(v) for v in record]
    if isinstance(record, Mapping):
        return {k: to_json(v) for k, v in record.items()}
    return record


def from_json(cls: type, data: Mapping[str, Any] | None) -> Any:
    """The record `to_json` made, read back by field name; names it does not know are
    left out (a missing one takes its default)."""
    if data is None:
        return None
    hints = _hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _decode(hints[f.name], data[f.name])
    return cls(**values)


@functools.cache  # resolving the hints of a record costs more than reading the row
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, globalns=globals())


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(inner[0], value) if len(inner) == 1 else value
    if dataclasses.is_dataclass(hint):
        return from_json(hint, value)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    return value


def result_columns() -> list[str]:
    """The store's columns of a result, one per field, in field order."""
    return [f.name for f in dataclasses.fields(JobResult)]


# Fields kept as JSON text in the store (the nested parts and the scores).
JSON_FIELDS = frozenset(f.name for f in dataclasses.fields(JobResult)
                        if f.name in ("scores", "artifacts", "show", "save", "suite_run"))
PARTS: dict[str, type] = {"artifacts": Artifacts, "show": ShowMeasures, "save": SaveMeasures,
                          "suite_run": SuiteRun}


def result_to_row(result: JobResult) -> dict[str, Any]:
    """A result as the store's column values, by name."""
    row = {}
    for name in result_columns():
        value = getattr(result, name)
        if name in JSON_FIELDS and value is not None:
            value = json.dumps(to_json(value))
        row[name] = to_json(value)
    return row


def result_from_row(row: Mapping[str, Any]) -> JobResult:
    """A stored row read back by column name."""
    values: dict[str, Any] = {}
    for name in result_columns():
        value = row[name]
        if name == "scores":
            value = json.loads(value) if value else {}
        elif name in PARTS:
            data = json.loads(value) if value else None
            value = from_json(PARTS[name], data)
            if value is None and name in ("artifacts", "suite_run"):
                value = PARTS[name]()
        values[name] = value
    return JobResult(**values)


def parts_from_details(details: Mapping[str, Any], task: str) -> dict[str, Any]:
    """The typed parts of a result stored before schema 6, from its flat `details`."""
    d = dict(details)
    artifacts = from_json(Artifacts, {k: d.pop(k) for k in
                                      ("pdf", "saved", "pages", "reference_pages",
                                       "diff_pages") if k in d})
    suite_run = SuiteRun(via=d.pop("via", None) or None,
                         warnings=tuple(d.pop("suite_warnings", ()) or ()),
                         harness_error=bool(d.pop("harness_error", False)),
                         cached_from_run=d.pop("cached_from", None))
    if "reference" in d:
        d["reference_note"] = d.pop("reference")
    show = save = None
    if d:
        if task == Task.SHOW:
            show = from_json(ShowMeasures, d)
        else:
            save = from_json(SaveMeasures, d)
    return {"artifacts": artifacts, "suite_run": suite_run, "show": show, "save": save}
