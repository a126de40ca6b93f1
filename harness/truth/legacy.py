"""Legacy binary .doc/.xls/.ppt.

Two sources, trusted differently. The OLE summary streams hold counts that Microsoft's own
applications computed (Word's pages, PowerPoint's slides and hidden slides): trusted when a
Microsoft application wrote them. The text comes from catdoc's readers, independent of every
suite under test but lossy (field codes kept, legacy code pages mis-decoded, slides missed by
catppt): it is measured and shown, never graded on. Spreadsheet fields without a letter are
dropped: they print through number formats."""

from __future__ import annotations

import codecs
import csv
import io
import shutil
import subprocess

import olefile
from functools import lru_cache
from pathlib import Path

from harness.errors import SourceError
from harness.truth.container import implausible_page_count
from harness.truth.model import SourceTruth
from harness.processes.groups import run_in_group

_TOOLS = {"doc": "catdoc", "dot": "catdoc", "xls": "xls2csv", "xlt": "xls2csv",
          "ppt": "catppt", "pot": "catppt", "pps": "catppt"}
TIMEOUT_SECONDS = 60


@lru_cache(maxsize=1)
def _catdoc_version() -> str:
    try:
        out = subprocess.run(["catdoc", "-V"], capture_output=True, text=True, timeout=10)
        return out.stdout.split()[-1] if out.stdout.split() else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def _codec(codepage: object) -> str:
    """The Python codec of a property set's code page (a signed 16-bit number in the file:
    UTF-8's 65001 reads as -535). Code page 1200 is UTF-16, whose zero bytes olefile has
    already dropped from a byte string: what is left reads as Latin-1."""
    number = codepage & 0xFFFF if isinstance(codepage, int) else 1200
    name = {65001: "utf-8", 10000: "mac_roman", 1200: "latin-1", 1201: "latin-1"}.get(
        number, f"cp{number}")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "latin-1"


def property_text(value: object, codepage: object = None) -> str:
    """A summary property as text, whatever olefile made of it: bytes for a code-page string
    (VT_LPSTR), str for a Unicode one (VT_LPWSTR, as WPS writes its summary in code page
    1200), None when absent. Cut at the first NUL: olefile 0.47 reads a Unicode string's
    length from the wrong place and returns what follows it too."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode(_codec(codepage), "replace")
    return str(value).split("\0", 1)[0].strip()


def microsoft_counts(path: Path) -> tuple[int | None, str | None, dict[str, int | str]]:
    """Pages a Microsoft application said the file has, and the counts it recorded."""
    try:
        with olefile.OleFileIO(str(path)) as ole:
            meta = ole.get_metadata()
    except Exception:  # olefile raises many types on damaged containers
        return None, None, {}
    app = property_text(meta.creating_application, meta.codepage)
    facts: dict[str, int | str] = {"application": app} if app else {}
    facts.update({k: v for k in ("num_pages", "num_chars", "slides", "hidden_slides")
                  if isinstance(v := getattr(meta, k, None), int)})
    if "Microsoft" not in app:
        return None, None, facts
    pages = int(facts.get("num_pages", 0))
    if "Word" in app and pages > 0:
        why = implausible_page_count(pages, int(facts.get("num_chars", 0)))
        if why:
            facts["word_page_count_ignored"] = f"SummaryInformation {why}"
            return None, None, facts
        return pages, f"{app}'s page count (SummaryInformation)", facts
    if "PowerPoint" in app and facts.get("slides", 0) > 0:
        shown = int(facts["slides"]) - int(facts.get("hidden_slides", 0))
        if shown > 0:
            return shown, f"{app}'s count of visible slides (DocumentSummaryInformation)", facts
    return None, None, facts


def read(path: Path) -> SourceTruth:
    fmt = path.suffix.lower().lstrip(".")
    tool = _TOOLS[fmt]
    exe = shutil.which(tool)
    if exe is None:
        raise SourceError(f"no reader for legacy .{fmt} here: install catdoc (provides {tool})")
    if path.stat().st_size == 0:
        raise SourceError("could not read: the file is 0 bytes")
    argv = [exe, "-d", "utf-8"] + (["-w"] if tool == "catdoc" else []) + [str(path.resolve())]
    result = run_in_group(argv, timeout_seconds=TIMEOUT_SECONDS)
    if result.timed_out:
        raise SourceError(f"could not read: {tool} gave no answer in {TIMEOUT_SECONDS} s")
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[:1] or [f"exit code {result.returncode}"]
        raise SourceError(f"could not read: {tool}: {detail[0][:200]}")
    if tool == "xls2csv":
        fields = (f.strip() for row in csv.reader(io.StringIO(result.stdout)) for f in row)
        blocks = [f for f in fields if any(c.isalpha() for c in f)]
    else:
        blocks = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    pages, pages_source, counts = microsoft_counts(path)
    return SourceTruth(
        reader=f"{tool} from catdoc {_catdoc_version()}",
        text_blocks=tuple(blocks),
        expected_pages=pages,
        expected_pages_source=pages_source,
        numeric_tokens_unreliable=tool == "xls2csv",
        text_trusted=False,
        facts={"legacy_binary": True, **counts},
    )
