"""The command line: documented exit codes and one-line messages, never a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def fidelity(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FIDELITY_DEBUG"}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


def test_missing_corpus_is_a_usage_error(tmp_path):
    result = fidelity("run", "--corpus", str(tmp_path / "absent"), "--out", str(tmp_path))
    assert result.returncode == 2
    assert "corpus folder not found" in result.stderr and "Traceback" not in result.stderr


def test_empty_corpus_is_nothing_to_do(tmp_path):
    (tmp_path / "empty").mkdir()
    result = fidelity("run", "--corpus", str(tmp_path / "empty"), "--out", str(tmp_path / "r"))
    assert result.returncode == 3 and "no Office document" in result.stderr


def test_unknown_suite_is_a_usage_error(tmp_path):
    result = fidelity("run", "--corpus", str(REPO / "corpus"), "--suite", "wordperfect",
                      "--out", str(tmp_path))
    assert result.returncode == 2 and "unknown suite wordperfect" in result.stderr


def test_bad_option_is_a_usage_error():
    assert fidelity("run", "--jobs", "zero").returncode == 2


def test_report_without_store_is_a_usage_error(tmp_path):
    result = fidelity("report", "--store", str(tmp_path / "none.sqlite"))
    assert result.returncode == 2 and "no result store" in result.stderr


def test_corrupt_store_is_a_store_error(tmp_path):
    store = tmp_path / "bad.sqlite"
    store.write_bytes(b"garbage" * 1000)
    result = fidelity("report", "--store", str(store), "--out", str(tmp_path))
    assert result.returncode == 4 and "Traceback" not in result.stderr


def test_suites_json_lists_every_renderer_with_a_reason_or_version():
    result = fidelity("suites", "--json")
    assert result.returncode == 0
    suites = json.loads(result.stdout)
    assert "libreoffice" in suites
    for info in suites.values():
        assert info["version"] if info["available"] else info["reason"]


def test_unavailable_soffice_is_reported_in_words(tmp_path):
    env_override = dict(os.environ, FIDELITY_SOFFICE=str(tmp_path / "no-soffice"))
    result = subprocess.run([sys.executable, "-m", "harness", "suites"], capture_output=True,
                            text=True, cwd=REPO, env=env_override, timeout=60)
    assert "libreoffice: not available" in result.stdout
    run = subprocess.run([sys.executable, "-m", "harness", "run", "--out", str(tmp_path),
                          "--suite", "libreoffice"],
                         capture_output=True, text=True, cwd=REPO, env=env_override,
                         timeout=120)
    assert run.returncode == 3 and "not available" in run.stderr
