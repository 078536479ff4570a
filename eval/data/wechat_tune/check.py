#!/usr/bin/env python3
"""Self-check of the wechat_tune labels against the chat files and the KB.

Run from anywhere:  python3 eval/data/wechat_tune/check.py
Exit status 0 = all checks pass; otherwise every problem is printed.
"""
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
KB = os.path.join(HERE, '..', '..', '..', 'knowledge_base', 'demo', 'kb.jsonl')

DIG = {'零': '0', '〇': '0', '洞': '0', '一': '1', '幺': '1', '壹': '1', '二': '2', '两': '2', '贰': '2',
       '三': '3', '叁': '3', '四': '4', '肆': '4', '五': '5', '伍': '5', '六': '6', '陆': '6',
       '七': '7', '柒': '7', '拐': '7', '八': '8', '捌': '8', '九': '9', '玖': '9', '勾': '9'}
SEP = re.compile(r'[\s\-－—–()（）·.、/]|转|分机|ext', re.I)
NONREP = {'withdrawn', 'order', 'appointment', 'chitchat', 'question'}
TAGS = {'numbered_list', 'spoken_phone', 'spaced_phone', 'landline', 'corrected_phone', 'two_numbers',
        'spread_over_messages', 'role_prefix', 'nameplate', 'late_address', 'relayed',
        'pc_export', 'merged_forward', 'wecom'}
FIELDS = ['product_type', 'model', 'fault_code', 'phone', 'phones', 'address', 'customer_name', 'hardware_id']
PC_HEAD = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S')
MA_HEAD = re.compile(r'^\S.* \d\d-\d\d \d\d:\d\d$')


def digits(s):
    s = ''.join(chr(ord(c) - 0xFEE0) if '０' <= c <= '９' else DIG.get(c, c) for c in s)
    return SEP.sub('', s)


def canon(s):
    return re.sub(r'[\s\-－_]', '', s).upper()


def file_format(lines):
    if lines[0].startswith('{'):
        return 'wecom'
    if lines[0].endswith('的聊天记录'):
        return 'mA' if MA_HEAD.match(lines[3]) else 'mB'
    return 'pc'


def content_text(fmt, line):
    """The text of a physical line as the label sees it (JSON content for WeCom)."""
    if fmt == 'wecom':
        o = json.loads(line)
        return o['sender_name'] + '：' + o['content']
    return line


def main():
    errs = []
    kb = {}
    for l in open(KB, encoding='utf-8'):
        if l.strip():
            d = json.loads(l)
            kb[d['id']] = d
    files = {}
    for fn in sorted(os.listdir(HERE)):
        if fn.startswith('chat_') and fn.endswith('.txt'):
            raw = open(os.path.join(HERE, fn), encoding='utf-8').read()
            if '\r' in raw:
                errs.append('%s: CR found' % fn)
            lines = raw.split('\n')
            if lines[-1] == '':
                lines = lines[:-1]
            fmt = file_format(lines)
            if fmt == 'wecom':
                keys = ['msgid', 'action', 'from', 'sender_name', 'roomid', 'msgtime', 'msgtype', 'content']
                prev = 0
                for i, l in enumerate(lines, 1):
                    o = json.loads(l)
                    if list(o) != keys:
                        errs.append('%s:%d wecom keys %s' % (fn, i, list(o)))
                    if o['msgtime'] < prev:
                        errs.append('%s:%d msgtime goes back' % (fn, i))
                    prev = o['msgtime']
                    if (o['action'] == 'recall') != (o['msgtype'] == 'revoke'):
                        errs.append('%s:%d recall/revoke mismatch' % (fn, i))
            files[fn] = (fmt, lines)
    labels = [json.loads(l) for l in open(os.path.join(HERE, 'labels.jsonl'), encoding='utf-8') if l.strip()]
    seen_lines = Counter()
    per_file_req = {}
    for d in labels:
        fn = d['file']
        where = '%s %s' % (fn, d.get('request', d.get('line')))
        if fn not in files:
            errs.append('%s: no such file' % where)
            continue
        fmt, lines = files[fn]
        if d['kind'] in NONREP:
            if set(d) != {'file', 'line', 'kind'}:
                errs.append('%s: non-repair keys %s' % (where, sorted(d)))
            n = d['line']
            if not (1 <= n <= len(lines)) or not lines[n - 1].strip():
                errs.append('%s: line %d missing or blank' % (where, n))
            elif fmt in ('pc', 'mA') and (PC_HEAD.match(lines[n - 1]) or MA_HEAD.match(lines[n - 1])):
                errs.append('%s: non-repair label on a header line' % where)
            seen_lines[(fn, n)] += 1
            continue
        if d['kind'] != 'repair':
            errs.append('%s: unknown kind %s' % (where, d['kind']))
            continue
        if set(d) != {'file', 'request', 'first_line', 'lines', 'kind', 'fields', 'expected_kb_id', 'tags'}:
            errs.append('%s: repair keys %s' % (where, sorted(d)))
        f = d['fields']
        if list(f) != FIELDS:
            errs.append('%s: field keys %s' % (where, list(f)))
        per_file_req.setdefault(fn, []).append((d['request'], d['first_line']))
        ls = d['lines']
        if ls != sorted(set(ls)) or d['first_line'] != ls[0]:
            errs.append('%s: lines unsorted or first_line wrong' % where)
        bad = [n for n in ls if not (1 <= n <= len(lines)) or not lines[n - 1].strip()]
        if bad:
            errs.append('%s: lines %s missing or blank' % (where, bad))
            continue
        heads = [n for n in ls if fmt in ('pc', 'mA') and (PC_HEAD.match(lines[n - 1]) or MA_HEAD.match(lines[n - 1]))]
        if heads:
            errs.append('%s: header lines listed %s' % (where, heads))
        texts = [content_text(fmt, lines[n - 1]) for n in ls]
        joined = ''.join(texts)
        # phones
        if f['phone'] is not None and f['phone'] not in f['phones']:
            errs.append('%s: phone not in phones' % where)
        if f['phones'] and f['phone'] is None:
            errs.append('%s: phones but no phone' % where)
        for p in f['phones']:
            if not re.fullmatch(r'\d+(x\d+)?', p):
                errs.append('%s: phone %s not normalised' % (where, p))
                continue
            base = p.split('x')[0]
            if base.startswith('0') and len(base) < 10:
                errs.append('%s: landline %s lacks area code' % (where, p))
            if base.startswith('1') and len(base) != 11:
                errs.append('%s: mobile %s not 11 digits' % (where, p))
            if not any(p.replace('x', '') in digits(t) for t in texts):
                errs.append('%s: phone %s not in its lines' % (where, p))
        if len(set(f['phones'])) != len(f['phones']):
            errs.append('%s: duplicate phones' % where)
        # model / code / hardware id appear in the lines (case, dash and space insensitive)
        for k in ('model', 'fault_code', 'hardware_id'):
            if f[k] is not None and canon(f[k]) not in canon(joined):
                errs.append('%s: %s %s not in its lines' % (where, k, f[k]))
        # address: concatenation of pieces of the lines, in order of the lines
        if f['address'] is not None:
            a, i, j = f['address'], 0, 0
            flat = [re.sub(r'\s', '', t) for t in texts]
            while i < len(a) and j < len(flat):
                k = len(a)
                while k > i and a[i:k] not in flat[j]:
                    k -= 1
                if k - i >= 2:
                    i = k
                else:
                    j += 1
            if i < len(a):
                errs.append('%s: address not built from its lines: %s (stuck at %s)' % (where, a, a[i:]))
        if f['customer_name'] is not None and f['customer_name'] not in '\n'.join(lines) and not (
                f['customer_name'].endswith(('先生', '女士', '阿姨')) and f['customer_name'][0] in '\n'.join(lines)):
            errs.append('%s: customer_name %s not in file' % (where, f['customer_name']))
        # KB
        kid = d['expected_kb_id']
        if kid is not None:
            e = kb.get(kid)
            if e is None:
                errs.append('%s: kb id %s does not exist' % (where, kid))
            else:
                if e['product_type'] != f['product_type']:
                    errs.append('%s: product %s != KB %s' % (where, f['product_type'], e['product_type']))
                if f['model'] and e['models'] and f['model'] not in e['models']:
                    errs.append('%s: model %s not among KB models %s' % (where, f['model'], e['models']))
                if f['fault_code'] and e['fault_code'] and f['fault_code'] != e['fault_code']:
                    errs.append('%s: code %s != KB %s' % (where, f['fault_code'], e['fault_code']))
                if f['fault_code'] and not e['fault_code']:
                    errs.append('%s: code %s but KB entry has none' % (where, f['fault_code']))
        kb_products = {e['product_type'] for e in kb.values()}
        if f['product_type'] not in kb_products:
            errs.append('%s: product %s not a KB product type' % (where, f['product_type']))
        kb_models = {m for e in kb.values() for m in e['models']}
        if f['model'] and f['model'] not in kb_models:
            errs.append('%s: model %s unknown to KB' % (where, f['model']))
        fmt_tag = {'pc': 'pc_export', 'mA': 'merged_forward', 'mB': 'merged_forward', 'wecom': 'wecom'}[fmt]
        t = d['tags']
        if fmt_tag not in t or len([x for x in t if x in ('pc_export', 'merged_forward', 'wecom')]) != 1:
            errs.append('%s: format tag wrong %s' % (where, t))
        if set(t) - TAGS:
            errs.append('%s: unknown tags %s' % (where, set(t) - TAGS))
        if ('two_numbers' in t) != (len(f['phones']) >= 2):
            errs.append('%s: two_numbers tag vs phones %s' % (where, f['phones']))
        if ('landline' in t) != any(p.startswith('0') for p in f['phones']):
            errs.append('%s: landline tag vs phones' % where)
    for fn, reqs in per_file_req.items():
        if [r for r, _ in reqs] != list(range(1, len(reqs) + 1)):
            errs.append('%s: request numbers %s' % (fn, [r for r, _ in reqs]))
        if [fl for _, fl in reqs] != sorted(fl for _, fl in reqs):
            errs.append('%s: requests not in first_line order' % fn)
    for k, v in seen_lines.items():
        if v > 1:
            errs.append('%s: line %d labelled twice' % k)
    rep_lines = {(d['file'], n) for d in labels if d['kind'] == 'repair' for n in d['lines']}
    for d in labels:
        if d['kind'] in NONREP and (d['file'], d['line']) in rep_lines:
            errs.append('%s:%d non-repair line is also a repair line' % (d['file'], d['line']))
    files_with_labels = {d['file'] for d in labels}
    for fn in files:
        if fn not in files_with_labels:
            errs.append('%s: no labels' % fn)
    n_rep = sum(d['kind'] == 'repair' for d in labels)
    print('files %d, repairs %d, non-repair labels %d' % (len(files), n_rep, len(labels) - n_rep))
    print('formats', dict(Counter(fmt for fmt, _ in files.values())))
    for e in errs:
        print('ERROR', e)
    print('OK' if not errs else '%d problems' % len(errs))
    return 1 if errs else 0


if __name__ == '__main__':
    sys.exit(main())
