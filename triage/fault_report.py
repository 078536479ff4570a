"""Does a call sound like a fault report at all?

The confidence model is fitted on each KB's own entries, so it learns what separates the
right entry from its neighbours, but it has never heard the calls that are no fault: a quote,
a subsidy, an invoice, a cracked cover on a machine that "works fine". Those score like a weak
fault of the product they name and come out as a diagnosis.

This is a linear model over the encoder's vector of the call and how that vector moves when
the clauses saying what still works are left out (triage/complaint.py): "the cover cracked,
charging is fine" is another call than "the cover cracked". Triage embeds both anyway, so it
costs one dot product. It is fitted on labelled calls of several trades — in the KB or not —
and shipped per encoder in `triage/fault_report.json` (`hotline eval
fit-fault-report`). It lowers a call's confidence when the call does not sound like a fault
report and never raises it, so a KB the model was not fitted on keeps its own calibration
for every call that does.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.settings import get_settings
from knowledge_base.embeddings import Encoder

PENALTY = "not_a_fault_report"  # the feature name shown in confidence explanations
# The two similarities in inputs() are scaled so that the fit's regularisation lets them
# count (chosen on the tuning sets: 1 to 10 moved no set's AUC by more than 0.006).
SIMILARITY_SCALE = 3.0


@dataclass(frozen=True)
class FaultReportModel:
    """Logistic weights over one encoder's vectors, and how strongly a "no" counts."""

    weights: np.ndarray
    bias: float
    strength: float
    fitted_on: str
    # A new KB's no-match cut while too few agents' verdicts exist to choose one on real
    # calls (triage/calibration.py); None: chosen on the KB's pseudo-calls.
    no_match_cut: float | None = None

    def score(self, x: np.ndarray) -> float:
        """Log-odds that the call is a fault report the KB may cover (x: inputs())."""
        return float(x.reshape(-1) @ self.weights + self.bias)

    def penalty(self, x: np.ndarray) -> float:
        """Log-odds taken off every candidate's confidence (0 for a call that sounds like a
        fault report)."""
        return round(self.strength * min(0.0, self.score(x)), 4)


def inputs(said: np.ndarray, complaint: np.ndarray, nearest: list[np.ndarray]) -> np.ndarray:
    """What the model reads of a call: the vector of everything said; what leaving out the
    clauses about what still works takes away from it; and how the complaint stands to the
    KB — what it says beyond the KB vector nearest to it among the first candidate's (nearest:
    that vector, then the second candidate's), how close that is, and how much closer than the
    second candidate. A fault the KB lacks shares the product with its entries, not the
    symptom: cross-set AUC ours 0.972 → 0.983, energy 0.929 → 0.952, hvac 0.867 → 0.937,
    kitchen 0.946 → 0.977 with these."""
    whole, said_complaint = said.reshape(-1), complaint.reshape(-1)
    first = nearest[0].reshape(-1) if nearest else np.zeros_like(said_complaint)
    second = nearest[1].reshape(-1) if len(nearest) > 1 else first
    closeness = float(said_complaint @ first)
    lead = closeness - float(said_complaint @ second)
    return np.concatenate(
        [
            whole,
            whole - said_complaint,
            said_complaint - first,
            np.array([SIMILARITY_SCALE * closeness, SIMILARITY_SCALE * lead]),
        ]
    ).astype(np.float32)


def size(dim: int) -> int:
    """How many numbers inputs() gives for an encoder of dim dimensions."""
    return 3 * dim + 2


@lru_cache
def load(path: Path, encoder: str, dim: int) -> FaultReportModel | None:
    """The shipped model for encoder, or None (another encoder, a missing or broken file)."""
    try:
        fit = json.loads(path.read_text())["encoders"][encoder]
        weights = np.asarray(fit["weights"], dtype=np.float32)
        if weights.shape != (size(dim),):  # another encoder, or a file of an older inputs()
            return None
        cut = fit.get("no_match_cut")
        return FaultReportModel(
            weights,
            float(fit["bias"]),
            float(fit["strength"]),
            str(fit.get("fitted_on", "")),
            None if cut is None else float(cut),
        )
    except (OSError, KeyError, ValueError, TypeError):
        return None


def shipped(encoder: Encoder) -> FaultReportModel | None:
    """The configured model (HOTLINE_FAULT_REPORT_FILE) for encoder, or None."""
    return load(get_settings().fault_report_file, encoder.name, encoder.dim)
