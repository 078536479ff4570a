"""WeChat group-chat exports (text) → pending-QC tickets linked to the lines they came from.

A repair request is found among the chit-chat by what its message says (a fault cue, and triage
recognising a product, model or fault code or matching a known fault; not a sales or billing
question), then gathered with the same sender's later messages (and others' replies quoting the
sender that add contact details) within a time window, so a name, phone, address, product and
fault given over several messages end up on one ticket.

Accepted export layouts (one message = a header line and its text lines, or one line):
    2026-01-05 09:12:33 张三 / 张三 2026-01-05 09:12, then the message on the next lines;
    [2026-01-05 09:12] 张三: 文本 / 2026-01-05 09:12:33 张三：文本 on one line;
and a date separator line (—— 2026-01-05 ——) followed by `张三 09:12` headers.
"""

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core import clock
from core.errors import ApiError
from intake import chat_ocr
from intake.excel_import import SHEET_TZ
from intake.importer import Draft, fingerprint, run_import, start_batch
from intake.models import ImportBatch
from intake.spreadsheet import text_encoding
from triage.entities import LANDLINE, MOBILE, SURNAMES
from triage.rules import get_rules
from triage.service import triage_text

CHANNEL = "wechat"
DATE = r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"
CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?"
SINGLE = re.compile(
    rf"^\[?(?P<d>{DATE})\s+(?P<t>{CLOCK})\]?\s+(?P<who>[^:：\s][^:：]{{0,29}}?)\s*[:：]\s*(?P<text>.+)$"
)
HEAD_TIME_FIRST = re.compile(rf"^\[?(?P<d>{DATE})\s+(?P<t>{CLOCK})\]?\s+(?P<who>\S.{{0,29}})$")
HEAD_NAME_FIRST = re.compile(rf"^(?P<who>\S.{{0,29}}?)\s+\[?(?P<d>{DATE})\s+(?P<t>{CLOCK})\]?$")
HEAD_NAME_CLOCK = re.compile(rf"^(?P<who>\S.{{0,29}}?)\s+\[?(?P<t>{CLOCK})\]?$")
DATE_LINE = re.compile(rf"^[\s\-—=·.]*(?P<d>{DATE})[\s\-—=·.]*$")
QUOTE = re.compile(r"「(?P<who>[^：:」]{1,30})[：:](?P<said>[^」]*)」\s*(?:-\s*){3,}")
SYSTEM = re.compile(
    r"\[(?:图片|表情|动画表情|语音|视频|文件|链接|位置|名片|红包|转账)\]|撤回了一条消息|"
    r"加入了群聊|拍了拍|修改群名为|邀请.*加入了群聊"
)
REPAIR_CUES = (
    "坏了", "坏掉", "故障", "维修", "修一下", "修理", "报修", "来修", "上门", "不能", "不了",
    "没反应", "不工作", "不制冷", "不制热", "不加热", "漏水", "滴水", "渗水", "异响", "响声",
    "噪音", "报错", "报警", "故障码", "显示E", "失灵", "打不开", "开不了", "无法", "不亮",
    "不转", "不出水", "卡住", "停了", "困人", "抖动", "跳闸", "充不上", "充不进", "有问题",
    "出问题", "连不上", "离线", "没电", "识别不了", "不识别", "不启动", "启动不了", "黑屏",
    "不排水", "不脱水", "结冰", "不吸", "不动了", "关不上", "锁不上", "不出热水", "熄火",
)  # fmt: skip
ACK_PREFIXES = ("收到", "好的", "已安排", "已登记", "已派", "稍等", "马上", "谢谢", "ok", "OK")
STAFF_MARKS = ("客服", "售后", "管理员", "调度", "群主")
CONTACT_HINTS = re.compile(rf"{MOBILE.pattern}|{LANDLINE.pattern}|地址|住址|住在|电话|手机")


@dataclass
class Message:
    """One chat message and the export lines it spans."""

    line: int
    end_line: int
    at: datetime
    sender: str
    text: str
    quoted: str | None = None  # the sender a reply quotes


@dataclass
class Request:
    """A repair request gathered from one or more messages."""

    sender: str
    messages: list[Message] = field(default_factory=list)
    product_type: str | None = None
    previous: "Request | None" = None  # the same sender's request just before (contact details)

    @property
    def lines(self) -> tuple[int, int]:
        """First and last export line of the request."""
        return self.messages[0].line, max(m.end_line for m in self.messages)


def read_export(path: Path) -> str:
    """The export's text (UTF-8 or GBK; a PNG/JPEG screenshot is read by OCR), or a 422 when
    it is not a chat export."""
    data = path.read_bytes()
    if chat_ocr.is_image(data):  # a screenshot: read offline by OCR into the same layout
        return chat_ocr.to_export([data], clock.now().astimezone(SHEET_TZ).date())
    encoding = text_encoding(data[:65536])
    if not data.strip() or encoding is None:
        raise ApiError(
            422, "not_a_chat_export", "The file is not a text chat export (empty or binary)."
        )
    return data.decode(encoding, errors="replace")


def parse(text: str) -> list[Message]:
    """Messages of an export, in order; a 422 when no message header is recognised."""
    messages: list[Message] = []
    day: date | None = None
    for n, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if m := DATE_LINE.match(line):
            day = _date(m.group("d"))
            continue
        head = _header(line, day)
        if head is not None:
            at, who, rest = head
            messages.append(Message(n, n, at, who.strip(), rest))
        elif messages:
            last = messages[-1]
            last.text = f"{last.text}\n{line}" if last.text else line
            last.end_line = n
    if not messages:
        raise ApiError(
            422,
            "not_a_chat_export",
            "No chat messages found: expected lines like '2026-01-05 09:12:33 张三' followed "
            "by the message, or '[2026-01-05 09:12] 张三: message'.",
        )
    for msg in messages:
        if q := QUOTE.search(msg.text):
            msg.quoted = q.group("who").strip()
            msg.text = (msg.text[: q.start()] + msg.text[q.end() :]).strip()
        msg.text = SYSTEM.sub("", msg.text).strip()
    return messages


def _header(line: str, day: date | None) -> tuple[datetime, str, str] | None:
    m = SINGLE.match(line)
    if m:
        return _at(_date(m.group("d")), m.group("t")), m.group("who"), m.group("text")
    for pattern in (HEAD_TIME_FIRST, HEAD_NAME_FIRST):
        m = pattern.match(line)
        if m:
            return _at(_date(m.group("d")), m.group("t")), m.group("who"), ""
    m = HEAD_NAME_CLOCK.match(line)
    if m and day is not None:
        return _at(day, m.group("t")), m.group("who"), ""
    return None


def _date(text: str) -> date:
    y, mo, d = (int(x) for x in re.findall(r"\d+", text)[:3])
    return date(y, mo, d)


def _at(day: date, clock_text: str) -> datetime:
    parts = [int(x) for x in clock_text.split(":")]
    return datetime.combine(day, time(parts[0] % 24, parts[1], parts[2] if len(parts) > 2 else 0),
                            tzinfo=SHEET_TZ)  # fmt: skip


def _is_staff(sender: str, staff: set[str]) -> bool:
    return sender in staff or any(mark in sender for mark in STAFF_MARKS)


def is_request(text: str) -> tuple[bool, str | None]:
    """Whether a message asks for a repair, and the product it names: a fault cue with a
    product, model or code (or a known fault), or without a cue a product with its model or
    fault code that triage matches to a known fault; never a sales or billing question."""
    if not text or text.startswith(ACK_PREFIXES):
        return False, None
    rules = get_rules()
    if any(cue in text for cue in rules.non_fault_cues):
        return False, None
    cue = any(c in text for c in REPAIR_CUES)
    product_word = any(len(w) > 1 and w in text.lower() for w in rules.synonym_to_product)
    if not cue and not product_word:
        return False, None
    result = triage_text(text)
    fields = result.fields
    matched = not result.diagnosis["no_match"]
    if cue:
        named = fields.get("product_type") or fields.get("model") or fields.get("fault_code")
        return bool(named or matched), fields.get("product_type")
    specific = fields.get("model") or fields.get("fault_code")
    return bool(fields.get("product_type") and specific and matched), fields.get("product_type")


def detect(
    messages: list[Message], window_minutes: float = 60, staff: set[str] | None = None
) -> list[Request]:
    """Repair requests among the messages, each with the messages gathered into it."""
    staff = staff or set()
    window = timedelta(minutes=window_minutes)
    open_by_sender: dict[str, Request] = {}
    found: list[Request] = []
    for msg in messages:
        if not msg.text:
            continue
        current = open_by_sender.get(msg.sender)
        if current is not None and msg.at - current.messages[-1].at > window:
            del open_by_sender[msg.sender]
            current = None
        asks, product = (False, None) if _is_staff(msg.sender, staff) else is_request(msg.text)
        if asks:
            other_product = (
                current is not None
                and product is not None
                and current.product_type is not None
                and product != current.product_type
            )
            if current is None or other_product:
                current = Request(msg.sender, product_type=product, previous=current)
                open_by_sender[msg.sender] = current
                found.append(current)
            current.product_type = current.product_type or product
            current.messages.append(msg)
            continue
        if current is not None and not msg.text.startswith(ACK_PREFIXES):
            current.messages.append(msg)
            continue
        quoted = open_by_sender.get(msg.quoted or "")
        if (
            quoted is not None
            and msg.at - quoted.messages[-1].at <= window
            and CONTACT_HINTS.search(msg.text)
            and not _is_staff(msg.sender, staff)
        ):
            quoted.messages.append(msg)
    return found


def display_name(sender: str) -> str | None:
    """A sender's display name when it reads as a person's name (张伟, 王女士), else None."""
    m = re.fullmatch(r"([\u4e00-\u9fff])([\u4e00-\u9fff]{1,2}|先生|女士|小姐)", sender.strip())
    return sender.strip() if m and m.group(1) in SURNAMES else None


CONTACT_FIELDS = ("phone", "address", "customer_name")


def _contact(req: Request | None) -> dict[str, Any]:
    """Contact details a sender gave in an earlier request (a second appliance of the same
    household is reported without repeating them)."""
    if req is None:
        return {}
    fields = triage_text("；".join(m.text for m in req.messages)).fields
    return {k: fields[k] for k in CONTACT_FIELDS if fields.get(k)}


def to_drafts(requests: list[Request], filename: str) -> Iterator[Draft]:
    """One draft per request: its messages joined, linked to their export lines."""
    for req in requests:
        first, last = req.lines
        texts = [m.text for m in req.messages]
        name = display_name(req.sender)
        fallback = {**({"customer_name": name} if name else {}), **_contact(req.previous)}
        yield Draft(
            ref=f"lines {first}-{last}",
            text="；".join(t.replace("\n", " ") for t in texts),
            fallback=fallback,
            fingerprint=fingerprint(CHANNEL, req.sender, req.messages[0].at, texts),
            reported_at=req.messages[0].at,
            transcript=[
                {
                    "line": m.line,
                    "end_line": m.end_line,
                    "at": m.at.isoformat(),
                    "speaker": m.sender,
                    "text": m.text,
                    "file": filename,
                }
                for m in req.messages
            ],
        )


def import_export(
    db: Session,
    path: Path,
    *,
    actor: str,
    filename: str,
    window_minutes: float = 60,
    staff: set[str] | None = None,
    batch: ImportBatch | None = None,
) -> ImportBatch:
    """Import a chat export: every detected request becomes a pending-QC ticket (source
    wechat:FILE) whose transcript holds the message lines it was gathered from."""
    messages = parse(read_export(path))
    requests = detect(messages, window_minutes, staff)
    batch = batch or start_batch(
        db,
        kind=CHANNEL,
        filename=filename,
        file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        actor=actor,
        status="running",
    )
    warnings = [] if requests else ["no repair requests found in the chat"]
    return run_import(
        db,
        batch,
        to_drafts(requests, filename),
        channel=CHANNEL,
        source=f"wechat:{filename}",
        warnings=warnings,
    )
