"""JUnit XML for CI dashboards: a testsuite per suite and version, a testcase per document
and task. `failure` when a suite's result is not good enough (failed, empty, or graded
below the threshold), `error` when it crashed or timed out, `skipped` when it could not
run (format unsupported, suite unavailable). A failure's `type` is the status that caused
it, or `grade` when the suite rendered the document and it was graded below the threshold
(`--fail-below`, which also makes `fidelity run` exit 1; that exit counts a failure as
grade 0, and the failure here stays typed by its status)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from harness.records import JobResult, Status
from harness.store import Run

ERRORS = frozenset({Status.CRASHED, Status.TIMED_OUT})
SKIPPED = frozenset({Status.UNSUPPORTED, Status.UNAVAILABLE})
FAILURES = frozenset({Status.FAILED, Status.EMPTY})
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: object) -> str:
    """Document-borne strings may hold characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("\ufffd", str(value))


def outcome(result: JobResult, fail_below_grade: int) -> str:
    if result.status in ERRORS:
        return "error"
    if result.status in SKIPPED:
        return "skipped"
    if result.status in FAILURES:
        return "failure"
    if result.grade is not None and result.grade < fail_below_grade:
        return "failure"
    return "passed"


def write_junit(path: Path, run: Run, results: list[JobResult], fail_below_grade: int) -> None:
    groups: dict[tuple[str, str], list[JobResult]] = defaultdict(list)
    for r in results:
        groups[(r.suite, r.suite_version or "unknown version")].append(r)
    root = ET.Element("testsuites", name=f"fidelity run {run.id}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for (suite, version), members in sorted(groups.items()):
        counts = {"failure": 0, "error": 0, "skipped": 0}
        element = ET.SubElement(root, "testsuite", name=_text(f"{suite} {version}"),
                                timestamp=run.started_at)
        for r in members:
            case = ET.SubElement(element, "testcase", classname=_text(f"{suite}.{r.task}"),
                                 name=_text(f"{r.corpus}/{r.document}"),
                                 time=f"{r.total_seconds:.3f}")
            kind = outcome(r, fail_below_grade)
            if kind == "passed":
                continue
            counts[kind] += 1
            graded_low = r.status == "ok"
            what = f"grade {r.grade} is below {fail_below_grade}" if graded_low else r.status
            child = ET.SubElement(case, kind, message=_text(f"{what}: {r.message}"[:2000]),
                                  type="grade" if graded_low else str(r.status))
            if r.stderr and kind != "skipped":
                child.text = _text(r.stderr[-4000:])
        element.set("tests", str(len(members)))
        element.set("failures", str(counts["failure"]))
        element.set("errors", str(counts["error"]))
        element.set("skipped", str(counts["skipped"]))
        element.set("time", f"{sum(r.total_seconds for r in members):.3f}")
        totals["tests"] += len(members)
        for key, kind in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
            totals[key] += counts[kind]
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
