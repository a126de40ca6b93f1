"""The front page's verdict in words, one per format, from the same numbers as the
recommendation; and the warnings a reader needs before trusting it: too few documents, no
Microsoft reference to compare pages with, or only documents the harness wrote itself.

A verdict is "recommended" only when the recommendation found a clear winner and nothing
warns about the evidence; otherwise it says who leads and why that is not yet a choice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from harness.report.charts import ScoreBar, score_chart
from harness.report.recommend import Recommendation

# Below this many documents of a format, a verdict is flagged as resting on few documents:
# with fewer, one document more or less can move a score by a tenth of a grade or more, and a
# bootstrap over a handful of documents gives intervals narrower than the truth.
MIN_DOCUMENTS = 30
GENERATED = "generated"  # a corpus manifest's source for the harness's own probes


@dataclass(frozen=True)
class Verdict:
    format: str
    headline: str  # one line: what to do
    sentence: str  # the scores behind it, in words
    warnings: list[str] = field(default_factory=list)
    chart: str = ""  # inline SVG
    recommended: str | None = None  # the suite recommended outright, if any
    differs: list[str] = field(default_factory=list)  # why the matrix shows other numbers


def suite_name(suite: str, version: str | None = None,
               suites: dict[str, dict[str, Any]] | None = None) -> str:
    """A suite as a person calls it ("LibreOffice 7.4.7.2"), from the label the run recorded
    in `suites` (the run's suites as stored); its name when none was recorded."""
    name = (suites or {}).get(suite, {}).get("label") or suite
    return f"{name} {version}" if version else name


def _opens(suite: str, fmt: str, suites: dict[str, dict[str, Any]]) -> bool:
    """Whether the run recorded the suite as opening the format (the reference never does)."""
    info = suites.get(suite, {})
    return fmt in info.get("formats", ()) and not info.get("is_reference", False)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def warnings(documents: list[dict[str, Any]], measured: int | None = None) -> list[str]:
    """What a reader must know about the evidence behind one format's verdict; `measured`:
    the fewest documents any compared suite has a value on (a run cut short, a suite that
    refused some), when fewer than the format's documents."""
    n = len(documents)
    measured = n if measured is None else min(measured, n)
    out = []
    if measured < MIN_DOCUMENTS:
        counted = (f"{measured} of this format" if measured == n else
                   f"{measured} measured of the {n} of this format")
        out.append(f"Few documents: {counted}, fewer than the {MIN_DOCUMENTS} this report "
                   "asks for before calling a score settled. One document more or less can "
                   "change the order; the interval is likely narrower than the truth.")
    references = sum(1 for d in documents if d.get("reference_pdf"))
    if n and not references:
        out.append("No Microsoft reference PDF for any of them: the grades check the text and "
                   "structure against the source file, not how the pages look next to "
                   "Word's, Excel's or PowerPoint's.")
    if n and all(d.get("source") == GENERATED for d in documents):
        out.append("Generated probes only: every document was written by the harness to "
                   "exercise features, so this says what a suite supports, not how it fares "
                   "on documents people write.")
    return out


def verdicts(recommendations: Iterable[Recommendation], documents: list[dict[str, Any]],
             suites: dict[str, dict[str, Any]],
             matrix_means: dict[tuple[str, str], float | None]) -> list[Verdict]:
    """One verdict per recommendation. `documents` are the documents that count (malformed
    ones left out), `suites` the run's suites as stored (version, available, reason), and
    `matrix_means` the suite × format matrix's plain mean per (suite, format), so that the
    page can say why the two numbers differ."""
    by_format: dict[str, list[dict[str, Any]]] = {}
    for d in documents:
        by_format.setdefault(d["format"], []).append(d)
    return [_verdict(rec, by_format.get(rec.format, []), suites, matrix_means)
            for rec in recommendations]


def _verdict(rec: Recommendation, documents: list[dict[str, Any]],
             suites: dict[str, dict[str, Any]],
             matrix_means: dict[tuple[str, str], float | None]) -> Verdict:
    fmt = rec.format
    n = rec.documents
    references = sum(1 for d in documents if d.get("reference_pdf"))
    measured = {s.suite for s in rec.suites} | set(rec.not_opening)
    absent = sorted(suite_name(name, suites=suites) for name, info in suites.items()
                    if name not in measured and not info.get("available", True)
                    and _opens(name, fmt, suites))
    parts = []
    for i, s in enumerate(rec.suites):
        name = suite_name(s.suite, s.version, suites=suites)
        figures = f"{s.score:.1f} of 5 [{s.low:.1f}–{s.high:.1f}]"
        parts.append(f"{name}: {figures} on {s.documents} document{'s' * (s.documents != 1)}"
                     if i == 0 else f"{name}: {figures}")
    opened = _join([suite_name(s, suites=suites) for s in rec.ungraded]) if rec.ungraded else ""
    sentence = f"For .{fmt}, " + "; ".join(parts) if parts else \
        f"For .{fmt}, {opened} opened the documents but none could be graded: there is no " \
        "Microsoft reference PDF to compare pages with, and the harness cannot read the " \
        "source's text with enough trust to check it" if opened else \
        f"For .{fmt}, no suite could be measured"
    sentence += f" ({references} of {n} with a Microsoft reference PDF)." if n else "."
    if rec.not_opening:
        sentence += f" {_join([suite_name(s, suites=suites) for s in rec.not_opening])} " \
                    f"do{'es' * (len(rec.not_opening) == 1)} not open .{fmt}."
    if absent:
        sentence += f" {_join(absent)} {'was' if len(absent) == 1 else 'were'} not measured " \
                    "on this machine (not installed)."
    warned = warnings(documents, min((s.documents for s in rec.suites), default=None))
    winner = suite_name(rec.winner, suites=suites) if rec.winner else None
    recommended = None
    if winner is None and opened:
        headline = f"No verdict on .{fmt}: {opened} opened it, but nothing could grade them."
    elif winner is None:
        headline = f"No suite could be measured on .{fmt}."
    elif len(rec.suites) == 1:
        headline = f"{winner} is the only suite measured on .{fmt}: nothing to compare it with."
    elif rec.clear and not warned:
        headline = f"Open .{fmt} with {winner}: its interval lies wholly above the others'."
        recommended = rec.winner
    elif rec.clear:
        headline = (f"{winner} leads on .{fmt}, but the evidence is thin (see below): "
                    "not yet a recommendation.")
    else:
        tied = _join([suite_name(s, suites=suites) for s in rec.tied])
        headline = (f"No clear winner on .{fmt}: {tied} "
                    "cannot be told apart on these documents (their intervals overlap).")
    bars = [ScoreBar(s.suite, suite_name(s.suite, s.version, suites=suites), s.score, s.low,
                     s.high, s.documents, s.failures) for s in rec.suites]
    chart = score_chart(fmt, bars, f".{fmt}: {n} document{'s' * (n != 1)}, "
                                   f"{references} with a reference PDF")
    return Verdict(fmt, headline, sentence, warned, chart, recommended,
                   _differences(rec, matrix_means, suites))


def _differences(rec: Recommendation, matrix_means: dict[tuple[str, str], float | None],
                 suites: dict[str, dict[str, Any]]) -> list[str]:
    """Each suite whose score here is not the matrix's mean, with the reasons that apply."""
    out = []
    for s in rec.suites:
        plain = matrix_means.get((s.suite, rec.format))
        if plain is None or abs(plain - s.score) < 0.05:
            continue
        reasons = []
        if s.failures:
            reasons.append(f"its {s.failures} failure{'s' * (s.failures != 1)} count 0 here "
                           "and are left out of the matrix's mean")
        saved = (f"{s.suite} (save)", rec.format)
        if saved in matrix_means:
            reasons.append("saving back counts here too (the matrix's save row: "
                           + (f"{matrix_means[saved]:.2f})" if matrix_means[saved] is not None
                              else "no grade)"))
        if s.documents > 1:
            reasons.append("here each feature is weighted by how common it is")
        out.append(f"{suite_name(s.suite, suites=suites)}: {s.score:.2f} here, "
                   f"{plain:.2f} in the matrix — "
                   + "; ".join(reasons) + ".")
    return out


def status_summary(statuses: Counter[str]) -> str:
    """"3 unsupported, 1 unavailable": what a folded row or cell stood for."""
    return ", ".join(f"{k} {st}" for st, k in sorted(statuses.items()))
