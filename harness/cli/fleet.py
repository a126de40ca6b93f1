"""Commands for a Dask fleet: `fidelity worker`, which advertises the suites of its machine."""

from __future__ import annotations

from harness.cli.app import app  # noqa: F401  (commands register on it)
