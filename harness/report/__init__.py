"""Reports built from the store alone: building one never converts anything."""

from harness.report.build import build_report

__all__ = ["build_report"]
