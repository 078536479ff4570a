#!/usr/bin/env python3
"""Validate labels.jsonl against the chat_*.txt files of this folder and the demo KB.

Run:  python3 eval/data/wechat_tune2/check.py      (exit code 0 = all checks pass)
"""
import json, os, re, sys, glob, collections

HERE = os.path.dirname(os.path.abspath(__file__))
KB_PATH = os.path.join(HERE, '..', '..', '..', 'knowledge_base', 'demo', 'kb.jsonl')
KB = {}
for l in open(KB_PATH, encoding='utf-8'):
    if l.strip():
        d = json.loads(l); KB[d['id']] = d
PRODUCTS = {d['product_type'] for d in KB.values()}
FIELDS = ['product_type', 'model', 'fault_code', 'phone', 'phones', 'address', 'customer_name', 'hardware_id']
NONREP = {'withdrawn', 'order', 'appointment', 'question', 'chitchat'}
FMT_TAGS = {'pc_export', 'merged_forward', 'wecom'}
TAGS = FMT_TAGS | {'numbered_list', 'spoken_phone', 'spaced_phone', 'landline', 'corrected_phone', 'two_numbers',
        'spread_over_messages', 'role_prefix', 'nameplate', 'late_address', 'relayed',
        # extra phone-situation tags of this set (see README)
        'split_phone', 'fullwidth_digits', 'extension', 'spouse_number', 'daytime_number', 'replaced_phone',
        'relay_own_phone', 'same_as_above', 'other_request_number', 'service_line_trap', 'wechat_id_trap',
        'tech_own_phone_trap', 'order_no_trap'}
CN = {'零': '0', '〇': '0', '洞': '0', '一': '1', '幺': '1', '壹': '1', '二': '2', '两': '2', '贰': '2', '三': '3', '叁': '3',
      '四': '4', '肆': '4', '五': '5', '伍': '5', '六': '6', '陆': '6', '七': '7', '拐': '7', '柒': '7', '八': '8', '捌': '8',
      '九': '9', '勾': '9', '玖': '9'}

def norm_digits(text):
    """digits of a line: full-width -> ascii; runs of >=3 Chinese digit characters (spaces allowed) -> ascii."""
    t = ''.join(chr(ord(ch) - 0xFEE0) if '０' <= ch <= '９' else ch for ch in text)
    cls = ''.join(CN)
    t = re.sub('[%s](?:[\\s%s])*[%s]' % (cls, cls, cls),
               lambda m: ''.join(CN.get(c, '') for c in m.group(0)) if len(re.sub(r'\s', '', m.group(0))) >= 3 else m.group(0), t)
    return re.sub(r'\D', '', t)

errors = []
def err(msg):
    errors.append(msg)

files = sorted(glob.glob(os.path.join(HERE, 'chat_*.txt')))
content = {}
for p in files:
    raw = open(p, encoding='utf-8').read()
    if '\r' in raw: err('%s: CR found' % p)
    content[os.path.basename(p)] = raw.split('\n')[:-1] if raw.endswith('\n') else raw.split('\n')

def fmt_of(lines):
    if lines[0].startswith('{'): return 'wecom'
    if lines[0].endswith('的聊天记录'):
        return 'a' if re.match(r'^.+ \d\d-\d\d \d\d:\d\d$', lines[3]) else 'b'
    return 'pc'

FMT = {f: fmt_of(ls) for f, ls in content.items()}
for f, ls in content.items():
    if FMT[f] == 'wecom':
        for i, l in enumerate(ls, 1):
            try:
                o = json.loads(l)
            except Exception as e:
                err('%s:%d invalid JSON %s' % (f, i, e)); continue
            if list(o) != ['msgid', 'action', 'from', 'sender_name', 'roomid', 'msgtime', 'msgtype', 'content']:
                err('%s:%d wrong keys %s' % (f, i, list(o)))
            if o['action'] == 'recall' and (o['content'] != '' or o['msgtype'] != 'revoke'):
                err('%s:%d bad recall' % (f, i))

def line_text(f, n):
    l = content[f][n - 1]
    if FMT[f] == 'wecom':
        return json.loads(l)['content']
    return l

def is_header(f, n):
    l = content[f][n - 1]
    fm = FMT[f]
    if fm == 'pc': return bool(re.match(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ', l)) or l.endswith('撤回了一条消息')
    if fm == 'a': return bool(re.match(r'^.+ \d\d-\d\d \d\d:\d\d$', l)) or n <= 2 or l.startswith('—————') or l.endswith('撤回了一条消息')
    if fm == 'b': return n <= 2 or l.startswith('—————') or l.endswith('撤回了一条消息')
    return json.loads(l)['action'] == 'recall'

labels = []
for i, l in enumerate(open(os.path.join(HERE, 'labels.jsonl'), encoding='utf-8'), 1):
    try:
        labels.append(json.loads(l))
    except Exception as e:
        err('labels.jsonl:%d invalid JSON' % i)

by_file = collections.defaultdict(list)
for d in labels:
    if d.get('file') not in content:
        err('unknown file %s' % d.get('file')); continue
    by_file[d['file']].append(d)

for f in content:
    if f not in by_file: err('%s has no labels' % f)

for f, ds in by_file.items():
    keys = [d.get('first_line', d.get('line')) for d in ds]
    if keys != sorted(keys): err('%s: labels not sorted by line' % f)
    reqs = [d for d in ds if d['kind'] == 'repair']
    if [d['request'] for d in reqs] != list(range(1, len(reqs) + 1)): err('%s: request numbers not 1..n' % f)
    if [d['first_line'] for d in reqs] != sorted(d['first_line'] for d in reqs): err('%s: requests not in first_line order' % f)
    replines = set()
    for d in reqs:
        tag = '%s #%d' % (f, d['request'])
        if set(d) != {'file', 'request', 'first_line', 'lines', 'kind', 'fields', 'expected_kb_id', 'tags'}:
            err('%s: keys %s' % (tag, sorted(d)))
        if list(d['fields']) != FIELDS: err('%s: fields %s' % (tag, list(d['fields'])))
        ls = d['lines']
        if not ls or ls != sorted(set(ls)) or ls[0] != d['first_line']: err('%s: bad lines/first_line' % tag)
        for n in ls:
            if not (1 <= n <= len(content[f])): err('%s: line %d out of range' % (tag, n)); continue
            if not content[f][n - 1].strip(): err('%s: line %d empty' % (tag, n))
            if is_header(f, n): err('%s: line %d is a header/recall line' % (tag, n))
        replines |= set(ls)
        texts = [line_text(f, n) for n in ls if 1 <= n <= len(content[f])]
        joined = '\n'.join(texts)
        digits = ''.join(norm_digits(t) for t in texts)
        fl = d['fields']
        if fl['product_type'] not in PRODUCTS: err('%s: product_type %s' % (tag, fl['product_type']))
        for k in ('model', 'fault_code', 'hardware_id'):
            if fl[k] is not None and fl[k] not in joined: err('%s: %s %r not in its lines' % (tag, k, fl[k]))
        ph = fl['phones']
        if not isinstance(ph, list) or len(set(ph)) != len(ph): err('%s: phones not a list of distinct numbers' % tag)
        if fl['phone'] is not None and fl['phone'] not in ph: err('%s: phone not in phones' % tag)
        if fl['phone'] is None and ph: err('%s: phones given but phone null' % tag)
        for p in ph:
            if not re.fullmatch(r'\d{7,12}(x\d{1,5})?', p): err('%s: phone format %r' % (tag, p))
            if p.startswith('1') and len(p) != 11: err('%s: mobile length %r' % (tag, p))
            if p.startswith('0') and len(p.split('x')[0]) not in (11, 12): err('%s: landline needs area code %r' % (tag, p))
            for part in p.split('x'):
                if part not in digits: err('%s: number part %s of %s not found in its lines' % (tag, part, p))
        kb = d['expected_kb_id']
        if kb is not None:
            if kb not in KB: err('%s: unknown kb %s' % (tag, kb)); continue
            e = KB[kb]
            if e['product_type'] != fl['product_type']: err('%s: kb product mismatch' % tag)
            if fl['model'] and e['models'] and fl['model'] not in e['models']: err('%s: model %s not in %s models' % (tag, fl['model'], kb))
            if fl['fault_code'] and fl['fault_code'] != e['fault_code']: err('%s: fault_code %s != kb %s' % (tag, fl['fault_code'], e['fault_code']))
        tg = d['tags']
        if len(set(tg) & FMT_TAGS) != 1: err('%s: needs exactly one format tag' % tag)
        want = {'pc': 'pc_export', 'a': 'merged_forward', 'b': 'merged_forward', 'wecom': 'wecom'}[FMT[f]]
        if want not in tg: err('%s: format tag should be %s' % (tag, want))
        for t in tg:
            if t not in TAGS: err('%s: unknown tag %s' % (tag, t))
        if len(ph) >= 2 and 'two_numbers' not in tg: err('%s: two numbers but no two_numbers tag' % tag)
        if 'landline' in tg and not any(p.startswith('0') for p in ph): err('%s: landline tag without landline' % tag)
    for d in ds:
        if d['kind'] == 'repair': continue
        if set(d) != {'file', 'line', 'kind'} or d['kind'] not in NONREP: err('%s: bad non-repair %s' % (f, d)); continue
        n = d['line']
        if not (1 <= n <= len(content[f])) or not content[f][n - 1].strip() or is_header(f, n):
            err('%s:%d non-repair label on empty/header line' % (f, n))
        if n in replines: err('%s:%d non-repair label on a repair line' % (f, n))

rep = [d for d in labels if d['kind'] == 'repair']
non = [d for d in labels if d['kind'] != 'repair']
print('files %d  repairs %d  non-repair %d' % (len(content), len(rep), len(non)))
print('formats', dict(collections.Counter(FMT.values())))
print('non-repair kinds', dict(collections.Counter(d['kind'] for d in non)))
print('tags', dict(collections.Counter(t for d in rep for t in d['tags']).most_common()))
print('products', dict(collections.Counter(d['fields']['product_type'] for d in rep).most_common()))
if errors:
    print('\n'.join(errors)); print('FAILED: %d problems' % len(errors)); sys.exit(1)
print('OK')
