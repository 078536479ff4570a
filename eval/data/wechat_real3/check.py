#!/usr/bin/env python3
"""Self-check for wechat_real3: JSON, line numbers, phones/model/fault code present in the cited lines,
KB ids exist with the same product type. Run: python3 check.py"""
import csv, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
KB = os.path.join(HERE, '..', '..', '..', 'knowledge_base', 'demo', 'kb.jsonl')
CN = {'零': '0', '〇': '0', '洞': '0', '一': '1', '幺': '1', '壹': '1', '二': '2', '两': '2', '贰': '2', '三': '3', '叁': '3',
      '四': '4', '肆': '4', '五': '5', '伍': '5', '六': '6', '陆': '6', '七': '7', '柒': '7', '拐': '7', '八': '8', '捌': '8',
      '九': '9', '玖': '9', '勾': '9'}
KINDS = {'repair', 'withdrawn', 'order', 'appointment', 'question', 'chitchat'}
TAGS = {'numbered_list', 'spoken_phone', 'spaced_phone', 'landline', 'corrected_phone', 'two_numbers',
        'spread_over_messages', 'role_prefix', 'nameplate', 'late_address', 'relayed', 'pc_export', 'merged_forward', 'wecom'}
errors = []


def err(msg):
    errors.append(msg)


def norm(text):
    out = []
    for ch in text:
        if '０' <= ch <= '９':
            ch = chr(ord(ch) - 0xFEE0)
        ch = CN.get(ch, ch)
        out.append(ch)
    t = ''.join(out)
    t = re.sub(r'(转|分机|ext\.?|EXT)', 'x', t)
    t = re.sub(r'[\s\-－—()（）+＋_.·]', '', t)
    return t


kb = {}
for line in open(KB, encoding='utf-8'):
    if line.strip():
        d = json.loads(line)
        kb[d['id']] = d
ptypes = {d['product_type'] for d in kb.values()}


def check_phone(p, where):
    if not re.fullmatch(r'\d{7,12}(x\d{1,5})?', p or ''):
        err(f'{where}: bad phone format {p!r}')


def check_kb(kid, pt, where):
    if pt not in ptypes:
        err(f'{where}: unknown product_type {pt}')
    if kid is None:
        return
    if kid not in kb:
        err(f'{where}: unknown kb id {kid}')
    elif kb[kid]['product_type'] != pt:
        err(f'{where}: kb {kid} is {kb[kid]["product_type"]}, label says {pt}')


# chats
files = {}
for fn in sorted(os.listdir(HERE)):
    if re.fullmatch(r'chat_\d\d\.txt', fn):
        files[fn] = open(os.path.join(HERE, fn), encoding='utf-8').read().split('\n')
        if fn.endswith('.txt') and files[fn][-1] == '':
            files[fn] = files[fn][:-1]
seen = {}
nrep = 0
for i, line in enumerate(open(os.path.join(HERE, 'labels.jsonl'), encoding='utf-8'), 1):
    where = f'labels.jsonl:{i}'
    try:
        d = json.loads(line)
    except Exception as e:
        err(f'{where}: bad JSON {e}')
        continue
    fn = d.get('file')
    if fn not in files:
        err(f'{where}: no file {fn}')
        continue
    lines = files[fn]
    if d['kind'] not in KINDS:
        err(f'{where}: bad kind')
    if d['kind'] != 'repair':
        ln = d['line']
        if not (1 <= ln <= len(lines)) or not lines[ln - 1].strip():
            err(f'{where}: line {ln} missing/empty in {fn}')
        continue
    nrep += 1
    req = d['request']
    seen.setdefault(fn, []).append(req)
    ls = d['lines']
    if ls != sorted(set(ls)) or d['first_line'] != ls[0]:
        err(f'{where}: lines not sorted or first_line != min')
    for ln in ls:
        if not (1 <= ln <= len(lines)) or not lines[ln - 1].strip():
            err(f'{where}: line {ln} missing/empty in {fn}')
    text = '\n'.join(lines[ln - 1] for ln in ls if 1 <= ln <= len(lines))
    nt = norm(text)
    f = d['fields']
    for k in ('product_type', 'model', 'fault_code', 'phone', 'phones', 'address', 'customer_name', 'hardware_id'):
        if k not in f:
            err(f'{where}: field {k} missing')
    if f['phone'] not in f['phones']:
        err(f'{where}: phone not in phones')
    if len(set(f['phones'])) != len(f['phones']):
        err(f'{where}: duplicate phones')
    for p in f['phones']:
        check_phone(p, where)
        if p.replace('x', 'x') not in nt and p.split('x')[0] not in nt:
            err(f'{where}: phone {p} not found in lines {ls}')
        if 'x' in p and p not in nt and p.replace('x', '') not in nt:
            err(f'{where}: extension of {p} not found in lines {ls}')
    for k in ('model', 'fault_code', 'hardware_id'):
        if f[k] and f[k] not in text:
            err(f'{where}: {k} {f[k]} not in lines')
    if f['model'] and d['expected_kb_id'] in kb and kb[d['expected_kb_id']]['models'] and f['model'] not in kb[d['expected_kb_id']]['models']:
        err(f'{where}: model {f["model"]} not among models of {d["expected_kb_id"]}')
    if f['fault_code'] and d['expected_kb_id'] in kb and kb[d['expected_kb_id']]['fault_code'] not in (None, f['fault_code']):
        err(f'{where}: fault code {f["fault_code"]} != KB {kb[d["expected_kb_id"]]["fault_code"]}')
    check_kb(d['expected_kb_id'], f['product_type'], where)
    for t in d['tags']:
        if t not in TAGS:
            err(f'{where}: unknown tag {t}')
for fn, reqs in seen.items():
    if reqs != list(range(1, len(reqs) + 1)):
        err(f'{fn}: request numbers {reqs} not 1..n in order')
for fn in files:
    if fn not in seen:
        err(f'{fn}: no repair labelled')
    if fn.endswith('.txt') and lines and lines[0].startswith('{'):
        pass
# wecom files must be JSONL
for fn, lines in files.items():
    if lines and lines[0].startswith('{'):
        for j, l in enumerate(lines, 1):
            try:
                o = json.loads(l)
                assert set(o) == {'msgid', 'action', 'from', 'sender_name', 'roomid', 'msgtime', 'msgtype', 'content'}
            except Exception:
                err(f'{fn}:{j}: bad wecom JSON line')

# sheet
sheet = os.path.join(HERE, 'sheet_real3.csv')
srows = []
if not os.path.exists(sheet):
    err('sheet_real3.csv missing')
else:
    sheet = os.path.join(HERE, 'sheet_real3.csv')
    raw = open(sheet, 'rb').read()
    if not raw.startswith(b'\xef\xbb\xbf'):
        err('sheet: no UTF-8 BOM')
    if b'\r\n' not in raw or raw.replace(b'\r\n', b'').count(b'\n'):
        err('sheet: not CRLF')
    rows = list(csv.reader(open(sheet, encoding='utf-8-sig', newline='')))
    if rows[0] != ['日期', '门店', '客户姓名', '联系电话', '地址', '产品', '型号', '故障描述', '备注']:
        err('sheet: bad header')
    if len(rows) != 41:
        err(f'sheet: {len(rows) - 1} data rows, want 40')
    srows = [json.loads(l) for l in open(os.path.join(HERE, 'sheet_real3_labels.jsonl'), encoding='utf-8')]
    if [d['row'] for d in srows] != list(range(2, len(rows) + 1)):
        err('sheet labels: rows not 2..41')
    for d in srows:
        where = f'sheet row {d["row"]}'
        r = rows[d['row'] - 1]
        if len(r) != 9:
            err(f'{where}: {len(r)} cells')
        cell = norm(r[3])
        if d['phone'] != d['phones'][0]:
            err(f'{where}: phone is not the first number')
        for p in d['phones']:
            check_phone(p, where)
            if p not in cell and p.replace('x', '') not in cell:
                err(f'{where}: phone {p} not in cell {r[3]!r}')
        check_kb(d['expected_kb_id'], d['product_type'], where)

if errors:
    print('\n'.join(errors))
    print(f'FAILED: {len(errors)} problems')
    sys.exit(1)
print(f'OK: {len(files)} chat files, {nrep} repairs, {len(srows)} sheet rows')
