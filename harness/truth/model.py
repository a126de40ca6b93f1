"""What a source says it contains (SourceTruth and its parts): the record every reader
returns and every comparison reads, apart from the readers so that they can import it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expectation:
    """A fact of the source that a rendering can be checked for: text that belongs on the
    page (or, in `SourceTruth.hidden`, text a faithful rendering must not print but a save
    must keep), tagged with the feature it exercises."""

    feature: str
    label: str
    texts: tuple[str, ...]  # alternatives: any one of them found is enough (a number's forms)
    page: int | None = None  # 1-based page it belongs on, when the source fixes it (slides)
    # Compared character by character, not word by word: equations and tracked changes,
    # whose runs split words anywhere ('infor' + 'mation') and differently in each file.
    by_characters: bool = False
    where: str = "both"  # "page": checked on the PDF only; "file": in a saved file only


@dataclass(frozen=True)
class Cell:
    """One stored workbook cell: what Excel cached, the formula, the number format."""

    value: float | int | str | bool | None
    formula: str | None = None
    number_format: str = "General"


@dataclass(frozen=True)
class SourceTruth:
    reader: str
    text_blocks: tuple[str, ...]
    # Pages the document should come out as, when something other than a suite says so
    # (Word's own count in docProps/app.xml, or the number of visible slides).
    expected_pages: int | None = None
    expected_pages_source: str | None = None
    facts: dict[str, int | str | bool] = field(default_factory=dict)
    # Text blocks that are numbers formatted by the file (spreadsheets) are compared loosely.
    numeric_tokens_unreliable: bool = False
    # False when the reader itself is known to miss or garble text: its recall is shown for
    # information and never grades a suite.
    text_trusted: bool = True
    shown: tuple[Expectation, ...] = ()
    hidden: tuple[Expectation, ...] = ()
    # Workbooks: "Sheet!A1" -> Cell, for the save-back checks (bounded, see xlsx.MAX_CELLS).
    cells: dict[str, Cell] = field(default_factory=dict)
    sheet_names: tuple[str, ...] = ()
    merged_ranges: tuple[str, ...] = ()  # "Sheet!A1:C1"
    # Workbooks: what each defined name and table refers to ("Rate" -> "'Data'!$B$1"; a
    # sheet's own names as "Sheet!Rate"), to follow formulas through them.
    defined_names: dict[str, str] = field(default_factory=dict)
    # Charts, pictures, SmartArt and worksheet shapes the page must draw, in document order
    # (harness.truth.drawn.Drawn records, read from the package's parts after the reader).
    drawn: tuple = ()


MAX_MESSAGE = 200


def one_line(text: str) -> str:
    """An error's text as one line of a result's message: its first line, or, where the
    text is a traceback (a tool's stderr, a wrapped error), the exception line that ends
    it; never the traceback."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if lines and lines[0].startswith("Traceback (most recent call last)"):
        lines = [line for line in lines if not line.startswith(("Traceback (", "File \""))
                 and line.strip("^~ ")][-1:]
    line = lines[0] if lines else ""
    return line if len(line) <= MAX_MESSAGE else line[:MAX_MESSAGE - 1] + "…"
