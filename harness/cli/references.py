"""`fidelity references`: Microsoft renderings made beside the documents that lack one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness import executors
from harness.cli.app import app
from harness.references import MAKERS, make_references


@app.command()
def references(
    corpus: Annotated[list[Path], typer.Option(
        help="Corpus folder; repeat for several.")],
    scheduler: Annotated[Optional[str], typer.Option(
        help="Render on a Dask cluster (tcp://HOST:PORT of its scheduler), on a worker that "
             "offers the suite: a Windows machine with Microsoft Office.")] = None,
    suite: Annotated[str, typer.Option(
        help=f"The suite that renders them: {', '.join(MAKERS)}.")] = MAKERS[0],
    jobs: Annotated[Optional[int], typer.Option(
        min=1, help="Parallel workers without --scheduler. Default: the number of cores.")]
        = None,
    timeout: Annotated[float, typer.Option(
        min=1, help="Seconds Office gets per document.")] = 120.0,
    worker_wait: Annotated[Optional[float], typer.Option(
        min=0, help="With --scheduler: seconds to wait for a worker offering the suite, "
             "before starting and when its last worker leaves. Default: 60.")] = None,
) -> None:
    """Write <stem>.reference.pdf beside each document that has none, rendered by Microsoft
    Office, its version recorded as the PDF's Producer. Never overwrites a reference; files a
    sweep would refuse are skipped and listed. Exit 0 when it ran (documents that failed
    are listed, not an exit code), 2 usage error, 3 no document, or documents lacking one
    and the suite available nowhere (one line says why), 130 interrupted."""
    executor = (executors.get("dask", scheduler=scheduler, worker_wait_seconds=worker_wait)
                if scheduler
                else executors.get("local", workers=jobs or os.cpu_count() or 1))
    summary = make_references(corpus, executor, suite, timeout_seconds=timeout)
    lines = summary.lines()
    print(f"fidelity references: {lines[0]}")
    for line in lines[1:]:
        print(line)
