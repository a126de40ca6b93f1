"""Suites driven by one command per task: find the program, ask its version, run, classify.

A subclass names its executables and writes ``argv``; everything else (private HOME per
worker, process group, timeout, output validation) is shared.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from harness.formats import target_extension
from renderers.base import Availability, Renderer, RenderOutcome, Task
from renderers.output import classify
from harness.processes.groups import run_in_group


@lru_cache(maxsize=16)
def command_version(argv: tuple[str, ...], pattern: str) -> str | None:
    """The first match of pattern in what ``argv`` prints, or None."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL, start_new_session=True)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(pattern, out.stdout + out.stderr)
    return found.group(1) if found else None


def package_version(installed_at: str, declared_variable: str, nix_name: str,
                    deb_name: str) -> str | None:
    """A suite's version when the program does not print one: declared in the environment,
    read from its Nix store path, or asked of dpkg."""
    declared = os.environ.get(declared_variable)
    if declared:
        return declared
    nix = re.search(rf"{re.escape(nix_name)}-([\d.]+)", os.path.realpath(installed_at))
    return nix.group(1) if nix else _deb_version(deb_name)


# A store path's folder: <32-character hash>-<name>-<version>, the version starting at the
# first dash followed by a digit (as Nix's builtins.parseDrvName reads it).
_STORE_FOLDER = re.compile(r"^[0-9a-df-np-sv-z]{32}-.+?(?:-(\d.*))?$")


def newest_first(paths: list[str]) -> list[str]:
    """Paths found in /nix/store, the newest version of the package first: sorting their
    text would sort by hash, which says nothing of age. Numbers in versions compare as
    numbers (11.1 after 9.2); a path without a version comes last."""
    def version(path: str) -> tuple[tuple[int, int, str], ...]:
        for part in Path(path).parts:
            named = _STORE_FOLDER.match(part)
            if named:
                return tuple((1, int(piece), "") if piece.isdigit() else (0, 0, piece)
                             for piece in re.findall(r"\d+|[A-Za-z]+", named.group(1) or ""))
        return ()

    return sorted(paths, key=lambda path: (version(path), path), reverse=True)


@lru_cache(maxsize=16)
def _deb_version(deb_name: str) -> str | None:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", deb_name],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


class CommandLineRenderer(Renderer):
    executables: ClassVar[tuple[str, ...]] = ()
    override_variable: ClassVar[str] = ""  # environment variable naming the executable
    version_args: ClassVar[tuple[str, ...]] = ("--version",)
    version_pattern: ClassVar[str] = r"(\d+(?:\.\d+)+)"
    install_hint: ClassVar[str] = ""

    @classmethod
    def variables(cls) -> tuple[str, ...]:
        own = (cls.override_variable,) if cls.override_variable else ()
        return tuple(dict.fromkeys((*own, *super().variables())))

    def find(self) -> str | None:
        override = os.environ.get(self.override_variable) if self.override_variable else None
        if override:
            return override if os.access(override, os.X_OK) else None
        for candidate in self.executables:
            found = shutil.which(candidate)
            if found:
                return found
        return None

    def availability(self) -> Availability:
        if not self.executables and not self.override_variable:
            return Availability(False, reason=f"{self.name} names no executable to run "
                                "(its class sets neither executables nor override_variable)")
        exe = self.find()
        if exe is None and not self.executables:
            return Availability(False, reason=f"{self.override_variable} is not set to an "
                                f"executable ({self.install_hint})")
        if exe is None:
            return Availability(False, reason=f"{self.executables[0]} not found "
                                f"({self.install_hint})")
        version = command_version((exe, *self.version_args), self.version_pattern)
        if version is None:
            return Availability(False, executable=exe, reason=f"{exe} did not tell its version")
        return Availability(True, version=version, executable=exe)

    def home(self) -> Path:
        """A private HOME per worker: the suite's settings never touch the user's."""
        home = self.scratch_dir / f"{self.name}-home-{os.getpid()}"
        home.mkdir(parents=True, exist_ok=True)
        return home

    def argv(self, executable: str, document: Path, task: Task, target: Path) -> list[str]:
        raise NotImplementedError

    def convert(self, document: Path, task: Task, workdir: Path,
                timeout_seconds: float) -> RenderOutcome:
        extension = target_extension(task, document.suffix)
        outdir = workdir / "out"
        outdir.mkdir(parents=True, exist_ok=True)
        target = outdir / f"{document.stem}.{extension}"
        argv = self.argv(self.availability().executable, document.resolve(), task, target)
        env = dict(os.environ, HOME=str(self.home()))
        result = run_in_group(argv, timeout_seconds=timeout_seconds, cwd=workdir, env=env)
        return classify(self.label, result, target, extension, timeout_seconds=timeout_seconds)
