"""A stand-in for OnlyOffice Document Server's conversion API, following its documentation.

POST /converter takes the JSON request (``async``, ``filetype``, ``key``, ``outputtype``,
``title``, ``url``), verifies the HS256 token when a secret is set, downloads the document
from ``url`` as the real server does, answers asynchronous requests with ``percent`` until a
later request with the same key, and serves the result at ``fileUrl``. Errors use the
documented codes (-3 conversion, -4 download, -5 password, -7 input, -8 token, -9 output
format). It converts nothing: a PDF result is one page naming the document.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import threading
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt

from tests.fakes.outputs import write_package, write_pdf

OUTPUTS = {"pdf", "docx", "xlsx", "pptx", "odt", "ods", "odp"}
KEY = re.compile(r"^[0-9a-zA-Z.=_-]{1,128}$")
VERSION = "0.0.0"  # the stand-in's version, declared the way api.js declares a real one


class FakeDocServer(ThreadingHTTPServer):
    def __init__(self, secret: str | None = None, polls_before_done: int = 1) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret = secret
        self.polls_before_done = polls_before_done
        self.force_error: int | None = None
        self.never_done = False
        self.polls: dict[str, int] = {}
        self.results: dict[str, bytes] = {}
        self.requests: list[dict] = []
        self.downloads: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "FakeDocServer":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def answer(self, body: dict, authorization: str | None) -> dict:
        self.requests.append({"body": body, "authorization": authorization})
        if self.secret is not None:
            try:
                body = jwt.decode(body.get("token", ""), self.secret, algorithms=["HS256"])
            except jwt.PyJWTError:
                return {"error": -8}
        if self.force_error is not None:
            return {"error": self.force_error}
        if any(not body.get(k) for k in ("filetype", "key", "outputtype", "url")) \
                or not KEY.match(str(body["key"])):
            return {"error": -7}
        if body["outputtype"] not in OUTPUTS:
            return {"error": -9}
        key = body["key"]
        if key not in self.results:
            try:
                with urllib.request.urlopen(body["url"], timeout=10) as response:
                    data = response.read()
                self.downloads.append(body["url"])
            except OSError:
                return {"error": -4}
            if data.startswith(bytes.fromhex("d0cf11e0")) and body["filetype"].endswith("x"):
                return {"error": -5}
            if body["filetype"] in ("docx", "xlsx", "pptx") and not zipfile.is_zipfile(
                    io.BytesIO(data)):
                return {"error": -3}
            self.results[key] = self._convert(data, body)
        self.polls[key] = self.polls.get(key, 0) + 1
        if body.get("async") and (self.never_done or self.polls[key] <= self.polls_before_done):
            return {"endConvert": False, "percent": 50}
        return {"endConvert": True, "percent": 100, "fileType": body["outputtype"],
                "fileUrl": f"{self.url}/cache/files/{key}/output.{body['outputtype']}"}

    @staticmethod
    def _convert(data: bytes, body: dict) -> bytes:
        if body["outputtype"] == body["filetype"]:
            return data
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / f"out.{body['outputtype']}"
            if body["outputtype"] == "pdf":
                write_pdf(target, [f"Converted by the Document Server stand-in: "
                                   f"{body.get('title', '')}"])
            else:
                write_package(target, body["outputtype"])
            return target.read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: FakeDocServer

    def _send(self, code: int, data: bytes, kind: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/healthcheck":
            self._send(200, b"true", "text/plain")
        elif self.path == "/web-apps/apps/api/documents/api.js":
            script = f"DocsAPI.DocEditor.version = function() {{\n  return '{VERSION}';\n}};"
            self._send(200, script.encode(), "application/javascript")
        elif self.path.startswith("/cache/files/"):
            key = self.path.split("/")[3]
            if key in self.server.results:
                self._send(200, self.server.results[key], "application/octet-stream")
            else:
                self._send(404, b"")
        else:
            self._send(404, b"")

    def do_POST(self) -> None:  # noqa: N802
        if not self.path.startswith("/converter"):
            self._send(404, b"")
            return
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            self._send(200, json.dumps({"error": -7}).encode())
            return
        answer = self.server.answer(body, self.headers.get("Authorization"))
        self._send(200, json.dumps(answer).encode())

    def log_message(self, format: str, *args: object) -> None:
        pass
