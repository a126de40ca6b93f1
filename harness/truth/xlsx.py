"""Workbooks through openpyxl: the values Excel cached, as a user would see them printed,
and per cell the formula and number format, for the save-back checks."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
import warnings
import zipfile
from importlib.metadata import version
from pathlib import Path

import openpyxl
from openpyxl.utils import column_index_from_string

from harness.errors import SourceTooLarge
from harness.truth.model import Cell, Expectation, SourceTruth
from harness.truth.container import app_properties, chart_parts, check_zip

MAX_CELLS = 500_000
# openpyxl keeps every cell a sheet stores (styled but empty ones too) as an object: about
# 800 bytes a cell for our two readings. A suite's save that styles whole rows out to column
# XFD stored 5 million, and reading it took 4 GB of the harness's memory.
MAX_STORED_CELLS = 1_000_000
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_WORKSHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")
MAX_VALUE_CHECKS = 300  # cached formula results checked on the page, per workbook
_DATE_CODES = re.compile(r"(?<![\\\"])[dmyhs]", re.I)


def stored_cells(path: Path) -> int:
    """Cells the worksheets store, counted in the inflated XML as it streams past (no parse,
    bounded memory): what openpyxl would hold."""
    overlap = 64  # longer than any cell tag, so a tag split between two chunks counts once
    count = 0
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not _WORKSHEET.match(name):
                continue
            with archive.open(name) as part:
                tail = b""
                while chunk := part.read(1 << 20):
                    buffer = tail + chunk
                    limit = len(buffer) - overlap
                    count += sum(1 for m in _CELL_TAG.finditer(buffer) if m.start() < limit)
                    tail = buffer[max(limit, 0):]
                count += len(_CELL_TAG.findall(tail))
    return count


def _check_size(path: Path) -> None:
    cells = stored_cells(path)
    if cells > MAX_STORED_CELLS:
        raise SourceTooLarge(f"the workbook stores {cells:,} cells, formatted or filled; the "
                             f"harness reads workbooks of up to {MAX_STORED_CELLS:,}")


def _load(path: Path, data_only: bool) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about every extension it skips
        return openpyxl.load_workbook(str(path), data_only=data_only, keep_links=False)


def number_displays(value: float | int, number_format: str) -> tuple[str, ...]:
    """How a number may print under its format: what the page is searched for. Empty for
    dates and times (printed through calendars we do not model), and where the format's
    section prints no digits (accounting zero: "-")."""
    sections = number_format.split(";")
    if value < 0 and len(sections) > 1:
        section, value = sections[1], -value  # the negative section carries its own sign
    elif value == 0 and len(sections) > 2:
        section = sections[2]
    else:
        section = sections[0]
    bare = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.', "", section)
    if bare.strip().lower() != "general" and _DATE_CODES.search(bare):
        return ()
    if "%" in bare:
        value, bare = _excel_decimal(value) * 100, bare.replace("%", "")
    if bare.strip().lower() == "general" or not section.strip():
        # General prints as many digits as the column allows: any rounding may show.
        forms = {_trim(f"{value:.{d}f}") for d in range(0, 11)}
        forms |= {f"{value:.{d}E}" for d in range(0, 6)}  # a narrow column: 2.19E+09
        return tuple(sorted(f for f in forms if f not in ("", "-")))
    if not re.search(r"[0#?]", bare) or (value == 0 and "0" not in bare):
        return ()  # no digit prints: only a 0 placeholder prints an insignificant zero
    fraction = bare.split(".")[1] if "." in bare else ""
    decimals = len(fraction) - len(fraction.lstrip("0#?"))
    # Excel rounds the 15 significant digits it keeps, half away from zero: 1.065 as 0%
    # prints 107%, where binary floating point would give 106.
    exact = _excel_decimal(value)
    if not exact.is_finite() or abs(exact) >= MAX_EXACT:
        return ()  # printed as ####### or in exponent form: nothing to search the page for
    shown = exact.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    shown = shown.copy_abs() if shown.is_zero() else shown  # Excel prints -0.004 as 0.00
    plain = f"{shown:.{decimals}f}"
    grouped = f"{shown:,.{decimals}f}"
    return tuple(dict.fromkeys((grouped, plain)))


MAX_EXACT = Decimal("1e15")  # Excel keeps 15 significant digits


def _excel_decimal(value: float | int | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(f"{value:.15g}")


def _hidden_columns(ws) -> set[int]:
    """Numbers of the hidden columns. One `<col min max hidden>` entry hides a range, which
    openpyxl keys by its first column's letter only."""
    hidden: set[int] = set()
    for letter, dim in ws.column_dimensions.items():
        if dim.hidden:
            first = dim.min or column_index_from_string(letter)
            last = min(max(dim.max or first, first), first + 16_384)
            hidden.update(range(first, last + 1))
    return hidden


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def _cell_text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def defined_names(book: openpyxl.Workbook) -> dict[str, str]:
    """Each defined name's and table's reference text, a sheet's own names prefixed with
    its sheet ("Sheet!Rate"); Excel's reserved names (_xlnm.Print_Area) left out."""
    names = {name: d.attr_text for name, d in book.defined_names.items()
             if d.attr_text and not name.startswith("_xlnm.")}
    for ws in book.worksheets:
        names.update({f"{ws.title}!{name}": d.attr_text for name, d in ws.defined_names.items()
                      if d.attr_text and not name.startswith("_xlnm.")})
        names.update({name: f"{_quoted(ws.title)}!{ref}" for name, ref in ws.tables.items()})
    return names


def read(path: Path) -> SourceTruth:
    check_zip(path)
    _check_size(path)
    book = _load(path, data_only=True)
    formulas_book = _load(path, data_only=False)
    try:
        blocks: list[str] = []
        shown: list[Expectation] = []
        hidden_texts: list[Expectation] = []
        cells: dict[str, Cell] = {}
        merged: list[str] = []
        count = numbers = 0
        visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
        for ws in book.worksheets:
            formulas = formulas_book[ws.title]
            is_visible = ws.sheet_state == "visible"
            hidden_rows = {r for r, dim in ws.row_dimensions.items() if dim.hidden}
            hidden_cols = _hidden_columns(ws)
            merged += [f"{ws.title}!{r.coord}" for r in ws.merged_cells.ranges]
            sheet_texts: list[str] = []
            # Only the cells the file stores: iter_rows() would build every coordinate of
            # the declared dimension, gigabytes for a sheet that claims XFD1048576.
            for (row, col), cell in sorted(ws._cells.items()):
                if cell.value is None or count >= MAX_CELLS:
                    continue
                formula_cell = formulas._cells.get((row, col))
                raw = formula_cell.value if formula_cell is not None else None
                formula = raw if isinstance(raw, str) and raw.startswith("=") else None
                key = f"{ws.title}!{cell.coordinate}"
                cells[key] = Cell(cell.value, formula, cell.number_format or "General")
                count += 1
                if row in hidden_rows or col in hidden_cols:
                    continue
                text = _cell_text(cell.value)
                if not is_visible:
                    if text:
                        sheet_texts.append(text)
                    continue
                # Numbers print through their number format (1234 -> "1,234.00 €"), so
                # only text is compared word for word; formula results are checked below.
                if text:
                    blocks.append(text)
                    if formula and len(shown) < MAX_VALUE_CHECKS:
                        shown.append(Expectation("formulas", f"value of {key}", (text,)))
                elif not isinstance(cell.value, str):
                    numbers += 1
                    if (formula and isinstance(cell.value, (int, float))
                            and not isinstance(cell.value, bool)
                            and len(shown) < MAX_VALUE_CHECKS):
                        forms = number_displays(cell.value, cells[key].number_format)
                        if forms:
                            shown.append(Expectation("formulas", f"value of {key}", forms))
            if not is_visible and sheet_texts:
                hidden_texts.append(Expectation("hidden-sheets", f"hidden sheet {ws.title}",
                                                (" ".join(sheet_texts),)))
            if is_visible:
                for r in ws.merged_cells.ranges:
                    text = _cell_text(ws.cell(r.min_row, r.min_col).value)
                    if text:
                        shown.append(Expectation("merged-cells", f"merged {ws.title}!{r.coord}",
                                                 (text,)))
        app = app_properties(path)
        return SourceTruth(
            reader=f"openpyxl {version('openpyxl')}",
            text_blocks=tuple(blocks),
            numeric_tokens_unreliable=True,
            facts={
                "sheets": len(book.worksheets),
                "visible_sheets": len(visible),
                "chartsheets": len(book.chartsheets),
                "cells_with_values": count,
                "numeric_cells": numbers,
                "formulas": sum(1 for c in cells.values() if c.formula),
                "charts": chart_parts(path),
                "merged_ranges": sum(len(ws.merged_cells.ranges) for ws in visible),
                "truncated": count >= MAX_CELLS,
                "application": app.get("Application", ""),
                "app_version": app.get("AppVersion", ""),
            },
            shown=tuple(shown),
            hidden=tuple(hidden_texts),
            cells=cells,
            sheet_names=tuple(book.sheetnames),  # chart sheets included
            merged_ranges=tuple(merged),
            defined_names=defined_names(formulas_book),
        )
    finally:
        book.close()
        formulas_book.close()
