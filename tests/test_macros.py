"""Macros in hostile documents are real and would write a file (controls, with macro
security switched off in a throwaway LibreOffice); through the harness they never run.

The sweep over the whole hostile set, every suite included, is in test_adversarial.py;
this file proves that the macros there are worth testing against.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from renderers.base import Task
from harness.processes.groups import kill_tree, start_group
from renderers.uno_listener import import_uno
from tests.conftest import needs_libreoffice, run_suite
from tests.hostile_files import macro_docm, macro_odt, macro_xlsm

pytestmark = [needs_libreoffice, pytest.mark.integration]

# What a careless desktop would have: every macro allowed, none signed.
_UNSAFE_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""
ALWAYS_EXECUTE_NO_WARN = 4


def _wait_for(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return path.exists()


def _unsafe_office(tmp_path: Path, document: Path, *, hidden: bool, macro: str | None = None
                   ) -> None:
    """Open document in a LibreOffice with macros allowed; optionally call one macro."""
    from renderers.libreoffice import find_soffice

    profile = tmp_path / "unsafe-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_UNSAFE_PROFILE)
    pipe = f"fidelity-unsafe-{id(tmp_path)}"
    proc, tag = start_group([find_soffice(), f"-env:UserInstallation={profile.as_uri()}",
                             "--headless", "--norestore", "--nologo",
                             f"--accept=pipe,name={pipe};urp;"], log=tmp_path / "unsafe.log")
    try:
        uno = import_uno()
        from com.sun.star.beans import PropertyValue  # noqa: PLC0415 (after import_uno)

        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + 60
        while True:
            try:
                context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:
                assert time.monotonic() < deadline, "the unsafe LibreOffice did not start"
                time.sleep(0.2)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop",
                                                                   context)
        args = []
        for name, value in (("Hidden", hidden), ("MacroExecutionMode", ALWAYS_EXECUTE_NO_WARN)):
            prop = PropertyValue()
            prop.Name, prop.Value = name, value
            args.append(prop)
        doc = desktop.loadComponentFromURL(document.as_uri(), "_blank", 0, tuple(args))
        if macro:
            doc.getScriptProvider().getScript(macro).invoke((), (), ())
        time.sleep(1)  # a load event's macro runs after loading returns
        doc.close(True)
    finally:
        kill_tree(proc.pid, tag)
        proc.wait()


def test_the_load_event_macro_runs_where_macros_are_allowed_and_never_in_the_harness(tmp_path):
    marker = tmp_path / "the macro ran"
    macro_odt(tmp_path / "load macro.odt", marker)
    for task in (Task.SHOW, Task.SAVE, Task.SAVE_ODF):
        outcome = run_suite("libreoffice", task, tmp_path / "load macro.odt", tmp_path)
        assert outcome.status.value == "ok", outcome.message
        assert not marker.exists(), f"the macro ran in the harness's LibreOffice ({task.value})"
    # Control: the same file, opened on screen by a LibreOffice with macros allowed, runs it.
    _unsafe_office(tmp_path, tmp_path / "load macro.odt", hidden=False)
    assert _wait_for(marker, 10), "control failed: the load-event macro never ran"


@pytest.mark.parametrize("make, name, auto", [
    (macro_docm, "auto macro.docm", "VBAProject.Module1.AutoOpen"),
    (macro_xlsm, "auto macro.xlsm", "VBAProject.Module1.Auto_Open"),
])
def test_the_vba_project_is_real_and_its_macro_writes_the_file(tmp_path, make, name, auto):
    """LibreOffice imports the generated VBA project as executable Basic, and calling its
    auto-run macro writes the marker: the file in the hostile sweep would, if run."""
    marker = tmp_path / "the macro ran"
    make(tmp_path / name, marker)
    for task in (Task.SHOW, Task.SAVE):
        outcome = run_suite("libreoffice", task, tmp_path / name, tmp_path)
        assert outcome.status.value == "ok", outcome.message
    assert not marker.exists(), "the macro ran in the harness's LibreOffice"
    _unsafe_office(tmp_path, tmp_path / name, hidden=True,
                   macro=f"vnd.sun.star.script:{auto}?language=Basic&location=document")
    assert _wait_for(marker, 10), "control failed: the VBA macro did not write its file"
