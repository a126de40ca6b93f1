"""The documentation agrees with the code: links lead somewhere, the README stays short,
every `fidelity` command and option it names exists, the results schema it states is the
one written, and the architecture map names every module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

PROJECT = Path(__file__).resolve().parent.parent
README = PROJECT / "README.md"
DOCS = sorted((PROJECT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
COMMAND = re.compile(r"(?:^|\s|/)fidelity((?: [a-z][a-z-]*){1,2})((?: [^\s|`]+)*)")


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def code(page: Path) -> list[str]:
    """Every piece of code a page shows: lines of fenced blocks, and inline spans."""
    text = page.read_text(encoding="utf-8")
    pieces = [line for block in FENCE.findall(text) for line in block.splitlines()[1:-1]]
    return pieces + INLINE.findall(FENCE.sub("", text))


@pytest.fixture(scope="module")
def cli():
    """The `fidelity` command as `fidelity --help` sees it."""
    from harness.cli import app
    return typer.main.get_command(app)


def test_there_are_pages_for_each_reader():
    names = {p.stem for p in DOCS}
    assert {"method", "measurements", "nightly", "safety", "results", "architecture"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_lead_to_files_and_headings(page: Path):
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    assert not broken, f"{page.name}: {broken}"


def test_readme_is_short_and_names_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 160
    shown = "\n".join(code(README))
    assert "make sweep" in shown and "make test" in shown


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_fidelity_command_and_option_named_exists(page: Path, cli):
    unknown = []
    for piece in code(page):
        for match in COMMAND.finditer(piece):
            words = match.group(1).split()
            command = cli.commands.get(words[0])
            if command is None:
                unknown.append(f"fidelity {words[0]}")
                continue
            if hasattr(command, "commands"):  # a group: `fidelity corpus add`
                if len(words) < 2:
                    continue  # the group itself: `fidelity corpus`
                if words[1] not in command.commands:
                    unknown.append(f"fidelity {' '.join(words)}")
                    continue
                command = command.commands[words[1]]
            known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
            for option in re.findall(r"(--[a-z][a-z-]*)", match.group(2)):
                if option not in known | {"--help"}:
                    unknown.append(f"fidelity {command.name} {option}")
    assert not unknown, f"{page.name} names what `fidelity --help` does not have: {unknown}"


def test_run_options_in_the_nightly_table_exist(cli):
    text = (PROJECT / "docs" / "nightly.md").read_text(encoding="utf-8")
    section = text.split("## The command", 1)[1].split("\n## ", 1)[0]
    named = {opt for row in section.splitlines() if row.startswith("| `--")
             for opt in re.findall(r"`(--[a-z][a-z-]*)", row.split("|")[1])}
    known = {opt for p in cli.commands["run"].params for opt in (*p.opts, *p.secondary_opts)}
    assert named, "the options table of docs/nightly.md was not found"
    assert named <= known, f"not options of `fidelity run`: {sorted(named - known)}"


def stated(label: str, text: str) -> int:
    found = re.search(rf"{label}[^0-9\n]*\*\*(\d+)\*\*", text)
    assert found, f"docs/results.md states no {label}"
    return int(found.group(1))


def test_results_doc_states_the_versions_the_code_writes():
    import harness
    from harness import store
    from harness.report import exports

    text = (PROJECT / "docs" / "results.md").read_text(encoding="utf-8")
    assert stated("store schema version", text) == store.SCHEMA_VERSION
    assert stated("results.json schema version", text) == exports.EXPORT_SCHEMA_VERSION
    assert stated("pipeline version", text) == harness.PIPELINE_VERSION
    for example in re.findall(r'"pipeline_version": (\d+)', text):
        assert int(example) == harness.PIPELINE_VERSION
    for example in re.findall(r'"schema_version": (\d+)', text):
        assert int(example) == exports.EXPORT_SCHEMA_VERSION


def folders(cell: str) -> set[str]:
    """The folders a table cell's code spans name: `harness/compare/` and
    `renderers/wps.py` name harness/compare/ and renderers/."""
    return {span if span.endswith("/") else span.rsplit("/", 1)[0] + "/"
            for span in INLINE.findall(cell) if "/" in span}


def test_results_doc_names_every_score():
    from harness.records import SCORE_NAMES

    text = (PROJECT / "docs" / "results.md").read_text(encoding="utf-8")
    missing = sorted(name for name in SCORE_NAMES if f"`{name}`" not in text)
    assert not missing, f"docs/results.md does not describe the scores {missing}"


def test_architecture_names_every_module():
    text = (PROJECT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [(folders(line.split("|")[1]), line) for line in text.splitlines()
            if line.startswith("| `")]
    missing = []
    for root in ("harness", "renderers"):
        for module in sorted((PROJECT / root).rglob("*.py")):
            if module.name == "__init__.py" and module.parent.name != "renderers":
                continue
            relative = module.relative_to(PROJECT).as_posix()
            folder = relative.rsplit("/", 1)[0] + "/"
            if f"`{relative}`" in text or any(
                    folder in named and f"`{module.name}`" in row for named, row in rows):
                continue
            missing.append(relative)
    assert not missing, f"docs/architecture.md does not name: {missing}"


def test_measurements_are_generated():
    text = (PROJECT / "docs" / "measurements.md").read_text(encoding="utf-8")
    assert "scripts/measurements.py" in text
    assert re.search(r"^fidelity calibrate .*--json$", text, re.M)
    assert re.search(r"^fidelity bench .*--json$", text, re.M)
