#!/usr/bin/env python3
"""Self-check for wechat_tune3: JSON validity, ids, line numbers, phones/models/codes/ids present in
their lines, KB ids / product types / models / fault codes against knowledge_base/demo/kb.jsonl."""
import json, os, re, sys
HERE = os.path.dirname(os.path.abspath(__file__))
KB = os.path.join(HERE, '..', '..', '..', 'knowledge_base', 'demo', 'kb.jsonl')
kb = {}
for l in open(KB, encoding='utf-8'):
    if l.strip():
        d = json.loads(l); kb[d['id']] = d
ptypes = {d['product_type'] for d in kb.values()}
models_by_pt = {}
for d in kb.values():
    models_by_pt.setdefault(d['product_type'], set()).update(d['models'])
DIG = {}
for s, v in [('0０零〇洞', '0'), ('1１一幺壹', '1'), ('2２二两贰', '2'), ('3３三叁', '3'), ('4４四肆', '4'),
             ('5５五伍', '5'), ('6６六陆', '6'), ('7７七拐柒', '7'), ('8８八捌', '8'), ('9９九玖', '9')]:
    for ch in s: DIG[ch] = v
def norm(t):
    t = ''.join(DIG.get(ch, ch) for ch in t)
    return re.sub(r'[\s\-－—.．·()（）]', '', t)
def digits(t):
    return re.sub(r'\D', '', norm(t))
errs = []
def err(*a): errs.append(' '.join(str(x) for x in a))
FIELDS = ['product_type', 'model', 'fault_code', 'phone', 'phones', 'address', 'customer_name', 'hardware_id']
NONREP = {'withdrawn', 'order', 'appointment', 'chitchat', 'question'}
files = sorted(f for f in os.listdir(HERE) if re.match(r'chat_\d\d\.txt$', f))
texts = {}
for f in files:
    raw = open(os.path.join(HERE, f), encoding='utf-8').read()
    if '\r' in raw: err(f, 'CR found')
    texts[f] = raw.split('\n')[:-1] if raw.endswith('\n') else raw.split('\n')
    if texts[f] and texts[f][0].startswith('{'):
        for i, l in enumerate(texts[f], 1):
            try:
                d = json.loads(l)
                assert list(d) == ['msgid', 'action', 'from', 'sender_name', 'roomid', 'msgtime', 'msgtype', 'content']
            except Exception as e:
                err(f, i, 'bad wecom line', e)
labels = [json.loads(l) for l in open(os.path.join(HERE, 'labels.jsonl'), encoding='utf-8') if l.strip()]
seen_req = {}; seen_line = set(); counts = {}
for n, d in enumerate(labels, 1):
    f = d.get('file')
    if f not in texts: err('label', n, 'unknown file', f); continue
    L = texts[f]
    if d['kind'] == 'repair':
        if set(d) != {'file', 'request', 'first_line', 'lines', 'kind', 'fields', 'expected_kb_id', 'tags'}: err(f, 'keys', d.keys())
        if list(d['fields']) != FIELDS: err(f, d['request'], 'field keys')
        seen_req.setdefault(f, []).append(d)
        ls = d['lines']
        if ls != sorted(set(ls)) or d['first_line'] != ls[0]: err(f, d['request'], 'lines order/first_line')
        for x in ls:
            if not (1 <= x <= len(L)) or not L[x - 1].strip(): err(f, d['request'], 'bad line', x)
        joined = ''.join(L[x - 1] for x in ls if 1 <= x <= len(L))
        jn, jd = norm(joined), digits(joined)
        fl = d['fields']
        ph = fl['phones']
        if fl['phone'] != (ph[0] if ph else None): err(f, d['request'], 'phone must be phones[0]')
        if len(set(ph)) != len(ph): err(f, d['request'], 'duplicate phones')
        for p in ph:
            if not re.fullmatch(r'\d+(x\d+)?', p): err(f, d['request'], 'phone format', p); continue
            main, _, ext = p.partition('x')
            if not (re.fullmatch(r'1[3-9]\d{9}', main) or re.fullmatch(r'0\d{2,3}\d{7,8}', main)): err(f, d['request'], 'phone shape', p)
            if main not in jn and main not in jd: err(f, d['request'], 'phone not in lines', p)
            if ext and (main not in jd or ext not in jd[jd.find(main) + len(main):]):
                err(f, d['request'], 'extension not after number', p)
        pt = fl['product_type']
        if pt not in ptypes: err(f, d['request'], 'product_type', pt)
        for k in ('model', 'fault_code', 'hardware_id'):
            if fl[k] is not None and fl[k] not in joined: err(f, d['request'], k, 'not in lines', fl[k])
        if fl['model'] is not None and fl['model'] not in models_by_pt.get(pt, ()): err(f, d['request'], 'model not in KB for', pt)
        if fl['address'] is not None:
            if not all(ch in jn for ch in norm(fl['address'])): err(f, d['request'], 'address chars not in lines')
        if fl['customer_name'] is not None:
            # the name may come only from the display name of a private chat
            if fl['customer_name'] not in joined and fl['customer_name'] not in '\n'.join(L): err(f, d['request'], 'name not in chat')
        kid = d['expected_kb_id']
        if kid is not None:
            e = kb.get(kid)
            if not e: err(f, d['request'], 'unknown kb id', kid)
            else:
                if e['product_type'] != pt: err(f, d['request'], 'kb product_type mismatch', kid)
                if fl['model'] and e['models'] and fl['model'] not in e['models']: err(f, d['request'], 'model not in kb entry', kid)
                if fl['fault_code'] and fl['fault_code'] != e['fault_code']: err(f, d['request'], 'fault code mismatch', kid)
        fmt = [t for t in d['tags'] if t in ('pc_export', 'merged_forward', 'wecom')]
        if len(fmt) != 1: err(f, d['request'], 'format tag')
    elif d['kind'] in NONREP:
        if set(d) != {'file', 'line', 'kind'}: err(f, 'nonrepair keys', d)
        x = d['line']
        if not (1 <= x <= len(L)) or not L[x - 1].strip(): err(f, 'bad non-repair line', x)
        if (f, x) in seen_line: err(f, 'duplicate non-repair line', x)
        seen_line.add((f, x))
    else:
        err(f, 'unknown kind', d['kind'])
    counts[d['kind']] = counts.get(d['kind'], 0) + 1
for f, reqs in seen_req.items():
    if [r['request'] for r in reqs] != list(range(1, len(reqs) + 1)): err(f, 'request ids')
    if [r['first_line'] for r in reqs] != sorted(r['first_line'] for r in reqs): err(f, 'request order')
# labels sorted by file then line
keys = [(d['file'], d.get('first_line', d.get('line'))) for d in labels]
if keys != sorted(keys): err('labels.jsonl not sorted by file/line')
for f in files:
    if f not in {d['file'] for d in labels}: err(f, 'no labels')
print('files', len(files), 'labels', len(labels), counts)
if errs:
    print('\n'.join(errs)); sys.exit(1)
print('OK')
