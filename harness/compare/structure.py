"""Structural checks: each fact of the source looked for where it belongs. For `show`, in
the suite's PDF (text layer, page, image objects); for a save, in the saved file re-read with
the same readers. Every check carries the feature tag it exercises, so results can be cut by
feature."""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cached_property

from harness.compare.rendering import Rendering
from harness.compare.text import tokens
from harness.truth import Cell, Expectation, SourceTruth

SAMPLE = 5  # mismatches named per aggregated check
# What shows of these depends on the markup view (Word prints comments and struck-through
# deletions by default, "Print Markup"); a save must keep them, a page may show them.
VIEW_DEPENDENT = {"comments", "tracked-changes"}


@dataclass(frozen=True)
class Check:
    feature: str
    label: str
    score: float  # 1 passed; an aggregated check (cells of a workbook) the share that passed
    expected: str | int | None = None
    found: str | int | None = None

    @property
    def passed(self) -> bool:
        return self.score >= 1.0

    def to_json(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def passed_share(checks: list[Check]) -> float | None:
    return round(sum(c.score for c in checks) / len(checks), 4) if checks else None


def _covered(want: Counter[str], have: Counter[str]) -> bool:
    """All of it there, but one in twenty of a long text: a superscript glued to its word
    in one file ('subpopulations3') is apart in the other."""
    missing = sum(max(0, n - have[t]) for t, n in want.items())
    return bool(want) and missing <= sum(want.values()) // 20


def _present(text: str, have: Counter[str]) -> bool:
    return _covered(Counter(tokens(text)), have)


def characters(text: str) -> Counter[str]:
    return Counter("".join(tokens(text)))


def _found(e: Expectation, words: Counter[str], chars: Counter[str]) -> bool:
    if e.by_characters:
        return any(_covered(characters(t), chars) for t in e.texts)
    return any(_present(t, words) for t in e.texts)


def _checkable(e: Expectation) -> bool:
    """Text with no word in it ('- -') can be neither found nor missed."""
    return any(tokens(t) for t in e.texts)


def _printed(text: str, flow: str) -> bool:
    """The text's words appear one after another in the rendered word flow."""
    words = tokens(text)
    return len(words) >= 2 and f" {' '.join(words)} " in flow


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _cell_of(e: Expectation) -> str | None:
    """The workbook cell whose value an expectation is, as harness.truth.xlsx labels them:
    'value of Sheet!B4', and a merged range's text, 'merged Sheet!B4:D4', from its first
    cell."""
    if e.feature == "formulas" and e.label.startswith("value of "):
        return e.label.removeprefix("value of ")
    if e.feature == "merged-cells" and e.label.startswith("merged "):
        return e.label.removeprefix("merged ").partition(":")[0]
    return None


def show_checks(truth: SourceTruth, rendering: Rendering, rendered_text: str) -> list[Check]:
    """What a user opening the document must see, and must not."""
    everywhere = Counter(tokens(rendered_text))
    chars = characters(rendered_text)
    flow = f" {' '.join(tokens(rendered_text))} "
    per_page = [Counter(w.text for w in p.words) for p in rendering.pages]
    # Values drawn anew on every open, in Excel too, are no fact to look for.
    volatile = volatile_cells(truth.cells, truth.defined_names)
    checks = []
    for e in truth.shown:
        if e.where == "file" or not _checkable(e) or _cell_of(e) in volatile:
            continue
        if e.page is not None:
            have = per_page[e.page - 1] if e.page <= len(per_page) else Counter()
            where = f"page {e.page}"
        else:
            have, where = everywhere, "the PDF"
        ok = _found(e, have, chars)
        checks.append(Check(e.feature, f"{e.label}: shown on {where}", float(ok),
                            _short(e.texts[-1]), "found" if ok else "not found"))
    shown_words = Counter(t for e in truth.shown for x in e.texts[:1] for t in tokens(x))
    for e in truth.hidden:
        if e.feature in VIEW_DEPENDENT:
            continue
        text = e.texts[0]
        if _present(text, shown_words) or len(tokens(text)) < 2:
            continue  # words that also belong on the page prove nothing either way
        leaked = _printed(text, flow)
        checks.append(Check(e.feature, f"{e.label}: kept off the page", float(not leaked),
                            _short(text), "printed" if leaked else "not printed"))
    images = int(truth.facts.get("raster_images", 0) or 0)
    if images:  # vector pictures (EMF, WMF) may be drawn as paths: only bitmaps are counted
        placed = sum(p.images for p in rendering.pages)
        checks.append(Check("images", "bitmap pictures placed", float(placed >= images),
                            images, placed))
    return checks


# Counts a save must keep, and the feature each exercises. A save may add pictures and
# charts (a background or a bullet becomes a picture) but must not lose any.
AT_LEAST = {"images", "raster_images", "charts"}
COUNTS = {"tables": "table", "images": "images", "footnotes": "footnotes",
          "endnotes": "endnotes", "sections": "sections", "comments": "comments",
          "slides": "slides", "headings": "headings",
          "list_items": "lists", "fields": "fields", "charts": "charts",
          "hidden_slides": "hidden-slides", "notes": "notes", "sheets": "multiple-sheets",
          "visible_sheets": "hidden-sheets", "merged_ranges": "merged-cells",
          "formulas": "formulas"}


def save_checks(source: SourceTruth, saved: SourceTruth) -> list[Check]:
    """What a recipient of the saved file still has."""
    checks = []
    by_cell = bool(source.cells and saved.cells)
    for key, feature in COUNTS.items():
        if by_cell and key in ("formulas", "merged_ranges", "sheets"):
            continue  # compared cell by cell and name by name below
        if key in source.facts and key in saved.facts and source.facts[key]:
            want, got = source.facts[key], saved.facts[key]
            kept = got >= want if key in AT_LEAST else want == got
            checks.append(Check(feature, f"{key.replace('_', ' ')} kept", float(kept), want,
                                got))
    everything = " ".join(saved.text_blocks + tuple(
        t for e in saved.shown + saved.hidden for t in e.texts[:1]))
    kept, kept_chars = Counter(tokens(everything)), characters(everything)
    for e in source.shown + source.hidden:
        if e.feature == "formulas" or e.where == "page" or not _checkable(e):
            continue  # formula values are compared cell by cell below
        ok = _found(e, kept, kept_chars)
        checks.append(Check(e.feature, f"{e.label}: kept", float(ok), _short(e.texts[-1]),
                            "found" if ok else "not found"))
    if by_cell:
        checks += cell_checks(source, saved)
    return checks


def same_value(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if hasattr(a, "isoformat") and hasattr(b, "isoformat"):
        return str(a)[:19] == str(b)[:19]
    return str(a).strip() == str(b).strip()


def normalise_formula(formula: str) -> str:
    """Spellings that mean the same formula: prefixes of newer functions, absolute
    references, blanks, quoted sheet names, TRUE() for TRUE."""
    text = re.sub(r"_xlfn\.|_xlws\.|\$|\s", "", formula.lstrip("=")).upper()
    text = re.sub(r"\b(TRUE|FALSE)\(\)", r"\1", text)
    return re.sub(r"'([^'!]+)'!", r"\1!", text)


def normalise_number_format(number_format: str) -> str:
    """'"$"#,##0.00' and '\\$#,##0.00' are one format: quoting and escapes removed."""
    return re.sub(r'\\(.)', r"\1", number_format).replace('"', "").casefold()


# Excel's volatile functions are recalculated on every open. Those in CHANGING give another
# value on another day, run or machine (CELL("filename"), INFO("directory")): their cached
# value is no fact to expect. OFFSET and INDIRECT are volatile but deterministic: recomputed
# right, they give the cached value again, so they stay checked unless they may read a
# changing cell (see volatile_cells).
CHANGING = frozenset({"NOW", "TODAY", "RAND", "RANDBETWEEN", "RANDARRAY", "CELL", "INFO"})
DYNAMIC_REFERENCES = frozenset({"OFFSET", "INDIRECT"})
_CHANGING_CALL = re.compile(rf"\b({'|'.join(sorted(CHANGING))})\(", re.I)
MAX_COLUMN, MAX_ROW = 16384, 1048576


@dataclass(frozen=True)
class Area:
    """A rectangle of one sheet that a formula reads: 1-based, bounds included."""

    sheet: str
    top: int
    left: int
    bottom: int
    right: int


@dataclass(frozen=True)
class FormulaInputs:
    """What a formula reads, as far as its text says."""

    areas: tuple[Area, ...]
    changing: bool  # calls a CHANGING function
    # Reads something its text does not place: a defined name, a table's column, the
    # target of OFFSET or INDIRECT.
    unplaced: bool


_NAME = r"""[^\s"'!:,;()\[\]{}+\-*/^&=<>%@#$]"""  # what a name's letters may be
# An unquoted sheet name: Excel quotes any other. Starting with a letter, it never makes the
# search scan a run of digits or signs again from each of its characters.
_SHEET_NAME = r"[^\W\d][\w.]*"


def _prefix(quoted: str, bare: str) -> str:
    """A sheet prefix, 'Sheet name'! or Sheet1:Sheet3!, its two spellings in named groups."""
    return (rf"(?:'(?P<{quoted}>(?:[^']|'')*)'"
            rf"|(?P<{bare}>{_SHEET_NAME}(?::{_SHEET_NAME})?))!")


# One token of a formula at a time; what matches none of them (operators, blanks,
# separators) is skipped by the search.
_TOKEN = re.compile(
    r'"(?:[^"]|"")*"?'  # a string: nothing read
    r"|\#[A-Za-z0-9_/]*[!?]?"  # #REF!, #N/A, and A1#'s spill mark
    rf"|(?:{_prefix('quoted', 'sheet')})?"  # a reference: A1, $A$1:B5, A:C, 3:7
    r"(?:\$?(?P<c1>[A-Za-z]{1,3})\$?(?P<r1>\d{1,7})"
    r"(?::\$?(?P<c2>[A-Za-z]{1,3})\$?(?P<r2>\d{1,7}))?"
    r"|\$?(?P<cc1>[A-Za-z]{1,3}):\$?(?P<cc2>[A-Za-z]{1,3})"
    r"|\$?(?P<rr1>\d{1,7}):\$?(?P<rr2>\d{1,7}))"
    r"(?![\w.(\[!])"  # LOG10( is a call, ABCD1 a name
    rf"|{_prefix('quoted_owner', 'owner')}"  # Sheet!Name: a sheet's own name
    r"|'(?:[^']|'')*'?"  # quoted text that names no sheet
    r"|\[(?P<book>\d+)\]"  # [1]Sheet!A1: another workbook
    r"|\["  # [@Column]: a table's, without its table's name
    r"|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+"  # a number
    rf"|(?P<word>(?:[^\W\d]|\\){_NAME}*)(?P<after>[(\[])?")  # a function, a name, a table
_PREFIXES = re.compile(r"^(?:_xlfn\.|_xlws\.)+", re.I)


def _column(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _area(m: re.Match[str]) -> tuple[int, int, int, int] | None:
    """A reference token as (top, left, bottom, right); None past Excel's grid (XFE1)."""
    if m["c1"]:
        left, top = _column(m["c1"]), int(m["r1"])
        right, bottom = (_column(m["c2"]), int(m["r2"])) if m["c2"] else (left, top)
    elif m["cc1"]:
        top, left, bottom, right = 1, _column(m["cc1"]), MAX_ROW, _column(m["cc2"])
    else:
        top, left, bottom, right = int(m["rr1"]), 1, int(m["rr2"]), MAX_COLUMN
    top, bottom = min(top, bottom), max(top, bottom)
    left, right = min(left, right), max(left, right)
    if top < 1 or left < 1 or bottom > MAX_ROW or right > MAX_COLUMN:
        return None
    return top, left, bottom, right


def _past_brackets(text: str, at: int) -> int:
    """Past the balanced [...] opened at `at` (a table reference nests them)."""
    depth = 0
    for i in range(at, len(text)):
        depth += {"[": 1, "]": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return len(text)


@dataclass(frozen=True)
class Scope:
    """The workbook a formula is read in: its sheets in order, and what its defined names
    and tables refer to (SourceTruth.defined_names)."""

    sheets: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)

    @cached_property
    def _folded_sheets(self) -> list[str]:  # Excel's sheet and defined names ignore case
        return [s.casefold() for s in self.sheets]

    @cached_property
    def _folded_names(self) -> dict[str, str]:
        return {k.casefold(): v for k, v in self.names.items()}

    @cached_property
    def _named(self) -> dict[str, list[str]]:
        return {}

    def sheets_named(self, prefix: str) -> list[str]:
        """The sheets 'Sheet' or 'First:Last' names, in workbook order; [] when we hold
        none of them: a sheet without stored cells holds no formula."""
        if prefix not in self._named:
            ends = [part.casefold() for part in prefix.split(":", 1)]
            places = [self._folded_sheets.index(e) for e in ends if e in self._folded_sheets]
            self._named[prefix] = (list(self.sheets[min(places):max(places) + 1])
                                   if len(places) == len(ends) else [])
        return self._named[prefix]

    @cached_property
    def _read(self) -> dict[tuple[str, str], FormulaInputs | None]:
        return {}

    def reads(self, name: str, sheet: str, depth: int) -> FormulaInputs | None:
        """What a defined name or table reads, on a sheet (its own name first, then the
        workbook's); None for a name it does not define. Each name is read once: a name
        defined through others, each used many times, costs no more than its text."""
        folded = f"{sheet}!{name}".casefold()
        key = (folded if folded in self._folded_names else name.casefold(), sheet)
        if key not in self._read:
            meaning = self._folded_names.get(key[0])
            if meaning is None or depth >= MAX_NAME_DEPTH:  # deeper, or circular
                return None
            self._read[key] = None  # while it is read: a name defined through itself
            self._read[key] = formula_inputs(meaning, sheet, self, depth + 1)
        return self._read[key]


MAX_NAME_DEPTH = 64  # names defined through names; deeper is not followed


def formula_inputs(formula: str, sheet: str, scope: Scope | None = None,
                   depth: int = 0) -> FormulaInputs:
    """The areas a formula reads (A1, $A$1, A1:B5, A:A, 1:3, Sheet!A1, 'Sheet name'!A1:B2,
    First:Last!A1, a defined name, a table), from its text and its workbook's names. Never
    raises: what it cannot place marks the formula `unplaced`. Other workbooks' cells
    ([1]Sheet!A1) are cached in this one, not recalculated, and are left out."""
    scope = scope if scope is not None else Scope()
    areas: list[Area] = []
    changing = unplaced = False

    def follow(name: str, on: str) -> bool:
        """Reads what a defined name or a table refers to; False if it is none we know."""
        nonlocal changing, unplaced
        inner = scope.reads(name, on, depth) if scope.names else None
        if inner is None:
            return False
        areas.extend(inner.areas)
        changing, unplaced = changing or inner.changing, unplaced or inner.unplaced
        return True

    text, i, owner = formula, 0, sheet  # owner: the sheet a name is looked up on
    while m := _TOKEN.search(text, i):
        i, on, owner = m.end(), owner, sheet
        if m["c1"] or m["cc1"] or m["rr1"]:
            prefix = m["quoted"].replace("''", "'") if m["quoted"] is not None else m["sheet"]
            if prefix is not None and prefix.startswith("["):
                continue  # '[1]Other sheet'!A1
            area = _area(m)
            if area is None:  # XFE1, A0: no cell, so a name if anything
                unplaced = not (prefix is None and follow(m.group(), sheet)) or unplaced
            else:
                areas += [Area(name, *area)
                          for name in (scope.sheets_named(prefix) if prefix else [sheet])]
        elif m["owner"] or m["quoted_owner"] is not None:
            named = m["owner"] or m["quoted_owner"].replace("''", "'")
            owner = next(iter(scope.sheets_named(named)), sheet)
        elif m["book"]:
            after = _TOKEN.match(text, i)  # the other workbook's sheet and cell: skipped
            if after and (after["sheet"] or after["quoted"] is not None or after["owner"]):
                i = after.end()
        elif m.group() == "[":
            unplaced, i = True, _past_brackets(text, m.start())
        elif word := m["word"]:
            name = _PREFIXES.sub("", word).upper()
            if m["after"] == "(":  # a function, or a LAMBDA given a name
                changing = changing or name in CHANGING
                unplaced = unplaced or name in DYNAMIC_REFERENCES
                if name not in CHANGING and name not in DYNAMIC_REFERENCES:
                    follow(word, on)
            elif m["after"] == "[":  # Table1[Column]: read as the whole table
                unplaced = not follow(word, on) or unplaced
                i = _past_brackets(text, m.end() - 1)
            elif name not in ("TRUE", "FALSE") and not name.startswith("_XLPM."):
                unplaced = not follow(word, on) or unplaced  # LET's own names are _xlpm.
    return FormulaInputs(tuple(areas), changing, unplaced)


def _place(key: str) -> tuple[str, int, int] | None:
    """'Sheet!B12' -> ('Sheet', 12, 2), as SourceTruth.cells keys its cells."""
    sheet, _, coordinate = key.rpartition("!")
    m = re.fullmatch(r"([A-Z]{1,3})(\d+)", coordinate)
    return (sheet, int(m.group(2)), _column(m.group(1))) if m else None


class _Marked:
    """Cells found volatile, by sheet and column, to ask whether an area holds one: each
    column's rows in sorted blocks of 1,024, so that neither a mark nor a question about a
    whole column costs more than a block."""

    SHIFT = 10

    def __init__(self) -> None:
        self.columns: dict[tuple[str, int], tuple[list[int], dict[int, list[int]]]] = {}
        self.by_sheet: dict[str, list[int]] = {}  # columns holding a mark, sorted

    def add(self, sheet: str, row: int, column: int) -> None:
        if (sheet, column) not in self.columns:
            self.columns[sheet, column] = ([], {})
            bisect.insort(self.by_sheet.setdefault(sheet, []), column)
        blocks, rows = self.columns[sheet, column]
        block = row >> self.SHIFT
        if block not in rows:
            rows[block] = []
            bisect.insort(blocks, block)
        bisect.insort(rows[block], row)

    def any_in(self, area: Area) -> bool:
        columns = self.by_sheet.get(area.sheet, [])
        start = bisect.bisect_left(columns, area.left)
        first, last = area.top >> self.SHIFT, area.bottom >> self.SHIFT
        for column in columns[start:bisect.bisect_right(columns, area.right, lo=start)]:
            blocks, rows = self.columns[area.sheet, column]
            lo = bisect.bisect_left(blocks, first)
            hi = bisect.bisect_right(blocks, last, lo=lo)
            if hi - lo > 2:
                return True  # a block wholly inside the area, and no block is empty
            for block in blocks[lo:hi]:
                held = rows[block]
                at = bisect.bisect_left(held, area.top)
                if first < block < last or (at < len(held) and held[at] <= area.bottom):
                    return True
        return False


MAX_PASSES = 64  # over the formulas reading ranges; a chain zigzagging further is assumed


def volatile_cells(cells: dict[str, Cell], names: dict[str, str] | None = None) -> set[str]:
    """The cells whose cached value is no fact to expect again, on a page or in a saved
    file: formulas calling a CHANGING function, and every formula reading one of them,
    directly or through other formulas, by a cell, a range, a defined name or a table
    (`names`, SourceTruth.defined_names). In a workbook that has any, a formula reading
    what its text does not place (OFFSET, INDIRECT, an unknown name) counts as reading one:
    a check left out costs less than a suite failed for a value no suite could reproduce."""
    formulas = {k: c.formula for k, c in cells.items() if c.formula}
    if not any(_CHANGING_CALL.search(f) for f in [*formulas.values(), *(names or {}).values()]):
        return set()  # the common case, without parsing a formula
    scope = Scope(tuple(dict.fromkeys(k.rpartition("!")[0] for k in cells)), names or {})
    inputs = {k: formula_inputs(f, k.rpartition("!")[0], scope) for k, f in formulas.items()}
    if not any(read.changing for read in inputs.values()):
        return set()  # RAND( was in a string
    readers: dict[tuple[str, int, int], list[str]] = {}  # a cell -> formulas reading it
    ranged: list[str] = []  # formulas reading an area larger than a cell
    for key, read in inputs.items():
        for a in read.areas:
            if a.top == a.bottom and a.left == a.right:
                readers.setdefault((a.sheet, a.top, a.left), []).append(key)
        if any(a.top != a.bottom or a.left != a.right for a in read.areas):
            ranged.append(key)
    found: set[str] = set()
    marked, queue = _Marked(), []

    def mark(key: str) -> None:
        found.add(key)
        queue.append(key)
        if (place := _place(key)) is not None:
            marked.add(*place)

    for key, read in inputs.items():
        if read.changing or read.unplaced:
            mark(key)
    for passes in range(MAX_PASSES + 1):
        while queue:  # along single-cell references, at once
            place = _place(queue.pop())
            for key in readers.get(place, ()) if place else ():
                if key not in found:
                    mark(key)
        ranged = [k for k in ranged if k not in found]
        before = len(found)
        # Through ranges: formulas mostly read cells above them or to their left, so one
        # pass in order reaches most; each next pass goes the other way.
        for key in (ranged if passes % 2 == 0 else reversed(ranged)):
            if key not in found and any(marked.any_in(a) for a in inputs[key].areas):
                mark(key)
        if len(found) == before:
            return found
    sheets = {k.rpartition("!")[0] for k in found}  # past the bound: any range near one
    return found | {k for k in ranged if any(a.sheet in sheets for a in inputs[k].areas)}


def cell_checks(source: SourceTruth, saved: SourceTruth) -> list[Check]:
    """Every stored cell of the source against the saved workbook: its value, its formula,
    its number format; plus sheet names and merged ranges."""
    checks = []
    if source.sheet_names and saved.sheet_names:
        checks.append(Check("multiple-sheets", "sheet names and order kept",
                            float(source.sheet_names == saved.sheet_names),
                            ", ".join(source.sheet_names), ", ".join(saved.sheet_names)))
    if source.merged_ranges:
        want, got = set(source.merged_ranges), set(saved.merged_ranges)
        checks.append(Check("merged-cells", "merged ranges kept",
                            len(want & got) / len(want), len(want), len(want & got)))
    # A saving suite may recalculate RAND() and NOW(), rightly: their values are not kept.
    volatile = volatile_cells(source.cells, source.defined_names)
    steady = {k: c for k, c in source.cells.items() if k not in volatile}
    for feature, name, cells, pick, same in (
            ("cached-values", "values", steady, lambda c: c.value, same_value),
            ("formulas", "formulas", source.cells,
             lambda c: c.formula and normalise_formula(c.formula), lambda a, b: a == b),
            ("custom-number-formats", "number formats", source.cells,
             lambda c: normalise_number_format(c.number_format)
             if c.number_format != "General" else None,
             lambda a, b: a == b)):
        checks.append(_cells_check(cells, saved.cells, feature, f"{name} kept", pick, same))
    return [c for c in checks if c is not None]


def recalculated_checks(source: SourceTruth, saved: SourceTruth) -> list[Check]:
    """Every formula's value after the suite recalculated, against the value the source
    cached: where they differ, the suite computes otherwise (or the cache was stale)."""
    volatile = volatile_cells(source.cells, source.defined_names)  # NOW() changes
    formulas = {k: c for k, c in source.cells.items() if c.formula and k not in volatile}
    check = _cells_check(formulas, saved.cells, "formulas", "values after recalculation",
                         lambda c: c.value, same_value)
    return [check] if check else []


def cache_written_by_excel(source: SourceTruth) -> bool:
    """Only Excel's own cache is a Microsoft-computed fact to grade a recalculation by.
    Libraries stamp "Microsoft Excel" too (openpyxl, with its own version, 3.1); Excel
    writes its version as NN.NNNN."""
    return (str(source.facts.get("application", "")).startswith("Microsoft")
            and re.fullmatch(r"\d{2}\.\d{4}", str(source.facts.get("app_version", ""))) is not None)


def _cells_check(source: dict[str, Cell], saved: dict[str, Cell], feature: str, label: str,
                 pick, same) -> Check | None:
    relevant = {k: pick(c) for k, c in source.items() if pick(c) is not None}
    if not relevant:
        return None
    wrong = [k for k, v in relevant.items()
             if k not in saved or pick(saved[k]) is None or not same(v, pick(saved[k]))]
    sample = "; ".join(f"{k}: {_short(str(relevant[k]), 30)} -> "
                       f"{_short(str(pick(saved[k])) if k in saved else 'absent', 30)}"
                       for k in wrong[:SAMPLE])
    return Check(feature, f"{label} ({len(relevant) - len(wrong)}/{len(relevant)} cells)",
                 round(1 - len(wrong) / len(relevant), 4), len(relevant), sample or "all equal")
