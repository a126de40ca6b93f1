"""The Document Server conversion API adapter, against ``FakeDocServer``: a local HTTP
stand-in that follows the API's documentation (JWT, async polling, error codes) and really
downloads the document from the adapter's short-lived endpoint. With
ONLYOFFICE_DOCSERVER_URL_REAL set, the first tests also run against that server."""

import os
import urllib.error
import urllib.request

import jwt
import pytest

import renderers
from renderers.base import Status, Task
from renderers.onlyoffice_server import ERRORS
from tests.conftest import PROBES
from tests.fakes.fake_docserver import VERSION, FakeDocServer

REAL = os.environ.get("ONLYOFFICE_DOCSERVER_URL_REAL")


@pytest.fixture
def server(monkeypatch):
    with FakeDocServer() as fake:
        monkeypatch.setenv("ONLYOFFICE_DOCSERVER_URL", fake.url)
        monkeypatch.delenv("ONLYOFFICE_JWT_SECRET", raising=False)
        monkeypatch.setattr("renderers.onlyoffice_server.POLL_SECONDS", 0.05)
        yield fake


@pytest.fixture(params=["stand-in"] + (["real"] if REAL else []))
def any_server(request, monkeypatch):
    if request.param == "real":
        monkeypatch.setenv("ONLYOFFICE_DOCSERVER_URL", REAL)
        yield None
        return
    with FakeDocServer() as fake:
        monkeypatch.setenv("ONLYOFFICE_DOCSERVER_URL", fake.url)
        monkeypatch.setattr("renderers.onlyoffice_server.POLL_SECONDS", 0.05)
        yield fake


def _renderer(tmp_path):
    return renderers.get("onlyoffice-server", tmp_path / "scratch")


def test_unconfigured_is_unavailable_in_words(tmp_path, monkeypatch):
    monkeypatch.delenv("ONLYOFFICE_DOCSERVER_URL", raising=False)
    outcome = _renderer(tmp_path).show(PROBES / "word-features.docx", tmp_path / "job", 10)
    assert outcome.status is Status.UNAVAILABLE and "ONLYOFFICE_DOCSERVER_URL" in outcome.message


def test_unreachable_server_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv("ONLYOFFICE_DOCSERVER_URL", "http://127.0.0.1:9")
    availability = _renderer(tmp_path).availability()
    assert not availability.available and "unreachable" in availability.reason


# Every task on every family: tests/test_suite_contract.py, as for every suite.
def test_the_conversion_api_is_named_as_the_way_it_was_driven(any_server, tmp_path):
    outcome = _renderer(tmp_path).run(PROBES / "sheet-features.xlsx", Task.SAVE_ODF,
                                      tmp_path / "job", 60)
    assert outcome.status is Status.OK, outcome.message
    assert outcome.via == "conversion API"


def test_version_is_read_from_the_editor_api_script(server, tmp_path):
    assert _renderer(tmp_path).availability().version == VERSION


def test_async_conversion_is_polled_with_the_same_key(server, tmp_path):
    server.polls_before_done = 3
    outcome = _renderer(tmp_path).show(PROBES / "word-features.docx", tmp_path / "job", 60)
    assert outcome.status is Status.OK and outcome.pages == 1
    keys = {r["body"]["key"] for r in server.requests}
    assert len(keys) == 1 and len(server.requests) == 4
    assert all(r["body"]["async"] is True for r in server.requests)


def test_requests_are_signed_when_a_secret_is_set(server, tmp_path, monkeypatch):
    server.secret = "a-document-server-secret-of-32-bytes!"
    monkeypatch.setenv("ONLYOFFICE_JWT_SECRET", "a-document-server-secret-of-32-bytes!")
    outcome = _renderer(tmp_path).show(PROBES / "word-features.docx", tmp_path / "job", 60)
    assert outcome.status is Status.OK
    header = server.requests[0]["authorization"].removeprefix("Bearer ")
    assert jwt.decode(header, "a-document-server-secret-of-32-bytes!", algorithms=["HS256"])["payload"]["outputtype"] == "pdf"
    monkeypatch.setenv("ONLYOFFICE_JWT_SECRET", "another-secret-that-is-32-bytes-long")
    refused = _renderer(tmp_path).show(PROBES / "word-features.docx", tmp_path / "job2", 60)
    assert refused.status is Status.FAILED and "invalid token" in refused.message


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_documented_error_is_classified(server, code, tmp_path):
    server.force_error = code
    outcome = _renderer(tmp_path).show(PROBES / "word-features.docx", tmp_path / "job", 60)
    status, why = ERRORS[code]
    assert outcome.status is status and why in outcome.message and outcome.returncode == code


def test_a_corrupted_document_is_the_server_s_conversion_error(server, tmp_path):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"not a zip at all")
    outcome = _renderer(tmp_path).show(broken, tmp_path / "job", 60)
    assert outcome.status is Status.FAILED and "(error -3)" in outcome.message


def test_a_conversion_that_never_ends_times_out(server, tmp_path):
    server.never_done = True
    outcome = _renderer(tmp_path).show(PROBES / "word-features.docx", tmp_path / "job", 1)
    assert outcome.status is Status.TIMED_OUT and "50 %" in outcome.message


def test_the_document_endpoint_closes_after_the_conversion(server, tmp_path):
    _renderer(tmp_path).show(PROBES / "word-features.docx", tmp_path / "job", 60)
    [served] = server.downloads
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(served, timeout=5)
