#!/usr/bin/env python3
"""Validate the elevator evaluation set: JSON, keys, counts, ids, product types and labels.

Usage: python3 check.py [--partial]   (--partial skips the minimum call count)
"""
import collections, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
KB_KEYS = ["id", "title", "product_type", "models", "firmware", "symptoms", "fault_code",
           "root_cause", "resolution", "remote_fixable", "parts", "skills", "severity"]
CALL_KEYS = ["id", "text", "expected_kb_id", "fields", "tags"]
FIELD_KEYS = ["product_type", "model", "firmware", "fault_code", "phone", "address", "customer_name"]
TAGS = {"colloquial", "asr_noisy", "long", "paraphrase", "mixed_english", "multi_issue",
        "with_contact", "out_of_kb", "spoken_numbers", "code_said"}
SEVERITIES = ["紧急", "高", "中", "低"]
# ASR spellings of fault codes that the digit normaliser cannot map back (heard letter -> homophone)
CODE_ALIASES = {"E07": ["衣零七"], "OL": ["欧爱尔", "o l", "欧L"], "E41": ["衣四一"], "E18": ["一幺八", "衣幺八"],
                "E35": ["衣三五"], "E60": ["衣六零"], "E90": ["衣九零"], "E02": ["衣零二"], "E19": ["衣一九"]}
DIGITS = str.maketrans("零〇一幺二两三四五六七八九", "0011223456789")

errors, warnings = [], []
def err(m): errors.append(m)

def load(name):
    rows = []
    with open(os.path.join(HERE, name), encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                err(f"{name}:{n} empty line"); continue
            try: rows.append(json.loads(line))
            except json.JSONDecodeError as e: err(f"{name}:{n} bad JSON: {e}")
    return rows

def norm(s):
    s = s.translate(DIGITS).upper().replace("点", ".")
    return re.sub(r"[\s\-—_()（）#]", "", s)

kb = load("kb.jsonl")
calls = load("calls.jsonl")

# ---- KB ----
ids = [k.get("id") for k in kb]
if len(set(ids)) != len(ids): err("duplicate KB ids")
for k in kb:
    if list(k.keys()) != KB_KEYS: err(f"KB {k.get('id')}: keys {list(k.keys())}")
    if k["severity"] not in SEVERITIES: err(f"KB {k['id']}: severity {k['severity']}")
    if not isinstance(k["remote_fixable"], bool): err(f"KB {k['id']}: remote_fixable not bool")
    for f in ("models", "symptoms", "parts", "skills"):
        if not isinstance(k[f], list): err(f"KB {k['id']}: {f} not a list")
    if not k["models"] or len(k["symptoms"]) < 3: err(f"KB {k['id']}: too few models/symptoms")
    if k["firmware"] and not re.fullmatch(r"\d+\.\d+\.\d+", k["firmware"]): err(f"KB {k['id']}: firmware {k['firmware']}")
kbi = {k["id"]: k for k in kb}
types = collections.Counter(k["product_type"] for k in kb)
all_models = {m for k in kb for m in k["models"]}
if len(kb) < 55: err(f"only {len(kb)} KB entries")
if not 10 <= len(types) <= 12: err(f"{len(types)} product types")
for t, n in types.items():
    if not 4 <= n <= 6: err(f"product type {t} has {n} entries")
n_fw = sum(1 for k in kb if k["firmware"]); n_code = sum(1 for k in kb if k["fault_code"])
if n_fw < 6: err(f"only {n_fw} firmware entries")
if n_code < 15: err(f"only {n_code} entries with a fault code")
codes = collections.defaultdict(set)
for k in kb:
    if k["fault_code"]: codes[k["fault_code"]].add(k["product_type"])
shared = {c: sorted(t) for c, t in codes.items() if len(t) > 1}
if not shared: err("no fault code shared across product types")

# ---- calls ----
cids = [c.get("id") for c in calls]
if len(set(cids)) != len(cids): err("duplicate call ids")
tagc = collections.Counter()
per_entry = collections.Counter()
for c in calls:
    cid = c.get("id")
    if list(c.keys()) != CALL_KEYS: err(f"{cid}: keys {list(c.keys())}"); continue
    f, t, text = c["fields"], c["tags"], c["text"]
    if list(f.keys()) != FIELD_KEYS: err(f"{cid}: field keys {list(f.keys())}")
    if not 15 <= len(text) <= 200: err(f"{cid}: text length {len(text)}")
    for x in t:
        if x not in TAGS: err(f"{cid}: unknown tag {x}")
    if len(set(t)) != len(t): err(f"{cid}: duplicate tag")
    tagc.update(t)
    kid = c["expected_kb_id"]
    if kid is not None:
        if kid not in kbi: err(f"{cid}: unknown kb id {kid}"); continue
        per_entry[kid] += 1
        e = kbi[kid]
        if f["product_type"] != e["product_type"]: err(f"{cid}: product_type {f['product_type']} != {e['product_type']}")
        if f["model"] and f["model"] not in e["models"]: err(f"{cid}: model {f['model']} not in {kid}")
        if f["firmware"] and e["firmware"] and f["firmware"] != e["firmware"]: err(f"{cid}: firmware differs from {kid}")
        if f["fault_code"] and e["fault_code"] and f["fault_code"] != e["fault_code"] and "multi_issue" not in t:
            err(f"{cid}: fault code {f['fault_code']} differs from {kid}")
        if "out_of_kb" in t: err(f"{cid}: out_of_kb tag on an in-KB call")
    else:
        if "out_of_kb" not in t: err(f"{cid}: null kb id without out_of_kb tag")
        if f["product_type"] is not None and f["product_type"] not in types: err(f"{cid}: product_type {f['product_type']}")
        if f["model"] and f["model"] not in all_models: err(f"{cid}: model {f['model']} not in KB")
    nt = norm(text)
    if f["model"] and norm(f["model"]) not in nt: err(f"{cid}: model {f['model']} not in text")
    if f["fault_code"]:
        ok = norm(f["fault_code"]) in nt or any(a in text or norm(a) in nt for a in CODE_ALIASES.get(f["fault_code"], []))
        if not ok: err(f"{cid}: fault code {f['fault_code']} not in text")
    if f["firmware"] and f["firmware"] not in nt: err(f"{cid}: firmware {f['firmware']} not in text")
    if f["phone"]:
        if not re.fullmatch(r"1\d{10}|0\d{9,11}", f["phone"]): err(f"{cid}: phone format {f['phone']}")
        elif f["phone"] not in re.sub(r"\D", "", text.translate(DIGITS)): err(f"{cid}: phone {f['phone']} not in text")
    for k in ("address", "customer_name"):
        if f[k] and f[k] not in text: err(f"{cid}: {k} '{f[k]}' not a substring of text")
    has_contact = bool(f["phone"] or f["address"] or f["customer_name"])
    if has_contact != ("with_contact" in t): err(f"{cid}: with_contact tag mismatch")
    if bool(f["fault_code"]) != ("code_said" in t): err(f"{cid}: code_said tag mismatch")
    if "asr_noisy" in t and re.search(r"[，。、！？,.!?；;：:（）]", re.sub(r"\d\.\d", "", text)):
        err(f"{cid}: asr_noisy text has punctuation")
    if "long" in t and len(text) < 100: err(f"{cid}: long call only {len(text)} chars")

n = len(calls)
n_ook = sum(1 for c in calls if c["expected_kb_id"] is None)
if "--partial" not in sys.argv:
    if n < 330: err(f"only {n} calls")
    if n_ook / max(n, 1) < 0.15: err(f"out-of-KB share {n_ook/n:.1%} < 15%")
    for k in kb:
        if per_entry[k["id"]] < 4: err(f"entry {k['id']} has only {per_entry[k['id']]} calls")
dup_texts = [x for x, m in collections.Counter(c["text"] for c in calls).items() if m > 1]
if dup_texts: err(f"duplicate texts: {dup_texts[:3]}")

print(f"KB entries: {len(kb)}; product types: {len(types)}")
for t_, m in types.items(): print(f"  {t_}: {m}")
print(f"severity: " + ", ".join(f"{s}={sum(1 for k in kb if k['severity']==s)}" for s in SEVERITIES))
print(f"firmware entries: {n_fw}; fault-code entries: {n_code}; remote_fixable: {sum(k['remote_fixable'] for k in kb)}")
print(f"shared codes: {shared}")
print(f"calls: {n}; in-KB: {n-n_ook}; out-of-KB: {n_ook} ({n_ook/max(n,1):.1%})")
pt_calls = collections.Counter(c['fields']['product_type'] for c in calls if c['expected_kb_id'])
print("in-KB calls per product type: " + ", ".join(f"{k}={v}" for k, v in pt_calls.items()))
print("calls per entry: min %d max %d" % (min(per_entry.values(), default=0), max(per_entry.values(), default=0)))
for tg in sorted(TAGS, key=lambda x: -tagc[x]):
    print(f"  tag {tg}: {tagc[tg]} ({tagc[tg]/max(n,1):.1%})")
for w in warnings: print("WARN", w)
for e_ in errors: print("ERROR", e_)
print("OK" if not errors else f"{len(errors)} errors")
sys.exit(1 if errors else 0)
