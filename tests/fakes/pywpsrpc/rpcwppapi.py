from __future__ import annotations

from types import SimpleNamespace

from pywpsrpc._app import create

wppapi = SimpleNamespace(
    PpSaveAsFileType=SimpleNamespace(ppSaveAsOpenXMLPresentation=24, ppSaveAsPDF=32,
                                     ppSaveAsOpenDocumentPresentation=35),
    MsoTriState=SimpleNamespace(msoFalse=0, msoTrue=-1))
_FORMATS = {32: "pdf", 24: "pptx", 35: "odp"}


def createWppRpcInstance():  # noqa: N802 - pywpsrpc's name
    return create("Presentations", _FORMATS, "getWppApplication")
