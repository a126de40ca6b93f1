"""The worker's container recipe (Containerfile; docs/nixos.md).

There is no container engine here, so its build is not run: it is checked that it names
Debian packages that exist, the x2t path the finder looks at first, and the ONLYOFFICE
signing key by its full fingerprint."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from renderers import onlyoffice

REPO = Path(__file__).resolve().parents[1]


def _apt_packages(containerfile: str) -> list[str]:
    """The packages of every `apt-get install` in the recipe."""
    names: list[str] = []
    for command in re.findall(r"apt-get install ([^&]*)", containerfile):
        names += [w for w in command.replace("\\", " ").split() if not w.startswith("-")]
    return names


def test_containerfile_is_a_worker_with_the_finders_paths():
    text = (REPO / "Containerfile").read_text()
    assert re.search(r"^FROM \S*debian:bookworm", text, re.M)
    assert 'ENTRYPOINT ["fidelity", "worker"]' in text
    # The x2t the build checks for is the first place the finder looks.
    assert f"test -x {onlyoffice._CANDIDATES[0]}" in text
    assert "onlyoffice-desktopeditors" in _apt_packages(text)
    # The harness goes in with pip, from the files the package is built from.
    assert re.search(r"pip install [^\n]*/src", text)
    ignore = (REPO / ".containerignore").read_text().split()
    for needed in ("pyproject.toml", "README.md", "harness", "renderers"):
        assert f"!{needed}" in ignore and re.search(rf"^COPY [^\n]*\b{needed}\b", text, re.M)


def _apt_lists() -> list[Path]:
    """The package lists apt has downloaded (none before the first `apt-get update`)."""
    done = subprocess.run(["apt-config", "shell", "LISTS", "Dir::State::Lists/d"],
                          capture_output=True, text=True, timeout=30)
    found = re.search(r"LISTS='([^']+)'", done.stdout)
    folder = Path(found.group(1) if found else "/var/lib/apt/lists")
    return sorted(folder.glob("*_Packages*")) if folder.is_dir() else []


def test_containerfile_debian_packages_exist():
    """Every package the recipe takes from Debian exists in bookworm's lists (the one from
    ONLYOFFICE's own repository aside), so the build cannot stop on a misspelt name. It
    skips only where apt cannot answer, never because no name was known: a recipe whose
    every name is misspelt fails."""
    if shutil.which("apt-cache") is None:
        pytest.skip("apt-cache is not installed: not a Debian system")
    if not _apt_lists():
        pytest.skip("apt has no package lists here (apt-get update first)")
    packages = [p for p in _apt_packages((REPO / "Containerfile").read_text())
                if p != "onlyoffice-desktopeditors"]
    unknown = [p for p in packages
               if subprocess.run(["apt-cache", "show", p], capture_output=True,
                                 timeout=60).returncode != 0]
    assert packages and unknown == []


def test_docs_give_the_repository_line_and_key_the_recipe_uses():
    text = (REPO / "Containerfile").read_text()
    line = re.search(r"deb \[signed-by=[^\]]+\] ([^\s\"]+ \w+ \w+)", text).group(1)
    docs = (REPO / "docs" / "nixos.md").read_text()
    assert line in docs and ONLYOFFICE_KEY in docs


ONLYOFFICE_KEY = "E09CA29F6E178040EF22B4098320CA65CB2DE8E5"


def _key_check() -> str:
    """The recipe's check of the key file it fetched, as shell, from the Containerfile."""
    text = (REPO / "Containerfile").read_text().replace("\\\n", " ")
    start = text.index('fingerprints="$(gpg')
    return text[start:text.index("exit 1; }; }", start) + len("exit 1; }; }")]


def _gpg(home: Path, *arguments: str) -> str:
    home.mkdir(mode=0o700, exist_ok=True)
    return subprocess.run(["gpg", "--batch", *arguments], check=True, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, GNUPGHOME=str(home))
                          ).stdout


def _new_key(home: Path, name: str, exported: Path) -> str:
    """A new key in `home`; every key of `home` exported to `exported`; the new fingerprint."""
    _gpg(home, "--passphrase", "", "--quick-gen-key", f"{name} <{name}@example.org>",
         "ed25519", "sign", "never")
    exported.write_text(_gpg(home, "--armor", "--export"))
    listed = _gpg(home, "--with-colons", "--fingerprint", f"{name}@example.org")
    return next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr"))


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
def test_the_recipe_takes_only_a_key_file_holding_that_one_key_alone(tmp_path):
    """Its check, run on key files made here: the expected key alone passes; another key
    alone (a forged short id is one) fails, and so does the expected key with another."""
    assert re.search(rf"ONLYOFFICE_KEY={ONLYOFFICE_KEY}\b", (REPO / "Containerfile").read_text())
    check = _key_check()
    expected = _new_key(tmp_path / "office", "onlyoffice", tmp_path / "alone.asc")
    _new_key(tmp_path / "office", "intruder", tmp_path / "with-another.asc")
    _new_key(tmp_path / "forger", "forger", tmp_path / "other.asc")

    def run(key_file: str) -> subprocess.CompletedProcess:
        script = check.replace("/tmp/onlyoffice.asc", str(tmp_path / key_file))
        return subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True,
                              timeout=60, env=dict(os.environ, ONLYOFFICE_KEY=expected,
                                                   GNUPGHOME=str(tmp_path / "office")))

    alone = run("alone.asc")
    assert alone.returncode == 0, alone.stderr
    for refused in ("other.asc", "with-another.asc"):
        done = run(refused)
        assert done.returncode != 0 and f"not {expected}" in done.stderr, refused
