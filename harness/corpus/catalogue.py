"""What a corpus holds: each document with its provenance and detected features, and the
counts per format and feature that say what the corpus exercises and what it lacks."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from harness.config import feature_weights, load_settings
from harness.corpus.discover import Document
from harness.corpus.features import KNOWN_FEATURES, detect


def describe(documents: list[Document]) -> list[dict[str, Any]]:
    rows = []
    for doc in documents:
        features = detect(doc.path, doc.format) if not doc.refused else None
        rows.append({"corpus": doc.corpus, "path": doc.relpath, "format": doc.format,
                     "size_bytes": doc.size_bytes, "sha256": doc.sha256,
                     "license": doc.license, "source": doc.source,
                     "malformed": doc.malformed,
                     "reference_pdf": doc.reference_pdf is not None,
                     "features": sorted(features.tags) if features else [],
                     "refused": doc.refused})
    return rows


def statistics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    per_format: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        per_format[row["format"]].update(row["features"])
    present = {tag for counts in per_format.values() for tag in counts}
    # The report's weights leave out documents broken on purpose, as its matrices do.
    counted = [r for r in rows if not r.get("malformed")]
    overall: Counter[str] = Counter(t for r in counted for t in set(r["features"]))
    return {
        "documents": len(rows),
        "malformed": len(rows) - len(counted),
        "formats": dict(sorted(Counter(r["format"] for r in rows).items())),
        "with_reference_pdf": sum(r["reference_pdf"] for r in rows),
        "licenses": dict(Counter(r["license"] or "(none)" for r in rows).most_common()),
        "features": {fmt: dict(sorted(c.items())) for fmt, c in sorted(per_format.items())},
        "features_without_document": sorted(KNOWN_FEATURES - present),
        # How common each feature is: the report's weights (overridable: feature_weights).
        "weights": feature_weights(dict(overall), len(counted),
                                   load_settings().get("feature_weights")),
    }
