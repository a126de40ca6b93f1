"""The stand-in's Office applications (see the package's docstring for what they enforce)."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import olefile
from pywintypes import com_error
from tests.fakes.outputs import write_pdf

DISP_E_EXCEPTION = -2147352567
DISP_E_UNKNOWNNAME = -2147352570
RPC_S_SERVER_UNAVAILABLE = -2147023174
WORD_ERROR = -2146828288  # 0x800A0000: Word's error n is raised as this + n
EXCEL_1004 = -2146827284  # 0x800A03EC
E_FAIL = -2147467259
PPT_INVALID_REQUEST = -2147188160  # 0x80048240
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
PACKAGES = {"docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "pptx", "pptm",
            "potx", "potm", "ppsx", "odt", "ods", "odp"}
BUILD = "16.0.0.0"


class StandInViolation(AssertionError):
    """The harness called Office in a way the stand-in forbids: with a real Office it would
    prompt, save, run macros, update links or take over the user's own instance."""


def _log(app: str, call: str, **arguments: Any) -> None:
    path = os.environ.get("FAKE_OFFICE_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"app": app, "call": call, "arguments": arguments},
                                 default=str) + "\n")


def _named(method: str, given: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(given) - allowed
    if unknown:  # what a late-bound call with a wrong named argument gets
        raise com_error(DISP_E_UNKNOWNNAME, "Unknown name.", None, None)


def _require(condition: bool, why: str) -> None:
    if not condition:
        raise StandInViolation(why)


def trouble(path: Path) -> str | None:
    """password, repair, corrupt, or None for a file Office opens."""
    with path.open("rb") as fh:
        head = fh.read(8)
    extension = path.suffix.lower().lstrip(".")
    if head == OLE_MAGIC:
        if extension in PACKAGES:  # Office encrypts a package into an OLE container
            return "password"
        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(s).lower() for s in ole.listdir()}
        return "password" if {"encryptioninfo", "encryptedpackage"} & streams else None
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as package:
                return "repair" if package.testzip() is not None else None
        except (zipfile.BadZipFile, OSError, EOFError):
            return "repair"
    if extension in ("csv", "rtf") or head.startswith(b"{\\rtf"):
        return None  # text Office reads whatever it holds
    return "corrupt"


class _Application:
    name = ""
    progid = ""
    hidden_by_default = True

    def __init__(self) -> None:
        object.__setattr__(self, "_settings", {})
        object.__setattr__(self, "_alive", True)
        object.__setattr__(self, "Version", "16.0")
        object.__setattr__(self, "Build", BUILD)

    def __setattr__(self, key: str, value: Any) -> None:
        self._alive_or_raise()
        _log(self.name, f"set {key}", value=value)
        self._settings[key] = value

    def __getattr__(self, key: str) -> Any:
        settings = object.__getattribute__(self, "_settings")
        if key in settings:
            return settings[key]
        raise AttributeError(key)

    def _alive_or_raise(self) -> None:
        if not object.__getattribute__(self, "_alive"):
            raise com_error(RPC_S_SERVER_UNAVAILABLE, "The RPC server is unavailable.",
                            None, None)

    def _before_open(self, path: str) -> Path:
        self._alive_or_raise()
        settings = self._settings
        _require(settings.get("AutomationSecurity") == 3, "a document opened while macros "
                 "may run: AutomationSecurity must be msoAutomationSecurityForceDisable (3)")
        self._check_quiet(settings)
        if os.environ.get("FAKE_OFFICE_CRASH"):
            object.__setattr__(self, "_alive", False)
            self._alive_or_raise()
        if os.environ.get("FAKE_OFFICE_EXIT"):
            os._exit(int(os.environ["FAKE_OFFICE_EXIT"]))  # pywin32 taking its process down
        if os.environ.get("FAKE_OFFICE_HANG"):
            time.sleep(3600)  # a dialog nobody sees
        source = Path(path)
        _require(source.is_absolute(), f"Office resolves a relative path against its own "
                 f"folder, not the harness's: {path}")
        if not source.is_file():
            self._raise(f"Sorry, we couldn't find {path}.", "missing")
        return source

    def _check_quiet(self, settings: dict[str, Any]) -> None:
        raise NotImplementedError

    def _raise(self, description: str, scode: int | str) -> None:
        raise NotImplementedError

    def Quit(self, **arguments: Any) -> None:  # noqa: N802 - Office's name
        self._alive_or_raise()
        _log(self.name, "Quit", **arguments)
        object.__setattr__(self, "_alive", False)


class _Document:
    """An open document of any application: exports, refuses saves, records its close."""

    def __init__(self, app: _Application, source: Path) -> None:
        # PowerPoint marks a presentation changed when opening converts it or updates its
        # fields: unless told it is saved, it asks on Close.
        self.__dict__.update(_app=app, _source=source, _open=True, Saved=0)

    def _export(self, target: str, what: str) -> None:
        app = self._app
        app._alive_or_raise()
        _require(self._open, "export of a closed document")
        path = Path(target)
        _require(path.is_absolute(), f"relative export path {target}")
        if not path.parent.is_dir():
            app._raise(f"The export failed: {path.parent} does not exist.", "export")
        write_pdf(path, [f"Rendered by the Microsoft Office COM stand-in ({app.name}): "
                         f"{self._source.name}"])
        _log(app.name, what, target=target)

    def _refuse_save(self, *arguments: Any, **named: Any) -> None:
        _log(self._app.name, "Save", arguments=arguments, named=named)
        raise StandInViolation("the harness must never save a document it renders")

    Save = SaveAs = SaveAs2 = SaveCopyAs = _refuse_save

    def _closed(self, **arguments: Any) -> None:
        _log(self._app.name, "Close", **arguments)
        self.__dict__["_open"] = False


# --------------------------------------------------------------------------- Word

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
    name, progid = "Microsoft Word", "Word.Application"

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


# --------------------------------------------------------------------------- Excel

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
    name, progid = "Microsoft Excel", "Excel.Application"

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


# --------------------------------------------------------------------------- PowerPoint

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
    name, progid = "Microsoft PowerPoint", "PowerPoint.Application"

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


_APPLICATIONS = {cls.progid: cls for cls in (_Word, _Excel, _PowerPoint)}


def application(progid: str) -> _Application:
    _log(_APPLICATIONS[progid].name, "DispatchEx", progid=progid)
    return _APPLICATIONS[progid]()
