"""Drawn checks: every chart, picture, SmartArt and worksheet shape of the source drawn
where it belongs, each tagged with its feature.

Text checks cannot see a chart that was not drawn: a suite that prints a chart's title over
an empty frame keeps its words. So a chart is looked for as a person would: its *marks*
(bars, lines, slices, markers, or a picture of it) with its own labels around them.

- **Marks** are the page's graphics that draw data: paths filled with a colour, curved or
  diagonal outlines, images and shadings. Not marks: frames, gridlines, axes and cell
  borders (straight horizontal or vertical lines), white fills, rules, page-wide
  backgrounds, boxes other graphics lie on (a plot area's fill), boxes with words inside
  (a cell's or a table's shading; boxes with only numbers inside count for a chart that
  prints its values on its bars), image objects that draw one of the source's pictures,
  and legend keys: small squares beside the chart's labels, or no more small squares than
  the legend has entries (a legend whose text fell off the page beside an empty plot).
- Marks lying close together form a **drawing**, grown by its neighbours while the whole
  fits the chart's size (a workbook's anchor cells give it, estimated; a document's extent
  gives it exactly). A drawing is a chart's when it holds a mark of the chart's type (a
  bar, a slice, a line or marker) and the chart's labels (category labels, series names
  when a legend shows them, axis titles: the caches Office keeps in the chart part) or its
  title are printed around it; the one with the most of them wins, one chart per drawing.
  On a slide the chart's frame is known, and its marks are looked for there.
- Without a reference PDF a chart passes when such a drawing is found with at least half
  of its distinct label words (at most 12 asked for: every suite thins a long axis); drawn
  with fewer labels scores 0.5; its title alone, labels with no marks beside them, or an
  empty frame score 0.
- With a Microsoft reference, the chart is first found in the reference the same way; the
  candidate must then draw at least a third of the reference's marks (by count or by inked
  area) around the label words the reference printed. A chart not located in the
  reference is judged against the source.
- Nothing is asked of a chart without data points, nor of one not found in a rendering cut
  at MAX_PAGES whose title is on none of the pages read.

Pictures: on a slide, an image object (or, for a vector picture, any drawing) inside the
picture's frame on its page; elsewhere, each bitmap picture takes one image object, of its
proportions when there is one (1), else any left (0.5, out of proportion). With a
reference, pictures it does not show are not asked for. SmartArt: its nodes' text shown,
with shapes drawn around it. A worksheet shape's text: shown.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from skimage.measure import label as connected_components

from harness.compare.rendering import Graphic, Page, Rendering, Word
from harness.compare.structure import Check
from harness.compare.text import tokens
from harness.truth import SourceTruth
from harness.truth.drawn import Drawn

GRID_MM = 2.0  # cell of the grid marks are grouped on
CLUSTER_GAP_MM = 6.0  # marks closer than this belong to one drawing
ZONE_MARGIN_MM = 12.0  # labels are looked for this far around a drawing's marks at least,
ZONE_MARGIN_SHARE = 0.3  # or this share of the drawing's larger side
LABELS_NEEDED = 0.5  # share of a chart's distinct label words a drawing of it must print
LABELS_COUNTED = 12  # at most this many are asked for
REFERENCE_SHARE = 1 / 3  # of the reference's marks (count or inked area) a drawing must have
BACKGROUND_SHARE = 0.5  # a graphic covering more of the page is a background, not a mark
RULE_MM = 0.6  # a filled box thinner than this is a rule or a border
LEGEND_KEY_MM = 6.0  # a small box this close left of a label is a legend key
FRAME_SLACK_MM = 3.0  # a slide frame is searched this much wider for marks,
FRAME_LABEL_SHARE = 0.15  # and for labels by this share of its size more
# A drawing is joined by neighbours up to this share of the object's larger side away,
# while the whole stays within its size times this slack (more when the size is estimated
# from the cells it spans), or within this size when the object's size is not known.
GROWN_GAP_SHARE = 0.6
GROWN_SLACK = 1.25
GROWN_SLACK_ESTIMATED = 1.6
GROWN_UNKNOWN_MM = (160.0, 100.0)
MAX_SEEDS = 200  # drawings a chart is grown from, per page
SIZE_RATIO_TOLERANCE = 0.2  # a picture's proportions, matched within this share
# Drawn, but not in its proportions: a picture stretched, or clipped at a page edge (whose
# image object keeps its whole box). Seen, so mostly there.
OUT_OF_PROPORTION = 0.75
MIN_VISIBLE_MM = 2.0  # a picture thinner than this (a spacer, a rule) is not looked for
SCALE_RANGE = (0.15, 3.0)  # a page may shrink a sheet to fit or enlarge a slide picture
MIN_IMAGE_MM2 = 1.0
_CELL_MM = 5.0  # grid cell of the page indexes (words and graphics by position)


@dataclass(frozen=True)
class _Box:
    left: float
    top: float
    right: float
    bottom: float

    @staticmethod
    def of(g: Graphic) -> _Box:
        return _Box(g.x_mm, g.y_mm, g.x_mm + g.width_mm, g.y_mm + g.height_mm)

    @property
    def width(self) -> float:
        return max(0.0, self.right - self.left)

    @property
    def height(self) -> float:
        return max(0.0, self.bottom - self.top)

    @property
    def area(self) -> float:
        return self.width * self.height

    def grown(self, margin: float) -> _Box:
        return _Box(self.left - margin, self.top - margin, self.right + margin,
                    self.bottom + margin)

    def holds(self, x: float, y: float) -> bool:
        return self.left <= x <= self.right and self.top <= y <= self.bottom

    def overlap(self, other: _Box) -> float:
        return (max(0.0, min(self.right, other.right) - max(self.left, other.left))
                * max(0.0, min(self.bottom, other.bottom) - max(self.top, other.top)))

    def union(self, other: _Box) -> _Box:
        return _Box(min(self.left, other.left), min(self.top, other.top),
                    max(self.right, other.right), max(self.bottom, other.bottom))


@dataclass(frozen=True)
class _Hit:
    token: str
    x_mm: float
    y_mm: float


class _PageView:
    """One page's words by token and, when first asked for, its marks grouped into
    drawings: most pages of a long document are only searched for words."""

    def __init__(self, page: Page) -> None:
        self.page = page
        # Runs of one- and two-letter words: rotated or vertical text comes out of a PDF
        # one glyph at a time, so a rotated axis title is found spelt out in a run.
        self.words, self.runs = _page_words(page)
        self.claimed: set[int] = set()  # drawings already taken by an object
        self.found: dict[str, list[_Hit]] = {}

    @cached_property
    def _kinds(self) -> list[tuple[Graphic, str | None]]:
        grid, centres = _word_grid(self.page), _centre_grid(self.page)
        return [(g, classify(g, self.page, grid, centres)) for g in self.page.graphics]

    @cached_property
    def marks(self) -> list[Graphic]:
        """MARK and VALUED graphics, in drawing order."""
        return [g for g, kind in self._kinds if kind in (MARK, VALUED)]

    @cached_property
    def valued(self) -> set[int]:
        """id() of the VALUED graphics among the marks."""
        return {id(g) for g, kind in self._kinds if kind == VALUED}

    @cached_property
    def worded(self) -> list[Graphic]:
        return [g for g, kind in self._kinds if kind == WORDED]

    @cached_property
    def drawings(self) -> list[tuple[_Box, list[Graphic]]]:
        return _drawings(self.page, self.marks)

    def hits(self, token: str) -> list[_Hit]:
        if token not in self.found:
            hits = list(self.words.get(token, ()))
            if len(token) >= 3:
                for joined, run in self.runs:
                    start = joined.find(token)
                    while start >= 0:
                        first = run[min(start, len(run) - 1)]
                        hits.append(_Hit(token, first.x_mm, first.y_mm))
                        start = joined.find(token, start + 1)
            self.found[token] = hits
        return self.found[token]

    def shows(self, wanted: Iterable[str]) -> set[str]:
        return {token for token in wanted if self.hits(token)}


def _centre(g: Graphic) -> tuple[float, float]:
    return g.x_mm + g.width_mm / 2, g.y_mm + g.height_mm / 2


def _word_grid(page: Page) -> dict[tuple[int, int], int]:
    grid: Counter[tuple[int, int]] = Counter()
    for word in page.words:
        grid[(int(word.x_mm // _CELL_MM), int(word.y_mm // _CELL_MM))] += 1
    return grid


def _words_inside(box: _Box, page: Page, grid: dict[tuple[int, int], int],
                  cell_mm: float = _CELL_MM) -> list[Word]:
    """Words starting inside the box (a cell's or a table's shading holds text)."""
    columns = range(int(box.left // cell_mm), int(box.right // cell_mm) + 1)
    rows = range(int(box.top // cell_mm), int(box.bottom // cell_mm) + 1)
    if len(columns) * len(rows) > 400:  # a big box: scan the words instead of the grid
        return [w for w in page.words if box.holds(w.x_mm, w.y_mm)]
    if not any(grid.get((c, r)) for c in columns for r in rows):
        return []
    return [w for w in page.words if int(w.x_mm // cell_mm) in columns
            and int(w.y_mm // cell_mm) in rows and box.holds(w.x_mm, w.y_mm)]


MARK, VALUED, WORDED = "mark", "valued", "worded"


def _centre_grid(page: Page) -> dict[tuple[int, int], list[Graphic]]:
    """The page's graphics by the grid cell their centre falls in."""
    grid: dict[tuple[int, int], list[Graphic]] = {}
    for g in page.graphics:
        x, y = _centre(g)
        grid.setdefault((int(x // _CELL_MM), int(y // _CELL_MM)), []).append(g)
    return grid


def _encloses(box: _Box, g: Graphic, centres: dict[tuple[int, int], list[Graphic]]) -> bool:
    """Whether smaller graphics lie wholly on the box: a plot area's or a legend's
    background under its gridlines, bars or keys. A bar is not one: a gridline drawn across
    it runs past its sides, and its own outline is its size."""
    inner, outer = box.grown(-0.5), box.grown(0.5)
    if inner.width <= 0 or inner.height <= 0:
        return False
    for column in range(int(inner.left // _CELL_MM), int(inner.right // _CELL_MM) + 1):
        for row in range(int(inner.top // _CELL_MM), int(inner.bottom // _CELL_MM) + 1):
            for other in centres.get((column, row), ()):
                if other is g or other.width_mm * other.height_mm >= 0.8 * box.area:
                    continue
                edges = _Box.of(other)
                if inner.holds(*_centre(other)) and outer.holds(edges.left, edges.top) \
                        and outer.holds(edges.right, edges.bottom):
                    return True
    return False


def classify(g: Graphic, page: Page, grid: dict[tuple[int, int], int] | None = None,
             centres: dict[tuple[int, int], list[Graphic]] | None = None) -> str | None:
    """What a graphic draws. MARK: data (a bar, a slice, a line, a marker, a picture).
    VALUED: a filled box with only numbers inside, a bar with its value printed on it or a
    shaded number cell, a mark only for a chart that prints its values. WORDED: a filled
    box with words inside, a table's or a text's shading (or, on a slide, a bar with its
    name on it). None: a frame, a grid line, an axis, a rule, a background (a page-wide
    fill, or a box other graphics are drawn on)."""
    box = _Box.of(g)
    if box.area > BACKGROUND_SHARE * page.width_mm * page.height_mm:
        return None
    if g.kind in ("image", "shading"):
        return MARK if box.area >= MIN_IMAGE_MM2 else None
    if g.filled:
        if not g.straight:
            return MARK
        if min(box.width, box.height) < RULE_MM:
            return None
        if _encloses(box, g, centres if centres is not None else _centre_grid(page)):
            return None
        inside = _words_inside(box, page, grid if grid is not None else _word_grid(page))
        if not inside:
            return MARK
        return VALUED if all(w.text.isdigit() for w in inside) else WORDED
    return MARK if g.stroked and not g.straight else None


def is_mark(g: Graphic, page: Page) -> bool:
    """Whether a graphic draws data, whatever the chart: see classify."""
    return classify(g, page) == MARK


def _drawings(page: Page, marks: list[Graphic]) -> list[tuple[_Box, list[Graphic]]]:
    """Marks grouped by nearness: each group's box and its marks, on a coarse grid."""
    if not marks:
        return []
    columns = max(1, math.ceil(page.width_mm / GRID_MM) + 1)
    rows = max(1, math.ceil(page.height_mm / GRID_MM) + 1)
    grid = np.zeros((rows, columns), dtype=bool)
    cells = []
    for g in marks:
        c0 = min(columns - 1, max(0, int(g.x_mm // GRID_MM)))
        r0 = min(rows - 1, max(0, int(g.y_mm // GRID_MM)))
        c1 = min(columns - 1, max(c0, int((g.x_mm + g.width_mm) // GRID_MM)))
        r1 = min(rows - 1, max(r0, int((g.y_mm + g.height_mm) // GRID_MM)))
        grid[r0:r1 + 1, c0:c1 + 1] = True
        cells.append((r0, c0))
    reach = max(1, round(CLUSTER_GAP_MM / 2 / GRID_MM))
    grown = grid.copy()
    for shift in range(1, reach + 1):  # a square dilation, by shifted copies
        grown[shift:, :] |= grid[:-shift, :]
        grown[:-shift, :] |= grid[shift:, :]
    wide = grown.copy()
    for shift in range(1, reach + 1):
        wide[:, shift:] |= grown[:, :-shift]
        wide[:, :-shift] |= grown[:, shift:]
    labels = connected_components(wide, connectivity=2)
    groups: dict[int, list[Graphic]] = {}
    for g, (r, c) in zip(marks, cells):
        groups.setdefault(int(labels[r, c]), []).append(g)
    found = []
    for members in groups.values():
        box = _Box.of(members[0])
        for g in members[1:]:
            box = box.union(_Box.of(g))
        page_box = _Box(0.0, 0.0, page.width_mm, page.height_mm)
        found.append((_Box(max(box.left, 0.0), max(box.top, 0.0),
                           min(box.right, page_box.right), min(box.bottom, page_box.bottom)),
                      members))
    return found


def _page_words(page: Page) -> tuple[dict[str, list[_Hit]], list[tuple[str, list[Word]]]]:
    words: dict[str, list[_Hit]] = {}
    runs: list[tuple[str, list[Word]]] = []
    run: list[Word] = []
    for word in (*page.words, None):
        if word is not None:
            words.setdefault(word.text, []).append(_Hit(word.text, word.x_mm, word.y_mm))
            if len(word.text) <= 2 and word.text.isascii():
                run.append(word)
                continue
        if len(run) >= 3:
            # A run's letters are its words' letters: a two-letter word is two positions.
            letters = [w for w in run for _ in w.text]
            runs.append(("".join(w.text for w in run), letters))
        run = []
    return words, runs


class _Views:
    """Each page's view of a rendering, computed when first asked for."""

    def __init__(self, rendering: Rendering) -> None:
        self.rendering = rendering
        self.views: dict[int, _PageView] = {}
        # id() of the image objects a picture of the source accounts for: not a chart's.
        self.reserved: set[int] = set()

    def page(self, number: int) -> _PageView | None:
        if not 1 <= number <= len(self.rendering.pages):
            return None
        if number not in self.views:
            self.views[number] = _PageView(self.rendering.pages[number - 1])
        return self.views[number]

    def numbers(self) -> range:
        return range(1, len(self.rendering.pages) + 1)

    def pages_with(self, wanted: set[str]) -> list[int]:
        """Pages printing any of the words (every page when nothing is wanted)."""
        if not wanted:
            return list(self.numbers())
        return [number for number in self.numbers() if self.page(number).shows(wanted)]


# ---------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class _Found:
    """Where a chart was found drawn, and what of it."""

    page: int
    zone: _Box
    marks: tuple[Graphic, ...]
    labels: frozenset[str]  # label words printed around it
    title: frozenset[str]  # title words printed around it
    drawings: tuple[int, ...] = ()  # the page's drawings it is made of (none on a slide)

    @property
    def inked_mm2(self) -> float:
        return sum(min(_Box.of(g).overlap(self.zone), _Box.of(g).area) for g in self.marks)


def _words_in(zone: _Box, view: _PageView, wanted: set[str]) -> list[_Hit]:
    return [hit for token in wanted for hit in view.hits(token)
            if zone.holds(hit.x_mm, hit.y_mm)]


def _without_legend_keys(marks: Iterable[Graphic], label_hits: list[_Hit]) -> list[Graphic]:
    """A legend's small boxes beside its entries draw no data: a frame with a legend and no
    bars is still an empty chart."""
    kept = []
    for g in marks:
        small = g.kind == "path" and g.width_mm <= LEGEND_KEY_MM and g.height_mm <= LEGEND_KEY_MM
        if small and any(0 <= h.x_mm - (g.x_mm + g.width_mm) <= LEGEND_KEY_MM
                         and g.y_mm - 2 <= h.y_mm <= g.y_mm + g.height_mm + 4
                         for h in label_hits):
            continue
        kept.append(g)
    return kept


def _key_like(g: Graphic) -> bool:
    """A small square box: a legend key, or a square marker."""
    return (g.kind == "path" and g.filled and g.straight and 0 < g.height_mm
            and max(g.width_mm, g.height_mm) <= LEGEND_KEY_MM
            and 0.75 <= g.width_mm / g.height_mm <= 1.33)


def _data_marks(item: Drawn, marks: list[Graphic], label_hits: list[_Hit]) -> list[Graphic]:
    """The marks that draw data: legend keys beside the chart's labels left out, and
    nothing at all when what is left is no more small squares than its legend has entries
    (a legend cut off at the page's edge beside an empty plot is still an empty chart)."""
    kept = _without_legend_keys(marks, label_hits)
    squares = {(round(g.x_mm * 2), round(g.y_mm * 2)) for g in kept if _key_like(g)}
    others = [g for g in kept if not _key_like(g)]
    pie = any(name in item.kind for name in ("pie", "doughnut"))
    entries = item.points if pie else item.series
    if not others and len(squares) <= max(entries, 1):
        return []
    return kept


def _chart_tokens(item: Drawn) -> tuple[set[str], set[str]]:
    labels = {t for text in item.texts for t in tokens(text)}
    title = {t for t in tokens(item.title)} - labels
    return labels, title


def _frame(item: Drawn, page: Page) -> _Box | None:
    """A slide object's frame on its page (the page is the slide, scaled)."""
    if (item.x_mm is None or item.y_mm is None or not item.width_mm or not item.height_mm
            or not item.slide_width_mm or not item.slide_height_mm):
        return None
    sx, sy = page.width_mm / item.slide_width_mm, page.height_mm / item.slide_height_mm
    return _Box(item.x_mm * sx, item.y_mm * sy, (item.x_mm + item.width_mm) * sx,
                (item.y_mm + item.height_mm) * sy)


def _find_chart(item: Drawn, views: _Views, labels: set[str], title: set[str]
                ) -> _Found | None:
    """The chart's drawing: in its frame on its slide's page, else the best drawing (most
    of its label words, then of its title's, then the closest in size, then most marks) no
    other chart has taken, holding at least one mark of the chart's type."""
    wanted = labels | title
    if item.page is not None:
        view = views.page(item.page)
        frame = _frame(item, view.page) if view is not None else None
        if view is None or frame is None:
            return None
        zone = frame.grown(FRAME_SLACK_MM)
        hits = _words_in(frame.grown(_label_slack(frame)), view, wanted)
        # Nothing but the chart lies in its frame: a box with its name or value on it is
        # a bar here, not a table's cell.
        marks = [g for g in (*view.marks, *view.worded)
                 if zone.holds(*_centre(g)) and id(g) not in views.reserved]
        marks = _data_marks(item, marks, [h for h in hits if h.token in labels])
        if not any(_fits_kind(item.kind, g) for g in marks):
            marks = []
        return _Found(item.page, zone, tuple(marks), frozenset(h.token for h in hits) & labels,
                      frozenset(h.token for h in hits) & title)
    best: tuple | None = None
    for number in views.pages_with(wanted):
        view = views.page(number)
        covered: set[int] = set()
        for seed in _seeds(view):
            if seed in view.claimed or seed in covered:
                continue
            grown = _grown(item, view, seed)
            if grown is None:
                continue
            group, box = grown
            covered.update(group)
            zone = _zone(box, item)
            hits = _words_in(zone, view, wanted)
            found_labels = frozenset(h.token for h in hits) & labels
            found_title = frozenset(h.token for h in hits) & title
            if wanted and not (found_labels or found_title):
                continue
            members = [g for index in group for g in view.drawings[index][1]
                       if (item.value_labels or id(g) not in view.valued)
                       and id(g) not in views.reserved]
            marks = _data_marks(item, members, [h for h in hits if h.token in labels])
            if not marks or (not wanted and len(marks) < 2):
                continue  # with nothing to recognise it by, one stray mark is no chart
            if not any(_fits_kind(item.kind, g) for g in marks):
                continue  # a pie's slices are not a bar chart, a legend's keys not bars
            rank = (len(found_labels), len(found_title), -_misfit(box, item), len(marks))
            if best is None or rank > best[0]:
                best = (rank, _Found(number, zone, tuple(marks), found_labels, found_title,
                                     tuple(group)), box)
    if best is None:
        return None
    found = best[1]
    if found.drawings:  # its pieces just outside the group go with it
        view = views.page(found.page)
        view.claimed.update(found.drawings)
        near = best[2].grown(ZONE_MARGIN_MM)
        view.claimed.update(index for index, (box, _) in enumerate(view.drawings)
                            if near.holds((box.left + box.right) / 2,
                                          (box.top + box.bottom) / 2))
    return found


def _fits_kind(kind: str, g: Graphic) -> bool:
    """Whether a mark is what the chart's type draws: bars for a bar chart, filled curved
    shapes for slices, lines or markers for lines and points (a suite may draw any type as
    a picture or a shading). A drawing of the chart must hold at least one: a pie's slices
    next to it are not a bar chart, nor its legend's keys its bars."""
    if g.kind != "path":
        return True
    if "pie" in kind or "doughnut" in kind or "bubble" in kind:
        return g.filled and not g.straight
    if kind.startswith("3-D") or "area" in kind or "surface" in kind:
        return g.filled
    if "column" in kind or "bar" in kind:
        return g.filled and g.straight and not _key_like(g)
    if any(name in kind for name in ("line", "scatter", "radar", "stock")):
        return not g.straight or _key_like(g)
    return True


def _misfit(box: _Box, item: Drawn) -> float:
    """How far a drawing's size is from what the object's plot would be (about half its
    frame), in tenths of a natural logarithm: 0 when the size is not known."""
    # A size a damaged file gives as negative is as unknown as a missing one.
    if not item.width_mm or not item.height_mm or min(item.width_mm, item.height_mm) <= 0 \
            or box.area <= 0:
        return 0.0
    return round(abs(math.log(box.area / (0.5 * item.width_mm * item.height_mm))), 1)


def _seeds(view: _PageView) -> list[int]:
    """Drawings to grow a chart from, the largest first (a chart's plot is its largest
    mass of marks), at most MAX_SEEDS of them."""
    order = sorted(range(len(view.drawings)),
                   key=lambda i: -sum(g.width_mm * g.height_mm for g in view.drawings[i][1]))
    return order[:MAX_SEEDS]


def _zone(box: _Box, item: Drawn) -> _Box:
    """Where a drawing's labels are looked for: anywhere its frame could reach. Marks need
    not fill a chart (a line's lowest point may stand far above its axis), so the box is
    grown on each side by what the object's size leaves beyond it, or by a third of its own
    size when the object's size is not known."""
    margin = max(ZONE_MARGIN_MM, ZONE_MARGIN_SHARE * max(box.width, box.height))
    across = max(margin, (item.width_mm or 0.0) - box.width)
    down = max(margin, (item.height_mm or 0.0) - box.height)
    return _Box(box.left - across, box.top - down, box.right + across, box.bottom + down)


def _gap(a: _Box, b: _Box) -> float:
    return max(0.0, max(a.left, b.left) - min(a.right, b.right),
               max(a.top, b.top) - min(a.bottom, b.bottom))


def _grown(item: Drawn, view: _PageView, seed: int) -> tuple[list[int], _Box] | None:
    """A drawing joined by its unclaimed neighbours while together they still fit the
    object's size: a chart's bars stand apart, one category from the next, by as much as
    most of the chart's width, and a second chart may stand as close beside it. None when
    the drawing alone is larger than the object (a table's shaded cells, a background)."""
    width, height = item.width_mm or GROWN_UNKNOWN_MM[0], item.height_mm or GROWN_UNKNOWN_MM[1]
    slack = GROWN_SLACK_ESTIMATED if item.size_estimated else GROWN_SLACK
    most_wide, most_high = max(width * slack, 30.0), max(height * slack, 30.0)
    reach = max(CLUSTER_GAP_MM, GROWN_GAP_SHARE * max(width, height))
    group, box = [seed], view.drawings[seed][0]
    if box.width > most_wide or box.height > most_high:
        return None
    while True:
        options = []
        for index, (other, _) in enumerate(view.drawings):
            if index in group or index in view.claimed:
                continue
            distance = _gap(box, other)
            joined = box.union(other)
            if distance <= reach and joined.width <= most_wide and joined.height <= most_high:
                options.append((distance, index, joined))
        if not options:
            return group, box
        _, index, box = min(options)
        group.append(index)


def _label_slack(frame: _Box) -> float:
    """How far outside its frame a slide chart's labels may be printed (a suite may lay a
    legend just below the frame)."""
    return FRAME_SLACK_MM + FRAME_LABEL_SHARE * max(frame.width, frame.height)


def _needed(labels: set[str]) -> int:
    return math.ceil(LABELS_NEEDED * min(len(labels), LABELS_COUNTED))


def _describe_marks(marks: Iterable[Graphic]) -> str:
    kinds: Counter[str] = Counter()
    for g in marks:
        if g.kind == "image":
            kinds["image"] += 1
        elif g.kind == "shading":
            kinds["shading"] += 1
        elif g.filled and g.straight:
            kinds["box"] += 1
        elif g.filled:
            kinds["filled shape"] += 1
        else:
            kinds["line"] += 1
    total = sum(kinds.values())
    parts = ", ".join(f"{n} {kind}{'es' if kind == 'box' and n > 1 else 's' if n > 1 else ''}"
                      for kind, n in kinds.most_common())
    return f"{total} mark{'s' if total != 1 else ''} ({parts})" if total else "no marks"


def _missing_chart(item: Drawn, views: _Views, labels: set[str], title: set[str],
                   where: str) -> str:
    """Why no drawing of the chart was found, in what a person would see."""
    pages = [item.page] if item.page is not None else list(views.numbers())
    seen_labels: set[str] = set()
    seen_title: set[str] = set()
    for number in pages:
        view = views.page(number)
        if view is None:
            continue
        seen_labels |= view.shows(labels)
        seen_title |= view.shows(title)
    if item.page is not None and views.page(item.page) is None:
        return f"not drawn: the PDF has no page {item.page}"
    if seen_title and not seen_labels:
        return f"not drawn: only its title is shown{where}, no bars, lines or slices"
    if seen_labels:
        shown = "its title and " if seen_title else ""
        return (f"not drawn: {shown}{len(seen_labels)}/{len(labels)} of its label words are "
                f"printed{where} (perhaps as the cells' own text), but no bars, lines or "
                "slices beside them")
    if not labels and not title:
        return f"not drawn: no drawing{where} that could be it"
    return f"not drawn: neither its marks nor its labels are{where or ' on any page'}"


def _cut(views: _Views, item: Drawn, title: set[str]) -> bool:
    """Whether the object may lie on a page the rendering was not read to: the rendering
    goes on past MAX_PAGES, and the chart's title, if it has one, is on no page read."""
    read = len(views.rendering.pages)
    if views.rendering.page_count <= read or (item.page is not None and item.page <= read):
        return False
    return not (title and any(views.page(n).shows(title) for n in views.numbers()))


def _chart_check(item: Drawn, candidate: _Views, reference: _Views | None) -> Check | None:
    """None when nothing can be asked: a chart with no data point draws nothing but its
    frame; one not found in a rendering cut at MAX_PAGES may lie on a page not read."""
    if item.points <= 0:
        return None
    labels, title = _chart_tokens(item)
    where = f" on page {item.page}" if item.page is not None else ""
    seen = None
    if reference is not None:
        seen = _find_chart(item, reference, labels, title)
        if seen is not None and not seen.marks:
            seen = None
    if seen is None:
        return _chart_against_source(item, candidate, labels, title, where,
                                     "" if reference is None else
                                     " (not located in the reference: judged against the "
                                     "source)")
    # What Microsoft printed around the chart is what the candidate is asked for.
    asked_labels, asked_title = set(seen.labels), set(seen.title)
    found = _find_chart(item, candidate, asked_labels or labels, asked_title or title)
    expected = f"{_describe_marks(seen.marks)}, {len(seen.labels)} label words (reference)"
    if found is None or not found.marks:
        if _cut(candidate, item, asked_title or title):
            return None
        why = _missing_chart(item, candidate, asked_labels or labels, asked_title or title,
                             where)
        return Check("charts", f"{item.label}: {why}", 0.0, expected, "not drawn")
    need = _needed(asked_labels)
    enough_marks = (len(found.marks) >= REFERENCE_SHARE * len(seen.marks)
                    or found.inked_mm2 >= REFERENCE_SHARE * seen.inked_mm2)
    enough_labels = len(found.labels) >= need
    summary = (f"page {found.page}: {_describe_marks(found.marks)} against the reference's "
               f"{len(seen.marks)}, {len(found.labels)}/{len(asked_labels)} of the label words "
               "it printed")
    if enough_marks and enough_labels:
        return Check("charts", f"{item.label}: drawn like the reference ({summary})", 1.0,
                     expected, summary)
    lacking = "too few marks" if not enough_marks else "labels missing"
    return Check("charts", f"{item.label}: drawn, but {lacking} ({summary})", 0.5,
                 expected, summary)


def _chart_against_source(item: Drawn, views: _Views, labels: set[str], title: set[str],
                          where: str, note: str) -> Check | None:
    need = _needed(labels)
    expected = (f"{item.points} data points, {len(labels)} label words"
                if item.points else f"{len(labels)} label words")
    found = _find_chart(item, views, labels, title)
    if found is None or not found.marks:
        if _cut(views, item, title):
            return None
        why = _missing_chart(item, views, labels, title, where)
        return Check("charts", f"{item.label}: {why}{note}", 0.0, expected, "not drawn")
    summary = f"page {found.page}: {_describe_marks(found.marks)}"
    if labels:
        summary += f", {len(found.labels)}/{len(labels)} label words"
    elif not title and item.page is None:
        summary += "; it prints no title or labels, so any drawing of its size may be it"
    if len(found.labels) >= need:
        return Check("charts", f"{item.label}: drawn ({summary}){note}", 1.0, expected,
                     summary)
    return Check("charts", f"{item.label}: drawn, but its labels are missing ({summary})"
                 f"{note}", 0.5, expected, summary)


# -------------------------------------------------------------------------- pictures


def _invisible(item: Drawn) -> bool:
    known = item.width_mm is not None and item.height_mm is not None and \
        not item.size_estimated
    return known and min(item.width_mm, item.height_mm) < MIN_VISIBLE_MM


def _proportion(width: float, height: float) -> float:
    return width / height if height > 0 else 0.0


def _fits(g: Graphic, item: Drawn) -> bool:
    """An image object of the picture's proportions (cropped or whole) and a plausible
    scale; any image object when the picture's size is not known (a cell anchor)."""
    if g.width_mm * g.height_mm < MIN_IMAGE_MM2:
        return False
    sizes = [(item.width_mm, item.height_mm),
             (item.uncropped_width_mm, item.uncropped_height_mm)]
    known = [(w, h) for w, h in sizes if w and h and not item.size_estimated]
    if not known:
        return True
    shown = _proportion(g.width_mm, g.height_mm)
    for width, height in known:
        wanted = _proportion(width, height)
        scale = g.width_mm / width
        if (abs(shown - wanted) <= SIZE_RATIO_TOLERANCE * wanted
                and SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]):
            return True
    return False


def _picture_on_slide(item: Drawn, views: _Views) -> tuple[float, str]:
    view = views.page(item.page) if item.page is not None else None
    if view is None:
        return 0.0, f"not drawn: the PDF has no page {item.page}"
    frame = _frame(item, view.page)
    if frame is None:  # a placeholder's frame comes from its layout: any place on the page
        frame = _Box(0.0, 0.0, view.page.width_mm, view.page.height_mm)
    zone = frame.grown(FRAME_SLACK_MM)
    kinds = ("image",) if item.raster else ("image", "path", "shading")
    inside = [g for g in view.page.graphics if g.kind in kinds
              and _Box.of(g).overlap(zone) >= 0.5 * min(_Box.of(g).area, zone.area) > 0]
    if inside:
        views.reserved.update(id(g) for g in inside if g.kind == "image")
        return 1.0, f"drawn in its frame on page {item.page}"
    elsewhere = [g for g in view.page.graphics if g.kind == "image" and _fits(g, item)]
    if item.raster and elsewhere:
        return 0.5, f"drawn on page {item.page} but not in its frame"
    what = "no image" if item.raster else "nothing"
    return 0.0, f"not drawn: {what} in its frame on page {item.page}"


def _picture_checks(items: list[Drawn], candidate: _Views, reference: _Views | None
                    ) -> list[Check]:
    checks: list[Check] = []
    flowing = []
    for item in items:
        if _invisible(item):
            continue  # a spacer or a hairline: nothing a reader would miss
        if item.page is not None:
            if _cut(candidate, item, set()):
                continue  # its page is past the ones read
            if reference is not None and _picture_on_slide(item, reference)[0] < 1.0:
                continue  # the reference does not show it there either
            score, said = _picture_on_slide(item, candidate)
            checks.append(Check("images", f"{item.label}: {said}", score,
                                "drawn in its frame", said))
        elif item.raster:
            flowing.append(item)
    if not flowing:
        return checks
    shown = flowing
    if reference is not None:
        kept = _match_pictures(flowing, reference)
        shown = [item for item, where in zip(flowing, kept) if where is not None]
    cut = candidate.rendering.page_count > len(candidate.rendering.pages)
    for item, where in zip(shown, _match_pictures(shown, candidate)):
        size = (f" ({item.width_mm:.0f} x {item.height_mm:.0f} mm)"
                if item.width_mm and item.height_mm and not item.size_estimated else "")
        if where is None:
            if cut:
                continue  # it may be on a page past the ones read
            checks.append(Check("images", f"{item.label}{size}: not drawn: no image object "
                                "left for it on any page", 0.0, "an image object", "none"))
            continue
        page, g, proportional = where
        said = f"drawn on page {page} at {g.width_mm:.0f} x {g.height_mm:.0f} mm"
        if proportional:
            checks.append(Check("images", f"{item.label}{size}: {said}", 1.0,
                                "an image object", said))
        else:
            checks.append(Check("images", f"{item.label}{size}: {said}, out of proportion",
                                OUT_OF_PROPORTION, "an image object of its proportions", said))
    return checks


def _match_pictures(items: list[Drawn], views: _Views
                    ) -> list[tuple[int, Graphic, bool] | None]:
    """Each picture's image object (page, object, in proportion), one object per picture,
    pages in order: first objects of the picture's proportions, pictures of a known size
    first (so a picture of unknown size cannot take another's object), then any object
    left (a suite that stretched the picture still drew it)."""
    images = [(number, g) for number in views.numbers()
              for g in views.rendering.pages[number - 1].graphics
              if g.kind == "image" and g.width_mm * g.height_mm >= MIN_IMAGE_MM2]
    taken: set[int] = set()
    matched: dict[int, tuple[int, Graphic, bool] | None] = dict.fromkeys(range(len(items)))
    order = sorted(range(len(items)), key=lambda i: not (
        items[i].width_mm and items[i].height_mm and not items[i].size_estimated))
    for proportional in (True, False):
        for index in order:
            if matched[index] is not None:
                continue
            for position, (number, g) in enumerate(images):
                if position not in taken and (not proportional or _fits(g, items[index])):
                    taken.add(position)
                    matched[index] = (number, g, proportional)
                    views.reserved.add(id(g))
                    break
    return [matched[i] for i in range(len(items))]


# ------------------------------------------------------------- SmartArt and shapes


def _text_found(item: Drawn, views: _Views) -> tuple[int | None, set[str], list[_Hit]]:
    """The page printing most of the object's words (its slide's page when known)."""
    wanted = {t for text in item.texts for t in tokens(text)}
    pages = [item.page] if item.page is not None else views.pages_with(wanted)
    best: tuple[int | None, set[str], list[_Hit]] = (None, set(), [])
    for number in pages:
        view = views.page(number)
        if view is None:
            continue
        zone = None
        if item.page is not None and (frame := _frame(item, view.page)) is not None:
            zone = frame.grown(FRAME_SLACK_MM)
        hits = [hit for token in wanted for hit in view.hits(token)
                if zone is None or zone.holds(hit.x_mm, hit.y_mm)]
        found = {h.token for h in hits}
        if len(found) > len(best[1]):
            best = (number, found, hits)
    return best


def _smartart_check(item: Drawn, candidate: _Views, reference: _Views | None
                    ) -> Check | None:
    wanted = {t for text in item.texts for t in tokens(text)}
    if not wanted:
        return None
    if reference is not None and len(_text_found(item, reference)[1]) < _needed(wanted):
        return None  # the reference does not show it either
    page, found, hits = _text_found(item, candidate)
    expected = f"{len(wanted)} words of its nodes, with shapes"
    if page is None or len(found) < _needed(wanted):
        if _cut(candidate, item, set()):
            return None  # it may be on a page past the ones read
        said = f"not drawn: {len(found)}/{len(wanted)} of its words shown"
        return Check("smartart", f"{item.label}: {said}", 0.0, expected, said)
    view = candidate.page(page)
    spread = _Box(min(h.x_mm for h in hits), min(h.y_mm for h in hits),
                  max(h.x_mm for h in hits), max(h.y_mm for h in hits)).grown(10.0)
    shapes = [g for g in view.page.graphics
              if (g.filled or g.stroked) and spread.overlap(_Box.of(g)) > 0
              and _Box.of(g).area < BACKGROUND_SHARE * view.page.width_mm * view.page.height_mm]
    said = f"page {page}: {len(found)}/{len(wanted)} of its words, {len(shapes)} shapes"
    if shapes:
        return Check("smartart", f"{item.label}: drawn ({said})", 1.0, expected, said)
    return Check("smartart", f"{item.label}: its text without its shapes ({said})", 0.5,
                 expected, said)


def _shape_check(item: Drawn, candidate: _Views, reference: _Views | None) -> Check | None:
    wanted = Counter(t for text in item.texts for t in tokens(text))
    if not wanted:
        return None

    def shown(views: _Views) -> bool:
        have: Counter[str] = Counter()
        for page in views.rendering.pages:
            have.update(w.text for w in page.words)
        missing = sum(max(0, n - have[t]) for t, n in wanted.items())
        return missing <= sum(wanted.values()) // 20

    if reference is not None and not shown(reference):
        return None
    ok = shown(candidate)
    if not ok and _cut(candidate, item, set()):
        return None  # it may be on a page past the ones read
    text = next(iter(item.texts), "")
    short = text if len(text) <= 60 else text[:59] + "…"
    return Check(item.feature, f"{item.label}: text {'shown' if ok else 'not shown'}",
                 float(ok), short, "found" if ok else "not found")


# ------------------------------------------------------------------------------ all


def drawn_checks(truth: SourceTruth, candidate: Rendering,
                 reference: Rendering | None = None) -> list[Check]:
    """A check per chart, picture, SmartArt and worksheet shape the source draws (and a
    faithful rendering prints: hidden sheets, hidden slides and what lies outside a print
    area are left out), judged against the Microsoft reference when there is one."""
    items = [d for d in truth.drawn if isinstance(d, Drawn) and d.shown]
    if not items:
        return []
    views = _Views(candidate)
    seen = _Views(reference) if reference is not None else None
    # Pictures first: an image object that draws one of them is not a chart's mark.
    pictures = _picture_checks([d for d in items if d.feature == "images"], views, seen)
    checks: list[Check] = []
    for item in items:
        if item.feature == "charts":
            if (check := _chart_check(item, views, seen)) is not None:
                checks.append(check)
        elif item.feature == "smartart":
            if (check := _smartart_check(item, views, seen)) is not None:
                checks.append(check)
        elif item.feature == "text-boxes":
            if (check := _shape_check(item, views, seen)) is not None:
                checks.append(check)
    return checks + pictures


__all__ = ["classify", "drawn_checks", "is_mark"]
