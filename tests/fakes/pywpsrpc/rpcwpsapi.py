from __future__ import annotations

from types import SimpleNamespace

from pywpsrpc._app import create

wpsapi = SimpleNamespace(wdFormatXMLDocument=12, wdFormatPDF=17, wdFormatOpenDocumentText=23,
                         wdDoNotSaveChanges=0)
_FORMATS = {17: "pdf", 12: "docx", 23: "odt"}


def createWpsRpcInstance():  # noqa: N802 - pywpsrpc's name
    return create("Documents", _FORMATS, "getWpsApplication")



__all__ = ["createWpsRpcInstance", "wpsapi"]
