"""A stand-in for OnlyOffice's x2t, enforcing its documented interface.

It cannot convert anything; it checks what a real x2t needs and answers with a real x2t's
exit codes: one argument, the params XML; a ``TaskQueueDataConvert`` root with
``m_sFileFrom``, ``m_sFileTo`` and a known ``m_nFormatTo``; the font and temp folders it is
given exist; run from its own folder. A readable source gives a one-page PDF carrying the
source's name, or a copy of the source for a save. ``FAKE_X2T_EXIT`` forces an exit code
(``hang`` sleeps, ``segv`` kills itself) so tests can exercise every mapping.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.fakes.outputs import write_package, write_pdf

FORMATS_TO = {513: "pdf", 65: "docx", 257: "xlsx", 129: "pptx", 67: "odt", 259: "ods",
              131: "odp"}
FAMILY = {"docx": "word", "odt": "word", "xlsx": "cell", "ods": "cell", "pptx": "slide",
          "odp": "slide"}
SOURCE_FAMILY = {**dict.fromkeys(("doc", "docx", "docm", "dotx", "rtf", "odt"), "word"),
                 **dict.fromkeys(("xls", "xlsx", "xlsm", "ods", "csv"), "cell"),
                 **dict.fromkeys(("ppt", "pptx", "pptm", "ppsx", "odp"), "slide")}
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
READ_FILE, CORRUPTED, PARAMS, NEED_PARAMS, PASSWORD = 84, 86, 88, 89, 91


def _fail(code: int, why: str) -> None:
    print(f"x2t (stand-in): {why}", file=sys.stderr)
    sys.exit(code)


def main() -> None:
    forced = os.environ.get("FAKE_X2T_EXIT")
    if forced == "hang":
        time.sleep(3600)
    if forced == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if len(sys.argv) != 2:
        _fail(NEED_PARAMS, "usage: x2t params.xml")
    if os.path.realpath(os.getcwd()) != os.path.dirname(os.path.realpath(sys.argv[0])):
        _fail(PARAMS, "must run from the converter's own folder")
    try:
        root = ET.parse(sys.argv[1]).getroot()
    except (OSError, ET.ParseError) as exc:
        _fail(PARAMS, f"unreadable params XML: {exc}")
    if root.tag != "TaskQueueDataConvert":
        _fail(PARAMS, f"root element is {root.tag}")
    fields = {child.tag: (child.text or "") for child in root}
    for required in ("m_sFileFrom", "m_sFileTo", "m_nFormatTo"):
        if not fields.get(required):
            _fail(NEED_PARAMS, f"{required} missing")
    if not fields["m_nFormatTo"].isdigit() or int(fields["m_nFormatTo"]) not in FORMATS_TO:
        _fail(PARAMS, f"unknown m_nFormatTo {fields['m_nFormatTo']}")
    for folder in ("m_sFontDir", "m_sTempDir"):
        if folder in fields and not Path(fields[folder]).is_dir():
            _fail(PARAMS, f"{folder} {fields[folder]} is not a folder")
    if "m_sAllFontsPath" in fields and not Path(fields["m_sAllFontsPath"]).is_file():
        _fail(PARAMS, "m_sAllFontsPath does not exist")
    source, target = Path(fields["m_sFileFrom"]), Path(fields["m_sFileTo"])
    target_format = FORMATS_TO[int(fields["m_nFormatTo"])]
    if not source.is_file() or source.stat().st_size == 0:
        _fail(READ_FILE, f"cannot read {source}")
    head = source.read_bytes()[:8]
    extension = source.suffix.lower().lstrip(".")
    if extension in ("docx", "xlsx", "pptx", "docm", "xlsm", "pptm", "odt", "ods", "odp"):
        if head == OLE_MAGIC:
            _fail(PASSWORD, "encrypted package (password required)")
        if not zipfile.is_zipfile(source):
            _fail(CORRUPTED, "not a zip package")
    if target_format != "pdf" and FAMILY[target_format] != SOURCE_FAMILY.get(extension):
        _fail(PARAMS, f"cannot write .{target_format} from .{extension}")
    if forced and forced.isdigit():
        code = int(forced)
        if code in (94, 96):  # limits: x2t still writes the file
            write_pdf(target, [f"Rendered by the x2t stand-in: {source.name}"])
        sys.exit(code)
    if target_format == "pdf":
        write_pdf(target, [f"Rendered by the x2t stand-in: {source.name}"])
    elif extension == target_format:
        target.write_bytes(source.read_bytes())
    else:
        write_package(target, target_format)
    sys.exit(0)


def install(folder: Path) -> Path:
    """An executable ``converter/x2t`` in `folder` that runs this stand-in, laid out as the
    real OnlyOffice install lays out its x2t."""
    repo = Path(__file__).resolve().parents[2]
    converter = folder / "converter"
    converter.mkdir(parents=True)
    x2t = converter / "x2t"
    x2t.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(repo)!r})\n"
                   "from tests.fakes.fake_x2t import main\nmain()\n")
    x2t.chmod(0o755)
    return x2t
