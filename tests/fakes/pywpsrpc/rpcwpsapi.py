from __future__ import annotations

from types import SimpleNamespace

from pywpsrpc._app import Rpc, create
from pywpsrpc.common import S_OK

wpsapi = SimpleNamespace(wdFormatXMLDocument=12, wdFormatPDF=17, wdFormatOpenDocumentText=23,
                         wdDoNotSaveChanges=0)
_FORMATS = {17: "pdf", 12: "docx", 23: "odt"}


def createWpsRpcInstance():  # noqa: N802 - pywpsrpc's name
    hr, rpc = create("Documents", _FORMATS)
    if rpc is not None:
        rpc.getWpsApplication = lambda: (S_OK, rpc._application)
    return hr, rpc


__all__ = ["Rpc", "createWpsRpcInstance", "wpsapi"]
