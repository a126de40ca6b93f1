"""The corpus's own metadata: one reviewable TOML manifest, ``corpus.toml``, at its root.

One manifest rather than a file per document: a contribution is one diff in one file, and
duplicates (same hash) are visible in one place. Entries are kept sorted by path and written
deterministically, so regenerating changes nothing that did not change.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import tomli_w
from license_expression import get_spdx_licensing
from rapidfuzz import fuzz, process

from harness.corpus.discover import OFFICE_FORMATS, regular_file_problem, sha256_of
from harness.corpus.sniff import container_problem
from harness.corpus.features import detect
from harness.corpus.manifest import (MANIFEST_NAME, SCHEMA_VERSION, Entry, expectation_path, load,
                                     tsv_entries)
from harness.errors import CorpusError, SourceError
from harness.formats import reference_for
from harness.pdfinfo import producer_of
from harness.pdfinfo import pdf_page_count
from harness.truth import read_truth

CONTRIBUTED = "contributed"


def license_problem(expression: str | None) -> str | None:
    if not expression or not expression.strip():
        return "no licence given (an SPDX expression such as CC-BY-4.0 is required)"
    errors = get_spdx_licensing().validate(expression).errors
    if not errors:
        return None
    hints = [f"unknown licence {part!r}; did you mean {guess}?" for part, guess in
             ((p, nearest_license(p)) for p in _license_parts(expression)) if guess]
    return f"licence {expression!r} is not an SPDX expression: {'; '.join(hints or errors)}"


_OPERATORS = re.compile(r"\s+(?:AND|OR|WITH)\s+|[()]", re.IGNORECASE)
_NOISE = re.compile(r"licen[cs]e|version|[^a-z0-9+]")


def _license_parts(expression: str) -> list[str]:
    """The operands of an expression that are no licence the SPDX list knows."""
    parts = [p.strip() for p in _OPERATORS.split(expression) if p and p.strip()]
    return [p for p in parts if get_spdx_licensing().validate(p).errors]


@functools.cache
def _spdx_ids() -> dict[str, str]:
    """SPDX licence ids (license-expression's own list, exceptions and LicenseRef-*
    left out) by their comparison key."""
    ids: dict[str, str] = {}
    for key, symbol in sorted(get_spdx_licensing().known_symbols.items()):
        if not symbol.is_exception and not key.startswith("LicenseRef-"):
            ids.setdefault(_NOISE.sub("", key.lower()), key)
    return ids


def nearest_license(text: str) -> str | None:
    """The SPDX id closest to a licence written by hand ("Apache 2" -> "Apache-2.0"), or
    None when nothing is close."""
    key = _NOISE.sub("", text.lower())
    if not key:
        return None
    close = process.extract(key, list(_spdx_ids()), scorer=fuzz.WRatio, score_cutoff=80,
                            limit=10)
    if not close:
        return None  # among equally close ids, the one most like the whole text
    best = max(close, key=lambda found: (found[1], fuzz.ratio(key, found[0])))
    return _spdx_ids()[best[0]]


def save(root: Path, entries: list[Entry]) -> Path:
    manifest = root / MANIFEST_NAME
    text = ("# The corpus's documents: provenance, licence, features.\n# Written by "
            "`fidelity corpus add` and `fidelity corpus probes`; hand edits\n# to tags and "
            "notes are kept.\n" + tomli_w.dumps({
                "schema_version": SCHEMA_VERSION,
                "document": [e.record() for e in sorted(entries, key=lambda e: e.path)]}))
    temporary = manifest.with_suffix(".toml.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, manifest)
    return manifest


def opening_problem(path: Path, fmt: str) -> str | None:
    """Why a document does not open as what its extension says, or None."""
    features = detect(path, fmt)
    if features.errors:
        return f"it does not open ({', '.join(features.errors)})"
    try:
        read_truth(path, fmt)
    except SourceError as exc:
        return f"it does not open ({exc})"
    return None


def entry_for(root: Path, path: Path, *, source: str, license: str, tags: tuple[str, ...] = (),
              malformed: bool = False, notes: str = "", expected: str = "") -> Entry:
    reference = reference_for(path)
    fmt = path.suffix.lower().lstrip(".")
    return Entry(
        id=sha256_of(path), path=path.relative_to(root).as_posix(), format=fmt, source=source,
        license=license, features=tuple(sorted(detect(path, fmt).tags)), tags=tuple(tags),
        malformed=malformed, notes=notes, expected=expected,
        reference={"path": reference.relative_to(root).as_posix(),
                   "producer": producer_of(reference) or "unknown",
                   "sha256": sha256_of(reference)}
        if reference.is_file() else {})


def add(root: Path, files: list[Path], *, source: str, license: str,
        reference: Path | None = None, tags: tuple[str, ...] = (), malformed: bool = False,
        notes: str = "") -> list[Entry]:
    """Copy documents into the corpus and record them; all or nothing."""
    problem = license_problem(license)
    if problem:
        raise CorpusError(f"refused: {problem}")
    if not source.strip():
        raise CorpusError("refused: no source given (a URL, or 'generated')")
    if reference is not None and len(files) != 1:
        raise CorpusError("refused: --reference goes with exactly one document")
    if reference is not None and (why := regular_file_problem(reference)):
        raise CorpusError(f"refused: the reference {reference} {why}")
    if reference is not None and pdf_page_count(reference)[0] == 0:
        raise CorpusError(f"refused: the reference {reference} is not a readable PDF")
    entries = load(root)
    known = {e.id: e.path for e in entries}
    folder = root / CONTRIBUTED
    plans: list[tuple[Path, Path]] = []
    for file in files:
        fmt = file.suffix.lower().lstrip(".")
        if why := regular_file_problem(file):  # before any open: a FIFO blocks
            raise CorpusError(f"refused: {file} {why}")
        if fmt not in OFFICE_FORMATS:
            raise CorpusError(f"refused: {file.name} is not an Office document by its extension")
        digest = sha256_of(file)
        if digest in known and reference is not None:
            return [_attach_reference(root, entries, digest, reference)]
        if digest in known:
            raise CorpusError(f"refused: {file.name} is already in the corpus as {known[digest]}")
        if why := container_problem(file, fmt):
            raise CorpusError(f"refused: {file.name}: {why}")
        if not malformed:
            why = opening_problem(file, fmt)
            if why:
                raise CorpusError(f"refused: {file.name}: {why}; add --malformed if it is "
                                  "broken on purpose")
        target = folder / file.name
        if os.path.lexists(target) or any(t == target for _, t in plans):
            raise CorpusError(f"refused: {target} already exists; rename the file")
        known[digest] = target.relative_to(root).as_posix()
        plans.append((file, target))
    added = []
    folder.mkdir(parents=True, exist_ok=True)
    if not folder.resolve().is_relative_to(root.resolve()):
        raise CorpusError(f"refused: {folder} links outside the corpus")
    for file, target in plans:
        _copy_bytes(file, target)
        if reference is not None:
            _copy_bytes(reference, reference_for(target))
        added.append(entry_for(root, target, source=source, license=license, tags=tags,
                               malformed=malformed, notes=notes))
    save(root, entries + added)
    return added


def _attach_reference(root: Path, entries: list[Entry], digest: str, reference: Path) -> Entry:
    """A document already in the corpus gains the reference PDF it lacked (the same PDF may
    already lie beside it, put there by hand); one it has already is never replaced."""
    entry = next(e for e in entries if e.id == digest)
    if entry.reference:
        raise CorpusError(f"refused: {entry.path} already has a reference PDF, "
                          f"{entry.reference.get('path')}")
    target = reference_for(root / entry.path)
    if os.path.lexists(target) and (os.path.islink(target)
                                    or sha256_of(target) != sha256_of(reference)):
        raise CorpusError(f"refused: another file lies at {target}; move it away first")
    if not os.path.lexists(target):
        _copy_bytes(reference, target)
    updated = replace(entry, reference={"path": target.relative_to(root).as_posix(),
                                        "producer": producer_of(target) or "unknown",
                                        "sha256": sha256_of(target)})
    save(root, [updated if e is entry else e for e in entries])
    return updated


def _copy_bytes(source: Path, target: Path) -> None:
    """The bytes, never a link: a new file, not written through one left at the target."""
    with source.open("rb") as fh, open(target, "xb") as out:
        shutil.copyfileobj(fh, out)


def validate(root: Path) -> list[str]:
    """Every way the corpus differs from what its manifest says; empty when it agrees."""
    try:
        entries = load(root)
    except CorpusError as exc:
        return [str(exc)]
    if not (root / MANIFEST_NAME).is_file():
        if (root / "MANIFEST.tsv").is_file():
            entries = tsv_entries(root)
        else:
            return [f"{root / MANIFEST_NAME} is missing (and there is no MANIFEST.tsv)"]
    from_toml = (root / MANIFEST_NAME).is_file()  # a MANIFEST.tsv lists each PDF as a row
    problems = []
    seen_ids: dict[str, str] = {}
    seen_paths: set[str] = set()
    for e in entries:
        path = root / e.path
        if e.path in seen_paths:
            problems.append(f"{e.path}: listed twice")
        seen_paths.add(e.path)
        if e.id and e.id in seen_ids:
            problems.append(f"{e.path}: same content as {seen_ids[e.id]} (duplicate)")
        seen_ids.setdefault(e.id, e.path)
        if not path.is_file():
            problems.append(f"{e.path}: file missing")
            continue
        if not e.id:
            problems.append(f"{e.path}: no sha256 recorded")
        elif sha256_of(path) != e.id:
            problems.append(f"{e.path}: sha256 differs from the manifest's id")
        if e.format != path.suffix.lower().lstrip("."):
            problems.append(f"{e.path}: format {e.format} does not match its extension")
        why = license_problem(e.license)
        if why:
            problems.append(f"{e.path}: {why}")
        problems += _reference_problems(root, e, path, from_toml)
        if e.expected and not (root / e.expected).is_file():
            problems.append(f"{e.path}: expected content {e.expected} missing")
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*")
               if p.is_file() and p.suffix.lower().lstrip(".") in OFFICE_FORMATS}
    listed_in = MANIFEST_NAME if (root / MANIFEST_NAME).is_file() else "MANIFEST.tsv"
    problems += [f"{p}: in the corpus folder but not in {listed_in}"
                 for p in sorted(on_disk - seen_paths)]
    return problems


def _reference_problems(root: Path, entry: Entry, path: Path, from_toml: bool) -> list[str]:
    """A reference PDF must be the one recorded: present, and with the recorded hash; in a
    corpus.toml corpus, one lying beside a document whose entry records none is reported."""
    beside = reference_for(path)
    if not entry.reference:
        return [f"{entry.path}: reference PDF {beside.relative_to(root).as_posix()} is not "
                "recorded (record it: `fidelity corpus add` the document again with "
                "--reference)"] \
            if from_toml and beside.is_file() else []
    recorded = entry.reference.get("path", "")
    if not (root / recorded).is_file():
        return [f"{entry.path}: reference PDF {recorded} missing"]
    digest = entry.reference.get("sha256")
    if not digest:
        return [f"{entry.path}: reference PDF {recorded} has no sha256 recorded"]
    if sha256_of(root / recorded) != digest:
        return [f"{entry.path}: reference PDF {recorded}: sha256 differs from the manifest's"]
    return []


PROBE_LICENSE = "CC0-1.0"


def record_probes(root: Path, written: list[Path]) -> Path:
    """Upsert the generated probes' entries (hand-added tags and notes kept)."""
    entries = {e.path: e for e in load(root)}
    for path in written:
        if path.suffix.lower().lstrip(".") not in OFFICE_FORMATS:
            continue
        relpath = path.resolve().relative_to(root.resolve()).as_posix()
        old = entries.get(relpath)
        expected = expectation_path(path)
        entries[relpath] = entry_for(
            root.resolve(), path.resolve(), source="generated", license=PROBE_LICENSE,
            tags=old.tags if old else (), notes=old.notes if old else "",
            expected=expected.resolve().relative_to(root.resolve()).as_posix()
            if expected.is_file() else "")
    return save(root, list(entries.values()))


