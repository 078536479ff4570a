"""`hotline eval fit-fault-report`: fit triage/fault_report.json on the tuning sets.

The model says whether a call sounds like a fault report the KB may cover (triage/
fault_report.py). It is fitted on the labelled calls of the tuning sets (`ours`, `energy`,
`hvac`, `kitchen`: in the KB or not) plus the rules' examples of requests, each call read
exactly as triage reads it (its retrieval query on that set's KB, embedded). Before the fit it
reports how it carries over: fitted on the other tuning sets, AUC on each. Elevator and
medical, the untuned sets, are never read here.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from eval.triage_sets import SETS
from eval.triage_sets import load as _load
from eval.workspace import demo_workspace

TUNING = ("ours", "energy", "hvac", "kitchen")
C = 3.0  # chosen on the tuning sets, each scored with a model fitted on the others
STRENGTH = 1.0  # log-odds per unit of "no" (same choice; 0.5 and 1.5 were worse on one set)


def _vectors(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Query vectors and labels (1: the KB covers the call) of one set, on its own KB."""
    from knowledge_base import live_index
    from triage.service import fault_report_inputs

    kb, calls = SETS[name]
    items = _load(calls)
    demo_workspace(kb)
    vecs = fault_report_inputs([it["text"] for it in items], live_index.get_index())
    return vecs, np.array([it["expected_kb_id"] is not None for it in items], dtype=int)


def _requests() -> np.ndarray:
    from knowledge_base import live_index
    from triage.rules import get_rules
    from triage.service import fault_report_inputs

    return fault_report_inputs(list(get_rules().out_of_scope_requests), live_index.get_index())


def _fit(x: np.ndarray, y: np.ndarray):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(x, y)


def main(out: Path, sets: tuple[str, ...] = TUNING) -> int:
    """Report the cross-set AUC, then fit on every set of `sets` and write out."""
    from sklearn.metrics import roc_auc_score

    from core.settings import get_settings

    data = {name: _vectors(name) for name in sets}
    requests = _requests()
    no = np.zeros(len(requests), dtype=int)
    cross = {}
    for b in sets:
        others = [a for a in sets if a != b]
        if not others:
            continue
        x = np.vstack([*(data[a][0] for a in others), requests])
        model = _fit(x, np.concatenate([*(data[a][1] for a in others), no]))
        auc = roc_auc_score(data[b][1], model.decision_function(data[b][0]))
        cross[f"{'+'.join(others)}->{b}"] = round(float(auc), 4)
        print(f"fitted on {' + '.join(others)}, AUC on {b} (in KB vs not): {auc:.3f}")
    x = np.vstack([*(data[n][0] for n in sets), requests])
    y = np.concatenate([*(data[n][1] for n in sets), no])
    model = _fit(x, y)
    encoder = get_settings().embedding_model
    fitted_on = (
        f"{' + '.join(sets)} labelled calls ({int(y.size - no.size)}) and "
        f"{no.size} request examples, {datetime.now(UTC):%Y-%m-%d}"
    )
    doc = json.loads(out.read_text()) if out.exists() else {"encoders": {}}
    doc["encoders"][encoder] = {
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "strength": STRENGTH,
        "fitted_on": fitted_on,
        "cross_set_auc": cross,
    }
    out.write_text(json.dumps(doc, ensure_ascii=False) + "\n")
    print(f"wrote {out} for {encoder}: {fitted_on}")
    return 0
