"""The `fidelity` commands that read, compare and describe: report, suites, compare,
calibrate, agreement, version and the corpus commands (the sweep's are in ``runs``)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

import renderers
from harness import PIPELINE_VERSION, __version__
from harness.cli.app import DEFAULT_CORPUS, DEFAULT_OUT, app, corpus_app, store_path
from harness.cli.fleet import list_fleet
from harness.compare.calibrate import calibrate as run_calibration
from harness.compare.documents import compare_renderings, write_diffs
from harness.compare.inputs import prepare
from harness.corpus import discover
from harness.corpus.catalogue import describe, statistics
from harness.corpus.metadata import add, record_probes, validate
from harness.corpus.probes import write_probes
from harness.errors import CorpusError, NothingToDo, UsageError
from harness.rasterise import DEFAULT_DPI
from harness.report import build_report
from harness.report.agreement import gather, locations, measure
from harness.store import Store
from harness.sweep import suite_status
from renderers.base import Task


@app.command()
def report(
    run_id: Annotated[Optional[str], typer.Argument(help="Run to report. Default: latest.")]
        = None,
    out: Annotated[Path, typer.Option(help="Reports folder.")] = DEFAULT_OUT,
    store: Annotated[Optional[Path], typer.Option(
        help="Result store. Default: OUT/fidelity.sqlite.")] = None,
    single_file: Annotated[Optional[Path], typer.Option(
        "--single-file", help="Write one self-contained HTML file here instead (style, "
        "script and page images inside it), e.g. to mail.")] = None,
    pages: Annotated[bool, typer.Option(
        "--pages/--no-pages", help="With --single-file: keep the page images and overlays "
        "inside it (the default), or leave them out for a file small enough to mail.")]
        = True,
) -> None:
    """Rebuild a report from the store; converts nothing."""
    path = store_path(out, store)
    if not path.is_file():
        raise UsageError(f"no result store at {path}: run `fidelity run` first or give --store")
    with Store(path) as db:
        written = build_report(db, run_id, out, single_file=single_file, pages=pages)
    if single_file is not None:
        print(f"report: {written} ({written.stat().st_size / 2**20:.1f} MiB)")
        return
    print(f"report: {written / 'index.html'}")


@app.command()
def suites(as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
           scheduler: Annotated[Optional[str], typer.Option(
               help="List instead which worker of this Dask scheduler (tcp://HOST:PORT) "
                    "offers which suite, with versions.")] = None) -> None:
    """Every suite the harness knows, whether it is available here, and why not."""
    if scheduler:
        list_fleet(scheduler, as_json)
        return
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
    suite: Annotated[Optional[str], typer.Option(
        help="Suite that renders an Office document given instead of a PDF. Default: the "
             "installed suite that opens its format, LibreOffice first.")] = None,
    dpi: Annotated[int, typer.Option(min=20, max=300, help="Scoring resolution.")]
        = DEFAULT_DPI,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds the suite gets.")] = 120.0,
) -> None:
    """Compare two renderings: pages aligned, SSIM and layout distance per page, text, fonts,
    a score (0-1) and a grade (0-5). Exit 6 when an input cannot be read or rendered."""
    renderers.use_one_off_defaults()  # one document: nothing to keep warm
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
    if fonts.unasked:
        print("fonts drawn though never asked for: " + ", ".join(fonts.unasked))
    if written:
        print(f"{len(written)} diff image(s) in {written[0].parent} (red: reference only, "
              "blue: candidate only)")


@app.command()
def calibrate(
    corpus: Annotated[Optional[list[Path]], typer.Option(
        help="Corpus folder with Microsoft reference PDFs; repeat for several.")] = None,
    suite: Annotated[Optional[str], typer.Option(
        help="Suite rendered twice and against Microsoft. Default: the installed suite "
             "one-off commands use, LibreOffice first.")] = None,
    dpi: Annotated[Optional[list[int]], typer.Option(
        help="Scoring resolution; repeat to compare several.")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Only the first N documents.")]
        = None,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds the suite gets.")] = 120.0,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Benchmark: the noise floor (one PDF through two rasterisers, one document rendered
    twice), the suite against Microsoft, a 30 mm block erased, and milliseconds per page."""
    renderers.use_one_off_defaults()
    suite = suite or renderers.one_off()
    if suite is None:
        raise UsageError("no suite is installed here to calibrate; name one with --suite")
    if suite not in renderers.names():
        raise UsageError(f"unknown suite {suite}; known: {', '.join(renderers.names())}")
    documents = [d for d in discover(corpus or [DEFAULT_CORPUS], None)
                 if d.reference_pdf and not d.refused]
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
    for entry in add(corpus, list(files), source=source, license=license, reference=reference,
                     tags=tuple(tag or ()), malformed=malformed, notes=notes):
        print(f"added {entry.path} ({entry.format}, {entry.license}): "
              f"{' '.join(entry.features) or 'no feature detected'}"
              + (f"; reference {entry.reference['path']}" if entry.reference else ""))


@corpus_app.command("validate")
def corpus_validate(
    corpus: Annotated[Path, typer.Option(help="The corpus to check.")] = DEFAULT_CORPUS,
) -> None:
    """Hashes match (reference PDFs too), licences are SPDX, files exist, no duplicates, no
    unlisted document, the manifest's schema is valid. Exit 5 when anything differs."""
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
    written = write_probes(out)
    for path in written:
        print(path)
    print(record_probes(out.parent, written))


@app.command()
def agreement(
    run_id: Annotated[Optional[str], typer.Argument(help="Run. Default: the latest.")] = None,
    ratings: Annotated[Optional[list[Path]], typer.Option(
        help="Ratings file (TSV: document, suite, task, grade, rater, note); repeat for "
             "several. Default: RATINGS.tsv in each corpus folder of the run, and "
             "corpus/ratings/NAME.tsv for a corpus outside the project.")] = None,
    out: Annotated[Path, typer.Option(help="Reports folder.")] = DEFAULT_OUT,
    store: Annotated[Optional[Path], typer.Option(
        help="Result store. Default: OUT/fidelity.sqlite.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """How far the harness's grades agree with people's, per format and suite: pairs,
    exact, within one grade, mean (harness - person), weighted kappa, Spearman's rho; and
    the results a person graded 2 or more apart."""
    path = store_path(out, store)
    if not path.is_file():
        raise UsageError(f"no result store at {path}: run `fidelity run` first or give --store")
    with Store(path) as db:
        run = db.run(run_id)
        results = list(db.results(run.id))
    corpora = {r.corpus for r in results}
    files = gather(run, corpora, ratings)
    for problem in (p for f in files for p in f.problems):
        print(f"fidelity: {problem}", file=sys.stderr)
    if not files:
        places = ", ".join(str(p) for loc in locations(run, corpora) for p in loc.looked)
        raise NothingToDo(f"no ratings file for run {run.id} (looked for "
                          f"{places or 'nothing: the run names no corpus folder'}); "
                          "give --ratings FILE")
    found = measure(run.id, files, results)
    if as_json:
        print(json.dumps(found.to_json(), indent=2, ensure_ascii=False))
        return
    print(f"run {run.id}: {len(found.pairs)} pair(s) (harness grade, a person's grade) over "
          f"{found.rated_results} graded result(s), {len(found.raters)} rater(s); a result "
          f"graded by several people counts once per person")
    print("ratings: " + ", ".join(str(f.path) for f in files)
          + (f" ({found.superseded} row(s) replaced by the same person's later row)"
             if found.superseded else ""))
    if found.pairs:
        table = Table(title="agreement: harness against people (difference = harness - person)")
        for column in ("format", "suite", "n", "raters", "exact", "within one",
                       "mean difference", "kappa", "Spearman rho"):
            table.add_column(column, justify="left" if column in ("format", "suite")
                             else "right")
        for g in (*found.groups, found.overall):
            cells = (g.format, g.suite, str(g.n), str(g.raters),
                     f"{100 * g.exact:.0f} %", f"{100 * g.within_one:.0f} %",
                     f"{g.mean_difference:+.2f}",
                     "-" if g.kappa is None else f"{g.kappa:.2f}",
                     "-" if g.rho is None else f"{g.rho:.2f}")
            table.add_row(*cells, end_section=g is found.groups[-1])
        Console(width=110).print(table)
        print("kappa: Cohen's, quadratically weighted; '-': undefined (one grade "
              "throughout on both sides for kappa, on either side for rho)")
    far = found.far_apart()
    print(f"{len(far)} pair(s) 2 or more grades apart" + (":" if far else ""))
    for p in far:
        print(f"  {p.corpus}/{p.document} {p.suite} [{p.task}]: harness {p.harness}, "
              f"person {p.person} ({p.rater or 'no name'})" + (f": {p.note}" if p.note else ""))
    if found.unmatched:
        print(f"{len(found.unmatched)} rating(s) have no graded result in run {run.id}:")
        for u in found.unmatched:
            r = u.rating
            print(f"  {r.document} {r.suite} [{r.task}] ({r.rater or 'no name'}, {r.source}): "
                  f"{u.why}")


@app.command()
def version() -> None:
    """Harness and pipeline version."""
    print(f"fidelity {__version__} (pipeline {PIPELINE_VERSION})")
