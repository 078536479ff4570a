#!/usr/bin/env python3
"""Self-check for eval/data/wechat_real4 (labels vs. chats, sheet format).

Run from anywhere:  python3 eval/data/wechat_real4/check.py
Exit status 0 and "OK" when every check passes; otherwise prints each problem.
Only the data in this folder and the customer KB (knowledge_base/demo/kb.jsonl) are read.
"""
import csv, glob, io, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
KB_PATH = os.path.join(ROOT, 'knowledge_base', 'demo', 'kb.jsonl')
SHEET = 'sheet_real4.csv'
SHEET_LABELS = 'sheet_real4_labels.jsonl'
SHEET_HEADER = ['日期', '门店', '客户姓名', '联系电话', '地址', '产品', '型号', '故障描述', '备注']
SHEET_ROWS = 40
FIELDS = ['product_type', 'model', 'fault_code', 'phone', 'phones', 'address', 'customer_name', 'hardware_id']
NONREP = {'withdrawn', 'order', 'appointment', 'question', 'chitchat'}
TAGS = {'numbered_list', 'spoken_phone', 'spaced_phone', 'landline', 'corrected_phone', 'two_numbers',
        'spread_over_messages', 'role_prefix', 'nameplate', 'late_address', 'relayed',
        'pc_export', 'merged_forward', 'wecom'}
FORMAT_TAGS = {'pc_export', 'merged_forward', 'wecom'}
WECOM_KEYS = ['msgid', 'action', 'from', 'sender_name', 'roomid', 'msgtime', 'msgtype', 'content']

errors = []
def err(*a):
    errors.append(' '.join(str(x) for x in a))

DIGITS = {}
for chars, d in [('0零〇洞', '0'), ('1一幺壹', '1'), ('2二两贰', '2'), ('3三叁', '3'), ('4四肆', '4'),
                 ('5五伍', '5'), ('6六陆', '6'), ('7七柒拐', '7'), ('8八捌', '8'), ('9九玖勾', '9')]:
    for c in chars:
        DIGITS[c] = d
for i in range(10):
    DIGITS[chr(0xFF10 + i)] = str(i)

def norm_phone_text(s):
    """Chinese / full-width digits -> ASCII, 转/分机/ext -> x, drop spaces, dashes, brackets, dots, plus."""
    s = ''.join(DIGITS.get(c, c) for c in s)
    s = re.sub(r'(转|分机|ext\.?|EXT\.?)', 'x', s)
    s = re.sub(r'[\s\-－—–_()（）\[\]【】.·+＋]', '', s)
    return s

def digits_only(s):
    return re.sub(r'\D', '', norm_phone_text(s))

def load_kb():
    kb = {}
    with open(KB_PATH, encoding='utf-8') as f:
        for ln in f:
            if ln.strip():
                e = json.loads(ln)
                kb[e['id']] = e
    return kb

def detect_format(lines):
    if lines and lines[0].startswith('{'):
        return 'wecom'
    if lines and lines[0].endswith('的聊天记录'):
        return 'merged_forward'
    return 'pc_export'

def main():
    kb = load_kb()
    chats = sorted(glob.glob(os.path.join(HERE, 'chat_*.txt')))
    if len(chats) < 32:
        err('only', len(chats), 'chat files')
    text = {}
    for p in chats:
        raw = open(p, 'rb').read()
        if raw.startswith(b'\xef\xbb\xbf'):
            err(os.path.basename(p), 'has a BOM')
        if b'\r' in raw:
            err(os.path.basename(p), 'has CR characters')
        t = raw.decode('utf-8').split('\n')
        if t and t[-1] == '':
            t = t[:-1]
        text[os.path.basename(p)] = t
        if detect_format(t) == 'wecom':
            for i, ln in enumerate(t, 1):
                try:
                    o = json.loads(ln)
                except Exception as e:
                    err(os.path.basename(p), i, 'wecom line not JSON', e); continue
                if list(o.keys()) != WECOM_KEYS:
                    err(os.path.basename(p), i, 'wecom keys', list(o.keys()))
                if o['action'] == 'recall' and (o['msgtype'] != 'revoke' or o['content'] != ''):
                    err(os.path.basename(p), i, 'bad recall record')

    def line_text(fn, n):
        t = text[fn][n - 1]
        if detect_format(text[fn]) == 'wecom':
            o = json.loads(t)
            return o['sender_name'] + ' ' + o['content']
        return t

    n_rep = n_non = 0
    per_file = {}
    with open(os.path.join(HERE, 'labels.jsonl'), encoding='utf-8') as f:
        for k, ln in enumerate(f, 1):
            try:
                r = json.loads(ln)
            except Exception as e:
                err('labels.jsonl line', k, 'invalid JSON', e); continue
            fn = r.get('file')
            if fn not in text:
                err('labels', k, 'unknown file', fn); continue
            nlines = len(text[fn])
            kind = r.get('kind')
            where = '%s label %d' % (fn, k)
            if kind == 'repair':
                n_rep += 1
                for key in ['file', 'request', 'first_line', 'lines', 'kind', 'fields', 'expected_kb_id', 'tags']:
                    if key not in r:
                        err(where, 'missing', key)
                fields = r['fields']
                for key in FIELDS:
                    if key not in fields:
                        err(where, 'missing field', key)
                lines = r['lines']
                if lines != sorted(set(lines)) or not lines:
                    err(where, 'lines not sorted/unique/non-empty', lines)
                if r['first_line'] != min(lines):
                    err(where, 'first_line != min(lines)')
                for n in lines:
                    if not (1 <= n <= nlines) or not text[fn][n - 1].strip():
                        err(where, 'line missing or empty', n)
                lines = [n for n in lines if 1 <= n <= nlines]
                joined = '\n'.join(line_text(fn, n) for n in lines)
                normed = [norm_phone_text(line_text(fn, n)) for n in lines]
                ph, phs = fields['phone'], fields['phones']
                if not isinstance(phs, list) or not phs:
                    err(where, 'phones empty')
                elif ph not in phs:
                    err(where, 'phone not in phones', ph, phs)
                for p in phs or []:
                    if not re.fullmatch(r'\d{7,12}(x\d{1,6})?', p):
                        err(where, 'phone not normalised', p)
                    if not any(p in s for s in normed):
                        err(where, 'phone not found in listed lines', p)
                for key in ['model', 'fault_code', 'hardware_id']:
                    v = fields[key]
                    if v is not None and v.lower() not in joined.lower():
                        err(where, key, v, 'not in listed lines')
                if fields['address']:
                    a = fields['address']
                    if not any(a[:4] in line_text(fn, n).replace(' ', '') for n in lines):
                        err(where, 'address start not in listed lines', a)
                kid = r['expected_kb_id']
                if kid is not None:
                    if kid not in kb:
                        err(where, 'unknown KB id', kid)
                    else:
                        e = kb[kid]
                        if e['product_type'] != fields['product_type']:
                            err(where, 'product type', fields['product_type'], '!= KB', e['product_type'])
                        if fields['model'] and e['models'] and fields['model'] not in e['models']:
                            err(where, 'model', fields['model'], 'not in KB models', e['models'])
                        if fields['fault_code'] and e['fault_code'] and fields['fault_code'] != e['fault_code']:
                            err(where, 'fault code', fields['fault_code'], '!= KB', e['fault_code'])
                tags = r['tags']
                bad = [t for t in tags if t not in TAGS]
                if bad:
                    err(where, 'unknown tags', bad)
                ft = [t for t in tags if t in FORMAT_TAGS]
                if ft != [detect_format(text[fn])]:
                    err(where, 'format tag', ft, 'file is', detect_format(text[fn]))
                per_file.setdefault(fn, []).append((r['first_line'], r['request']))
            elif kind in NONREP:
                n_non += 1
                if set(r.keys()) != {'file', 'line', 'kind'}:
                    err(where, 'non-repair keys', sorted(r.keys()))
                n = r.get('line')
                if not (isinstance(n, int) and 1 <= n <= nlines) or not text[fn][n - 1].strip():
                    err(where, 'line missing or empty', n)
            else:
                err(where, 'unknown kind', kind)
    for fn, reqs in per_file.items():
        if [q for _, q in sorted(reqs)] != list(range(1, len(reqs) + 1)):
            err(fn, 'request numbers not 1..n in first_line order', sorted(reqs))

    # sheet
    raw = open(os.path.join(HERE, SHEET), 'rb').read()
    if not raw.startswith(b'\xef\xbb\xbf'):
        err(SHEET, 'no UTF-8 BOM')
    body = raw[3:]
    if body.count(b'\n') != body.count(b'\r\n'):
        err(SHEET, 'not CRLF everywhere')
    rows = list(csv.reader(io.StringIO(body.decode('utf-8'), newline='')))
    if rows[0] != SHEET_HEADER:
        err(SHEET, 'header', rows[0])
    data = rows[1:]
    if len(data) != SHEET_ROWS:
        err(SHEET, 'data rows', len(data))
    for i, row in enumerate(data, 2):
        if len(row) != len(SHEET_HEADER):
            err(SHEET, 'row', i, 'has', len(row), 'cells')
    seen = set()
    with open(os.path.join(HERE, SHEET_LABELS), encoding='utf-8') as f:
        for k, ln in enumerate(f, 1):
            r = json.loads(ln)
            for key in ['row', 'phones', 'phone', 'product_type', 'expected_kb_id']:
                if key not in r:
                    err(SHEET_LABELS, k, 'missing', key)
            row = r['row']
            seen.add(row)
            if not (2 <= row <= SHEET_ROWS + 1):
                err(SHEET_LABELS, k, 'row out of range', row); continue
            cell = rows[row - 1][3]
            if r['phones'][:1] != [r['phone']]:
                err(SHEET_LABELS, k, 'phone is not the first of phones')
            cd = digits_only(cell)
            pos = -1
            for p in r['phones']:
                if not re.fullmatch(r'\d{7,12}(x\d{1,6})?', p):
                    err(SHEET_LABELS, k, 'phone not normalised', p)
                q = cd.find(p.replace('x', ''), pos + 1)
                if q < 0:
                    err(SHEET_LABELS, k, 'phone', p, 'not in cell (in order)', cell)
                pos = q
            kid = r['expected_kb_id']
            if kid is not None:
                if kid not in kb:
                    err(SHEET_LABELS, k, 'unknown KB id', kid)
                elif kb[kid]['product_type'] != r['product_type']:
                    err(SHEET_LABELS, k, 'product type mismatch', r['product_type'], kb[kid]['product_type'])
    if seen != set(range(2, SHEET_ROWS + 2)):
        err(SHEET_LABELS, 'rows labelled', sorted(seen))

    print('chats', len(chats), 'repairs', n_rep, 'non-repair', n_non, 'sheet rows', len(data))
    if errors:
        for e in errors:
            print('ERROR', e)
        sys.exit(1)
    print('OK')

if __name__ == '__main__':
    main()
