"""A run against the earlier runs of the same documents: each result compared with the
previous run's (`compare`), each suite's mean grade per format run after run (`trends`),
failures counted as 0 in both and in `--fail-below` (`grades`)."""

from harness.history.compare import (Baseline, Change, SuiteHistory, baseline, classify,
                                     history, regressions, summary_lines)
from harness.history.grades import MeanGrade, below_grade, mean_grade, row_label
from harness.history.trends import Trend, TrendPoint, trend_runs, trends

__all__ = ["Baseline", "Change", "MeanGrade", "SuiteHistory", "Trend", "TrendPoint",
           "baseline", "below_grade", "classify", "history", "mean_grade", "regressions",
           "row_label", "summary_lines", "trend_runs", "trends"]
