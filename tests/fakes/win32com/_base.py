"""What the stand-in's Office applications share (see the package's docstring for what they
enforce): the rules, Office's errors, the call log, an open document, and a real process
standing for each running application. Word, Excel and PowerPoint are in ``_word``,
``_excel`` and ``_powerpoint``."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
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
# The process standing for a running application: named as Office's executable (Linux's
# prctl PR_SET_NAME), for the driver to find as it finds Office's; gone by itself after a
# while, so that a test that fails leaks nothing for long.
APPLICATION_PROCESS = """\
import ctypes, sys, time
try:
    ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
except (AttributeError, OSError):
    pass
print("started", flush=True)
time.sleep(float(sys.argv[2]))
"""
APPLICATION_PROCESS_SECONDS = 300


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


def _application_process(image: str) -> subprocess.Popen:
    """Started as COM starts Office: outside the driver's session and environment, so that
    neither its process group nor its tag reaches it; only its process id does. Unlike
    Office, it ends with the Python that started it when that one exits by itself (a script
    that broke a rule leaves nothing behind); killed, or ended with os._exit, it does not."""
    process = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", APPLICATION_PROCESS, image,
         str(APPLICATION_PROCESS_SECONDS)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, env={"PATH": os.defpath}, start_new_session=True)
    with process.stdout:
        process.stdout.readline()  # named by now
    atexit.register(process.kill)
    return process


class _Application:
    name = ""
    progid = ""
    image = ""

    def __init__(self) -> None:
        object.__setattr__(self, "_settings", {})
        object.__setattr__(self, "_alive", True)
        object.__setattr__(self, "Version", "16.0")
        object.__setattr__(self, "Build", BUILD)
        object.__setattr__(self, "_process", _application_process(self.image))
        _log(self.name, "DispatchEx", progid=self.progid, pid=self._process.pid)

    def _end(self) -> None:
        object.__setattr__(self, "_alive", False)
        self._process.kill()
        self._process.wait()

    def __setattr__(self, key: str, value: Any) -> None:
        self._alive_or_raise()
        if os.environ.get("FAKE_OFFICE_HANG") == "start":
            time.sleep(3600)  # a first-run dialog, before any document
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
            self._end()
            self._alive_or_raise()
        if os.environ.get("FAKE_OFFICE_EXIT"):
            os._exit(int(os.environ["FAKE_OFFICE_EXIT"]))  # pywin32 taking its process down
        if os.environ.get("FAKE_OFFICE_HANG"):
            time.sleep(3600)  # a dialog nobody sees; the application's process waits too
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
        self._end()


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
