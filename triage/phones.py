"""Phone numbers as people in China write them, normalised and all kept.

Mobiles (138 1234 5678, 138-1234-5678, +86 13812345678, full-width digits, 幺三八一二三四五六七八),
landlines with their area code and extension (0571-8765 4321 转 801, (010)87654321-12,
+86 571 87654321), service numbers (400-820-8820), several in one cell or message, and a
correction (电话写错了，是 139…) that replaces the number before it.

Canonical forms: a mobile is its 11 digits; a landline its digits with the area code
(057187654321); an extension follows after 转 (057187654321转801). A landline written without
an area code is kept as its 7–8 digits only where the text says it is a phone (电话/座机/tel).
"""

import re
import unicodedata
from dataclasses import dataclass

from triage.dialect import mandarin

SPOKEN = {
    "零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1", "壹": "1", "二": "2", "两": "2",
    "贰": "2", "三": "3", "叁": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6",
    "陆": "6", "七": "7", "柒": "7", "拐": "7", "八": "8", "捌": "8", "九": "9", "玖": "9",
}  # fmt: skip
DIGIT_CHARS = "0-9" + "".join(SPOKEN)
SEP = r"[ \t\u3000\-－—–_.·/()（）]"
# Seven or more digits in a row, some of them spoken (spaces, dashes or commas between the
# groups allowed: 幺三八，一二三四，五六七八; 138 1234 五六七八), are a number read out.
SPOKEN_SEP = r"[ \t\u3000\-－—–_.·/()（），,、]"
SPOKEN_RUN = re.compile(rf"[{DIGIT_CHARS}](?:{SPOKEN_SEP}*[{DIGIT_CHARS}]){{6,}}")
# An extension read out after a landline (转八零二).
SPOKEN_EXTENSION = re.compile(rf"(?<=转|机)[{''.join(SPOKEN)}]{{1,5}}(?![{''.join(SPOKEN)}])")
# A run of digit groups; letters right before or after make it a serial or model, not a phone.
RUN = re.compile(rf"(?<![A-Za-z0-9_])(?:\+\s?|00)?\d(?:{SEP}*\d)*(?![A-WYZa-wyz0-9])")
EXTENSION = re.compile(r"^\s*(?:转分机号?|转|分机号?|ext\.?|EXT\.?|x|-|－)\s*(\d{1,5})(?!\d)")
LOCAL_CONTEXT = re.compile(r"(电话|座机|固话|tel|TEL|Tel|号码|联系)")
CORRECTION = re.compile(
    r"(不对|错了|写错|打错|说错|有误|更正|改为|改成|纠正|应该是|换成|更换为|换号|新号)"
)
# A number given instead of an earlier one that stays valid (换人了，打这个…; 以这个为准).
REPLACEMENT = re.compile(
    r"(换人了|换了人|(?:对接人|联系人|负责人)换了|换了?(?:个)?(?:新的?)?(?:手机)?号|改打|改用|以这个为准"
    r"|(?<![点时天号班])以后(?:都|就)?打|优先打|现在用这个)"
)
# The number before cannot be reached (座机打了没人接; 他上班接不到; 是空号; 停机了; 赵经理休假):
# the
# one given after it is the one to call. Said as a condition (没人接就打…, 打不通的话) it is
# only a second number.
UNREACHABLE = re.compile(
    r"(空号|没人接|无人接|没接|不接电话|接不到|接不了|打不通|打不进|关机|停机|欠费|不在服务区|休假|请假|出差"
    r"|不方便[接听]|唔方便[接听]|接唔到|听唔到|打唔通|冇人[接听]"
    r"|(?:号码?|电话|手机|座机|旧(?:的|那个)?)(?:已经)?(?:不用[了啦喇]|停用))"
    r"(?!就|的话|时|的时候|再|也|或|打|找|联系)"
)
# … nor said as a maybe (可能接不到).
IF = re.compile(r"(如果|要是|万一|假如|若|可能|也许|怕|估计)[^，,。；;]*$")
# A number offered to try (你打这个试试) is a second number, not the one to call instead.
TRY = re.compile(r"^[^。；;\n\d]{0,10}(?:试试|试下|试一下)")
# Told which number to call instead (177…，说婆婆耳朵不好，打这个; 叫打他老婆的 182…;
# 直接打老板; 那打他儿子嘛). One for a time or a case (白天打她女儿的, 家里没人时打他手机,
# 没人接就打…) leaves the first number the one to call, as wechat_real's README labels it.
CALL_BEFORE = re.compile(r"打(?![不错过了通])[^\d，,。；;！!？?\n]{0,8}[:：\s]*$")
# Someone said to call another person, the number said next (叫我联系他老公，号码 186…; not
# 电话打错了，我老婆的是…: a correction).
REDIRECT = re.compile(
    r"(?:叫|让|说|话)[^，,。；;\d]{0,3}(?:打(?![不错过了通])|联系|找)[^\d。；;！!？?\n]{1,10}$"
)
CALL_AFTER = re.compile(
    r"^[^。；;\n\d]{0,16}?(?:打这个|直接打|直接(?:联系|找)[^\d。；;！!？?\n]{0,6}(?:就行|就可以|就好|即可))"
)
CONDITION = re.compile(
    r"(?:就|再|或|也可以|白天|晚上|夜里|上午|下午|中午|明天|今天|周末|上班|下班|不在|没人|接不|打不"
    r"|时|的时候|之前|以前|以后|如果|要是|万一)"
)
# "That one was wrong, it is this one", said after the right number (…39；…93；刚才那个打错了，
# 是这个).
BACK_CORRECTION = re.compile(
    r"(?:打错|写错|输错|发错|说错)了?.{0,6}(?:是这个|这个才对|以这个为准|这个是对的)"
)
# A number labelled as something else (订单号13812345678, 微信号 wxid_…, 注册代码, 快递单号) is
# no phone, however it looks; 微信同号 says the phone is the WeChat too.
NOT_A_PHONE = re.compile(
    r"(?:订单|单号|工单|快递|运单|物流|注册代码|注册码|编号|序列号|SN|S/N|卡号|账号|身份证|发票|条码|QQ|qq"
    r"|密码|验证码|会员号|微信号?(?!同号)|VX|vx|wx|WX)[号码]?\s*[:：是为]?\s*$"
)
# A mobile broken over two messages or lines (138 1234；5678, 前面是138 7120；后面是5533):
# the first piece's digits start a mobile, the second's finish it.
BROKEN = re.compile(
    r"(?<![\dA-Za-z_])(1[3-9][\d \-]{1,8}?)\s*(?:[；;\n，,]\s*(?:后面的?是?|后[四几]位是?)?"
    r"|(?:后面的?是?|后[四几]位是?))\s*([\d \-]{3,9}\d)(?![\dA-Za-z])"
)
LATE_EXTENSION = re.compile(
    r"(?:^|[；;，,。\n])\s*(?:分机号?|转)\s*[:：是]?\s*(\d{1,5})\s*(?=$|[；;，,。\n])"
)
# Only a number's last digits corrected (电话尾号改成0146，我刚才抄错了).
TAIL_FIX = re.compile(
    r"尾(?:号|数)[^\d，,。；;]{0,2}(?:改成|改为|应该是|应为|更正为|是)\s*[:：]?\s*(\d{2,4})(?!\d)"
)
MOBILE = re.compile(r"1[3-9]\d{9}")
SERVICE = re.compile(r"[48]00\d{7}")


@dataclass(frozen=True)
class Phone:
    """One number found in a text: its canonical form, kind and where it was written."""

    number: str
    kind: str  # mobile | landline | service | local
    start: int
    end: int


def ascii_digits(text: str) -> str:
    """Full-width digits as ASCII, and runs of seven or more spoken digits as digits (the
    length is kept so positions still match the original text)."""
    text = "".join(
        unicodedata.normalize("NFKC", c) if "０" <= c <= "９" or c == "＋" else c for c in text
    )
    text = SPOKEN_RUN.sub(_read_out, text)
    return SPOKEN_EXTENSION.sub(lambda m: "".join(SPOKEN[c] for c in m.group(0)), text)


def _read_out(m: re.Match[str]) -> str:
    run = m.group(0)
    groups = re.split(r"[，,、]", run)
    short = all(len(re.sub(r"\D", "", g)) <= 4 for g in groups)
    if not any(c in SPOKEN for c in run) and not short:
        # Written digits: commas between them separate numbers (138…，139…), unless the
        # groups are a number's short pieces (138,1234,5678 as read out and written down).
        return run
    return "".join(SPOKEN.get(c, " " if c in "，,、" else c) for c in run)


def find(text: str) -> list[Phone]:
    """Every phone number in text, in order, each once; a corrected number is dropped."""
    plain = _join_broken(ascii_digits(text))
    said = mandarin(plain)  # the cue words of a Cantonese message too, at the same places
    found: list[Phone] = []
    for m in RUN.finditer(plain):
        if NOT_A_PHONE.search(said[max(0, m.start() - 8) : m.start()]):
            continue
        found += _split_run(plain, m.start(), m.group(0))
    found = _drop_corrected(said, _tail_fixed(said, _late_extension(said, found)))
    seen: set[str] = set()
    out = []
    for phone in found:
        if phone.number not in seen:
            seen.add(phone.number)
            out.append(phone)
    return out


def _late_extension(text: str, found: list[Phone]) -> list[Phone]:
    """An extension said on its own after a landline that has none (座机 0755-2788 1350 …；
    分机 8023) is that landline's."""
    for m in LATE_EXTENSION.finditer(text):
        if any(p.start <= m.start(1) < p.end for p in found):
            continue
        before = [p for p in found if p.end <= m.start()]
        if before and before[-1].kind == "landline" and "转" not in before[-1].number:
            old = before[-1]
            fixed = Phone(f"{old.number}转{m.group(1)}", old.kind, old.start, old.end)
            found = [fixed if p is old else p for p in found]
    return found


def _tail_fixed(text: str, found: list[Phone]) -> list[Phone]:
    """A correction of a number's last digits (尾号改成0146) replaces the number before it,
    said where the correction is; 尾号是… counts only as a correction (写错了, 抄错了)."""
    for m in TAIL_FIX.finditer(text):
        said = text[max(0, m.start() - 12) : m.end() + 12]
        if "是" in m.group(0) and not CORRECTION.search(said):
            continue
        before = [
            p
            for p in found
            if p.end <= m.start() and len(p.number) > len(m.group(1)) and "转" not in p.number
        ]
        if not before:
            continue
        old = before[-1]
        fixed = Phone(old.number[: -len(m.group(1))] + m.group(1), old.kind, *m.span(1))
        found = sorted([p for p in found if p is not old] + [fixed], key=lambda p: p.start)
    return found


def _join_broken(text: str) -> str:
    """A mobile split in two pieces (138 1234；5678) written as one run, positions kept."""

    def join(m: re.Match[str]) -> str:
        first, second = (re.sub(r"\D", "", g) for g in m.groups())
        if len(first) < 3 or len(first) + len(second) != 11:
            return m.group(0)
        gap = m.group(0)[len(m.group(1)) : m.start(2) - m.start()]
        return m.group(1) + " " * len(gap) + m.group(2)

    return BROKEN.sub(join, text)


def numbers(text: str) -> list[str]:
    """The canonical numbers in text (see find), main one first (see main)."""
    found = find(text)
    text = mandarin(text)  # the words around the numbers, read as Mandarin
    told = next((p for k, p in enumerate(found) if _told_to_call(text, found, k)), None)
    if told is not None:
        found.remove(told)
        found.insert(0, told)
    for k in range(1, len(found)):
        between = text[found[k - 1].end : found[k].start]
        tried = TRY.search(text[found[k].end :])
        if REPLACEMENT.search(between) or (unreachable(between) and not tried):
            found.insert(0, found.pop(k))  # to be called instead of the one before
    listed = [p.number for p in found]
    first = main(listed)
    return [first, *[n for n in listed if n != first]] if first else []


def unreachable(text: str) -> bool:
    """Whether text says a number cannot be reached (not as a condition: 没人接就打…)."""
    return any(not IF.search(text[: m.start()]) for m in UNREACHABLE.finditer(text))


def _told_to_call(text: str, found: list[Phone], k: int) -> bool:
    """Whether the words around number k say it is the one to call."""
    start = found[k - 1].end if k else 0
    end = found[k + 1].start if k + 1 < len(found) else len(text)
    before = text[start : found[k].start]
    if TRY.search(text[found[k].end : end]):
        return False  # 你打这个试试: one to try, not the one to call
    if m := CALL_BEFORE.search(before) or REDIRECT.search(before):
        clause = re.split(r"[，,。；;！!？?\s]", before[: m.start()])[-1]
        return not CONDITION.search(clause)
    return bool(CALL_AFTER.search(text[found[k].end : end]))


def main(found: list[str]) -> str | None:
    """The number to call: the first one given (a corrected one is already dropped; one
    given instead comes first), a customer's own before a company's 400/800 line."""
    own = [n for n in found if not SERVICE.fullmatch(n)]
    return (own or found)[0] if found else None


def canonical(value: str | None) -> str | None:
    """One written phone number in canonical form (None when it holds none); the value is
    known to be a phone, so a landline without its area code counts."""
    if not value:
        return None
    found = numbers(f"电话 {value}")
    return found[0] if found else None


def _split_run(text: str, offset: int, run: str) -> list[Phone]:
    """The numbers in one run of digit groups (two numbers may share a run: 138… 139…)."""
    groups: list[tuple[int, str]] = []
    for g in re.finditer(r"\d+", run):
        chunks = [g.group(0)[k : k + 11] for k in range(0, len(g.group(0)), 11)]
        if len(chunks) > 1 and all(MOBILE.fullmatch(c) for c in chunks):
            # Mobiles written together without a space between them.
            groups += [(g.start() + 11 * k, c) for k, c in enumerate(chunks)]
        else:
            groups.append((g.start(), g.group(0)))
    international = run.lstrip().startswith(("+", "00"))
    out: list[Phone] = []
    i = 0
    while i < len(groups):
        phone, used = _number_at(text, offset, run, groups, i, international and i == 0)
        if phone is None:
            i += 1
            continue
        out.append(phone)
        i += used
    return out


def _number_at(
    text: str, offset: int, run: str, groups: list[tuple[int, str]], i: int, international: bool
) -> tuple[Phone | None, int]:
    """The number starting at group i and how many groups it takes."""
    digits = ""
    best: tuple[str, str, int] | None = None  # number, kind, groups used
    for j in range(i, len(groups)):
        digits += groups[j][1]
        candidate = digits
        if international or (j > i and groups[i][1] in ("86", "0086")):
            candidate = re.sub(r"^(?:00)?86", "", digits)
            if candidate and not candidate.startswith(("0", "1")):
                candidate = "0" + candidate  # +86 571 … is the landline 0571 …
        kind = _kind(candidate)
        if kind == "mobile":
            best = (candidate, kind, j - i + 1)
            break  # a mobile has exactly 11 digits: what follows is another number
        if kind in ("landline", "service"):
            best = (candidate, kind, j - i + 1)  # keep the longest (0571 8765 4321)
        if len(candidate) >= 12 and not candidate.startswith("0"):
            break
        if len(candidate) > 12:
            break
        if len(candidate) == 11 and candidate.startswith("1"):
            break
    if best is None:
        whole = groups[i][1]
        local = 7 <= len(whole) <= 8 and whole[0] in "2345678"
        if local and _said_is_phone(text, offset + groups[i][0]):
            start = offset + groups[i][0]
            return Phone(whole, "local", start, start + len(whole)), 1
        return None, 1
    number, kind, used = best
    start = offset + groups[i][0]
    end = offset + groups[i + used - 1][0] + len(groups[i + used - 1][1])
    if kind == "landline":
        ext = _extension(text, end, run, groups, i + used, offset)
        if ext:
            digits_ext, end, extra = ext
            return Phone(f"{number}转{digits_ext}", kind, start, end), used + extra
    return Phone(number, kind, start, end), used


def _kind(digits: str) -> str | None:
    if MOBILE.fullmatch(digits):
        return "mobile"
    if SERVICE.fullmatch(digits):
        return "service"
    if re.fullmatch(r"0(?:10|2\d)[2-9]\d{7}|0[3-9]\d{2}[2-9]\d{6,7}", digits):
        return "landline"
    return None


def _extension(
    text: str, end: int, run: str, groups: list[tuple[int, str]], nxt: int, offset: int
) -> tuple[str, int, int] | None:
    """An extension after a landline: in the same run (-801) or written after it (转801)."""
    if nxt < len(groups) and len(groups[nxt][1]) <= 5:
        between = run[groups[nxt - 1][0] + len(groups[nxt - 1][1]) : groups[nxt][0]]
        if between.strip() in ("-", "－"):
            g_end = offset + groups[nxt][0] + len(groups[nxt][1])
            return groups[nxt][1], g_end, 1
    if nxt >= len(groups):
        m = EXTENSION.match(text[end:])
        if m and not m.group(0).strip().startswith(("-", "－")):
            return m.group(1), end + m.end(), 0
    return None


def _said_is_phone(text: str, start: int) -> bool:
    return bool(LOCAL_CONTEXT.search(text[max(0, start - 8) : start]))


def _drop_corrected(text: str, found: list[Phone]) -> list[Phone]:
    """A number followed by a correction cue and another number of the same kind was wrong."""
    out: list[Phone] = []
    for k, phone in enumerate(found):
        nxt = found[k + 1] if k + 1 < len(found) else None
        if nxt and nxt.kind == phone.kind and CORRECTION.search(text[phone.end : nxt.start]):
            continue
        after = found[k + 2].start if k + 2 < len(found) else len(text)
        if nxt and nxt.kind == phone.kind and BACK_CORRECTION.search(text[nxt.end : after]):
            continue
        out.append(phone)
    return out
