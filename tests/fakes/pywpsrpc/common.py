from __future__ import annotations

import os
from pathlib import Path

S_OK = 0
E_FAIL = -2147467259  # 0x80004005 as a signed HRESULT
E_INVALIDARG = -2147024809  # 0x80070057


def FAILED(hr: int) -> bool:  # noqa: N802 - pywpsrpc's name
    return hr < 0


def SUCCEEDED(hr: int) -> bool:  # noqa: N802
    return hr >= 0


class QtApp:
    def __init__(self, argv: list[str]) -> None:
        self.argv = argv


def environment_problem() -> str | None:
    """What would keep a real WPS from starting headless."""
    display = os.environ.get("DISPLAY", "")
    if not display.startswith(":") or not Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
        return "no X display"
    conf = Path(os.environ.get("HOME", "/")) / ".config" / "Kingsoft" / "Office.conf"
    if not conf.is_file() or "AcceptedEULA=true" not in conf.read_text():
        return "EULA not accepted: WPS would wait on its dialog"
    return None


def check_path(path: str) -> bool:
    return os.path.isabs(path) and os.path.isfile(path) and os.path.getsize(path) > 0
