"""Volatile formulas: a value drawn anew on every open (RANDBETWEEN, NOW, TODAY...), and
every value computed from one, is no fact to expect on a page or in a saved file; a plain
formula beside them still is."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName

from harness.compare import structure
from harness.compare.rendering import Page, Rendering, Word
from harness.compare.structure import (MAX_COLUMN, MAX_ROW, Scope, formula_inputs,
                                       volatile_cells)
from harness.truth import Cell, read_truth

from .conftest import SHARED, needs_shared

# Sheet -> cell -> (formula or value, the value Excel would have cached).
BOOK = {
    "Data": {
        "A1": ("=RANDBETWEEN(1,100)", 42),
        "B1": ("=A1*2", 84),  # reads the random cell
        "C1": ("=SUM(A1:A3)", 45),  # through a range
        "D1": ("=3*7", 21),  # plain: must stay checked
        "E1": ("=C1+1", 46),  # two steps away
        "F1": ("=Seed*10", 420),  # through a defined name
        "G1": ("=D1*1000", 21000),  # reads only the plain formula
        "H1": ('=LEN("RAND()")', 6),  # RAND( inside a string calls nothing
        "A2": (1, 1),
        "A3": (2, 2),
    },
    "Other sheet": {
        "A1": ("='Data'!$B$1+1", 85),  # another sheet, quoted, absolute
        "B1": ("=Data!D1+1", 22),
    },
}


def _workbook(path: Path) -> Path:
    """The workbook as Excel would store it: openpyxl writes formulas without a cached
    value, so each is written into the sheet's XML afterwards."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, cells in BOOK.items():
        sheet = book.create_sheet(title)
        for coordinate, (content, _) in cells.items():
            sheet[coordinate] = content
    book.defined_names["Seed"] = DefinedName("Seed", attr_text="Data!$A$1")
    draft = path.with_suffix(".draft.xlsx")
    book.save(draft)
    with zipfile.ZipFile(draft) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info).decode("utf-8")
            match = re.fullmatch(r"xl/worksheets/sheet(\d)\.xml", info.filename)
            if match:
                cells = list(BOOK.values())[int(match.group(1)) - 1]
                for coordinate, (content, cached) in cells.items():
                    if isinstance(content, str):
                        data = re.sub(rf'(<c r="{coordinate}"[^>]*><f>[^<]*</f>)<v\s*>\s*</v>',
                                      rf"\g<1><v>{cached}</v>", data)
            out.writestr(info, data)
    draft.unlink()
    return path


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    return read_truth(_workbook(tmp_path_factory.mktemp("volatile") / "volatile.xlsx"),
                      "xlsx")


def _rendering(text: str) -> Rendering:
    words = tuple(Word(t, 10.0, 10.0) for t in text.split())
    page = Page(1, 210.0, 297.0, np.full((10, 10), 255, np.uint8), words, 0)
    return Rendering((page,), 1, 60)


def test_the_random_cell_and_all_that_reads_it_are_volatile_and_nothing_else(truth):
    assert truth.cells["Data!B1"] == Cell(84, "=A1*2", "General")  # the cache as written
    assert truth.defined_names == {"Seed": "Data!$A$1"}
    assert volatile_cells(truth.cells, truth.defined_names) == {
        "Data!A1", "Data!B1", "Data!C1", "Data!E1", "Data!F1", "Other sheet!A1"}


def test_show_checks_leave_out_the_volatile_values_and_keep_the_plain_ones(truth):
    # Opened again, the random cell drew 7: every value computed from it changed.
    page = "7 14 10 21 11 70 21000 6 1 2 15 22"
    checks = {c.label.split(":")[0]: c for c in structure.show_checks(truth, _rendering(page),
                                                                      page)}
    assert set(checks) == {"value of Data!D1", "value of Data!G1", "value of Data!H1",
                           "value of Other sheet!B1"}
    assert all(c.passed for c in checks.values())
    # A plain formula shown wrong still fails its check.
    wrong = page.replace("21000", "999")
    failed = [c.label for c in structure.show_checks(truth, _rendering(wrong), wrong)
              if not c.passed]
    assert failed == ["value of Data!G1: shown on the PDF"]


def _recalculated(truth, **values) -> object:
    cells = dict(truth.cells)
    for key, value in values.items():
        key = key.replace("_", "!", 1).replace("Other!", "Other sheet!")
        cells[key] = replace(cells[key], value=value)
    return replace(truth, cells=cells)


def test_a_save_that_recalculates_the_random_cell_keeps_every_value_that_counts(truth):
    redrawn = _recalculated(truth, Data_A1=7, Data_B1=14, Data_C1=10, Data_E1=11,
                            Data_F1=70, Other_A1=15)
    (values,) = [c for c in structure.cell_checks(truth, redrawn)
                 if c.feature == "cached-values"]
    assert values.passed and values.expected == len(truth.cells) - 6
    formulas = [c for c in structure.cell_checks(truth, redrawn) if c.feature == "formulas"]
    assert formulas[0].expected == 10  # formulas themselves are still all compared
    (lost,) = [c for c in structure.cell_checks(truth, _recalculated(truth, Data_G1=5))
               if c.feature == "cached-values"]
    assert not lost.passed and "Data!G1: 21000 -> 5" in str(lost.found)


def test_recalculated_checks_leave_out_what_reads_a_random_cell(truth):
    redrawn = _recalculated(truth, Data_A1=7, Data_B1=14, Data_C1=10, Data_E1=11,
                            Data_F1=70, Other_A1=15)
    (check,) = structure.recalculated_checks(truth, redrawn)
    assert check.passed and check.expected == 4  # D1, G1, H1, Other sheet!B1
    (check,) = structure.recalculated_checks(truth, _recalculated(truth, Other_B1=0))
    assert not check.passed


@pytest.mark.parametrize("formula, areas, changing, unplaced", [
    ("=A1*2", [("Data", 1, 1, 1, 1)], False, False),
    ("=$B$2:C5", [("Data", 2, 2, 5, 3)], False, False),
    ("=SUM(C:A)", [("Data", 1, 1, MAX_ROW, 3)], False, False),
    ("=SUM(4:3)", [("Data", 3, 1, 4, MAX_COLUMN)], False, False),
    ("='Other sheet'!A1:B2", [("Other sheet", 1, 1, 2, 2)], False, False),
    ("='It''s'!C3", [("It's", 3, 3, 3, 3)], False, False),
    ("=data!b2", [("Data", 2, 2, 2, 2)], False, False),  # sheet names ignore case
    ("=SUM('Data:It''s'!A1)", [(s, 1, 1, 1, 1) for s in ("Data", "Other sheet", "It's")],
     False, False),
    ("=LOG10(A1)+ATAN2(1,2)", [("Data", 1, 1, 1, 1)], False, False),
    ('="A1"&"RAND()"', [], False, False),
    ("=[1]Data!A1+'[2]Other sheet'!B2", [], False, False),  # another workbook's cache
    ("=Rate*2", [("Data", 9, 4, 9, 4)], False, False),
    ("=Tbl[[#This Row],[Col]]", [("Other sheet", 1, 1, 9, 3)], False, False),
    ("=Unknown*2", [], False, True),
    ("=Nope[Col]", [], False, True),
    ("=OFFSET(G7,2,0)", [("Data", 7, 7, 7, 7)], False, True),
    ('=INDIRECT("B"&ROW())', [], False, True),
    ("=_xlfn.RANDARRAY(3)+NOW()", [], True, False),
    ("=Fn(2)", [], True, False),  # a LAMBDA given a name, calling RAND
    ("=LET(_xlpm.x,A1,_xlpm.x*2)", [("Data", 1, 1, 1, 1)], False, False),
    ("=XFE1+ABCD2", [], False, True),  # past the grid: names
    ("=#REF!+A1#+{1,2;3,4}+1.5E3+.5+TRUE", [("Data", 1, 1, 1, 1)], False, False),
    ("=Loop", [], False, True),  # a name defined through itself
])
def test_references_are_read_in_every_spelling(formula, areas, changing, unplaced):
    scope = Scope(("Data", "Other sheet", "It's"),
                  {"Rate": "Data!$D$9", "Tbl": "'Other sheet'!$A$1:$C$9", "Loop": "Loop+1",
                   "Fn": "LAMBDA(_xlpm.x,_xlpm.x*RAND())"})
    read = formula_inputs(formula, "Data", scope)
    assert [(a.sheet, a.top, a.left, a.bottom, a.right) for a in read.areas] == areas
    assert (read.changing, read.unplaced) == (changing, unplaced)


def test_an_unplaced_reference_counts_only_beside_a_changing_cell():
    plain = {"S!A1": Cell(5, '=INDIRECT("B1")'), "S!A2": Cell(6, "=Unknown+1")}
    assert volatile_cells(plain) == set()  # deterministic: still checked
    assert volatile_cells({**plain, "S!Z9": Cell(0.5, "=RAND()")}) == {"S!A1", "S!A2",
                                                                        "S!Z9"}


def test_chains_are_followed_in_any_direction_through_ranges():
    upward = {f"S!A{n}": Cell(1, f"=SUM(A{n + 1}:A{n + 2})") for n in range(1, 400)}
    upward["S!A400"] = Cell(1, "=NOW()")
    upward["S!B1"] = Cell(1, "=SUM(C1:C9)")
    assert volatile_cells(upward) == set(upward) - {"S!B1"}


# Mostly near the corner, so that a range holds the volatile cell about as often as not.
_CELL = st.tuples(st.integers(1, 12) | st.integers(1, MAX_ROW),
                  st.integers(1, 12) | st.integers(1, MAX_COLUMN))


def _spelled(row: int, column: int, absolute: bool) -> str:
    dollar = "$" if absolute else ""
    return f"{dollar}{get_column_letter(column)}{dollar}{row}"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
       | st.text(alphabet="=$!:'\"[]#(),;{}.-+*&A1bZ9 _xlfn@", max_size=60))
def test_the_reader_never_fails_on_any_text(text):
    scope = Scope(("S", "It's"), {"Name": text[:20], "S!Local": "Name"})
    read = formula_inputs(text, "S", scope)
    assert all(1 <= a.top <= a.bottom <= MAX_ROW and 1 <= a.left <= a.right <= MAX_COLUMN
               for a in read.areas)
    volatile_cells({"S!A1": Cell(1, "=RAND()"), "S!B2": Cell(1, "=" + text)}, scope.names)


@settings(max_examples=300, deadline=None)
@given(volatile=_CELL, corner=_CELL, other=_CELL, absolute=st.booleans(),
       quoted=st.booleans(), through_name=st.booleans())
def test_a_range_reads_the_volatile_cell_exactly_when_it_holds_it(volatile, corner, other,
                                                                  absolute, quoted,
                                                                  through_name):
    top, bottom = sorted((corner[0], other[0]))
    left, right = sorted((corner[1], other[1]))
    reference = f"{_spelled(*corner, absolute)}:{_spelled(*other, False)}"  # either order
    title = "My data" if quoted else "Data_2"
    sheet = f"'{title}'!" if quoted else f"{title}!"
    names = {"Area": sheet + reference} if through_name else {}
    formula = "=SUM(Area)" if through_name else f"=SUM({sheet}{reference})*2"
    cells = {f"{title}!{_spelled(*volatile, False)}": Cell(0.5, "=RAND()"),
             "Sheet2!A1": Cell(1, formula)}
    holds = top <= volatile[0] <= bottom and left <= volatile[1] <= right
    event(f"holds: {holds}")
    assert ("Sheet2!A1" in volatile_cells(cells, names)) == holds


@needs_shared
def test_a_real_forecast_dated_from_today():
    """The shared corpus's cash-flow forecast starts the month after TODAY() (a defined
    name, Start_Date) and dates every column from it; its amounts compare with a cash
    minimum (another name) that is a plain number."""
    path = SHARED / "minipdf" / "Small business cash flow forecast1.xlsx"
    if not path.is_file():
        pytest.skip(f"{path.name} absent")
    source = read_truth(path, "xlsx")
    volatile = volatile_cells(source.cells, source.defined_names)
    assert {"Cash flow forecast!F4", "Cash flow forecast!C7", "Cash flow forecast!H7",
            "Cash flow chart!B10"} <= volatile
    assert "Cash flow chart!N5" not in volatile  # =IF(C5<Cash_Minimum,0,C5)
    assert all(not c.formula or "TODAY" not in c.formula
               for k, c in source.cells.items() if k not in volatile)


def test_a_merged_title_dated_from_today_is_not_expected():
    from harness.truth import Expectation, SourceTruth

    title = Expectation("merged-cells", "merged Data!A5:C5", ("Report 2024",))
    kept = Expectation("merged-cells", "merged Data!A6:C6", ("Totals",))
    source = SourceTruth("test", ("Report 2024", "Totals"), shown=(title, kept), cells={
        "Data!A5": Cell("Report 2024", '="Report "&YEAR(TODAY())'),
        "Data!A6": Cell("Totals", None)})
    checks = structure.show_checks(source, _rendering("Report 2026 Totals"), "Report 2026 Totals")
    assert [c.label for c in checks] == ["merged Data!A6:C6: shown on the PDF"]


def test_hostile_formulas_and_names_are_read_in_linear_time():
    """Excel's longest formula is 8,192 characters; names may be defined through names,
    each many times: neither may cost the harness more than reading their text."""
    import time

    names = {f"Level{i}": "+".join([f"Level{i + 1}"] * 500) for i in range(8)}
    names["Level8"] = "RAND()"
    started = time.perf_counter()
    for text in ("1." * 4096, "\u20ac" * 8192, "a." * 4096, "[" * 8192, "'x" * 4096,
                 "A1:" * 2730, "Level0"):
        formula_inputs("=" + text, "S", Scope(("S",), names))
    # A guard against exponential blow-up (names through names would never end), not a
    # speed target: linear reading takes well under a second here.
    assert time.perf_counter() - started < 30.0
    cells = {"S!A1": Cell(1, "=Level0"), "S!A2": Cell(1, "=Level7*2"), "S!A3": Cell(1, "=2")}
    assert volatile_cells(cells, names) == {"S!A1", "S!A2"}
