"""Part of the COM stand-in (see ``win32com``): pywin32's ``com_error``, with the attributes
and argument order pywin32 gives it: (hresult, strerror, excepinfo, argerror), excepinfo
being (wCode, source, description, helpfile, helpcontext, scode) when the application
raised the error itself."""

from __future__ import annotations


class com_error(Exception):  # noqa: N801 - pywin32's name
    def __init__(self, hresult: int, strerror: str, excepinfo: tuple | None = None,
                 argerror: int | None = None) -> None:
        super().__init__(hresult, strerror, excepinfo, argerror)
        self.hresult, self.strerror = hresult, strerror
        self.excepinfo, self.argerror = excepinfo, argerror
