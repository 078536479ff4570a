#!/usr/bin/env python3
"""Self-check for the wechat_real2 set (labels vs. chat files, sheet labels vs. sheet, KB ids).
Run from anywhere: python3 check.py   (exit code 0 = all checks pass)."""
import csv, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
KB_PATH = os.path.join(ROOT, 'knowledge_base', 'demo', 'kb.jsonl')
CN = {'零': '0', '〇': '0', '幺': '1', '一': '1', '壹': '1', '二': '2', '贰': '2', '两': '2', '三': '3', '叁': '3',
      '四': '4', '肆': '4', '五': '5', '伍': '5', '六': '6', '陆': '6', '七': '7', '柒': '7', '八': '8', '捌': '8', '九': '9', '玖': '9'}
NR_KINDS = {'withdrawn', 'order', 'appointment', 'chitchat', 'question'}
FIELDS = ['product_type', 'model', 'fault_code', 'phone', 'phones', 'address', 'customer_name', 'hardware_id']
errors = []


def err(msg):
    errors.append(msg)


def digits_of(text):
    """Map Chinese / full-width digits to ASCII and keep only digits (so spaces, dashes, +86, 转, 分机 disappear)."""
    out = []
    for ch in text:
        if '０' <= ch <= '９':
            ch = chr(ord(ch) - 0xFEE0)
        ch = CN.get(ch, ch)
        if ch.isdigit() and ch.isascii():
            out.append(ch)
    return ''.join(out)


def phone_in(phone, text):
    if not re.fullmatch(r'\d+(x\d+)?', phone or ''):
        return False
    main, _, ext = phone.partition('x')
    d = digits_of(text)
    if main not in d:
        return False
    return (not ext) or (main + ext) in d or ext in d[d.index(main) + len(main):]


def plausible(phone):
    main = phone.split('x')[0]
    return bool(re.fullmatch(r'1[3-9]\d{9}', main) or re.fullmatch(r'0\d{2,3}\d{7,8}', main) or re.fullmatch(r'400\d{7}', main))


def visible(line):
    """For WeCom archive lines only the sender name and message content are text a reader sees."""
    if line.startswith('{'):
        try:
            o = json.loads(line)
            return o['sender_name'] + '\n' + o['content']
        except Exception:
            pass
    return line


def squash(s):
    return re.sub(r'[\s\-－—_]', '', s or '').upper()


def load_kb():
    kb = {}
    with open(KB_PATH, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                kb[d['id']] = d
    return kb


def check_chats(kb):
    files = {}
    for fn in sorted(os.listdir(HERE)):
        if re.fullmatch(r'chat_\d\d\.txt', fn):
            with open(os.path.join(HERE, fn), encoding='utf-8') as f:
                files[fn] = f.read().split('\n')
            if files[fn] and files[fn][-1] == '':
                files[fn].pop()
    if len(files) < 32:
        err('expected >= 32 chat files, found %d' % len(files))
    for fn, lines in files.items():
        if fn and lines and lines[0].startswith('{'):
            for i, l in enumerate(lines, 1):
                try:
                    o = json.loads(l)
                except Exception as e:
                    err('%s:%d not JSON: %s' % (fn, i, e)); continue
                if list(o) != ['msgid', 'action', 'from', 'sender_name', 'roomid', 'msgtime', 'msgtype', 'content']:
                    err('%s:%d wecom keys %s' % (fn, i, list(o)))
    n_rep = 0
    seen_req = {}
    with open(os.path.join(HERE, 'labels.jsonl'), encoding='utf-8') as f:
        rows = [json.loads(l) for l in f if l.strip()]
    for r in rows:
        fn = r.get('file')
        if fn not in files:
            err('unknown file %r' % fn); continue
        lines = files[fn]
        def ok_line(n):
            if not isinstance(n, int) or n < 1 or n > len(lines):
                err('%s: line %r out of range' % (fn, n)); return False
            if not lines[n - 1].strip():
                err('%s: line %d is empty' % (fn, n)); return False
            return True
        if r['kind'] == 'repair':
            n_rep += 1
            tag = '%s #%s' % (fn, r.get('request'))
            for k in ['file', 'request', 'first_line', 'lines', 'kind', 'fields', 'expected_kb_id', 'tags']:
                if k not in r: err('%s missing key %s' % (tag, k))
            seen_req.setdefault(fn, []).append(r['request'])
            if sorted(r['fields']) != sorted(FIELDS):
                err('%s fields keys %s' % (tag, sorted(r['fields'])))
            if not r['lines'] or r['first_line'] != min(r['lines']) or r['lines'] != sorted(set(r['lines'])):
                err('%s first_line/lines inconsistent' % tag)
            if not all(ok_line(n) for n in r['lines']):
                continue
            text = '\n'.join(visible(lines[n - 1]) for n in r['lines'])
            fd = r['fields']
            phones = fd['phones']
            if fd['phone'] is None and phones:
                err('%s phone null but phones given' % tag)
            if fd['phone'] is not None and fd['phone'] not in phones:
                err('%s phone %s not in phones' % (tag, fd['phone']))
            if len(set(phones)) != len(phones):
                err('%s duplicate phones' % tag)
            for p in phones:
                if not plausible(p):
                    err('%s implausible phone %s' % (tag, p))
                if not phone_in(p, text):
                    err('%s phone %s not found in lines %s' % (tag, p, r['lines']))
            for k in ('model', 'fault_code', 'hardware_id'):
                if fd[k] and squash(fd[k]) not in squash(text):
                    err('%s %s %r not in lines' % (tag, k, fd[k]))
            if fd['address']:
                it = iter(re.sub(r'\s', '', text))
                if not all(ch in it for ch in fd['address']):
                    err('%s address %r is not a subsequence of its lines' % (tag, fd['address']))
            if fd['customer_name'] and fd['customer_name'] not in '\n'.join(lines):
                err('%s customer_name %r not in file' % (tag, fd['customer_name']))
            kid = r['expected_kb_id']
            if kid is not None:
                e = kb.get(kid)
                if e is None:
                    err('%s unknown kb id %s' % (tag, kid))
                else:
                    if e['product_type'] != fd['product_type']:
                        err('%s kb %s product %s != %s' % (tag, kid, e['product_type'], fd['product_type']))
                    if fd['model'] and e['models'] and fd['model'] not in e['models']:
                        err('%s model %s not among %s models %s' % (tag, fd['model'], kid, e['models']))
                    if fd['fault_code'] and e['fault_code'] and squash(fd['fault_code']) != squash(e['fault_code']):
                        err('%s fault %s != kb %s %s' % (tag, fd['fault_code'], kid, e['fault_code']))
            if fd['product_type'] not in {e['product_type'] for e in kb.values()}:
                err('%s product_type %s not a KB product type' % (tag, fd['product_type']))
            fmt = [t for t in r['tags'] if t in ('pc_export', 'merged_forward', 'wecom')]
            if len(fmt) != 1:
                err('%s needs exactly one format tag' % tag)
        elif r['kind'] in NR_KINDS:
            if sorted(r) != ['file', 'kind', 'line']:
                err('%s non-repair keys %s' % (fn, sorted(r)))
            ok_line(r['line'])
        else:
            err('%s unknown kind %r' % (fn, r['kind']))
    for fn, reqs in seen_req.items():
        if sorted(reqs) != list(range(1, len(reqs) + 1)):
            err('%s request numbers %s' % (fn, reqs))
    return n_rep, len(rows) - n_rep


def check_sheet(kb):
    p = os.path.join(HERE, 'sheet_real2.csv')
    raw = open(p, 'rb').read()
    if not raw.startswith(b'\xef\xbb\xbf'):
        err('sheet: no UTF-8 BOM')
    body = raw[3:].decode('utf-8')
    if '\n' in body.replace('\r\n', ''):
        err('sheet: bare LF line endings')
    rows = list(csv.reader(body.splitlines()))
    header = rows[0]
    if header != ['日期', '门店', '客户姓名', '联系电话', '地址', '产品', '型号', '故障描述', '备注']:
        err('sheet header %s' % header)
    if len(rows) - 1 != 40:
        err('sheet: %d data rows' % (len(rows) - 1))
    labs = [json.loads(l) for l in open(os.path.join(HERE, 'sheet_real2_labels.jsonl'), encoding='utf-8') if l.strip()]
    if [x['row'] for x in labs] != list(range(2, len(rows) + 1)):
        err('sheet labels rows not 2..%d' % len(rows))
    for x in labs:
        if sorted(x) != ['expected_kb_id', 'phone', 'phones', 'product_type', 'row']:
            err('sheet row %s keys %s' % (x.get('row'), sorted(x)))
        row = rows[x['row'] - 1]
        if len(row) != 9:
            err('sheet row %d has %d cells' % (x['row'], len(row))); continue
        cell = row[3]
        if (x['phones'][0] if x['phones'] else None) != x['phone']:
            err('sheet row %d phone is not the first of phones' % x['row'])
        want = sum(len(ph.replace('x', '')) for ph in x['phones'])
        if len(digits_of(cell)) != want:
            err('sheet row %d: cell %r has %d digits, labelled phones have %d' % (x['row'], cell, len(digits_of(cell)), want))
        for ph in x['phones']:
            if not plausible(ph) or not phone_in(ph, cell):
                err('sheet row %d phone %s not in cell %r' % (x['row'], ph, cell))
        kid = x['expected_kb_id']
        if kid is not None and (kid not in kb or kb[kid]['product_type'] != x['product_type']):
            err('sheet row %d kb %s / product %s mismatch' % (x['row'], kid, x['product_type']))
        if kid and row[6] and kb[kid]['models'] and row[6] not in kb[kid]['models']:
            err('sheet row %d model %s not in %s' % (x['row'], row[6], kid))
    return len(labs)


def main():
    kb = load_kb()
    n_rep, n_nr = check_chats(kb)
    n_sheet = check_sheet(kb) if os.path.exists(os.path.join(HERE, 'sheet_real2.csv')) else 0
    for e in errors:
        print('FAIL', e)
    print('repairs=%d non-repair=%d sheet_rows=%d errors=%d' % (n_rep, n_nr, n_sheet, len(errors)))
    sys.exit(1 if errors else 0)


if __name__ == '__main__':
    main()
