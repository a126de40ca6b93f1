"""The committed probes are exactly what the generator writes."""

from harness.corpus.probes import PROBES, write_probes
from tests.conftest import PROBES as COMMITTED


def test_regenerating_gives_the_committed_bytes(tmp_path):
    written = write_probes(tmp_path)
    assert len(written) == 2 * len(PROBES)
    for path in written:
        assert path.read_bytes() == (COMMITTED / path.name).read_bytes(), path.name


def test_generation_is_deterministic(tmp_path):
    first = {p.name: p.read_bytes() for p in write_probes(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in write_probes(tmp_path / "b")}
    assert first == second
