"""WeChat and WeCom chat exports → pending-QC tickets linked to the lines they came from.

The export is read in any layout people have (intake/chat_formats.py: the PC client's text
export, the phone's merged-forward record, a WeCom session archive, or screenshots by OCR),
then followed as a conversation (intake/chat_reader.py, roles from display names by
intake/chat_roles.py): each repair request becomes one ticket with every message it was
gathered from and why; orders, appointments and withdrawn requests are reported, not ticketed.
"""

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core import clock
from core.errors import ApiError
from intake import chat_formats, chat_ocr, chat_reader
from intake.chat_address import joined_address
from intake.chat_formats import Message
from intake.chat_roles import Roles
from intake.excel_import import SHEET_TZ
from intake.importer import Draft, RowCallback, fingerprint, run_import, start_batch
from intake.models import ImportBatch
from intake.spreadsheet import text_encoding
from triage import phones
from triage.dialect import mandarin
from triage.entities import SURNAMES
from triage.service import triage_text

CHANNEL = "wechat"
TITLED_NAME = chat_reader.TITLED_NAME
Request = chat_reader.Request


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
    """Messages of an export in any layout chat_formats recognises; a 422 when none is found."""
    return chat_formats.parse(text)


def load_roles(path: Path | None) -> Roles | None:
    """Role prefixes from a YAML/JSON file ({role: [words]}) added to the defaults; a 422 when
    the file is not such a mapping."""
    if path is None:
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("expected a mapping of role to a list of words")
        return Roles({str(k): [str(w) for w in v or []] for k, v in data.items()})
    except (yaml.YAMLError, ValueError, UnicodeDecodeError, TypeError) as exc:
        raise ApiError(422, "invalid_roles", f"Roles file not understood: {exc}") from exc


def detect(
    messages: list[Message],
    window_minutes: float = 60,
    staff: set[str] | None = None,
    roles: Roles | None = None,
) -> list[Request]:
    """Repair requests among the messages, each with the messages gathered into it."""
    return read_chat(messages, window_minutes, staff, roles).requests


def read_chat(
    messages: list[Message],
    window_minutes: float = 60,
    staff: set[str] | None = None,
    roles: Roles | None = None,
) -> chat_reader.Reading:
    """The conversation's requests and the messages left out (orders, withdrawn …)."""
    roles = roles or Roles(staff_names=sorted(staff or ()))
    if staff:
        roles.staff_names |= staff
    return chat_reader.read(messages, roles, window_minutes)


def display_name(sender: str) -> str | None:
    """A sender's display name when it reads as a person's name (张伟, 王女士, and 王女士 of
    顾客-王女士), else None."""
    name = Roles().of(sender).name.strip()
    m = re.fullmatch(r"([\u4e00-\u9fff])([\u4e00-\u9fff]{1,2}|先生|女士|小姐|阿姨|师傅)", name)
    return name if m and m.group(1) in SURNAMES else None


CONTACT_FIELDS = ("phone", "phones", "address", "customer_name")


def _contact(req: Request | None) -> dict[str, Any]:
    """Contact details given in an earlier request of the same household (a second
    appliance is reported without repeating them)."""
    if req is None:
        return {}
    said = "；".join(req.contact_texts())
    fields = dict(triage_text(said).fields)
    fields["address"] = joined_address(req.texts()) or fields.get("address")
    if not fields.get("customer_name"):
        name = display_name(req.sender) if req.role == "customer" else None
        titled = TITLED_NAME.search(said)
        fields["customer_name"] = name or (titled.group(0) if titled else None)
    return {k: fields[k] for k in CONTACT_FIELDS if fields.get(k)}


# A relay saying it is the contact, without a number (联系物业这边就行, 找我们).
DESK = re.compile(r"(?:联系|找|打)(?:物业|我们|我)(?:这边|前台|办公室)?(?:就行|就可以|就好)?")
DESK_WINDOW = timedelta(hours=1)
# Which of the numbers given before to call, by its kind (这个打我手机就行; 打座机).
PICK_KIND = re.compile(r"打(?:我|他|她|佢)?的?(手机|座机)")


def _kind_told(texts: list[str], said: list[str]) -> str | None:
    """The request's number of the kind a later message, giving no number itself, says to
    call from now on (座机没人接，他说打手机); not one said for a case (没人接就打手机)."""
    for text in reversed(texts[1:]):
        plain = mandarin(text)
        m = PICK_KIND.search(plain)
        if m is None or phones.numbers(text):
            continue
        clause = re.split(r"[，,。；;！!？?\s]", plain[: m.start()])[-1]
        if phones.CONDITION.search(clause):
            return None
        mobile = m.group(1) == "手机"
        return next((n for n in said if bool(phones.MOBILE.fullmatch(n)) == mobile), None)
    return None


def _desk_pointed(req: Request, requests: list[Request]) -> list[str]:
    """The numbers of the relay that passed a resident's request on saying to call it
    (联系物业这边就行), as it gave them for its own request."""
    for msg in req.messages:
        if msg.sender == req.sender or req.roles.get(msg.sender) != "relay":
            continue
        if DESK.search(mandarin(msg.text)):
            own = (r.desk_numbers() for r in requests if r.sender == msg.sender)
            if desk := next((d for d in own if d), None):
                return desk
    return []


def _which_number(contact: dict[str, Any], said: str) -> dict[str, Any]:
    """The contact of the request before, narrowed to the number of the kind a request that
    gives none asks for (this one on my mobile: not the landline given with it)."""
    m = PICK_KIND.search(mandarin(said))
    if not m or not contact.get("phones") or phones.numbers(said):
        return contact
    mobile = m.group(1) == "手机"
    picked = [n for n in contact["phones"] if bool(phones.MOBILE.fullmatch(n)) == mobile]
    return {**contact, "phone": picked[0], "phones": picked} if picked else contact


def to_drafts(
    requests: list[Request], filename: str, skipped: list[chat_reader.Skipped] = ()
) -> Iterator[Draft]:
    """One draft per request: its messages joined, linked to their export lines, with why
    they were gathered or split; then a skipped row for each order, appointment or
    withdrawn request, so the report shows what was left out."""
    for req in requests:
        first, last = req.lines
        texts = req.contact_texts()
        # A relay (a store, a property manager) reports for someone else: its own display
        # name is not the customer's.
        name = display_name(req.sender) if req.role == "customer" else None
        if name is None:
            # 帮业主马大姐报修 / 王女士 138… / 夏先生的邻居孔阿姨 (孔阿姨)
            name = chat_reader.item_customer("；".join(texts), message=req.item is None)
        # The request before gives the contact of the same household: a customer's own, or
        # a relay's when it says so (电话同上).
        # A technician's fault with no number of its own is in the household of their job.
        joined = "；".join(texts)
        same = (
            req.role == "customer"
            or req.same_customer
            or chat_reader.SAME_AS.search(joined)
            or (req.role == "technician" and not phones.numbers(joined))
        )
        previous = _which_number(_contact(req.previous) if same else {}, joined)
        if not same and req.role == "relay" and not phones.numbers(joined):
            # A relay's second request is reached as its first was: in the same conversation
            # (找我 曹工 139…, then 还有一个…), or when it says so (联系物业这边就行).
            before = req.previous if req.previous and req.previous.sender == req.sender else None
            soon = before is not None and req.messages[0].at - before.last_at <= DESK_WINDOW
            if before and (soon or DESK.search(joined)) and (desk := before.desk_numbers()):
                previous = {"phone": desk[0], "phones": desk}
        elif not phones.numbers(joined) and (desk := _desk_pointed(req, requests)):
            previous = {**previous, "phone": desk[0], "phones": desk}
        fallback = {**previous, **({"customer_name": name} if name else {})}
        address = joined_address(texts)
        # The product the request was opened on: a staff reply naming another appliance
        # in passing does not move the diagnosis.
        given = {"product_type": req.product_type} if req.product_type else {}
        if model := _corrected_model(texts):
            given["model"] = model
        if contact := _contact_name(req, texts):
            given["customer_name"] = contact
        elif req.role != "customer" and name:
            given["customer_name"] = name  # whom a relay reports for (…的邻居孔阿姨)
        elif req.role == "relay" and (own := display_name(req.sender) or _nickname(req.sender)):
            given["customer_name"] = own  # a property manager reporting with no one named
        # The relay's own number is kept; a number said to be the customer's is the one to
        # call (not the relay's office line given beside its own: 现场联系我 159…，管理处座机…).
        said, mine, customers = phones.numbers(joined), req.own_numbers(), req.customers_numbers()
        if said and said[0] in mine and (others := [n for n in said if n in customers - mine]):
            given["phone"] = others[0]
        if picked := _kind_told(texts, said):
            given["phone"] = picked  # 座机没人接，他说打手机: the mobile given before
        if hardware_id := _said_hardware_id(texts):
            given["hardware_id"] = hardware_id
        yield Draft(
            given=given | ({"address": address} if address else {}),
            ref=f"lines {first}-{last}" + (f" item {req.item_line}" if req.item_line else ""),
            why=list(req.why),
            note="；".join(req.why) if len(req.why) > 1 else None,
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
    for skip in skipped:
        yield Draft(ref=f"lines {skip.line}-{skip.end_line}", skip=skip.reason, why=[skip.kind])


KIN = "(?:老婆|老公|爱人|儿子|女儿|家人|父亲|母亲|爸|妈)"
# Whom to call, said outright: 他叫沈国良, 联系行政唐小姐, 找老徐; 找我 is the sender.
CONTACT = re.compile(
    rf"(?:叫|联系人?|找)(?:(?:我|他|她)的?{KIN}?|行政|前台|值班的?|物业的?)?(?P<name>(?:老|小)[\u4e00-\u9fff]"
    rf"|[{''.join(sorted(SURNAMES))}](?:先生|女士|小姐|阿姨|大姐|经理|师傅|工|[\u4e00-\u9fff]{{1,2}}))"
    rf"|(?:找|联系|打)我(?!的?{KIN})"
)
NOT_NAMES = ("小区", "小时", "老家", "小孩")
# A device's own number said with its label (梯号3-2, 桩身上的号是 PJ-7K-0088, 编号 SN-…).
HARDWARE_LABEL = re.compile(
    r"(?:SN|序列号|设备编号|设备号|机身码|机器编号|桩号|梯号|电梯编号|注册代码|编号|(?:桩|机)身?上的号(?:码)?)"
    r"[^，,。；;：:\dA-Za-z]{0,8}?(?:是|为)?[:：]?\s*(?P<id>[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)"
)


def _contact_name(req: Request, texts: list[str]) -> str | None:
    """The person to call, as the chat names them: someone named as the contact (他叫…,
    联系行政唐小姐, 找老徐, or the sender of 找我), else a customer's own display name (not how
    staff greet them: 沈先生 for 沈建平)."""
    roles = Roles()
    for msg, text in zip(req.messages, texts, strict=True):
        if roles.of(msg.sender, msg.external).role == "staff":
            continue
        for m in CONTACT.finditer(text):
            name = m.group("name") or display_name(msg.sender) or _nickname(msg.sender)
            if name and name not in NOT_NAMES:
                return name
        titled = TITLED_NAME.search(text) if msg.sender == req.sender else None
        if titled and req.role == "customer":
            return titled.group(0)
    if req.role == "customer":
        return display_name(req.sender) or _nickname(req.sender) or _surname_called(req)
    return None


def _nickname(sender: str) -> str | None:
    """How colleagues call someone: 小邵, 老韩 (of 物业-小邵, 物业-工程部老沈)."""
    name = Roles().of(sender).name.strip()
    m = re.search(r"(?:^|[^\u4e00-\u9fff]|部|处|科|组)([老小阿][\u4e00-\u9fff])$", name)
    return m.group(1) if m else None


def _surname_called(req: Request) -> str | None:
    """A customer who gives only a surname (我姓何) is called as our staff call them (何女士)."""
    said = re.search(r"姓([\u4e00-\u9fff])", "；".join(req.texts()))
    if said is None:
        return None
    called = (m.group(0) for t in req.heard for m in TITLED_NAME.finditer(t))
    return next((c for c in called if c[0] == said.group(1)), None)


def _said_hardware_id(texts: list[str]) -> str | None:
    """A device number as written, dashes kept (SN-E11K-2207-0193, 3-2); a phone is none."""
    for text in texts:
        for m in HARDWARE_LABEL.finditer(text):
            said = m.group("id")
            if any(c.isdigit() for c in said) and not phones.numbers(said):
                return said.upper()
    return None


def _corrected_model(texts: list[str]) -> str | None:
    """The model a later message corrects (铭牌看错了，是BCD-450，不是300), if any."""
    model = None
    for text in texts[1:]:
        if phones.CORRECTION.search(text) and (said := chat_reader.facts_of(text).get("model")):
            model = said
    return model


def import_export(
    db: Session,
    path: Path,
    *,
    actor: str,
    filename: str,
    window_minutes: float = 60,
    staff: set[str] | None = None,
    batch: ImportBatch | None = None,
    roles: Roles | None = None,
    on_row: RowCallback | None = None,
) -> ImportBatch:
    """Import a chat export: every detected request becomes a pending-QC ticket (source
    wechat:FILE) whose transcript holds the message lines it was gathered from."""
    messages = parse(read_export(path))
    reading = read_chat(messages, window_minutes, staff, roles)
    requests = reading.requests
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
        to_drafts(requests, filename, reading.skipped),
        channel=CHANNEL,
        source=f"wechat:{filename}",
        warnings=warnings,
        on_row=on_row,
    )
