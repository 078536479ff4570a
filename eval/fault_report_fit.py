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
from functools import cache
from pathlib import Path

import numpy as np

from eval.triage_sets import SETS
from eval.triage_sets import load as _load
from eval.workspace import demo_workspace

# Trades the check learns from. Five more trades (stop 17: office, homekitchen, wellness,
# industrial, broadband) raised each tuning set's AUC with the check fitted on the other eight
# and KB-only top-1 averaged over the nine (86.2 -> 87.7 %), but the check then took 2-8
# log-odds off short, plain fault reports ("空调不制冷", "叉车开不动", "打印机卡纸了") that the
# fit on these four leaves alone: those authors wrote their out-of-KB faults as short statements
# close to an entry. So it stays fitted on these four (docs/decisions.md).
TUNING = ("ours", "energy", "hvac", "kitchen")
C = 3.0  # chosen on the tuning sets, each scored with a model fitted on the others
# Log-odds per unit of "no". KB-only top-1 summed over the four tuning sets (each with the
# check fitted on the others) at 0.5 / 1 / 1.5 / 2: 353.4 / 355.4 / 357.3 / 356.8.
STRENGTH = 1.5
# A new KB's no-match cut until 100 agents' verdicts choose one on real calls. The cut a KB fit
# chose on its own pseudo-calls landed at 0.001-0.034 on the tuning sets, while the best cut on
# their real calls was 0.015-0.025 on every one: pseudo-calls are easier than real calls in
# one trade and harder in another, the confidence scale is what carries over. KB-only top-1 at
# 0.01 / 0.015 / 0.02 / 0.025 / 0.03 (ours, energy, hvac, kitchen): 93.3 89.7 83.0 92.0 /
# 94.0 90.3 83.2 92.8 / 93.5 90.0 85.0 93.1 / 93.5 89.4 85.0 91.8 / 93.3 88.2 85.0 91.0;
# chosen on three sets, the fourth's cut is 0.02 (0.015 for hvac).
NO_MATCH_CUT = 0.02


def _vectors(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """_read_set(name) for the configured encoder, once per process: the swap refits the
    check once per tuning set on all the others."""
    from core.settings import get_settings

    return _read_set(name, get_settings().embedding_model)


@cache
def _read_set(name: str, encoder: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs and labels (1: the KB covers the call) of one set's calls on its own KB, and the
    rules' request examples read on that KB (what the check reads depends on the KB); encoder,
    the configured one, keys the cache."""
    from knowledge_base import live_index
    from triage.rules import get_rules
    from triage.service import fault_report_inputs

    kb, calls = SETS[name]
    items = _load(calls)
    demo_workspace(kb)
    index = live_index.get_index()
    vecs = fault_report_inputs([it["text"] for it in items], index)
    requests = fault_report_inputs(list(get_rules().out_of_scope_requests), index)
    return vecs, np.array([it["expected_kb_id"] is not None for it in items], dtype=int), requests


def _fit(x: np.ndarray, y: np.ndarray):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(x, y)


def _stack(
    data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The calls of these sets and the request examples read on each set's KB (label 0)."""
    x = np.vstack([m for n in names for m in (data[n][0], data[n][2])])
    y = np.concatenate([m for n in names for m in (data[n][1], np.zeros(len(data[n][2]), int))])
    return x, y


def main(out: Path, sets: tuple[str, ...] = TUNING) -> int:
    """Report the cross-set AUC, then fit on every set of `sets` and write out."""
    from sklearn.metrics import roc_auc_score

    from core.settings import get_settings

    data = {name: _vectors(name) for name in sets}
    cross = {}
    for b in sets:
        others = [a for a in sets if a != b]
        if not others:
            continue
        model = _fit(*_stack(data, others))
        auc = roc_auc_score(data[b][1], model.decision_function(data[b][0]))
        cross[f"{'+'.join(others)}->{b}"] = round(float(auc), 4)
        print(f"fitted on {' + '.join(others)}, AUC on {b} (in KB vs not): {auc:.3f}")
    x, y = _stack(data, list(sets))
    model = _fit(x, y)
    requests = sum(len(data[n][2]) for n in sets)
    encoder = get_settings().embedding_model
    fitted_on = (
        f"{' + '.join(sets)} labelled calls ({int(y.size - requests)}) and "
        f"{requests // len(sets)} request examples, {datetime.now(UTC):%Y-%m-%d}"
    )
    doc = json.loads(out.read_text()) if out.exists() else {"encoders": {}}
    doc["encoders"][encoder] = {
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "strength": STRENGTH,
        "no_match_cut": NO_MATCH_CUT,
        "fitted_on": fitted_on,
        "cross_set_auc": cross,
    }
    out.write_text(json.dumps(doc, ensure_ascii=False) + "\n")
    print(f"wrote {out} for {encoder}: {fitted_on}")
    return 0
