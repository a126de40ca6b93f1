"""Legacy binary .doc/.xls/.ppt through catdoc's readers, an implementation independent of
every suite under test. Spreadsheet fields without a letter (numbers, dates) are dropped:
they print through number formats and are compared cell by cell elsewhere."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from harness.errors import SourceError
from harness.truth import SourceTruth
from renderers.process import run_in_group

FORMATS = ("doc", "dot", "xls", "xlt", "ppt", "pot", "pps")
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
    return SourceTruth(
        reader=f"{tool} (catdoc {_catdoc_version()})",
        text_blocks=tuple(blocks),
        numeric_tokens_unreliable=tool == "xls2csv",
        facts={"legacy_binary": True},
    )
