"""The machine, not the document, at fault: a full output disk and a read-only corpus.

Both need a private mount namespace (``unshare --mount``: root, or a user namespace), where a
small tmpfs or a read-only bind mount exists for this test alone and vanishes with it.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROBES, REPO, needs_libreoffice

pytestmark = [needs_libreoffice, pytest.mark.integration]


def _mount_namespace_problem() -> str | None:
    try:
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               "mount -t tmpfs -o size=1m tmpfs /mnt"], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    return None if done.returncode == 0 else done.stderr.strip() or "unshare --mount failed"


_PROBLEM = _mount_namespace_problem()
needs_mounts = pytest.mark.skipif(_PROBLEM is not None,
                                  reason=f"no private mount namespace here: {_PROBLEM}")
DOCUMENTS = sorted(p for p in PROBES.iterdir() if not p.name.endswith(".json"))
TASKS = ("show", "save")


def _sweep(corpus: Path, out: Path, log: Path, *more: str) -> str:
    argv = [sys.executable, "-m", "harness", "run", "--corpus", str(corpus), "--out", str(out),
            "--suite", "libreoffice", "--task", TASKS[0], "--task", TASKS[1], "--jobs", "2",
            "--no-report", *more]
    return (f"rc=0; (cd {shlex.quote(str(REPO))} && CI= {shlex.join(argv)}) >{log}.out "
            f"2>{log}.err || rc=$?; echo $rc >{log}.rc")


def _census(store: Path, into: Path) -> str:
    """What the store holds, written as JSON outside the namespace."""
    code = ("import json, sqlite3, sys; db = sqlite3.connect(sys.argv[1]); print(json.dumps({"
            "'integrity': db.execute('PRAGMA integrity_check').fetchone()[0], "
            "'results': db.execute('SELECT count(*) FROM results').fetchone()[0], "
            "'distinct': db.execute('SELECT count(DISTINCT document || suite || task) FROM "
            "results').fetchone()[0], "
            "'harness_errors': db.execute(\"SELECT count(*) FROM results WHERE "
            "json_extract(suite_run, '$.harness_error')\").fetchone()[0], "
            "'states': [r[0] for r in db.execute('SELECT state FROM runs')]}))")
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)} {store} >{into}"


def _in_namespace(script: str) -> None:
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c",
                           "set -eu\n" + script], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


@needs_mounts
def test_a_full_output_disk_stops_the_sweep_cleanly_and_the_run_resumes(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    store = out / "reports" / "fidelity.sqlite"
    _in_namespace("\n".join([
        f"mount -t tmpfs -o size=1m tmpfs {out}",  # room for the store and a few pages
        # every suite output kept, so that the probes' sweep needs more than 1 MB
        _sweep(PROBES, out / "reports", tmp_path / "first", "--keep-outputs"),
        _census(store, tmp_path / "after-first.json"),
        f"mount -o remount,size=200m {out}",  # the operator frees some space
        _sweep(PROBES, out / "reports", tmp_path / "second", "--keep-outputs"),
        _census(store, tmp_path / "after-second.json"),
    ]))
    total = len(DOCUMENTS) * len(TASKS)

    assert (tmp_path / "first.rc").read_text().strip() == "4"
    last_line = (tmp_path / "first.err").read_text().strip().splitlines()[-1]
    assert last_line.startswith("fidelity: cannot write") and "full" in last_line, last_line
    first = json.loads((tmp_path / "after-first.json").read_text())
    assert first["integrity"] == "ok"
    assert 0 < first["results"] < total, first
    # Marked interrupted when the disk still had room for that one write; when it had not,
    # the run stays "running" with its coordinator gone, which the next sweep takes for
    # interrupted (how much fits in 1 MB moves with the size of each stored result).
    assert first["states"] in (["interrupted"], ["running"]), first

    second_err = (tmp_path / "second.err").read_text()
    assert (tmp_path / "second.rc").read_text().strip() == "0", second_err
    assert "resuming run" in second_err
    second = json.loads((tmp_path / "after-second.json").read_text())
    assert second == {"integrity": "ok", "results": total, "distinct": total,
                      "harness_errors": 0, "states": ["complete"]}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@needs_mounts
def test_a_read_only_corpus_is_swept_like_any_other(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for document in DOCUMENTS:
        (corpus / document.name).write_bytes(document.read_bytes())
    before = _digest(corpus)
    out = tmp_path / "out"
    _in_namespace("\n".join([
        f"mount --bind {corpus} {corpus}",
        f"mount -o remount,bind,ro {corpus}",
        f"! touch {corpus}/writable 2>/dev/null",  # the bind really is read-only
        _sweep(corpus, out, tmp_path / "sweep"),
        _census(out / "fidelity.sqlite", tmp_path / "census.json"),
    ]))
    assert (tmp_path / "sweep.rc").read_text().strip() == "0", (tmp_path / "sweep.err").read_text()
    census = json.loads((tmp_path / "census.json").read_text())
    assert census["results"] == len(DOCUMENTS) * len(TASKS) and census["harness_errors"] == 0
    statuses = {r[0] for r in sqlite3.connect(out / "fidelity.sqlite").execute(
        "SELECT status FROM results")}
    assert statuses == {"ok"}
    assert _digest(corpus) == before  # nothing added, nothing changed
