#!/usr/bin/env python3
"""Validator for the broadband / home-network hotline set (kb.jsonl + calls.jsonl).

python3 check.py  -> prints counts; exits 1 on any error.
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
PRODUCT_TYPES = {"光猫", "无线路由器", "Mesh子路由", "机顶盒", "摄像头", "固话语音网关",
                 "5G宽带终端", "商铺交换机", "入户光纤", "智能音箱"}
NO_MODEL_TYPES = {"入户光纤"}  # a drop line has no model number
SEVERITIES = {"P0", "P1", "P2", "P3"}

PAIRS = {
    "nd_ont_reboot": ("ONT-FW-REBOOT", "ONT-PSU"),
    "nd_ont_light": ("ONT-PON-BLINK", "ONT-LOS-OPTIC"),
    "nd_rt_drop": ("RT-FW-5G-DROP", "RT-DFS"),
    "nd_rt_speed": ("RT-SPEED-WAN", "RT-HWNAT"),
    "nd_mesh_node": ("MESH-E05-BACKHAUL", "MESH-PAIR-NEW"),
    "nd_stb_picture": ("STB-FW-FREEZE", "STB-MOSAIC-WIFI"),
    "nd_cam_offline": ("CAM-OFFLINE-WIFI", "CAM-FW-OFFLINE"),
    "nd_vgw_tone": ("VGW-E02-SIP", "VGW-NOTONE-LINE"),
    "nd_cpe_slow": ("CPE-SIGNAL-WEAK", "CPE-FW-BAND"),
    "nd_sw_port": ("SW-PORT-DEAD", "SW-FW-VLAN"),
    "nd_fib_los": ("FIB-DROP-BREAK", "FIB-CONNECTOR"),
    "nd_spk_wake": ("SPK-FW-WAKE", "SPK-MIC-MUTE"),
}
STYLE_TAGS = {"colloquial", "asr_noisy", "long", "mixed_english", "multi_issue", "still_works",
              "plain", "no_product"}
DERIVED_TAGS = {"out_of_kb", "oos_fault", "oos_request", "code_said", "model_said", "firmware_said",
                "with_contact", "spoken_numbers", "paraphrase"}
ALL_TAGS = STYLE_TAGS | DERIVED_TAGS | set(PAIRS)
PUNCT = set("，。？！、；：,.?!;:\"'“”‘’（）() …")

errors = []


def err(msg):
    errors.append(msg)


def load(name):
    rows = []
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                err(f"{name}:{n}: blank line")
                continue
            try:
                rows.append((n, json.loads(line)))
            except json.JSONDecodeError as e:
                err(f"{name}:{n}: bad JSON: {e}")
    return rows


def shares_run(a, b, k=4):
    grams = {b[i:i + k] for i in range(len(b) - k + 1)}
    return any(a[i:i + k] in grams for i in range(len(a) - k + 1))


def sym_text(e):
    return "；".join(e["symptoms"])


kb = {}
for n, e in load("kb.jsonl"):
    where = f"kb.jsonl:{n}"
    if list(e) != KB_KEYS:
        err(f"{where}: keys {list(e)}")
        continue
    if e["id"] in kb:
        err(f"{where}: duplicate id {e['id']}")
    kb[e["id"]] = e
    if e["product_type"] not in PRODUCT_TYPES:
        err(f"{where}: product_type {e['product_type']}")
    if e["severity"] not in SEVERITIES:
        err(f"{where}: severity {e['severity']}")
    for k in ("title", "root_cause", "resolution"):
        if not isinstance(e[k], str) or not e[k]:
            err(f"{where}: empty {k}")
    if (not isinstance(e["symptoms"], list) or not 3 <= len(e["symptoms"]) <= 5
            or not all(isinstance(s, str) and s for s in e["symptoms"])):
        err(f"{where}: symptoms must be a list of 3-5 non-empty phrases")
        continue
    for k in ("firmware", "fault_code"):
        if not isinstance(e[k], str):
            err(f"{where}: {k} must be a string")
    if e["firmware"] and not re.fullmatch(r"\d+\.\d+\.\d+", e["firmware"]):
        err(f"{where}: firmware {e['firmware']}")
    if not isinstance(e["remote_fixable"], bool):
        err(f"{where}: remote_fixable not bool")
    if e["firmware"] and e["remote_fixable"] is not True:
        err(f"{where}: firmware bug not remote_fixable")
    for k in ("models", "parts", "skills"):
        if not isinstance(e[k], list):
            err(f"{where}: {k} not a list")
    if e["product_type"] in NO_MODEL_TYPES:
        if e["models"]:
            err(f"{where}: {e['product_type']} entries carry no model")
    elif not e["models"] or not all(re.fullmatch(r"XL-[0-9A-Z]+", m) for m in e["models"]):
        err(f"{where}: models {e['models']}")
    if e["fault_code"] and e["fault_code"] not in sym_text(e):
        err(f"{where}: fault code missing from symptoms")
for tag, (a, b) in PAIRS.items():
    for x in (a, b):
        if x not in kb:
            err(f"pair {tag}: unknown entry {x}")
    if a in kb and b in kb and kb[a]["product_type"] != kb[b]["product_type"]:
        err(f"pair {tag}: different product types")
pair_of = {x: t for t, ab in PAIRS.items() for x in ab}

code_types = {}
for e in kb.values():
    if e["fault_code"]:
        code_types.setdefault(e["fault_code"], set()).add(e["product_type"])
shared_codes = {c: t for c, t in code_types.items() if len(t) > 1}

calls = load("calls.jsonl")
ids, texts = set(), set()
tag_count, field_count, per_entry, per_type = Counter(), Counter(), Counter(), Counter()
n_ook = n_fault = 0
for n, c in calls:
    where = f"calls.jsonl:{n}"
    if list(c) != CALL_KEYS:
        err(f"{where}: keys {list(c)}")
        continue
    t, kid, f, tags = c["text"], c["expected_kb_id"], c["fields"], c["tags"]
    if not re.fullmatch(r"bb-\d{4}", c["id"]):
        err(f"{where}: id {c['id']}")
    if c["id"] in ids:
        err(f"{where}: duplicate id {c['id']}")
    ids.add(c["id"])
    if t in texts:
        err(f"{where}: duplicate text")
    texts.add(t)
    if not 15 <= len(t) <= 260:
        err(f"{where}: text length {len(t)}")
    if not isinstance(f, dict) or list(f) != FIELD_KEYS:
        err(f"{where}: field keys {list(f) if isinstance(f, dict) else f}")
        continue
    if len(set(tags)) != len(tags) or not set(tags) <= ALL_TAGS:
        err(f"{where}: bad tags {tags}")
    tag_count.update(tags)
    for k, v in f.items():
        if v is not None:
            field_count[k] += 1
            if not isinstance(v, str) or not v:
                err(f"{where}: field {k} must be a non-empty string or null")
    pt = f["product_type"]
    per_type[pt] += 1
    if pt is not None and pt not in PRODUCT_TYPES:
        err(f"{where}: product_type {pt}")
    if kid is None:
        n_ook += 1
        if "out_of_kb" not in tags:
            err(f"{where}: null label without out_of_kb")
        kinds = {"oos_fault", "oos_request"} & set(tags)
        if len(kinds) != 1:
            err(f"{where}: out-of-KB call needs exactly one of oos_fault/oos_request")
        n_fault += "oos_fault" in tags
        if "paraphrase" in tags or any(x in tags for x in PAIRS):
            err(f"{where}: paraphrase/pair tag on an out-of-KB call")
    else:
        if kid not in kb:
            err(f"{where}: unknown expected_kb_id {kid}")
            continue
        e = kb[kid]
        per_entry[kid] += 1
        if {"out_of_kb", "oos_fault", "oos_request"} & set(tags):
            err(f"{where}: out-of-KB tag on an in-KB call")
        if pt is not None and pt != e["product_type"]:
            err(f"{where}: product_type {pt} != entry's {e['product_type']}")
        if f["fault_code"] is not None and f["fault_code"] != e["fault_code"]:
            err(f"{where}: fault_code {f['fault_code']} != entry's {e['fault_code']!r}")
        if f["firmware"] is not None and e["firmware"] and f["firmware"] != e["firmware"]:
            err(f"{where}: firmware {f['firmware']} != entry's {e['firmware']}")
        if f["model"] is not None and f["model"] not in e["models"]:
            err(f"{where}: model {f['model']} not in entry's models")
        want = pair_of.get(kid)
        have = [x for x in tags if x in PAIRS]
        if have != ([want] if want else []):
            err(f"{where}: pair tags {have}, expected {want}")
        if ("paraphrase" in tags) == shares_run(t, sym_text(e)):
            err(f"{where}: paraphrase tag inconsistent (4-character runs shared with symptoms)")
    for tag, cond in (("code_said", f["fault_code"]), ("model_said", f["model"]),
                      ("firmware_said", f["firmware"]),
                      ("with_contact", f["phone"] or f["address"] or f["customer_name"]),
                      ("no_product", pt is None)):
        if (tag in tags) != bool(cond):
            err(f"{where}: tag {tag} disagrees with fields")
    for k in ("address", "customer_name"):
        if f[k] is not None and f[k] not in t:
            err(f"{where}: {k} {f[k]!r} not in text")
    spoken = [k for k in ("model", "firmware", "fault_code", "phone") if f[k] is not None and f[k] not in t]
    if bool(spoken) != ("spoken_numbers" in tags):
        err(f"{where}: spoken_numbers tag disagrees ({spoken})")
    if f["phone"] is not None and not re.fullmatch(r"1[3-9]\d{9}|0\d{2,3}-\d{7,8}", f["phone"]):
        err(f"{where}: phone {f['phone']}")
    if f["firmware"] is not None and not re.fullmatch(r"\d+\.\d+\.\d+", f["firmware"]):
        err(f"{where}: firmware {f['firmware']}")
    if f["model"] is not None and not re.fullmatch(r"XL-[0-9A-Z]+", f["model"]):
        err(f"{where}: model {f['model']}")
    if "asr_noisy" in tags and (set(t) & PUNCT):
        err(f"{where}: punctuation in asr_noisy text")
    if ("long" in tags) != (len(t) >= 120):
        err(f"{where}: long tag disagrees with length {len(t)}")

for kid in kb:
    if per_entry[kid] < 4:
        err(f"entry {kid}: only {per_entry[kid]} calls")
total = len(calls)
n_fw = sum(1 for e in kb.values() if e["firmware"])
n_code = sum(1 for e in kb.values() if e["fault_code"])
if total < 350:
    err(f"only {total} calls")
if total and n_ook / total < 0.20:
    err(f"out-of-KB share {n_ook / total:.1%} < 20%")
if n_fault * 2 < n_ook:
    err("fewer than half of the out-of-KB calls are fault reports")
if len(kb) < 50:
    err(f"only {len(kb)} KB entries")
if not 10 <= len({e['product_type'] for e in kb.values()}) <= 12:
    err("need 10-12 product types")
if n_fw < 8:
    err(f"only {n_fw} firmware bugs")
if n_code < 15:
    err(f"only {n_code} entries with a fault code")
if len(PAIRS) < 10:
    err(f"only {len(PAIRS)} near-duplicate pairs")
if not shared_codes:
    err("no fault code shared across product types")

print(f"kb entries: {len(kb)}  product types: {len({e['product_type'] for e in kb.values()})}")
print("  severity:", dict(sorted(Counter(e["severity"] for e in kb.values()).items())))
print(f"  with fault_code: {n_code}  firmware bugs: {n_fw}  remote_fixable: "
      f"{sum(1 for e in kb.values() if e['remote_fixable'])}  near-duplicate pairs: {len(PAIRS)}")
print("  codes shared across types:", ", ".join(f"{c} ({'/'.join(sorted(t))})" for c, t in sorted(shared_codes.items())))
print(f"calls: {total}  in-KB: {total - n_ook}  out-of-KB: {n_ook} ({n_ook / max(total, 1):.1%}; "
      f"fault {n_fault}, request {n_ook - n_fault})")
print("tags:", ", ".join(f"{k} {v}" for k, v in sorted(tag_count.items(), key=lambda x: (-x[1], x[0]))))
print("fields:", ", ".join(f"{k} {field_count[k]}" for k in FIELD_KEYS))
print("per product type:", ", ".join(f"{k} {v}" for k, v in per_type.most_common()))
if per_entry:
    print(f"calls per entry: min {min(per_entry.values())}, max {max(per_entry.values())}")
print(f"text length: {min(len(c['text']) for _, c in calls)}-{max(len(c['text']) for _, c in calls)}")
if errors:
    for m in errors[:50]:
        print("ERROR", m)
    print(f"{len(errors)} error(s)")
    sys.exit(1)
print("OK")
