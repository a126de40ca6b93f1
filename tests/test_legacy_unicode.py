"""Legacy binaries whose summary properties are Unicode (code page 1200, as WPS writes them):
olefile gives their strings as str, not bytes, and the reader must take either. The files
are compound files built here byte by byte (MS-CFB), their property sets too (MS-OLEPS)."""

from __future__ import annotations

import shutil
import struct
import uuid
from pathlib import Path

import olefile
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import SourceError
from harness.truth import legacy, one_line, read_truth

from .conftest import SHARED, needs_shared

SECTOR = 512
FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
SUMMARY = uuid.UUID("F29F85E0-4FF9-1068-AB91-08002B27B3D9")
DOC_SUMMARY = uuid.UUID("D5CDD502-2E9C-101B-9397-08002B2CF9AE")
VT_I2, VT_I4, VT_LPSTR, VT_LPWSTR = 2, 3, 30, 31


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def property_set(fmtid: uuid.UUID, properties: dict[int, tuple[int, object]]) -> bytes:
    """One section of typed properties (MS-OLEPS 2.20-2.21), padded to 4 KiB so that the
    compound file stores it in ordinary sectors rather than the mini stream."""
    values = []
    for pid, (vt, value) in properties.items():
        if vt == VT_I2:
            body = struct.pack("<hxx", value)
        elif vt == VT_I4:
            body = struct.pack("<i", value)
        elif vt == VT_LPWSTR:  # UnicodeString: characters with their NUL, then padding
            text = (value + "\0").encode("utf-16-le")
            body = _padded(struct.pack("<I", len(text) // 2) + text)
        else:  # VT_LPSTR: CodePageString, its bytes in the set's code page
            raw = value + b"\0"
            body = _padded(struct.pack("<I", len(raw)) + raw)
        values.append((pid, struct.pack("<I", vt) + body))
    offset = 8 + 8 * len(values)
    table, blobs = b"", b""
    for pid, blob in values:
        table += struct.pack("<II", pid, offset + len(blobs))
        blobs += blob
    section = struct.pack("<II", 8 + len(table) + len(blobs), len(values)) + table + blobs
    header = struct.pack("<HHI16sI16sI", 0xFFFE, 0, 0x00020006, b"\0" * 16, 1,
                         fmtid.bytes_le, 48)
    stream = header + section
    return stream + b"\0" * max(0, 4096 - len(stream))


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A version 3 compound file (MS-CFB) holding `streams` at its root, each of 4 KiB or
    more (no mini stream): header, FAT, directory, then the streams' sectors."""
    assert all(len(data) >= 4096 for data in streams.values())
    entries = 1 + len(streams)
    directory_sectors = -(-entries // 4)
    data_sectors = [-(-len(data) // SECTOR) for data in streams.values()]
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + directory_sectors + sum(data_sectors):
        fat_sectors += 1
    assert fat_sectors <= 109
    fat = [FAT_SECTOR] * fat_sectors

    def chain(count: int) -> int:
        start = len(fat)
        fat.extend(range(start + 1, start + count))
        fat.append(END)
        return start

    directory_start = chain(directory_sectors)
    starts = [chain(count) for count in data_sectors]
    fat += [FREE] * (fat_sectors * 128 - len(fat))

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return struct.pack("<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, NO_STREAM,
                           right, child, b"\0" * 16, 0, 0, 0, start, size)

    names = list(streams)
    table = entry("Root Entry", 5, NO_STREAM, 1 if names else NO_STREAM, END, 0)
    for i, name in enumerate(names):  # each the next one's left neighbour: a valid tree
        right = i + 2 if i + 1 < len(names) else NO_STREAM
        table += entry(name, 2, right, NO_STREAM, starts[i], len(streams[name]))
    empty = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NO_STREAM, NO_STREAM, NO_STREAM,
                        b"\0" * 16, 0, 0, 0, 0, 0)
    table += empty * (directory_sectors * 4 - entries)
    difat = list(range(fat_sectors)) + [FREE] * (109 - fat_sectors)
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("D0CF11E0A1B11AE1"),
                         b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6, 0, fat_sectors,
                         directory_start, 0, 4096, END, 0, END, 0)
    header += struct.pack("<109I", *difat)
    body = struct.pack(f"<{len(fat)}I", *fat) + table
    for data in streams.values():
        body += data + b"\0" * (-len(data) % SECTOR)
    return header + body


def summaries(application: str, pages: int, characters: int, unicode: bool = True,
              slides: int | None = None) -> dict[str, bytes]:
    """Summary streams as WPS writes them (code page 1200, Unicode strings), or, with
    unicode=False, as Word 97 does (code page 1252, byte strings)."""
    name = (VT_LPWSTR, application) if unicode else (VT_LPSTR, application.encode("cp1252"))
    codepage = (VT_I2, 1200 if unicode else 1252)
    summary = property_set(SUMMARY, {1: codepage, 18: name, 14: (VT_I4, pages),
                                     16: (VT_I4, characters)})
    counts = {1: codepage} | ({7: (VT_I4, slides), 9: (VT_I4, 0)} if slides else {})
    return {"\x05SummaryInformation": summary,
            "\x05DocumentSummaryInformation": property_set(DOC_SUMMARY, counts)}


@pytest.mark.parametrize("unicode", [True, False], ids=["code page 1200", "code page 1252"])
def test_the_summary_is_read_in_either_code_page(tmp_path, unicode):
    path = tmp_path / "summary.doc"
    path.write_bytes(compound_file(summaries("Microsoft Office Word", 3, 4200, unicode)))
    with olefile.OleFileIO(str(path)) as ole:  # what olefile makes of each
        meta = ole.get_metadata()
    assert isinstance(meta.creating_application, str if unicode else bytes)
    assert meta.codepage == (1200 if unicode else 1252)
    pages, source, facts = legacy.microsoft_counts(path)
    assert facts["application"] == "Microsoft Office Word"
    assert (pages, facts["num_pages"], facts["num_chars"]) == (3, 3, 4200)
    assert source == "Microsoft Office Word's page count (SummaryInformation)"


def test_a_wps_summary_names_wps_and_is_not_taken_for_microsofts(tmp_path):
    path = tmp_path / "wps.ppt"
    path.write_bytes(compound_file(summaries("WPS Presentation", 0, 0, slides=7)))
    pages, source, facts = legacy.microsoft_counts(path)
    assert (pages, source) == (None, None)
    assert facts == {"application": "WPS Presentation", "num_pages": 0, "num_chars": 0,
                     "slides": 7, "hidden_slides": 0}


@pytest.mark.parametrize("value, codepage, text", [
    (None, None, ""),
    ("WPS Office", 1200, "WPS Office"),
    ("WPS Office\0\0garbage after the string", 1200, "WPS Office"),
    (b"Microsoft Word 8.0\0", 1252, "Microsoft Word 8.0"),
    (b"Caf\xc3\xa9", -535, "Café"),  # UTF-8, code page 65001 read as a signed number
    (b"Caf\xe9", 1252, "Café"),
    (b"Caf\xe9", 1234, "Café"),  # a code page Python has no codec for: Latin-1
    (bytearray(b"Writer"), None, "Writer"),
])
def test_property_text_takes_bytes_and_str(value, codepage, text):
    assert legacy.property_text(value, codepage) == text


@given(st.one_of(st.none(), st.text(), st.binary()), st.one_of(st.none(), st.integers(
    -70000, 70000)))
def test_property_text_never_fails(value, codepage):
    assert "\0" not in legacy.property_text(value, codepage)


@needs_shared
def test_a_real_word_document_with_a_unicode_summary_reads(tmp_path):
    """Word's own streams from a corpus .doc, its summary written again as WPS writes it:
    catdoc reads the text and the counts come from the Unicode summary."""
    if shutil.which("catdoc") is None:
        pytest.skip("catdoc not installed here")
    source = SHARED / "apache-poi" / "footnote.doc"
    if not source.is_file():
        pytest.skip(f"{source.name} absent")
    with olefile.OleFileIO(str(source)) as ole:
        word = {name: ole.openstream(name).read() for name in ("WordDocument", "1Table")}
    word = {k: v + b"\0" * max(0, 4096 - len(v)) for k, v in word.items()}
    path = tmp_path / "wps.doc"
    path.write_bytes(compound_file(word | summaries("Microsoft Word 8.0", 1, 60)))
    truth = read_truth(path, "doc")
    assert truth.expected_pages == 1 and truth.facts["application"] == "Microsoft Word 8.0"
    assert any("footnote" in block.lower() for block in truth.text_blocks), truth.text_blocks
    wps = tmp_path / "wps-own.doc"
    wps.write_bytes(compound_file(word | summaries("WPS Office", 1, 60)))
    assert read_truth(wps, "doc").facts["application"] == "WPS Office"


def test_an_error_becomes_one_line_without_its_traceback(tmp_path, monkeypatch):
    traceback = ('Traceback (most recent call last):\n  File "reader.py", line 3, in read\n'
                 "    meta.creating_application.decode()\n"
                 "AttributeError: 'str' object has no attribute 'decode'\n")
    assert one_line(traceback) == "AttributeError: 'str' object has no attribute 'decode'"
    assert one_line("first line\nsecond line") == "first line"
    assert len(one_line("x" * 500)) == 200

    def failing(path: Path):
        raise AttributeError(traceback)

    from harness import truth as truth_module

    monkeypatch.setattr(truth_module, "_readers", lambda: {"doc": failing})
    with pytest.raises(SourceError) as caught:
        read_truth(tmp_path / "any.doc", "doc")
    assert str(caught.value) == ("could not read: AttributeError: 'str' object has no "
                                 "attribute 'decode'")

    def refusing(path: Path):
        raise SourceError("could not read: catdoc: broken\nTraceback (most recent call "
                          "last):\n  File \"x\"\nValueError: deep")

    monkeypatch.setattr(truth_module, "_readers", lambda: {"doc": refusing})
    with pytest.raises(SourceError) as caught:
        read_truth(tmp_path / "any.doc", "doc")
    assert str(caught.value) == "could not read: catdoc: broken"
