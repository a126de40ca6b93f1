"""The stand-in's Microsoft PowerPoint (see the package's docstring for what it enforces)."""

from __future__ import annotations

from typing import Any

from win32com._base import (DISP_E_EXCEPTION, DISP_E_UNKNOWNNAME, E_FAIL, PPT_INVALID_REQUEST,
                            _Application, _Document, _log, _named, _require, com_error,
                            trouble)


class _Presentation(_Document):
    def ExportAsFixedFormat(self, **arguments: Any) -> None:  # noqa: N802
        _named("ExportAsFixedFormat", arguments, {
            "Path", "FixedFormatType", "Intent", "FrameSlides", "HandoutOrder", "OutputType",
            "PrintHiddenSlides", "PrintRange", "RangeType", "SlideShowName",
            "IncludeDocProperties", "KeepIRMSettings", "DocStructureTags",
            "BitmapMissingFonts", "UseISO19005_1", "ExternalExporter"})
        _require(arguments.get("FixedFormatType") == 2,
                 "FixedFormatType must be ppFixedFormatTypePDF (2)")
        self._export(arguments["Path"], "ExportAsFixedFormat")

    def __setattr__(self, key: str, value: Any) -> None:
        _log(self._app.name, f"set Presentation.{key}", value=value)
        self.__dict__[key] = value

    def Close(self, *arguments: Any, **named: Any) -> None:  # noqa: N802
        if arguments or named:
            raise com_error(DISP_E_UNKNOWNNAME, "Unknown name.", None, None)
        _require(self.Saved in (True, -1), "Presentation.Close while not marked Saved: "
                 "PowerPoint would ask whether to save")
        self._closed()


class _Presentations:
    def __init__(self, app: _Application) -> None:
        self._app = app

    def Open(self, FileName: str, **arguments: Any) -> _Presentation:  # noqa: N802,N803
        _named("Open", arguments, {"ReadOnly", "Untitled", "WithWindow"})
        app = self._app
        _log(app.name, "Presentations.Open", FileName=FileName, **arguments)
        parts = FileName.split("::")
        _require(len(parts) >= 2, "without FILE::PASSWORD::, PowerPoint asks for the "
                 "password of an encrypted presentation in a dialog nobody sees")
        source = app._before_open(parts[0])
        _require(arguments.get("ReadOnly") in (True, -1), "Presentations.Open without ReadOnly")
        _require(arguments.get("WithWindow") in (False, 0), "Presentations.Open must not open "
                 "a window (WithWindow=msoFalse)")
        problem = trouble(source)
        if problem == "password":
            app._raise("Presentations.Open : The password is incorrect. PowerPoint cannot "
                       "open the file.", E_FAIL)
        if problem == "repair":
            app._raise(f"Presentations.Open : PowerPoint found a problem with content in "
                       f"{parts[0]}. PowerPoint can attempt to repair the presentation.",
                       E_FAIL)
        if problem == "corrupt":
            app._raise("Presentations.Open : PowerPoint could not open the file.", E_FAIL)
        return _Presentation(app, source)


class _PowerPoint(_Application):
    name, progid, image = ("Microsoft PowerPoint", "PowerPoint.Application",
                           "POWERPNT.EXE")

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "Presentations", _Presentations(self))
        self._settings.update(DisplayAlerts=2, AutomationSecurity=1)

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "Visible" and value in (False, 0):
            self._raise("Application.Visible : Invalid request.  Hiding the application "
                        "window is not allowed.", PPT_INVALID_REQUEST)
        super().__setattr__(key, value)

    def _check_quiet(self, settings: dict[str, Any]) -> None:
        _require(settings.get("DisplayAlerts") == 1, "DisplayAlerts must be ppAlertsNone (1)")

    def _raise(self, description: str, scode: int | str) -> None:
        raise com_error(DISP_E_EXCEPTION, "Exception occurred.",
                        (0, self.name, description, "", 0,
                         scode if isinstance(scode, int) else E_FAIL), None)
