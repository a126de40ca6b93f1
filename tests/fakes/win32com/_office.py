"""The stand-in's Office applications by ProgID (see the package's docstring)."""

from __future__ import annotations

from win32com._base import StandInViolation
from win32com._excel import _Excel
from win32com._powerpoint import _PowerPoint
from win32com._word import _Word

_APPLICATIONS = {cls.progid: cls for cls in (_Word, _Excel, _PowerPoint)}
__all__ = ["StandInViolation", "application"]


def application(progid: str) -> _Word | _Excel | _PowerPoint:
    return _APPLICATIONS[progid]()
