"""Workbooks through openpyxl: the values Excel cached, as a user would see them printed."""

from __future__ import annotations

import warnings
from importlib.metadata import version
from pathlib import Path

import openpyxl

from harness.truth import SourceTruth
from harness.truth.container import check_zip

FORMATS = ("xlsx", "xlsm", "xltx", "xltm")
MAX_CELLS = 500_000


def read(path: Path) -> SourceTruth:
    check_zip(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about every extension it skips
        book = openpyxl.load_workbook(str(path), data_only=True, keep_links=False)
    try:
        blocks: list[str] = []
        cells = numbers = 0
        visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
        for ws in visible:
            hidden_rows = {r for r, dim in ws.row_dimensions.items() if dim.hidden}
            hidden_cols = {c for c, dim in ws.column_dimensions.items() if dim.hidden}
            # Only the cells the file stores: iter_rows() would build every coordinate of
            # the declared dimension, gigabytes for a sheet that claims XFD1048576.
            for (row, _), cell in sorted(ws._cells.items()):
                if cell.value is None or cells >= MAX_CELLS:
                    continue
                if row in hidden_rows or cell.column_letter in hidden_cols:
                    continue
                cells += 1
                # Numbers print through their number format (1234 -> "1,234.00 €"),
                # so only text is compared word for word here.
                if isinstance(cell.value, str):
                    if cell.value.strip():
                        blocks.append(cell.value.strip())
                else:
                    numbers += 1
        return SourceTruth(
            reader=f"openpyxl {version('openpyxl')}",
            text_blocks=tuple(blocks),
            numeric_tokens_unreliable=True,
            facts={
                "sheets": len(book.worksheets),
                "visible_sheets": len(visible),
                "chartsheets": len(book.chartsheets),
                "cells_with_values": cells,
                "numeric_cells": numbers,
                "merged_ranges": sum(len(ws.merged_cells.ranges) for ws in visible),
                "truncated": cells >= MAX_CELLS,
            },
        )
    finally:
        book.close()
