"""Commands about runs over time: `history`, `cache info|clear`, `bench`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli import DEFAULT_OUT, _store_path, app
from harness.errors import UsageError
from harness.store import Store

cache_app = typer.Typer(no_args_is_help=True, help="The result cache in the store.")
app.add_typer(cache_app, name="cache")

OutOption = Annotated[Path, typer.Option(help="Reports folder.")]
StoreOption = Annotated[Optional[Path], typer.Option(
    help="Result store. Default: OUT/fidelity.sqlite.")]


def _open(out: Path, store: Path | None) -> Store:
    path = _store_path(out, store)
    if not path.is_file():
        raise UsageError(f"no result store at {path}: run `fidelity run` first or give --store")
    return Store(path)


@app.command("history")
def history_command(
    run_id: Annotated[Optional[str], typer.Argument(help="Run. Default: the latest.")] = None,
    out: OutOption = DEFAULT_OUT,
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Each result against the same suite's previous complete run: regression, fix,
    unchanged or new; a new suite version is noted. Exit 1 when anything regressed."""
    from harness.history import history, regressions, summary_lines

    with _open(out, store) as db:
        histories = history(db, run_id)
    if as_json:
        print(json.dumps([h.to_json() for h in histories], indent=2, ensure_ascii=False))
    else:
        for line in summary_lines(histories, limit=1000):
            print(line)
        for h in histories:
            for change in h.changes:
                if change.kind == "fix":
                    print(f"  fix: {change.describe()}")
    if regressions(histories):
        raise typer.Exit(1)


@cache_app.command("info")
def cache_info(
    out: OutOption = DEFAULT_OUT,
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """How many results can be reused, per suite and task, and this machine's part of the
    key (fonts, rasteriser, pipeline version)."""
    from collections import Counter

    from harness.cache import environment

    with _open(out, store) as db:
        entries = db.cache_entries()
    per = Counter(f"{e['suite']} {e['task']}" for e in entries)
    here = environment()
    current = sum(1 for e in entries if _matches(json.loads(e["parts"]), here))
    info = {"entries": len(entries), "matching_this_machine": current,
            "per_suite_task": dict(sorted(per.items())),
            "runs": sorted({e["run_id"] for e in entries}), "this_machine": here}
    if as_json:
        print(json.dumps(info, indent=2))
        return
    print(f"{len(entries)} cached result(s), {current} of them made with this machine's "
          f"fonts ({here['fonts']}), rasteriser and pipeline version {here['pipeline_version']}")
    for name, count in info["per_suite_task"].items():
        print(f"  {name}: {count}")


def _matches(parts: dict, here: dict) -> bool:
    return (parts.get("fonts") == here["fonts"]
            and parts.get("pipeline_version") == here["pipeline_version"]
            and (parts.get("rasteriser") or {}).get("rasteriser_version")
            == here["rasteriser"]["rasteriser_version"])


@cache_app.command("clear")
def cache_clear(
    out: OutOption = DEFAULT_OUT,
    store: StoreOption = None,
    suite: Annotated[Optional[str], typer.Option(help="Only this suite's entries.")] = None,
) -> None:
    """Forget cached results (the runs and their results stay): the next run converts
    everything again."""
    with _open(out, store) as db:
        removed = db.clear_cache(suite)
    print(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'}")


@app.command("bench")
def bench_command(
    corpus: Annotated[Optional[list[Path]], typer.Option(
        help="Corpus folder; repeat for several. Default: the built-in corpus.")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Only the first N documents.")]
        = None,
    jobs: Annotated[Optional[int], typer.Option(min=1, help="Harness workers. Default: cores.")]
        = None,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds per document.")] = 120.0,
    dask: Annotated[bool, typer.Option("--dask/--no-dask",
                                       help="Also run on a loopback Dask cluster.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Documents per minute of the naive loop and of the harness on the same documents,
    their ratio, the harness's time inside and outside the suites, peak memory, a re-run
    with nothing changed, and whether a Dask run gives the same results."""
    import os
    import sys

    from harness.bench import bench
    from harness.cli import DEFAULT_CORPUS
    from harness.corpus import discover

    roots = corpus or [DEFAULT_CORPUS]
    documents = discover(roots, limit)
    workers = jobs or os.cpu_count() or 1
    os.environ.setdefault("FIDELITY_LIBREOFFICE_MODE", "persistent")
    figures = bench(documents, roots, limit, workers, timeout, dask,
                    say=lambda line: print(line, file=sys.stderr, flush=True))
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    naive, harness = figures["naive"], figures["harness"]
    print(f"{figures['documents']} documents, LibreOffice show, {workers} harness worker(s)")
    print(f"naive loop: {naive['per_minute']:.1f} documents/min "
          f"({naive['wall_seconds']:.0f} s, {naive['failures']} without a PDF)")
    print(f"harness:    {harness['per_minute']:.1f} documents/min "
          f"({harness['wall_seconds']:.0f} s, {harness['failures']} not ok)")
    print(f"ratio harness / naive: {figures['ratio']}")
    print(f"harness time inside the suites: {harness['suite_seconds']:.0f} s of "
          f"{harness['wall_seconds'] * workers:.0f} worker-seconds; outside the suites: "
          f"{100 * harness['outside_suites_share']:.0f} % (whole jobs: "
          f"{harness['job_seconds']:.0f} s)")
    print(f"peak memory: harness worker {harness['peak_worker_rss_mb']} MB, suite process "
          f"{harness['peak_suite_rss_mb']} MB")
    print(f"re-run with nothing changed: {figures['rerun_seconds']} s")
    if "dask" in figures:
        d = figures["dask"]
        print(f"Dask ({workers} workers on loopback): {d['per_minute']:.1f} documents/min; "
              f"same results as the local run: {'yes' if d['same_results'] else 'NO'}"
              + (f" (differing: {d['differing']})" if d["differing"] else ""))
