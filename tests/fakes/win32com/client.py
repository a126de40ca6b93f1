"""Part of the COM stand-in (see ``win32com``): ``DispatchEx`` starts a new instance of an
Office application; ``Dispatch``, which would attach to an Office the user has open, is
refused."""

from __future__ import annotations

import pythoncom
from win32com._office import StandInViolation, application


def DispatchEx(progid: str) -> object:  # noqa: N802 - pywin32's name
    if pythoncom._STATE["initialised"] <= 0:
        raise StandInViolation("COM used before pythoncom.CoInitialize()")
    pythoncom.CLSIDFromProgID(progid)  # "Invalid class string" when Office lacks it
    return application(progid)


def Dispatch(progid: str) -> object:  # noqa: N802
    raise StandInViolation("Dispatch attaches to an Office the user may have open; a worker "
                           "must start its own with DispatchEx")
