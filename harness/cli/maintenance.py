"""Keeping a store small over many nights: `fidelity prune`."""

from __future__ import annotations

from harness.cli.app import app  # noqa: F401  (commands register on it)
