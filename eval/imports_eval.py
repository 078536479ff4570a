"""`hotline eval imports`: how well old habits become structured tickets.

- Excel/CSV: per-field accuracy of the tickets the labelled sheets become (eval/data/imports,
  rendered from known values by eval/import_data.py), and how many labelled tickets were made.
- WeChat: request detection precision/recall (a detected request is right when it starts at
  the labelled first line) and per-field accuracy of the detected requests.
- Prediction: precision/recall of recurring-fault detection on a simulated history with
  planted patterns (eval/recurrence_eval.py).
Baseline in the same run: the text alone through triage (no column values, no gathering).
"""

import json
from collections import defaultdict
from typing import Any

from core.settings import PACKAGE_ROOT

DATA = PACKAGE_ROOT / "eval" / "data" / "imports"
FLOOR = 0.90
SHEET_FIELDS = (
    "reported_at",
    "region",
    "customer_name",
    "phone",
    "address",
    "product_type",
    "model",
    "fault_code",
    "hardware_id",
    "description",
)
CHAT_FIELDS = (
    "product_type",
    "model",
    "fault_code",
    "phone",
    "address",
    "customer_name",
    "hardware_id",
)


def _labels(name: str) -> list[dict[str, Any]]:
    path = DATA / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _accuracy(hits: dict[str, list[bool]]) -> dict[str, float]:
    return {f: round(sum(v) / len(v), 4) for f, v in hits.items() if v}


def sheets(labels_file: str) -> dict[str, Any]:
    """Per-field accuracy on labelled sheets, and the baseline of triage on text alone."""
    from intake import excel_import
    from intake.prefilled import triage_prefilled
    from triage.service import triage_text

    by_file: dict[str, dict[str, dict]] = defaultdict(dict)
    for label in _labels(labels_file):
        by_file[label["file"]][label["ref"]] = label["fields"]
    hits: dict[str, list[bool]] = defaultdict(list)
    base: dict[str, list[bool]] = defaultdict(list)
    made = extra = 0
    for file, labels in by_file.items():
        sheet = excel_import.open_sheet(DATA / file)
        for draft in excel_import.drafts(sheet):
            if draft.skip:
                continue
            truth = labels.get(draft.ref)
            if truth is None:
                extra += 1
                continue
            made += 1
            assert draft.text
            fields = triage_prefilled(draft.text, draft.given).fields
            baseline = triage_text(" ".join(str(v) for v in draft.given.values()) + draft.text)
            day = draft.reported_at.date().isoformat() if draft.reported_at else None
            for name in SHEET_FIELDS:
                if name == "reported_at":
                    hits[name].append(day == truth[name])
                elif name == "description":
                    hits[name].append(draft.text == truth[name])
                else:
                    hits[name].append(fields.get(name) == truth[name])
                    if name in baseline.fields:
                        base[name].append(baseline.fields.get(name) == truth[name])
    total = sum(len(v) for v in by_file.values())
    return {
        "labelled_tickets": total,
        "tickets_made": made,
        "unexpected_tickets": extra,
        "field_accuracy": _accuracy(hits),
        "baseline_text_only": _accuracy(base),
    }


def chats(labels_file: str) -> dict[str, Any]:
    """Detection precision/recall and per-field accuracy on labelled chat exports."""
    from intake import wechat_import
    from intake.prefilled import triage_prefilled

    labels = _labels(labels_file)
    truth = {(x["file"], x["first_line"]): x for x in labels}
    detected = matched = 0
    hits: dict[str, list[bool]] = defaultdict(list)
    first_only: dict[str, list[bool]] = defaultdict(list)
    for file in sorted({x["file"] for x in labels}):
        messages = wechat_import.parse(wechat_import.read_export(DATA / file))
        requests = wechat_import.detect(messages)
        for req, draft in zip(requests, wechat_import.to_drafts(requests, file), strict=True):
            detected += 1
            label = truth.get((file, req.messages[0].line))
            if label is None:
                continue
            matched += 1
            assert draft.text
            fields = triage_prefilled(draft.text, draft.given, draft.fallback).fields
            alone = triage_prefilled(req.messages[0].text, {}).fields
            for name in CHAT_FIELDS:
                hits[name].append(fields.get(name) == label["fields"][name])
                first_only[name].append(alone.get(name) == label["fields"][name])
    return {
        "labelled_requests": len(labels),
        "detected": detected,
        "precision": round(matched / detected, 4) if detected else 0.0,
        "recall": round(matched / len(labels), 4),
        "field_accuracy": _accuracy(hits),
        "baseline_first_message_only": _accuracy(first_only),
    }


def _combined(sets: list[dict[str, Any]], fields: tuple[str, ...], size: str) -> dict[str, float]:
    total = sum(s[size] for s in sets)
    return {
        k: round(sum(s["field_accuracy"].get(k, 0.0) * s[size] for s in sets) / total, 4)
        for k in fields
    }


def main() -> int:
    """Print the report; exit status 1 when a floor (90 %) is missed."""
    from eval.recurrence_eval import evaluate
    from eval.workspace import demo_workspace

    demo_workspace()
    report = {
        "excel": sheets("sheet_labels.jsonl"),
        "excel_handwritten": sheets("sheet_handwritten_labels.jsonl"),
        "wechat": chats("chat_labels.jsonl"),
        "wechat_handwritten": chats("chat_handwritten_labels.jsonl"),
        "prediction": evaluate(),
    }
    # Floors on the generated and the hand-written sets together (weighted by their sizes).
    sets = [report["wechat"], report["wechat_handwritten"]]
    chat_fields = _combined(sets, CHAT_FIELDS, "labelled_requests")
    report["wechat_all_field_accuracy"] = chat_fields
    sheet_sets = [report["excel"], report["excel_handwritten"]]
    report["excel_all_field_accuracy"] = _combined(sheet_sets, SHEET_FIELDS, "labelled_tickets")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    failing = [f"excel.{k}" for k, v in report["excel_all_field_accuracy"].items() if v < FLOOR]
    failing += [f"wechat.{k}" for k, v in chat_fields.items() if v < FLOOR]
    failing += [f"wechat.{k}" for s in sets for k in ("precision", "recall") if s[k] < FLOOR]
    for sheet_set in sheet_sets:
        if sheet_set["tickets_made"] < FLOOR * sheet_set["labelled_tickets"]:
            failing.append("excel.tickets_made")
    if failing:
        print(f"below the {FLOOR:.0%} floor: {failing}")
        return 1
    return 0
