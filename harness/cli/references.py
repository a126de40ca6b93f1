"""`fidelity references`: Microsoft renderings made beside the documents that lack one."""

from __future__ import annotations

from harness.cli.app import app  # noqa: F401  (commands register on it)
