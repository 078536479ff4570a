"""Following a service chat: which messages are repair requests, and every fact of each.

A conversation is read in order, with each sender's role (intake/chat_roles.py):
- a customer, or a relay (a store or property manager reporting for someone else), starts a
  request with a message that reports a fault on a product; staff start one only when they
  relay it (帮业主报修…, 派单…), technicians never (their group talk is about work done);
- a numbered message (1. … 2. …) with an own product and fault per item is split into one
  request per item, each keeping the shared lines around the list;
- the owner's later messages within the window, and the replies of staff or of the
  conversation's other side that add facts (the model read off a nameplate, an address, a
  phone), are gathered into the open request: the staff reply that quotes it, else the one
  most recently active in the conversation;
- a later number after a correction (电话写错了，是…) replaces the earlier one;
- a request its owner withdraws (自己弄好了，不用来了) is dropped, and messages that are
  consumables orders, cleaning/installation appointments or chit-chat start nothing.
Every request keeps why it was gathered, split or dropped, line by line.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from intake.chat_formats import Message
from intake.chat_roles import CUSTOMER, RELAY, STAFF, TECHNICIAN, Roles
from triage import phones
from triage.rules import get_rules
from triage.service import triage_text

REPAIR_CUES = (
    "坏了", "坏掉", "故障", "维修", "修一下", "修理", "报修", "来修", "不能", "不了",
    "没反应", "不工作", "不制冷", "不制热", "不加热", "漏水", "滴水", "渗水", "漏电", "异响",
    "响声",
    "噪音", "报错", "报警", "故障码", "显示E", "失灵", "打不开", "开不了", "无法", "不亮",
    "不转", "不出水", "卡住", "停了", "困人", "抖动", "跳闸", "充不上", "充不进", "有问题",
    "出问题", "连不上", "离线", "没电", "识别不了", "不识别", "不启动", "启动不了", "黑屏",
    "不排水", "不脱水", "结冰", "不吸", "不动了", "关不上", "锁不上", "不出热水", "熄火",
    "不冷", "不热", "不凉", "不制", "冒烟", "焦味", "打不着", "点不着", "不点火", "不通电",
    "不显示", "乱码", "闪烁", "不好使", "不灵", "失效", "掉电", "断电", "短路", "烧了", "不运行",
    "不停", "一直响", "嗡嗡", "咔咔", "滴滴", "漏氟", "缺氟", "堵了", "堵住", "不下水",
    "出水小", "出水很小", "水很小", "水压小",
)  # fmt: skip
ACK_PREFIXES = ("收到", "好的", "已安排", "已登记", "已派", "稍等", "马上", "谢谢", "ok", "OK")
WITHDRAW = re.compile(
    r"(不用来了|不用过来|别来了|不用上门|不用修了|不用派|不需要(?:上门|维修|来|了)|取消(?:报修|维修|预约|一下|吧|了)?"
    r"|撤销|自己(?:弄|修|搞|调|处理)好了|已经好了|又好了|现在好了|恢复正常|没事了|好了不用|不麻烦了)"
)
ORDER = re.compile(
    r"(滤芯|耗材|配件|下单|订购|订一|订[0-9一二两三四五六七八九十]+|买[0-9一二两三四五六七八九十]+|"
    r"要[0-9一二两三四五六七八九十]+(?:个|支|套|箱|根|盒)|补货|发货|快递|寄[一两几]|采购|进货)"
)
APPOINTMENT = re.compile(r"(清洗|清洁|保养|消毒|除垢|安装|移机|拆机|装机|预约|年检|维保)")
# A technician passes on a call (客户来电…电话…) but reports work done (修好了) as chit-chat.
DONE = re.compile(r"(修好|搞定|已处理|处理好|完工|换好|弄好|已完成|结单|已上门)")
REINSTATE = re.compile(r"(还是不行|还是要来|还是得来|又坏了|又不行了|还得麻烦|还是麻烦)")
ITEM_REF = re.compile(
    r"(?:第\s*([1-9一二三四五六七八九])|([1-9一二三四五六七八九])\s*[号项单条])|([①②③④⑤⑥⑦⑧⑨])"
)
RELAY_CUE = re.compile(r"(帮|替|代|转达|派单|新单|工单|报修单|业主|顾客|客户|住户|老人家|来电)")
ITEM = re.compile(
    r"(?:(?<=^)|(?<=[\n\s，,；;。]))(?:[(（]?(?P<n>[1-9]|[一二三四五六七八九])[)）.、．:：]"
    r"|(?P<c>[①②③④⑤⑥⑦⑧⑨])|第(?P<k>[一二三四五六七八九1-9])(?:个|台|家|户)?[,，:：、]?)"
)
FACTS = ("model", "phone", "address", "fault_code", "hardware_id", "customer_name")


@dataclass
class Request:
    """A repair request gathered from one or more messages."""

    sender: str
    role: str
    messages: list[Message] = field(default_factory=list)
    product_type: str | None = None
    item: str | None = None  # the item's own text, for one item of a numbered list
    item_line: int | None = None
    shared: str = ""  # the lines around a numbered list, said for every item
    previous: "Request | None" = None  # the owner's request just before (contact details)
    why: list[str] = field(default_factory=list)
    withdrawn: str | None = None

    @property
    def lines(self) -> tuple[int, int]:
        """First and last export line of the request."""
        first = self.item_line or self.messages[0].line
        return first, max(m.end_line for m in self.messages)

    @property
    def last_at(self) -> datetime:
        return self.messages[-1].at

    def texts(self) -> list[str]:
        """The request's words: the item (with the list's shared lines) or the first message,
        then every gathered message."""
        first = self.messages[0].text
        if self.item is not None:
            first = "；".join(x for x in (self.item, self.shared) if x)
        return [first, *(m.text for m in self.messages[1:])]


@dataclass
class Skipped:
    """A message that looked like a request but makes no repair ticket, and why."""

    line: int
    end_line: int
    sender: str
    kind: str  # withdrawn | order | appointment
    reason: str


@dataclass
class Reading:
    """What a conversation holds: the repair requests and what was left out, and why."""

    requests: list[Request]
    skipped: list[Skipped]


@lru_cache(maxsize=4096)
def _triaged(text: str) -> tuple[str | None, bool, tuple[tuple[str, str], ...]]:
    result = triage_text(text)
    fields = dict(result.fields)
    if result.diagnosis.get("product_source") == "near_misses":
        # A guess from entries that did not match: the message itself names no appliance
        # (我家狗把遥控器咬坏了 is no air-conditioner repair).
        fields["product_type"] = None
    facts = tuple((k, str(fields[k])) for k in (*FACTS, "product_type") if fields.get(k))
    return fields.get("product_type"), not result.diagnosis["no_match"], facts


def facts_of(text: str) -> dict[str, str]:
    """The ticket facts a message states (model, phone, address, code, id, name, product)."""
    if not text.strip():
        return {}
    return dict(_triaged(text[:2000])[2])


def kind_of(text: str) -> tuple[str | None, str | None]:
    """What a message asks for: ("repair", product) when it reports a fault on a product;
    ("order" | "appointment", None) for consumables and cleaning/installation; else None."""
    if not text or text.startswith(ACK_PREFIXES):
        return None, None
    cue = any(c in text for c in REPAIR_CUES)
    if not cue:
        if ORDER.search(text):
            return "order", None
        if APPOINTMENT.search(text):
            return "appointment", None
    rules = get_rules()
    if not cue and any(c in text for c in rules.non_fault_cues):
        return None, None
    product_word = any(len(w) > 1 and w in text.lower() for w in rules.synonym_to_product)
    if not cue and not product_word:
        return None, None
    product, matched, facts = _triaged(text[:2000])
    named = dict(facts)
    if cue:
        if named.get("model") or named.get("fault_code") or product or matched:
            return "repair", product
        return None, None
    specific = named.get("model") or named.get("fault_code")
    return ("repair", product) if product and specific and matched else (None, None)


def split_items(text: str) -> tuple[list[tuple[int, str]], str]:
    """A numbered message's items (line offset within the message, text) and the shared text
    around them; one item (the whole text) when it is no numbered list."""
    marks = list(ITEM.finditer(text))
    if len(marks) < 2:
        return [(0, text)], ""
    items = []
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(text)
        body = text[m.end() : end]
        # The last item ends at its line; what follows is said for all of them.
        tail = ""
        if k + 1 == len(marks) and "\n" in body.strip("\n"):
            body, tail = body.strip("\n").split("\n", 1)
        items.append((text[: m.start()].count("\n"), body.strip(" ，,；;。\n")))
        if tail:
            items.append((-1, tail))
    shared = [t for off, t in items if off < 0]
    items = [(off, t) for off, t in items if off >= 0]
    head = text[: marks[0].start()].strip()
    return items, "；".join(x for x in (head, *shared) if x)


def read(
    messages: list[Message], roles: Roles | None = None, window_minutes: float = 60
) -> Reading:
    """The repair requests of a conversation and the messages left out, in order."""
    roles = roles or Roles()
    window = timedelta(minutes=window_minutes)
    withdraw_window = timedelta(hours=24)
    by_owner: dict[str, Request] = {}
    found: list[Request] = []
    skipped: list[Skipped] = []
    for msg in messages:
        if not msg.text:
            continue
        speaker = roles.of(msg.sender, msg.external)
        current = by_owner.get(msg.sender)
        if current is not None and msg.at - current.last_at > window:
            current = None
        target = by_owner.get(msg.sender)
        withdraws = speaker.role in (CUSTOMER, RELAY) and WITHDRAW.search(msg.text)
        if (
            withdraws
            and target
            and not target.withdrawn
            and msg.at - target.last_at <= withdraw_window
        ):
            for req in _withdrawn_items(msg, _same_message(found, target)):
                req.withdrawn = f"line {msg.line}: {msg.text[:40]}"
                req.messages.append(msg)
            continue
        if target and target.withdrawn and REINSTATE.search(msg.text):
            # The customer changed their mind (还是不行，还是要来): the request stands.
            target.withdrawn = None
            target.messages.append(msg)
            target.why.append(f"line {msg.line}: withdrawn, then asked for again")
            continue
        kind, product = (None, None)
        relays = RELAY_CUE.search(msg.text) and phones.numbers(msg.text)
        if (
            speaker.role in (CUSTOMER, RELAY)
            or (speaker.role == STAFF and relays)
            or (speaker.role == TECHNICIAN and relays and not DONE.search(msg.text))
        ):
            kind, product = kind_of(msg.text)
            if kind == "repair" and speaker.role in (STAFF, TECHNICIAN):
                kind = None if _confirms(msg, by_owner, window, product) else kind
        if kind in ("order", "appointment") and current is None:
            label = "耗材订购" if kind == "order" else "预约清洗/安装"
            skipped.append(
                Skipped(msg.line, msg.end_line, msg.sender, kind, f"{label}（不是报修）")
            )
            continue
        if kind == "repair":
            new = _start(msg, speaker.role, product, current, found, by_owner)
            if new:
                continue
            assert current is not None
            current.messages.append(msg)
            current.why.append(f"line {msg.line}: same sender, same product, within the window")
            continue
        if msg.text.startswith(ACK_PREFIXES) and not facts_of(msg.text):
            continue
        if current is not None and speaker.role in (CUSTOMER, RELAY):
            for req in _same_message(found, current):
                req.messages.append(msg)
                req.why.append(f"line {msg.line}: the sender's follow-up within the window")
            continue
        target = _addressee(msg, by_owner, window)
        if (
            target is not None
            and speaker.role != TECHNICIAN
            and _adds_facts(msg, target, speaker.role)
        ):
            target.messages.append(msg)
            who = "staff" if speaker.role == STAFF else speaker.role
            target.why.append(
                f"line {msg.line}: {who} reply with facts of {target.sender}'s request"
            )
    return Reading([r for r in found if not r.withdrawn], skipped + _withdrawn(found))


def _start(
    msg: Message,
    role: str,
    product: str | None,
    current: Request | None,
    found: list[Request],
    by_owner: dict[str, Request],
) -> bool:
    """Open the request(s) a message starts; False when it continues the current one."""
    items, shared = split_items(msg.text)
    repairs = [(off, t) for off, t in items if kind_of(t)[0] == "repair"]
    if len(repairs) >= 2:
        made = []
        for k, (off, text) in enumerate(repairs, start=1):
            req = Request(msg.sender, role, [msg], kind_of(text)[1], previous=current)
            req.item, req.item_line, req.shared = text, msg.line_of(off), shared
            req.why.append(f"line {msg.line}: item {k} of {len(repairs)} of a numbered list, split")
            made.append(req)
        found.extend(made)
        by_owner[msg.sender] = made[-1]
        return True
    other_product = (
        current is not None
        and product is not None
        and current.product_type is not None
        and product != current.product_type
    )
    said = phones.numbers(msg.text)
    other_customer = (
        current is not None
        and bool(said)
        and not phones.CORRECTION.search(msg.text)
        and not set(said) & set(phones.numbers("；".join(current.texts())))
    )
    if current is not None and not other_product and not other_customer:
        return False
    req = Request(msg.sender, role, [msg], product, previous=current)
    req.why.append(
        f"line {msg.line}: {role} reports a fault" + (f" on {product}" if product else "")
    )
    if current is not None:
        what = "another product" if other_product else "another phone number"
        req.why.append(f"split from the request at line {current.lines[0]}: {what}")
    found.append(req)
    by_owner[msg.sender] = req
    return True


def _confirms(
    msg: Message, by_owner: dict[str, Request], window: timedelta, product: str | None
) -> bool:
    """Staff repeating a live request back (登记了：王女士 空调… 138…): the same product and
    a phone the request already has; its facts join that request instead of a new one."""
    live = _addressee(msg, by_owner, window)
    if live is None or live.sender == msg.sender:
        return False
    same_product = product is None or live.product_type in (None, product)
    said = set(phones.numbers(msg.text))
    return same_product and bool(said & set(phones.numbers("；".join(live.texts()))))


def _withdrawn_items(msg: Message, siblings: list[Request]) -> list[Request]:
    """Which items of a numbered list a withdrawal means: the one it numbers (1号那个, 第二个,
    ①), else those whose product or customer it names, else all of them."""
    if len(siblings) == 1:
        return siblings
    order = "123456789"
    for m in ITEM_REF.finditer(msg.text):
        ref = m.group(1) or m.group(2) or m.group(3)
        k = order.find(ref) if ref.isdigit() else "一二三四五六七八九".find(ref)
        if k < 0:
            k = "①②③④⑤⑥⑦⑧⑨".find(ref)
        if 0 <= k < len(siblings):
            return [siblings[k]]
    named = facts_of(msg.text)
    chosen = [
        r
        for r in siblings
        if (named.get("product_type") and named["product_type"] == r.product_type)
        or (
            r.item
            and any(
                n in r.item
                for n in re.findall(r"[\u4e00-\u9fff](?:先生|女士|阿姨|大姐|大爷)", msg.text)
            )
        )
    ]
    return chosen or siblings


def _same_message(found: list[Request], req: Request) -> list[Request]:
    """The request and its siblings split from the same numbered message."""
    if req.item is None:
        return [req]
    first = req.messages[0]
    return [r for r in found if r.item is not None and r.messages[0] is first]


def _addressee(msg: Message, by_owner: dict[str, Request], window: timedelta) -> Request | None:
    """The open request a reply is about: the one it quotes, else the most recent one."""
    if msg.quoted:
        quoted = by_owner.get(msg.quoted)
        if quoted is None:
            quoted = next((r for s, r in by_owner.items() if msg.quoted in s), None)
        if quoted is not None and msg.at - quoted.last_at <= window:
            return quoted
    live = [r for r in by_owner.values() if msg.at - r.last_at <= window and not r.withdrawn]
    return max(live, key=lambda r: r.last_at) if live else None


def _adds_facts(msg: Message, req: Request, role: str) -> bool:
    """A reply belongs to a request when it states facts the request lacks (a model read off
    the nameplate, an address, a phone) and names no other product."""
    said = facts_of(msg.text)
    if role == STAFF:
        # Staff greet the customer by name while asking; only what they read or relay counts.
        said.pop("customer_name", None)
        if "师傅" in msg.text:
            said.pop("phone", None)  # the technician's number, not the customer's
    if not said:
        return False
    have = facts_of("；".join(req.texts()))
    if said.get("product_type") and req.product_type and said["product_type"] != req.product_type:
        return False
    return any(k != "product_type" and v != have.get(k) for k, v in said.items())


def _withdrawn(found: list[Request]) -> list[Skipped]:
    return [
        Skipped(*r.lines, r.sender, "withdrawn", f"撤回：{r.withdrawn}")
        for r in found
        if r.withdrawn
    ]
