"""Commands that run sweeps or look at them over time: `run`, `history`, `cache info|clear`,
`bench`."""

from __future__ import annotations

import inspect
import json
import os
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

import renderers
from harness import executors
from harness.bench import bench
from harness.cache import environment
from harness.cli.app import DEFAULT_CORPUS, DEFAULT_OUT, app, store_path
from harness.config import profile as load_profile
from harness.corpus import discover
from harness.corpus.discover import scan
from harness.corpus.sample import stratified_sample
from harness.errors import UsageError
from harness.history import (below_grade, history, mean_grade, regressions, row_label,
                             summary_lines)
from harness.processes.memory import DEFAULT_LIMIT_MB
from harness.prune import prune
from harness.report import build_report
from harness.report.analysis import matrix
from harness.report.exports import write_jsonl
from harness.report.junit import write_junit
from harness.store import Run, Store
from harness.sweep import ALL_TASKS, SweepSettings, sweep
from renderers.base import option_key


def _with_suite_options(command):
    """The command with one ``--SUITE-OPTION`` per option a suite declares
    (``--libreoffice-mode``), handed to it in ``**suite_options``."""
    signature = inspect.signature(command, eval_str=True)
    declared = [inspect.Parameter(
        option_key(suite, option), inspect.Parameter.KEYWORD_ONLY, default=None,
        annotation=Annotated[Optional[str], typer.Option(
            help=f"{option.help} One of {', '.join(option.choices)}; default "
                 f"{option.default}.")]) for suite, option in renderers.options()]
    kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    command.__signature__ = signature.replace(parameters=kept + declared)
    return command


def _use_suite_options(given: dict[str, Optional[str]], chosen: dict) -> None:
    """Each declared suite option, from the command line, else the profile, else its
    default, set in the environment the workers inherit."""
    for suite, option in renderers.options():
        key = option_key(suite, option)
        value = given.get(key) or chosen.get(key) or option.default
        if value not in option.choices:
            raise UsageError(f"unknown {suite} {option.name} {value}; known: "
                             f"{', '.join(option.choices)}")
        os.environ[option.variable] = value  # read by the workers


@app.command()
@_with_suite_options
def run(
    corpus: Annotated[Optional[list[Path]], typer.Option(
        help="Corpus folder; repeat for several. Default: the built-in corpus.")] = None,
    suite: Annotated[Optional[list[str]], typer.Option(
        help="Suite to run; repeat for several. Default: every known suite (those not "
             "installed here are reported unavailable).")] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Reports folder (reports/<run-id>/, latest). Default: reports.")] = None,
    store: Annotated[Optional[Path], typer.Option(
        help="Result store. Default: OUT/fidelity.sqlite.")] = None,
    jobs: Annotated[Optional[int], typer.Option(
        min=1, help="Parallel workers (local executor). Default: the number of cores.")]
        = None,
    timeout: Annotated[Optional[float], typer.Option(
        min=1, help="Seconds a suite gets per document and task. Default: 120.")] = None,
    memory_limit_mb: Annotated[Optional[int], typer.Option(
        min=0, help="MiB of resident memory any one suite process may use in a job; over it, "
             "its process group is killed and the job is crashed. 0: unbounded. "
             "Default: 4096.")] = None,
    limit: Annotated[Optional[int], typer.Option(
        min=1, help="Only N documents: a sample stratified by format, in proportion, those "
             "with a reference PDF first (the same corpus gives the same sample).")] = None,
    task: Annotated[Optional[list[str]], typer.Option(
        help="Task: show, save, save-odf, save-recalc; repeat for several. Default: all.")]
        = None,
    profile: Annotated[Optional[str], typer.Option(
        help="Settings profile: quick, nightly, ci, or one defined in fidelity.toml "
             "(profiles.NAME) or pyproject.toml (tool.fidelity.profiles.NAME). "
             "Default: ci when the CI variable is set.")] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        help="Run the jobs on a Dask cluster: tcp://HOST:PORT of its scheduler.")] = None,
    worker_wait: Annotated[Optional[float], typer.Option(
        min=0, help="With --scheduler: seconds to wait for a worker offering a suite, before "
             "the sweep starts and when a suite's last worker leaves; then its jobs are "
             "unavailable. Default: 60.")] = None,
    cache: Annotated[Optional[bool], typer.Option(
        "--cache/--no-cache", help="Reuse stored results whose inputs are all unchanged.")]
        = None,
    retry_failed: Annotated[Optional[bool], typer.Option(
        "--retry-failed/--keep-failed", help="Run again, rather than reuse, cached results "
        "that were not ok.")] = None,
    fresh: Annotated[bool, typer.Option(
        help="Start a new run even when an unfinished run with the same plan could be "
             "resumed.")] = False,
    junit: Annotated[Optional[Path], typer.Option(
        help="Write JUnit XML here (relative to OUT).")] = None,
    jsonl: Annotated[Optional[Path], typer.Option(
        help="Write JSON Lines here (relative to OUT).")] = None,
    fail_below: Annotated[Optional[int], typer.Option(
        min=0, max=5, help="Exit 1 when a result is below this grade, a failure (failed, "
             "empty, crashed, timed_out) counting as grade 0 as in the means; a graded one "
             "below it is a JUnit failure. Results where nothing ran (unsupported, "
             "unavailable) do not count. Without it (nor the profile's fail_below_grade), "
             "JUnit still marks grades below 3 as failures but the exit code ignores "
             "grades.")] = None,
    report: Annotated[bool, typer.Option(
        "--report/--no-report", help="Build the HTML report after the sweep.")] = True,
    follow_symlinks: Annotated[bool, typer.Option(
        help="Sweep documents that are symlinks to files outside the corpus folder, and "
             "walk symlinked folders outside it; by default they are refused, unread.")]
        = False,
    keep_outputs: Annotated[Optional[bool], typer.Option(
        "--keep-outputs/--lean-outputs", help="Keep every suite's PDF and saved file; by "
        "default only those of results below 5 or not ok are kept (page images always "
        "are).")] = None,
    **suite_options: Optional[str],
) -> None:
    """Render every document with every chosen suite, compare, grade, store and report.
    Exit 1 when a result regressed since the previous run of the same documents, or when
    --fail-below G is given and a result is below G (a failure counts as 0)."""
    profile_name, chosen = load_profile(
        profile, suite_options=[option_key(s, o) for s, o in renderers.options()])
    roots = corpus or [Path(p) for p in chosen.get("corpus", [])] or [DEFAULT_CORPUS]
    out = out or Path(chosen.get("out", DEFAULT_OUT))
    tasks = tuple(dict.fromkeys(task or chosen.get("tasks") or ALL_TASKS))
    unknown = [t for t in tasks if t not in ALL_TASKS]
    if unknown:
        raise UsageError(f"unknown task {', '.join(unknown)}; known: {', '.join(ALL_TASKS)}")
    _use_suite_options(suite_options, chosen)
    _folders_only(roots)
    found = scan(roots, None, follow_symlinks=follow_symlinks)
    sample = stratified_sample(found.documents, limit or chosen.get("limit"))
    documents = sample.documents
    if sample.sampled:
        print(f"fidelity: {sample.describe()}", file=sys.stderr)
    # Every known suite by default: one that is not installed here stands in the matrix as
    # `unavailable`, with its reason, rather than silently missing.
    suites = suite or chosen.get("suites") or renderers.names()
    jobs = jobs or chosen.get("jobs") or os.cpu_count() or 1
    scheduler = scheduler or chosen.get("scheduler")
    executor = (executors.get("dask", scheduler=scheduler, worker_wait_seconds=(
                    worker_wait if worker_wait is not None
                    else chosen.get("worker_wait_seconds"))) if scheduler
                else executors.get("local", workers=jobs))
    settings = SweepSettings(
        jobs=jobs, timeout_seconds=float(timeout or chosen.get("timeout_seconds", 120.0)),
        memory_limit_mb=_memory_limit(memory_limit_mb, chosen),
        tasks=tasks, use_cache=chosen.get("use_cache", True) if cache is None else cache,
        retry_failed=(chosen.get("retry_failed", False) if retry_failed is None
                      else retry_failed), resume=not fresh, follow_symlinks=follow_symlinks,
        keep_outputs=(chosen.get("keep_outputs", False) if keep_outputs is None
                      else keep_outputs),
        skipped=tuple(s.line() for s in found.skipped))
    where = f"Dask scheduler {scheduler}" if scheduler else f"{jobs} worker(s)"
    print(f"fidelity: {len(documents)} document(s) x {len(suites)} suite(s) "
          f"({', '.join(suites)}) x task(s) {', '.join(tasks)}, {where}"
          + (f", profile {profile_name}" if profile_name else ""), file=sys.stderr)
    gate = fail_below if fail_below is not None else chosen.get("fail_below_grade")
    with Store(store_path(out, store)) as db:
        try:
            finished = sweep(documents, suites, db, settings, executor=executor)
        except KeyboardInterrupt:
            _say_how_to_resume(db, len(documents))
            raise
        written = build_report(db, finished.id, out) if report else None
        failing = _tell_ci(db, finished, out, junit or chosen.get("junit"),
                           jsonl or chosen.get("jsonl"), gate, written)
        if chosen.get("keep_runs"):  # the profile's retention: `fidelity prune --keep-runs`
            for line in prune(db, chosen["keep_runs"], out).lines():
                print(f"prune: {line}")
    if failing:
        raise typer.Exit(1)


def _tell_ci(db: Store, finished: Run, out: Path, junit: Path | str | None,
             jsonl: Path | str | None, gate: int | None, written: Path | None) -> bool:
    """What CI reads after a sweep: the summary, JUnit and JSON Lines, each suite's changes
    since the previous run of these documents; and whether the run fails: a result
    regressed, or one is below `--fail-below` (a failure counting as 0)."""
    _print_summary(db, finished.id)
    for line in finished.settings.get("skipped") or ():
        print(f"skipped: {line}")
    _write_ci_outputs(db, finished.id, out, junit, jsonl, gate if gate is not None else 3)
    histories = history(db, finished.id)
    low = below_grade(db.results(finished.id), gate) if gate is not None else []
    for line in summary_lines(histories):
        print(line)
    if written is not None:
        print(f"report: {written / 'index.html'}")
    regressed = regressions(histories)
    if regressed:
        print(f"fidelity: {regressed} regression(s) since the previous run of these "
              "documents", file=sys.stderr)
    if low:
        print(f"fidelity: {len(low)} result(s) below grade {gate} (--fail-below {gate}; a "
              f"failure counts as 0), e.g. " + "; ".join(
                  f"{r.suite} {r.corpus}/{r.document} [{r.task}] "
                  + (f"grade {r.grade}" if r.status == "ok" else str(r.status))
                  for r in low[:3]), file=sys.stderr)
    return bool(regressed or low)


def _folders_only(roots: list[Path]) -> None:
    """`--corpus` takes folders: a file given instead is named as such, not as missing."""
    for root in roots:
        if root.is_file():
            raise UsageError(f"--corpus takes a folder, and {root} is a file: give its folder "
                             f"({root.parent}), or put the file in a folder of its own")


def _say_how_to_resume(db: Store, planned_documents: int) -> None:
    """After Ctrl-C (or SIGTERM): what the interrupted run holds, and the command that
    resumes it (the same command: a run with the same plan is resumed, not restarted)."""
    stopped = [r for r in db.runs() if r.state == "interrupted"]
    if not stopped:
        return
    run = max(stopped, key=lambda r: r.finished_at or "")
    results = list(db.results(run.id))
    not_ok = sum(1 for r in results if r.status not in ("ok", "unavailable", "unsupported"))
    words = [w for w in sys.argv[1:] if w != "--fresh"]
    # the command as it was typed (.venv/bin/fidelity, or python -m harness)
    program = ([sys.argv[0]] if Path(sys.argv[0]).name == "fidelity"
               else [sys.executable, "-m", "harness"])
    print(f"fidelity: run {run.id} stopped with {len(results)} result(s) stored "
          f"({not_ok} not ok) for {planned_documents} document(s) in {db.path}; resume it "
          f"with the same command: {shlex.join(program + words)}", file=sys.stderr)


def _memory_limit(option: int | None, chosen: dict) -> int | None:
    value = option if option is not None else chosen.get("memory_limit_mb", DEFAULT_LIMIT_MB)
    return value or None


def _write_ci_outputs(db: Store, run_id: str, out: Path, junit: Path | str | None,
                      jsonl: Path | str | None, fail_below: int) -> None:
    if not junit and not jsonl:
        return
    run_record = db.run(run_id)
    results = list(db.results(run_id))
    if junit:
        write_junit(out / junit, run_record, results, fail_below)
        print(f"junit: {out / junit}")
    if jsonl:
        write_jsonl(out / jsonl, run_record, results)
        print(f"jsonl: {out / jsonl}")


def _print_summary(db: Store, run_id: str) -> None:
    results = list(db.results(run_id))
    suites, formats, cells = matrix(results)
    grouped: dict[tuple[str, str], list] = {}
    for r in results:
        grouped.setdefault((row_label(r), r.format), []).append(r)
    means = {key: mean_grade(rows) for key, rows in grouped.items()}
    table = Table(title=f"run {run_id}: mean grade (failures count as 0) and failures")
    for column, justify in (("suite", "left"), ("format", "left"), ("mean grade", "right"),
                            ("graded", "right"), ("ungraded", "right"), ("not ok", "left")):
        table.add_column(column, justify=justify)
    left_out = 0
    for (suite_name, fmt), cell in sorted(cells.items()):
        if not cell.ran:  # nothing ran: said below, not a row each
            left_out += sum(cell.statuses.values())
            continue
        mean = means[(suite_name, fmt)].mean_grade
        table.add_row(suite_name, fmt, f"{mean:.2f}" if mean is not None else "-",
                      str(len(cell.graded)), str(cell.ungraded),
                      ", ".join(f"{k} {v}" for k, v in sorted(cell.failures.items())))
    Console(width=100).print(table)
    if left_out:
        scheduler = db.run(run_id).settings.get("scheduler")
        where = (f"offered by no worker of the fleet) are left out of this table; `fidelity "
                 f"suites --scheduler {scheduler}` says why." if scheduler else
                 "installed here) are left out of this table; `fidelity suites` says why.")
        print(f"{left_out} result(s) where nothing ran (format not supported, or suite not "
              + where)


cache_app = typer.Typer(no_args_is_help=True, help="The result cache in the store.")
app.add_typer(cache_app, name="cache")

OutOption = Annotated[Path, typer.Option(help="Reports folder.")]
StoreOption = Annotated[Optional[Path], typer.Option(
    help="Result store. Default: OUT/fidelity.sqlite.")]


def _open(out: Path, store: Path | None) -> Store:
    path = store_path(out, store)
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
    """Each suite's results against the previous complete run of the same documents (else
    the nearest, compared on the documents in common): regression, fix, unchanged or new;
    a new suite version is noted, and a suite that did not run this time is still listed,
    its results that were ok now regressions. Exit 1 when anything regressed."""
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
    limit: Annotated[Optional[int], typer.Option(
        min=1, help="A sample of N documents, stratified by format as `run --limit` takes "
                    "it.")] = None,
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
    roots = corpus or [DEFAULT_CORPUS]
    # the same sample `run --limit` takes, so that the timed re-run finds them all cached
    documents = stratified_sample([d for d in discover(roots) if not d.refused],
                                  limit).documents
    workers = jobs or os.cpu_count() or 1
    renderers.use_defaults()
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
    if figures["documents"] < 30:
        print("  (few documents: the harness's start-up, its workers and one LibreOffice "
              "each, weighs on this ratio; read it from 30 documents up)")
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
