"""WPS Office through pywpsrpc, its RPC bindings, under a private virtual X display.

Each task runs ``renderers.wps_driver`` in its own process group with a private HOME in
which WPS's licence agreement is already accepted and the single-module mode (one process
per application, not the tabbed all-in-one window) is preset; the whole tree (driver, WPS,
Xvfb) is killed after each document and on timeout. Found at ``WPS_OFFICE_HOME``,
``/opt/kingsoft/wps-office`` or nixpkgs' store path; pywpsrpc (``pip install pywpsrpc``) must import in this Python.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness.formats import WORD, extensions
from renderers import register
from harness.formats import family, target_extension
from renderers.base import Availability, Renderer, RenderOutcome, Status, Task
from renderers.command import newest_first, package_version
from renderers.output import ExitMeaning, classify
from harness.processes.groups import run_in_group

DEFAULT_HOME = "/opt/kingsoft/wps-office"
# nixpkgs' wpsoffice keeps the .deb's tree under its store path, and a NixOS profile links
# no /opt: a system-wide install is found there. Both are looked for under ROOT ("/", or a
# fake tree in tests/test_packaging_nix.py).
NIX_HOMES = "/nix/store/*-wpsoffice*/opt/kingsoft/wps-office"
ROOT = "/"
# Office.conf keys: the EULA dialog would block a hidden instance forever, and the
# all-in-one mode routes every document through one shared process.
OFFICE_CONF = """[6.0]
common\\AcceptedEULA=true
wpsoffice\\Application%20Settings\\AppComponentMode=prome_independ
"""
EXIT_CODES = {
    2: ExitMeaning(Status.FAILED, "WPS's RPC interface did not start"),
    3: ExitMeaning(Status.FAILED, "WPS could not open the document"),
    4: ExitMeaning(Status.FAILED, "WPS could not save the document"),
    5: ExitMeaning(Status.FAILED, "no virtual X display for WPS (is Xvfb installed?)"),
}
FORMATS = extensions()


def wps_home() -> Path:
    declared = os.environ.get("WPS_OFFICE_HOME")
    if declared:
        return Path(declared)
    default = Path(ROOT, DEFAULT_HOME.lstrip("/"))
    if (default / "office6").is_dir():
        return default
    found = newest_first(glob.glob(os.path.join(ROOT, NIX_HOMES.lstrip("/"), "office6")))
    return Path(found[0]).parent if found else default


@register
class WpsOffice(Renderer):
    name = "wps"
    label = "WPS Office"
    formats = FORMATS
    environment = ("WPS_OFFICE_HOME", "WPS_OFFICE_VERSION")

    def __init__(self, scratch_dir: Path | None = None) -> None:
        super().__init__(scratch_dir)
        self._availability: Availability | None = None

    def availability(self) -> Availability:
        if self._availability is None:
            self._availability = self._check()
        return self._availability

    def _check(self) -> Availability:
        home = wps_home()
        if not (home / "office6").is_dir():
            return Availability(False, reason=f"WPS Office not found at {home} (install "
                                "wps-office from Kingsoft's .deb, or nixpkgs wpsoffice; or set "
                                "WPS_OFFICE_HOME)")
        if shutil.which("Xvfb") is None:
            return Availability(False, reason="Xvfb not found (Debian: apt-get install xvfb)")
        probe = subprocess.run([sys.executable, "-c", "import pywpsrpc.common"],
                               capture_output=True, text=True, env=self._env(), timeout=60)
        if probe.returncode != 0:
            return Availability(False, reason="pywpsrpc does not import here (pip install "
                                "pywpsrpc): " + (probe.stderr.strip().splitlines() or [""])[-1])
        return Availability(True, version=package_version(
            str(home), "WPS_OFFICE_VERSION", "wpsoffice", "wps-office") or "unknown", executable=str(home))

    def _env(self) -> dict[str, str]:
        home = self.scratch_dir / f"wps-home-{os.getpid()}"
        conf = home / ".config" / "Kingsoft" / "Office.conf"
        if not conf.is_file():
            conf.parent.mkdir(parents=True, exist_ok=True)
            conf.write_text(OFFICE_CONF)
        office6 = str(wps_home() / "office6")
        return dict(os.environ, HOME=str(home), QT_QPA_PLATFORM="xcb",
                    LD_LIBRARY_PATH=os.pathsep.join(
                        p for p in (office6, os.environ.get("LD_LIBRARY_PATH")) if p))

    def convert(self, document: Path, task: Task, workdir: Path,
                timeout_seconds: float) -> RenderOutcome:
        extension = target_extension(task, document.suffix)
        target = workdir / "out" / f"{document.stem}.{extension}"
        target.parent.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "renderers.wps_driver", family(document.suffix) or WORD,
                task.value, str(document.resolve()), str(target)]
        result = run_in_group(argv, timeout_seconds=timeout_seconds, cwd=workdir,
                              env=self._env())
        return classify(self.label, result, target, extension, timeout_seconds=timeout_seconds,
                        via="pywpsrpc under Xvfb", exit_codes=EXIT_CODES)
