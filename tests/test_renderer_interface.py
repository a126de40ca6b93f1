"""The renderer interface without any suite: tasks, targets, output validation, exit-code
classification, the registry."""

import zipfile

import pytest

import renderers
from harness.truth import read_truth
from harness.formats import family, target_extension
from renderers.base import Status, Task
from renderers.output import ExitMeaning, classify, package_problem
from harness.processes.groups import ProcessResult
from tests.fakes.outputs import write_package, write_pdf


def test_every_registered_suite_declares_what_it_does():
    for name in renderers.names():
        renderer = renderers.get(name)
        assert renderer.name == name and renderer.label and renderer.formats
        assert renderer.tasks and Task.SHOW in renderer.tasks


@pytest.mark.parametrize("extension,save,odf", [
    ("doc", "docx", "odt"), ("DOCX", "docx", "odt"), ("xls", "xlsx", "ods"),
    ("xlsm", "xlsx", "ods"), ("ppt", "pptx", "odp"), ("ppsx", "pptx", "odp")])
def test_a_save_writes_the_ooxml_and_odf_of_the_source_family(extension, save, odf):
    assert target_extension(Task.SHOW, extension) == "pdf"
    assert target_extension(Task.SAVE, extension) == save
    assert target_extension(Task.SAVE_ODF, extension) == odf


def test_unknown_extensions_have_no_family_and_are_refused(tmp_path):
    assert family("zip") is None
    outcome = renderers.get("abiword", tmp_path).run(tmp_path / "a.xlsx", Task.SHOW, tmp_path, 5)
    assert outcome.status is Status.UNSUPPORTED and ".xlsx" in outcome.message
    reference = renderers.get("msoffice", tmp_path).run(tmp_path / "a.docx", Task.SAVE,
                                                        tmp_path, 5)
    assert reference.status is Status.UNSUPPORTED and "cannot save" in reference.message


@pytest.mark.parametrize("kind", ["docx", "xlsx", "pptx", "odt", "ods", "odp"])
def test_packages_are_valid_only_with_their_main_part(kind, tmp_path):
    good = tmp_path / f"good.{kind}"
    write_package(good, kind)
    assert package_problem(good, kind) is None
    hollow = tmp_path / f"hollow.{kind}"
    with zipfile.ZipFile(hollow, "w") as package:
        package.writestr("other.xml", "<x/>")
    assert "has no" in package_problem(hollow, kind)
    junk = tmp_path / f"junk.{kind}"
    junk.write_bytes(b"junk")
    assert "not a readable package" in package_problem(junk, kind)


def _ran(returncode, timed_out=False, stderr=""):
    return ProcessResult(returncode, "", stderr, 0.1, timed_out)


def test_classify_reads_exit_status_then_the_file(tmp_path):
    pdf = tmp_path / "out.pdf"
    assert classify("S", _ran(0), pdf, "pdf", timeout_seconds=5).status is Status.FAILED
    write_pdf(pdf, ["hello"])
    ok = classify("S", _ran(0), pdf, "pdf", timeout_seconds=5)
    assert ok.status is Status.OK and ok.pages == 1
    assert classify("S", _ran(-11), pdf, "pdf", timeout_seconds=5).status is Status.CRASHED
    assert classify("S", _ran(134), pdf, "pdf", timeout_seconds=5).status is Status.CRASHED
    assert classify("S", _ran(None, True), pdf, "pdf", timeout_seconds=5).status \
        is Status.TIMED_OUT
    failed = classify("S", _ran(1, stderr="Error: boom"), pdf, "pdf", timeout_seconds=5)
    assert failed.status is Status.FAILED and "Error: boom" in failed.message
    (tmp_path / "empty.pdf").write_bytes(b"")
    assert classify("S", _ran(0), tmp_path / "empty.pdf", "pdf", timeout_seconds=5).status \
        is Status.EMPTY


def test_documented_exit_codes_win_over_the_generic_rules(tmp_path):
    pdf = tmp_path / "out.pdf"
    write_pdf(pdf, ["kept"])
    table = {200: ExitMeaning(Status.UNSUPPORTED, "locked"),
             96: ExitMeaning(Status.OK, "cells lost", keeps_output=True)}
    locked = classify("S", _ran(200), pdf, "pdf", timeout_seconds=5, exit_codes=table)
    assert locked.status is Status.UNSUPPORTED and "locked" in locked.message
    kept = classify("S", _ran(96), pdf, "pdf", timeout_seconds=5, exit_codes=table)
    assert kept.status is Status.OK and kept.warnings == ("cells lost",)
    assert "cells lost" in kept.message


def test_odf_reader_keeps_headers_footnotes_and_spaces_and_leaves_comments_out(tmp_path):
    odt = tmp_path / "doc.odt"
    text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    style = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
    with zipfile.ZipFile(odt, "w") as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        package.writestr("content.xml", (
            f'<office:document-content xmlns:office="{office}" xmlns:text="{text}">'
            "<office:body><office:text><text:p><office:annotation><text:p>a comment"
            "</text:p></office:annotation>one<text:s/>two<text:note><text:note-body>"
            "<text:p>foot note</text:p></text:note-body></text:note></text:p>"
            "</office:text></office:body></office:document-content>"))
        package.writestr("styles.xml", (
            f'<office:document-styles xmlns:office="{office}" xmlns:text="{text}" '
            f'xmlns:style="{style}"><office:master-styles><style:master-page>'
            "<style:header><text:p>head line</text:p></style:header></style:master-page>"
            "</office:master-styles></office:document-styles>"))
    truth = read_truth(odt, "odt")
    assert truth.text_blocks == ("head line", "one two", "foot note")
