"""Hostile documents, generated on demand (never committed as binaries): what the outside
world may put in a corpus. Each function writes one file."""

from __future__ import annotations

import contextlib
import struct
import tempfile
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import Callable

from tests.conftest import PROBES

BODY = "word/document.xml"
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
WORD = PROBES / "word-features.docx"
SHEET = PROBES / "sheet-analysis.xlsx"

LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                    for i in range(1, 10)) + "]>")
XXE = '<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


def copy_with(target: Path, parts: dict[str, bytes], source: Path = WORD) -> None:
    """source with some parts replaced or added."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w",
                                                               zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            if item.filename not in parts:
                copy.writestr(item, original.read(item.filename))
        for name, data in parts.items():
            copy.writestr(name, data)


def patched(target: Path, part: str, change: Callable[[bytes], bytes],
            source: Path = WORD) -> Path:
    """source with one part rewritten by change."""
    with zipfile.ZipFile(source) as original:
        data = change(original.read(part))
    copy_with(target, {part: data}, source)
    return target


def zip_bomb(target: Path) -> None:
    """A real package with one part that inflates to 1.1 GB of zeros (about 1 MB on disk)."""
    copy_with(target, {})
    with zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED) as package:
        with package.open("word/media/bomb.bin", "w", force_zip64=True) as part:
            block = b"\0" * (1 << 24)
            for _ in range(66):
                part.write(block)


def body(text: str, doctype: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<w:document {W}><w:body>'
            f'<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>').encode()


def nested_tables(depth: int) -> bytes:
    cell = "<w:p><w:r><w:t>innermost</w:t></w:r></w:p>"
    for _ in range(depth):
        cell = f"<w:tbl><w:tr><w:tc>{cell}</w:tc></w:tr></w:tbl><w:p/>"
    return (f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>{cell}'
            "</w:body></w:document>").encode()


def png_bomb(side: int) -> bytes:
    """A valid white greyscale PNG of side x side pixels: under 1 MB for 30,000, and
    900 megapixels (3.6 GB as RGBA) for whoever decodes it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    squeeze = zlib.compressobj(9)
    row = b"\0" + b"\xff" * side  # filter byte, then the row
    data = b"".join([squeeze.compress(row) for _ in range(side)] + [squeeze.flush()])
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
            + chunk(b"IEND", b""))


def image_bomb(target: Path, side: int = 30_000) -> None:
    """The probe with its picture swapped for a decompression-bomb PNG."""
    copy_with(target, {"word/media/image1.png": png_bomb(side)})


def long_document(target: Path, pages: int) -> None:
    """One short paragraph per page, a page break between them."""
    brk = '<w:r><w:br w:type="page"/></w:r>'
    paragraphs = "".join(f"<w:p><w:r><w:t>Page {n} of a very long document.</w:t></w:r>"
                         f"{brk if n < pages else ''}</w:p>" for n in range(1, pages + 1))
    copy_with(target, {BODY: (f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}>'
                              f"<w:body>{paragraphs}</w:body></w:document>").encode()})


# --- macros that would write a file the moment they run -------------------------------

def _write_file_sub(name: str, marker: Path, private: bool = False) -> str:
    return (f"{'Private ' if private else ''}Sub {name}()\r\n    Dim f As Integer\r\n"
            f"    f = FreeFile\r\n    Open \"{marker}\" For Output As #f\r\n"
            "    Print #f, \"a macro ran\"\r\n    Close #f\r\nEnd Sub\r\n")


def vba_project(document_module: str, event: str, auto: str, marker: Path) -> bytes:
    """A real vbaProject.bin (MS-OVBA, built by ms-ovba): a document module whose open event
    and a standard module whose auto-run macro each write marker."""
    from ms_ovba.Models.Entities.doc_module import DocModule
    from ms_ovba.Models.Entities.std_module import StdModule
    from ms_ovba.Views.project_ole_file import ProjectOleFile
    from ms_ovba.vbaProject import VbaProject

    with tempfile.TemporaryDirectory() as work, contextlib.chdir(work):  # it writes to cwd
        Path(f"{document_module}.cls").write_text(
            "VERSION 1.0 CLASS\nBEGIN\n  MultiUse = -1  'True\nEND\n"
            f'Attribute VB_Name = "{document_module}"\nAttribute VB_PredeclaredId = True\n'
            "Attribute VB_Exposed = True\n" + _write_file_sub(event, marker, private=True))
        Path("Module1.bas").write_text('Attribute VB_Name = "Module1"\n'
                                       + _write_file_sub(auto, marker))
        project = VbaProject()
        project.project_id = "{" + str(uuid.UUID(int=0x1DEA)).upper() + "}"
        for module, path in ((DocModule(document_module), f"{document_module}.cls"),
                             (StdModule("Module1"), "Module1.bas")):
            module.add_file(path)
            module.normalize_file()
            project.add_module(module)
        ProjectOleFile.write_file(project)
        return Path("vbaProject.bin").read_bytes()


_VBA_TYPE = b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
_VBA_REL = (b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/'
            b'relationships/vbaProject" Target="vbaProject.bin"/>')


def _with_vba(target: Path, source: Path, folder: str, main_type: tuple[bytes, bytes],
              project: bytes, extra: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(source) as original:
        types = (original.read("[Content_Types].xml").replace(*main_type)
                 .replace(b"</Types>", _VBA_TYPE + b"</Types>"))
        rels_name = f"{folder}/_rels/{'document' if folder == 'word' else 'workbook'}.xml.rels"
        rels = original.read(rels_name).replace(b"</Relationships>",
                                                _VBA_REL + b"</Relationships>")
    copy_with(target, {"[Content_Types].xml": types, rels_name: rels,
                       f"{folder}/vbaProject.bin": project, **(extra or {})}, source)


def macro_docm(target: Path, marker: Path) -> None:
    """Word: Document_Open and AutoOpen."""
    project = vba_project("ThisDocument", "Document_Open", "AutoOpen", marker)
    _with_vba(target, WORD, "word", (
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.ms-word.document.macroEnabled.main+xml"), project)


def macro_xlsm(target: Path, marker: Path) -> None:
    """Excel: Workbook_Open and Auto_Open; the workbook names its code module."""
    project = vba_project("ThisWorkbook", "Workbook_Open", "Auto_Open", marker)
    with zipfile.ZipFile(SHEET) as original:
        workbook = original.read("xl/workbook.xml")
    if b"<workbookPr" in workbook:
        workbook = workbook.replace(b"<workbookPr", b'<workbookPr codeName="ThisWorkbook"', 1)
    else:
        workbook = workbook.replace(b"<sheets>", b'<workbookPr codeName="ThisWorkbook"/>'
                                    b"<sheets>", 1)
    _with_vba(target, SHEET, "xl", (
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"), project,
        {"xl/workbook.xml": workbook})


_OFFICE = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
           'xmlns:xlink="http://www.w3.org/1999/xlink" '
           'xmlns:dom="http://www.w3.org/2001/xml-events" '
           'xmlns:ooo="http://openoffice.org/2004/office" '
           'office:version="1.3"')
_LIBRARY_DTD = '<!DOCTYPE library:{0} PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "{1}">'


def macro_odt(target: Path, marker: Path) -> None:
    """OpenDocument text whose Basic macro is bound to the document's load event: how a
    LibreOffice user's own documents run code on opening."""
    macro = "vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_OFFICE}>'
               '<office:scripts><office:event-listeners><script:event-listener '
               f'script:language="ooo:script" script:event-name="dom:load" xlink:href="{macro}" '
               'xlink:type="simple"/></office:event-listeners></office:scripts><office:body>'
               "<office:text><text:p>A document that runs a macro when it is opened."
               "</text:p></office:text></office:body></office:document-content>")
    code = _write_file_sub("Main", marker).replace("&", "&amp;").replace('"', "&quot;")
    files = {
        "content.xml": content,
        "Basic/script-lc.xml": ('<?xml version="1.0" encoding="UTF-8"?>'
                                + _LIBRARY_DTD.format("libraries", "libraries.dtd")
                                + '<library:libraries xmlns:library="http://openoffice.org/'
                                '2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">'
                                '<library:library library:name="Standard" library:link="false"/>'
                                "</library:libraries>"),
        "Basic/Standard/script-lb.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>' + _LIBRARY_DTD.format("library", "library.dtd")
            + '<library:library xmlns:library="http://openoffice.org/2000/library" '
            'library:name="Standard" library:readonly="false" library:passwordprotected="false">'
            '<library:element library:name="Module1"/></library:library>'),
        "Basic/Standard/Module1.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE script:module PUBLIC '
            '"-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd"><script:module '
            'xmlns:script="http://openoffice.org/2000/script" script:name="Module1" '
            f'script:language="StarBasic" script:moduleType="normal">{code}</script:module>'),
    }
    entries = "".join(f'<manifest:file-entry manifest:full-path="{name}" '
                      'manifest:media-type="text/xml"/>' for name in files)
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
                '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
                '<manifest:file-entry manifest:full-path="/" manifest:version="1.3" '
                'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                f"{entries}</manifest:manifest>")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        package.writestr("META-INF/manifest.xml", manifest)
        for name, text in files.items():
            package.writestr(name, text)
