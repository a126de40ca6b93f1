"""Bureautix's Nix setup (flake.nix, shell.nix; docs/nixos.md).

It cannot be built here: there is no nixpkgs to evaluate flake.nix against. What can be
checked is checked: the Nix files parse (with Debian's nix-bin) and evaluate against a
stand-in of nixpkgs (tests/fakes/nixpkgs), and the suite finders find each suite where its
nixpkgs package puts it (a fake store laid out as the nixpkgs recipes lay theirs out),
the newest version first when the store holds several."""

from __future__ import annotations

import fnmatch
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
from renderers.command import newest_first, package_version
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


def test_the_newest_x2t_in_the_store_is_found_whatever_the_hashes(store):
    """A store path's text sorts by its hash: version 10 in a path whose hash sorts first
    is still the one found, and 10 is newer than 9 (numbers, not text)."""
    older = install_x2t(store / f"{'z' * 32}-onlyoffice-desktopeditors-9.1.0"
                        / "share/desktopeditors")
    newer = install_x2t(store / f"{'0' * 32}-onlyoffice-desktopeditors-10.0.1"
                        / "share/desktopeditors")
    assert onlyoffice.find_x2t() == str(newer) != str(older)


def test_the_newest_wps_in_the_store_is_found_whatever_the_hashes(store):
    for build, digit in (("11.1.0.11723", "z"), ("12.1.0.17885", "0"), ("11.1.0.9999", "y")):
        _executable(store / f"{digit * 32}-wpsoffice-{build}" / "opt/kingsoft/wps-office"
                    / "office6/wps")
    assert wps.wps_home().parts[-4].endswith("-wpsoffice-12.1.0.17885")


def test_store_paths_without_a_version_come_after_those_with_one():
    paths = [f"/nix/store/{'a' * 32}-wpsoffice/x", f"/nix/store/{'b' * 32}-wpsoffice-11.1.0/x",
             "/opt/elsewhere/x", f"/nix/store/{'c' * 32}-wpsoffice-11.10.0/x"]
    assert newest_first(paths) == [paths[3], paths[1], paths[2], paths[0]]


def test_wps_prefers_opt_and_names_it_when_absent(store, tmp_path):
    """Nothing installed: the default folder is the one the 'not found' reason names; a
    .deb install in /opt comes before a store path."""
    assert wps.wps_home() == tmp_path / "opt/kingsoft/wps-office"
    _executable(_place(store, "wps"))
    opt = tmp_path / "opt/kingsoft/wps-office"
    (opt / "office6").mkdir(parents=True)
    assert wps.wps_home() == opt


# --- the flake evaluated against a stand-in of nixpkgs --------------------------------------

# A stand-in for nixpkgs, named as such (tests/fakes/nixpkgs/default.nix, which says what
# it gives and refuses).
NIXPKGS_STAND_IN = REPO / "tests" / "fakes" / "nixpkgs" / "default.nix"
# Checked in nixpkgs' pkgs/development/python-modules: each has a default.nix there.
NIXPKGS_PYTHON = ("typer rich jinja2 rapidfuzz pypdfium2 python-docx openpyxl python-pptx pillow "
                  "pdf2image numpy scikit-image defusedxml lxml olefile pyjwt tomli-w "
                  "license-expression dask distributed psutil matplotlib pypdf pytest "
                  "hypothesis msoffcrypto-tool playwright setuptools sip pyqt-builder").split()


@pytest.fixture
def evaluated(tmp_path):
    """flake.nix's outputs and shell.nix's shell evaluated against the stand-in."""
    if NIX_INSTANTIATE is None:
        pytest.skip("nix-instantiate is not installed (Debian: apt-get install nix-bin)")
    stand_in = tmp_path / "nixpkgs" / "default.nix"
    stand_in.parent.mkdir()
    stand_in.write_text(NIXPKGS_STAND_IN.read_text().replace(
        "PYTHON_NAMES", " ".join(f'"{n}"' for n in NIXPKGS_PYTHON)))
    expression = f"""
      let
        out = (import {REPO}/flake.nix).outputs {{ self = null; nixpkgs = {stand_in.parent}; }};
        shell = out.devShells.x86_64-linux.default;
        viaShellNix = import {REPO}/shell.nix {{ nixpkgs = {stand_in.parent}; }};
        harness = out.packages.x86_64-linux.harness;
        env = [ "ONLYOFFICE_X2T" "ONLYOFFICE_FONT_DIR" "WPS_OFFICE_HOME" "FONTCONFIG_FILE" "UNO_PATH" ];
        pick = s: builtins.listToAttrs (map (n: {{ name = n; value = s.${{n}}; }}) env);
      in {{
        apps = builtins.mapAttrs (n: a: {{ inherit (a) type program; }}) out.apps.x86_64-linux;
        shellEnv = pick shell;
        shellNixEnv = pick viaShellNix;
        shellPackages = map (p: p.pname or p.name) shell.packages;
        unfreeAllowed = map (p: p.pname) (builtins.filter shell.standInConfig.allowUnfreePredicate
          [ {{ pname = "wpsoffice"; }} {{ pname = "corefonts"; }} {{ pname = "vista-fonts"; }} ]);
        harness = {{
          inherit (harness) pname version makeWrapperArgs;
          dependencies = map (p: p.pname) harness.dependencies;
          files = harness.src.files;
        }};
        onlyofficeHome = let home = out.packages.x86_64-linux.onlyoffice-x2t; in {{
          path = home.outPath;  # an attribute set with outPath would print as that path
          script = home.buildCommand;
        }};
      }}"""
    done = subprocess.run([NIX_INSTANTIATE, "--eval", "--strict", "--json", "-E", expression],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return __import__("json").loads(done.stdout)


def test_flake_apps_run_the_harness(evaluated):
    apps = evaluated["apps"]
    assert {name: app["type"] for name, app in apps.items()} == {"default": "app", "sweep": "app"}
    assert apps["default"]["program"].endswith("/bin/fidelity")
    assert apps["sweep"]["program"].endswith("/bin/fidelity-sweep")


def test_flake_tells_each_finder_where_its_suite_is(evaluated):
    """The shell's (and the app's) variables point where the finders look and where the
    nixpkgs packages put things: x2t in the folder found in Desktop Editors' closure, WPS
    under the wpsoffice store path (which the finder would also find without the variable),
    LibreOffice's UNO bridge in its unwrapped program folder."""
    env = evaluated["shellEnv"]
    assert env["ONLYOFFICE_X2T"] == evaluated["onlyofficeHome"]["path"] + "/converter/x2t"
    assert fnmatch.fnmatch(env["WPS_OFFICE_HOME"], wps.NIX_HOMES)
    assert re.fullmatch(r"/nix/store/\w+-libreoffice-[\d.]+/lib/libreoffice/program",
                        env["UNO_PATH"])
    assert env["ONLYOFFICE_FONT_DIR"].endswith("-fidelity-fonts/share/fonts")
    assert env["FONTCONFIG_FILE"].endswith("-fonts.conf")
    # The app is given the same places, unless its user's environment chose others.
    wrapper = evaluated["harness"]["makeWrapperArgs"]
    for name, value in env.items():
        if name != "UNO_PATH":
            assert wrapper[wrapper.index(name) - 1:wrapper.index(name) + 2] == \
                ["--set-default", name, value]
    # Children the harness starts (`python -m harness`, the WPS driver) import it too.
    assert "$program_PYTHONPATH" in wrapper


def test_shell_nix_gives_the_flakes_shell(evaluated):
    assert evaluated["shellNixEnv"] == evaluated["shellEnv"]


def test_flake_allows_wps_as_the_only_unfree_package(evaluated):
    """The stand-in refuses wpsoffice as nixpkgs does unless config allows it: the flake
    evaluated, so it allows it; and nothing else unfree."""
    assert evaluated["unfreeAllowed"] == ["wpsoffice"]
    assert {"libreoffice-wrapped", "onlyoffice-desktopeditors", "wpsoffice", "abiword",
            "gnumeric", "xvfb", "poppler-utils", "fontconfig"} <= set(evaluated["shellPackages"])


def test_flake_builds_the_harness_from_pyproject(evaluated):
    harness = evaluated["harness"]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert (harness["pname"], harness["version"]) == (project["name"], project["version"])
    assert set(harness["dependencies"]) == {
        n for r in project["dependencies"] for n in _pypi_key(r)}
    assert sorted(harness["files"]) == ["README.md", "harness", "pyproject.toml", "renderers"]


def _run_build(script: str, closure: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "closure": str(closure), "out": str(out)})


def test_flake_finds_x2t_in_the_closure_of_desktop_editors(evaluated, tmp_path):
    """The flake's build step, run on a fake closure: of the store paths nixpkgs' FHS-wrapped
    Desktop Editors depends on, it links the one holding converter/x2t; with none, the
    build fails saying so."""
    script = evaluated["onlyofficeHome"]["script"]
    store = tmp_path / "nix" / "store"
    unpacked = store / STORE_PATHS["onlyoffice"][0] / "share" / "desktopeditors"
    _executable(unpacked / "converter" / "x2t")
    others = [store / "5f-bash-5.2p37", store / "6g-onlyoffice-desktopeditors-9.1.0-fhsenv-rootfs"]
    for folder in others:
        (folder / "share").mkdir(parents=True)
    closure = tmp_path / "closure"
    closure.mkdir()
    (closure / "store-paths").write_text(
        "\n".join(str(p) for p in (others[0], unpacked.parents[1], others[1])) + "\n")
    done = _run_build(script, closure, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").resolve() == unpacked
    assert os.access(tmp_path / "out" / "converter" / "x2t", os.X_OK)

    (closure / "store-paths").write_text(f"{others[0]}\n{others[1]}\n")
    done = _run_build(script, closure, tmp_path / "out-none")
    assert done.returncode != 0 and "no share/desktopeditors/converter/x2t" in done.stderr
    assert not (tmp_path / "out-none").exists()
