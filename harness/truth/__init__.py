"""Source truth: what an original document says it contains, read without any suite.

Every reader returns a SourceTruth or raises SourceError with a one-line reason; a
malformed document is an answer ("could not read: ..."), never a crash of the sweep.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Callable

from harness import formats
from harness.errors import SourceError
from harness.truth import docx, legacy, odf, pptx, xlsx
from harness.truth.drawn import read_drawn
from harness.truth.model import MAX_MESSAGE, Cell, Expectation, SourceTruth, one_line


Reader = Callable[[Path], SourceTruth]


@cache
def _readers() -> dict[str, Reader]:
    modules = {m.__name__.rsplit(".", 1)[1]: m for m in (docx, xlsx, pptx, legacy, odf)}
    return {ext: modules[reader].read for ext, reader in formats.readers().items()}


def _package_kind(path: Path) -> str | None:
    """Which kind of OOXML package this is, by its main part, whatever its name says."""
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
    except (OSError, zipfile.BadZipFile):
        return None
    return next((kind for part, kind in formats.OOXML_MAIN_PARTS.items() if part in names),
                None)


def read_truth(path: Path, fmt: str) -> SourceTruth:
    reader = _readers().get(fmt)
    if reader is None:
        raise SourceError(f"no source-truth reader for .{fmt}")
    try:
        truth = reader(path)
    except SourceError as exc:  # the readers' own reasons, held to one line as well
        if len(str(exc).splitlines()) <= 1:
            raise
        raise type(exc)(one_line(str(exc))) from None
    except MemoryError:
        raise SourceError("could not read: the document needs more memory than allowed") from None
    except Exception as exc:  # third-party readers raise anything on malformed input
        kind = _package_kind(path)
        if kind is not None and kind != formats.FAMILIES.get(fmt, kind):
            raise SourceError(f"could not read: the file is a {kind} package under a .{fmt} "
                              "name (wrong extension)") from None
        message = one_line(str(exc))
        if not message.startswith(f"{type(exc).__name__}:"):  # a traceback's last line does
            message = type(exc).__name__ + (f": {message}" if message else "")
        raise SourceError(f"could not read: {message}") from None

    return replace(truth, drawn=read_drawn(path, fmt, truth.cells))


__all__ = ["MAX_MESSAGE", "Cell", "Expectation", "SourceTruth", "one_line", "read_truth"]
