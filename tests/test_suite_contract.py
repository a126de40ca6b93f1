"""The contract every registered suite keeps, checked the same way for each: every task on a
document of every family ends in the outcome its declared formats and tasks call for, an
``ok`` leaves a file of the task's format holding the source's kind of document, and
``close`` stops whatever the suite kept running. Suites installed here run for real; those
that cannot be (OnlyOffice, WPS) run against their stand-ins, which enforce the real
interface. Also: every environment variable a suite reads is declared, so a Dask worker is
given it, and declared options reach the cache key and the command line."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest

import renderers
from tests.fakes.fake_x2t import install as install_x2t
from harness import formats
from harness.formats import reference_for
from harness.executors.dask_cluster import forwarded_environment
from harness.sweep import SweepSettings, _options
from harness.formats import family, target_extension
from renderers.base import Status, Task
from tests.conftest import PROBES, REPO
from tests.fakes.outputs import write_pdf

SOURCES = ("word-features.docx", "sheet-features.xlsx", "deck-features.pptx")
INSTALLED_HERE = {"libreoffice", "abiword", "gnumeric"}
# Where a suite that is not installed here is, on a machine that has it: its tests run on it.
REAL = {"onlyoffice": "ONLYOFFICE_X2T_REAL", "onlyoffice-server": "ONLYOFFICE_DOCSERVER_URL_REAL",
        "wps": "WPS_OFFICE_HOME_REAL"}


def _sources(name: str, tmp_path: Path) -> list[Path]:
    """The probes; for the reference suite, copies with a Microsoft rendering beside them."""
    if name != "msoffice":
        return [PROBES / s for s in SOURCES]
    copies = []
    for source in SOURCES:
        copy = tmp_path / "with-reference" / source
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROBES / source, copy)
        write_pdf(reference_for(copy), [f"reference rendering of {source}"])
        copies.append(copy)
    return copies


@pytest.fixture(params=renderers.names())
def suite(request, tmp_path, monkeypatch):
    """Each registered suite, ready to run here: for real, or against its stand-in."""
    name = request.param
    real = os.environ.get(REAL.get(name, ""))
    if real:  # the real suite, where it is installed (REAL names the variable)
        monkeypatch.setenv(REAL[name].removesuffix("_REAL"), real)
    elif name == "onlyoffice":
        monkeypatch.setenv("ONLYOFFICE_X2T", str(install_x2t(tmp_path / "oo")))
    elif name == "onlyoffice-server":
        from tests.fakes.fake_docserver import FakeDocServer

        server = FakeDocServer()
        server.__enter__()
        request.addfinalizer(lambda: server.__exit__(None, None, None))
        monkeypatch.setenv("ONLYOFFICE_DOCSERVER_URL", server.url)
        monkeypatch.delenv("ONLYOFFICE_JWT_SECRET", raising=False)
        monkeypatch.setattr("renderers.onlyoffice_server.POLL_SECONDS", 0.05)
    elif name == "wps":
        if shutil.which("Xvfb") is None:
            pytest.skip("Xvfb not installed: the WPS stand-in needs a real X display")
        home = tmp_path / "wps-office"
        (home / "office6").mkdir(parents=True)
        monkeypatch.setenv("WPS_OFFICE_HOME", str(home))
        monkeypatch.setenv("WPS_OFFICE_VERSION", "0.0.0 (stand-in)")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO),
                                                          str(REPO / "tests" / "fakes")]))
    elif name == "msoffice-live":  # on Windows with Office, pywin32 itself; else its stand-in
        if os.name != "nt":
            monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO),
                                                              str(REPO / "tests" / "fakes")]))
    elif name not in INSTALLED_HERE and name != "msoffice":
        pytest.fail(f"suite {name} has no way to run here: add it to INSTALLED_HERE or give "
                    "it a stand-in in this fixture")
    renderer = renderers.get(name, tmp_path / "scratch")
    availability = renderer.availability()
    if not availability.available:
        if name in INSTALLED_HERE:
            pytest.skip(f"{name} not available here: {availability.reason}")
        pytest.fail(f"the {name} stand-in is not available: {availability.reason}")
    return renderer


def _holds_the_source_kind(output: Path, extension: str, source_family: str) -> str | None:
    """Why the output is not a document of the task's format and the source's kind."""
    if extension == "pdf":
        try:
            pages = len(pdfium.PdfDocument(str(output)))
        except pdfium.PdfiumError as exc:
            return f"not a PDF: {exc}"
        return None if pages else "a PDF without pages"
    try:
        with zipfile.ZipFile(output) as package:
            names = set(package.namelist())
            mimetype = (package.read("mimetype").decode() if "mimetype" in names else "")
    except zipfile.BadZipFile as exc:
        return f"not a package: {exc}"
    main = formats.main_part(extension)
    if main not in names:
        return f"no {main}"
    if main in formats.OOXML_MAIN_PARTS and formats.OOXML_MAIN_PARTS[main] != source_family:
        return f"a {formats.OOXML_MAIN_PARTS[main]} package from a {source_family} source"
    # ODF's own words; the stand-ins write the extension instead.
    odf_kinds = {"word": ("text", "odt"), "spreadsheet": ("spreadsheet", "ods"),
                 "presentation": ("presentation", "odp")}
    if mimetype and mimetype.rsplit(".", 1)[-1] not in odf_kinds[source_family]:
        return f"an ODF package of type {mimetype} from a {source_family} source"
    return None


@pytest.mark.parametrize("task", list(Task), ids=[t.value for t in Task])
def test_every_task_ends_as_the_suite_declares(suite, task, tmp_path):
    for source in _sources(suite.name, tmp_path):
        workdir = tmp_path / f"{source.stem}-{task.value}"
        outcome = suite.run(source, task, workdir, 120)
        extension = source.suffix[1:]
        target = target_extension(task, extension)
        if extension not in suite.formats or task not in suite.tasks or target is None:
            assert outcome.status is Status.UNSUPPORTED, (source.name, outcome.message)
            assert outcome.output_path is None and f".{extension}" in outcome.message
            continue
        assert outcome.status is Status.OK, (source.name, outcome.message, outcome.stderr)
        assert outcome.output_path is not None and outcome.output_path.is_file()
        assert outcome.output_path.suffix == f".{target}"
        assert outcome.output_path.is_relative_to(workdir)  # never beside the source
        problem = _holds_the_source_kind(outcome.output_path, target, family(extension))
        assert problem is None, (source.name, problem)
    suite.close()
    assert suite.process_groups() == frozenset()
    suite.close()  # closing twice is harmless


def test_a_suite_closes_at_the_end_of_a_with_block(suite, tmp_path):
    source = _sources(suite.name, tmp_path)[0]
    with suite as entered:
        assert entered is suite
        outcome = suite.run(source, Task.SHOW, tmp_path / "job", 120)
        assert outcome.status in (Status.OK, Status.UNSUPPORTED), outcome.message
    assert suite.process_groups() == frozenset()


# ------------------------------------------------------- what suites read from the environment

PROCESSES_DIR = REPO / "harness" / "processes"
RENDERERS_DIR = REPO / "renderers"
# Read by suites but never carried to a worker: the worker's own system (library path), and
# the tags each sweep and worker sets for itself (harness.processes.groups).
NOT_CARRIED = {"LD_LIBRARY_PATH", "FIDELITY_PROCESS_TAG", "FIDELITY_SWEEP_TAG",
               "FIDELITY_WORKER_TAG"}


def _constants(tree: ast.Module) -> dict[str, str]:
    return {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            for t in node.targets if isinstance(t, ast.Name)}


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" \
        and isinstance(node.value, ast.Name) and node.value.id == "os"


def variables_read() -> dict[str, set[str]]:
    """Variable -> the modules whose code reads it: os.environ.get / [] / getenv,
    a package_version's declared variable, a command-line suite's override_variable; in the
    suites and in the process-group code that starts them (harness/processes)."""
    trees = {p.name: ast.parse(p.read_text()) for p in sorted(
        [*RENDERERS_DIR.glob("*.py"), *PROCESSES_DIR.glob("*.py")])}
    constants: dict[str, str] = {}
    for tree in trees.values():
        constants.update(_constants(tree))

    def value(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return constants.get(node.id) if isinstance(node, ast.Name) else None

    found: dict[str, set[str]] = {}
    for module, tree in trees.items():
        for node in ast.walk(tree):
            read = None
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr == "get" \
                        and _is_environ(func.value):
                    read = value(node.args[0])
                elif isinstance(func, ast.Attribute) and func.attr == "getenv":
                    read = value(node.args[0])
                elif isinstance(func, ast.Name) and func.id == "package_version" \
                        and len(node.args) > 1:
                    read = value(node.args[1])
            elif isinstance(node, ast.Subscript) and _is_environ(node.value) \
                    and isinstance(node.ctx, ast.Load):
                read = value(node.slice)
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "override_variable"
                    for t in node.targets):
                read = value(node.value)
            if read:
                found.setdefault(read, set()).add(module)
    return found


def test_every_variable_a_suite_reads_is_declared_and_carried_to_workers():
    read = variables_read()
    assert {"FIDELITY_SOFFICE", "ONLYOFFICE_X2T", "FIDELITY_SUITE_NETWORK"} <= set(read)
    declared = set(renderers.environment())
    undeclared = {v: sorted(m) for v, m in read.items()
                  if v not in declared and v not in NOT_CARRIED}
    assert not undeclared, f"read but not declared by any suite: {undeclared}"
    assert not declared - set(read), f"declared but never read: {sorted(declared - set(read))}"


def test_the_dask_executor_forwards_exactly_the_declared_variables(monkeypatch):
    for variable in renderers.environment():
        monkeypatch.setenv(variable, f"value of {variable}")
    monkeypatch.setenv("FIDELITY_NOT_A_SUITE_SETTING", "x")
    assert forwarded_environment() == {v: f"value of {v}" for v in renderers.environment()}


def test_declared_options_are_the_cache_key_s_words(monkeypatch):
    settings = SweepSettings(jobs=1, timeout_seconds=60.0)
    for name in renderers.names():
        for option in renderers.renderer_class(name).options:
            monkeypatch.delenv(option.variable, raising=False)
    # The same words as before options were declared: a cache filled then is still used.
    assert _options("libreoffice", settings) == {"timeout_seconds": 60.0,
                                                 "libreoffice_mode": "persistent"}
    assert _options("gnumeric", settings) == {"timeout_seconds": 60.0}
    monkeypatch.setenv("FIDELITY_LIBREOFFICE_MODE", "oneshot")
    assert _options("libreoffice", settings)["libreoffice_mode"] == "oneshot"
    for name, option in renderers.options():
        assert option.default in option.choices
        assert option.variable in renderers.environment()
        assert renderers.option_key(name, option) in _options(name, settings)


def _fidelity(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120,
                          env=dict(os.environ, COLUMNS="200", NO_COLOR="1"))


def test_every_declared_option_is_a_run_option_that_checks_its_value(tmp_path):
    helped = _fidelity("run", "--help").stdout
    for name, option in renderers.options():
        flag = "--" + renderers.option_key(name, option).replace("_", "-")
        assert flag in helped
        refused = _fidelity("run", "--corpus", str(PROBES), "--out", str(tmp_path), flag,
                            "no-such-value")
        assert refused.returncode == 2, refused.stderr
        assert "no-such-value" in refused.stderr and "Traceback" not in refused.stderr
