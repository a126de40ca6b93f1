"""PDF pages to images with one pinned rasteriser. Its name, version and DPI are part of
every result: the rasteriser alone moves SSIM by several points."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import ClassVar

import pypdfium2 as pdfium
from PIL import Image

from renderers.command import command_version

# 60 DPI: an A4 page is 496 x 702 px. Enough to see layout, reflow and missing objects;
# coarse enough that anti-aliasing and hinting differences between renderers blur away.
DEFAULT_DPI = 60
MAX_PAGES = 200


@dataclass(frozen=True)
class RasterSettings:
    rasteriser: str
    rasteriser_version: str
    dpi: int
    max_pages: int


class Rasteriser:
    name: ClassVar[str] = ""

    def version(self) -> str:
        raise NotImplementedError

    def render(self, pdf: Path, dpi: int, max_pages: int) -> list[Image.Image]:
        raise NotImplementedError

    def settings(self, dpi: int = DEFAULT_DPI, max_pages: int = MAX_PAGES) -> RasterSettings:
        return RasterSettings(self.name, _version_of(type(self)), dpi, max_pages)


@cache
def _version_of(kind: type[Rasteriser]) -> str:
    """Asked once per process: reading package metadata cost 11 ms a job."""
    return kind().version()


class Pdfium(Rasteriser):
    name = "pypdfium2"

    def version(self) -> str:
        return f"{version('pypdfium2')} (pdfium {pdfium.PDFIUM_INFO.build})"

    def render(self, pdf: Path, dpi: int, max_pages: int) -> list[Image.Image]:
        document = pdfium.PdfDocument(str(pdf))
        try:
            images = []
            for index in range(min(len(document), max_pages)):
                page = document[index]
                try:
                    images.append(page.render(scale=dpi / 72).to_pil().convert("RGB"))
                finally:
                    page.close()
            return images
        finally:
            document.close()


class Poppler(Rasteriser):
    """pdftoppm through pdf2image: the alternative, and the second opinion of the noise
    floor (the same PDF through two rasterisers)."""

    name = "pdftoppm"

    def version(self) -> str:
        return command_version(("pdftoppm", "-v"), r"version ([\d.]+)") or "unknown"

    def render(self, pdf: Path, dpi: int, max_pages: int) -> list[Image.Image]:
        from pdf2image import convert_from_path

        return [image.convert("RGB") for image in
                convert_from_path(str(pdf), dpi=dpi, last_page=max_pages)]


RASTERISERS: dict[str, type[Rasteriser]] = {cls.name: cls for cls in (Pdfium, Poppler)}


def get(name: str = "pypdfium2") -> Rasteriser:
    return RASTERISERS[name]()
