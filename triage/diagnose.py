"""Diagnosis: retrieval candidates scored with what the caller said, as a calibrated probability.

Each candidate gets a feature vector — dense similarity, BM25 coverage, fused rank, and
whether its product type, model, firmware and fault code agree with the extracted facts —
and a logistic model turns it into P(this entry is the root cause). The weights are fitted
on the KB itself (triage/calibration.py), and `no_match` is simply "best P below the cut".
Agents see that P read against the cut (`shown`), which is what carries over to real calls.
"""

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge_base.index import Candidate
from triage.entities import code_key
from triage.fault_report import PENALTY

FEATURES = (
    "dense",
    "dense_gap",
    "bm25",
    "bm25_gap",
    "rrf",
    "product",
    "model",
    "firmware",
    "fault_code",
    "condition",
    "non_fault",
    "request_like",
)
# Used until a calibration exists for the configured encoder (hand-set, conservative).
DEFAULT_WEIGHTS = {
    "dense": 4.0,
    "dense_gap": 8.0,
    "bm25": 1.0,
    "bm25_gap": 2.0,
    "rrf": 1.0,
    "product": 1.5,
    "model": 1.5,
    "firmware": 1.5,
    "fault_code": 2.5,
    "condition": 1.5,
    "non_fault": -2.0,
    "request_like": 0.0,
}
DEFAULT_BIAS = -4.0
DEFAULT_THRESHOLD = 0.35


@dataclass
class Calibration:
    """Logistic weights per feature, for one encoder."""

    weights: dict[str, float]
    bias: float
    source: str
    threshold: float = DEFAULT_THRESHOLD  # best dev-split cut between a diagnosis and no_match

    def probability(self, feats: dict[str, float]) -> float:
        """P(correct) for one candidate's features."""
        return _sigmoid(self.bias + sum(_weight(self, k) * v for k, v in feats.items()))


# The cut shows as this on the scale agents see (shown()), whatever the score cut is.
SHOWN_CUT = 0.5


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


def shown(p: float, cut: float) -> float:
    """The confidence agents see: the score read against the no-match cut, sigmoid(logit p −
    logit cut), so the cut always shows as 50 %.

    A KB fit's probability is calibrated on its own pseudo-calls, not on real calls: with the
    cross-trade cut of 2 %, right diagnoses showed 10-40 % (ECE 0.45-0.58 on six trades). The
    cut is where a diagnosis and a no_match are equally likely to be right, and a logistic fit
    of "the first candidate is right" on logit p − logit cut over four tuning trades' real
    calls gave slope 1.04 and offset 0.01, i.e. this (docs/decisions.md)."""
    if p <= 0.0 or p >= 1.0:
        return p
    return _sigmoid(_logit(p) - _logit(cut))


def shown_ranked(ps: list[float], cut: float) -> list[float]:
    """The confidences agents see for ranked candidates (scores best first): the first as
    shown(); the others share what the first leaves, with "none of them", in proportion to
    their odds against the cut (none counts 1, the odds at the cut).

    Read one by one, a runner-up showed 25-51 % on average and was right 1-4 % of the time;
    shared this way its ECE is 0.002-0.025 on six trades (docs/decisions.md)."""
    if not ps:
        return []
    first = shown(ps[0], cut)
    odds = [math.exp(max(min(_logit(p) - _logit(cut), 40.0), -40.0)) for p in ps[1:]]
    rest = 1.0 + sum(odds)
    return [first, *((1.0 - first) * o / rest for o in odds)]


def cut_for(threshold: float | None, cut: float) -> float:
    """The raw score cut for an operator's threshold on the shown scale (None: the fit's)."""
    if threshold is None:
        return cut
    if threshold <= 0.0 or threshold >= 1.0:
        return threshold
    return _sigmoid(_logit(threshold) + _logit(cut))


def _weight(calibration: Calibration, feature: str) -> float:
    # The "not a fault report" penalty is already in log-odds, fitted across trades
    # (triage/fault_report.py): no KB fit weighs it again.
    return 1.0 if feature == PENALTY else calibration.weights.get(feature, 0.0)


@lru_cache
def load_calibration(path: Path, encoder: str) -> Calibration:
    """The fitted calibration for encoder, or the conservative defaults."""
    try:
        data = json.loads(path.read_text())
        fit = data["encoders"][encoder]
        return Calibration(
            fit["weights"],
            fit["bias"],
            f"{path.name} ({fit.get('fitted_on', '')})",
            fit.get("threshold", DEFAULT_THRESHOLD),
        )
    except (OSError, KeyError, ValueError):
        return Calibration(dict(DEFAULT_WEIGHTS), DEFAULT_BIAS, "defaults")


def _agreement(said: str | None, allowed: list[str] | str | None) -> float:
    """+1 the entry names what was said, -1 it names something else, 0 it cannot tell."""
    if not said or not allowed:
        return 0.0
    if isinstance(allowed, str):
        return 1.0 if code_key(said) == code_key(allowed) else -1.0
    return 1.0 if said.upper() in {a.upper() for a in allowed} else -1.0


def _condition(entry: dict[str, Any], fields: dict[str, Any]) -> float:
    """Entry-specific conditions (extra KB field min_run_count: runs since the last service)."""
    limit, said = entry.get("min_run_count"), fields.get("run_count")
    if limit is None or said is None:
        return 0.0
    return 1.0 if int(said) >= int(limit) else -1.0


def features(
    cands: list[Candidate],
    fields: dict[str, Any],
    non_fault: bool = False,
    request_like: float = 0.0,
    not_a_fault_report: float = 0.0,
) -> list[dict[str, float]]:
    """Feature dicts for candidates, in the same order (non_fault: a sales/billing cue word was
    said; request_like: how close the call is to the rules' examples of non-fault requests;
    not_a_fault_report: the log-odds penalty of a call that does not sound like a fault)."""
    if not cands:
        return []
    best_dense = max(c.dense for c in cands)
    best_bm = max(c.bm25_norm for c in cands)
    out = []
    for c in cands:
        e = c.entry
        code = _agreement(fields.get("fault_code"), e.get("fault_code"))
        if fields.get("fault_code") and not e.get("fault_code"):
            code = -0.5
        product = _agreement(fields.get("product_type"), e.get("product_type"))
        if e.get("product_type") in fields.get("products", ()):
            product = 1.0  # one of several types the caller named
        out.append(
            {
                "dense": c.dense,
                "dense_gap": c.dense - best_dense,
                "bm25": c.bm25_norm,
                "bm25_gap": c.bm25_norm - best_bm,
                "rrf": c.rrf * 60.0,
                "product": product,
                "model": _agreement(fields.get("model"), e.get("models")),
                "firmware": _agreement(fields.get("firmware"), e.get("firmware")),
                "fault_code": code,
                "condition": _condition(e, fields),
                "non_fault": 1.0 if non_fault else 0.0,
                "request_like": request_like,
                PENALTY: not_a_fault_report,
            }
        )
    return out


def contributions(calibration: Calibration, feats: dict[str, float]) -> dict[str, float]:
    """How much each feature pushed this candidate's confidence up (+) or down (-), in
    log-odds: what a knowledge engineer reads to see why a call did not match."""
    return {
        name: round(_weight(calibration, name) * value, 3)
        for name, value in feats.items()
        if _weight(calibration, name) * value
    }


def why(feats: dict[str, float], fields: dict[str, Any], product: str | None = None) -> list[str]:
    """Human-readable reasons a candidate ranks where it does (product: the candidate's type,
    named where the caller named several)."""
    reasons = []
    said = {**fields, "product_type": product} if product in fields.get("products", ()) else fields
    for name, label in (
        ("product_type", "product"),
        ("model", "model"),
        ("firmware", "firmware"),
        ("fault_code", "fault_code"),
    ):
        value = feats[label]
        if value > 0:
            reasons.append(f"{name} {said.get(name)} matches")
        elif value < 0:
            reasons.append(f"{name} {fields.get(name)} does not match")
    if feats.get("condition", 0) > 0:
        reasons.append(f"run count {fields.get('run_count')} past the entry's limit")
    reasons.append(f"semantic similarity {feats['dense']:.2f}")
    reasons.append(f"keyword/pinyin overlap {feats['bm25']:.2f}")
    return reasons
