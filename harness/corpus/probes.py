"""The built-in feature probes: small documents whose content is known by construction,
gathered from the base, feature and package probe modules, each written beside a
``<name>.expected.json`` that says what it contains (see ``base_probes``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from harness.corpus.base_probes import PROBES
from harness.corpus.feature_probes import MORE_PROBES
from harness.corpus.manifest import expectation_path
from harness.corpus.package_probes import PACKAGE_PROBES


def all_probes() -> dict[str, Callable[[], tuple[bytes, dict[str, Any]]]]:
    return {**PROBES, **MORE_PROBES, **PACKAGE_PROBES}


def write_probes(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in all_probes().items():
        data, expected = build()
        target = folder / name
        target.write_bytes(data)
        expectation_path(target).write_text(json.dumps(expected, indent=2, ensure_ascii=False)
                                             + "\n", encoding="utf-8")
        written += [target, expectation_path(target)]
    return written
