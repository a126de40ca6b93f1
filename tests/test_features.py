"""Feature detection from a document's parts: right on the probes, never raising on
anything, refusing zip bombs without inflating them."""

import io
import json
import subprocess
import sys
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.corpus.features import KNOWN_FEATURES, detect
from tests.conftest import PROBES, REPO, SHARED, needs_shared

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def test_probe_features_are_detected_from_their_parts():
    assert {"table", "merged-cells", "images", "footnotes"} <= detect(
        PROBES / "word-features.docx").tags
    assert {"formulas", "cached-values", "merged-cells", "custom-number-formats",
            "multiple-sheets"} <= detect(PROBES / "sheet-features.xlsx").tags
    assert {"table", "images", "hidden-slides"} <= detect(PROBES / "deck-features.pptx").tags


def test_detection_reads_parts_not_names(tmp_path):
    renamed = tmp_path / "no-tables-here.docx"
    renamed.write_bytes((PROBES / "word-features.docx").read_bytes())
    assert "table" in detect(renamed).tags


def _with_parts(source, target, parts):
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            copy.writestr(item, original.read(item.filename))
        for name, data in parts.items():
            copy.writestr(name, data)
    return target


def test_a_package_without_relationships_is_judged_by_its_parts(tmp_path):
    """A hand-made zip names no used parts: every part counts, if it holds content."""
    path = tmp_path / "bare.docx"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("word/document.xml", f"<w:document xmlns:w='{W}'/>")
        package.writestr("word/comments.xml", f"<w:comments xmlns:w='{W}'><w:comment w:id='0'>"
                         "<w:p><w:r><w:t>note</w:t></w:r></w:p></w:comment></w:comments>")
    assert "comments" in detect(path).tags


def test_every_tag_is_in_the_vocabulary():
    for probe in PROBES.glob("*.*x"):
        assert {t for t in detect(probe).tags if not t.startswith("error:")} <= KNOWN_FEATURES


@needs_shared
def test_malformed_files_give_tags_and_errors_never_exceptions():
    results = {p.name: detect(p) for p in (SHARED / "_malformed").iterdir()}
    assert results["truncated62886.docx"].errors == ["error:not-a-package"]
    assert "legacy-binary" in results["42464-ExpPtg-bad.xls"].tags


def test_a_zip_bomb_is_refused_not_inflated(tmp_path):
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", b"\0" * (60 * 1024 * 1024))
    assert detect(bomb).errors == ["error:refused-container"]


def test_an_ole_container_under_an_ooxml_name_is_an_encrypted_package(tmp_path):
    ole = tmp_path / "locked.docx"  # Office encrypts an OOXML package into an OLE container
    ole.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    assert detect(ole).tags == {"encrypted"}


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=4096), fmt=st.sampled_from(["docx", "xlsx", "pptx", "doc",
                                                           "xls", "ppt"]))
def test_random_bytes_never_raise(tmp_path_factory, data, fmt):
    path = tmp_path_factory.mktemp("random") / f"x.{fmt}"
    path.write_bytes(data)
    detect(path)


@settings(max_examples=40, deadline=None)
@given(position=st.integers(min_value=0, max_value=10**6), byte=st.integers(0, 255))
def test_a_damaged_package_never_raises(tmp_path_factory, position, byte):
    data = bytearray((PROBES / "word-features.docx").read_bytes())
    data[position % len(data)] = byte
    path = tmp_path_factory.mktemp("damaged") / "x.docx"
    path.write_bytes(bytes(data))
    detect(path)


def test_malformed_xml_inside_a_good_zip_is_an_error_tag(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document xmlns:w='http://schemas.open"
                         "xmlformats.org/wordprocessingml/2006/main'><w:body><w:tbl>")
    path = tmp_path / "broken.docx"
    path.write_bytes(buffer.getvalue())
    features = detect(path)
    assert "error:malformed-xml" in features.tags and "table" in features.tags


def test_corpus_stats_counts_features_per_format():
    out = subprocess.run([sys.executable, "-m", "harness", "corpus", "stats", "--json"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    stats = json.loads(out.stdout)
    probes = [p for p in PROBES.iterdir() if not p.name.endswith(".json")]
    assert stats["documents"] == len(probes) and stats["features"]["docx"]["footnotes"] == 1
    assert stats["features"]["docx"]["charts"] == 1 and stats["features"]["pptx"]["media"] == 1
    assert stats["features"]["docx"]["tracked-changes"] == 1
    assert "pivot-tables" in stats["features_without_document"]


def test_weights_are_feature_shares_and_configuration_overrides_them(tmp_path):
    from harness.config import feature_weights, load_settings

    (tmp_path / "fidelity.toml").write_text("[feature_weights]\ntable = 2.5\n")
    weights = feature_weights({"table": 2, "charts": 1, "error:not-a-package": 1}, 4,
                              load_settings(tmp_path)["feature_weights"])
    assert weights == {"table": 2.5, "charts": 0.25}
