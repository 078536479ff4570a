"""A correction of the call's vector before the dense search, learned across trades.

The encoder places a caller's words ("按手指没反应") and the KB's words ("指纹识别失败") by
general meaning; what a hotline call stresses and what a KB entry states differ the same way
in every trade. A low-rank map q + (q U) Vᵀ, fitted so that each labelled call of several
trades ranks its own entry first among its KB's (softmax over entries, best vector per entry),
moves the call towards how entries are written. It is shipped per encoder in
`triage/query_adapter.npz` (`hotline eval fit-query-adapter`), touches only the vector the dense
search and its features read (the fault-report check keeps the encoder's own), and a missing
file or another encoder leaves the search as it was.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.settings import get_settings
from knowledge_base.embeddings import Encoder


@dataclass(frozen=True)
class QueryAdapter:
    """q ↦ normalise(q + (q U) Vᵀ) for one encoder."""

    u: np.ndarray  # (dim, rank)
    v: np.ndarray  # (dim, rank)

    def apply(self, q: np.ndarray) -> np.ndarray:
        """The adapted unit vectors of q's rows (n, dim)."""
        out = q + (q @ self.u) @ self.v.T
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)


@lru_cache
def load(path: Path, encoder: str, dim: int) -> QueryAdapter | None:
    """The shipped adapter for encoder, or None (another encoder, a missing or broken file)."""
    try:
        with np.load(path) as fit:
            u = np.asarray(fit[f"{encoder}.u"], dtype=np.float32)
            v = np.asarray(fit[f"{encoder}.v"], dtype=np.float32)
    except (OSError, KeyError, ValueError):
        return None
    if u.shape != v.shape or u.ndim != 2 or u.shape[0] != dim:
        return None
    return QueryAdapter(u, v)


def adapt(encoder: Encoder, q: np.ndarray) -> np.ndarray:
    """q as the dense search reads it: adapted where an adapter for encoder is configured."""
    adapter = load(get_settings().query_adapter_file, encoder.name, encoder.dim)
    return q if adapter is None else adapter.apply(q)
