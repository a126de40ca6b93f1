from __future__ import annotations

from types import SimpleNamespace

from pywpsrpc._app import create

etapi = SimpleNamespace(
    XlFixedFormatType=SimpleNamespace(xlTypePDF=0, xlTypeXPS=1),
    XlFileFormat=SimpleNamespace(xlOpenXMLWorkbook=51, xlOpenDocumentSpreadsheet=60))
# ExportAsFixedFormat's types are mapped to -1 - type by the stand-in document.
_FORMATS = {-1: "pdf", 51: "xlsx", 60: "ods"}


def createEtRpcInstance():  # noqa: N802 - pywpsrpc's name
    return create("Workbooks", _FORMATS, "getEtApplication")
