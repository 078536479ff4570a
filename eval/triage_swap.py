"""`hotline eval triage --swap`: does the diagnosis carry over to a knowledge base nobody tuned on?

Twelve labelled sets, each a KB and calls about it:
- `ours`: the demo KB and eval/data/triage_utterances.jsonl, written next to the code (rules
  and features were tuned while looking at it);
- `energy`: new-energy equipment (eval/data/energy), written apart from the code by an author
  who never read it, then used to tune (a second trade to check a change on);
- `hvac`: heating, air conditioning and air treatment (eval/data/hvac), written the same way
  (stop 14), a third trade to tune on: a quarter of its calls are out of the KB, half of
  those fault reports the KB lacks;
- `kitchen`: commercial kitchen equipment (eval/data/kitchen), written apart from the code by
  an author who never read it, measured untuned eight times, then (stop 15) tuned on: its
  misses read, the fault-report check fitted on it;
- `elevator`: elevators and escalators (eval/data/elevator), written the same way by a third
  author (stop 13), never used to tune anything;
- `medical`: medical equipment for hospitals, care homes and home patients (eval/data/medical),
  written the same way by another author (stop 15), never used to tune anything. Its author
  leaves the product type empty when the caller names no device, where triage takes it from a
  confident diagnosis: `product (named)` scores the calls that name one.
- `security`: building security and parking systems (eval/data/security), written the same way
  by another author (stop 17), never used to tune anything; product type empty when the
  caller names no device, as in `medical`.
- `office`, `homekitchen`, `wellness`, `industrial`, `broadband` (stop 17): five more trades
  written the same way, measured once with the code as it stood, then kept to tune on. The
  fault-report check is not fitted on them (eval/fault_report_fit.py says why).

For each set the confidence model is fitted three ways and the same calls are measured:
- `shipped`: the model fitted on our own labelled dev split (triage/calibration.json);
- `other set`: fitted on another set's labelled calls (the swap: fit on A, measure on B; A is
  each of the four first tuning sets);
- `KB`: fitted on the set's own KB only (pseudo-calls, leave-one-out, out-of-scope requests),
  no labelled call at all — what a new customer gets on day one.
`ECE` says whether the confidence agents see means what it says (0: a call shown at 80 % is
right 80 % of the time). `plain BM25 baseline` is what a keyword search alone puts first
(the issue's yardstick). Then the cold-start curve: the KB fit plus 0, 50 and 200 agent
verdicts taken from a pool of the set's calls, measured on the rest of them. The fault-report
check (triage/fault_report.py) is fitted on the tuning sets; a tuning set is measured with one
fitted on the others only.
"""

import hashlib
from pathlib import Path
from typing import Any

from eval import calibrate as labelled_fit
from eval import fault_report_fit
from eval.triage_eval import evaluate
from eval.triage_sets import SETS
from eval.triage_sets import load as _load
from eval.workspace import demo_workspace

POOL_SHARE = 0.62  # cold start: verdicts come from this share of a set's calls, the rest measures
VERDICT_STEPS = (0, 50, 200)


def _in_pool(item_id: str) -> bool:
    h = int(hashlib.sha1(f"pool:{item_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return h < POOL_SHARE


def _use(weights: dict[str, float], bias: float, threshold: float, trigger: str) -> None:
    """Make a labelled fit the one triage uses in the current workspace."""
    from triage import calibration

    _store(calibration.FitResult(weights, bias, threshold, 0, 0, 0, 0.0, {}), trigger)


def _store(fit: Any, trigger: str) -> None:
    """Store a fit in the current workspace so triage uses it from now on."""
    from core.db import session_scope
    from core.settings import get_settings
    from knowledge_base import live_index
    from triage import calibration, confidence

    with session_scope() as db:
        calibration.store(
            db=db,
            fit=fit,
            encoder=get_settings().embedding_model,
            trigger=trigger,
            signature=confidence.kb_signature(live_index.get_index()),
        )


def _forget_fits() -> None:
    """Drop the fits the import made, so triage falls back to the shipped model."""
    from sqlalchemy import delete

    from core.db import session_scope
    from triage import confidence
    from triage.models import TriageCalibration

    with session_scope() as db:
        db.execute(delete(TriageCalibration))
    confidence.reset()


def _fit_kb(verdict_items: list[dict[str, Any]]) -> Any:
    """Fit on the workspace's KB (and these labelled calls as verdicts) and use the fit."""
    from knowledge_base import live_index
    from triage import calibration

    verdicts = [calibration.Verdict(it["text"], it["expected_kb_id"]) for it in verdict_items]
    fit = calibration.fit(live_index.get_index(), verdicts)
    _store(fit, "eval")
    return fit


def _fault_report_without(name: str) -> None:
    """A tuning set is measured with the fault-report check fitted on the other tuning sets
    only (the shipped one has seen its calls); an untuned set with the shipped one."""
    import os
    import tempfile

    os.environ.pop("HOTLINE_FAULT_REPORT_FILE", None)
    if name in fault_report_fit.TUNING:
        others = tuple(n for n in fault_report_fit.TUNING if n != name)
        out = Path(tempfile.mkdtemp(prefix="hotline-fr-")) / "fault_report.json"
        fault_report_fit.main(out, others)
        os.environ["HOTLINE_FAULT_REPORT_FILE"] = str(out)


def bm25_baseline(items: list[dict[str, Any]]) -> tuple[float, float]:
    """The plain baseline the issue compares with: BM25 over jieba words of the raw call
    against the workspace's KB, best entry taken whatever its score. (share of in-KB calls
    whose entry comes first, ticket top-1 counting every out-of-KB call as wrong)."""
    from knowledge_base import live_index

    index = live_index.get_index()
    first = in_kb = 0
    for it in items:
        if not it["expected_kb_id"]:
            continue
        in_kb += 1
        scores = index.bm25.score_array(index.tokenizer.words(it["text"]))
        best = index.bm25.top(scores, 1) if scores is not None else []
        first += bool(best) and index.key_of.get(best[0][0]) == it["expected_kb_id"]
    return first / max(in_kb, 1), first / max(len(items), 1)


def _row(label: str, m: dict[str, Any]) -> str:
    return (
        f"  {label:28} {m['n']:4d} {m['top1']:7.1%} {m['ranked_first']:7.1%} {m['top3']:7.1%} "
        f"{m['false_no_match']:7.1%} {m['no_match_precision']:7.1%} {m['no_match_recall']:7.1%} "
        f"{m['fields']['product_type']:7.1%} {m['product_named']:7.1%} "
        f"{m['confidence_ece']:5.3f} {m['latency_ms']['p95']:6.1f}"
    )


HEADER = (
    f"  {'calibration':28} {'n':>4} {'top-1':>7} {'rank1':>7} {'top-3':>7} {'fls-nm':>7} "
    f"{'nm-P':>7} {'nm-R':>7} {'product':>7} {'named':>7} {'ECE':>5} {'p95ms':>6}"
)


def main(only: str | None = None) -> int:
    """Print the swap table and the cold-start curve for each set."""
    names = [only] if only else list(SETS)
    missing = [n for n in names if not SETS[n][0].exists()]
    if missing:
        print(f"missing evaluation sets: {missing}")
        return 1
    # The labelled fits (the old way) of the first tuning trades, to apply to every other set:
    # from each of twelve sets the table would grow with the square of their number.
    labelled: dict[str, tuple[dict[str, float], float, float]] = {}
    for name in fault_report_fit.TUNING:
        kb, calls = SETS[name]
        if kb.exists():
            demo_workspace(kb)
            weights, bias, _n, threshold = labelled_fit.fit(_load(calls))
            labelled[name] = (weights, bias, threshold)
    for name in names:
        kb, calls = SETS[name]
        items = _load(calls)
        _fault_report_without(name)
        others = [o for o in labelled if o != name]
        print(
            f"\n== {name}: {len(items)} calls, {sum(1 for i in items if i['expected_kb_id'])} in KB"
        )
        print(HEADER)
        demo_workspace(kb)
        _forget_fits()
        print(_row("shipped (our dev split)", evaluate(items)))
        for other in others:
            _use(*labelled[other], trigger="eval")
            print(_row(f"labelled calls of {other}", evaluate(items)))
        fit = _fit_kb([])
        print(_row(f"KB only ({fit.seconds:.1f} s fit)", evaluate(items)))
        ranked, top1 = bm25_baseline(items)
        print(f"  plain BM25 baseline: first for {ranked:.1%} of in-KB calls, top-1 {top1:.1%}")
        print(f"  cold start: verdicts from {POOL_SHARE:.0%} of the calls, measured on the rest")
        pool = [i for i in items if _in_pool(i["id"])]
        rest = [i for i in items if not _in_pool(i["id"])]
        for k in VERDICT_STEPS:
            demo_workspace(kb)
            fit = _fit_kb(pool[:k])
            print(_row(f"KB + {fit.verdicts} verdicts", evaluate(rest)))
    return 0
