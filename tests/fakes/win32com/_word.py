"""The stand-in's Microsoft Word (see the package's docstring for what it enforces)."""

from __future__ import annotations

from typing import Any

from win32com._base import (DISP_E_EXCEPTION, WORD_ERROR, _Application, _Document, _log,
                            _named, _require, com_error, trouble)


class _WordOptions:
    def __init__(self, app: _Application) -> None:
        self.__dict__["_app"] = app

    def __setattr__(self, key: str, value: Any) -> None:
        _log(self._app.name, f"set Options.{key}", value=value)
        self._app._settings[f"Options.{key}"] = value


class _WordDocument(_Document):
    def ExportAsFixedFormat(self, **arguments: Any) -> None:  # noqa: N802
        _named("ExportAsFixedFormat", arguments, {
            "OutputFileName", "ExportFormat", "OpenAfterExport", "OptimizeFor", "Range",
            "From", "To", "Item", "IncludeDocProps", "KeepIRM", "CreateBookmarks",
            "DocStructureTags", "BitmapMissingFonts", "UseISO19005_1", "FixedFormatExtClassPtr"})
        _require(arguments.get("ExportFormat") == 17, "ExportFormat must be wdExportFormatPDF")
        _require(not arguments.get("OpenAfterExport"), "OpenAfterExport would open a viewer")
        self._export(arguments["OutputFileName"], "ExportAsFixedFormat")

    def Close(self, **arguments: Any) -> None:  # noqa: N802
        _named("Close", arguments, {"SaveChanges", "OriginalFormat", "RouteDocument"})
        _require(arguments.get("SaveChanges", None) == 0, "Close without "
                 "SaveChanges=wdDoNotSaveChanges (0) may save the document")
        self._closed(**arguments)


class _Documents:
    def __init__(self, app: _Application) -> None:
        self._app = app

    def Open(self, FileName: str, **arguments: Any) -> _WordDocument:  # noqa: N802,N803
        _named("Open", arguments, {
            "ConfirmConversions", "ReadOnly", "AddToRecentFiles", "PasswordDocument",
            "PasswordTemplate", "Revert", "WritePasswordDocument", "WritePasswordTemplate",
            "Format", "Encoding", "Visible", "OpenAndRepair", "DocumentDirection",
            "NoEncodingDialog", "XMLTransform"})
        app = self._app
        _log(app.name, "Documents.Open", FileName=FileName, **arguments)
        source = app._before_open(FileName)
        _require(arguments.get("ReadOnly") is True, "Documents.Open without ReadOnly=True")
        _require(arguments.get("ConfirmConversions") is False,
                 "ConfirmConversions must be False: Word would ask which converter to use")
        _require(arguments.get("AddToRecentFiles") is False,
                 "AddToRecentFiles must be False")
        _require(arguments.get("Visible") is False, "Documents.Open without Visible=False")
        _require(not arguments.get("OpenAndRepair"), "OpenAndRepair: never repair silently")
        _require("PasswordDocument" in arguments, "without PasswordDocument, Word asks for "
                 "the password of an encrypted document in a dialog nobody sees")
        problem = trouble(source)
        if problem == "password":
            app._raise("The password is incorrect. Word cannot open the document. "
                       f"({FileName})", WORD_ERROR + 5408)
        if problem == "repair":
            app._raise(f"Word found unreadable content in {source.name}. Do you want to "
                       "recover the contents of this document? If you trust the source of "
                       "this document, click Yes.", WORD_ERROR + 5792)
        if problem == "corrupt":
            app._raise("The file appears to be corrupted.", WORD_ERROR + 5792)
        return _WordDocument(app, source)


class _Word(_Application):
    name, progid, image = "Microsoft Word", "Word.Application", "WINWORD.EXE"

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "Documents", _Documents(self))
        object.__setattr__(self, "Options", _WordOptions(self))
        self._settings.update(Visible=True, DisplayAlerts=-1, AutomationSecurity=1)

    def _check_quiet(self, settings: dict[str, Any]) -> None:
        _require(settings.get("DisplayAlerts") == 0, "DisplayAlerts must be wdAlertsNone (0)")
        _require(settings.get("Visible") is False, "Word must be hidden")
        _require(settings.get("Options.UpdateLinksAtOpen") is False,
                 "Options.UpdateLinksAtOpen must be False: links would be updated")

    def _raise(self, description: str, scode: int | str) -> None:
        if not isinstance(scode, int):
            scode = WORD_ERROR + 5174 if scode == "missing" else WORD_ERROR + 5096
        raise com_error(DISP_E_EXCEPTION, "Exception occurred.",
                        (0, self.name, description, "wdmain11.chm", 25272, scode), None)

    def Quit(self, **arguments: Any) -> None:  # noqa: N802
        _named("Quit", arguments, {"SaveChanges", "OriginalFormat", "RouteDocument"})
        _require(arguments.get("SaveChanges") == 0, "Word's Quit must not save: "
                 "SaveChanges=wdDoNotSaveChanges (0)")
        super().Quit(**arguments)
