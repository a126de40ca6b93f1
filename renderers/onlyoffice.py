"""OnlyOffice through ``x2t``, the converter Desktop Editors and Document Server ship.

x2t takes one argument, a ``TaskQueueDataConvert`` params XML, and must run with its own
folder as working directory (it loads its libraries and ICU data from there). Fonts come
from an ``AllFonts.js`` that ``allfontsgen`` generates once per machine and font set.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
from pathlib import Path
from xml.sax.saxutils import escape

from harness.formats import extensions
from renderers import register
from harness.formats import target_extension
from renderers.base import Availability, Renderer, RenderOutcome, Status, Task
from renderers.command import newest_first, package_version
from renderers.output import ExitMeaning, classify
from harness.processes.groups import run_in_group

_CANDIDATES = ("/opt/onlyoffice/desktopeditors/converter/x2t",
               "/run/current-system/sw/share/desktopeditors/converter/x2t",
               "/nix/store/*/share/desktopeditors/converter/x2t")
# The patterns above and the font folders below are looked for under this root: "/", or a
# fake tree in the tests (tests/test_packaging_nix.py).
ROOT = "/"
# NixOS keeps no /usr/share/fonts: its fonts are in /run/current-system/sw/share/X11/fonts
# (with fonts.fontDir.enable), or in a folder the flake names in ONLYOFFICE_FONT_DIR.
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts",
             "/run/current-system/sw/share/X11/fonts")

# AVS_OFFICESTUDIO_FILE_* codes for m_nFormatTo.
FORMAT_CODES = {"pdf": 513, "docx": 65, "xlsx": 257, "pptx": 129,
                "odt": 67, "ods": 259, "odp": 131}

# x2t's exit code is its AVS_FILEUTILS_ERROR_CONVERT_* code. Row and cell limits count as
# success in x2t itself (SUCCEEDED_X2T): the file is written, with rows or cells dropped.
EXIT_CODES = {
    80: ExitMeaning(Status.FAILED, "conversion error"),
    81: ExitMeaning(Status.FAILED, "could not download the source"),
    82: ExitMeaning(Status.UNSUPPORTED, "unknown source format"),
    83: ExitMeaning(Status.TIMED_OUT, "x2t's own time limit reached"),
    84: ExitMeaning(Status.FAILED, "cannot read the document"),
    85: ExitMeaning(Status.UNSUPPORTED, "DRM-protected document not supported"),
    86: ExitMeaning(Status.FAILED, "the document is corrupted"),
    87: ExitMeaning(Status.FAILED, "conversion through its LibreOffice fallback failed"),
    88: ExitMeaning(Status.FAILED, "bad conversion parameters"),
    89: ExitMeaning(Status.FAILED, "conversion parameters missing"),
    90: ExitMeaning(Status.UNSUPPORTED, "DRM-protected document"),
    91: ExitMeaning(Status.UNSUPPORTED, "password-protected document"),
    92: ExitMeaning(Status.FAILED, "ICU (text encoding) error"),
    93: ExitMeaning(Status.FAILED, "the document exceeds x2t's size limits"),
    94: ExitMeaning(Status.OK, "rows beyond x2t's row limit were dropped", keeps_output=True),
    95: ExitMeaning(Status.UNSUPPORTED, "source format could not be detected"),
    96: ExitMeaning(Status.OK, "cells beyond x2t's cell limits were lost", keeps_output=True),
}

FORMATS = extensions(without=frozenset({"xlt", "pot", "pps"}))


def find_x2t() -> str | None:
    override = os.environ.get("ONLYOFFICE_X2T")
    if override:
        return override if os.access(override, os.X_OK) else None
    for pattern in _CANDIDATES:
        for found in newest_first(glob.glob(os.path.join(ROOT, pattern.lstrip("/")))):
            if os.access(found, os.X_OK):
                return found
    return None


def x2t_version(x2t: str) -> str:
    """x2t prints no version; the package around it does."""
    return package_version(x2t, "ONLYOFFICE_VERSION", "onlyoffice-desktopeditors",
                           "onlyoffice-desktopeditors") or "unknown (x2t reports no version)"


def params_xml(source: Path, target: Path, format_code: int, font_dir: str | None,
               all_fonts: Path | None, temp_dir: Path) -> str:
    fields = [("m_sFileFrom", str(source)), ("m_sFileTo", str(target)),
              ("m_nFormatTo", str(format_code)), ("m_sTempDir", str(temp_dir)),
              ("m_bIsNoBase64", "true")]
    if font_dir:
        fields.append(("m_sFontDir", font_dir))
    if all_fonts:
        fields.append(("m_sAllFontsPath", str(all_fonts)))
    body = "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in fields)
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<TaskQueueDataConvert xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xmlns:xsd="http://www.w3.org/2001/XMLSchema">{body}</TaskQueueDataConvert>')


@register
class OnlyOffice(Renderer):
    name = "onlyoffice"
    label = "OnlyOffice"
    formats = FORMATS
    environment = ("ONLYOFFICE_X2T", "ONLYOFFICE_VERSION", "ONLYOFFICE_ALLFONTSGEN",
                   "ONLYOFFICE_FONT_DIR")

    def __init__(self, scratch_dir: Path | None = None) -> None:
        super().__init__(scratch_dir)
        self._all_fonts_path: Path | None | bool = False  # False: not looked for yet

    def availability(self) -> Availability:
        x2t = find_x2t()
        if x2t is None:
            return Availability(False, reason="x2t not found (install ONLYOFFICE Desktop Editors "
                                "from its .deb, or nixpkgs onlyoffice-desktopeditors; or set "
                                "ONLYOFFICE_X2T)")
        return Availability(True, version=x2t_version(x2t), executable=x2t)

    def _font_dir(self) -> str | None:
        declared = os.environ.get("ONLYOFFICE_FONT_DIR")
        if declared:
            return declared if Path(declared).is_dir() else None
        return next((str(Path(ROOT, d.lstrip("/"))) for d in FONT_DIRS
                     if Path(ROOT, d.lstrip("/")).is_dir()), None)

    def _all_fonts(self, x2t: str, timeout_seconds: float) -> Path | None:
        if self._all_fonts_path is False:
            self._all_fonts_path = self._generate_all_fonts(x2t, timeout_seconds)
        return self._all_fonts_path

    def _generate_all_fonts(self, x2t: str, timeout_seconds: float) -> Path | None:
        """AllFonts.js for this machine's fonts, generated once and kept by font set."""
        generator = os.environ.get("ONLYOFFICE_ALLFONTSGEN") or next(
            (str(p) for p in (Path(x2t).parent / "allfontsgen",
                              Path(x2t).parent.parent / "tools" / "allfontsgen")
             if os.access(p, os.X_OK)), None)
        font_dir = self._font_dir()
        if generator is None or font_dir is None:
            return None  # x2t then scans m_sFontDir itself, more slowly
        fingerprint = hashlib.sha256("\n".join(sorted(
            str(p) for p in Path(font_dir).rglob("*") if p.is_file())).encode()).hexdigest()[:12]
        folder = self.scratch_dir / f"onlyoffice-fonts-{fingerprint}"
        all_fonts = folder / "AllFonts.js"
        if not all_fonts.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            run_in_group([generator, f"--input={font_dir}", f"--allfonts={all_fonts}",
                          f"--selection={folder / 'font_selection.bin'}", "--use-system=true"],
                         timeout_seconds=max(timeout_seconds, 120), cwd=Path(generator).parent)
        return all_fonts if all_fonts.is_file() else None

    def convert(self, document: Path, task: Task, workdir: Path,
                timeout_seconds: float) -> RenderOutcome:
        x2t = self.availability().executable
        extension = target_extension(task, document.suffix)
        outdir = workdir / "out"
        temp = workdir / "x2t-temp"
        outdir.mkdir(parents=True, exist_ok=True)
        temp.mkdir(exist_ok=True)
        target = outdir / f"{document.stem}.{extension}"
        params = workdir / "params.xml"
        params.write_text(params_xml(document.resolve(), target, FORMAT_CODES[extension],
                                     self._font_dir(), self._all_fonts(x2t, timeout_seconds),
                                     temp), encoding="utf-8")
        converter_dir = str(Path(x2t).parent)
        env = dict(os.environ, HOME=str(workdir),
                   LD_LIBRARY_PATH=os.pathsep.join(
                       p for p in (converter_dir, os.environ.get("LD_LIBRARY_PATH")) if p))
        result = run_in_group([x2t, str(params)], timeout_seconds=timeout_seconds,
                              cwd=Path(converter_dir), env=env)
        shutil.rmtree(temp, ignore_errors=True)
        return classify(self.label, result, target, extension, timeout_seconds=timeout_seconds,
                        via="x2t", exit_codes=EXIT_CODES)
