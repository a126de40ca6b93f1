"""The stand-in's Microsoft Excel (see the package's docstring for what it enforces)."""

from __future__ import annotations

from typing import Any

from win32com._base import (DISP_E_EXCEPTION, EXCEL_1004, _Application, _Document, _log,
                            _named, _require, com_error, trouble)


class _Workbook(_Document):
    def ExportAsFixedFormat(self, **arguments: Any) -> None:  # noqa: N802
        _named("ExportAsFixedFormat", arguments, {
            "Type", "Filename", "Quality", "IncludeDocProperties", "IgnorePrintAreas", "From",
            "To", "OpenAfterPublish", "FixedFormatExtClassPtr"})
        _require(arguments.get("Type") == 0, "Type must be xlTypePDF (0)")
        _require(not arguments.get("OpenAfterPublish"), "OpenAfterPublish would open a viewer")
        self._export(arguments["Filename"], "ExportAsFixedFormat")

    def Close(self, **arguments: Any) -> None:  # noqa: N802
        _named("Close", arguments, {"SaveChanges", "Filename", "RouteWorkbook"})
        _require("SaveChanges" in arguments and arguments["SaveChanges"] is False,
                 "Close without SaveChanges=False may save the workbook")
        self._closed(**arguments)


class _Workbooks:
    def __init__(self, app: _Application) -> None:
        self._app = app

    def Open(self, Filename: str, **arguments: Any) -> _Workbook:  # noqa: N802,N803
        _named("Open", arguments, {
            "UpdateLinks", "ReadOnly", "Format", "Password", "WriteResPassword",
            "IgnoreReadOnlyRecommended", "Origin", "Delimiter", "Editable", "Notify",
            "Converter", "AddToMru", "Local", "CorruptLoad"})
        app = self._app
        _log(app.name, "Workbooks.Open", Filename=Filename, **arguments)
        source = app._before_open(Filename)
        _require(arguments.get("UpdateLinks") == 0, "Workbooks.Open without UpdateLinks=0: "
                 "external links would be updated")
        _require(arguments.get("ReadOnly") is True, "Workbooks.Open without ReadOnly=True")
        _require(arguments.get("Notify") is False, "Notify must be False: Excel would wait")
        _require(arguments.get("AddToMru") is False, "AddToMru must be False")
        _require(arguments.get("CorruptLoad", 0) == 0, "CorruptLoad other than xlNormalLoad "
                 "repairs silently")
        _require("Password" in arguments, "without Password, Excel asks for the password of "
                 "an encrypted workbook in a dialog nobody sees")
        problem = trouble(source)
        if problem == "password":
            app._raise("The password you supplied is not correct. Verify that the CAPS LOCK "
                       "key is off and be sure to use the correct capitalization.", EXCEL_1004)
        if problem == "repair":
            app._raise(f"We found a problem with some content in '{source.name}'. Do you "
                       "want us to try to recover as much as we can? If you trust the source "
                       "of this workbook, click Yes.", EXCEL_1004)
        if problem == "corrupt":
            app._raise(f"Excel cannot open the file '{source.name}' because the file format "
                       "or file extension is not valid. Verify that the file has not been "
                       "corrupted and that the file extension matches the format of the "
                       "file.", EXCEL_1004)
        return _Workbook(app, source)


class _Excel(_Application):
    name, progid, image = "Microsoft Excel", "Excel.Application", "EXCEL.EXE"

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "Workbooks", _Workbooks(self))
        self._settings.update(Visible=True, DisplayAlerts=True, AutomationSecurity=1,
                              AskToUpdateLinks=True)

    def _check_quiet(self, settings: dict[str, Any]) -> None:
        _require(settings.get("DisplayAlerts") is False, "DisplayAlerts must be False")
        _require(settings.get("Visible") is False, "Excel must be hidden")
        _require(settings.get("AskToUpdateLinks") is False, "AskToUpdateLinks must be False")

    def _raise(self, description: str, scode: int | str) -> None:
        raise com_error(DISP_E_EXCEPTION, "Exception occurred.",
                        (0, self.name, description, "xlmain11.chm", 0,
                         scode if isinstance(scode, int) else EXCEL_1004), None)
