"""`hotline eval triage`: diagnosis and extraction quality on the labelled utterances."""

import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from eval import dataset
from eval.workspace import demo_workspace

FIELDS = ("product_type", "model", "firmware", "fault_code", "phone", "address", "customer_name")


def evaluate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Run triage on every item and compute the metrics."""
    from triage.service import triage_text

    triage_text("预热")  # load models and index outside the timings
    top1 = top3 = ranked_first = 0
    in_kb = named = named_ok = 0
    nm_tp = nm_fp = nm_fn = 0
    field_ok: Counter[str] = Counter()
    shown: list[tuple[float, bool]] = []  # (confidence shown, the first candidate is right)
    latencies = []
    misses = []
    for it in items:
        t0 = time.perf_counter()
        res = triage_text(it["text"])
        latencies.append((time.perf_counter() - t0) * 1000)
        d = res.diagnosis
        expected = it["expected_kb_id"]
        ranked = [c["kb_id"] for c in d["candidates"]]
        predicted = None if d["no_match"] else d["kb_id"]
        if expected is None:
            nm_tp += predicted is None
            nm_fn += predicted is not None
        else:
            in_kb += 1
            nm_fp += predicted is None
            ranked_first += bool(ranked) and ranked[0] == expected
        ok1 = predicted == expected
        top1 += ok1
        if ranked:
            shown.append((d["confidence"], ranked[0] == expected))
        hit3 = expected in ranked[:3] if expected is not None else predicted is None
        top3 += hit3
        for f in FIELDS:
            if (res.fields.get(f) or None) == (it["fields"].get(f) or None):
                field_ok[f] += 1
        if it["fields"].get("product_type"):
            named += 1
            named_ok += res.fields.get("product_type") == it["fields"]["product_type"]
        if not ok1:
            misses.append((it, predicted, d["confidence"], ranked[:3]))
    n = len(items)
    lat = np.array(latencies)
    return {
        "n": n,
        "in_kb": in_kb,
        "top1": top1 / n,
        "top3": top3 / n,
        # Retrieval alone: the right entry ranked first, whatever the confidence said.
        "ranked_first": ranked_first / in_kb if in_kb else 1.0,
        # In-KB calls the ticket called no_match: work the agent has to redo.
        "false_no_match": nm_fp / in_kb if in_kb else 0.0,
        "no_match_precision": nm_tp / (nm_tp + nm_fp) if nm_tp + nm_fp else 1.0,
        "no_match_recall": nm_tp / (nm_tp + nm_fn) if nm_tp + nm_fn else 1.0,
        "fields": {f: field_ok[f] / n for f in FIELDS},
        # Product type on the calls that name one (a set may leave it empty when the caller
        # names no device, where triage takes it from a confident diagnosis).
        "product_named": named_ok / named if named else 1.0,
        "confidence_ece": confidence_ece(shown),
        "latency_ms": {
            "p50": float(np.percentile(lat, 50)),
            "p95": float(np.percentile(lat, 95)),
            "max": float(lat.max()),
        },
        "misses": misses,
    }


def confidence_ece(shown: list[tuple[float, bool]]) -> float:
    """Does the confidence agents see mean what it says? The expected calibration error of
    the first candidate's confidence against its being right (10 equal bins, by calls)."""
    if not shown:
        return 0.0
    conf = np.array([c for c, _ in shown])
    right = np.array([r for _, r in shown], dtype=float)
    bins = np.minimum((conf * 10).astype(int), 9)
    gaps = [
        abs(right[bins == b].mean() - conf[bins == b].mean()) * (bins == b).sum()
        for b in range(10)
        if (bins == b).any()
    ]
    return float(sum(gaps) / len(conf))


def field_errors(items: list[dict[str, Any]]) -> list[tuple[str, str, Any, Any]]:
    """(id, field, expected, got) for every wrong field."""
    from triage.service import triage_text

    out = []
    for it in items:
        got = triage_text(it["text"]).fields
        for f in FIELDS:
            if (got.get(f) or None) != (it["fields"].get(f) or None):
                out.append((it["id"], f, it["fields"].get(f), got.get(f)))
    return out


def report(metrics: dict[str, Any], label: str) -> str:
    """Human-readable summary."""
    lines = [
        f"triage eval ({label}): {metrics['n']} utterances, {metrics['in_kb']} in KB",
        f"  top-1 accuracy        {metrics['top1']:.1%}",
        f"  top-3 accuracy        {metrics['top3']:.1%}",
        f"  in-KB ranked first    {metrics['ranked_first']:.1%}",
        f"  in-KB wrongly no-match {metrics['false_no_match']:.1%}",
        f"  no-match precision    {metrics['no_match_precision']:.1%}",
        f"  no-match recall       {metrics['no_match_recall']:.1%}",
        f"  confidence ECE        {metrics['confidence_ece']:.3f}",
        "  field accuracy:",
        *[f"    {f:15} {v:.1%}" for f, v in metrics["fields"].items()],
        f"  latency ms            p50 {metrics['latency_ms']['p50']:.1f}  "
        f"p95 {metrics['latency_ms']['p95']:.1f}  max {metrics['latency_ms']['max']:.1f}",
    ]
    return "\n".join(lines)


def main(split: str = "test", data: Path | None = None, show_errors: bool = False) -> int:
    """Entry point of `hotline eval triage`."""
    from core.settings import get_settings

    demo_workspace()
    # Another file (e.g. exported review corrections) has no dev/test split of ours: use all.
    items = dataset.load(data, split if data is None else "all")
    metrics = evaluate(items)
    print(f"encoder: {get_settings().embedding_model}")
    print(report(metrics, split))
    if show_errors:
        for it, predicted, conf, ranked in metrics["misses"]:
            print(
                f"  MISS {it['id']}: expected {it['expected_kb_id']} got {predicted} "
                f"({conf:.2f}) top3={ranked} :: {it['text']}"
            )
        for row in field_errors(items):
            print("  FIELD", *row)
    return 0
