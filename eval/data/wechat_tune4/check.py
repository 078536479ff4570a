#!/usr/bin/env python3
"""Self-check for wechat_tune4: JSON validity, ids, line numbers, phones/models/codes in lines, KB consistency."""
import json, os, re, sys
HERE = os.path.dirname(os.path.abspath(__file__))
KB = os.path.join(HERE, '..', '..', '..', 'knowledge_base', 'demo', 'kb.jsonl')
CN = dict(zip('零〇一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖', '001234567891212345678 9'.replace(' ', '')))
CN = {'零':'0','〇':'0','一':'1','幺':'1','二':'2','两':'2','三':'3','四':'4','五':'5','六':'6','七':'7','八':'8','九':'9',
      '壹':'1','贰':'2','叁':'3','肆':'4','伍':'5','陆':'6','柒':'7','捌':'8','玖':'9'}
def norm(s):
    s = ''.join(chr(ord(c) - 0xFEE0) if '０' <= c <= '９' else c for c in s)
    s = ''.join(CN.get(c, c) for c in s)
    s = re.sub(r'(转|分机|ext\.?)', 'x', s)
    return re.sub(r'[\s\-－—()（）]', '', s)
kb = {}
for l in open(KB, encoding='utf-8'):
    d = json.loads(l); kb[d['id']] = d
ptypes = {d['product_type'] for d in kb.values()}
allmodels = {m for d in kb.values() for m in d['models']}
codes = {d['fault_code'] for d in kb.values() if d['fault_code']}
errs = []
def err(*a): errs.append(' '.join(str(x) for x in a))
files = {}
for fn in sorted(os.listdir(HERE)):
    if re.match(r'chat_\d\d\.txt$', fn):
        lines = open(os.path.join(HERE, fn), encoding='utf-8').read().split('\n')
        if lines and lines[-1] == '': lines = lines[:-1]
        files[fn] = lines
        if lines and lines[0].startswith('{'):
            for i, l in enumerate(lines, 1):
                try:
                    o = json.loads(l)
                    assert set(o) == {'msgid','action','from','sender_name','roomid','msgtime','msgtype','content'}, 'keys'
                    assert o['action'] in ('send','recall')
                    assert (o['action'] == 'recall') == (o['msgtype'] == 'revoke')
                except Exception as e: err(fn, i, 'bad wecom json', e)
reqs = {}
seen = set()
for n, l in enumerate(open(os.path.join(HERE, 'labels.jsonl'), encoding='utf-8'), 1):
    try: d = json.loads(l)
    except Exception as e: err('labels', n, 'json', e); continue
    fn = d.get('file')
    if fn not in files: err('labels', n, 'unknown file', fn); continue
    L = files[fn]
    if d['kind'] == 'repair':
        assert set(d) == {'file','request','first_line','lines','kind','fields','expected_kb_id','tags'}, d.keys()
        f = d['fields']
        if set(f) != {'product_type','model','fault_code','phone','phones','address','customer_name','hardware_id'}: err(fn, 'fields keys')
        reqs.setdefault(fn, []).append(d)
        if d['first_line'] != min(d['lines']): err(fn, d['request'], 'first_line')
        for ln in d['lines']:
            if not (1 <= ln <= len(L)) or not L[ln-1].strip(): err(fn, d['request'], 'bad line', ln)
        text = norm(''.join(L[ln-1] for ln in d['lines'] if 1 <= ln <= len(L)))
        if f['phone'] not in f['phones']: err(fn, d['request'], 'phone not in phones')
        for p in f['phones']:
            if not re.fullmatch(r'\d+(x\d+)?', p): err(fn, d['request'], 'phone format', p)
            if p not in text: err(fn, d['request'], 'phone not in lines', p)
        for k in ('model', 'fault_code', 'hardware_id'):
            if f[k] and f[k] not in ''.join(L[ln-1] for ln in d['lines']): err(fn, d['request'], k, 'not in lines', f[k])
        if f['product_type'] not in ptypes: err(fn, d['request'], 'ptype', f['product_type'])
        if f['model'] and f['model'] not in allmodels: err(fn, d['request'], 'model unknown', f['model'])
        if f['fault_code'] and f['fault_code'] not in codes: err(fn, d['request'], 'code unknown', f['fault_code'])
        k = d['expected_kb_id']
        if k is not None:
            if k not in kb: err(fn, d['request'], 'kb id', k); continue
            e = kb[k]
            if e['product_type'] != f['product_type']: err(fn, d['request'], 'kb ptype')
            if f['model'] and e['models'] and f['model'] not in e['models']: err(fn, d['request'], 'model not in kb entry', f['model'], k)
            if f['fault_code'] and e['fault_code'] != f['fault_code']: err(fn, d['request'], 'code mismatch', f['fault_code'], k)
        fmt = {'pc_export','merged_forward','wecom'} & set(d['tags'])
        if len(fmt) != 1: err(fn, d['request'], 'format tag')
    else:
        if set(d) != {'file','line','kind'} or d['kind'] not in ('withdrawn','order','appointment','chitchat','question'): err(fn, 'bad nonrepair', d)
        elif not (1 <= d['line'] <= len(L)) or not L[d['line']-1].strip(): err(fn, 'bad line', d['line'])
for fn, rs in reqs.items():
    if [r['request'] for r in rs] != list(range(1, len(rs)+1)): err(fn, 'request ids')
    if [r['first_line'] for r in rs] != sorted(r['first_line'] for r in rs): err(fn, 'request order')
print('\n'.join(errs) or 'OK: %d files, %d repairs' % (len(files), sum(map(len, reqs.values()))))
sys.exit(1 if errs else 0)
