"""The `fidelity` command. Exit codes: 0 done, 2 usage error, 3 nothing to do, 4 result store
error, 5 corpus refused a change or is invalid, 6 an input of `compare` cannot be read or
rendered, 70 internal error, 130 interrupted (Ctrl-C or
SIGTERM). A suite failing on a document is a result, not an exit code."""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

import renderers
from harness import PIPELINE_VERSION, __version__
from harness.corpus import discover
from harness.errors import CorpusError, FidelityError, UsageError
from harness.rasterise import DEFAULT_DPI
from harness.report import build_report
from harness.report.build import matrix
from harness.store import Store
from harness.sweep import ALL_TASKS, SweepSettings, suite_status, sweep
from renderers.base import Status, Task
from renderers.libreoffice import MODES

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Measure how faithfully office suites show Microsoft Office documents.")
corpus_app = typer.Typer(no_args_is_help=True,
                         help="Corpora: what they hold, and the built-in probes.")
app.add_typer(corpus_app, name="corpus")

DEFAULT_CORPUS = Path("corpus")
DEFAULT_OUT = Path("reports")
STORE_NAME = "fidelity.sqlite"


def _store_path(out: Path, store: Path | None) -> Path:
    return store if store is not None else out / STORE_NAME


@app.command()
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
    limit: Annotated[Optional[int], typer.Option(min=1, help="Only the first N documents.")]
        = None,
    task: Annotated[Optional[list[str]], typer.Option(
        help="Task: show, save, save-odf, save-recalc; repeat for several. Default: all.")]
        = None,
    libreoffice_mode: Annotated[Optional[str], typer.Option(
        help="LibreOffice driven by a persistent UNO listener per worker (falls back to the "
             "command line when it cannot start), or one command per document (oneshot).")]
        = None,
    profile: Annotated[Optional[str], typer.Option(
        help="Settings profile: quick, nightly, ci, or one of [tool.fidelity.profiles]. "
             "Default: ci when the CI variable is set.")] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        help="Run the jobs on a Dask cluster: tcp://HOST:PORT of its scheduler.")] = None,
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
        min=0, max=5, help="JUnit failure below this grade. Default: 3.")] = None,
    report: Annotated[bool, typer.Option(
        "--report/--no-report", help="Build the HTML report after the sweep.")] = True,
) -> None:
    """Render every document with every chosen suite, compare, grade, store and report.
    Exit 1 when a result regressed since the suite's previous run."""
    from harness.config import profile as load_profile
    from harness import executors
    from harness.history import history, regressions, summary_lines

    profile_name, chosen = load_profile(profile)
    roots = corpus or [Path(p) for p in chosen.get("corpus", [])] or [DEFAULT_CORPUS]
    out = out or Path(chosen.get("out", DEFAULT_OUT))
    tasks = tuple(dict.fromkeys(task or chosen.get("tasks") or ALL_TASKS))
    unknown = [t for t in tasks if t not in ALL_TASKS]
    if unknown:
        raise UsageError(f"unknown task {', '.join(unknown)}; known: {', '.join(ALL_TASKS)}")
    libreoffice_mode = libreoffice_mode or chosen.get("libreoffice_mode", "persistent")
    if libreoffice_mode not in MODES:
        raise UsageError(f"unknown LibreOffice mode {libreoffice_mode}; known: "
                         f"{', '.join(MODES)}")
    os.environ["FIDELITY_LIBREOFFICE_MODE"] = libreoffice_mode  # read by the workers
    documents = discover(roots, limit or chosen.get("limit"))
    # Every known suite by default: one that is not installed here stands in the matrix as
    # `unavailable`, with its reason, rather than silently missing.
    suites = suite or chosen.get("suites") or renderers.names()
    jobs = jobs or chosen.get("jobs") or os.cpu_count() or 1
    scheduler = scheduler or chosen.get("scheduler")
    executor = (executors.get("dask", scheduler=scheduler) if scheduler
                else executors.get("local", workers=jobs))
    settings = SweepSettings(
        jobs=jobs, timeout_seconds=float(timeout or chosen.get("timeout_seconds", 120.0)),
        tasks=tasks, use_cache=chosen.get("use_cache", True) if cache is None else cache,
        retry_failed=(chosen.get("retry_failed", False) if retry_failed is None
                      else retry_failed), resume=not fresh)
    where = f"Dask scheduler {scheduler}" if scheduler else f"{jobs} worker(s)"
    print(f"fidelity: {len(documents)} document(s) x {len(suites)} suite(s) "
          f"({', '.join(suites)}) x task(s) {', '.join(tasks)}, {where}"
          + (f", profile {profile_name}" if profile_name else ""), file=sys.stderr)
    with Store(_store_path(out, store)) as db:
        finished = sweep(documents, suites, db, settings, executor=executor)
        if report:
            written = build_report(db, finished.id, out)
        _print_summary(db, finished.id)
        _write_ci_outputs(db, finished.id, out, junit or chosen.get("junit"),
                          jsonl or chosen.get("jsonl"),
                          fail_below if fail_below is not None
                          else chosen.get("fail_below_grade", 3))
        histories = history(db, finished.id)
    for line in summary_lines(histories):
        print(line)
    if report:
        print(f"report: {written / 'index.html'}")
    found = regressions(histories)
    if found:
        print(f"fidelity: {found} regression(s) since the previous run", file=sys.stderr)
        raise typer.Exit(1)


def _write_ci_outputs(db: Store, run_id: str, out: Path, junit: Path | str | None,
                      jsonl: Path | str | None, fail_below: int) -> None:
    from harness.report.exports import write_jsonl
    from harness.report.junit import write_junit

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
    suites, formats, cells = matrix(list(db.results(run_id)))
    table = Table(title=f"run {run_id}: mean grade (graded documents) and failures")
    for column, justify in (("suite", "left"), ("format", "left"), ("mean grade", "right"),
                            ("graded", "right"), ("ungraded", "right"), ("not ok", "left")):
        table.add_column(column, justify=justify)
    not_run = {Status.UNSUPPORTED.value, Status.UNAVAILABLE.value}
    left_out = 0
    for (suite_name, fmt), cell in sorted(cells.items()):
        if set(cell.statuses) <= not_run:  # nothing ran: said below, not a row each
            left_out += sum(cell.statuses.values())
            continue
        table.add_row(suite_name, fmt, f"{cell.mean:.2f}" if cell.mean is not None else "-",
                      str(len(cell.graded)), str(cell.ungraded),
                      ", ".join(f"{k} {v}" for k, v in sorted(cell.failures.items())))
    Console(width=100).print(table)
    if left_out:
        print(f"{left_out} result(s) where nothing ran (format not supported, or suite not "
              "installed here) are left out of this table; `fidelity suites` says why.")


@app.command()
def report(
    run_id: Annotated[Optional[str], typer.Argument(help="Run to report. Default: latest.")]
        = None,
    out: Annotated[Path, typer.Option(help="Reports folder.")] = DEFAULT_OUT,
    store: Annotated[Optional[Path], typer.Option(
        help="Result store. Default: OUT/fidelity.sqlite.")] = None,
) -> None:
    """Rebuild a report from the store; converts nothing."""
    path = _store_path(out, store)
    if not path.is_file():
        raise UsageError(f"no result store at {path}: run `fidelity run` first or give --store")
    with Store(path) as db:
        written = build_report(db, run_id, out)
    print(f"report: {written / 'index.html'}")


@app.command()
def suites(as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """Every suite the harness knows, whether it is available here, and why not."""
    status = suite_status(renderers.names())
    if as_json:
        print(json.dumps({name: {"available": a.available, "version": a.version,
                                 "reason": a.reason, "executable": a.executable,
                                 "formats": sorted(renderers.get(name).formats),
                                 "tasks": sorted(t.value for t in renderers.get(name).tasks),
                                 "reference": renderers.get(name).is_reference}
                          for name, a in status.items()}, indent=2))
        return
    for name, a in status.items():
        renderer = renderers.get(name)
        if a.available:
            state = f"available, version {a.version}"
        else:
            state = f"not available: {a.reason}"
        tasks = ", ".join(t.value for t in Task if t in renderer.tasks)
        print(f"{name}: {state} [{tasks}]")


@app.command()
def compare(
    reference: Annotated[Path, typer.Argument(help="Reference: a PDF, or an Office document.")],
    candidate: Annotated[Path, typer.Argument(help="Candidate: a PDF, or an Office document.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    diff: Annotated[Optional[Path], typer.Option(
        help="Write one diff image per aligned page pair into this folder.")] = None,
    suite: Annotated[str, typer.Option(
        help="Suite that renders an Office document given instead of a PDF.")]
        = "libreoffice",
    dpi: Annotated[int, typer.Option(min=20, max=300, help="Scoring resolution.")]
        = DEFAULT_DPI,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds the suite gets.")] = 120.0,
) -> None:
    """Compare two renderings: pages aligned, SSIM and layout distance per page, text, fonts,
    a score (0-1) and a grade (0-5). Exit 6 when an input cannot be read or rendered."""
    import tempfile

    from harness.compare.documents import compare_renderings, write_diffs
    from harness.compare.inputs import prepare

    os.environ.setdefault("FIDELITY_LIBREOFFICE_MODE", "oneshot")  # one document: no listener
    with tempfile.TemporaryDirectory(prefix="fidelity-compare-") as scratch:
        ref, asked = prepare(reference, suite, Path(scratch) / "reference", dpi, timeout)
        cand, _ = prepare(candidate, suite, Path(scratch) / "candidate", dpi, timeout)
    result = compare_renderings(ref, cand, asked)
    written = write_diffs(ref, cand, result, diff) if diff is not None else []
    if as_json:
        out = result.to_json()
        out["diff_images"] = [str(p) for p in written]
        print(json.dumps(out, indent=2))
        return
    _print_comparison(result, written)


def _print_comparison(result, written: list[Path]) -> None:
    layout = result.layout
    print(f"grade {result.grading.grade} ({result.grading.reason}), score {result.score:.3f}; "
          f"signals: " + ", ".join(f"{k} {v}" for k, v in result.grading.signals.items()))
    print(f"pages: reference {result.page_count_reference}, candidate "
          f"{result.page_count_candidate}; missing {result.missing_pages or 'none'}, extra "
          f"{result.extra_pages or 'none'}")
    print(f"layout: {layout.words_matched}/{layout.words_reference} words matched, median "
          f"{layout.median_mm} mm, p95 {layout.p95_mm} mm, moved > 2 mm or missing "
          f"{layout.moved_share}")
    table = Table()
    for column in ("ref page", "cand page", "SSIM", "median mm", "p95 mm", "moved",
                   "missing words", "score"):
        table.add_column(column, justify="right")
    for p in result.pages:
        table.add_row(*("-" if v is None else str(v) for v in (
            p.reference_page, p.candidate_page, p.ssim, p.distance_mm, p.p95_mm,
            p.moved_share, p.words_missing, p.score)))
    Console(width=100).print(table)
    fonts = result.fonts
    print("fonts substituted: " + (", ".join(f"{a} -> {b}" for a, b in
                                             fonts.substituted.items()) or "none"))
    if written:
        print(f"{len(written)} diff image(s) in {written[0].parent} (red: reference only, "
              "blue: candidate only)")


@app.command()
def calibrate(
    corpus: Annotated[Optional[list[Path]], typer.Option(
        help="Corpus folder with Microsoft reference PDFs; repeat for several.")] = None,
    suite: Annotated[str, typer.Option(help="Suite rendered twice and against Microsoft.")]
        = "libreoffice",
    dpi: Annotated[Optional[list[int]], typer.Option(
        help="Scoring resolution; repeat to compare several.")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Only the first N documents.")]
        = None,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds the suite gets.")] = 120.0,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Benchmark: the noise floor (one PDF through two rasterisers, one document rendered
    twice), the suite against Microsoft, a 30 mm block erased, and milliseconds per page."""
    import tempfile

    from harness.compare.calibrate import calibrate as run_calibration
    from harness.errors import NothingToDo

    os.environ.setdefault("FIDELITY_LIBREOFFICE_MODE", "oneshot")
    if suite not in renderers.names():
        raise UsageError(f"unknown suite {suite}; known: {', '.join(renderers.names())}")
    documents = [d for d in discover(corpus or [DEFAULT_CORPUS], None) if d.reference_pdf]
    documents = documents[:limit] if limit else documents
    if not documents:
        raise NothingToDo("no document with a Microsoft reference PDF (<stem>.reference.pdf)")
    results = []
    for resolution in dpi or [DEFAULT_DPI]:
        with tempfile.TemporaryDirectory(prefix="fidelity-calibrate-") as scratch:
            results.append(run_calibration(documents, suite, resolution, Path(scratch),
                                           timeout))
    if as_json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        speed = result["speed"]
        print(f"{result['dpi']} dpi: rasterise + text layer {speed['load_ms_per_page']} "
              f"ms/page, compare {speed['compare_ms_per_page']} ms/page pair, total "
              f"{speed['total_ms_per_page']} ms/page ({speed['clock']})")
        table = Table()
        for column in ("pair", "documents", "SSIM min", "SSIM p10", "SSIM median",
                       "area changed min / median / max", "layout median mm (max)", "grades"):
            table.add_column(column)
        for kind, row in result["summary"].items():
            table.add_row(kind, str(row["documents"]), str(row["ssim_min"]),
                          str(row["ssim_p10"]), str(row["ssim_median"]),
                          f"{row['area_changed_min']} / {row['area_changed_median']} / "
                          f"{row['area_changed_max']}",
                          str(row["layout_median_mm_max"]),
                          ", ".join(f"{g}: {n}" for g, n in row["grades"].items()))
        Console(width=110).print(table)
        for line in result["skipped"]:
            print(f"  not measured: {line}")


CorpusOption = Annotated[Optional[list[Path]], typer.Option(
    "--corpus", help="Corpus folder; repeat for several. Default: the built-in corpus.")]


@corpus_app.command("list")
def corpus_list(
    corpus: CorpusOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Every document with its provenance and the features detected in its parts."""
    from harness.corpus.catalogue import describe

    rows = describe(discover(corpus or [DEFAULT_CORPUS]))
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(f"{row['corpus']}/{row['path']}\t{row['format']}\t{row['license'] or '-'}\t"
              f"{'reference' if row['reference_pdf'] else '-'}\t{' '.join(row['features'])}")


@corpus_app.command("stats")
def corpus_stats(
    corpus: CorpusOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Counts per format and feature, licences, references, and features no document has."""
    from harness.corpus.catalogue import describe, statistics

    stats = statistics(describe(discover(corpus or [DEFAULT_CORPUS])))
    if as_json:
        print(json.dumps(stats, indent=2))
        return
    print(f"{stats['documents']} documents, {stats['with_reference_pdf']} with a Microsoft "
          f"reference PDF; formats: "
          + ", ".join(f"{k} {v}" for k, v in stats["formats"].items()))
    print("licences: " + ", ".join(f"{k} {v}" for k, v in stats["licenses"].items()))
    formats = list(stats["formats"])
    table = Table(title="documents per format and feature")
    table.add_column("feature")
    for fmt in formats:
        table.add_column(fmt, justify="right")
    tags = sorted({t for counts in stats["features"].values() for t in counts})
    for tag in tags:
        table.add_row(tag, *(str(stats["features"].get(f, {}).get(tag, "")) for f in formats))
    Console(width=max(100, 30 + 7 * len(formats))).print(table)
    missing = stats["features_without_document"]
    print("features with no document: " + (", ".join(missing) if missing else "none"))


@corpus_app.command("add")
def corpus_add(
    files: Annotated[list[Path], typer.Argument(help="Documents to add.")],
    source: Annotated[str, typer.Option(help="Where it comes from: a URL, or 'generated'.")]
        = "",
    license: Annotated[str, typer.Option("--license", help="SPDX licence expression.")] = "",
    reference: Annotated[Optional[Path], typer.Option(
        help="Microsoft-rendered PDF of the (single) document.")] = None,
    tag: Annotated[Optional[list[str]], typer.Option(help="Feature tag added by hand.")]
        = None,
    malformed: Annotated[bool, typer.Option(help="Broken on purpose: accept it unreadable.")]
        = False,
    notes: Annotated[str, typer.Option(help="Free text kept in the metadata.")] = "",
    corpus: Annotated[Path, typer.Option(help="The corpus to add to.")] = DEFAULT_CORPUS,
) -> None:
    """Copy documents into the corpus with their provenance, licence and detected features.
    Refuses (exit 5, nothing written) duplicates, missing or non-SPDX licences, files that do
    not open (unless --malformed) and references that are not PDFs."""
    from harness.corpus.metadata import add

    for entry in add(corpus, list(files), source=source, license=license, reference=reference,
                     tags=tuple(tag or ()), malformed=malformed, notes=notes):
        print(f"added {entry.path} ({entry.format}, {entry.license}): "
              f"{' '.join(entry.features) or 'no feature detected'}")


@corpus_app.command("validate")
def corpus_validate(
    corpus: Annotated[Path, typer.Option(help="The corpus to check.")] = DEFAULT_CORPUS,
) -> None:
    """Hashes match, licences are SPDX, files exist, no duplicates, no unlisted document, the
    manifest's schema is valid. Exit 5 when anything differs."""
    from harness.corpus.metadata import validate

    problems = validate(corpus)
    for problem in problems:
        print(problem)
    if problems:
        raise CorpusError(f"{len(problems)} problem(s) in {corpus}")
    print(f"{corpus}: valid")


@corpus_app.command("probes")
def corpus_probes(
    out: Annotated[Path, typer.Option(help="Where the probes are written.")]
        = DEFAULT_CORPUS / "probes",
) -> None:
    """Regenerate the built-in feature probes and their expectations, byte for byte."""
    from harness.corpus.metadata import record_probes
    from harness.corpus.probes import write_probes

    written = write_probes(out)
    for path in written:
        print(path)
    print(record_probes(out.parent, written))


@app.command()
def version() -> None:
    """Harness and pipeline version."""
    print(f"fidelity {__version__} (pipeline {PIPELINE_VERSION})")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a sweep like Ctrl-C: workers stopped, run kept


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except FidelityError as exc:
        print(f"fidelity: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("fidelity: interrupted; results stored so far are kept", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a bug: one line for the user, the trace on request
        if os.environ.get("FIDELITY_DEBUG"):
            traceback.print_exc()
        print(f"fidelity: internal error: {type(exc).__name__}: {exc} "
              "(set FIDELITY_DEBUG=1 for the traceback)", file=sys.stderr)
        sys.exit(70)


from harness import cli_runs  # noqa: E402,F401  (history, cache and bench register on `app`)
