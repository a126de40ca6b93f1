"""The `fidelity` command's Typer applications and the defaults its commands share; the
commands register on them from ``commands`` and ``runs``."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Measure how faithfully office suites show Microsoft Office documents.")
corpus_app = typer.Typer(no_args_is_help=True,
                         help="Corpora: what they hold, and the built-in probes.")
app.add_typer(corpus_app, name="corpus")

DEFAULT_CORPUS = Path("corpus")
DEFAULT_OUT = Path("reports")
STORE_NAME = "fidelity.sqlite"


def store_path(out: Path, store: Path | None) -> Path:
    return store if store is not None else out / STORE_NAME
