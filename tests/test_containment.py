"""Suites render offline: a document whose picture and workbook link point at a web server
on 127.0.0.1 reaches it with no suite. Two layers are tested apart: the suites' own settings
(LibreOffice's BlockUntrustedRefererLinks, links never updated) with the network allowed,
and the new network namespace every suite process runs in. A plain `soffice` with a fresh
profile does fetch the linked picture, so the test can fail."""

from __future__ import annotations

import http.server
import io
import os
import re
import sqlite3
import subprocess
import sys
import threading
import zipfile

import docx
import pytest
from docx.shared import Cm
from PIL import Image

import renderers
from harness.processes.groups import NETWORK_VARIABLE, network_containment, run_in_group
from tests.conftest import PROBES, REPO, needs_libreoffice

pytestmark = [needs_libreoffice, pytest.mark.integration,
              pytest.mark.skipif(not network_containment().startswith("isolated"),
                                 reason=network_containment())]


@pytest.fixture
def listener():
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


def _rewrite(data: bytes, target, patches) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(target, "w") as out:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith("word/media/"):
                continue  # the picture lives only on the server
            for name, patch in patches.items():
                if item.filename == name:
                    content = patch(content)
            out.writestr(item, content)


def _linked_picture_docx(path, url: str) -> None:
    document = docx.Document()
    document.add_paragraph("A picture linked from a web server follows.")
    picture = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(picture, "PNG")
    picture.seek(0)
    document.add_picture(picture, width=Cm(3))
    document.add_paragraph("After the picture.")
    out = io.BytesIO()
    document.save(out)
    _rewrite(out.getvalue(), path, {
        "word/_rels/document.xml.rels": lambda x: x.replace(
            b'Target="media/image1.png"', f'Target="{url}" TargetMode="External"'.encode()),
        "word/document.xml": lambda x: x.replace(b"r:embed=", b"r:link=")})


def _remote_link_xlsx(path, url: str) -> None:
    data = (PROBES / "sheet-external-link.xlsx").read_bytes()
    _rewrite(data, path, {"xl/externalLinks/_rels/externalLink1.xml.rels": lambda x: re.sub(
        rb'Target="[^"]*"', f'Target="{url}"'.encode(), x)})


def _sweep(corpus, out, network: str | None):
    env = dict(os.environ, CI="")
    env.pop(NETWORK_VARIABLE, None)
    if network:
        env[NETWORK_VARIABLE] = network
    return subprocess.run(
        [sys.executable, "-m", "harness", "run", "--corpus", str(corpus), "--out", str(out),
         "--suite", "libreoffice", "--suite", "abiword", "--suite", "gnumeric",
         "--task", "show", "--task", "save", "--task", "save-odf", "--jobs", "1",
         "--no-report", "--no-cache", "--libreoffice-mode", "oneshot"],
        capture_output=True, text=True, cwd=REPO, timeout=600, env=env)


def test_no_suite_reaches_a_local_web_server(tmp_path, listener, monkeypatch):
    port, hits = listener
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _linked_picture_docx(corpus / "linked picture.docx", f"http://127.0.0.1:{port}/p.png")
    _remote_link_xlsx(corpus / "remote link.xlsx", f"http://127.0.0.1:{port}/book.xlsx")

    soffice = renderers.get("libreoffice").availability().executable
    with monkeypatch.context() as patch:  # the network allowed, in a group killed after
        patch.setenv(NETWORK_VARIABLE, "host")
        run_in_group([soffice, "--headless",
                      f"-env:UserInstallation={(tmp_path / 'p').as_uri()}", "--convert-to",
                      "pdf", "--outdir", str(tmp_path / "plain"),
                      str(corpus / "linked picture.docx")], timeout_seconds=120)
    assert hits, "control: a plain soffice, network allowed, fetches the linked picture"

    hits.clear()
    allowed = _sweep(corpus, tmp_path / "allowed", "host")
    assert allowed.returncode in (0, 1), allowed.stderr[-2000:]
    assert hits == [], "the suites' own settings let a request out"

    contained = _sweep(corpus, tmp_path / "contained", None)
    assert contained.returncode in (0, 1), contained.stderr[-2000:]
    assert hits == []
    db = sqlite3.connect(tmp_path / "contained" / "fidelity.sqlite")
    statuses = dict(db.execute("SELECT document || ' ' || suite || ' ' || task, status "
                               "FROM results").fetchall())
    assert statuses["linked picture.docx libreoffice show"] == "ok"
    assert statuses["remote link.xlsx gnumeric show"] == "ok"
    (network,) = db.execute("SELECT json_extract(settings, '$.network') FROM runs").fetchone()
    assert network.startswith("isolated")
