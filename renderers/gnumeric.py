"""Gnumeric's ssconvert: a spreadsheet engine that installs here."""

from __future__ import annotations

from pathlib import Path

from harness.formats import SPREADSHEET, extensions
from renderers import register
from renderers.base import Task
from renderers.command import CommandLineRenderer

_EXPORTERS = {Task.SHOW: "Gnumeric_pdf:pdf_assistant", Task.SAVE: "Gnumeric_Excel:xlsx2",
              Task.SAVE_ODF: "Gnumeric_OpenCalc:odf", Task.SAVE_RECALC: "Gnumeric_Excel:xlsx2"}


@register
class Gnumeric(CommandLineRenderer):
    name = "gnumeric"
    label = "Gnumeric"
    formats = extensions(SPREADSHEET, without=frozenset({"xlt"}))
    executables = ("ssconvert",)
    override_variable = "FIDELITY_SSCONVERT"
    version_pattern = r"version '([\d.]+)'"
    install_hint = "Debian: apt-get install gnumeric"
    tasks = frozenset(Task)

    def argv(self, executable: str, document: Path, task: Task, target: Path) -> list[str]:
        recalc = ["--recalc"] if task is Task.SAVE_RECALC else []
        return [executable, *recalc, f"--export-type={_EXPORTERS[task]}", str(document),
                str(target)]
