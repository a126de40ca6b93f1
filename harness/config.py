"""Settings read from ``fidelity.toml`` in the working folder, or else from
``[tool.fidelity]`` in its ``pyproject.toml``. Keys known so far:

- ``feature_weights``: a table feature tag -> weight, overriding the weights the corpus
  gives (each feature's share of the corpus's documents).
- ``profiles``: named sets of `fidelity run` settings (``PROFILE_SCHEMA``), over the
  built-in ``quick``, ``nightly`` and ``ci``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Iterable

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


# The settings a profile may hold, with their types; a `fidelity run` option overrides its
# profile's value. Paths of `junit` and `jsonl` are relative to the reports folder (`out`).
# Each option a suite declares (``libreoffice_mode``) is a setting too, a string: the caller
# names them (`profile(..., suite_options=...)`), as this module knows no suite.
PROFILE_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "corpus": list, "suites": list, "tasks": list, "jobs": int,
    "timeout_seconds": (int, float), "memory_limit_mb": int, "limit": int, "out": str,
    "scheduler": str, "use_cache": bool, "retry_failed": bool,
    "junit": str, "jsonl": str, "fail_below_grade": int,
    "worker_wait_seconds": (int, float),  # with a scheduler: how long to wait for workers
    "keep_outputs": bool,  # every suite's PDF and saved file, not only those below 5
    "keep_runs": int,  # after the run, `fidelity prune --keep-runs N`
}
# Settings with a range, inclusive: (lowest, highest).
PROFILE_RANGES: dict[str, tuple[int, int]] = {"fail_below_grade": (0, 5),
                                              "keep_runs": (1, 1_000_000),
                                              "worker_wait_seconds": (0, 1_000_000)}
BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"corpus": ["corpus/probes"], "tasks": ["show"]},
    "nightly": {"tasks": ["show", "save", "save-odf", "save-recalc"], "retry_failed": True,
                "junit": "junit.xml", "jsonl": "results.jsonl"},
    # No fail_below_grade: JUnit marks grades below 3 as failures anyway, and the exit code
    # follows grades only when asked (`--fail-below`, or a profile's fail_below_grade).
    "ci": {"junit": "junit.xml", "jsonl": "results.jsonl"},
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def profile(name: str | None, settings: dict[str, Any] | None = None,
            suite_options: Iterable[str] = ()) -> tuple[str | None, dict[str, Any]]:
    """The chosen profile's settings (built-in values under the configured ones), checked
    against PROFILE_SCHEMA and the suites' declared `suite_options` (their profile keys,
    ``libreoffice_mode``). With no name, `ci` when the CI variable is set, else none."""
    if name is None:
        if not in_ci():
            return None, {}
        name = "ci"
    configured = (settings if settings is not None else load_settings()).get("profiles", {})
    if not isinstance(configured, dict):
        raise UsageError("profiles must be a table of tables ([tool.fidelity.profiles.NAME])")
    known = sorted(set(BUILTIN_PROFILES) | set(configured))
    if name not in known:
        raise UsageError(f"unknown profile {name}; known: {', '.join(known)}")
    merged = dict(BUILTIN_PROFILES.get(name, {}))
    own = configured.get(name, {})
    if not isinstance(own, dict):
        raise UsageError(f"profile {name} must be a table")
    merged.update(own)
    schema = {**PROFILE_SCHEMA, **{key: str for key in suite_options}}
    for key, value in merged.items():
        if key not in schema:
            raise UsageError(f"profile {name}: unknown setting {key}; known: "
                             f"{', '.join(sorted(schema))}")
        expected = schema[key]
        numeric = expected is int or (isinstance(expected, tuple) and bool not in expected)
        if not isinstance(value, expected) or (isinstance(value, bool) and numeric):
            names = (" or ".join(t.__name__ for t in expected) if isinstance(expected, tuple)
                     else expected.__name__)
            raise UsageError(f"profile {name}: {key} must be {names}, not {value!r}")
        if key in ("corpus", "suites", "tasks") and not all(isinstance(v, str) for v in value):
            raise UsageError(f"profile {name}: {key} must be a list of strings")
        low, high = PROFILE_RANGES.get(key, (None, None))
        if low is not None and not low <= value <= high:
            raise UsageError(f"profile {name}: {key} must be between {low} and {high}, "
                             f"not {value!r}")
    return name, merged
