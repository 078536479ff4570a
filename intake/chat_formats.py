"""Chat exports as people have them → one list of messages, whatever the layout.

Recognised (auto-detected, in this order):
- WeCom (企业微信) session archive, as JSON Lines or a JSON array of the archive API's messages
  ({"msgtime": 1767589953000 | "2026-01-05 09:12:33", "from": userid, "from_name"/"name":
  display name, "msgtype": "text", "text": {"content": …} or "content": …}), or as CSV with a
  header naming at least msgtime/time, from/sender and content/text columns. External contacts'
  userids start with wm/wo (the customer side), other userids are the company's staff.
- The PC client's text export: `2026-01-05 09:12:33 张三` (or `张三 2026-01-05 09:12`) and the
  message on the next lines, `[2026-01-05 09:12] 张三: 文本` on one line, and date separator
  lines (—— 2026-01-05 ——) followed by `张三 09:12` headers.
- The phone's "merge and forward" chat record (合并转发的聊天记录) copied as text: a title line
  (…的聊天记录), then `张三 1月5日 09:12` / `张三 01-05 09:12` / `张三 2026年1月5日 09:12`
  headers, each followed by the message; the year comes from the title or a date line, else
  from the day of import.
"""

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from core import clock
from core.errors import ApiError
from intake.excel_import import SHEET_TZ

DATE = r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"
SHORT_DATE = r"\d{1,2}[-/月]\d{1,2}日?"
CLOCK = r"(?:上午|下午|晚上|凌晨|中午)?\s?\d{1,2}:\d{2}(?::\d{2})?"
NAME = r"[^:：\s\[][^:：]{0,29}?"
SINGLE = re.compile(
    rf"^\[?(?P<d>{DATE})\s+(?P<t>{CLOCK})\]?\s+(?P<who>{NAME})\s*[:：]\s*(?P<text>.+)$"
)
HEAD_TIME_FIRST = re.compile(rf"^\[?(?P<d>{DATE})\s+(?P<t>{CLOCK})\]?\s+(?P<who>\S.{{0,29}})$")
HEAD_NAME_FIRST = re.compile(rf"^(?P<who>\S.{{0,29}}?)\s+\[?(?P<d>{DATE})\s+(?P<t>{CLOCK})\]?$")
HEAD_NAME_SHORT = re.compile(
    rf"^(?P<who>\S.{{0,29}}?)\s+\[?(?P<sd>{SHORT_DATE})\s+(?P<t>{CLOCK})\]?$"
)
HEAD_NAME_CLOCK = re.compile(rf"^(?P<who>\S.{{0,29}}?)\s+\[?(?P<t>{CLOCK})\]?$")
DATE_LINE = re.compile(rf"^[\s\-—=·.]*(?P<d>{DATE})[\s\-—=·.]*(?:星期.|周.)?[\s\-—=·.]*$")
TITLE = re.compile(r"^.{0,40}的聊天记录\s*$")
SYSTEM_LINE = re.compile(r"^.{0,30}撤回了一条消息$|^.{0,40}(?:加入了群聊|拍了拍.*)$")
# Merged-forward records copied without times: `张三：文本`, or a shop and a name
# (`卓尔店 阿芬：文本`). Field labels said inside a message (地址：…) are not senders.
NAME_COLON = re.compile(r"^(?P<who>[^:：\s，,。]{1,12}(?: [^:：\s，,。]{1,8})?)[：:](?P<text>.*)$")
# Residents in a property group go by their building (5栋冯姐, 12栋Lily).
BUILDING_NAME = re.compile(r"^\d{1,3}(?:栋|幢|号楼|座)(?![\d楼层单元])\D{1,8}$")
FIELD_LABELS = (
    "地址", "电话", "手机", "号码", "型号", "故障", "姓名", "联系", "备注", "时间", "问题", "产品",
    "品牌", "位置", "小区", "门牌", "设备", "编号", "机型", "情况", "现象", "注意", "报修", "客户",
    "顾客", "业主", "名字", "住址", "楼号", "房号", "座机", "微信", "代码", "显示", "原因", "铭牌",
)  # fmt: skip
QUOTE = re.compile(r"「(?P<who>[^：:」]{1,30})[：:](?P<said>[^」]*)」\s*(?:-\s*){3,}")
QUOTE_LINE = re.compile(r"^\s*(?:引用|回复)\s*(?P<who>[^：:]{1,30})[：:](?P<said>.*)$")
SYSTEM = re.compile(
    r"\[(?:图片|表情|动画表情|语音|视频|文件|链接|位置|名片|红包|转账)\]|撤回了一条消息|"
    r"加入了群聊|拍了拍|修改群名为|邀请.*加入了群聊"
)
ARCHIVE_TIME = ("msgtime", "time", "send_time", "timestamp", "时间", "发送时间")
ARCHIVE_FROM = ("from", "sender", "from_id", "userid", "发送人id")
ARCHIVE_NAME = ("sender_name", "from_name", "name", "nickname", "发送人", "昵称")
ARCHIVE_TEXT = ("content", "text", "msg", "message", "内容", "消息内容")
EXTERNAL_ID = re.compile(r"^w[mo][A-Za-z0-9_-]{6,}$")  # WeCom external contacts' userids


@dataclass
class Message:
    """One chat message and the export lines it spans."""

    line: int
    end_line: int
    at: datetime
    sender: str
    text: str
    quoted: str | None = None  # the sender a reply quotes
    external: bool | None = None  # WeCom: sent by an external contact (customer side)
    body_line: int = 0  # the export line the text starts on
    flat: bool = False  # the whole message is one export line (a WeCom archive record)
    part_of: int | None = None  # the line of the message this is one appliance's part of

    def line_of(self, offset: int) -> int:
        """The export line of the text's line `offset` (0 = its first)."""
        return self.line if self.flat else (self.body_line or self.line) + offset


def parse(text: str) -> list[Message]:
    """Messages of an export in any recognised layout, in order; a 422 when none is found."""
    text = text.lstrip("\ufeff")
    messages = _archive(text)
    if messages is None:
        messages = _text_export(text)
    if not messages:
        raise ApiError(
            422,
            "not_a_chat_export",
            "No chat messages found: expected a PC text export ('2026-01-05 09:12:33 张三' "
            "then the message), a merged-forward record ('张三 1月5日 09:12'), or a WeCom "
            "archive (JSON lines or CSV with msgtime, from and content).",
        )
    for msg in messages:
        if q := QUOTE.search(msg.text):
            msg.quoted = q.group("who").strip()
            msg.text = (msg.text[: q.start()] + msg.text[q.end() :]).strip()
        elif (q2 := QUOTE_LINE.match(msg.text.split("\n")[-1])) and "\n" in msg.text:
            msg.quoted = q2.group("who").strip()
            msg.text = "\n".join(msg.text.split("\n")[:-1]).strip()
        msg.text = SYSTEM.sub("", msg.text).strip()
    return messages


def _text_export(text: str) -> list[Message]:
    messages: list[Message] = []
    lines = text.splitlines()
    day: date | None = None
    year = _title_year(lines)
    # A merged-forward record may date only its first message; bare `张三 09:12` headers are
    # trusted there or after a date line, never in plain text (明天 10:00 is not a header).
    forwarded = any(TITLE.match(x.strip()) for x in lines[:3])
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or (n <= 3 and TITLE.match(line)) or SYSTEM_LINE.match(line):
            continue
        if m := DATE_LINE.match(line):
            day = _date(m.group("d"))
            year = day.year
            continue
        head = _header(line, day if day or not forwarded else clock.now().date(), year)
        # The line under a `张三 09:12` header is its message (今天的单：… is no sender).
        under_header = bool(messages) and not messages[-1].text and messages[-1].line == n - 1
        if (
            head is None
            and forwarded
            and not under_header
            and (m := NAME_COLON.match(line))
            and _sender(m["who"])
        ):
            # No time is written: messages keep their order, a second apart.
            base = messages[-1].at if messages else _at(day or clock.now().date(), "09:00")
            head = base + timedelta(seconds=1), m["who"], m["text"].strip()
        if head is not None:
            at, who, rest = head
            messages.append(Message(n, n, at, who.strip(), rest, body_line=n if rest else n + 1))
        elif messages:
            last = messages[-1]
            last.text = f"{last.text}\n{line}" if last.text else line
            last.end_line = n
    return messages


def _sender(who: str) -> bool:
    if re.search(r"[-－_|｜]", who):
        return True  # a role prefix (顾客-王女士) is a display name
    if who[0].isdigit() and not BUILDING_NAME.match(who):
        return False  # a list item (1：…), not a resident named by building (12栋Lily)
    if who in ("另外", "还有", "补充", "注", "PS", "ps", "对了", "问题"):
        return False  # a list item or an aside inside a message
    return not any(who.endswith(w) or who.startswith(w) for w in FIELD_LABELS)


def _title_year(lines: list[str]) -> int:
    for line in lines[:5]:
        if m := re.search(r"(20\d{2})[-/.年]", line):
            return int(m.group(1))
    return clock.now().astimezone(SHEET_TZ).year


def _header(line: str, day: date | None, year: int) -> tuple[datetime, str, str] | None:
    m = SINGLE.match(line)
    if m:
        return _at(_date(m.group("d")), m.group("t")), m.group("who"), m.group("text")
    for pattern in (HEAD_TIME_FIRST, HEAD_NAME_FIRST):
        m = pattern.match(line)
        if m:
            return _at(_date(m.group("d")), m.group("t")), m.group("who"), ""
    m = HEAD_NAME_SHORT.match(line)
    if m:
        mo, d = (int(x) for x in re.findall(r"\d+", m.group("sd"))[:2])
        if 1 <= mo <= 12 and 1 <= d <= 31:
            return _at(date(year, mo, d), m.group("t")), m.group("who"), ""
    m = HEAD_NAME_CLOCK.match(line)
    if m and day is not None:
        return _at(day, m.group("t")), m.group("who"), ""
    return None


def _date(text: str) -> date:
    y, mo, d = (int(x) for x in re.findall(r"\d+", text)[:3])
    return date(y, mo, d)


def _at(day: date, clock_text: str) -> datetime:
    pm = any(w in clock_text for w in ("下午", "晚上"))
    parts = [int(x) for x in re.findall(r"\d+", clock_text)]
    hour = parts[0] % 24
    if pm and hour < 12:
        hour += 12
    second = parts[2] if len(parts) > 2 else 0
    return datetime.combine(day, time(hour, parts[1], second), tzinfo=SHEET_TZ)


def _archive(text: str) -> list[Message] | None:
    """A WeCom archive export (JSON lines, JSON array or CSV), else None."""
    head = text.lstrip()[:1]
    if head in ("{", "["):
        return _archive_json(text)
    first = text.splitlines()[0] if text.strip() else ""
    cols = {c.strip().strip('"').lower() for c in re.split(r"[,\t]", first)}
    if (
        cols & set(ARCHIVE_TIME)
        and cols & set(ARCHIVE_TEXT)
        and cols & {*ARCHIVE_FROM, *ARCHIVE_NAME}
    ):
        dialect = "excel-tab" if "\t" in first else "excel"
        rows = csv.DictReader(io.StringIO(text), dialect=dialect)
        out = []
        for n, row in enumerate(rows, start=2):
            msg = _archive_message({k.strip().lower(): v for k, v in row.items() if k}, n)
            if msg:
                out.append(msg)
        return out
    return None


def _archive_json(text: str) -> list[Message] | None:
    records: list[tuple[int, dict]] = []
    try:
        data = json.loads(text)
        items = (
            data if isinstance(data, list) else data.get("chatdata") or data.get("msgs") or [data]
        )
        records = [(k + 1, r) for k, r in enumerate(items) if isinstance(r, dict)]
    except (json.JSONDecodeError, AttributeError):
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                return None
            if isinstance(rec, dict):
                records.append((n, rec))
    out = [m for n, r in records if (m := _archive_message(r, n))]
    out.sort(key=lambda m: (m.at, m.line))
    return out


def _pick(rec: dict, keys: tuple[str, ...]) -> object:
    for key in keys:
        if rec.get(key) not in (None, ""):
            return rec[key]
    return None


def _archive_message(rec: dict, n: int) -> Message | None:
    when = _pick(rec, ARCHIVE_TIME)
    userid = str(_pick(rec, ARCHIVE_FROM) or "")
    name = str(_pick(rec, ARCHIVE_NAME) or userid)
    body = _pick(rec, ARCHIVE_TEXT)
    kind = str(rec.get("msgtype") or "text")
    if isinstance(body, dict):
        body = body.get("content")
    if kind != "text" and not isinstance(body, str):
        body = ""  # a picture, voice, sticker or recall: no words to read
    if when is None or not name or body is None or rec.get("action") in ("recall", "switch"):
        return None
    at = _archive_time(when)
    if at is None:
        return None
    external = bool(EXTERNAL_ID.match(userid)) if userid else None
    return Message(n, n, at, name.strip(), str(body).strip(), external=external, flat=True)


def _archive_time(value: object) -> datetime | None:
    try:
        stamp = float(str(value))
    except ValueError:
        m = re.match(rf"^\s*(?P<d>{DATE})[ T]+(?P<t>\d{{1,2}}:\d{{2}}(?::\d{{2}})?)", str(value))
        return _at(_date(m.group("d")), m.group("t")) if m else None
    if stamp > 1e11:  # the archive API gives milliseconds
        stamp /= 1000
    return datetime.fromtimestamp(stamp, UTC).astimezone(SHEET_TZ)
