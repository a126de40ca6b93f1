"""What a document draws besides its running text: charts, pictures, SmartArt, and shapes
holding text on a worksheet, each with what a faithful drawing of it prints.

The text of a document says little about whether a suite drew its charts: a suite that
prints a chart's title over an empty frame keeps most of the words. So each drawn object is
read from the package's own parts (following relationships from the main part to the
sheet, slide or body that places it) with what the page must show of it: a chart's type,
its series names and category labels from the caches Office keeps beside the chart, its
number of data points; a picture's size and, on a slide, its frame in millimetres.

On a worksheet an object's size comes from its anchor (estimated from the columns and rows
a two-cell anchor spans); on a hidden sheet or outside the sheet's print area it is kept
with `shown=False`. Left out: equations (their text is checked by the structural checks),
slide shapes and Word text boxes (their text too), Office 2016 chart types (chartEx parts:
waterfall, treemap, sunburst...), pictures in headers, footers, masters and layouts, and
embedded OLE objects.

The parts are parsed with the project's SAFE_XML parser after the zip checks, and nothing
here raises on a malformed package: what cannot be read is left out.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from harness.truth.container import RASTER_EXTENSIONS, SAFE_XML, check_zip

EMU_PER_MM = 36_000
MAX_OBJECTS = 500  # drawn objects kept per document
MAX_LABELS = 400  # labels kept per chart (a daily series has thousands; few are printed)
MAX_CELLS_RESOLVED = 2_000  # cells read through a chart's reference when it has no cache
MAX_PART_BYTES = 32 * 1024 * 1024  # an XML part larger than this is not read

_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DGM = "http://schemas.openxmlformats.org/drawingml/2006/diagram"
_PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"
_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
_P = "http://schemas.openxmlformats.org/presentationml/2006/main"
_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_V = "urn:schemas-microsoft-com:vml"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"

# Chart kinds as a reader says them; a bar chart's direction decides column or bar.
_KINDS = {"barChart": "bar", "bar3DChart": "3-D bar", "lineChart": "line",
          "line3DChart": "3-D line", "pieChart": "pie", "pie3DChart": "3-D pie",
          "ofPieChart": "pie-of-pie", "doughnutChart": "doughnut", "areaChart": "area",
          "area3DChart": "3-D area", "scatterChart": "scatter", "bubbleChart": "bubble",
          "radarChart": "radar", "surfaceChart": "surface", "surface3DChart": "3-D surface",
          "stockChart": "stock"}
_NO_AXES = {"pieChart", "pie3DChart", "ofPieChart", "doughnutChart"}
_AXES = ("catAx", "dateAx", "valAx", "serAx")


@dataclass(frozen=True)
class Drawn:
    """One object the page must draw, tagged with the feature it exercises."""

    feature: str  # "charts", "images", "smartart" or "text-boxes"
    label: str  # how a person names it: 'chart 2 "Sales" (column chart) on sheet "Data"'
    kind: str  # the chart's type ("column", "pie", ...), "picture", "smartart", "shape"
    title: str = ""
    # Words a faithful drawing prints: a chart's category labels, series names (when a
    # legend shows them) and axis titles; a SmartArt's or shape's text. Not the title.
    texts: tuple[str, ...] = ()
    points: int = 0  # a chart's data points, all series together
    series: int = 0
    value_labels: bool = False  # a chart prints its values on its marks (data labels)
    raster: bool = True  # pictures: a bitmap (one image object in a PDF), else vector
    sheet: str | None = None
    slide: int | None = None  # 1-based slide number in the deck, hidden slides counted
    page: int | None = None  # 1-based page of the PDF, when the source fixes it (slides)
    anchor: str | None = None  # worksheets: the cells it covers, "E2:M18"
    # Its frame: on a slide from the slide's top left corner; elsewhere only the size.
    x_mm: float | None = None
    y_mm: float | None = None
    width_mm: float | None = None
    height_mm: float | None = None
    slide_width_mm: float | None = None
    slide_height_mm: float | None = None
    # The size of the whole picture before cropping, when the frame shows only part of it.
    uncropped_width_mm: float | None = None
    uncropped_height_mm: float | None = None
    shown: bool = True  # False on a hidden sheet or slide, or outside a sheet's print area
    # The size comes from the cells it spans (default row height, the sheet's column
    # widths): an estimate, good to a few tens of per cent, not a picture's proportions.
    size_estimated: bool = False


def read_drawn(path: Path, fmt: str, cells: Mapping[str, object] | None = None
               ) -> tuple[Drawn, ...]:
    """Every chart, picture and SmartArt of an OOXML document, in document order. `cells`
    ("Sheet!A1" -> an object with `.value`, as SourceTruth keeps them) fills in a chart's
    labels when its part carries no cache (openpyxl writes none). Never raises."""
    try:
        check_zip(path)
        with zipfile.ZipFile(path) as archive:
            package = _Package(archive)
            main = package.main_part()
            if main is None:
                return ()
            if main.startswith("word/") or main.endswith("/document.xml"):
                objects = _word(package, main)
            elif main.endswith("workbook.xml"):
                objects = _workbook(package, main, cells or {})
            elif main.endswith("presentation.xml"):
                objects = _deck(package, main)
            else:
                return ()
            return tuple(_first(objects, MAX_OBJECTS))
    except Exception:  # noqa: BLE001 - a refused or malformed package: nothing is read
        return ()


def _first(items: Iterator[Drawn], limit: int) -> list[Drawn]:
    kept: list[Drawn] = []
    for item in items:
        kept.append(item)
        if len(kept) >= limit:
            break
    return kept


class _Package:
    """The parts of a zip read on demand, parsed once, relationships resolved."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.infos = {info.filename: info for info in archive.infolist()}
        self.parsed: dict[str, etree._Element | None] = {}

    def xml(self, name: str) -> etree._Element | None:
        if name not in self.parsed:
            self.parsed[name] = self._parse(name)
        return self.parsed[name]

    def _parse(self, name: str) -> etree._Element | None:
        info = self.infos.get(name)
        if info is None or info.file_size > MAX_PART_BYTES:
            return None
        try:
            return etree.fromstring(self.archive.read(info), parser=SAFE_XML)
        except Exception:  # noqa: BLE001 - lxml, zlib, CRC and size errors of a damaged part
            return None

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, target part) of an internal relationship."""
        folder, name = posixpath.split(part)
        root = self.xml(posixpath.join(folder, "_rels", f"{name}.rels"))
        found: dict[str, tuple[str, str]] = {}
        if root is None:
            return found
        for rel in root.iter(f"{{{_PKG_RELS}}}Relationship"):
            rid, target = rel.get("Id"), rel.get("Target") or ""
            if not rid or rel.get("TargetMode") == "External" or not target:
                continue
            if target.startswith("/"):
                resolved = posixpath.normpath(target.lstrip("/"))
            else:
                resolved = posixpath.normpath(posixpath.join(folder, target))
            found[rid] = (rel.get("Type") or "", resolved)
        return found

    def main_part(self) -> str | None:
        for kind, target in self.rels("").values():
            if kind.endswith("/officeDocument") and target in self.infos:
                return target
        for name in ("word/document.xml", "xl/workbook.xml", "ppt/presentation.xml"):
            if name in self.infos:
                return name
        return None


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _number(value: str | None, default: float = 0.0) -> float:
    try:
        number = float(value) if value is not None else default
    except ValueError:
        return default
    return number if number == number and abs(number) < 1e15 else default  # no NaN, inf


def _flag(element: etree._Element | None, default: bool = False) -> bool:
    """An OOXML boolean element (`<c:delete val="1"/>`): absent is the default, no val true."""
    if element is None:
        return default
    return (element.get("val") or "true").lower() in ("1", "true", "on")


def _paragraphs(root: etree._Element | None) -> str:
    """Text of DrawingML paragraphs under root, runs joined, paragraphs apart."""
    if root is None:
        return ""
    paragraphs = [" ".join("".join(t.text or "" for t in p.iter(_q(_A, "t"))).split())
                  for p in root.iter(_q(_A, "p"))]
    return " ".join(p for p in paragraphs if p)


# ---------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class _Chart:
    kind: str
    title: str
    texts: tuple[str, ...]
    points: int
    series: int
    value_labels: bool


_CELL_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!\$?([A-Z]{1,3})\$?(\d+)"
                       r"(?::\$?([A-Z]{1,3})\$?(\d+))?$")


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _general(value: object) -> str | None:
    """A cached value as the General number format prints it; None for what a format
    would change beyond recognition (a float with a format code is left out by callers)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if value != value or abs(value) >= 1e11:
            return None
        return str(int(value)) if float(value).is_integer() else f"{value:.10g}"
    if isinstance(value, str):
        return value.strip() or None
    return None


def _resolve(formula: str, cells: Mapping[str, object]) -> list[str]:
    """The values a chart reference ('Data'!$A$2:$A$5) points at, from the workbook."""
    match = _CELL_REF.match(formula.strip())
    if match is None or not cells:
        return []
    sheet = (match.group(1) or "").replace("''", "'") or match.group(2) or ""
    left, top = _column_number(match.group(3)), int(match.group(4))
    right = _column_number(match.group(5)) if match.group(5) else left
    bottom = int(match.group(6)) if match.group(6) else top
    if (right - left + 1) * (bottom - top + 1) > MAX_CELLS_RESOLVED:
        return []
    values = []
    for row in range(top, bottom + 1):
        for column in range(left, right + 1):
            cell = cells.get(f"{sheet}!{_column_letters(column)}{row}")
            text = _general(getattr(cell, "value", None)) if cell is not None else None
            if text is not None:
                values.append(text)
    return values


def _cache_values(source: etree._Element | None, cells: Mapping[str, object],
                  numeric_too: bool = True) -> list[str]:
    """Labels held by a c:tx, c:cat or c:xVal: its cache (string, number, multi-level,
    literal), else the cells its formula points at. Numbers are kept only as General
    prints them: a date or currency format would print something else."""
    if source is None:
        return []
    direct = source.find(_q(_C, "v"))
    if direct is not None and direct.text:
        return [direct.text.strip()]
    values: list[str] = []
    for cache in source.iter(_q(_C, "strCache"), _q(_C, "multiLvlStrCache"),
                             _q(_C, "strLit"), _q(_C, "numCache"), _q(_C, "numLit")):
        numeric = _local(cache).startswith("num")
        if numeric:
            code = cache.findtext(_q(_C, "formatCode")) or "General"
            if not numeric_too or code.strip() not in ("General", "0", ""):
                return []
        for point in cache.iter(_q(_C, "pt")):
            text = point.findtext(_q(_C, "v"))
            if text is None:
                continue
            text = _general(_number(text)) if numeric else text.strip()
            if text:
                values.append(text)
            if len(values) >= MAX_LABELS:
                return values
        return values
    formula = source.findtext(f".//{_q(_C, 'f')}")
    return _resolve(formula, cells)[:MAX_LABELS] if formula else []


def _point_count(values: etree._Element | None, cells: Mapping[str, object]) -> int:
    if values is None:
        return 0
    for cache in values.iter(_q(_C, "numCache"), _q(_C, "numLit"), _q(_C, "strCache")):
        declared = cache.find(_q(_C, "ptCount"))
        if declared is not None:
            return max(0, int(_number(declared.get("val"))))
        return sum(1 for _ in cache.iter(_q(_C, "pt")))
    formula = values.findtext(f".//{_q(_C, 'f')}")
    return len(_resolve(formula, cells)) if formula else 0


def _title(title: etree._Element | None) -> str:
    if title is None:
        return ""
    tx = title.find(_q(_C, "tx"))
    if tx is None:
        return ""
    rich = tx.find(_q(_C, "rich"))
    if rich is not None:
        return _paragraphs(rich)
    return " ".join(_cache_values(tx, {}))


def _chart(package: _Package, part: str, cells: Mapping[str, object]) -> _Chart | None:
    root = package.xml(part)
    chart = root.find(_q(_C, "chart")) if root is not None else None
    plot = chart.find(_q(_C, "plotArea")) if chart is not None else None
    if chart is None or plot is None:
        return None
    groups = [g for g in plot if _local(g) in _KINDS]
    kinds = []
    for group in groups:
        kind = _KINDS[_local(group)]
        direction = group.find(_q(_C, "barDir"))
        if _local(group).startswith("bar") and (direction is None
                                                 or direction.get("val") != "bar"):
            kind = kind.replace("bar", "column")
        if kind not in kinds:
            kinds.append(kind)
    title = "" if _flag(chart.find(_q(_C, "autoTitleDeleted"))) else _title(
        chart.find(_q(_C, "title")))
    legend = chart.find(_q(_C, "legend")) is not None
    category_axis_shown = any(not _flag(axis.find(_q(_C, "delete")))
                              for axis in plot if _local(axis) in ("catAx", "dateAx"))
    labels: list[str] = []
    points = series = 0
    for group in groups:
        pie = _local(group) in _NO_AXES
        scatter = _local(group) in ("scatterChart", "bubbleChart")
        shows_categories = ((legend or _labels_show(group, "showCatName")) if pie
                            else category_axis_shown and not scatter)
        shows_series = (legend and not pie) or _labels_show(group, "showSerName")
        for ser in group.iter(_q(_C, "ser")):
            series += 1
            if shows_series:
                labels += _cache_values(ser.find(_q(_C, "tx")), cells)
            if shows_categories:
                labels += _cache_values(ser.find(_q(_C, "cat")), cells,
                                        numeric_too=not plot.findall(_q(_C, "dateAx")))
            values = ser.find(_q(_C, "val"))
            points += _point_count(values if values is not None else ser.find(_q(_C, "yVal")),
                                   cells)
    for axis in plot:
        if _local(axis) in _AXES and not _flag(axis.find(_q(_C, "delete"))):
            if axis_title := _title(axis.find(_q(_C, "title"))):
                labels.append(axis_title)
    unique = list(dict.fromkeys(label for label in labels if label))[:MAX_LABELS]
    values_shown = any(_labels_show(group, flag) for group in groups
                       for flag in ("showVal", "showPercent"))
    return _Chart(" and ".join(kinds) or "unknown", title, tuple(unique), points, series,
                  values_shown)


def _labels_show(group: etree._Element, flag: str) -> bool:
    """Data labels that print a category or series name, on the group or any series."""
    return any(_flag(labels.find(_q(_C, flag))) for labels in group.iter(_q(_C, "dLbls")))


def _chart_drawn(chart: _Chart, number: int, where: str, **placed) -> Drawn:
    titled = f' "{_short(chart.title)}"' if chart.title else ""
    return Drawn("charts", f"chart {number}{titled} ({chart.kind} chart){where}",
                 chart.kind, chart.title, chart.texts, chart.points, chart.series,
                 chart.value_labels, **placed)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _smartart_texts(package: _Package, part: str) -> tuple[str, ...]:
    """The text of a SmartArt's nodes (its data model), each node's text once."""
    root = package.xml(part)
    if root is None:
        return ()
    texts = []
    for point in root.iter(_q(_DGM, "pt")):
        if (point.get("type") or "node") not in ("node", "asst"):
            continue
        if text := _paragraphs(point.find(_q(_DGM, "t"))):
            texts.append(text)
    return tuple(dict.fromkeys(texts))[:MAX_LABELS]


class _Counter:
    """Numbers each kind of object in document order: 'chart 2', 'picture 5'."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def next(self, feature: str) -> int:
        self.seen[feature] = self.seen.get(feature, 0) + 1
        return self.seen[feature]


def _picture_drawn(number: int, target: str | None, where: str, **placed) -> Drawn:
    extension = posixpath.splitext(target or "")[1].lower().lstrip(".")
    name = f" {posixpath.basename(target)}" if target else " (linked)"
    return Drawn("images", f"picture {number}{name}{where}", "picture",
                 raster=extension in RASTER_EXTENSIONS or not target, **placed)


def _crop(blip_fill: etree._Element | None, width: float | None, height: float | None
          ) -> dict[str, float]:
    """The whole picture's size when a:srcRect crops it (a PDF may place it whole, clipped)."""
    crop = blip_fill.find(_q(_A, "srcRect")) if blip_fill is not None else None
    if crop is None or not width or not height:
        return {}
    horizontal = 1 - (_number(crop.get("l")) + _number(crop.get("r"))) / 100_000
    vertical = 1 - (_number(crop.get("t")) + _number(crop.get("b"))) / 100_000
    if not (0.05 < horizontal <= 2 and 0.05 < vertical <= 2) or (horizontal, vertical) == (1, 1):
        return {}
    return {"uncropped_width_mm": width / horizontal, "uncropped_height_mm": height / vertical}


def _embedded(element: etree._Element, rels: dict[str, tuple[str, str]], attribute: str
              ) -> str | None:
    rid = element.get(_q(_R, attribute))
    return rels[rid][1] if rid and rid in rels else None


def _graphic_objects(package: _Package, container: etree._Element,
                     rels: dict[str, tuple[str, str]], cells: Mapping[str, object],
                     counter: _Counter, where: str, placed: dict) -> Iterator[Drawn]:
    """The charts, pictures and SmartArt inside one anchored or inline drawing, in order.
    Markup-compatibility fallbacks are skipped: they repeat the choice they stand for."""
    for element in (container, *_iter_choices(container)):
        name = _local(element)
        if name == "chart" and element.tag == _q(_C, "chart"):
            target = _embedded(element, rels, "id")
            chart = _chart(package, target, cells) if target else None
            if chart is not None:
                yield _chart_drawn(chart, counter.next("charts"), where, **placed)
        elif name == "relIds" and element.tag == _q(_DGM, "relIds"):
            target = _embedded(element, rels, "dm")
            texts = _smartart_texts(package, target) if target else ()
            number = counter.next("smartart")
            yield Drawn("smartart", f"SmartArt {number}{where}", "smartart", texts=texts,
                        **placed)
        elif name == "pic":
            blip = element.find(f".//{_q(_A, 'blip')}")
            if blip is None:
                continue
            target = _embedded(blip, rels, "embed")
            linked = target is None and blip.get(_q(_R, "link"))
            if target is None and not linked:
                continue
            crop = _crop(blip.getparent(), placed.get("width_mm"), placed.get("height_mm"))
            yield _picture_drawn(counter.next("images"), target, where, **placed, **crop)


def _iter_choices(root: etree._Element) -> Iterator[etree._Element]:
    """Descendants of root in document order, mc:Fallback branches left out."""
    stack = [iter(root)]
    while stack:
        element = next(stack[-1], None)
        if element is None:
            stack.pop()
            continue
        if not isinstance(element.tag, str) or element.tag == _q(_MC, "Fallback"):
            continue
        yield element
        if len(stack) < 64:
            stack.append(iter(element))


# ----------------------------------------------------------------------------- Word


def _word(package: _Package, main: str) -> Iterator[Drawn]:
    """Body drawings in order: inline and floating charts, pictures, SmartArt, and VML
    pictures (w:pict). Their page is the layout's to decide, so only their size is known."""
    root = package.xml(main)
    body = root.find(_q(_W, "body")) if root is not None else None
    if body is None:
        return
    rels = package.rels(main)
    counter = _Counter()
    for element in _iter_choices(body):
        if element.tag == _q(_W, "drawing"):
            extent = element.find(f".//{_q(_WP, 'extent')}")
            placed = {}
            if extent is not None:
                placed = {"width_mm": _number(extent.get("cx")) / EMU_PER_MM,
                          "height_mm": _number(extent.get("cy")) / EMU_PER_MM}
            yield from _graphic_objects(package, element, rels, {}, counter, "", placed)
        elif element.tag == _q(_V, "imagedata") and not _in_object(element):
            target = _embedded(element, rels, "id")
            if target is not None:
                yield _picture_drawn(counter.next("images"), target, "")


def _in_object(element: etree._Element) -> bool:
    """A VML image inside w:object is an embedded object's preview, not a picture."""
    node = element.getparent()
    while node is not None:
        if node.tag == _q(_W, "object"):
            return True
        if node.tag == _q(_W, "pict"):
            return False
        node = node.getparent()
    return False


# -------------------------------------------------------------------------- workbooks


def _cell_index(anchor: etree._Element, which: str) -> tuple[int, int] | None:
    cell = anchor.find(_q(_XDR, which))
    if cell is None:
        return None
    return (int(_number(cell.findtext(_q(_XDR, "col")))),
            int(_number(cell.findtext(_q(_XDR, "row")))))


def _anchor_range(anchor: etree._Element) -> tuple[str | None, tuple[int, int, int, int] | None]:
    """'E2:M18' and (first column, first row, last column, last row), 1-based."""
    start = _cell_index(anchor, "from")
    if start is None:
        return None, None
    end = _cell_index(anchor, "to") or start
    box = (start[0] + 1, start[1] + 1, end[0] + 1, end[1] + 1)
    text = f"{_column_letters(box[0])}{box[1]}"
    if box[2:] != box[:2]:
        text += f":{_column_letters(box[2])}{box[3]}"
    return text, box


@dataclass(frozen=True)
class _Grid:
    """A sheet's column widths and default row height in mm, to size what cells anchor."""

    widths_mm: dict[int, float]  # 1-based column -> width, where the sheet sets one
    default_width_mm: float = 64 * 25.4 / 96  # Excel's 8.43 characters of Calibri 11
    row_height_mm: float = 15 * 25.4 / 72

    def span(self, first: int, last: int) -> float:
        return sum(self.widths_mm.get(c, self.default_width_mm)
                   for c in range(first, min(last, first + 500)))


def _character_width_mm(characters: float) -> float:
    """Excel's column width (characters of the default font, 7 px wide) in mm at 96 dpi."""
    pixels = int(((256 * characters + int(128 / 7)) / 256) * 7)
    return max(0.0, pixels) * 25.4 / 96


_HEAD_BYTES = 1024 * 1024
_FORMAT = re.compile(rb"<(?:\w+:)?sheetFormatPr\b[^>]*>")
_COLS = re.compile(rb"<(?:\w+:)?cols\b.*?</(?:\w+:)?cols>", re.S)


def _sheet_grid(package: _Package, part: str) -> _Grid:
    """Column widths and the default row height, read from the head of the sheet (they
    come before its cells), without parsing the cells."""
    info = package.infos.get(part)
    head = b""
    if info is not None:
        try:
            with package.archive.open(info) as stream:
                head = stream.read(_HEAD_BYTES)
        except Exception:  # noqa: BLE001 - a damaged member: the defaults stand
            head = b""
        head = head.split(b"<sheetData", 1)[0].split(b":sheetData", 1)[0]
    widths: dict[int, float] = {}
    default_width = _Grid({}).default_width_mm
    row_height = _Grid({}).row_height_mm
    if found := _FORMAT.search(head):
        attributes = dict(re.findall(rb'(\w+)="([^"]*)"', found.group()))
        if b"defaultColWidth" in attributes:
            default_width = _character_width_mm(_number(attributes[b"defaultColWidth"].decode()))
        elif b"baseColWidth" in attributes:  # 8 characters make Excel's 64 px column
            default_width = _number(attributes[b"baseColWidth"].decode(), 8.0) * 8 * 25.4 / 96
        if b"defaultRowHeight" in attributes:
            row_height = _number(attributes[b"defaultRowHeight"].decode(), 15.0) * 25.4 / 72
    if found := _COLS.search(head):
        for column in re.finditer(rb"<(?:\w+:)?col\b[^>]*>", found.group()):
            attributes = dict(re.findall(rb'(\w+)="([^"]*)"', column.group()))
            first = int(_number(attributes.get(b"min", b"0").decode()))
            last = min(int(_number(attributes.get(b"max", b"0").decode())), first + 16_384)
            hidden = attributes.get(b"hidden", b"0") in (b"1", b"true")
            width = 0.0 if hidden else _character_width_mm(
                _number(attributes.get(b"width", b"0").decode()))
            for index in range(max(first, 1), min(last, 16_384) + 1):
                widths[index] = width
            if len(widths) >= 16_384:
                break  # every column is known: a hostile header repeating ranges costs no more
    return _Grid(widths, default_width, row_height)


def _anchor_size(anchor: etree._Element, grid: _Grid) -> tuple[float, float] | None:
    """A two-cell anchor's size from the columns and rows it spans, in mm."""
    start, end = anchor.find(_q(_XDR, "from")), anchor.find(_q(_XDR, "to"))
    if start is None or end is None:
        return None

    def read(cell: etree._Element, name: str) -> float:
        return _number(cell.findtext(_q(_XDR, name)))

    first, last = int(read(start, "col")) + 1, int(read(end, "col")) + 1
    width = (grid.span(first, last) + (read(end, "colOff") - read(start, "colOff"))
             / EMU_PER_MM)
    height = ((read(end, "row") - read(start, "row")) * grid.row_height_mm
              + (read(end, "rowOff") - read(start, "rowOff")) / EMU_PER_MM)
    return (width, height) if width > 0 and height > 0 else None


def _print_areas(workbook: etree._Element) -> dict[int, list[tuple[int, int, int, int]]]:
    """Sheet index -> its print area's ranges (1-based column, row, column, row)."""
    areas: dict[int, list[tuple[int, int, int, int]]] = {}
    for name in workbook.iter(_q(_S, "definedName")):
        if name.get("name") != "_xlnm.Print_Area" or name.get("localSheetId") is None:
            continue
        index = int(_number(name.get("localSheetId"), -1))
        for part in (name.text or "").split(","):
            match = _CELL_REF.match(part.strip())
            if match is None:
                continue
            left, top = _column_number(match.group(3)), int(match.group(4))
            right = _column_number(match.group(5)) if match.group(5) else left
            bottom = int(match.group(6)) if match.group(6) else top
            areas.setdefault(index, []).append((left, top, right, bottom))
    return areas


def _workbook(package: _Package, main: str, cells: Mapping[str, object]) -> Iterator[Drawn]:
    """Each sheet's drawing, sheets in order: what is anchored where. A chart sheet's chart
    fills its page. Objects on hidden sheets, or outside a sheet's print area, are kept with
    `shown=False`: a faithful rendering does not print them."""
    workbook = package.xml(main)
    if workbook is None:
        return
    rels = package.rels(main)
    areas = _print_areas(workbook)
    counter = _Counter()
    sheets = workbook.find(_q(_S, "sheets"))
    for index, sheet in enumerate(sheets if sheets is not None else ()):
        if sheet.tag != _q(_S, "sheet"):
            continue
        name = sheet.get("name") or f"sheet {index + 1}"
        hidden = (sheet.get("state") or "visible") != "visible"
        target = _embedded(sheet, rels, "id")
        if target is None:
            continue
        grid = None
        for kind, drawing in package.rels(target).values():
            if not kind.endswith("/drawing"):
                continue
            root = package.xml(drawing)
            if root is None:
                continue
            drawing_rels = package.rels(drawing)
            for anchor in root:
                if _local(anchor) not in ("twoCellAnchor", "oneCellAnchor", "absoluteAnchor"):
                    continue
                cells_text, box = _anchor_range(anchor)
                placed: dict = {"sheet": name, "anchor": cells_text,
                                "shown": not hidden and _in_print_area(box, areas.get(index))}
                extent = anchor.find(_q(_XDR, "ext"))
                drawn_extent = anchor.find(f"./*/{_q(_XDR, 'spPr')}/{_q(_A, 'xfrm')}/"
                                           f"{_q(_A, 'ext')}")
                for size in (extent, drawn_extent):  # the anchor's, else the picture's own
                    if size is not None and _number(size.get("cx")) > 0 < _number(
                            size.get("cy")):
                        placed["width_mm"] = _number(size.get("cx")) / EMU_PER_MM
                        placed["height_mm"] = _number(size.get("cy")) / EMU_PER_MM
                        break
                else:
                    grid = grid or _sheet_grid(package, target)
                    if estimate := _anchor_size(anchor, grid):
                        placed.update(width_mm=estimate[0], height_mm=estimate[1],
                                      size_estimated=True)
                where = f' on sheet "{_short(name, 40)}"'
                yield from _graphic_objects(package, anchor, drawing_rels, cells, counter,
                                            where, placed)
                yield from _sheet_shapes(anchor, counter, where, placed)


def _in_print_area(box: tuple[int, int, int, int] | None,
                   ranges: list[tuple[int, int, int, int]] | None) -> bool:
    if not ranges or box is None:
        return True
    return any(box[0] <= r[2] and r[0] <= box[2] and box[1] <= r[3] and r[1] <= box[3]
               for r in ranges)


def _sheet_shapes(anchor: etree._Element, counter: _Counter, where: str, placed: dict
                  ) -> Iterator[Drawn]:
    """Shapes on a worksheet that hold text (text boxes, callouts): nothing else reads
    their text, and a suite that drops the shape drops the text."""
    for shape in anchor.iter(_q(_XDR, "sp")):
        text = _paragraphs(shape.find(_q(_XDR, "txBody")))
        if text:
            number = counter.next("text-boxes")
            yield Drawn("text-boxes", f"shape {number} with text{where}", "shape",
                        texts=(text,), **placed)


# ------------------------------------------------------------------------------ decks


@dataclass(frozen=True)
class _Frame:
    """A group's mapping from its children's coordinates to the slide's (EMU)."""

    x: float = 0.0
    y: float = 0.0
    scale_x: float = 1.0
    scale_y: float = 1.0
    child_x: float = 0.0
    child_y: float = 0.0

    def place(self, x: float, y: float, width: float, height: float
              ) -> tuple[float, float, float, float]:
        return (self.x + (x - self.child_x) * self.scale_x,
                self.y + (y - self.child_y) * self.scale_y,
                width * self.scale_x, height * self.scale_y)


def _xfrm(shape: etree._Element) -> etree._Element | None:
    for properties in (_q(_P, "spPr"), _q(_P, "grpSpPr"), _q(_P, "nvGraphicFramePr")):
        found = shape.find(properties)
        if found is not None and (transform := found.find(_q(_A, "xfrm"))) is not None:
            return transform
    return shape.find(_q(_P, "xfrm"))


def _box(transform: etree._Element | None) -> tuple[float, float, float, float] | None:
    if transform is None:
        return None
    offset, extent = transform.find(_q(_A, "off")), transform.find(_q(_A, "ext"))
    if offset is None or extent is None:
        return None
    return (_number(offset.get("x")), _number(offset.get("y")),
            _number(extent.get("cx")), _number(extent.get("cy")))


def _group_frame(group: etree._Element, outer: _Frame) -> _Frame:
    transform = _xfrm(group)
    box = _box(transform)
    child_offset = transform.find(_q(_A, "chOff")) if transform is not None else None
    child_extent = transform.find(_q(_A, "chExt")) if transform is not None else None
    if box is None or child_offset is None or child_extent is None:
        return outer
    x, y, width, height = outer.place(*box)
    child_width, child_height = (_number(child_extent.get("cx")),
                                 _number(child_extent.get("cy")))
    return _Frame(x, y, width / child_width if child_width else outer.scale_x,
                  height / child_height if child_height else outer.scale_y,
                  _number(child_offset.get("x")), _number(child_offset.get("y")))


def _slide_shapes(tree: etree._Element, frame: _Frame, depth: int = 0
                  ) -> Iterator[tuple[etree._Element, _Frame]]:
    """Shapes of a slide's tree with the frame that places them, groups opened,
    markup-compatibility choices taken (their fallbacks repeat them)."""
    for shape in tree:
        name = _local(shape)
        if name == "grpSp" and depth < 32:
            yield from _slide_shapes(shape, _group_frame(shape, frame), depth + 1)
        elif name == "AlternateContent" and depth < 32:
            choice = shape.find(_q(_MC, "Choice"))
            chosen = choice if choice is not None else shape.find(_q(_MC, "Fallback"))
            if chosen is not None:
                yield from _slide_shapes(chosen, frame, depth + 1)
        elif name in ("pic", "graphicFrame"):
            yield shape, frame


def _deck(package: _Package, main: str) -> Iterator[Drawn]:
    """Each slide's charts, pictures and SmartArt with its frame in millimetres and the
    page it belongs on (hidden slides are not exported, so pages count visible slides)."""
    presentation = package.xml(main)
    if presentation is None:
        return
    size = presentation.find(_q(_P, "sldSz"))
    slide_mm = ((_number(size.get("cx"), 9_144_000) / EMU_PER_MM,
                 _number(size.get("cy"), 6_858_000) / EMU_PER_MM) if size is not None
                else (254.0, 190.5))
    rels = package.rels(main)
    counter = _Counter()
    slides = presentation.find(_q(_P, "sldIdLst"))
    number = hidden = 0
    for entry in slides if slides is not None else ():
        target = _embedded(entry, rels, "id")
        slide = package.xml(target) if target else None
        if slide is None:
            continue
        number += 1
        shown = (slide.get("show") or "1").lower() not in ("0", "false")
        hidden += not shown
        tree = slide.find(f"{_q(_P, 'cSld')}/{_q(_P, 'spTree')}")
        if tree is None:
            continue
        slide_rels = package.rels(target)
        where = f" on slide {number}"
        for shape, frame in _slide_shapes(tree, _Frame()):
            box = _box(_xfrm(shape))
            placed: dict = {"slide": number, "page": number - hidden if shown else None,
                            "shown": shown, "slide_width_mm": slide_mm[0],
                            "slide_height_mm": slide_mm[1]}
            if box is not None:
                x, y, width, height = frame.place(*box)
                placed.update(x_mm=x / EMU_PER_MM, y_mm=y / EMU_PER_MM,
                              width_mm=width / EMU_PER_MM, height_mm=height / EMU_PER_MM)
            yield from _graphic_objects(package, shape, slide_rels, {}, counter, where,
                                        placed)


__all__ = ["Drawn", "read_drawn"]
