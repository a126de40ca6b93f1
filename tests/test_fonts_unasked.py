"""Fonts drawn but never asked for: a suite that draws a document's text in a face of its
own choosing (AbiWord: Liberation Serif for Calibri) substitutes as surely as one that
takes fontconfig's stand-in; the faces suites draw bullets, symbols and the odd missing
glyph with are no substitution."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.compare import fonts
from harness.compare.fonts import FontUse, compare_fonts, font_use
from harness.compare.rendering import load

# What fontconfig answers on the desktop under test (Bureautix: Liberation, DejaVu, Noto).
STAND_INS = {"Calibri": "Carlito", "Cambria": "Caladea", "Arial": "Liberation Sans",
             "Times New Roman": "Liberation Serif", "Tahoma": "DejaVu Sans",
             "Malgun Gothic": "DejaVu Sans", "Symbol": "Standard Symbols PS",
             "Wingdings": "DejaVu Sans", "Aptos": "DejaVu Sans"}


@pytest.fixture(autouse=True)
def fontconfig(monkeypatch):
    monkeypatch.setattr(fonts, "fontconfig_match",
                        lambda family: STAND_INS.get(family, "DejaVu Sans"))


def _report(asked, drawn: dict[str, int | FontUse], counted: bool = True):
    counts = {k: v if isinstance(v, FontUse) else FontUse(v) for k, v in drawn.items()}
    return compare_fonts(asked, dict.fromkeys(drawn, True), counts if counted else None)


def test_a_face_of_the_suites_own_choosing_stands_in_for_the_unused_families():
    report = _report(["Calibri", "Cambria"], {"LiberationSerif": 5000,
                                               "LiberationSerif-Bold": 300})
    assert report.substituted == {"Calibri": "LiberationSerif", "Cambria": "LiberationSerif"}
    assert report.paired == ("Calibri", "Cambria") and report.unused == {}
    assert report.substitutions == 1  # one face drawn instead, whichever family it replaced
    assert report.to_json()["substitutions"] == 1 and report.to_json()["unasked"] == []


def test_fontconfigs_stand_in_is_asked_for_and_counts_per_family_as_before():
    report = _report(["Calibri", "Tahoma", "Malgun Gothic"], {"Carlito": 900,
                                                             "DejaVuSans": 400})
    assert report.substituted == {"Calibri": "Carlito", "Malgun Gothic": "DejaVuSans",
                                  "Tahoma": "DejaVuSans"}
    assert report.paired == report.unasked == () and report.substitutions == 3


def test_a_drawn_face_with_no_unused_family_to_pair_is_listed_and_counted():
    report = _report(["Calibri"], {"Carlito": 4000, "DejaVuSansMono": 1200})
    assert report.substituted == {"Calibri": "Carlito"}
    assert report.unasked == ("DejaVuSansMono",) and report.substitutions == 2


def test_the_face_drawing_most_is_paired_and_the_others_listed():
    report = _report(["Calibri"], {"LiberationSans": 800, "LiberationSerif": 3000})
    assert report.substituted == {"Calibri": "LiberationSerif"}
    assert report.unasked == ("LiberationSans",) and report.substitutions == 2


@pytest.mark.parametrize("drawn", [
    {"OpenSymbol": 40},  # LibreOffice's bullets
    {"StandardSymbolsPS": 300, "D050000L": 300},  # symbol and dingbat faces, even many
    {"DejaVuSans": 12},  # an arrow and a check mark the asked font lacks
    {"DejaVuSans": 150},  # under 5 % of the characters
    {"NotoSansCJKjp-Regular-VKana": FontUse(3000, 2900)},  # Hangul, in the one CJK family
])
def test_glyph_fallback_and_symbol_faces_are_no_substitution(drawn):
    report = _report(["Calibri"], {"Carlito": 4000, **drawn})
    assert report.substituted == {"Calibri": "Carlito"}
    assert report.unasked == report.paired == () and report.substitutions == 1


def test_a_face_drawing_all_of_a_short_document_counts_however_few_its_characters():
    report = _report(["Calibri"], {"LiberationSerif": 16})
    assert report.substituted == {"Calibri": "LiberationSerif"} and report.substitutions == 1


def test_without_character_counts_fallback_faces_are_told_by_name():
    drawn = {"Carlito": 0, "OpenSymbol": 0, "NotoSansCJKjp-Regular": 0, "DejaVuSans": 0}
    assert _report(["Calibri"], drawn, counted=False).substitutions == 1
    report = _report(["Calibri", "Cambria"], {**drawn, "LiberationSerif": 0}, counted=False)
    assert report.substituted["Cambria"] == "LiberationSerif" and report.substitutions == 2


def test_nothing_is_unasked_when_nothing_is_known_to_be_asked():
    assert _report([], {"LiberationSerif": 5000}).substitutions == 0  # a legacy binary


def test_a_family_is_not_its_longer_namesake():
    assert fonts.is_family("carlitobolditalic", "carlito")
    assert fonts.is_family("notosanscjkjpboldvkana", "notosanscjkjp")
    assert not fonts.is_family("dejavusansmono", "dejavusans")
    assert not fonts.is_family("notosanscjkjp", "notosans")
    report = _report(["DejaVu Sans"], {"DejaVuSansMono": 800})
    assert report.substituted == {"DejaVu Sans": "DejaVuSansMono"}  # not drawn as itself
    assert report.paired == ("DejaVu Sans",)


FACES = ["Carlito", "Caladea", "LiberationSerif", "LiberationSans-Bold", "DejaVuSans",
         "DejaVuSansMono", "OpenSymbol", "NotoSansCJKjp-Regular", "D050000L", "ArialMT"]


@settings(max_examples=200, deadline=None)
@given(asked=st.lists(st.sampled_from(sorted(STAND_INS) + ["Consolas", "Aptos Display"]),
                      max_size=5),
       drawn=st.dictionaries(st.sampled_from(FACES),
                             st.builds(lambda n, share: FontUse(n, int(n * share)),
                                       st.integers(0, 5000), st.sampled_from([0, 0.2, 1])),
                             max_size=6),
       symbols=st.integers(0, 10_000))
def test_the_count_names_each_substitution_and_symbol_faces_never_change_it(asked, drawn,
                                                                            symbols):
    report = compare_fonts(asked, dict.fromkeys(drawn, True), drawn)
    # Bounds from the report's lists, not the property's formula: at least each face that
    # stood in, at most one per family substituted plus each face nobody asked for.
    faces = set(report.substituted.values()) | set(report.unasked)
    assert len(faces) <= report.substitutions <= len(report.substituted) + len(report.unasked)
    assert not set(report.substituted) & set(report.unused)
    assert set(report.paired) <= set(report.substituted)
    assert report.paired == () or report.unused == {}  # every unused family gets paired
    with_symbols = compare_fonts(asked, dict.fromkeys([*drawn, "OpenSymbol", "MTExtra"], True),
                                 {**drawn, "OpenSymbol": FontUse(symbols),
                                  "MTExtra": FontUse(symbols)})
    if "OpenSymbol" not in drawn:
        assert (with_symbols.substituted, with_symbols.unasked) == (report.substituted,
                                                                    report.unasked)
    total = sum(d.characters for d in drawn.values())
    for face, d in drawn.items():  # a face drawing most of the Latin text is always named
        key = fonts.family_key(face)
        asked_keys = {fonts.family_key(a) for a in asked} | {
            fonts.family_key(STAND_INS.get(a, "DejaVu Sans")) for a in asked}
        if asked and d.characters * 2 > total and d.east_asian * 2 < d.characters and \
                not fonts._SYMBOL_FACE.search(key) and \
                not any(fonts.is_family(key, k) for k in asked_keys):
            assert fonts._without_style(face) in (*report.unasked,
                                                  *report.substituted.values())


def _pdf(path: Path, runs: list[tuple[str, str]]) -> Path:
    """A one-page PDF drawing each text with the TrueType file given."""
    document = pdfium.PdfDocument.new()
    page = document.new_page(595, 842)
    keep = []
    for y, (font_file, text) in enumerate(runs):
        data = Path(font_file).read_bytes()
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        font = pdfium_c.FPDFText_LoadFont(document.raw, buffer, len(data),
                                          pdfium_c.FPDF_FONT_TRUETYPE, True)
        obj = pdfium_c.FPDFPageObj_CreateTextObj(document.raw, font, 12.0)
        wide = ctypes.create_string_buffer((text + "\0").encode("utf-16-le"))
        pdfium_c.FPDFText_SetText(obj, ctypes.cast(wide, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
        pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 72, 700 - 40 * y)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj)
        keep += [buffer, wide]
    pdfium_c.FPDFPage_GenerateContent(page.raw)
    document.save(str(path))
    return path


def _font_file(family: str) -> str:
    import subprocess

    found = subprocess.run(["fc-match", "-f", "%{file}", family], capture_output=True,
                           text=True, check=False).stdout if fonts.shutil.which("fc-match") \
        else ""
    if not found.endswith(".ttf") or family.replace(" ", "") not in found.replace(" ", ""):
        pytest.skip(f"{family} is not installed here as TrueType")
    return found


def test_a_real_pdf_drawn_in_liberation_serif_for_calibri(tmp_path):
    serif, dejavu = _font_file("Liberation Serif"), _font_file("DejaVu Sans")
    pdf = _pdf(tmp_path / "abiword-like.pdf",
               [(serif, "The quick brown fox jumps over the lazy dog. " * 4),
                (dejavu, "\u2192\u2713")])  # an arrow and a check mark, in the fallback face
    drawn = font_use(pdf)
    assert drawn == {"LiberationSerif": FontUse(36 * 4), "DejaVuSans": FontUse(2)}
    report = compare_fonts(["Calibri"], load(pdf).fonts, drawn)
    assert report.substituted == {"Calibri": "LiberationSerif"}
    assert report.unasked == () and report.substitutions == 1
    assert font_use(tmp_path / "absent.pdf") == {}
