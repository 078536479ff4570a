"""`hotline eval calibrate`: fit the diagnosis confidence model on the dev split.

Each retrieved candidate of each dev utterance is one example (label: is it the expected
entry). A logistic regression over the candidate features gives weights whose output is a
calibrated P(correct); out-of-KB utterances contribute only negatives, which is what teaches
the model to say "no match". The held-out test split is never seen here.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from eval import dataset
from eval.workspace import demo_workspace


def fit(items: list[dict], c: float = 1.0) -> tuple[dict[str, float], float, int, float]:
    """Weights, bias, example count and no-match threshold fitted on items."""
    from sklearn.linear_model import LogisticRegression

    from knowledge_base import live_index
    from triage.diagnose import DEFAULT_WEIGHTS, FEATURES
    from triage.service import analyse

    index = live_index.get_index()
    x, y, groups = [], [], []
    for n, it in enumerate(items):
        a = analyse(it["text"], index)
        for cand, feats in zip(a.candidates, a.features, strict=True):
            x.append([feats[f] for f in FEATURES])
            y.append(1 if cand.kb_id == it["expected_kb_id"] else 0)
            groups.append(n)
    model = LogisticRegression(C=c, max_iter=2000)
    xa, ya = np.array(x), np.array(y)
    model.fit(xa, ya)
    weights = {f: round(float(w), 4) for f, w in zip(FEATURES, model.coef_[0], strict=True)}
    for col, name in enumerate(FEATURES):
        if not xa[:, col].any():  # never exercised on dev: keep the prior weight
            weights[name] = DEFAULT_WEIGHTS[name]
    out_of_kb = {n for n, it in enumerate(items) if it["expected_kb_id"] is None}
    threshold = best_threshold(model.predict_proba(xa)[:, 1], ya, groups, out_of_kb)
    return weights, round(float(model.intercept_[0]), 4), len(y), threshold


def best_threshold(
    prob: np.ndarray, label: np.ndarray, groups: list[int], out_of_kb: set[int]
) -> float:
    """The cut that maximises dev accuracy, counting a correct no_match as a hit."""
    tops: dict[int, tuple[float, int]] = {}
    for p, lab, g in zip(prob, label, groups, strict=True):
        if g not in tops or p > tops[g][0]:
            tops[g] = (float(p), int(lab))
    best = (-1.0, 0.5)
    for cut in np.arange(0.05, 0.95, 0.01):
        hits = sum(
            (p >= cut and lab == 1) or (p < cut and g in out_of_kb) for g, (p, lab) in tops.items()
        )
        if hits > best[0]:
            best = (hits, float(cut))
    return round(best[1], 2)


def main(data: Path | None = None) -> None:
    """Fit on the dev split and store the result for the configured encoder."""
    from core.settings import get_settings

    demo_workspace()
    settings = get_settings()
    items = dataset.load(data, "dev")
    weights, bias, n, threshold = fit(items)
    path = settings.calibration_file
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = {"encoders": {}}
    stored["encoders"][settings.embedding_model] = {
        "weights": weights,
        "bias": bias,
        "threshold": threshold,
        "examples": n,
        "utterances": len(items),
        "fitted_on": f"dev split, {datetime.now(UTC):%Y-%m-%d}",
    }
    path.write_text(json.dumps(stored, ensure_ascii=False, indent=2) + "\n")
    print(f"calibrated {settings.embedding_model} on {len(items)} dev utterances ({n} candidates)")
    print(json.dumps(weights, indent=2), "bias", bias, "no-match threshold", threshold)
