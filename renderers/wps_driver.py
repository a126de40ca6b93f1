"""Runs one WPS Office conversion through pywpsrpc; started by ``renderers.wps`` in its own
process group, so a timeout kills WPS, Xvfb and this driver together.

    python -m renderers.wps_driver word|spreadsheet|presentation show|save|save-odf SOURCE TARGET

WPS needs an X display even when hidden: a private Xvfb is started first. Prints one JSON
line; exit codes: 0 written, 2 WPS's RPC could not start, 3 the document did not open,
4 it could not be saved, 5 no X display.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

EXIT_RPC, EXIT_OPEN, EXIT_SAVE, EXIT_DISPLAY = 2, 3, 4, 5


def start_display() -> subprocess.Popen:
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp",
                             "-screen", "0", "1280x1024x24"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number.isdigit():
        xvfb.kill()
        raise OSError("Xvfb did not report a display")
    os.environ["DISPLAY"] = f":{number}"
    return xvfb


def _done(code: int, message: str, pid: int | None = None) -> None:
    print(json.dumps({"code": code, "message": message}), flush=True)
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)  # WPS outlives Quit(); the group kill is the backstop
        except OSError:
            pass
    sys.exit(code)


def convert(kind: str, task: str, source: str, target: str) -> None:
    from pywpsrpc.common import S_OK  # noqa: PLC0415 - only where WPS is installed

    if kind == "word":
        from pywpsrpc.rpcwpsapi import createWpsRpcInstance, wpsapi  # noqa: PLC0415
        formats = {"show": wpsapi.wdFormatPDF, "save": wpsapi.wdFormatXMLDocument,
                   "save-odf": wpsapi.wdFormatOpenDocumentText}
        hr, rpc = createWpsRpcInstance()
        hr, app = (hr, None) if hr != S_OK else rpc.getWpsApplication()
    elif kind == "spreadsheet":
        from pywpsrpc.rpcetapi import createEtRpcInstance, etapi  # noqa: PLC0415
        hr, rpc = createEtRpcInstance()
        hr, app = (hr, None) if hr != S_OK else rpc.getEtApplication()
    else:
        from pywpsrpc.rpcwppapi import createWppRpcInstance, wppapi  # noqa: PLC0415
        formats = {"show": wppapi.PpSaveAsFileType.ppSaveAsPDF,
                   "save": wppapi.PpSaveAsFileType.ppSaveAsOpenXMLPresentation,
                   "save-odf": wppapi.PpSaveAsFileType.ppSaveAsOpenDocumentPresentation}
        hr, rpc = createWppRpcInstance()
        hr, app = (hr, None) if hr != S_OK else rpc.getWppApplication()
    if hr != S_OK or app is None:
        _done(EXIT_RPC, f"WPS's RPC did not start (hr {hr:#x})")
    _, pid = rpc.getProcessPid()
    if kind == "word":
        app.Visible = False
        hr, doc = app.Documents.Open(source, ReadOnly=True)
        if hr != S_OK:
            _done(EXIT_OPEN, f"Documents.Open failed (hr {hr:#x})", pid)
        hr = doc.SaveAs2(target, FileFormat=formats[task])
        doc.Close(wpsapi.wdDoNotSaveChanges)
    elif kind == "spreadsheet":
        app.Visible = False
        hr, book = app.Workbooks.Open(source, ReadOnly=True)
        if hr != S_OK:
            _done(EXIT_OPEN, f"Workbooks.Open failed (hr {hr:#x})", pid)
        if task == "show":
            hr = book.ExportAsFixedFormat(etapi.XlFixedFormatType.xlTypePDF, target)
        else:
            hr = book.SaveAs(target, etapi.XlFileFormat.xlOpenXMLWorkbook if task == "save"
                             else etapi.XlFileFormat.xlOpenDocumentSpreadsheet)
        book.Close(False)
    else:
        hr, deck = app.Presentations.Open(source, ReadOnly=True,
                                          WithWindow=wppapi.MsoTriState.msoFalse)
        if hr != S_OK:
            _done(EXIT_OPEN, f"Presentations.Open failed (hr {hr:#x})", pid)
        hr = deck.SaveAs(target, formats[task])
        deck.Close()
    if hr != S_OK:
        _done(EXIT_SAVE, f"saving failed (hr {hr:#x})", pid)
    app.Quit()
    _done(0, "written", pid)


def main() -> None:
    kind, task, source, target = sys.argv[1:5]
    try:
        xvfb = start_display()
    except OSError as exc:
        _done(EXIT_DISPLAY, f"no X display for WPS: {exc}")
    try:
        from pywpsrpc.common import QtApp  # noqa: PLC0415
        _qt = QtApp(sys.argv)  # pywpsrpc's RPC runs on a Qt event loop
        convert(kind, task, source, target)
    finally:
        xvfb.kill()


if __name__ == "__main__":
    main()
