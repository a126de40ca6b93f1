"""OnlyOffice Document Server's conversion API, for sites that run one.

The document is served to the Document Server from a short-lived local HTTP endpoint
(one unguessable path, one file, closed when the conversion ends); the request is signed
with HS256 when a JWT secret is configured; asynchronous conversions are polled with the
same key until they end.

Configuration: ``ONLYOFFICE_DOCSERVER_URL`` (e.g. http://docs.example:8080),
``ONLYOFFICE_JWT_SECRET`` when the server checks tokens, ``ONLYOFFICE_CALLBACK_HOST`` (the
address of this machine as the Document Server reaches it; default 127.0.0.1).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import jwt

from renderers import register
from harness.formats import target_extension
from renderers.base import Availability, Renderer, RenderOutcome, Status, Task
from renderers.onlyoffice import FORMATS
from renderers.output import finish

POLL_SECONDS = 0.5
HTTP_TIMEOUT_SECONDS = 30.0
# The conversion API's documented error codes.
ERRORS = {
    -1: (Status.FAILED, "unknown error"),
    -2: (Status.TIMED_OUT, "the Document Server's conversion timed out"),
    -3: (Status.FAILED, "conversion error"),
    -4: (Status.FAILED, "the Document Server could not download the document"),
    -5: (Status.UNSUPPORTED, "password-protected document"),
    -6: (Status.FAILED, "the Document Server could not reach its conversion database"),
    -7: (Status.FAILED, "input error (bad request parameters)"),
    -8: (Status.FAILED, "invalid token (check ONLYOFFICE_JWT_SECRET)"),
    -9: (Status.UNSUPPORTED, "the output format could not be determined"),
    -10: (Status.FAILED, "the document exceeds the Document Server's size limit"),
}


class _OneFile(BaseHTTPRequestHandler):
    """Serves exactly one file at one path; everything else is 404."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        server = self.server
        if self.path != server.file_path:  # type: ignore[attr-defined]
            self.send_error(404)
            return
        data = server.file.read_bytes()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class ServedFile:
    """``with ServedFile(path, host) as url:`` — the file is reachable at url until the end."""

    def __init__(self, path: Path, host: str) -> None:
        self.server = ThreadingHTTPServer((host, 0), _OneFile)
        self.server.file = path  # type: ignore[attr-defined]
        self.server.file_path = f"/{secrets.token_urlsafe(24)}/{quote(path.name)}"  # type: ignore[attr-defined]
        self.host = host

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        port = self.server.server_address[1]
        return f"http://{self.host}:{port}{self.server.file_path}"  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _post(url: str, body: dict, headers: dict[str, str]) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Accept": "application/json",
                                              "Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
        return json.loads(response.read().decode("utf-8"))


@register
class OnlyOfficeServer(Renderer):
    name = "onlyoffice-server"
    label = "OnlyOffice Document Server"
    formats = FORMATS
    environment = ("ONLYOFFICE_DOCSERVER_URL", "ONLYOFFICE_JWT_SECRET", "ONLYOFFICE_CALLBACK_HOST")

    def __init__(self, scratch_dir: Path | None = None) -> None:
        super().__init__(scratch_dir)
        self._availability: Availability | None = None

    @staticmethod
    def base_url() -> str | None:
        url = os.environ.get("ONLYOFFICE_DOCSERVER_URL", "").strip()
        return url.rstrip("/") or None

    def availability(self) -> Availability:
        if self._availability is not None and self._availability.available:
            return self._availability
        base = self.base_url()
        if base is None:
            return Availability(False, reason="no Document Server configured (set "
                                "ONLYOFFICE_DOCSERVER_URL, and ONLYOFFICE_JWT_SECRET if it "
                                "checks tokens)")
        try:
            with urllib.request.urlopen(f"{base}/healthcheck",  # noqa: S310
                                        timeout=HTTP_TIMEOUT_SECONDS) as response:
                healthy = response.read().decode().strip().lower() == "true"
        except (OSError, urllib.error.URLError) as exc:
            return Availability(False, reason=f"Document Server at {base} unreachable ({exc})")
        if not healthy:
            return Availability(False, reason=f"Document Server at {base} reports unhealthy")
        self._availability = Availability(True, version=self._version(base), executable=base)
        return self._availability

    @staticmethod
    def _version(base: str) -> str:
        """The version the editor's API script declares (``DocEditor.version``)."""
        try:
            with urllib.request.urlopen(  # noqa: S310
                    f"{base}/web-apps/apps/api/documents/api.js",
                    timeout=HTTP_TIMEOUT_SECONDS) as response:
                script = response.read(2_000_000).decode("utf-8", "replace")
        except (OSError, urllib.error.URLError):
            return "unknown"
        found = re.search(r"DocEditor\.version\s*=\s*function\s*\(\)\s*\{\s*return\s*['\"]"
                          r"([\d.]+)", script)
        return found.group(1) if found else "unknown"

    def convert(self, document: Path, task: Task, workdir: Path,
                timeout_seconds: float) -> RenderOutcome:
        base = self.availability().executable
        extension = target_extension(task, document.suffix)
        target = workdir / "out" / f"{document.stem}.{extension}"
        target.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        key = secrets.token_hex(16)
        host = os.environ.get("ONLYOFFICE_CALLBACK_HOST", "127.0.0.1")
        with ServedFile(document.resolve(), host) as url:
            payload = {"async": True, "filetype": document.suffix.lower().lstrip("."),
                       "key": key, "outputtype": extension, "title": document.name,
                       "url": url}
            body, headers = self._signed(payload)
            deadline = start + timeout_seconds
            while True:
                try:
                    answer = _post(f"{base}/converter?shardkey={key}", body, headers)
                except (OSError, urllib.error.URLError, ValueError) as exc:
                    return RenderOutcome(Status.FAILED, f"{self.label} did not answer the "
                                         f"conversion request ({exc})",
                                         time.monotonic() - start, via="conversion API")
                if "error" in answer:
                    status, why = ERRORS.get(int(answer["error"]),
                                             (Status.FAILED, "undocumented error"))
                    return RenderOutcome(status, f"{self.label}: {why} (error "
                                         f"{answer['error']})", time.monotonic() - start,
                                         returncode=int(answer["error"]), via="conversion API")
                if answer.get("endConvert"):
                    break
                if time.monotonic() > deadline:
                    return RenderOutcome(Status.TIMED_OUT, f"no result after "
                                         f"{timeout_seconds:g} s ({answer.get('percent', 0)} % "
                                         "converted)", time.monotonic() - start,
                                         via="conversion API")
                time.sleep(POLL_SECONDS)
        try:
            with urllib.request.urlopen(answer["fileUrl"],  # noqa: S310
                                        timeout=HTTP_TIMEOUT_SECONDS) as response, \
                    target.open("wb") as out:
                shutil.copyfileobj(response, out)
        except (OSError, urllib.error.URLError, KeyError) as exc:
            return RenderOutcome(Status.FAILED, f"the converted file could not be fetched "
                                 f"({exc})", time.monotonic() - start, via="conversion API")
        return finish(self.label, target, extension, time.monotonic() - start,
                      via="conversion API")

    @staticmethod
    def _signed(payload: dict) -> tuple[dict, dict[str, str]]:
        secret = os.environ.get("ONLYOFFICE_JWT_SECRET")
        if not secret:
            return payload, {}
        token = jwt.encode(payload, secret, algorithm="HS256")
        header = jwt.encode({"payload": payload}, secret, algorithm="HS256")
        return {**payload, "token": token}, {"Authorization": f"Bearer {header}"}
