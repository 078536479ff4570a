"""The learned correction of the call's vector: the dense search reads it, the fault-report
check does not, and a missing, broken or foreign file leaves the search as it was."""

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import Service

FAULT = "空调开了半天不制冷，外机风扇也不转，显示E1"


def _write(path: Path, encoder: str, u: np.ndarray, v: np.ndarray) -> None:
    np.savez(path, **{f"{encoder}.u": u, f"{encoder}.v": v})


def test_the_map_gives_unit_vectors_and_a_bad_file_gives_none(tmp_path: Path) -> None:
    from triage.query_adapter import load

    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(8, 2)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)
    good = tmp_path / "qa.npz"
    _write(good, "enc", u, v)
    adapter = load(good, "enc", 8)
    assert adapter is not None
    q = rng.normal(size=(3, 8)).astype(np.float32)
    out = adapter.apply(q)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    expected = q + (q @ u) @ v.T
    assert np.allclose(out, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-5)
    # No change at U = 0: the vector comes back as it was (normalised).
    _write(tmp_path / "zero.npz", "enc", np.zeros((8, 2), np.float32), v)
    same = load(tmp_path / "zero.npz", "enc", 8)
    assert same is not None and np.allclose(same.apply(q), q / np.linalg.norm(q, axis=1)[:, None])
    assert load(good, "other-encoder", 8) is None
    assert load(good, "enc", 16) is None  # another dimension
    assert load(tmp_path / "missing.npz", "enc", 8) is None
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    assert load(tmp_path / "broken.npz", "enc", 8) is None


def test_the_dense_search_reads_the_adapted_vector_and_the_check_the_encoders(
    service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from core.settings import get_settings
    from knowledge_base import live_index
    from triage.query_adapter import load
    from triage.service import analyse

    index = live_index.get_index()
    plain = analyse(FAULT, index)
    rng = np.random.default_rng(1)
    dim = index.encoder.dim
    u = rng.normal(scale=0.3, size=(dim, 4)).astype(np.float32)
    v = rng.normal(scale=0.3, size=(dim, 4)).astype(np.float32)
    path = tmp_path / "qa.npz"
    _write(path, index.encoder.name, u, v)
    monkeypatch.setenv("HOTLINE_QUERY_ADAPTER_FILE", str(path))
    get_settings.cache_clear()
    adapted = analyse(FAULT, index)
    assert adapted.complaint_vector is not None
    adapter = load(path, index.encoder.name, dim)
    assert adapter is not None
    q = adapter.apply(adapted.complaint_vector.reshape(1, -1)).reshape(-1)
    # Every candidate's dense similarity is its best vector against the adapted call ...
    for c in adapted.candidates[:5]:
        assert c.dense == pytest.approx(float((index.entry_vectors(c.kb_id) @ q).max()), abs=1e-4)
    # ... not against the encoder's own vector, which the analysis keeps as it was.
    assert np.allclose(adapted.complaint_vector, plain.complaint_vector)
    assert [c.dense for c in adapted.candidates[:5]] != [c.dense for c in plain.candidates[:5]]
    get_settings.cache_clear()
