"""The committed probes are exactly what the generator writes."""

import json

from harness.corpus.features import KNOWN_FEATURES, detect
from harness.corpus.probes import all_probes, write_probes
from tests.conftest import PROBES as COMMITTED


def test_regenerating_gives_the_committed_bytes(tmp_path):
    written = write_probes(tmp_path)
    assert len(written) == 2 * len(all_probes())
    for path in written:
        assert path.read_bytes() == (COMMITTED / path.name).read_bytes(), path.name


def test_generation_is_deterministic(tmp_path):
    first = {p.name: p.read_bytes() for p in write_probes(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in write_probes(tmp_path / "b")}
    assert first == second


def test_each_probe_exercises_the_features_it_declares():
    for name in all_probes():
        declared = json.loads((COMMITTED / f"{name}.expected.json").read_text())["features"]
        detectable = [f for f in declared if f in KNOWN_FEATURES]
        assert set(detectable) <= detect(COMMITTED / name).tags, name
