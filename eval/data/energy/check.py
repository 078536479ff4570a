#!/usr/bin/env python3
"""Validate the energy evaluation set (kb.jsonl, calls.jsonl) and print its statistics.

Plain python3, stdlib only. It generates nothing: it only checks the hand-written records.
Usage: python3 eval/data/energy/check.py
"""
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
KB_KEYS = ["id", "title", "product_type", "models", "firmware", "symptoms", "fault_code",
           "root_cause", "resolution", "remote_fixable", "parts", "skills", "severity"]
CALL_KEYS = ["id", "text", "expected_kb_id", "fields", "tags"]
FIELD_KEYS = ["product_type", "model", "firmware", "fault_code", "phone", "address", "customer_name"]
TAGS = {"colloquial", "long", "asr_noisy", "mixed_english", "multi_issue", "spoken_numbers",
        "code_said", "with_contact", "paraphrase", "out_of_kb"}
SEVERITIES = {"一级", "二级", "三级", "四级"}
CN_DIGITS = str.maketrans("零〇洞幺一二两三四五六七八九", "00011223456789")


def norm(s):
    return re.sub(r"[\s\-－—]", "", s.translate(CN_DIGITS)).upper()


def shares_5(text, phrases):
    return any(p[i:i + 5] in text for p in phrases for i in range(len(p) - 4))


def main():
    errors = []
    kb = {}
    for n, line in enumerate(open(os.path.join(HERE, "kb.jsonl"), encoding="utf-8"), 1):
        d = json.loads(line)
        if list(d) != KB_KEYS:
            errors.append(f"kb line {n}: keys {list(d)}")
        if d["id"] in kb:
            errors.append(f"kb duplicate id {d['id']}")
        if not 3 <= len(d["symptoms"]) <= 6:
            errors.append(f"kb {d['id']}: {len(d['symptoms'])} symptoms")
        if d["severity"] not in SEVERITIES:
            errors.append(f"kb {d['id']}: severity {d['severity']}")
        kb[d["id"]] = d
    pts = {d["product_type"] for d in kb.values()}

    calls = [json.loads(l) for l in open(os.path.join(HERE, "calls.jsonl"), encoding="utf-8")]
    for i, c in enumerate(calls, 1):
        cid = c.get("id")
        if list(c) != CALL_KEYS or list(c["fields"]) != FIELD_KEYS:
            errors.append(f"{cid}: keys")
        if cid != f"e{i:04d}":
            errors.append(f"{cid}: id out of sequence")
        t, f, k, tags = c["text"], c["fields"], c["expected_kb_id"], set(c["tags"])
        if tags - TAGS:
            errors.append(f"{cid}: unknown tags {tags - TAGS}")
        if not 12 <= len(t) <= 250:
            errors.append(f"{cid}: length {len(t)}")
        if ("long" in tags and len(t) < 80) or (len(t) >= 100 and "long" not in tags):
            errors.append(f"{cid}: long tag vs length {len(t)}")
        if f["product_type"] is not None and f["product_type"] not in pts:
            errors.append(f"{cid}: product_type {f['product_type']}")
        if ("out_of_kb" in tags) != (k is None):
            errors.append(f"{cid}: out_of_kb tag vs expected_kb_id")
        if k is not None:
            e = kb.get(k)
            if e is None:
                errors.append(f"{cid}: unknown kb id {k}")
                continue
            if f["product_type"] != e["product_type"]:
                errors.append(f"{cid}: product_type differs from entry")
            if f["model"] and f["model"] not in e["models"]:
                errors.append(f"{cid}: model {f['model']} not in entry")
            if f["fault_code"] and f["fault_code"] != e["fault_code"]:
                errors.append(f"{cid}: fault_code differs from entry")
            if ("paraphrase" in tags) == shares_5(t, e["symptoms"]):
                errors.append(f"{cid}: paraphrase tag wrong")
        elif "paraphrase" in tags:
            errors.append(f"{cid}: paraphrase on out-of-KB call")
        if ("code_said" in tags) != (f["fault_code"] is not None):
            errors.append(f"{cid}: code_said vs fault_code")
        contact = any(f[x] for x in ("phone", "address", "customer_name"))
        if ("with_contact" in tags) != contact:
            errors.append(f"{cid}: with_contact vs fields")
        if f["address"] and f["address"] not in t:
            errors.append(f"{cid}: address not a substring")
        if f["customer_name"] and f["customer_name"] not in t:
            errors.append(f"{cid}: name not in text")
        if f["phone"]:
            if not (f["phone"].isdigit() and len(f["phone"]) in (11, 12)):
                errors.append(f"{cid}: phone format")
            elif f["phone"] not in norm(t):
                errors.append(f"{cid}: phone not found in text")
        if "asr_noisy" in tags and re.search(r"[，。？！,?!：；]", t):
            errors.append(f"{cid}: punctuation in asr_noisy text")
    if len({c["text"] for c in calls}) != len(calls):
        errors.append("duplicate texts")

    n = len(calls)
    inkb = [c for c in calls if c["expected_kb_id"]]
    print(f"kb entries {len(kb)}; calls {n}; in-KB {len(inkb)}; out-of-KB {n - len(inkb)} "
          f"({100 * (n - len(inkb)) / n:.1f} %)")
    per_entry = Counter(c["expected_kb_id"] for c in inkb)
    print("calls per entry: min", min(per_entry.values()), "max", max(per_entry.values()),
          "entries without calls", [x for x in kb if x not in per_entry])
    print("in-KB calls per product:", dict(Counter(c["fields"]["product_type"] for c in inkb)))
    print("out-of-KB product_type:", dict(Counter(c["fields"]["product_type"] for c in calls
                                                   if not c["expected_kb_id"])))
    tc = Counter(t for c in calls for t in c["tags"])
    for t, v in tc.most_common():
        extra = f"  ({100 * v / len(inkb):.1f} % of in-KB)" if t == "paraphrase" else ""
        print(f"  {t:15s}{v:4d} {100 * v / n:5.1f} %{extra}")
    print("severity:", dict(Counter(d["severity"] for d in kb.values())),
          "firmware entries:", sum(1 for d in kb.values() if d["firmware"]),
          "code entries:", sum(1 for d in kb.values() if d["fault_code"]),
          "remote_fixable:", sum(d["remote_fixable"] for d in kb.values()))
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
