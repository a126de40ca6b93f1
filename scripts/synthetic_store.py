"""A synthetic result store at scale: N documents x 5 suites x 4 tasks, in two runs.

    .venv/bin/python scripts/synthetic_store.py --documents 100000 --out /tmp/synthetic

writes DIR/fidelity.sqlite through harness.store (real runs, documents and JobResults with
their typed parts), so `fidelity report --out DIR` and `fidelity history --out DIR` can be
measured on a store the size of a large nightly corpus. The second run repeats the first
with a few percent of its results changed, so history has regressions and fixes to find.

Statuses, grades, scores and measures are drawn from fixed seeds, with shares like the
whole-corpus sweep's (a suite that does not open a format is `unsupported`; failures a few
percent; grades spread by suite). Every `ok` show result has page images, as in a real
run (one tiny PNG, hard-linked); with --with-pages N only 1 document in N has them, and the
report says "no page image kept" for the others instead of showing pages.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from harness import PIPELINE_VERSION, __version__  # noqa: E402
from harness.corpus.discover import Document, document_key  # noqa: E402
from harness.corpus.properties import DocumentProperties  # noqa: E402
from harness.records import (Artifacts, JobResult, SaveMeasures, ShowMeasures,  # noqa: E402
                             Status, SuiteRun)
from harness.store import Run, Store, artifacts_root  # noqa: E402

CORPUS = "synthetic"
SUITES = {  # name -> (label, version, formats it opens, tasks, mean quality 0..1)
    "libreoffice": ("LibreOffice", "7.4.7.2", None, ("show", "save", "save-odf", "save-recalc"),
                    0.80),
    "abiword": ("AbiWord", "3.0.5", {"doc", "docx", "odt", "rtf"}, ("show", "save", "save-odf"),
                0.45),
    "gnumeric": ("Gnumeric", "1.12.55", {"xls", "xlsx", "ods"},
                 ("show", "save", "save-odf", "save-recalc"), 0.65),
    "onlyoffice": ("OnlyOffice", "8.1.0", None, ("show", "save", "save-odf"), 0.85),
    "wps": ("WPS Office", "11.1.0.11720", None, ("show", "save", "save-odf"), 0.75),
}
TASKS = ("show", "save", "save-odf", "save-recalc")
FORMATS = (("docx", 40), ("xlsx", 20), ("pptx", 15), ("doc", 8), ("xls", 7), ("ppt", 5),
           ("odt", 3), ("rtf", 2))
SPREADSHEETS = {"xls", "xlsx", "ods"}
FEATURES = {
    "word": ["table", "images", "headers-footers", "lists", "fields", "footnotes", "headings",
             "tracked-changes", "comments", "sections", "text-boxes", "equation", "cjk",
             "right-to-left", "table-of-contents"],
    "sheet": ["formulas", "cached-values", "merged-cells", "custom-number-formats", "charts",
              "multiple-sheets", "conditional-formatting", "defined-names", "hidden-sheets",
              "pivot-tables", "data-validation"],
    "slides": ["images", "notes", "animations", "transitions", "masters-and-layouts",
               "smartart", "media", "hidden-slides", "charts"],
}
FAILURES = ((Status.FAILED, 0.025), (Status.CRASHED, 0.008), (Status.TIMED_OUT, 0.005),
            (Status.EMPTY, 0.004))
CAUSES = ["text reflowed, every word there and in order; Aptos is not installed, Carlito "
          "stood in", "a picture is missing on page 2", "4 pages instead of 3: Calibri missing, "
          "Carlito stood in, text reflowed", "table borders drawn 1 mm lower", None]
MESSAGES = {5: "every signal at 5", 4: "limited by layout: words moved 0.8 mm (median)",
            3: "limited by pages: 4 pages instead of 3", 2: "limited by drawn: a chart missing",
            1: "limited by text: 60 % of the words missing", 0: "limited by text: nothing shown"}
RASTERISER = {"rasteriser": "pypdfium2", "rasteriser_version": "5.15.2 (pdfium 8149)",
              "dpi": 60, "max_pages": 200}
def _family(fmt: str) -> str:
    return "sheet" if fmt in SPREADSHEETS else "slides" if fmt in ("ppt", "pptx") else "word"


def _documents(n: int, rng: random.Random) -> list[tuple[Document, DocumentProperties]]:
    formats = [f for f, _ in FORMATS]
    weights = [w for _, w in FORMATS]
    out = []
    for i in range(n):
        fmt = rng.choices(formats, weights)[0]
        tags = FEATURES[_family(fmt)]
        features = tuple(sorted(rng.sample(tags, rng.randint(0, min(4, len(tags))))))
        relpath = f"{fmt}/{i // 1000:03d}/doc-{i:06d}.{fmt}"
        reference = Path(f"/synthetic/references/doc-{i:06d}.pdf") if rng.random() < 0.3 else None
        doc = Document(CORPUS, Path("/synthetic"), relpath, fmt, rng.randint(8_000, 4_000_000),
                       f"{rng.getrandbits(256):064x}", reference, "CC-BY-4.0", "synthetic",
                       malformed=rng.random() < 0.01)
        out.append((doc, DocumentProperties(features, f"Synthetic document {i}"
                                            if rng.random() < 0.4 else None)))
    return out


def _show_pool(rng: random.Random, size: int = 48) -> list[ShowMeasures]:
    """Plausible show measures, shared by many results (as values, not objects read back)."""
    pool = []
    for i in range(size):
        words = rng.randint(50, 3000)
        grade_text = rng.choice([5, 5, 5, 4, 3])
        pairs = tuple({"reference_page": p, "candidate_page": p,
                       "ssim": round(rng.uniform(0.7, 0.99), 4),
                       "area_changed": round(rng.uniform(0, 0.05), 4),
                       "distance_mm": round(rng.uniform(0, 6), 3), "score": 0.6}
                      for p in range(1, rng.randint(1, 4) + 1)) if i % 2 else ()
        pool.append(ShowMeasures(
            rasteriser=RASTERISER, truth_reader="python-docx 1.2.0",
            truth_facts={"paragraphs": rng.randint(3, 400), "tables": rng.randint(0, 5),
                         "images": rng.randint(0, 6)},
            missing_words=tuple(rng.sample(["quarterly", "revenue", "appendix", "total",
                                            "draft", "signature"], rng.randint(0, 3))),
            expected_pages_source="Microsoft reference PDF" if pairs else "docProps/app.xml",
            page_pairs=pairs,
            layout={"words_reference": words, "words_matched": words - rng.randint(0, 20),
                    "median_mm": round(rng.uniform(0, 4), 3), "p95_mm": 9.1,
                    "moved_share": round(rng.random(), 4)} if pairs else None,
            fonts={"asked": ["Calibri"], "used": ["Carlito"], "substituted": {"Calibri": "Carlito"},
                   "unasked": [], "paired": []},
            checks=tuple({"feature": "table", "label": f"table {k}: shown on the PDF",
                          "score": 1.0, "expected": "a table", "found": "found", "passed": k != 2}
                         for k in range(1, rng.randint(1, 4) + 1)),
            signals={"text": grade_text, "pages": 5, "structure": rng.choice([5, 4])},
            cause=rng.choice(CAUSES)))
    return pool


def _save_pool(rng: random.Random, size: int = 24) -> list[SaveMeasures]:
    return [SaveMeasures(truth_reader="python-docx 1.2.0",
                         truth_facts={"paragraphs": 40, "tables": 2},
                         saved_facts={"paragraphs": 40 - (i % 3), "tables": 2},
                         facts_changed={"paragraphs": [40, 40 - (i % 3)]} if i % 3 else {},
                         checks=({"feature": "table", "label": "table 1 kept", "score": 1.0,
                                  "expected": 1, "found": 1, "passed": True},),
                         signals={"text": 5 - (i % 2), "structure": 5 - (i % 3)})
            for i in range(size)]


def _grade(rng: random.Random, quality: float) -> int:
    x = min(1.0, max(0.0, rng.gauss(quality, 0.2)))
    return 5 if x > 0.85 else 4 if x > 0.6 else 3 if x > 0.4 else 2 if x > 0.25 else \
        1 if x > 0.1 else 0


def _results(doc: Document, rng: random.Random, shows: list[ShowMeasures],
             saves: list[SaveMeasures], pages: bool) -> list[JobResult]:
    out = []
    for suite, (_, version, formats, tasks, quality) in SUITES.items():
        opens = formats is None or doc.format in formats
        for task in TASKS:
            base = dict(corpus=CORPUS, document=doc.relpath, format=doc.format, suite=suite,
                        suite_version=version, task=task)
            if not opens or task not in tasks or (task == "save-recalc"
                                                  and doc.format not in SPREADSHEETS):
                why = (f"{suite} does not open .{doc.format}" if not opens
                       else f"{suite} cannot do {task} on .{doc.format}")
                out.append(JobResult(**base, status=Status.UNSUPPORTED, grade=None,
                                     message=why))
                continue
            draw, status = rng.random(), Status.OK
            for failure, share in FAILURES:
                if draw < share:
                    status = failure
                    break
                draw -= share
            seconds = round(rng.uniform(0.2, 6.0), 2)
            run = SuiteRun(via="UNO listener" if suite == "libreoffice" else "command line")
            if status is not Status.OK:
                out.append(JobResult(**base, status=status, grade=None,
                                     message=f"{suite} {status}: exit 1", suite_seconds=seconds,
                                     total_seconds=seconds + 0.1, stderr="synthetic stderr",
                                     suite_run=run))
                continue
            grade = _grade(rng, quality) if rng.random() > 0.05 else None
            recall = round(min(1.0, 0.6 + 0.08 * (grade if grade is not None else 4)), 4)
            scores = {"text_recall": recall, "text_similarity": round(recall - 0.05, 4),
                      "source_words": rng.randint(50, 3000), "checks_passed": 1.0}
            message = MESSAGES[grade] if grade is not None else "not graded: nothing to compare with"
            if task == "show":
                measures = rng.choice(shows)
                scores.update(pages_rendered=rng.randint(1, 12), fonts_substituted=1)
                if measures.page_pairs:
                    scores.update(score=round(rng.uniform(2.5, 5), 2),
                                  ssim_mean=round(rng.uniform(0.7, 0.99), 4))
                key = document_key(doc.corpus, doc.relpath)
                artifacts = Artifacts(pages=(f"{key}/{suite}/page-001.png",),
                                      reference_pages=(f"{key}/reference/page-001.png",)
                                      if doc.reference_pdf else ()) if pages else Artifacts()
                out.append(JobResult(**base, status=status, grade=grade, message=message,
                                     suite_seconds=seconds, total_seconds=seconds + 0.4,
                                     scores=scores, artifacts=artifacts, show=measures,
                                     suite_run=run, suite_peak_rss_mb=310.0,
                                     harness_peak_rss_mb=180.0))
            else:
                out.append(JobResult(**base, status=status, grade=grade, message=message,
                                     suite_seconds=seconds, total_seconds=seconds + 0.2,
                                     scores=scores, save=rng.choice(saves), suite_run=run))
    return out


def _changed(result: JobResult, rng: random.Random) -> JobResult:
    """The second night: a few results moved a grade, failed, or recovered."""
    if result.status is Status.UNSUPPORTED or rng.random() > 0.03:
        return result
    if result.status is not Status.OK:
        return replace(result, status=Status.OK, grade=4, message=MESSAGES[4])
    if rng.random() < 0.2:
        return replace(result, status=Status.CRASHED, grade=None, message="crashed: signal 11")
    if result.grade is None:
        return result
    grade = max(0, min(5, result.grade + rng.choice([-1, 1])))
    return replace(result, grade=grade, message=MESSAGES[grade])


def _run(started: datetime, documents: int, properties: dict) -> Run:
    return Run(id=started.strftime("%Y%m%dT%H%M%SZ") + "-5e7e",
               started_at=started.isoformat(timespec="seconds"),
               finished_at=(started + timedelta(hours=7)).isoformat(timespec="seconds"),
               state="complete", harness_version=__version__, pipeline_version=PIPELINE_VERSION,
               suites={name: {"version": version, "available": True, "reason": None,
                              "label": label, "is_reference": False, "tasks": list(tasks),
                              "formats": sorted(formats) if formats else
                              sorted({f for f, _ in FORMATS})}
                       for name, (label, version, formats, tasks, _) in SUITES.items()},
               settings={"corpora": ["/synthetic"], "tasks": list(TASKS), "jobs": 64,
                         "rasteriser": RASTERISER, "synthetic": True,
                         "plan": f"synthetic-{documents}",
                         "feature_weights": {"configured": {}, "effective": {}},
                         "fonts": "synthetic", "font_families": ["Carlito", "Liberation Sans"]})


# A file holds at most 65,000 links on ext4: a new copy of the page image every this many.
LINKS_PER_IMAGE = 50_000


def build(documents: int, out: Path, seed: int = 19, batch: int = 2000,
          with_pages: int = 1) -> dict[str, float]:
    """Write the store; returns figures (seconds, results, bytes)."""
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "fidelity.sqlite"
    if path.exists():
        raise SystemExit(f"{path} exists: give an empty --out")
    rng = random.Random(seed)
    docs = _documents(documents, rng)
    shows, saves = _show_pool(rng), _save_pool(rng)
    started = datetime(2026, 11, 30, 22, 0, tzinfo=timezone.utc)
    runs = [_run(started, documents, {}), _run(started + timedelta(days=1), documents, {})]
    png = out / "synthetic-page.png"  # one page image, hard-linked wherever one is kept
    Image.new("L", (120, 170), 255).save(png)
    total = links = 0
    with Store(path) as store:
        root = artifacts_root(path)
        for run in runs:
            store.start_run(run, [d for d, _ in docs],
                            {(d.corpus, d.relpath): p for d, p in docs})
        for begin in range(0, documents, batch):
            first: list[JobResult] = []
            second: list[JobResult] = []
            for i, (doc, _) in enumerate(docs[begin:begin + batch], start=begin):
                pages = with_pages > 0 and i % with_pages == 0
                results = _results(doc, rng, shows, saves, pages)
                first += results
                second += [_changed(r, rng) for r in results]
                if pages:
                    for run in runs:
                        for r in results:
                            for rel in r.artifacts.files():
                                target = root / run.id / rel
                                target.parent.mkdir(parents=True, exist_ok=True)
                                if not target.exists():
                                    if links and links % LINKS_PER_IMAGE == 0:
                                        png = out / f"synthetic-page-{links}.png"
                                        Image.new("L", (120, 170), 255).save(png)
                                    os.link(png, target)
                                    links += 1
            store.add_results(runs[0].id, first)
            store.add_results(runs[1].id, second)
            total += len(first) + len(second)
            print(f"\r{begin + batch:>7}/{documents} documents, {total} results, "
                  f"{time.perf_counter() - start:.0f} s", end="", file=sys.stderr)
    print(file=sys.stderr)
    return {"seconds": round(time.perf_counter() - start, 1), "results": total,
            "documents": documents, "store_bytes": path.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--with-pages", type=int, default=1,
                        help="1 document in N keeps page images (default: every one; 0: none)")
    args = parser.parse_args()
    figures = build(args.documents, args.out, args.seed, with_pages=args.with_pages)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
