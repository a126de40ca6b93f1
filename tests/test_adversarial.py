"""Hostile documents, generated here (never committed): each ends as one classified result
per suite and task with a message, the sweep goes on, the store stays sound, nothing of
the machine's leaks into a result, and no suite process is left behind."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from renderers.base import Status
from tests.conftest import PROBES, REPO, needs_libreoffice, processes_tagged

pytestmark = [needs_libreoffice, pytest.mark.integration]

STATUSES = {s.value for s in Status}
BODY = "word/document.xml"
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _copy_with(target: Path, parts: dict[str, bytes], source: Path = PROBES / "word-features.docx"):
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w",
                                                               zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            if item.filename not in parts:
                copy.writestr(item, original.read(item.filename))
        for name, data in parts.items():
            copy.writestr(name, data)


def _zip_bomb(target: Path) -> None:
    """A real package with one part that inflates to 1.1 GB of zeros (about 1 MB on disk)."""
    _copy_with(target, {})
    with zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED) as package:
        with package.open("word/media/bomb.bin", "w", force_zip64=True) as part:
            block = b"\0" * (1 << 24)
            for _ in range(66):
                part.write(block)


def _body(text: str, doctype: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<w:document {W}><w:body>'
            f'<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>').encode()


def _nested_tables(depth: int) -> bytes:
    cell = "<w:p><w:r><w:t>innermost</w:t></w:r></w:p>"
    for _ in range(depth):
        cell = f"<w:tbl><w:tr><w:tc>{cell}</w:tc></w:tr></w:tbl><w:p/>"
    return (f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>{cell}'
            "</w:body></w:document>").encode()


LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                    for i in range(1, 10)) + "]>")
XXE = '<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("hostile")
    _zip_bomb(corpus / "zip bomb.docx")
    _copy_with(corpus / "billion laughs.docx", {BODY: _body("&lol9;", LAUGHS)})
    _copy_with(corpus / "external entity.docx", {BODY: _body("before &secret; after", XXE)})
    _copy_with(corpus / "nested tables.docx", {BODY: _nested_tables(80)})
    (corpus / "empty.docx").write_bytes(b"")
    with (PROBES / "word-features.docx").open("rb") as plain, \
            (corpus / "password.docx").open("wb") as locked:
        OOXMLFile(plain).encrypt("not given to any suite", locked)
    (corpus / "a deck named docx.docx").write_bytes((PROBES / "deck-features.pptx").read_bytes())
    (corpus / "text named xlsx.xlsx").write_text("just,some,text\n1,2,3\n")
    for name in ("-leading dash.docx", "quotes ' and \".docx", "Ünïcödé 文件 ملف.docx"):
        (corpus / name).write_bytes((PROBES / "word-features.docx").read_bytes())
    out = tmp_path_factory.mktemp("reports")
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--corpus", str(corpus), "--out", str(out),
         "--suite", "libreoffice", "--task", "show", "--task", "save", "--jobs", "2",
         "--timeout", "90"], capture_output=True, text=True, cwd=REPO, timeout=900,
        env=dict(os.environ, CI=""))
    return corpus, out, done


def test_every_hostile_file_gets_a_classified_result_and_the_sweep_finishes(hostile):
    corpus, out, done = hostile
    assert done.returncode == 0, done.stderr[-3000:]
    db = sqlite3.connect(out / "fidelity.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT state FROM runs").fetchone()[0] == "complete"
    rows = db.execute("SELECT document, task, status, message, grade FROM results").fetchall()
    files = sorted(p.name for p in corpus.iterdir())
    assert sorted({r[0] for r in rows}) == files and len(files) == 11
    assert len(rows) == 2 * len(files)  # show and save, once each
    for document, task, status, message, grade in rows:
        assert status in STATUSES and message.strip(), (document, task, status)
        assert grade is None or status == "ok"
    by = {(r[0], r[1]): r for r in rows}
    for name in ("-leading dash.docx", "quotes ' and \".docx", "Ünïcödé 文件 ملف.docx"):
        assert by[(name, "show")][2] == "ok" and by[(name, "show")][4] == 5, by[(name, "show")]
    assert by[("empty.docx", "show")][2] != "ok"
    assert "wrong extension" in by[("a deck named docx.docx", "show")][3]
    for task in ("show", "save"):
        _, _, status, message, _ = by[("password.docx", task)]
        assert status == "unsupported" and "password-protected" in message, message


def test_nothing_of_the_machine_leaks_and_no_entity_is_expanded(hostile):
    _, out, _ = hostile
    db = sqlite3.connect(out / "fidelity.sqlite")
    stored = " ".join(str(v) for row in db.execute(
        "SELECT message, stderr, scores, details FROM results") for v in row)
    assert "root:x:0:0" not in stored
    assert "lollollollol" * 100 not in stored
    for pdf in (out / "artifacts").rglob("*.pdf"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                              text=True).stdout
        assert "root:x:0:0" not in text, pdf


def test_the_zip_bomb_is_refused_by_the_harness_before_inflating(hostile):
    _, out, _ = hostile
    db = sqlite3.connect(out / "fidelity.sqlite")
    (details,) = db.execute("SELECT details FROM results WHERE document='zip bomb.docx' "
                            "AND task='show'").fetchone()
    assert "zip bomb" in details or "inflate" in details


def test_no_suite_process_is_left_behind(hostile):
    _, out, _ = hostile
    (run_id,) = sqlite3.connect(out / "fidelity.sqlite").execute(
        "SELECT id FROM runs").fetchone()
    assert processes_tagged(run_id) == []
