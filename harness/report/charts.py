"""The report's charts: matplotlib drawn to SVG text placed inline in the page, so the
report still opens from disk, fetches nothing, prints sharply and keeps its text selectable.

Suites are told apart by marker and line style as well as colour, so a chart printed in grey
still reads; every chart has labelled axes and says how many documents each mark stands on.
The output is deterministic (fixed hash salt, no date), so two builds of one store match.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib.lines import Line2D  # noqa: E402

# Okabe and Ito's colour-blind safe palette; each suite also has its own marker and dash.
_STYLES = (("#0072B2", "o", "-"), ("#D55E00", "s", "--"), ("#009E73", "^", ":"),
           ("#CC79A7", "D", "-."), ("#E69F00", "v", (0, (5, 1, 1, 1))),
           ("#56B4E9", "P", (0, (1, 1))), ("#000000", "X", (0, (8, 2))))
# Known suites keep one style across charts and runs; others follow in name order.
_KNOWN = ("libreoffice", "abiword", "gnumeric", "onlyoffice", "wps", "msoffice")
_RC = {"svg.fonttype": "none", "svg.hashsalt": "fidelity-report", "font.size": 9,
       "font.family": "DejaVu Sans", "axes.spines.top": False, "axes.spines.right": False}
WIDTH_INCHES = 6.4


@dataclass(frozen=True)
class Style:
    colour: str
    marker: str
    dash: str | tuple


def style(suite: str, others: Sequence[str] = ()) -> Style:
    """One suite's look: the same in every chart of a report."""
    base = suite.split(" (")[0]
    if base in _KNOWN:
        index = _KNOWN.index(base)
    else:
        unknown = sorted({o.split(" (")[0] for o in others if o.split(" (")[0] not in _KNOWN})
        index = len(_KNOWN) + (unknown.index(base) if base in unknown else 0)
    colour, marker, dash = _STYLES[index % len(_STYLES)]
    if suite.endswith(")"):  # a second task of the same suite: hollow marks
        return Style(colour, marker, (0, (3, 2)))
    return Style(colour, marker, dash)


def _svg(figure, name: str, title: str) -> str:
    """The figure as an <svg> element, its ids prefixed with `name` so that several charts
    on one page never share an id."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", name) + "-"
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r'(url\(#|href="#)([^)"]+)', lambda m: f"{m.group(1)}{prefix}{m.group(2)}",
                  text)
    opening = text.index(">") + 1  # the <svg ...> tag: a role and a title for readers
    return (text[:opening].replace("<svg ", '<svg class="chart" role="img" ', 1)
            + f"<title>{_escape(title)}</title>" + text[opening:])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class ScoreBar:
    """One suite's score on a format, as the recommendation computed it."""
    suite: str
    label: str  # what the reader sees: name and version
    score: float
    low: float
    high: float
    documents: int
    failures: int


def score_chart(fmt: str, bars: Sequence[ScoreBar], title: str) -> str:
    """Each suite's score on one format with its 95 % interval, best at the top; the title
    is also the chart's accessible name."""
    if not bars:
        return ""
    names = [b.suite for b in bars]
    with plt.rc_context(_RC):
        figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 0.55 + 0.42 * len(bars)))
        for row, bar in enumerate(bars):
            y = len(bars) - 1 - row
            look = style(bar.suite, names)
            axes.plot([bar.low, bar.high], [y, y], color=look.colour, linestyle=look.dash,
                      linewidth=2.2, solid_capstyle="butt")
            axes.plot([bar.low, bar.high], [y, y], linestyle="none", marker="|",
                      markersize=10, color=look.colour)
            axes.plot([bar.score], [y], marker=look.marker, markersize=8, color=look.colour,
                      markeredgecolor="black", markeredgewidth=0.6, linestyle="none",
                      clip_on=False)
            axes.annotate(f"{bar.score:.2f} [{bar.low:.2f}–{bar.high:.2f}]", (5.25, y),
                          xycoords="data", va="center", ha="left", annotation_clip=False)
        axes.set_yticks(range(len(bars)),
                        [f"{b.label}\n{_count(b.documents, 'doc')}, {b.failures} failed"
                         for b in reversed(bars)])
        axes.set_xlim(-0.1, 5.15)
        axes.set_ylim(-0.6, len(bars) - 0.4)
        axes.set_xticks(range(6))
        axes.grid(axis="x", color="#bbbbbb", linewidth=0.5)
        axes.set_axisbelow(True)
        axes.set_xlabel(f"score on .{fmt}, 0 worst to 5 best "
                        "(marker: score; line: 95 % interval)")
        axes.set_title(title, loc="left", fontsize=9)
        return _svg(figure, f"scores-{fmt}", title)


@dataclass(frozen=True)
class TrendLine:
    """One suite (task) on one format across runs, over the same documents each time."""
    label: str
    documents: int  # the documents every point is a mean over
    values: list[float | None]  # per run, oldest first; None: not run then
    failures: list[int | None]


def trend_chart(fmt: str, run_labels: Sequence[str], lines: Sequence[TrendLine]) -> str:
    """Mean grade per run (a failure counts 0), one line per suite (task), oldest run on the
    left; each point says its failures when there were any."""
    if not lines or not run_labels:
        return ""
    names = [line.label for line in lines]
    x = list(range(len(run_labels)))
    with plt.rc_context(_RC):
        figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 2.8))
        handles = []
        for line in lines:
            look = style(line.label, names)
            points = [(i, v) for i, v in zip(x, line.values) if v is not None]
            if not points:
                continue
            axes.plot([p[0] for p in points], [p[1] for p in points], color=look.colour,
                      linestyle=look.dash, marker=look.marker, markersize=6, linewidth=1.6,
                      markeredgecolor="black", markeredgewidth=0.5)
            for i, v in points:
                failed = line.failures[i]
                if failed:
                    axes.annotate(f"{failed} failed", (i, v), textcoords="offset points",
                                  xytext=(0, -12), ha="center", fontsize=7,
                                  color=look.colour)
            handles.append(Line2D([], [], color=look.colour, linestyle=look.dash,
                                  marker=look.marker, markeredgecolor="black",
                                  markeredgewidth=0.5,
                                  label=f"{line.label} ({_count(line.documents, 'doc')})"))
        axes.set_ylim(-0.3, 5.3)
        axes.set_yticks(range(6))
        axes.set_ylabel("mean grade (failure = 0)")
        axes.set_xlim(-0.4, len(x) - 0.6)
        step = max(1, len(x) // 8)  # at most about eight dates written under the axis
        axes.set_xticks(x[::step], [run_labels[i] for i in x[::step]])
        axes.set_xlabel("run (oldest left, newest right)")
        axes.grid(axis="y", color="#bbbbbb", linewidth=0.5)
        axes.set_axisbelow(True)
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                    frameon=False, fontsize=8)
        axes.set_title(f".{fmt}", loc="left")
        return _svg(figure, f"trend-{fmt}", f"Mean grade on .{fmt}, run by run")
