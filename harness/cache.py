"""The result cache: a job whose inputs have not changed is not run again.

A result is reused when everything that could change it is the same: the document's bytes,
its reference PDF's bytes, the suite and its version, the task, the options that reach the
suite, the fonts installed (a new font changes every rendering), the rasteriser with its
version and DPI, and the harness's pipeline version (a change in comparison or grading).
Cached results are copied into the new run with their artifacts (hard links), so every run
stands alone in the store and in the report.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from harness import PIPELINE_VERSION
from harness.corpus import Document
from harness.corpus.discover import sha256_of
from harness.pipeline import Job
from harness.rasterise import get as get_rasteriser
from harness.records import JobResult


@lru_cache(maxsize=1)
def fonts_fingerprint() -> str:
    """What fontconfig offers: every font file with its family and style."""
    try:
        listing = subprocess.run(["fc-list", "--format", "%{file}\t%{family}\t%{style}\n"],
                                 capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return "no fontconfig"
    return hashlib.sha256("\n".join(sorted(listing.splitlines())).encode()).hexdigest()[:16]


def font_families() -> list[str]:
    """The font families fontconfig offers, for the report: what documents were shown with."""
    try:
        listing = subprocess.run(["fc-list", "--format", "%{family[0]}\n"],
                                 capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.strip() for line in listing.splitlines() if line.strip()})


@lru_cache(maxsize=4096)
def _reference_hash(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_of(path)


def reference_hash(document: Document) -> str | None:
    pdf = document.reference_pdf
    if pdf is None:
        return None
    stat = pdf.stat()
    return _reference_hash(pdf, stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class CacheKey:
    digest: str
    parts: dict

    @staticmethod
    def of(job: Job, suite_version: str | None, options: dict[str, object]) -> CacheKey:
        parts = {
            "document_sha256": job.document.sha256,
            "reference_sha256": reference_hash(job.document),
            "format": job.document.format,
            "suite": job.suite, "suite_version": suite_version, "task": job.task,
            "options": options,
            "fonts": fonts_fingerprint(),
            "rasteriser": get_rasteriser().settings(job.dpi).__dict__,
            "pipeline_version": PIPELINE_VERSION,
        }
        text = json.dumps(parts, sort_keys=True, default=str)
        return CacheKey(hashlib.sha256(text.encode()).hexdigest(), parts)


def environment() -> dict[str, object]:
    """The parts of every key that belong to this machine, for `fidelity cache info`."""
    return {"fonts": fonts_fingerprint(), "rasteriser": get_rasteriser().settings().__dict__,
            "pipeline_version": PIPELINE_VERSION}


def adopt(cached: JobResult, from_dir: Path, to_dir: Path, document: Document,
          old_key: str) -> JobResult | None:
    """The cached result as this run's, its artifacts linked into this run's folder; None
    when an artifact it names is gone (the entry is then useless)."""
    def moved(path: str) -> str:
        return document.key + path[len(old_key):] if path.startswith(old_key + "/") else path

    artifacts = cached.artifacts.renamed(moved)
    links: list[tuple[Path, Path]] = []
    for old, new in zip(cached.artifacts.files(), artifacts.files()):
        source = from_dir / old
        if not source.is_file():
            return None
        links.append((source, to_dir / new))
    for source, target in links:
        if source == target or target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # another file system, or links not allowed: a copy
            shutil.copyfile(source, target)
    return replace(cached, corpus=document.corpus, document=document.relpath,
                   format=document.format, artifacts=artifacts)
