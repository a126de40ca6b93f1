"""What `fidelity compare` takes: a PDF as it is, or an Office document that a suite renders
first (its `show` task), whose own fonts are then the ones asked for."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium

import renderers
from harness.compare import rendering
from harness.compare.rendering import Rendering
from harness.errors import CompareError, UsageError
from harness.truth.fonts import asked_fonts
from renderers.base import Status, Task


def _is_pdf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(1024).lstrip().startswith(b"%PDF")


def prepare(path: Path, suite: str | None, workdir: Path, dpi: int,
            timeout_seconds: float) -> tuple[Rendering, list[str] | None]:
    """The rendering of `path`, and the fonts its source asks for (None for a PDF); `suite`
    None: the installed suite that one-off commands use for its format."""
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    if _is_pdf(path):
        return _load(path, dpi), None
    if suite is None:
        fmt = path.suffix.lower().lstrip(".")
        suite = renderers.one_off(fmt)
        if suite is None:
            raise UsageError(f"no installed suite opens .{fmt}; name one with --suite")
    if suite not in renderers.names():
        raise UsageError(f"unknown suite {suite}; known: {', '.join(renderers.names())}")
    with renderers.get(suite, workdir / "scratch") as renderer:
        outcome = renderer.run(path.resolve(), Task.SHOW, workdir / path.stem, timeout_seconds)
    if outcome.status is not Status.OK or outcome.output_path is None:
        raise CompareError(f"{suite} did not render {path.name}: {outcome.status.value}: "
                           f"{outcome.message}")
    return _load(outcome.output_path, dpi), asked_fonts(path)


def _load(pdf: Path, dpi: int) -> Rendering:
    try:
        return rendering.load(pdf, dpi)
    except pdfium.PdfiumError as exc:
        raise CompareError(f"cannot read {pdf.name} as a PDF: {exc}") from None
