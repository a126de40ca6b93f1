"""Bureautix's Nix setup and the worker's container recipe (docs/nixos.md).

Neither can be built here: there is no nixpkgs to evaluate flake.nix against and no
container engine. What can be checked is checked: the Nix files parse (with Debian's
nix-bin), the suite finders find each suite where its nixpkgs package puts it (a fake store
laid out as the nixpkgs recipes lay theirs out), and the Containerfile names Debian packages
that exist and the x2t path the finder looks at."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

import renderers
from harness.compare.fonts import METRIC_COMPATIBLE
from renderers import onlyoffice, wps
from renderers.abiword import AbiWord
from renderers.base import Status
from renderers.command import package_version
from renderers.gnumeric import Gnumeric
from renderers.libreoffice import find_soffice
from tests.conftest import PROBES
from tests.fakes.fake_x2t import install as install_x2t

REPO = Path(__file__).resolve().parents[1]
NIX_INSTANTIATE = shutil.which("nix-instantiate")
needs_nix = pytest.mark.skipif(NIX_INSTANTIATE is None, reason="nix-instantiate is not installed "
                               "(Debian: apt-get install nix-bin; scripts/install-system-deps.sh)")

# Where each nixpkgs package puts what the harness runs, read from its recipe:
# libreoffice/wrapper.nix (bin/soffice), abiword and gnumeric (bin/abiword, bin/ssconvert),
# by-name/on/onlyoffice-desktopeditors/package.nix (the .deb's opt/onlyoffice/desktopeditors
# moved to share/desktopeditors), by-name/wp/wpsoffice/package.nix ($out/opt/kingsoft/wps-office).
STORE_PATHS = {
    "libreoffice": ("0f5ymm7k9a4w3srzzl0ivb1bs2n4k6n3-libreoffice-25.2.3.2-wrapped",
                    "bin/soffice"),
    "abiword": ("1kmiw0b4qk0x9x6ff2l5xv4wq6b3yj4z-abiword-3.0.7", "bin/abiword"),
    "gnumeric": ("2a6b2w8x6n4i1l3s9r0yq7d3c0n0k5hh-gnumeric-1.12.59", "bin/ssconvert"),
    "onlyoffice": ("3c3h7sbx2x8k3w0l7q3n8k2q4gq4m9gd-onlyoffice-desktopeditors-9.1.0",
                   "share/desktopeditors/converter/x2t"),
    "wps": ("4d9m0z3lj6y0s6f7x0h5rj8m2p1a1c2v-wpsoffice-11.1.0.11723",
            "opt/kingsoft/wps-office/office6/wps"),
}
OVERRIDES = ("FIDELITY_SOFFICE", "FIDELITY_ABIWORD", "FIDELITY_SSCONVERT", "ONLYOFFICE_X2T",
             "ONLYOFFICE_VERSION", "ONLYOFFICE_FONT_DIR", "WPS_OFFICE_HOME", "WPS_OFFICE_VERSION")


def _executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fake root with a /nix/store holding the five packages, no override set, and the
    finders looking under it."""
    for variable in OVERRIDES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(onlyoffice, "ROOT", str(tmp_path))
    monkeypatch.setattr(wps, "ROOT", str(tmp_path))
    return tmp_path / "nix" / "store"


def _place(store: Path, suite: str) -> Path:
    name, inside = STORE_PATHS[suite]
    return store / name / inside


# --- the Nix files ------------------------------------------------------------------------

@needs_nix
@pytest.mark.parametrize("name", ["flake.nix", "shell.nix"])
def test_nix_file_parses(name):
    done = subprocess.run([NIX_INSTANTIATE, "--parse", str(REPO / name)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@needs_nix
def test_nix_instantiate_rejects_a_broken_file(tmp_path):
    """The check above can fail: a flake with one brace missing does not parse."""
    broken = tmp_path / "flake.nix"
    broken.write_text((REPO / "flake.nix").read_text().rstrip().removesuffix("}"))
    done = subprocess.run([NIX_INSTANTIATE, "--parse", str(broken)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "error" in done.stderr


@needs_nix
def test_flake_inputs_and_description_evaluate():
    """Everything of the flake that does not need nixpkgs evaluates: its inputs and text."""
    expression = ("let f = import " + str(REPO / "flake.nix") + "; in "
                  "[ f.description f.inputs.nixpkgs.url ]")
    done = subprocess.run([NIX_INSTANTIATE, "--eval", "--strict", "--json", "-E", expression],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    description, url = __import__("json").loads(done.stdout)
    assert "harness" in description and url.startswith("github:NixOS/nixpkgs/")


def _nix_list(text: str, name: str) -> list[str]:
    """The names in `name = ...: with ...; [ ... ];` of flake.nix."""
    found = re.search(rf"\b{name} = [^\[]*\[(.*?)\];", text, re.S)
    assert found, f"flake.nix has no list {name}"
    return re.sub(r"#[^\n]*", "", found.group(1)).split()


def _pypi_key(requirement: str) -> list[str]:
    """pyproject's requirement as nixpkgs names it: 'dask[distributed]>=2024.1' -> dask and
    distributed; 'PyJWT>=2.8' -> pyjwt."""
    name, extras = re.match(r"([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?", requirement).groups()
    names = [name] + ([e.strip() for e in extras.split(",")] if extras else [])
    return [re.sub(r"[-_.]+", "-", n).lower() for n in names]


def test_flake_provides_every_runtime_dependency_from_nixpkgs():
    """A dependency added to pyproject.toml and not to the flake would leave `nix run`
    without it."""
    flake = _nix_list((REPO / "flake.nix").read_text(), "runtimeDeps")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    wanted = {n for r in pyproject["project"]["dependencies"] for n in _pypi_key(r)}
    assert wanted - set(flake) == set()
    assert set(flake) - wanted == set(), "the flake installs what pyproject.toml does not ask"


def _font_words(packages: list[str]) -> set[str]:
    return {re.sub(r"[^a-z]|ttf|fonts?", "", p.lower()) for p in packages}


def test_the_fonts_include_the_metric_compatible_stand_ins_the_comparison_expects():
    """harness/compare/fonts.py counts Liberation, Carlito and Caladea as layout-keeping
    stand-ins and DejaVu as fontconfig's fallback: the flake, the Containerfile and the
    Debian script install all four."""
    families = {re.sub(r"(sans|serif|mono)$", "", f) for f in METRIC_COMPATIBLE.values()}
    families.add("dejavu")
    flake = _font_words(_nix_list((REPO / "flake.nix").read_text(), "fonts"))
    container = _font_words(re.findall(r"\bfonts-[a-z0-9-]+", (REPO / "Containerfile").read_text()))
    debian = _font_words(re.findall(r"\bfonts-[a-z0-9-]+",
                                    (REPO / "scripts/install-system-deps.sh").read_text()))
    for where, words in (("flake.nix", flake), ("Containerfile", container),
                         ("install-system-deps.sh", debian)):
        missing = {f for f in families if not any(f in w for w in words)}
        assert not missing, f"{where} lacks {sorted(missing)}"


# --- the suite finders on a Nix store ------------------------------------------------------

def test_path_suites_are_found_where_the_flake_puts_them(store, monkeypatch):
    """LibreOffice, AbiWord and Gnumeric are found on PATH, which the flake's shell and app
    make of the packages' bin folders: the names the finders look for are nixpkgs' names."""
    placed = {s: _executable(_place(store, s)) for s in ("libreoffice", "abiword", "gnumeric")}
    monkeypatch.setenv("PATH", os.pathsep.join(str(p.parent) for p in placed.values()))
    assert find_soffice() == str(placed["libreoffice"])
    assert AbiWord().find() == str(placed["abiword"])
    assert Gnumeric().find() == str(placed["gnumeric"])


def test_onlyoffice_x2t_is_found_in_the_store_and_converts(store, tmp_path, monkeypatch):
    """nixpkgs' Desktop Editors keep x2t under share/desktopeditors; the finder's store
    pattern finds it without ONLYOFFICE_X2T, the store path names its version, and a
    conversion runs from that folder (the x2t there is the stand-in, tests/fakes)."""
    desktopeditors = _place(store, "onlyoffice").parents[1]
    x2t = install_x2t(desktopeditors)
    assert onlyoffice.find_x2t() == str(x2t)
    suite = renderers.get("onlyoffice", tmp_path / "scratch")
    availability = suite.availability()
    assert availability.available and availability.version == "9.1.0"
    outcome = suite.show(PROBES / "word-features.docx", tmp_path / "job", 60)
    assert outcome.status is Status.OK, outcome.message


def test_onlyoffice_uses_the_font_folder_the_flake_names(store, tmp_path, monkeypatch):
    """x2t reads font files, not fontconfig: the flake's font folder reaches its params."""
    install_x2t(_place(store, "onlyoffice").parents[1])
    fonts = tmp_path / "fidelity-fonts" / "share" / "fonts"
    fonts.mkdir(parents=True)
    monkeypatch.setenv("ONLYOFFICE_FONT_DIR", str(fonts))
    suite = renderers.get("onlyoffice", tmp_path / "scratch")
    suite.show(PROBES / "word-features.docx", tmp_path / "job", 60)
    params = (tmp_path / "job" / "params.xml").read_text()
    assert f"<m_sFontDir>{fonts}</m_sFontDir>" in params


def test_onlyoffice_finds_a_nixos_font_folder(store, tmp_path):
    """NixOS has no /usr/share/fonts; with fonts.fontDir.enable it has this one."""
    nixos_fonts = tmp_path / "run/current-system/sw/share/X11/fonts"
    nixos_fonts.mkdir(parents=True)
    assert onlyoffice.OnlyOffice(tmp_path)._font_dir() == str(nixos_fonts)


def test_wps_is_found_in_the_store_with_its_version(store):
    """nixpkgs' wpsoffice keeps /opt/kingsoft/wps-office under its store path, which no
    NixOS profile links: found there without WPS_OFFICE_HOME, version from the path."""
    home = _executable(_place(store, "wps")).parents[1]
    assert wps.wps_home() == home
    assert package_version(str(home), "WPS_OFFICE_VERSION", "wpsoffice",
                           "wps-office") == "11.1.0.11723"


def test_wps_prefers_opt_and_names_it_when_absent(store, tmp_path):
    """Nothing installed: the default folder is the one the 'not found' reason names; a
    .deb install in /opt comes before a store path."""
    assert wps.wps_home() == tmp_path / "opt/kingsoft/wps-office"
    _executable(_place(store, "wps"))
    opt = tmp_path / "opt/kingsoft/wps-office"
    (opt / "office6").mkdir(parents=True)
    assert wps.wps_home() == opt


# --- the container recipe ------------------------------------------------------------------

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


def test_containerfile_debian_packages_exist():
    """Every package the recipe takes from Debian exists in bookworm's lists (the one from
    ONLYOFFICE's own repository aside), so the build cannot stop on a misspelt name."""
    if shutil.which("apt-cache") is None:
        pytest.skip("apt-cache is not installed: not a Debian system")
    packages = [p for p in _apt_packages((REPO / "Containerfile").read_text())
                if p != "onlyoffice-desktopeditors"]
    unknown = [p for p in packages
               if subprocess.run(["apt-cache", "show", p], capture_output=True,
                                 timeout=60).returncode != 0]
    if len(unknown) == len(packages):
        pytest.skip("apt's package lists are empty here (apt-get update first)")
    assert unknown == []


def test_docs_give_the_repository_line_the_recipe_uses():
    text = (REPO / "Containerfile").read_text()
    line = re.search(r"deb \[signed-by=[^\]]+\] ([^\s\"]+ \w+ \w+)", text).group(1)
    docs = (REPO / "docs" / "nixos.md").read_text()
    assert line in docs and "CB2DE8E5" in docs
