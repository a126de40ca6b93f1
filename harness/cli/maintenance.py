"""Keeping a store small over many nights: `fidelity prune`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.app import DEFAULT_OUT, app, store_path
from harness.errors import UsageError
from harness.prune import prune
from harness.store import Store


@app.command("prune")
def prune_command(
    keep_runs: Annotated[int, typer.Option(
        "--keep-runs", help="Keep the artifacts of the last N complete runs, of any run one of "
        "them regressed against (a result got worse since it), and of every running or "
        "interrupted run; delete the other runs' page images, PDFs and saved files. Results "
        "are kept for ever.")],
    out: Annotated[Path, typer.Option(
        help="Reports folder: the store is OUT/fidelity.sqlite, and the page images of a "
        "pruned run's report there go too (the report is rebuilt).")] = DEFAULT_OUT,
    store: Annotated[Optional[Path], typer.Option(
        help="Result store. Default: OUT/fidelity.sqlite.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Say what would go and how much it would free; delete nothing.")]
        = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Delete the artifacts of old runs, never a result, nor a file a kept run or the result
    cache still uses; print the megabytes freed. Profile key: keep_runs (after `fidelity run`)."""
    path = store_path(out, store)
    if not path.is_file():
        raise UsageError(f"no result store at {path}: run `fidelity run` first or give --store")
    with Store(path) as db:
        done = prune(db, keep_runs, out, dry_run=dry_run)
    if as_json:
        print(json.dumps(asdict(done) | {"freed_bytes": done.freed_bytes}, indent=2))
        return
    for line in done.lines():
        print(line)
