#!/usr/bin/env python3
"""Write docs/measurements.md from `fidelity calibrate --json` and `fidelity bench --json`.

The figures in the documentation are generated, never typed by hand: this script runs both
commands (or reads their saved outputs with --from) and writes the tables, with the command,
corpus, machine and date that produced them.

    .venv/bin/python scripts/measurements.py --corpus ../shared/corpus/office2pdf-golden --limit 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = PROJECT.parent / "shared" / "corpus" / "office2pdf-golden"
DEFAULT_OUT = PROJECT / "docs" / "measurements.md"
REGENERATE = "scripts/measurements.py"

# The pairs `fidelity calibrate` measures, in the order a reader needs them.
PAIRS = {
    "rasterisers": "the same PDF through two rasterisers (pypdfium2, pdftoppm)",
    "twice": "the same document rendered twice by {suite}",
    "degraded": "the reference with a 30 mm block erased",
    "suite": "{suite} against Microsoft's reference",
}


class Failed(Exception):
    """A command this script ran ended badly; its message is the one line to print."""


def fidelity(args: list[str]) -> Any:
    """Run `fidelity ARGS --json` with this interpreter and return its parsed output."""
    argv = [sys.executable, "-m", "harness", *args, "--json"]
    done = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise Failed(f"fidelity {' '.join(args)} exited {done.returncode}: {tail}")
    return json.loads(done.stdout)


def shown(args: list[str]) -> str:
    """A command line as a reader would type it from the project folder."""
    return "fidelity " + " ".join(shlex.quote(a) for a in args) + " --json"


def relative(path: Path) -> str:
    """A corpus path as written in the file: relative to the project when it can be."""
    try:
        return os.path.relpath(path.resolve(), PROJECT)
    except ValueError:
        return str(path)


def measure(corpus: Path, limit: int, dpis: list[int], jobs: int | None, dask: bool,
            save: Path | None) -> dict[str, Any]:
    """Run both commands; return their outputs with what produced them."""
    where = relative(corpus)
    calibrate_args = ["calibrate", "--corpus", where, "--limit", str(limit)]
    for dpi in dpis:
        calibrate_args += ["--dpi", str(dpi)]
    bench_args = ["bench", "--corpus", where, "--limit", str(limit)]
    if jobs:
        bench_args += ["--jobs", str(jobs)]
    if not dask:
        bench_args.append("--no-dask")
    load_before = round(os.getloadavg()[0], 1)  # other work on the machine skews timings
    print(f"running {shown(calibrate_args)}", file=sys.stderr, flush=True)
    calibration = fidelity(calibrate_args)
    print(f"running {shown(bench_args)}", file=sys.stderr, flush=True)
    bench = fidelity(bench_args)
    try:
        suites = fidelity(["suites"])
    except Failed:
        suites = None
    measured = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": machine(), "corpus": where, "load": load_before,
                "limit": limit,
                "commands": {"calibrate": shown(calibrate_args), "bench": shown(bench_args)},
                "calibrate": calibration, "bench": bench, "suites": suites}
    if save:
        save.mkdir(parents=True, exist_ok=True)
        (save / "measured.json").write_text(json.dumps(measured, indent=1), encoding="utf-8")
    return measured


def machine() -> str:
    cores = os.cpu_count() or 1
    return f"{platform.system()} {platform.machine()}, {cores} core{'s' if cores > 1 else ''}"


def suite_version(suites: Any, name: str) -> str | None:
    """The suite's version from `fidelity suites --json`, whatever its outer shape."""
    entries = suites.values() if isinstance(suites, dict) else (suites or [])
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry.get("version")
    if isinstance(suites, dict) and isinstance(suites.get(name), dict):
        return suites[name].get("version")
    return None


def cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if value else "0"
    return str(value)


def grades(counts: dict[str, int]) -> str:
    return ", ".join(f"{g}: {n}" for g, n in sorted(counts.items(), key=lambda kv: -int(kv[0])))


def calibration_tables(results: list[dict[str, Any]], suite_label: str) -> list[str]:
    lines: list[str] = []
    for result in results:
        lines += [f"### {result['dpi']} dpi", "",
                  "| pair | documents | SSIM min / p10 / median | area changed, worst page: "
                  "min / median / max | layout median (mm): median / max | grades |",
                  "|---|---|---|---|---|---|"]
        for kind, label in PAIRS.items():
            row = result["summary"].get(kind)
            if not row:
                continue
            lines.append(
                f"| {label.format(suite=suite_label)} | {row['documents']} "
                f"| {cell(row['ssim_min'])} / {cell(row['ssim_p10'])} / "
                f"{cell(row['ssim_median'])} "
                f"| {cell(row['area_changed_min'])} / {cell(row['area_changed_median'])} / "
                f"{cell(row['area_changed_max'])} "
                f"| {cell(row.get('layout_median_mm_median'))} / "
                f"{cell(row.get('layout_median_mm_max'))} | {grades(row['grades'])} |")
        if result.get("skipped"):
            lines += ["", "Not measured:", ""] + [f"- {s}" for s in result["skipped"]]
        lines.append("")
    lines += ["### Cost per page", "",
              "| dpi | rasterise + text layer (ms/page) | compare (ms/page pair) | total (ms/page) "
              "| pages loaded | page pairs compared |",
              "|---|---|---|---|---|---|"]
    for result in results:
        speed = result["speed"]
        lines.append(f"| {result['dpi']} | {cell(speed['load_ms_per_page'], 1)} "
                     f"| {cell(speed['compare_ms_per_page'], 1)} "
                     f"| {cell(speed['total_ms_per_page'], 1)} | {speed['pages_loaded']} "
                     f"| {speed['pages_compared']} |")
    clock = results[0]["speed"].get("clock") if results else None
    if clock:
        lines += ["", f"Clock: {clock}."]
    return lines


def bench_tables(bench: dict[str, Any], suite_label: str) -> list[str]:
    naive, harness, workers = bench["naive"], bench["harness"], bench["workers"]
    lines = ["| | documents/min | wall (s) | not ok |", "|---|---|---|---|",
             f"| naive loop (fresh `soffice` per document, pdftoppm, SSIM) "
             f"| {cell(naive['per_minute'], 1)} | {cell(naive['wall_seconds'], 1)} "
             f"| {naive['failures']} without a PDF |",
             f"| harness, local executor, {workers} worker{'s' if workers > 1 else ''}, "
             f"cache off | **{cell(harness['per_minute'], 1)}** "
             f"| {cell(harness['wall_seconds'], 1)} | {harness['failures']} |"]
    dask = bench.get("dask")
    if dask:
        same = "same statuses and grades as the local run" if dask["same_results"] else (
            f"**differs from the local run** on {len(dask['differing'])} result(s)")
        lines.append(f"| harness on a loopback Dask cluster, {workers} workers "
                     f"| {cell(dask['per_minute'], 1)} | {cell(dask['wall_seconds'], 1)} "
                     f"| {same} |")
    capacity = harness["wall_seconds"] * workers
    lines += ["",
              f"- ratio harness / naive: **{cell(bench['ratio'], 2)}**;",
              f"- re-run of `fidelity run` with nothing changed: **{cell(bench['rerun_seconds'], 2)} s**;",
              f"- time outside the suites: **{round(100 * harness['outside_suites_share'])} %** "
              f"of the workers' wall time ({cell(harness['suite_seconds'], 1)} s inside "
              f"{suite_label} of {cell(capacity, 1)} worker-seconds; whole jobs "
              f"{cell(harness['job_seconds'], 1)} s);",
              f"- peak resident memory: {cell(harness['peak_worker_rss_mb'], 1)} MB for a "
              f"harness worker, {cell(harness['peak_suite_rss_mb'], 1)} MB for a suite process."]
    return lines


def render(measured: dict[str, Any]) -> str:
    version = suite_version(measured.get("suites"), "libreoffice")
    calibration = measured["calibrate"]
    suite = calibration[0]["suite"] if calibration else "libreoffice"
    label = {"libreoffice": "LibreOffice"}.get(suite, suite) + (f" {version}" if version else "")
    documents = calibration[0]["summary"].get("rasterisers", {}).get("documents") \
        if calibration else None
    lines = [
        "# Measurements",
        "",
        "<!-- Generated by scripts/measurements.py from the commands' --json output; "
        "do not edit by hand. -->",
        "",
        f"Generated on {measured['when']} on {measured['machine']}"
        + (f" (load average {measured['load']} when it began)" if measured.get("load") else "")
        + f", from the corpus `{measured['corpus']}`, by:",
        "",
        "```sh",
        f"{measured['commands']['calibrate']}",
        f"{measured['commands']['bench']}",
        "```",
        "",
        "Regenerate this file (from the project folder; it takes a few minutes on 10 "
        "documents):",
        "",
        "```sh",
        f".venv/bin/python {REGENERATE} --corpus {measured['corpus']} "
        f"--limit {measured.get('limit', 10)}",
        "```",
        "",
        "These are small runs, chosen so that regenerating the file does not occupy a shared "
        "machine: read them as orders of magnitude, and run the commands on a whole corpus "
        "before drawing conclusions. What the figures mean: [method.md](method.md).",
        "",
        "## Calibration: `fidelity calibrate`",
        "",
        f"Over {documents if documents is not None else 'the'} documents with a Microsoft "
        "reference PDF. The noise floor (the first two pairs) must keep a 5, and known damage "
        "(the erased block) must cost at least a grade: that is where the rubric's anchors "
        "sit. The last pair is the suite itself against Microsoft.",
        "",
        *calibration_tables(calibration, label),
        "",
        "## Benchmark: `fidelity bench`",
        "",
        "The naive loop (one fresh `soffice --convert-to pdf` per document, `pdftoppm`, "
        "scikit-image SSIM per page against the reference, one document after the other) "
        f"against the harness ({label} `show`, cache off) on the same "
        f"{measured['bench']['documents']} documents; then a re-run with nothing changed, and "
        "a Dask run whose results must equal the local run's.",
        "",
        *bench_tables(measured["bench"], label),
        *([
            "",
            "With `--limit`, `fidelity bench` and the `fidelity run --limit` it times for the "
            "re-run take the same sample, stratified by format, so the re-run finds every "
            "result in the cache. The naive loop converts one document after the other; the "
            "harness runs as many workers as the machine has cores, cache off; each pays its "
            "start-up once (the harness: its workers and one LibreOffice per worker), which "
            "weighs on a few documents: read the ratio from 30 documents up.",
        ] if measured.get("limit") else []),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help="Corpus folder with <stem>.reference.pdf files.")
    parser.add_argument("--limit", type=int, default=10, help="Only the first N documents.")
    parser.add_argument("--dpi", type=int, action="append",
                        help="Calibrate at this resolution; repeat. Default: 40, 60, 100.")
    parser.add_argument("--jobs", type=int, help="Harness workers for bench. Default: cores.")
    parser.add_argument("--no-dask", action="store_true", help="Skip bench's Dask run.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown file to write.")
    parser.add_argument("--save", type=Path, help="Also keep the raw outputs in this folder.")
    parser.add_argument("--from", dest="source", type=Path,
                        help="Read measured.json saved by --save instead of running anything.")
    args = parser.parse_args(argv)
    try:
        if args.source:
            measured = json.loads((args.source / "measured.json").read_text(encoding="utf-8"))
        else:
            if not args.corpus.is_dir():
                raise Failed(f"no corpus folder at {args.corpus}")
            measured = measure(args.corpus, args.limit, args.dpi or [40, 60, 100], args.jobs,
                               not args.no_dask, args.save)
    except (Failed, OSError, json.JSONDecodeError, KeyError) as exc:
        print(f"measurements: {exc}", file=sys.stderr)
        return 1
    args.out.write_text(render(measured), encoding="utf-8")
    print(f"wrote {relative(args.out)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
