"""LibreOffice through its one-shot headless command line.

Each worker process gets a private profile (two soffice instances sharing a profile block
each other), with macros disabled before the first start. Each job gets a private output
folder, so two documents with the same stem never overwrite each other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from renderers import register
from renderers.base import Availability, Renderer, RenderOutcome, Status
from renderers.pdfcheck import pdf_page_count
from renderers.process import run_in_group

_CANDIDATES = ("soffice", "libreoffice", "/usr/lib/libreoffice/program/soffice",
               "/opt/libreoffice/program/soffice")

# Written into a fresh profile before LibreOffice first starts: no macro ever runs, and
# documents may not pull remote content.
_PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""

FORMATS = frozenset({
    "doc", "docx", "docm", "dot", "dotx", "dotm", "rtf", "odt",
    "xls", "xlsx", "xlsm", "xlt", "xltx", "xltm", "ods",
    "ppt", "pptx", "pptm", "pot", "potx", "potm", "pps", "ppsx", "odp",
})


def find_soffice() -> str | None:
    override = os.environ.get("FIDELITY_SOFFICE")
    if override:
        return override if os.access(override, os.X_OK) else None
    for candidate in _CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@lru_cache(maxsize=4)
def _version(executable: str) -> str | None:
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL, start_new_session=True)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # "LibreOffice 7.4.7.2 40(Build:2)" -> "7.4.7.2"
    words = out.stdout.split()
    return words[1] if len(words) >= 2 and words[0].startswith("LibreOffice") else None


@register
class LibreOffice(Renderer):
    name = "libreoffice"
    label = "LibreOffice"
    formats = FORMATS

    def __init__(self, scratch_dir: Path | None = None) -> None:
        super().__init__(scratch_dir)
        self._profile: Path | None = None

    def availability(self) -> Availability:
        exe = find_soffice()
        if exe is None:
            return Availability(False, reason="soffice not found on PATH (Debian: apt-get install "
                                "libreoffice-writer-nogui libreoffice-calc-nogui "
                                "libreoffice-impress-nogui; or set FIDELITY_SOFFICE)")
        version = _version(exe)
        if version is None:
            return Availability(False, executable=exe,
                                reason=f"{exe} --version did not answer like LibreOffice")
        return Availability(True, version=version, executable=exe)

    def _profile_dir(self) -> Path:
        if self._profile is None or not self._profile.exists():
            profile = self.scratch_dir / f"libreoffice-profile-{os.getpid()}"
            (profile / "user").mkdir(parents=True, exist_ok=True)
            (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE_SETTINGS)
            self._profile = profile
        return self._profile

    def _discard_profile(self) -> None:
        # A killed instance can leave a profile half-written; the next job starts clean.
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def show(self, document: Path, workdir: Path, timeout_seconds: float) -> RenderOutcome:
        if document.suffix.lower().lstrip(".") not in self.formats:
            return self.unsupported(document)
        available = self.availability()
        if not available.available:
            return RenderOutcome(Status.UNAVAILABLE, available.reason or "unavailable", 0.0)
        outdir = workdir / "out"
        outdir.mkdir(parents=True, exist_ok=True)
        profile_url = "file://" + quote(str(self._profile_dir().resolve()))
        argv = [available.executable, f"-env:UserInstallation={profile_url}", "--headless",
                "--invisible", "--nologo", "--norestore", "--nolockcheck", "--nodefault",
                "--convert-to", "pdf", "--outdir", str(outdir), str(document.resolve())]
        env = dict(os.environ, SAL_USE_VCLPLUGIN="svp", HOME=str(self._profile_dir()))
        result = run_in_group(argv, timeout_seconds=timeout_seconds, cwd=workdir, env=env)
        log = "\n".join(part for part in (result.stderr.strip(), result.stdout.strip()) if part)
        if result.timed_out:
            self._discard_profile()
            return RenderOutcome(Status.TIMED_OUT, f"no answer after {timeout_seconds:g} s; "
                                 "process group killed", result.seconds, stderr=log)
        rc = result.returncode
        if rc is not None and (rc < 0 or rc >= 128):
            self._discard_profile()
            how = f"signal {-rc}" if rc < 0 else f"exit code {rc}"
            return RenderOutcome(Status.CRASHED, f"LibreOffice crashed ({how})", result.seconds,
                                 returncode=rc, stderr=log)
        if rc != 0:
            return RenderOutcome(Status.FAILED, f"LibreOffice exited with code {rc}",
                                 result.seconds, returncode=rc, stderr=log)
        pdfs = sorted(outdir.glob("*.pdf"))
        if not pdfs:
            reason = _first_error_line(log) or "no PDF was written"
            return RenderOutcome(Status.FAILED, f"LibreOffice could not convert the document: "
                                 f"{reason}", result.seconds, returncode=rc, stderr=log)
        pages, problem = pdf_page_count(pdfs[0])
        if not pages:
            return RenderOutcome(Status.EMPTY, f"LibreOffice wrote a PDF with no usable page"
                                 f"{': ' + problem if problem else ''}", result.seconds,
                                 output_path=pdfs[0], returncode=rc, stderr=log)
        return RenderOutcome(Status.OK, f"{pages} page(s)", result.seconds, output_path=pdfs[0],
                             pages=pages, returncode=rc, stderr=log)


def _first_error_line(log: str) -> str | None:
    for line in log.splitlines():
        if "error" in line.lower():
            return line.strip()
    return None
