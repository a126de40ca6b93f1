"""The application objects shared by the three stand-in APIs."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

from pywpsrpc.common import E_FAIL, E_INVALIDARG, S_OK, check_path, environment_problem
from tests.fakes.outputs import write_package, write_pdf


class _Document:
    def __init__(self, path: str, formats: dict[int, str]) -> None:
        self.path = path
        self.formats = formats
        self.closed = False

    def _write(self, target: str, code: int) -> int:
        if code not in self.formats or not os.path.isabs(target) or self.closed:
            return E_INVALIDARG
        kind = self.formats[code]
        if kind == "pdf":
            write_pdf(Path(target), [f"Rendered by the WPS stand-in: {Path(self.path).name}"])
        elif Path(self.path).suffix.lower() == f".{kind}":
            Path(target).write_bytes(Path(self.path).read_bytes())
        else:
            write_package(Path(target), kind)
        return S_OK

    # Writer
    def SaveAs2(self, FileName: str, FileFormat: int) -> int:  # noqa: N802,N803
        return self._write(FileName, FileFormat)

    # Presentation
    def SaveAs(self, FileName: str, FileFormat: int) -> int:  # noqa: N802,N803
        return self._write(FileName, FileFormat)

    # Spreadsheets
    def ExportAsFixedFormat(self, Type: int, Filename: str) -> int:  # noqa: N802,N803
        return self._write(Filename, -1 - Type)  # fixed formats have their own numbering

    def Close(self, SaveChanges: object = None) -> int:  # noqa: N802,N803
        self.closed = True
        return S_OK


class _Collection:
    def __init__(self, formats: dict[int, str]) -> None:
        self.formats = formats

    def Open(self, FileName: str, ReadOnly: bool = False, WithWindow: int = -1,  # noqa: N802,N803
             Password: str | None = None) -> tuple[int, _Document | None]:
        if not check_path(FileName):
            return E_FAIL, None
        if FileName.lower().endswith(("x", "m")) and not zipfile.is_zipfile(FileName):
            return E_FAIL, None  # a broken package does not open
        return S_OK, _Document(FileName, self.formats)


class Application:
    def __init__(self, collection: str, formats: dict[int, str]) -> None:
        setattr(self, collection, _Collection(formats))
        self.Visible = True
        self.quit = False

    def Quit(self, SaveChanges: object = None) -> int:  # noqa: N802,N803
        self.quit = True
        return S_OK


class Rpc:
    def __init__(self, application: Application) -> None:
        self._application = application

    def getProcessPid(self) -> tuple[int, int]:  # noqa: N802
        return S_OK, 0  # no separate process in the stand-in


def create(collection: str, formats: dict[int, str], getter: str) -> tuple[int, Rpc | None]:
    """An RPC instance whose ``getter`` (getWpsApplication...) returns the application."""
    if os.environ.get("FAKE_WPS_HANG"):  # a WPS that never answers
        time.sleep(3600)
    if environment_problem() is not None:
        return E_FAIL, None
    rpc = Rpc(Application(collection, formats))
    setattr(rpc, getter, lambda: (S_OK, rpc._application))
    return S_OK, rpc
