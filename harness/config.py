"""Settings read from ``fidelity.toml`` in the working folder, or else from
``[tool.fidelity]`` in its ``pyproject.toml``. Keys known so far:

- ``feature_weights``: a table feature tag -> weight, overriding the weights the corpus
  gives (each feature's share of the corpus's documents).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from harness.errors import UsageError


def load_settings(folder: Path | None = None) -> dict[str, Any]:
    folder = folder or Path.cwd()
    own = folder / "fidelity.toml"
    try:
        if own.is_file():
            return tomllib.loads(own.read_text(encoding="utf-8"))
        project = folder / "pyproject.toml"
        if project.is_file():
            return tomllib.loads(project.read_text(encoding="utf-8")).get("tool", {}).get(
                "fidelity", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"settings in {folder} are not valid TOML: {exc}") from None
    return {}


def feature_weights(counts: dict[str, int], documents: int,
                    overrides: dict[str, Any] | None = None) -> dict[str, float]:
    """How common each feature is (share of documents), with configured overrides."""
    weights = {tag: round(n / documents, 4) for tag, n in sorted(counts.items())
               if documents and not tag.startswith("error:")}
    for tag, value in (overrides or {}).items():
        if not isinstance(value, (int, float)) or value < 0:
            raise UsageError(f"feature_weights.{tag} must be a number ≥ 0, not {value!r}")
        weights[tag] = float(value)
    return weights
