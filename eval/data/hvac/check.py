#!/usr/bin/env python3
"""Validate the HVAC hotline evaluation set and print its counts. Exit 1 on any error."""
import json, os, re, sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
KB_KEYS = ["id", "title", "product_type", "models", "firmware", "symptoms", "fault_code",
           "root_cause", "resolution", "remote_fixable", "parts", "skills", "severity"]
CALL_KEYS = ["id", "text", "expected_kb_id", "fields", "tags"]
FIELD_KEYS = ["product_type", "model", "firmware", "fault_code", "phone", "address", "customer_name"]
STYLE_TAGS = ["colloquial", "asr_noisy", "long", "mixed_english", "multi_issue", "spoken_numbers", "plain"]
DERIVED_TAGS = ["out_of_kb", "oos_fault", "oos_request", "code_said", "with_contact", "paraphrase"]
SEVERITIES = ["P1", "P2", "P3", "P4"]
PAIRS = {
    "nd_vrf_e1": ("VRF-COMM-WIRE", "VRF-ADDR-FW241"),
    "nd_vrf_cool": ("VRF-LOWPRESS-E4", "VRF-EEV-STUCK"),
    "nd_duct_drip": ("DUCT-GRILLE-SWEAT", "DUCT-DRAIN-SLOPE"),
    "nd_duct_air": ("DUCT-FILTER-WEAK", "DUCT-FAN-H6"),
    "nd_split_nocool": ("SPLIT-NOCOOL-GAS", "SPLIT-OUTDOOR-CAP"),
    "nd_split_heat": ("SPLIT-HEAT-DEFROST", "SPLIT-HEAT-4WAY"),
    "nd_fa_co2": ("FA-CO2-FW302", "FA-CO2-DRIFT"),
    "nd_hp_timer": ("HP-TIMER-FW206", "HP-CLOCK-BATTERY"),
    "nd_gb_press": ("GB-PRESS-LOW-E2", "GB-EXPANSION"),
    "nd_gb_e3": ("GB-WIND-E3", "GB-FAN-E3"),
    "nd_dh_nowater": ("DH-LOWTEMP-FROST", "DH-NOWATER-GAS"),
    "nd_ap_pm": ("AP-PM-DUST", "AP-PM-FW180"),
    "nd_crac_a2": ("CRAC-LOWPRESS-WINTER", "CRAC-LEAK-A2"),
    "nd_ch_e2": ("CH-FOULING-E2", "CH-TOWER-FAN-E2"),
    "nd_tp_wifi": ("TP-WIFI-FW127", "TP-WIFI-ROUTER"),
}
PAIR_OF = {k: n for n, ab in PAIRS.items() for k in ab}
CN_DIGITS = str.maketrans("零〇幺一二三四五六七八九两", "0011234567892")
PUNCT = set("，。？！、；：,.?!;:（）()“”\"'…—")
errors = []

def err(msg):
    errors.append(msg)

def norm(s):
    """Spoken form -> written form, for checking that a labelled value is in the text."""
    s = s.upper().translate(CN_DIGITS)
    s = s.replace("点", ".").replace("杠", "-").replace("衣", "E").replace("依", "E").replace("爱吃", "H")
    return re.sub(r"[\s\-－—]", "", s)

def load(name):
    rows = []
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                err(f"{name}:{i}: bad JSON: {e}")
    return rows

kb = load("kb.jsonl")
calls = load("calls.jsonl")

kb_ids = Counter(k.get("id") for k in kb)
for i, n in kb_ids.items():
    if n > 1:
        err(f"duplicate kb id {i}")
kbmap = {k["id"]: k for k in kb}
types = sorted({k["product_type"] for k in kb})
for k in kb:
    if list(k.keys()) != KB_KEYS:
        err(f"kb {k.get('id')}: keys {list(k.keys())}")
    if k["severity"] not in SEVERITIES:
        err(f"kb {k['id']}: severity {k['severity']}")
    if not isinstance(k["models"], list) or not k["models"] or not isinstance(k["symptoms"], list):
        err(f"kb {k['id']}: models/symptoms must be non-empty lists")
    if not isinstance(k["remote_fixable"], bool):
        err(f"kb {k['id']}: remote_fixable not bool")
    if k["firmware"] and "FW" + k["firmware"].replace(".", "") not in k["id"]:
        err(f"kb {k['id']}: firmware {k['firmware']} not in id")
for n, (a, b) in PAIRS.items():
    if a not in kbmap or b not in kbmap:
        err(f"pair {n}: unknown id")
    elif kbmap[a]["product_type"] != kbmap[b]["product_type"]:
        err(f"pair {n}: product types differ")

call_ids = Counter(c.get("id") for c in calls)
for i, n in call_ids.items():
    if n > 1:
        err(f"duplicate call id {i}")
texts = Counter(c.get("text") for c in calls)
for t, n in texts.items():
    if n > 1:
        err(f"duplicate text: {t}")
for c in calls:
    cid = c.get("id")
    if list(c.keys()) != CALL_KEYS:
        err(f"{cid}: keys {list(c.keys())}"); continue
    f, t, text, exp = c["fields"], c["tags"], c["text"], c["expected_kb_id"]
    if list(f.keys()) != FIELD_KEYS:
        err(f"{cid}: field keys {list(f.keys())}")
    if not 21 <= len(text) <= 135:
        err(f"{cid}: text length {len(text)}")
    for tag in t:
        if tag not in STYLE_TAGS + DERIVED_TAGS and tag not in PAIRS:
            err(f"{cid}: unknown tag {tag}")
    if not any(x in STYLE_TAGS for x in t):
        err(f"{cid}: no style tag")
    if "long" in t and len(text) < 100:
        err(f"{cid}: long but {len(text)} chars")
    if "asr_noisy" in t and any(ch in PUNCT for ch in text):
        err(f"{cid}: asr_noisy text has punctuation")
    if f["product_type"] is not None and f["product_type"] not in types:
        err(f"{cid}: product_type {f['product_type']} not canonical")
    if exp is None:
        if "out_of_kb" not in t or (("oos_fault" in t) == ("oos_request" in t)):
            err(f"{cid}: out-of-KB call needs out_of_kb and exactly one of oos_fault/oos_request")
    else:
        if exp not in kbmap:
            err(f"{cid}: unknown kb id {exp}"); continue
        if "out_of_kb" in t or "oos_fault" in t or "oos_request" in t:
            err(f"{cid}: oos tag on an in-KB call")
        if f["product_type"] != kbmap[exp]["product_type"]:
            err(f"{cid}: product_type {f['product_type']} != kb {kbmap[exp]['product_type']}")
        if exp in PAIR_OF and PAIR_OF[exp] not in t:
            err(f"{cid}: missing pair tag {PAIR_OF[exp]}")
        if f["fault_code"] and kbmap[exp]["fault_code"] and f["fault_code"] != kbmap[exp]["fault_code"]:
            err(f"{cid}: fault code {f['fault_code']} != kb {kbmap[exp]['fault_code']}")
        if f["firmware"] and kbmap[exp]["firmware"] and f["firmware"] != kbmap[exp]["firmware"]:
            err(f"{cid}: firmware {f['firmware']} != kb {kbmap[exp]['firmware']}")
    if ("code_said" in t) != bool(f["fault_code"]):
        err(f"{cid}: code_said tag vs fault_code label")
    if ("with_contact" in t) != bool(f["phone"] or f["address"] or f["customer_name"]):
        err(f"{cid}: with_contact tag vs labels")
    if f["address"] and f["address"] not in text:
        err(f"{cid}: address not a substring of text")
    if f["customer_name"] and f["customer_name"] not in text:
        err(f"{cid}: name not in text")
    if f["phone"]:
        if not re.fullmatch(r"1\d{10}|0\d{9,11}", f["phone"]):
            err(f"{cid}: phone format {f['phone']}")
        elif f["phone"] not in norm(text):
            err(f"{cid}: phone {f['phone']} not in text")
    for key in ("model", "firmware", "fault_code"):
        v = f[key]
        if v and norm(v) not in norm(text) and not ({"asr_noisy", "spoken_numbers"} & set(t)):
            err(f"{cid}: {key} {v} not in text")

# ---------- counts ----------
n = len(calls)
oos = [c for c in calls if c["expected_kb_id"] is None]
inkb = n - len(oos)
print(f"KB entries: {len(kb)}; product types: {len(types)}")
for p in types:
    print(f"  {p}: {sum(k['product_type'] == p for k in kb)} entries, "
          f"{sum(c['fields']['product_type'] == p for c in calls)} calls")
print("severity:", dict(sorted(Counter(k["severity"] for k in kb).items())))
print("firmware entries:", sum(bool(k["firmware"]) for k in kb),
      "| remote_fixable:", sum(k["remote_fixable"] for k in kb),
      "| with fault code:", sum(bool(k["fault_code"]) for k in kb))
fc = Counter(k["fault_code"] for k in kb if k["fault_code"])
print("fault codes:", ", ".join(f"{c}x{m}" for c, m in sorted(fc.items())))
print(f"near-duplicate pairs: {len(PAIRS)}")
print(f"calls: {n}; in KB: {inkb}; out of KB: {len(oos)} ({100 * len(oos) / max(n, 1):.1f} %)")
per_kb = Counter(c["expected_kb_id"] for c in calls if c["expected_kb_id"])
if per_kb:
    print(f"calls per KB entry: min {min(per_kb.get(k, 0) for k in kbmap)}, max {max(per_kb.values())}")
tags = Counter(x for c in calls for x in c["tags"])
print("calls per tag:")
for tag in STYLE_TAGS + DERIVED_TAGS + sorted(PAIRS):
    print(f"  {tag}: {tags.get(tag, 0)}")
lab = {k: sum(bool(c['fields'][k]) for c in calls) for k in FIELD_KEYS}
print("labelled fields:", lab)
if errors:
    print(f"\n{len(errors)} ERRORS:")
    for e in errors[:80]:
        print("  " + e)
    sys.exit(1)
print("OK")
