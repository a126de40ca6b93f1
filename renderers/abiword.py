"""AbiWord: a word processor that installs here, so the matrix has a second real engine."""

from __future__ import annotations

from pathlib import Path

from harness.formats import WORD, extensions
from renderers import register
from renderers.base import Task
from renderers.command import CommandLineRenderer

# AbiWord's exporter names for each task.
_EXPORTERS = {Task.SHOW: "pdf", Task.SAVE: "docx", Task.SAVE_ODF: "odt"}


@register
class AbiWord(CommandLineRenderer):
    name = "abiword"
    label = "AbiWord"
    formats = extensions(WORD)
    executables = ("abiword",)
    override_variable = "FIDELITY_ABIWORD"
    install_hint = "Debian: apt-get install abiword"

    def argv(self, executable: str, document: Path, task: Task, target: Path) -> list[str]:
        return [executable, f"--to={_EXPORTERS[task]}", f"--to-name={target}", str(document)]
