"""Drives Word, Excel and PowerPoint through COM (pywin32) for ``renderers.msoffice_live``;
started by it as a child process, one per worker, which keeps one instance of each
application it has needed and converts one document per request.

    python -m renderers.msoffice_driver serve    # JSON requests on stdin, one reply a line
    python -m renderers.msoffice_driver probe    # one JSON line: pywin32, Office, version

A request is ``{"family": "word"|"spreadsheet"|"presentation", "source": ABS, "target":
ABS}``; the reply's ``kind`` is ``written``, ``password``, ``repair``, ``open_failed``,
``export_failed``, ``app_lost``, ``missing_app`` or ``error``, with Office's own message,
and a written one carries the ``version`` of the application that exported it. As soon as an
application is started, and before any reply, a ``{"started": PID, "app": NAME}`` line
names its process: COM starts it outside this driver's process tree, so the suite kills it
by that number when the driver hangs.
Each document is opened read-only, with macros disabled
(``AutomationSecurity = msoAutomationSecurityForceDisable``), links not updated, no dialog
(``DisplayAlerts`` off, and a password that cannot be right, so that Office raises instead
of asking for one), exported with ``ExportAsFixedFormat`` and closed without saving.
Imports nothing of the harness (``renderers.msoffice_live`` imports its table of
applications): it needs pywin32, and psutil to find the process of a new application.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NamedTuple

# Office's object-model constants (its type library's values).
MSO_AUTOMATION_SECURITY_FORCE_DISABLE = 3
MSO_TRUE, MSO_FALSE = -1, 0
WD_ALERTS_NONE, WD_DO_NOT_SAVE_CHANGES, WD_EXPORT_FORMAT_PDF = 0, 0, 17
WD_EXPORT_OPTIMIZE_FOR_PRINT, WD_EXPORT_ALL_DOCUMENT, WD_EXPORT_DOCUMENT_CONTENT = 0, 0, 0
WD_EXPORT_CREATE_NO_BOOKMARKS = 0
XL_TYPE_PDF, XL_QUALITY_STANDARD, XL_NORMAL_LOAD = 0, 0, 0
XL_UPDATE_LINKS_NEVER = 0
PP_ALERTS_NONE, PP_FIXED_FORMAT_TYPE_PDF, PP_FIXED_FORMAT_INTENT_PRINT = 1, 2, 2
PP_PRINT_OUTPUT_SLIDES, PP_PRINT_HANDOUT_VERTICAL_FIRST, PP_PRINT_ALL = 1, 1, 1

# Given as the opening password: a document without one opens as if none were given, and an
# encrypted one raises "the password is incorrect" instead of waiting on a dialog.
NO_PASSWORD = "fidelity-harness-gives-no-password"

# HRESULTs (signed, as pywin32 gives them).
DISP_E_EXCEPTION = -2147352567  # 0x80020009: the application raised; excepinfo says what
WORD_BAD_PASSWORD = -2146822880  # 0x800A1520: Word error 5408, "The password is incorrect"
# The application's process is gone or no longer answers: it is restarted.
APP_LOST = frozenset({
    -2147023174,  # 0x800706BA RPC_S_SERVER_UNAVAILABLE "The RPC server is unavailable."
    -2147023170,  # 0x800706BE RPC_S_CALL_FAILED "The remote procedure call failed."
    -2147417848,  # 0x80010108 RPC_E_DISCONNECTED "The object invoked has disconnected..."
    -2147417851,  # 0x80010105 RPC_E_SERVERFAULT "The server threw an exception."
    -2146959355,  # 0x80080005 CO_E_SERVER_EXEC_FAILURE "Server execution failed"
})
CLASS_NOT_REGISTERED = frozenset({-2147221005, -2147221164})  # CO_E_CLASSSTRING, REGDB_E_CLASSNOTREG
# What Office says of a file it would offer to repair (Word: "found unreadable content",
# "found a problem with its contents"; Excel: "We found a problem with some content";
# PowerPoint: "found a problem with content ... can attempt to repair"). English only: a
# localised Office's wording falls through to `open_failed`, which is failed as well.
REPAIR_WORDS = ("repair", "recover", "unreadable content", "found a problem with")



class Application(NamedTuple):
    progid: str  # what COM starts
    name: str  # what Office calls it, and what outcomes and references name
    image: str  # its process's executable


# The one table of Office's applications, by document family (harness.formats.family).
APPLICATIONS = {"word": Application("Word.Application", "Microsoft Word", "WINWORD.EXE"),
                "spreadsheet": Application("Excel.Application", "Microsoft Excel",
                                           "EXCEL.EXE"),
                "presentation": Application("PowerPoint.Application", "Microsoft PowerPoint",
                                            "POWERPNT.EXE")}


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _com_error_parts(exc: BaseException) -> tuple[int | None, int | None, str]:
    """(hresult, the application's scode, the application's message) of a com_error."""
    args = getattr(exc, "args", ())
    hresult = getattr(exc, "hresult", args[0] if args else None)
    text = getattr(exc, "strerror", args[1] if len(args) > 1 else "") or ""
    info = getattr(exc, "excepinfo", args[2] if len(args) > 2 else None)
    scode = None
    if info:
        text = info[2] or text
        scode = info[5] if len(info) > 5 else None
    return hresult, scode, " ".join(str(text).split())


def opening_kind(hresult: int | None, scode: int | None, message: str) -> str:
    """What an error raised by Documents/Workbooks/Presentations.Open means."""
    if hresult in APP_LOST or scode in APP_LOST:
        return "app_lost"
    lowered = message.lower()
    if scode == WORD_BAD_PASSWORD or "password" in lowered:
        return "password"
    if any(word in lowered for word in REPAIR_WORDS):
        return "repair"
    return "open_failed"


class Office:
    """The applications this driver started, one per family, created when first needed."""

    def __init__(self, com: Any, pythoncom: Any, pywintypes: Any) -> None:
        self.com, self.pythoncom, self.pywintypes = com, pythoncom, pywintypes
        self.apps: dict[str, Any] = {}
        self.versions: dict[str, str | None] = {}

    def app(self, family: str) -> Any:
        if family not in self.apps:
            progid, name, _ = APPLICATIONS[family]
            before = _office_pids(family)
            app = self.com.DispatchEx(progid)  # a new instance, never the user's own
            pid = _pid_of(app, family, before)
            if pid:  # told at once: the settings below, or the first Open, may hang
                _reply({"started": pid, "app": name})
            app.AutomationSecurity = MSO_AUTOMATION_SECURITY_FORCE_DISABLE
            if family == "word":
                app.Visible = False
                app.DisplayAlerts = WD_ALERTS_NONE
                app.Options.UpdateLinksAtOpen = False
            elif family == "spreadsheet":
                app.Visible = False
                app.DisplayAlerts = False
                app.AskToUpdateLinks = False
            else:  # PowerPoint refuses to hide its window; WithWindow=False opens none
                app.DisplayAlerts = PP_ALERTS_NONE
            self.apps[family] = app
            self.versions[family] = self._version(app)
        return self.apps[family]

    def _version(self, app: Any) -> str | None:
        """The application's version, read once when it starts: the one that exports."""
        try:
            build, version = str(app.Build), str(app.Version)
        except self.pywintypes.com_error:
            return None
        return build if build.count(".") >= 2 else f"{version}.{build}"

    def convert(self, family: str, source: str, target: str) -> dict[str, Any]:
        name = APPLICATIONS[family].name
        try:
            app = self.app(family)
        except self.pywintypes.com_error as exc:
            hresult, scode, message = _com_error_parts(exc)
            kind = "missing_app" if hresult in CLASS_NOT_REGISTERED else "app_lost"
            return {"kind": kind, "message": message, "hresult": hresult, "app": name}
        try:
            document = _open(app, family, source)
        except self.pywintypes.com_error as exc:
            hresult, scode, message = _com_error_parts(exc)
            return {"kind": opening_kind(hresult, scode, message), "message": message,
                    "hresult": scode or hresult, "app": name}
        try:
            _export(document, family, target)
        except self.pywintypes.com_error as exc:
            hresult, scode, message = _com_error_parts(exc)
            kind = "app_lost" if hresult in APP_LOST or scode in APP_LOST else "export_failed"
            return {"kind": kind, "message": message, "hresult": scode or hresult, "app": name}
        finally:
            _close(document, family)
        return {"kind": "written", "message": "", "app": name,
                "version": self.versions.get(family)}

    def quit(self) -> None:
        for family, app in list(self.apps.items()):
            try:
                if family == "word":
                    app.Quit(SaveChanges=WD_DO_NOT_SAVE_CHANGES)
                else:
                    app.Quit()
            except AssertionError:  # the tests' stand-in: a rule of its broken, never hidden
                raise
            except Exception:  # noqa: BLE001 - gone already: nothing to quit
                pass
        self.apps.clear()


def _open(app: Any, family: str, source: str) -> Any:
    if family == "word":
        return app.Documents.Open(
            FileName=source, ConfirmConversions=False, ReadOnly=True, AddToRecentFiles=False,
            PasswordDocument=NO_PASSWORD, Revert=False, Visible=False, OpenAndRepair=False,
            NoEncodingDialog=True)
    if family == "spreadsheet":
        return app.Workbooks.Open(
            Filename=source, UpdateLinks=XL_UPDATE_LINKS_NEVER, ReadOnly=True,
            Password=NO_PASSWORD, IgnoreReadOnlyRecommended=True, Notify=False,
            AddToMru=False, CorruptLoad=XL_NORMAL_LOAD)
    # PowerPoint's Open has no password argument: "FILE::OPEN-PASSWORD::" gives one.
    return app.Presentations.Open(FileName=f"{source}::{NO_PASSWORD}::", ReadOnly=MSO_TRUE,
                                  Untitled=MSO_FALSE, WithWindow=MSO_FALSE)


def _export(document: Any, family: str, target: str) -> None:
    if family == "word":
        document.ExportAsFixedFormat(
            OutputFileName=target, ExportFormat=WD_EXPORT_FORMAT_PDF, OpenAfterExport=False,
            OptimizeFor=WD_EXPORT_OPTIMIZE_FOR_PRINT, Range=WD_EXPORT_ALL_DOCUMENT,
            Item=WD_EXPORT_DOCUMENT_CONTENT, IncludeDocProps=True, KeepIRM=True,
            CreateBookmarks=WD_EXPORT_CREATE_NO_BOOKMARKS, DocStructureTags=True,
            BitmapMissingFonts=True, UseISO19005_1=False)
    elif family == "spreadsheet":
        document.ExportAsFixedFormat(
            Type=XL_TYPE_PDF, Filename=target, Quality=XL_QUALITY_STANDARD,
            IncludeDocProperties=True, IgnorePrintAreas=False, OpenAfterPublish=False)
    else:
        document.ExportAsFixedFormat(
            Path=target, FixedFormatType=PP_FIXED_FORMAT_TYPE_PDF,
            Intent=PP_FIXED_FORMAT_INTENT_PRINT, FrameSlides=MSO_FALSE,
            HandoutOrder=PP_PRINT_HANDOUT_VERTICAL_FIRST, OutputType=PP_PRINT_OUTPUT_SLIDES,
            PrintHiddenSlides=MSO_FALSE, RangeType=PP_PRINT_ALL, IncludeDocProperties=True,
            KeepIRMSettings=True, DocStructureTags=True, BitmapMissingFonts=True,
            UseISO19005_1=False)


def _close(document: Any, family: str) -> None:
    """Closed without saving, whatever happened; a close that fails leaves nothing saved."""
    try:
        if family == "word":
            document.Close(SaveChanges=WD_DO_NOT_SAVE_CHANGES)
        elif family == "spreadsheet":
            document.Close(SaveChanges=False)
        else:  # Presentation.Close takes no argument: marked saved, it closes without asking
            document.Saved = MSO_TRUE
            document.Close()
    except AssertionError:  # the tests' stand-in: a rule of its broken, never hidden
        raise
    except Exception:  # noqa: BLE001 - the application may be gone; the reply says why
        pass


def _office_pids(family: str) -> set[int]:
    """Processes of the family's application (the tests' stand-in names its own so)."""
    import psutil  # noqa: PLC0415 - a harness dependency, needed here only

    return {p.pid for p in psutil.process_iter(["name"])
            if (p.info["name"] or "").upper() == APPLICATIONS[family].image}


def _pid_of(app: Any, family: str, before: set[int]) -> int | None:
    """The process of the application just started, so that a hang can kill it: Office's
    processes are started by COM, outside this driver's process tree. Excel and PowerPoint
    name their window; for Word, the one new WINWORD.EXE."""
    try:
        import win32process  # noqa: PLC0415 - pywin32, Windows only

        hwnd = app.Hwnd if family == "spreadsheet" else (
            app.HWND if family == "presentation" else None)
        if hwnd:
            return win32process.GetWindowThreadProcessId(hwnd)[1]
    except Exception:  # noqa: BLE001 - fall back on the process list
        pass
    new = _office_pids(family) - before
    return new.pop() if len(new) == 1 else None


def _modules() -> tuple[Any, Any, Any]:
    import pythoncom  # noqa: PLC0415 - pywin32, only where Office is
    import pywintypes  # noqa: PLC0415
    import win32com.client  # noqa: PLC0415

    return win32com.client, pythoncom, pywintypes


def _stand_in() -> bool:
    import win32com  # noqa: PLC0415

    return bool(getattr(win32com, "STAND_IN", False))


def probe() -> None:
    """Whether pywin32 imports, which applications COM knows, and the version of one."""
    try:
        com, pythoncom, pywintypes = _modules()
    except ImportError as exc:
        _reply({"ok": False, "message": f"pywin32 does not import here ({exc})"})
        return
    pythoncom.CoInitialize()
    registered = []
    for family, (progid, _, _) in APPLICATIONS.items():
        try:
            pythoncom.CLSIDFromProgID(progid)
            registered.append(family)
        except pywintypes.com_error:
            continue
    answer: dict[str, Any] = {"ok": bool(registered), "registered": registered,
                              "stand_in": _stand_in()}
    if registered:
        office = Office(com, pythoncom, pywintypes)
        try:
            office.app(registered[0])
            answer["version"] = office.versions[registered[0]]
        except pywintypes.com_error as exc:
            answer.update(ok=False, message=f"{APPLICATIONS[registered[0]].name} did not "
                          f"start: {_com_error_parts(exc)[2]}")
        finally:
            office.quit()
    else:
        answer["message"] = "no Word, Excel or PowerPoint is registered with COM"
    _reply(answer)


def serve() -> None:
    try:
        com, pythoncom, pywintypes = _modules()
    except ImportError as exc:
        _reply({"ready": False, "message": f"pywin32 does not import here ({exc})"})
        sys.exit(2)
    pythoncom.CoInitialize()
    office = Office(com, pythoncom, pywintypes)
    _reply({"ready": True, "stand_in": _stand_in()})
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            try:
                answer = office.convert(request["family"], request["source"],
                                        request["target"])
            except Exception as exc:  # noqa: BLE001 - a reply, never a dead driver
                answer = {"kind": "error", "message": f"{type(exc).__name__}: {exc}"[:500],
                          "app": APPLICATIONS[request["family"]].name}
            _reply(answer)
            if answer["kind"] == "app_lost":
                break  # the renderer starts a new driver, with new applications
    finally:
        office.quit()
        pythoncom.CoUninitialize()


def main() -> None:
    if sys.argv[1:2] == ["probe"]:
        probe()
    else:
        serve()


if __name__ == "__main__":
    main()
