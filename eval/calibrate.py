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


def fit(items: list[dict], c: float = 1.0) -> tuple[dict[str, float], float, int]:
    """Weights, bias and example count fitted on items."""
    from sklearn.linear_model import LogisticRegression

    from knowledge_base import live_index
    from triage.diagnose import FEATURES
    from triage.service import analyse

    index = live_index.get_index()
    x, y = [], []
    for it in items:
        a = analyse(it["text"], index)
        for cand, feats in zip(a.candidates, a.features, strict=True):
            x.append([feats[f] for f in FEATURES])
            y.append(1 if cand.kb_id == it["expected_kb_id"] else 0)
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(np.array(x), np.array(y))
    weights = {f: round(float(w), 4) for f, w in zip(FEATURES, model.coef_[0], strict=True)}
    return weights, round(float(model.intercept_[0]), 4), len(y)


def main(data: Path | None = None) -> None:
    """Fit on the dev split and store the result for the configured encoder."""
    from core.settings import get_settings

    demo_workspace()
    settings = get_settings()
    items = dataset.load(data, "dev")
    weights, bias, n = fit(items)
    path = settings.calibration_file
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = {"encoders": {}}
    stored["encoders"][settings.embedding_model] = {
        "weights": weights,
        "bias": bias,
        "examples": n,
        "utterances": len(items),
        "fitted_on": f"dev split, {datetime.now(UTC):%Y-%m-%d}",
    }
    path.write_text(json.dumps(stored, ensure_ascii=False, indent=2) + "\n")
    print(f"calibrated {settings.embedding_model} on {len(items)} dev utterances ({n} candidates)")
    print(json.dumps(weights, indent=2), "bias", bias)
