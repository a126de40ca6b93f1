"""Commands for a Dask fleet: `fidelity worker`, which advertises the suites of its machine,
and the fleet's side of `fidelity suites --scheduler`."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from harness.cli.app import app
from harness.executors.fleet import advertise, connect, fleet_of, serve


@app.command()
def worker(
    scheduler: Annotated[str, typer.Argument(help="The Dask scheduler: tcp://HOST:PORT.")],
    suite: Annotated[Optional[list[str]], typer.Option(
        help="Offer only this suite; repeat for several. Default: every suite installed "
             "here. One not installed here is an error.")] = None,
    nthreads: Annotated[int, typer.Option(
        min=1, help="Jobs run at once; each suite is offered to that many.")] = 1,
    name: Annotated[Optional[str], typer.Option(
        help="The worker's name on the cluster. Default: Dask's.")] = None,
    connect_seconds: Annotated[float, typer.Option(
        min=1, help="Seconds to keep trying to reach the scheduler.")] = 60.0,
) -> None:
    """Be a Dask worker offering this machine's suites (as worker resources suite-NAME):
    a sweep with --scheduler sends it only jobs of those suites. Runs until stopped
    (Ctrl-C, SIGTERM) or the scheduler goes; the suites it started go with it."""
    offer = advertise(suite, nthreads)
    serve(scheduler, offer, name, connect_seconds)


def list_fleet(scheduler: str, as_json: bool) -> None:
    """`fidelity suites --scheduler`: which connected worker offers which suite."""
    with connect(scheduler) as client:
        fleet = fleet_of(client, scheduler)
    if as_json:
        print(json.dumps({"scheduler": scheduler, "workers": [
            {"address": w.address, "name": w.name, "nthreads": w.nthreads,
             "fleet_worker": w.offer is not None, "host": w.offer.host if w.offer else None,
             "pipeline_version": w.offer.pipeline_version if w.offer else None,
             "suites": {s: {"version": o.version, "executable": o.executable,
                            "tasks": list(o.tasks)} for s, o in w.offer.suites.items()
                        if s in w.suites} if w.offer else {}}
            for w in fleet.workers]}, indent=2))
        return
    if not fleet.workers:
        print(f"no worker is connected to {scheduler}")
    for w in fleet.workers:
        head = f"{w.name} ({w.address}, {w.nthreads} thread(s))"
        if w.offer is None:
            print(f"{head}: plain dask worker, advertises no suite"
                  + (" (gets no job while fleet workers are connected)" if fleet.routed
                     else " (takes any job)"))
            continue
        print(f"{head} on {w.offer.host}:")
        for name, o in w.offer.suites.items():
            print(f"  {name}: version {o.version} [{', '.join(o.tasks)}]")
