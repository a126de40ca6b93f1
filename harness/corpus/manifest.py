"""Reading a corpus's manifest (``corpus.toml``, or a public corpus's ``MANIFEST.tsv``):
what discovery needs to give each document its provenance. Writing and checking the manifest
is ``metadata``'s, which builds on discovery; reading stays below both.
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import CorpusError


MANIFEST_NAME = "corpus.toml"
SCHEMA_VERSION = 1
_FIELDS = {"id", "path", "format", "source", "license", "features", "tags", "malformed",
           "notes", "expected", "reference"}
_REQUIRED = {"id", "path", "format", "source", "license"}


@dataclass(frozen=True)
class Entry:
    id: str  # sha256 of the file
    path: str  # relative to the corpus root
    format: str
    source: str  # a URL, or "generated"
    license: str  # an SPDX expression
    features: tuple[str, ...] = ()  # detected from the file's parts
    tags: tuple[str, ...] = ()  # added by hand
    malformed: bool = False  # broken on purpose
    notes: str = ""
    expected: str = ""  # a probe's known content (path of its .expected.json)
    # {"path", "producer", "sha256"}: a swapped reference PDF fails `corpus validate`
    reference: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        data = asdict(self)
        data["features"], data["tags"] = list(self.features), list(self.tags)
        return {k: v for k, v in data.items() if v not in ("", {}, [], False) or k in _REQUIRED}


def load(root: Path) -> list[Entry]:
    """The manifest's entries; an absent manifest is an empty corpus."""
    manifest = root / MANIFEST_NAME
    if not manifest.is_file():
        return []
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{manifest} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise CorpusError(f"{manifest} cannot be read: {exc}") from None
    if data.get("schema_version") != SCHEMA_VERSION:
        raise CorpusError(f"{manifest}: schema_version must be {SCHEMA_VERSION}")
    entries = []
    for number, record in enumerate(data.get("document", []), start=1):
        unknown = set(record) - _FIELDS
        missing = _REQUIRED - set(record)
        if unknown or missing:
            raise CorpusError(f"{manifest}: document {number} has "
                              + "; ".join(filter(None, [
                                  f"unknown keys {sorted(unknown)}" if unknown else "",
                                  f"missing keys {sorted(missing)}" if missing else ""])))
        entries.append(Entry(**{**record, "features": tuple(record.get("features", ())),
                                "tags": tuple(record.get("tags", ()))}))
    return entries


def malformed_note(notes: str) -> bool:
    """Whether a MANIFEST.tsv note says the file is broken on purpose: one of its clauses
    (split on ';') starts with the word "malformed" ("malformed: truncated zip",
    "malformed/hostile: ..."). A clause that merely mentions the word later does not count,
    so a note such as "detected: tables; not malformed" stays an ordinary document."""
    return any(re.match(r"malformed\b", clause.strip(), re.IGNORECASE)
               for clause in notes.split(";"))


def tsv_entries(root: Path) -> list[Entry]:
    """A MANIFEST.tsv (path, license, sha256, source_repo, notes...) read as manifest
    entries; a note starting with "malformed" marks the file broken on purpose."""
    manifest = root / "MANIFEST.tsv"
    try:
        with manifest.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            if reader.fieldnames is not None and "path" not in reader.fieldnames:
                raise CorpusError(f"{manifest} has no path column (its columns: "
                                  f"{', '.join(map(str, reader.fieldnames))})")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorpusError(f"{manifest} cannot be read: {exc}") from None
    return [Entry(id=row.get("sha256") or "", path=row["path"],
                  format=row.get("format") or Path(row["path"]).suffix.lstrip("."),
                  source=row.get("source_repo") or "", license=row.get("license") or "",
                  malformed=malformed_note(row.get("notes") or ""),
                  notes=row.get("notes") or "")
            for row in rows if row.get("path")]


@dataclass(frozen=True)
class Provenance:
    """What a corpus manifest says of one document, for discovery."""
    license: str | None
    source: str | None
    malformed: bool  # broken on purpose: kept out of the matrices and the recommendation


MAX_MANIFEST_LEVELS = 32  # how far up a swept folder's manifest is looked for


def manifest_folder(root: Path) -> Path | None:
    """The folder whose manifest describes `root`: `root` itself, else its nearest ancestor
    (up to MAX_MANIFEST_LEVELS, never past the filesystem root) holding a corpus.toml or
    MANIFEST.tsv that lists a file present below `root`; failing that, the nearest one that
    can be read. A sub-folder swept on its own (such as ../shared/corpus/office2pdf-golden)
    keeps the provenance, and the malformed marks, its corpus's manifest gives it.

    A manifest higher up that cannot be read describes nothing here and never makes the
    sweep of a folder below it fail; `root`'s own manifest is still its own, so when no
    ancestor describes `root` its error is reported (by whoever reads it next)."""
    real = root.resolve()
    holding = [folder for folder in (real, *real.parents)[:MAX_MANIFEST_LEVELS + 1]
               if (folder / MANIFEST_NAME).is_file() or (folder / "MANIFEST.tsv").is_file()]
    fallback = []  # root itself, readable or not, and the ancestors that can be read
    for folder in holding:
        try:
            below = _entries_below(folder, real)
        except CorpusError:
            if folder == real:
                fallback.append(folder)
            continue
        if any((real / path).is_file() for path in below):
            return folder
        fallback.append(folder)
    return fallback[0] if fallback else None


def _manifest_entries(folder: Path) -> list[Entry]:
    """corpus.toml's entries when it lists any, else MANIFEST.tsv's."""
    entries = load(folder)
    if not entries and (folder / "MANIFEST.tsv").is_file():
        entries = tsv_entries(folder)
    return entries


def _entries_below(folder: Path, root: Path) -> dict[str, Entry]:
    """The entries of `folder`'s manifest below `root`, by path relative to `root`."""
    prefix = root.relative_to(folder).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    return {e.path[len(prefix):]: e for e in _manifest_entries(folder)
            if e.path.startswith(prefix)}


def _described(root: Path) -> dict[str, Entry]:
    """The entries describing the documents below `root`, by path relative to `root`:
    corpus.toml's when it lists any, else MANIFEST.tsv's."""
    folder = manifest_folder(root)
    return {} if folder is None else _entries_below(folder, root.resolve())


def provenance(root: Path) -> dict[str, Provenance]:
    """path (relative to root) -> licence, source and malformed mark from the manifest;
    {} when there is none."""
    return {path: Provenance(e.license or None, e.source or None, e.malformed)
            for path, e in _described(root).items()}


def hand_tags(root: Path) -> dict[str, tuple[str, ...]]:
    """path (relative to root) -> the tags added by hand in the manifest; {} when none."""
    return {path: e.tags for path, e in _described(root).items() if e.tags}


def expectation_path(document: Path) -> Path:
    """Where a probe's known content is written: beside it, as ``<name>.expected.json``."""
    return document.with_name(document.name + ".expected.json")
