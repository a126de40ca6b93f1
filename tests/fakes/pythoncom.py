"""Part of the COM stand-in (see ``win32com``): the calls of pythoncom the harness uses.
Which applications are registered is Office's full set, less the ProgIDs named in
``FAKE_OFFICE_MISSING`` (comma-separated), which raise COM's "Invalid class string"."""

from __future__ import annotations

import os

from pywintypes import com_error

CO_E_CLASSSTRING = -2147221005
# The CLSIDs Office registers for its automation servers.
PROGIDS = {"Word.Application": "{000209FF-0000-0000-C000-000000000046}",
           "Excel.Application": "{00024500-0000-0000-C000-000000000046}",
           "PowerPoint.Application": "{91493441-5A91-11CF-8700-00AA0060263B}"}
_STATE = {"initialised": 0}


def CoInitialize() -> None:  # noqa: N802 - pywin32's name
    _STATE["initialised"] += 1


def CoUninitialize() -> None:  # noqa: N802
    _STATE["initialised"] -= 1


def CLSIDFromProgID(progid: str) -> str:  # noqa: N802
    missing = {p.strip() for p in os.environ.get("FAKE_OFFICE_MISSING", "").split(",")}
    if progid not in PROGIDS or progid in missing:
        raise com_error(CO_E_CLASSSTRING, "Invalid class string", None, None)
    return PROGIDS[progid]


__all__ = ["CLSIDFromProgID", "CoInitialize", "CoUninitialize", "com_error"]
