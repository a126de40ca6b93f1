from __future__ import annotations

import os
from pathlib import Path

import pytest

import renderers
from harness.processes.groups import SWEEP_VARIABLE, WORKER_VARIABLE

REPO = Path(__file__).resolve().parent.parent
PROBES = REPO / "corpus" / "probes"
SHARED = REPO.parent / "shared" / "corpus"


def _libreoffice_reason() -> str | None:
    availability = renderers.get("libreoffice").availability()
    return None if availability.available else availability.reason


_LO_REASON = _libreoffice_reason()
needs_libreoffice = pytest.mark.skipif(
    _LO_REASON is not None, reason=f"LibreOffice not available here: {_LO_REASON}")
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared corpus absent at {SHARED}")


def processes_tagged(run_id: str) -> list[str]:
    """Names of the processes carrying a sweep's tag, which everything it starts inherits:
    what that sweep left behind, whatever other tests left on the machine."""
    from harness.processes.groups import SWEEP_VARIABLE

    needle = f"{SWEEP_VARIABLE}={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append((entry / "comm").read_text().strip())
        except OSError:
            continue
    return found


def run_suite(suite: str, task, source: Path, tmp_path: Path):
    """One real suite run on one document, the suite closed afterwards; the outcome."""
    with renderers.get(suite, tmp_path / f"scratch-{suite}") as renderer:
        return renderer.run(source, task, tmp_path / f"{suite}-{task.value}", 120)


@pytest.fixture(autouse=True)
def no_process_tag_leaks():
    """A test that leaves a sweep's or worker's tag in this process's environment makes every
    later test's processes carry it, and the next clean-up of that tag kills them (SIGKILL,
    seen as exit -9 far from the cause): the tags are put back as they were, and the test
    that leaked one fails."""
    before = {v: os.environ.get(v) for v in (SWEEP_VARIABLE, WORKER_VARIABLE)}
    yield
    leaked = {v: os.environ.get(v) for v in before if os.environ.get(v) != before[v]}
    for variable, value in before.items():
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value
    assert not leaked, f"the test left process tags in the environment: {leaked}"
