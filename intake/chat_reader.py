"""Following a service chat: which messages are repair requests, and every fact of each.

A conversation is read in order, with each sender's role (intake/chat_roles.py: display-name
prefixes, else what the sender says over the chat):
- a customer, or a relay (a store or property manager reporting for someone else), starts a
  request with a message that reports a fault on an appliance (a fault said before the
  appliance is named waits for the conversation to name it); staff start one only when they
  pass one on with whom it concerns; technicians when they pass on a call or report a fault
  that needs another visit, never work done;
- a numbered message (1. 1、 (1) ① 第一 一、…, counted 1, 2, 3 in one style) is split into one
  request per item on an appliance, and a message that goes on to another appliance (还有…)
  into one per appliance; later messages about the items go item by item, and items posted
  again in full (二、… 三、…, one a line) complete theirs;
- the owner's later messages within the window, and replies that add facts (the model read
  off a nameplate, an address, a phone), are gathered into the request they are about: the
  one they quote or name, else the most recently active one;
- corrections (电话写错了，是…; 铭牌看错了) win, in the request whose customer, item or place
  they name (also hours later, also from a technician), and in the household's request the
  number was taken from; a request its owner withdraws, or staff or a technician say was called
  off (2号单…说不用来了), is dropped; orders, appointments, questions, notices, shop news and
  chit-chat start nothing.
Every request keeps why it was gathered, split, routed or dropped, line by line.
"""

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise

from intake.chat_address import FLAT, address_pieces
from intake.chat_formats import Message
from intake.chat_phones import (
    customer_numbers,
    customer_texts,
    desk_numbers,
    numbers_for_customer,
    own_numbers,
    theirs,
)
from intake.chat_roles import CUSTOMER, RELAY, ROLE_LABELS, STAFF, TECHNICIAN, Roles
from triage import phones
from triage.dialect import mandarin
from triage.entities import SURNAMES
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
    "出水小", "出水很小", "水很小", "水压小", "不对劲", "晃得", "摇晃", "晃动", "震动", "振动",
    "咚咚", "转圈", "出风小", "出风很小", "风很小", "怪味", "异味", "臭味", "烧焦", "认不出",
    "一滴一滴", "声音特别大", "声音很大", "声音大", "很响", "不灵敏", "没反应", "异常", "乱撞",
    "哐当", "咣当",
)  # fmt: skip
# Fault talk beyond the word list: an appliance that will not do its job (不充电, 不出水),
# will not go (回不去), or makes a noise said twice over (吱吱, 咔咔).
FAULT = re.compile(
    r"(?:不|没法|没办法|无法)(?:充|出|转|动|亮|开|关|制|加|排|脱|吸|启|运|通|显|点|识|认|锁|进|热|冷|凉|平|工作"
    r"|反应)"
    r"|[回进打关放拔插拧装盖合推拉按认识甩吹转锁点充排脱烘烧加启连](?:不[去进开上出下动住干着到掉起])"
    r"|([吱咔嗡嘎滋哐咚嘀])\1|(?:一直|老是|总是|特别|很|好)响"
    r"|(?:一直|老是|总是)(?:闪|跳|叫|滴|报警|亮红灯|开开关关|在?原地转|停)|(?:很|在|有点|一直|老是|坐着|发)抖"
    r"|打滑|往下溜|没(?:冷气|热水|暖气|风|声音)|一会儿?冷一会儿?热|忽冷忽热|时冷时热|变(?:冷水|凉了|冷了)"
    r"|声音(?:像|跟)|像拖拉机|停不下|关不[严紧]|合不上|[滴漏渗]油|屏幕?黑了|(?:自动|自己)(?:关|停|断)[机了]"
    r"|好几次才|半天才|跳起来|不够(?:热|冷|凉|烫|劲)|(?:不会|不能|没有?)(?:自己|自动)(?:上锁|落锁|锁|关|停|回充)"
    r"|(?:出水|出风|水压|风力|吸力)(?:很|好|超|特别|太|非常|有点|比较)?[小弱]"
    r"|[充出加制](?:得|的)(?:很|好|超|特别|太|非常|有点)?慢"
    r"|[掉坏断裂松脱丢]了"
    # A leak told by where the water is (地板湿了, 墙上都是水渍, 地上一滩水).
    r"|水渍|(?:地板|地上|地面|墙上|墙面|柜子|底下|下面)[都全就也又]{0,2}(?:湿|是水|有水|一[滩摊]水)"
)
ACK_PREFIXES = ("收到", "好的", "已安排", "已登记", "已派", "稍等", "马上", "谢谢", "ok", "OK")
WITHDRAW = re.compile(
    r"(不用了[^。？?]{0,24}(?:好了|没事了|正常了)|不用来了|不用过来|别来了|不用上门|不用修了|不用派|不需要(?:上门|维修|来|了)|取消(?:报修|维修|预约|一下|吧|了)?"
    r"|撤销|自己(?:弄|修|搞|调|处理)好了|已经好了|又好了|现在好了|恢复正常|没事了|好了不用|不麻烦了"
    r"|换(?:了|完)[^。？?]{0,8}(?:好了|正常了|可以了)|(?:^|[，,。\s])不用了[。！!~～\s]*$)"
)
# Only "it works now": after our side's remote help (升级, 复位, 重启 …) that is the repair
# done, not a withdrawal.
CALLED_OFF = re.compile(
    r"(不用来|不用过来|别来|不用上门|不用修|不用派|不需要|取消|撤销|自己|不麻烦|不用了)"
)
ASKS = re.compile(r"[?？]\s*$|吗\s*$|是吧\s*$")
JOKE = re.compile(r"(哈哈|呵呵|嘻嘻|😂|🤣|\[捂脸\]|\[偷笑\]|\[破涕为笑\])")
# Whose appliance a message is about (我家…, 业主…, 3幢那台…, 1号楼的电梯).
OWNED = re.compile(
    r"(我家|我们家|我的|家里|她家|他家|业主|顾客|客户|住户|租客|房间|幢|栋|号楼|这台|那台|这个|那个|店里)"
)
# "Works now" after a technician came (师傅来过了…现在好了) is the repair done.
VISITED = re.compile(r"(师傅|来过|上门|修好|清掉|处理了|弄好了)")
GUIDANCE = re.compile(r"(远程|升级|复位|重启|重置|断电|按住|长按|试一下|试试|操作一下|设置一下)")
# Staff or a technician passing on a customer's cancellation (王女士说不用来了; 这单取消;
# 蒋女士说她老公换了电池好了，不用去了): never "好了" alone (work done).
STAFF_WITHDRAW = re.compile(
    r"(取消(?:报修|维修|上门|工单|了|吧)|撤单|这单不用|单不用(?:去|来|上门)了|(?:说|讲|表示|那边)[^。]{0,30}?"
    r"(?:不用来了|不用去了|不用过来了|不用上门|不需要上门|不修了))"
)
# Fixed by our side from afar (远程升级后好了，不用上门): a repair done, not a cancellation.
REMOTE = re.compile(r"(远程|升级)")
ORDER = re.compile(
    r"(滤芯|耗材|配件|下单|订购|订一|订[0-9一二两三四五六七八九十]+|买[0-9一二两三四五六七八九十]+|"
    r"要[0-9一二两三四五六七八九十]+(?:个|支|套|箱|根|盒)|补货|发货|快递|寄[一两几]|采购|进货)"
)
APPOINTMENT = re.compile(
    r"(清洗|清洁|保养|消毒|除垢|安装|移机|拆机|装机|预约|年检|维保)(?!公司|报告|单位|合同|记录)"
)
# Small talk between the messages of a request (thanks, greetings, shop news).
CHITCHAT = re.compile(r"(辛苦|谢谢|感谢|明天见|再见|早上好|晚安|吃饭|搞活动|活动|优惠|放假|请假)")
# Shop news about goods (今天店里到了一批新款门锁样机): no fault said, no request.
NEWS = re.compile(r"(新款|新品|样机|到货|上新|到了一批|进了一批)")
PRAISE = re.compile(r"(修得(?:很|挺|真|特别)?好|点赞|好评|服务(?:很|真|挺)?好|辛苦)")
PARTS = re.compile(r"(仓库|配件|调一?[根个块台]|申请|车上没有?|带的不够|还有没有|谁有)")
# Whom a message opens by speaking to (郑经理，… / @林晓 …): not whom it is about.
VOCATIVE = re.compile(r"^\s*(?:@\S+\s+|[^，,。\s]{1,6}[，,]\s*)")
SELF = re.compile(r"我(?:是|姓|叫)")  # 我是蒋女士 names the sender, not someone else
# Where a message goes on to another matter (…。还有她家冰箱…; 另外…).
MORE = re.compile(r"(?:^|[\n。；;，,！!])\s*((?:还有|另外|再就是|顺便说下)(?!没有))")
# Notices to the group (厂家通知：…召回) are no request.
NOTICE = re.compile(r"^\s*(?:【?(?:通知|公告|提醒|温馨提示|厂家通知|仓库通知)】?[:：]|各位)")
GROUP = re.compile(r"^\s*各位[，,\s]")
# … but a greeting to the group (各位早，3栋电梯…) opens a report like any other.
GREETING = re.compile(r"^\s*各位(?:师傅|老师|同事|领导)?(?:早上?好?|好|下午好|晚上好)[，,！!。\s]+")
# A technician passes on a call (客户来电…电话…) but reports work done (修好了) as chit-chat.
DONE = re.compile(r"(?<![没未不])(修好|搞定|已处理|处理好|完工|换好|弄好|已完成|结单|已上门)")
REINSTATE = re.compile(
    r"(还是不行|还是要来|还是得来|又坏了|又不行了|还得麻烦|还是麻烦|还是一样|没用)"
)
# An item of a list named later (1号那个, 第二个, ②); not 3号楼 or 12号.
ITEM_REF = re.compile(
    r"(?:第\s*([1-9一二三四五六七八九])(?![0-9幢栋楼层])|(?<![0-9])([1-9一二三四五六七八九])\s*[号项单条]"
    r"(?![0-9楼幢栋房室梯桩线口门院])|([①②③④⑤⑥⑦⑧⑨]))"
)
# A question or a price/warranty enquiry, not a fault (能不能 is no 不能).
QUESTION = re.compile(
    r"(多少钱|什么价|价格|收费|费用|延保|保修期|保修多久|过保|还在保修|怎么买|哪里买|多久换|多长时间换"
    r"|能不能|可不可以|能否|是什么意思|怎么(?:收费|预约|联系|用|操作|设置|换)|多久|多长时间"
    r"|(?:顾客|客户|业主|有人)问)"
)
NOT_A_CUE = re.compile(r"能不能|可不可以|会不会|是不是|有没有|不是(?:维修|报修|故障)")
# A consumable due (提示换滤芯, 滤芯寿命0%, 滤芯到期要换): an order, though the machine blinks
# or "has a problem" about it.
DUE = re.compile(
    r"(?:滤芯|滤网|耗材)[^，,。；;\s]{0,4}(?:到期|寿命|该换|要换|需要?更?换)|提示更?换(?:滤芯|滤网|耗材)"
)
# What a blinking reminder or a vague complaint says, no fault of its own.
WEAK_CUES = {"有问题", "出问题", "报警", "闪烁", "异常"}
# Asking for a cleaning (想清洗一下) for what a cleaning cures: an appointment, not a fault.
CLEANING = re.compile(r"(?:想|要|需要|得|帮忙|约个?)(?:清洗|清洁|洗一下|保养)|清洗一下")
DIRTY = re.compile(r"(?:出风|风)(?:很|好|超|特别|太|非常|有点|比较)?[小弱]|怪味|异味|臭味")
# Asking whether to report at all (这个要不要报？): a question.
ASK_REPORT = re.compile(r"(?:要不要|需不需要|用不用)报(?:修|一下|个单)?|要报(?:修)?吗")
# A technician reporting another fault found on the job (顺便报个单, 另一台也不制冷).
NEW_ON_SITE = re.compile(
    r"(另外|还有(?!没有)|顺便|对了|另一台|另一个|再开|另开|开(?:个|一)单|报个单|加个单|另外派|也要修|也坏|也不|也有问题"
    r"|也叫我|也要我|邻居|隔壁|楼下|楼上)"
)
# A customer's aside on one more fault (对了 门外面的把手也松了; 还有 充电口也…).
ALSO_BROKEN = re.compile(r"^\s*(?:对了|还有|另外|顺便说?一?下?)[，,\s]*[^。；;？?]{1,12}也")
# A technician passing on what a customer asked them (有个业主在群里找我说热水器漏水).
PASSED_ON = re.compile(
    r"(?:业主|客户|顾客|住户|用户|租客|车主)[^，,。\d]{0,10}(?:说|反映|报修|找我|来电|打电话)"
)
# The contact is the one of the sender's request before (电话同上, 地址一样).
SAME_AS = re.compile(r"(同上|同一个|一样|还是这个|还是那个|跟上面|和上面)")
# How a customer is called when someone else reports for them (a relay, a numbered list).
TITLED_NAME = re.compile(
    rf"[{''.join(sorted(SURNAMES))}](?:先生|女士|小姐|阿姨|大姐|大哥|大爷|大妈|奶奶|爷爷|婆婆|爹爹|嬢嬢|老师|经理|老板|师傅"
    r"|阿婆|姐|太(?![阳空平久多少大小好])|伯)"  # Cantonese: 罗太, 梁伯
)
# An item named by its bare number opening a line, as relays write about their own list
# (2那个业主说好了, 3是车主欧先生 132…, 3甘女士说…); not 2楼, 3点 or 2台.
LEAD_REF = re.compile(rf"(?:^|\n)\s*([1-9])(?=[那这的是也还说]|{TITLED_NAME.pattern})")
# Someone named reporting their appliance (沈阿婆打电话来，冰箱…): whose it is.
REPORTED = re.compile(TITLED_NAME.pattern + r"(?:刚才?|又)?(?:打电话来|打来电话|来电话?|反映)")
# A person's name standing alone among an item's words (… 1203 张德明 洗衣机…).
PLAIN_NAME = re.compile(rf"(?<!\w)[{''.join(sorted(SURNAMES))}][\u4e00-\u9fff]{{1,2}}(?!\w)")
BEGUN_NUMBER = re.compile(r"(?:电话|手机|号码)[^\d\n]{0,6}(1[3-9][\d \-]{1,8})\s*$")
# Address words too common to name a place by (a district, a road, a building).
PLACE_WORDS = {
    "小区",
    "花园",
    "大道",
    "大街",
    "新村",
    "公寓",
    "大厦",
    "单元",
    "号楼",
    "车库",
    "地库",
}
# A city or district (成都市, 武侯区).
ADMIN = re.compile(
    r"[\u4e00-\u9fff]{1,3}?(?:省|县|(?<![超菜集门])市|(?<![小社园片校景营厂])区)(?![\u4e00-\u9fff]?[号栋幢楼])"
)
RELAY_CUE = re.compile(r"(帮|替|代|转达|派单|新单|工单|报修单|业主|顾客|客户|住户|老人家|来电)")
# List marks: 1. 1、 1) (1) 【1】 ① 第一(个|台…) 一、 and a bare "1 " at a line's start. The
# marks must count 1, 2, 3 … in one style to be a list (so 1.5匹 or 9:30 make none).
ITEM = re.compile(
    r"(?:(?<=^)|(?<=[\n\s，,；;。!！?？]))(?:[(（【\[]?(?P<n>[1-9]|[一二三四五六七八九])"
    r"(?:[)）】\]]|[.、．]|[:：](?!\d))"
    r"|第(?P<k>[一二三四五六七八九1-9])(?:个|台|家|户|单|件|条)?[,，:：、]?)"
    r"|(?P<c>[①②③④⑤⑥⑦⑧⑨])"
    r"|(?:(?<=^)|(?<=\n))(?P<b>[1-9])[ \t\u3000]+(?=\D)",
)
# What a chat export shows for a voice note, a photo or a sticker.
PLACEHOLDER = re.compile(r"\[[^\]]{1,4}\]")
ORDINALS = ("123456789", "一二三四五六七八九", "①②③④⑤⑥⑦⑧⑨")
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
    item_no: int | None = None  # its number in the list (items that are no repair count too)
    shared: str = ""  # the lines around a numbered list, said for every item
    previous: "Request | None" = None  # the owner's request just before (contact details)
    why: list[str] = field(default_factory=list)
    withdrawn: str | None = None
    # The part of a message that is this request's (a later list of 1号… 2号… split by item),
    # by the message's line.
    own: dict[int, str] = field(default_factory=dict)
    tentative: bool = False  # a fault said before the appliance is named
    # A list item that gave only its household: no request until its fault is told.
    awaiting_fault: bool = False
    same_customer: bool = False  # its previous request is the same customer's
    heard: list[str] = field(default_factory=list)  # what staff said to its customer
    roles: dict[str, str] = field(default_factory=dict)  # each sender's role
    answered_at: datetime | None = None  # when our side answered it, long after it was said

    @property
    def lines(self) -> tuple[int, int]:
        """First and last export line of the request."""
        first = self.item_line or self.messages[0].line
        return first, max(m.end_line for m in self.messages)

    @property
    def last_at(self) -> datetime:
        return max(self.messages[-1].at, self.answered_at or self.messages[-1].at)

    def texts(self) -> list[str]:
        """The request's words: the item (with the list's shared lines) or the first message,
        then every gathered message."""
        first = self.messages[0].text
        if self.item is not None:
            first = "；".join(x for x in (self.item, self.shared) if x)
        return [first, *(self.own.get(m.line, m.text) for m in self.messages[1:])]

    def contact_texts(self) -> list[str]:
        """The request's words with the numbers that are not its customer's masked (a
        relay's or technician's own, see intake/chat_phones.py)."""
        senders = [m.sender for m in self.messages]
        return customer_texts(self.texts(), senders, self.sender, self.roles)

    def customers_numbers(self) -> set[str]:
        """The numbers said to be the customer's (see intake/chat_phones.py)."""
        return theirs(self.texts(), [m.sender for m in self.messages], self.roles)

    def own_numbers(self) -> set[str]:
        """The numbers a relay gives as its own (see intake/chat_phones.py)."""
        senders = [m.sender for m in self.messages]
        return own_numbers(self.texts(), senders, self.sender, self.roles)

    def desk_numbers(self) -> list[str]:
        """The relay's own numbers given for this request, when its report names no customer
        (see intake/chat_phones.py)."""
        if item_customer(self.texts()[0], message=True) is not None:
            return []
        senders = [m.sender for m in self.messages]
        return desk_numbers(self.texts(), senders, self.sender, self.roles)

    def add(self, msg: Message, why: str, part: str | None = None) -> None:
        """Gather a message (or its part that concerns this request) and say why."""
        if msg not in self.messages:
            self.messages.append(msg)
        if part is not None and part != msg.text:
            self.own[msg.line] = part
        if self.product_type is None:
            self.product_type = _named_product(part or msg.text)
        self.why.append(f"第{msg.line}行：{why}")


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


def _product(text: str) -> str | None:
    return _triaged(text[:2000])[0] if text.strip() else None


def _named_product(text: str) -> str | None:
    """The appliance a message names by a word or a model (not one a bare code suggests:
    E2 is a heater's code and a robot vacuum's)."""
    words = get_rules().synonym_to_product
    if any(len(w) > 1 and w in text.lower() for w in words) or facts_of(text).get("model"):
        return _product(text)
    return None


def facts_of(text: str) -> dict[str, str]:
    """The ticket facts a message states (model, phone, address, code, id, name, product)."""
    if not text.strip():
        return {}
    facts = dict(_triaged(text[:2000])[2])
    if pieces := address_pieces(text):
        facts["address"] = pieces[0][0]  # as typed in chats (元和街道 御窑花园 二区 17幢 301)
    return facts


def fault_said(text: str) -> bool:
    """Whether a message says a fault in words (a cue word or a fault phrasing)."""
    plain = NOT_A_CUE.sub("", mandarin(text))
    return any(c in plain for c in REPAIR_CUES) or bool(FAULT.search(plain))


def kind_of(text: str) -> tuple[str | None, str | None]:
    """What a message asks for: ("repair", product) when it reports a fault on a product;
    ("fault", None) for a fault on an appliance it does not name; ("order" | "appointment" |
    "question", None) for consumables, cleaning/installation and price or warranty
    questions; else None."""
    text = mandarin(text)
    text = GREETING.sub("", text)
    # 各位师傅好，报几个单：1、… is a list; 各位，12栋的电梯吱吱响 a fault in one building.
    notice = (
        NOTICE.search(text)
        and not _list_marks(text)
        and not (GROUP.match(text) and FLAT.search(text) and fault_said(text))
    )
    if not text or text.startswith(ACK_PREFIXES) or notice:
        return None, None
    plain = NOT_A_CUE.sub("", text)
    cues = [c for c in REPAIR_CUES if c in plain]
    if cues and all("修" in c for c in cues) and (DONE.search(text) or PRAISE.search(text)):
        cues = []  # 师傅昨天来修得很好: a repair done, praised
    cue = bool(cues) or bool(FAULT.search(plain))
    if cue and ASK_REPORT.search(plain) and ASKS.search(plain):
        return "question", None
    if cue and DUE.search(plain) and set(cues) <= WEAK_CUES and not FAULT.search(plain):
        return "order", None
    faults = [*cues, *(m.group(0) for m in FAULT.finditer(plain))]
    if cue and CLEANING.search(plain) and all(DIRTY.fullmatch(f) for f in faults):
        return "appointment", None
    said_at = max(
        [plain.rfind(c) + len(c) for c in cues] + [m.end() for m in FAULT.finditer(plain)],
        default=0,
    )
    if cue and DONE.search(plain[said_at:]) and not REINSTATE.search(plain):
        return None, None  # 2栋电梯按键不亮的事 工程部已经修好了: work done, told
    if not cue:
        if QUESTION.search(text):
            return "question", None
        if ORDER.search(text) or DUE.search(text):
            return "order", None
        if APPOINTMENT.search(text):
            return "appointment", None
    rules = get_rules()
    if not cue and (NEWS.search(text) or any(c in text for c in rules.non_fault_cues)):
        return None, None
    product_word = any(len(w) > 1 and w in text.lower() for w in rules.synonym_to_product)
    if not cue and not product_word:
        return None, None
    product, matched, facts = _triaged(text[:2000])
    named = dict(facts)
    if product and not _named_product(text) and (JOKE.search(text) or not OWNED.search(text)):
        # Only the diagnosis names the appliance: trusted for someone's own appliance
        # (我家门锁按手指没反应), not for a remark (已经停了) or a joke (狗把遥控器咬坏了哈哈).
        product, matched = None, False
    if cue:
        if named.get("model") or named.get("fault_code") or product or matched:
            return "repair", product
        return "fault", None  # a fault said of an appliance not yet named (小圆盘不对劲)
    if not product_word:
        return None, None
    # No fault word, but someone's appliance named (我家…, 沈阿婆…) or a fault code it shows
    # (报ER-41), and a known fault of it described (我家扫地机的地图又没了): the KB recognises
    # the complaint. Not a question, work done or praise.
    whose = OWNED.search(text) or named.get("fault_code") or REPORTED.search(text)
    if ASKS.search(text) or DONE.search(text) or PRAISE.search(text) or not whose:
        return None, None
    if phones.REPLACEMENT.search(text) or phones.CORRECTION.search(text):
        return None, None  # 充电桩那边工程部电话换人了，打这个…: whom to call, no fault
    return ("repair", product) if product and matched else (None, None)


def _settles_itself(text: str, before: "Request | None") -> bool:
    """Whether a message that calls a repair off reports that repair itself: one fault on an
    appliance other than the sender's request before, not a list."""
    if len(split_items(text)[0]) > 1 or kind_of(text)[0] != "repair":
        return False
    said = _named_product(text)
    return said is not None and (before is None or before.product_type != said)


def _ordinal(mark: re.Match[str]) -> tuple[str, int]:
    """A list mark's style and number (1-based)."""
    for group in ("n", "k", "c", "b"):
        if value := mark.group(group):
            digits = next(d for d in ORDINALS if value in d)
            return group + digits[0], digits.index(value) + 1
    raise ValueError(mark.group(0))


def _list_marks(text: str) -> list[re.Match[str]]:
    """The marks of the longest run numbered 1, 2, 3 … in one style (none when no such run
    of two or more exists)."""
    best: list[re.Match[str]] = []
    marks = [(m, *_ordinal(m)) for m in ITEM.finditer(text)]
    for k, (m, style, number) in enumerate(marks):
        if number != 1:
            continue
        run = [m]
        for m2, style2, number2 in marks[k + 1 :]:
            if style2 == style and number2 == len(run) + 1:
                run.append(m2)
        if len(run) > len(best):
            best = run
    return best if len(best) >= 2 else []


def split_items(text: str) -> tuple[list[tuple[int, str]], str]:
    """A numbered message's items (line offset within the message, text) and the shared text
    around them; one item (the whole text) when it is no numbered list."""
    marks = _list_marks(text)
    if not marks:
        return [(0, text)], ""
    items = []
    tail = ""
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(text)
        body = text[m.end() : end]
        if k + 1 == len(marks) and "\n" in body.strip("\n"):
            # The last item ends where the items before it did (most are one line); what
            # follows is said for all of them.
            lines = body.strip("\n").split("\n")
            keep = max(1, min(x.count("\n") + 1 for _, x in items)) if items else 1
            body, tail = "\n".join(lines[:keep]), "\n".join(lines[keep:])
        items.append((text[: m.start()].count("\n"), body.strip(" ，,；;。\n")))
    head = text[: marks[0].start()].strip()
    return items, "；".join(x for x in (head, tail.strip()) if x)


def read(
    messages: list[Message], roles: Roles | None = None, window_minutes: float = 60
) -> Reading:
    """The repair requests of a conversation and the messages left out, in order."""
    roles = roles or Roles()
    said: dict[str, list[str]] = {}
    for msg in messages:
        if msg.text:
            said.setdefault(msg.sender, []).append(msg.text)
    roles.learn(said)
    messages = [
        part
        for msg in messages
        for part in (
            _parts(msg) if roles.of(msg.sender, msg.external).role in (CUSTOMER, RELAY) else [msg]
        )
    ]
    window = timedelta(minutes=window_minutes)
    withdraw_window = timedelta(hours=24)
    by_owner: dict[str, Request] = {}
    found: list[Request] = []
    skipped: list[Skipped] = []
    guided_at: datetime | None = None  # when our side last talked a customer through a fix
    said_by: dict[str, list[str]] = {}  # each sender's messages so far
    before: Message | None = None  # the message just before, with text
    for msg in messages:
        if not msg.text:
            continue
        asked, before = before, msg
        plain = mandarin(msg.text)  # the cue words of a Cantonese message too
        said_by.setdefault(msg.sender, []).append(msg.text)
        speaker = roles.of(msg.sender, msg.external)
        if speaker.role == STAFF and asked is not None:
            _answer_late(msg, asked, by_owner.get(asked.sender), window, withdraw_window)
        if speaker.role == STAFF and (spoken_to := _addressee(msg, by_owner, window)):
            spoken_to.heard.append(msg.text)  # how staff call the customer (收到何女士)
        current = by_owner.get(msg.sender)
        if current is not None and msg.at - current.last_at > window:
            current = None
        target = by_owner.get(msg.sender)
        if speaker.role in (STAFF, TECHNICIAN) and GUIDANCE.search(plain):
            guided_at = msg.at
        withdraws = (
            speaker.role in (CUSTOMER, RELAY)
            and WITHDRAW.search(plain)
            and (CALLED_OFF.search(plain) or not VISITED.search(plain))
            and not ASKS.search(plain)  # 那不用上门了？ asks, it does not call off
        )
        if withdraws and _settles_itself(msg.text, target):
            # Reported and settled in one message (门锁电量低报警，教他换了电池，好了，不用上门).
            skipped.append(
                Skipped(msg.line, msg.end_line, msg.sender, "withdrawn", f"撤回：{msg.text[:40]}")
            )
            continue
        if (
            withdraws
            and target
            and guided_at is not None
            and guided_at >= target.messages[0].at
            and not CALLED_OFF.search(plain)
        ):
            # Fixed with our remote help: the repair was real and is done.
            target.add(msg, "客服远程指导后已修好（算一次维修，不是撤回）")
            continue
        if (
            withdraws
            and target
            and not target.withdrawn
            and msg.at - target.last_at <= withdraw_window
            # 3幢那个门禁…现在好了不用来了 is not about the 4幢 lift reported
            and not _other_flat(msg.text, target)
            and _named_product(msg.text) in (None, target.product_type)
        ):
            for req in _items_meant(msg.text, _same_message(found, target)):
                req.withdrawn = f"第{msg.line}行：{msg.text[:40]}"
                req.messages.append(msg)
            continue
        if (
            speaker.role in (STAFF, TECHNICIAN)
            and STAFF_WITHDRAW.search(plain)
            and not REMOTE.search(plain)
        ):
            # Staff or a technician pass on a customer's cancellation (王女士说不用来了，取消;
            # 2号单邱师傅说不用来了), of the request it names, else (staff) the one spoken to.
            named = _named_request(msg, found, withdraw_window)
            meant = _addressee(msg, by_owner, window) if named is None else None
            if meant is not None and (
                meant.sender == msg.sender
                or speaker.role != STAFF
                # 好的饶先生，这单我取消了: someone else's call-off, confirmed
                or (TITLED_NAME.search(msg.text) and not _names(msg.text, meant))
            ):
                meant = None
            called_off = (
                [named] if named else meant and _items_meant(msg.text, _same_message(found, meant))
            )
            for req in called_off or []:
                req.withdrawn = f"第{msg.line}行：{msg.text[:40]}"
                req.messages.append(msg)
            if called_off:
                continue
        if (
            target is not None
            and target.item_no is not None
            and msg.at - target.last_at <= withdraw_window
            and (reposted := _reposted(msg.text, target))
        ):
            # The sender's list items posted again in full (不好意思 发快了 → 二、…电话… / 三、…).
            _complete_items(msg, reposted, target, found)
            continue
        if (
            current is None
            and target is not None
            and target.item is not None
            and msg.at - target.last_at <= withdraw_window
            and phones.numbers(msg.text)
            and len(named := _item_refs(_about(msg, asked), _same_message(found, target))) == 1
        ):
            # Hours later, the number to call for one item of the sender's list (麓湖那个桩
            # 换了对接人 打张工手机150…; 王大爷座机一直没人接哦 → 那打他儿子嘛 137…).
            named[0].add(msg, "发送人为其清单中的一项给出电话")
            continue
        if (
            current is None
            and target is not None
            and target.item is None
            and not target.withdrawn
            and msg.at - target.last_at <= withdraw_window
            and phones.numbers(msg.text)
            and (
                phones.unreachable(msg.text)
                or phones.REPLACEMENT.search(msg.text)
                or phones.CORRECTION.search(msg.text)
            )
            and _named_product(msg.text) in (None, target.product_type)
            and _named_customer(msg, found, withdraw_window) is None
        ):
            # Hours later, another number for the sender's request (of the customer it names),
            # the first one dead or wrong (座机已经停机了 … 说打186…; 刚才电话打错了，是…).
            (_named_own(msg, found, withdraw_window) or target).add(
                msg, "发送人为其报修补充或更正电话"
            )
            continue
        if target and target.withdrawn and REINSTATE.search(plain):
            # The customer changed their mind (还是不行，还是要来): the request stands.
            target.withdrawn = None
            target.add(msg, "撤回后又重新要求上门")
            continue
        if (
            current is None
            and target is not None
            and not target.withdrawn
            and msg.at - target.last_at <= withdraw_window
            and phones.CORRECTION.search(msg.text)
            and _item_refs(msg.text, _same_message(found, target))
        ):
            # A later correction of an earlier request (铭牌我看错了，是BCD-450).
            for req, part in _route(msg, _same_message(found, target)):
                req.add(msg, "发送人更正之前的报修", part)
            continue
        if speaker.role == RELAY and (
            passed := _passed_on_later(msg, found, window, within=withdraw_window)
        ):
            # 2栋的我一会儿报 … then the desk reports the resident's 2栋 lift an hour later.
            passed.add(msg, "代报人转报该住户之前报的故障")
            continue
        kind, product, text = _asks(msg, speaker.role, by_owner, window, found)
        if (
            kind == "repair"
            and current is not None
            and not fault_said(msg.text)
            and _earlier_on(msg, found, current, window) is not None
        ):
            # No fault said, only the appliance of the sender's request before (地址…，净水器
            # 那户是15栋…): facts for that request, not a new one.
            kind = product = None
        if kind in ("order", "appointment", "question") and (
            current is None
            or (current.tentative and kind != "appointment")
            or not _adds_facts(msg.text, current, speaker.role)
        ):
            label = {"order": "耗材订购", "appointment": "预约清洗/安装", "question": "咨询"}[kind]
            skipped.append(
                Skipped(msg.line, msg.end_line, msg.sender, kind, f"{label}（不是报修）")
            )
            continue
        spoken_of = _addressee(msg, by_owner, window, found)
        if (
            spoken_of is not None
            and spoken_of.sender != msg.sender
            and speaker.role in (CUSTOMER, RELAY)
            and _names(VOCATIVE.sub("", msg.text), spoken_of)
            and not SELF.search(msg.text)
            and _named_product(msg.text) in (None, spoken_of.product_type)
        ):
            # About someone else's request (这个也一起，…联系宿管小邹): its facts go there.
            for req, part in _route(msg, _same_message(found, spoken_of)):
                if _adds_facts(msg.text if part is None else part, req, RELAY):
                    req.add(msg, f"点名补充{req.sender}报修的信息", part)
            continue
        if (
            kind == "fault"
            and current is not None
            and current.product_type
            and speaker.role == RELAY
            and _other_flat(msg.text, current)
        ):
            # 还有3号楼2单元那台，运行的时候哐当响: the same appliance in another household.
            kind, product = "repair", current.product_type
        if (
            kind == "fault"
            and current is not None
            and current.product_type
            and speaker.role == CUSTOMER
            and ALSO_BROKEN.search(plain)
        ):
            # An aside on another fault of the same appliance (对了 门外面的把手也松了):
            # another repair, reached as the first one is.
            req = Request(msg.sender, speaker.role, [msg], current.product_type, previous=current)
            req.same_customer = True
            req.why.append(f"第{msg.line}行：顾客顺带报同一设备的另一处故障，另开一单")
            found.append(req)
            by_owner[msg.sender] = req
            continue
        if kind == "fault" and current is None and speaker.role in (CUSTOMER, RELAY):
            # Kept only if the conversation names the appliance (是扫地机器人吧？).
            # The sender's request before (hours before too) gives its contact
            # (电话地址还是昨天那个).
            earlier = target if target and msg.at - target.last_at <= withdraw_window else None
            req = Request(msg.sender, speaker.role, [msg], tentative=True, previous=earlier)
            who = ROLE_LABELS.get(speaker.role, speaker.role)
            req.why.append(f"第{msg.line}行：{who}报故障，设备在后文说明")
            found.append(req)
            by_owner[msg.sender] = req
            continue
        if kind == "repair" and current is not None and len(routed := _by_line(msg, found)) >= 2:
            # One line for each item of the sender's list (热水器显示E2…\n桩是EVC-7K…).
            for req, part in routed:
                req.add(msg, "发送人逐行补充其清单各项", part)
            continue
        if kind == "repair" and (waiting := _waiting_item(msg, asked, target, found, window)):
            # The fault of a list item that gave only the household (3是什么问题？ → 3甘女士说
            # 家里热水器报警…).
            waiting.add(msg, "发送人补充其清单中该项的故障")
            waiting.awaiting_fault = False
            continue
        if kind == "repair":
            # A technician's new fault is found on the job: the household of the request
            # they are on (its contact, when they say 电话地址一样).
            job = None
            if speaker.role == TECHNICIAN:
                job = _job(msg, said_by[msg.sender][-3:], found, withdraw_window)
            earlier = target if target and msg.at - target.last_at <= withdraw_window else None
            if _start(
                msg, speaker.role, product, current, found, by_owner, text, job, skipped, earlier
            ):
                continue
            assert current is not None
            current.add(msg, "同一发送人、同一产品、时间相近")
            continue
        if msg.text.startswith(ACK_PREFIXES) and not facts_of(msg.text):
            continue
        target = spoken_of
        if current is not None and (
            speaker.role in (CUSTOMER, RELAY) or target is None or target is current
        ):
            # The sender's own request; staff and technicians talk to others in between,
            # so theirs only while no one else's request is more recent. Talk about another
            # appliance or nothing of the request (今天辛苦了) is not gathered; of a list, the
            # appliance of another item is that item's (电梯的事现场找我 …).
            earlier = _earlier_on(msg, found, current, window)
            if earlier is not None and _adds_facts(msg.text, earlier, speaker.role):
                earlier.add(msg, "发送人按设备补充之前的报修")
                continue
            named = _named_own(msg, found, withdraw_window)
            if (
                named is not None
                and named not in _same_message(found, current)
                and _adds_facts(msg.text, named, speaker.role)
            ):
                # 邵阿姨说刚才电话打错了 after the sender went on to 潘先生's request.
                named.add(msg, "发送人点名补充其之前的报修")
                continue
            siblings = _same_message(found, current)
            if any(_follows_up(msg.text, r, speaker.role) for r in siblings):
                for req, part in _route(msg, siblings, asked):
                    req.add(msg, "发送人在相近时间内的补充", part)
                if speaker.role == CUSTOMER:
                    _share_contact(msg, found, siblings, window)
            continue
        if target is None or not _names(msg.text, target):
            # A reply that names another request's customer or place, maybe hours later
            # (张德明那个电话是空号啊; 电子厂行政说对接人换了).
            target = _named_customer(msg, found, withdraw_window) or target
        if target is None:
            continue
        if speaker.role == CUSTOMER and msg.sender in by_owner and not _names(msg.text, target):
            continue  # a customer with a request of their own speaks of it, not of this one
        who = ROLE_LABELS.get(speaker.role, speaker.role)
        for req, part in _route(msg, _same_message(found, target)):
            if _adds_facts(msg.text if part is None else part, req, speaker.role):
                req.add(msg, f"{who}回复，补充{req.sender}报修的信息", part)
    kept = [
        r
        for r in found
        if not r.withdrawn and not r.awaiting_fault and (r.product_type or not r.tentative)
    ]
    for req in kept:
        _correct_before(req)
    for req in kept:
        req.roles = {m.sender: roles.of(m.sender, m.external).role for m in req.messages}
    return Reading(kept, skipped + _withdrawn(found))


def _share_contact(
    msg: Message, found: list[Request], siblings: list[Request], window: timedelta
) -> None:
    """A customer's phone or address is their household's: their other open requests of the
    last hour that lack it get it too (空调…；还有热水器也… → 麻烦留个电话地址 → 幺三五…)."""
    said = {k for k in ("phone", "address") if k in facts_of(msg.text)}
    if not said:
        return
    for req in found:
        if (
            req.sender == msg.sender
            and req not in siblings
            and not req.withdrawn
            and msg.at - req.last_at <= window
            and said - set(facts_of("；".join(req.texts())))
        ):
            req.add(msg, "顾客给出的联系方式，也用于其之前的报修")


def _answer_late(
    msg: Message, asked: Message, req: Request | None, window: timedelta, within: timedelta
) -> None:
    """Staff answering a request that was the last thing said (its owner's last words, or a
    voice note or photo after them), long after (刚上班看到): the request is open again from
    that reply on, so the customer's answers are gathered."""
    if (
        req is not None
        and not req.withdrawn
        and (asked in req.messages or PLACEHOLDER.fullmatch(asked.text.strip()))
        and window < msg.at - req.last_at <= within
    ):
        req.answered_at = msg.at
        req.why.append(f"第{msg.line}行：客服隔了一段时间才回复，报修继续")


def _asks(
    msg: Message,
    role: str,
    by_owner: dict[str, Request],
    window: timedelta,
    found: list[Request],
) -> tuple[str | None, str | None, str]:
    """What a message asks for, by its sender's role (see kind_of), and the words that ask.

    Customers and relays report their faults; staff start a request only when they pass one
    on with whom it concerns (帮业主…/派单… or a phone, an address, 王女士) and it is not a
    live request read back; technicians only when they pass on a call, or report another
    fault found on a job (顺便报个单：另一台也不制冷; a fault needing another visit, with the
    customer's number, or what a customer asked them) — never for work done."""
    text = msg.text
    if role in (CUSTOMER, RELAY):
        kind, product = kind_of(text)
        if role == RELAY and kind == "repair" and _passes_on(msg, by_owner, window, product):
            return None, None, text
        return kind, product, text
    said = phones.numbers(text)
    if role == STAFF:
        name, address = TITLED_NAME.search(text), facts_of(text).get("address")
        # Passed on with whom it concerns: a cue word or a number, else a customer and a place
        # (江宁区…27栋401林女士，燃气热水器…显示E2) not of a request the chat has already.
        known = name is not None and any(name.group(0) in "；".join(r.texts()) for r in found)
        passed = RELAY_CUE.search(text) or said or (name and address and not known)
        if not passed or not (said or name or address):
            return None, None, text
        kind, product = kind_of(text)
        if kind == "repair" and _confirms(msg, by_owner, window, product):
            return None, None, text
        return kind, product, text
    if role == TECHNICIAN:
        if PARTS.search(text) and not said and not NEW_ON_SITE.search(text):
            return None, None, text  # parts for a job (仓库还有吗), not a new fault
        if (m := NEW_ON_SITE.search(text)) and DONE.search(text[: m.start()]):
            text = text[m.start() :]  # the job is done; what follows is a new fault
            said = phones.numbers(text)
        elif DONE.search(text):
            return None, None, text
        # What a customer asked them: the fault said after it, nothing called off.
        passed = PASSED_ON.search(text)
        relayed = (
            passed is not None
            and kind_of(text[passed.end() :])[0] == "repair"
            and not WITHDRAW.search(mandarin(text))
        )
        if not said and not NEW_ON_SITE.search(text) and not relayed:
            return None, None, text
        kind, product = kind_of(text)
        if kind == "repair" and _confirms(msg, by_owner, window, product):
            return None, None, text
        return (kind, product, text) if kind == "repair" else (None, None, text)
    return None, None, text


def _start(
    msg: Message,
    role: str,
    product: str | None,
    current: Request | None,
    found: list[Request],
    by_owner: dict[str, Request],
    text: str,
    job: Request | None = None,
    skipped: list[Skipped] | None = None,
    earlier: Request | None = None,
) -> bool:
    """Open the request(s) a message starts; False when it continues the current one."""
    items, shared = split_items(text)
    kinds = [(off, t, kind_of(t)[0]) for off, t in items]
    repairs = [(off, t) for off, t, kind in kinds if kind == "repair"]
    if repairs and len(items) >= 2:
        # In a list of repairs an item on another appliance is one too, even when said
        # without a fault word (第三个是前台那个净水器，出水一滴一滴的).
        repairs = [(o, t) for o, t, kind in kinds if kind == "repair" or (not kind and _product(t))]
    # An item settled within the list (后来又好了) is no request.
    settled = [
        (o, t)
        for o, t in repairs
        if WITHDRAW.search(mandarin(t)) and not REINSTATE.search(mandarin(t))
    ]
    if len(items) >= 2 and settled:
        repairs = [r for r in repairs if r not in settled]
        for off, item in settled:
            line = msg.line_of(off)
            if skipped is not None:
                skipped.append(Skipped(line, line, msg.sender, "withdrawn", f"撤回：{item[:40]}"))
    how = "编号清单"
    if len(repairs) < 2 and len(items) < 2:
        repairs, how, shared = _own_lines(text), "每行一户的消息", ""
    if len(repairs) >= 2 or (len(repairs) == 1 and len(items) >= 2):
        made: list[Request] = []
        numbers = {off: n for n, (off, _) in enumerate(items, start=1)}
        # An item that names a household but no fault yet (3. 七里晴川 9栋 甘女士 电话 153…)
        # waits for its fault, told later by the item's number or customer; it makes no
        # ticket unless it gets one.
        waiting = [
            (off, t)
            for off, t, kind in kinds
            if len(items) >= 2 and kind is None and (off, t) not in repairs and _household(t)
        ]
        waits = []
        for off, item in waiting:
            req = Request(msg.sender, role, [msg], None, awaiting_fault=True)
            req.item, req.item_line, req.shared = item, msg.line_of(off), shared
            req.item_no = numbers.get(off)
            req.why.append(f"第{msg.line}行：{how}第{req.item_no}项只有客户信息，故障在后文说明")
            waits.append(req)
        for k, (off, item) in enumerate(repairs, start=1):
            # 电话同上 in a list: the item before of the same customer, else the one before.
            names = set(TITLED_NAME.findall(item))
            before = next(
                (r for r in reversed(made) if names & set(TITLED_NAME.findall(r.item or ""))), None
            )
            previous = before or (made[-1] if made and SAME_AS.search(item) else current)
            req = Request(msg.sender, role, [msg], _product(item), previous=previous)
            req.same_customer = before is not None
            req.item, req.item_line, req.shared = item, msg.line_of(off), shared
            req.item_no = numbers.get(off) if len(items) >= 2 else None
            req.why.append(f"第{msg.line}行：{how}第{k}项（共{len(repairs)}项），拆为单独报修")
            made.append(req)
        found.extend(sorted(made + waits, key=lambda r: r.item_no or 0))
        by_owner[msg.sender] = made[-1]
        return True
    said_product = _named_product(text)
    other_product = (
        current is not None
        and said_product is not None
        and current.product_type is not None
        and said_product != current.product_type
    )
    said = phones.numbers(text)
    before = "；".join(current.texts()) if current is not None else ""
    # Another number than the one given before (a first number is the request's own).
    other_customer = (
        current is not None
        and bool(said)
        and not phones.CORRECTION.search(text)
        and bool(phones.numbers(before))
        and not set(said) & set(phones.numbers(before))
    )
    # A relay passes on one household after another: another name or flat is another one.
    name = TITLED_NAME.search(text)
    other_household = (
        current is not None
        and role != CUSTOMER
        and (
            (name is not None and name.group(0) not in before and TITLED_NAME.search(before))
            or _other_flat(text, current)
        )
    )
    if (
        current is not None
        and not other_product
        and not other_customer
        and not other_household
        and not _next_item(text, current)
    ):
        return False
    # The request before of the same household: the sender's, the technician's job, or —
    # from a relay — the earlier one of the customer this one names (陶先生还说他家净水器…).
    named = set(TITLED_NAME.findall(text))
    same = next(
        (r for r in reversed(found) if r.sender == msg.sender and named & _customers(r)), None
    )
    req = Request(msg.sender, role, [msg], product, previous=same or current or job or earlier)
    req.same_customer = same is not None
    if text != msg.text:
        req.item, req.item_line = text, msg.line
    req.why.append(
        f"第{msg.line}行：{ROLE_LABELS.get(role, role)}报故障" + (f"：{product}" if product else "")
    )
    if msg.part_of is not None:
        req.why.append(f"从第{msg.part_of}行的消息拆出：另一台设备")
    if current is not None:
        what = "另一个产品" if other_product else "另一个电话" if other_customer else "另一户"
        req.why.append(f"从第{current.lines[0]}行的报修拆出：{what}")
    found.append(req)
    by_owner[msg.sender] = req
    return True


def _household(item: str) -> bool:
    """Whether a list item names a household to call (a customer, a phone or a flat)."""
    return bool(TITLED_NAME.search(item) or phones.numbers(item) or FLAT.search(item))


def _waiting_item(
    msg: Message,
    asked: Message | None,
    target: Request | None,
    found: list[Request],
    window: timedelta,
) -> Request | None:
    """The item of the sender's latest list still waiting for its fault that a message names
    (by number or customer, in its words or the question it answers), if exactly one."""
    if target is None or target.item is None or msg.at - target.last_at > window:
        return None
    siblings = _same_message(found, target)
    meant = _item_refs(msg.text, siblings) or (
        _item_refs(_about(msg, asked), siblings) if asked is not None else []
    )
    if len(meant) == 1 and meant[0].awaiting_fault:
        return meant[0]
    return None


def _reposted(text: str, req: Request) -> list[tuple[int, str]]:
    """The items of the request's list a later message of its sender posts again, in the
    list's style, each mark at a line's start (二、温江区…尹女士… / 三、…): (number, text) in
    order; none when it is no such message."""
    marks = _list_marks(req.messages[0].text)
    if not marks:
        return []
    style = _ordinal(marks[0])[0]
    again = [
        m
        for m in ITEM.finditer(text)
        if _ordinal(m)[0] == style and (m.start() == 0 or text[m.start() - 1] == "\n")
    ]
    numbers = [_ordinal(m)[1] for m in again]
    if not again or numbers != sorted(set(numbers)) or numbers[-1] > len(marks):
        return []
    ends = [m.start() for m in again[1:]] + [len(text)]
    return [
        (n, text[m.end() : end].strip(" ，,；;。\n"))
        for n, m, end in zip(numbers, again, ends, strict=True)
    ]


def _complete_items(
    msg: Message, reposted: list[tuple[int, str]], req: Request, found: list[Request]
) -> None:
    """Add each item posted again to its request; an item that was no request the first
    time (二、温江区 光华大道三段 ... 光华逸景, no fault said) becomes one when it now reports
    a fault."""
    siblings = _same_message(found, req)
    first = req.messages[0]
    items, shared = split_items(first.text)
    for number, text in reposted:
        item = next((r for r in siblings if r.item_no == number), None)
        if item is None:
            if kind_of(text)[0] != "repair" or number > len(items):
                continue
            off, said = items[number - 1]
            item = Request(req.sender, req.role, [first], item=said, shared=shared)
            item.item_line, item.item_no = first.line_of(off), number
            item.why.append(f"第{first.line}行：编号清单第{number}项，当时未说故障")
            found.append(item)
        item.add(msg, f"发送人重发清单第{number}项的完整信息", text)


def _next_item(text: str, req: Request) -> bool:
    """Whether a message opens with the next mark of a list its sender began one message at a
    time (第一个 柏大姐 空调… then 第二个是我们店长家里的，空调…): another request."""
    this, first = ITEM.match(text.strip()), ITEM.match(req.texts()[0].strip())
    if this is None or first is None:
        return False
    (style, number), (style0, number0) = _ordinal(this), _ordinal(first)
    return style == style0 and number == number0 + 1


def _other_flat(text: str, req: Request) -> bool:
    """Whether a message names a flat or building other than the one the request names."""
    before = "；".join(req.texts())
    flat = FLAT.search(text)
    return flat is not None and flat.group(0) not in before and bool(FLAT.search(before))


def _parts(msg: Message) -> list[Message]:
    """A message that goes on to another appliance's fault (…热水器是电的，DSZF-60 / 还有她家冰箱
    也嗡嗡响) as one message per appliance, each on its own lines; else the message."""
    cuts = [m.start(1) for m in MORE.finditer(msg.text)]
    if not cuts:
        return [msg]
    bounds = [0, *cuts, len(msg.text)]
    pieces = [msg.text[a:b] for a, b in pairwise(bounds)]
    products = [_named_product(p) for p in pieces]
    if not all(products) or len(set(products)) < len(products):
        return [msg]
    if any(kind_of(p)[0] != "repair" for p in pieces[1:]):
        return [msg]
    out = []
    for start, piece in zip(bounds, pieces, strict=False):
        first = msg.line_of(msg.text[:start].count("\n"))
        last = first + piece.strip("\n").count("\n") if not msg.flat else msg.line
        out.append(
            replace(
                msg,
                line=first,
                end_line=last,
                body_line=first,
                text=piece.strip(" ，,。；;\n"),
                part_of=msg.line,
            )
        )
    return out


def _customers(req: Request) -> set[str]:
    """The customer a request is for, by the first titled name of its words."""
    first = TITLED_NAME.search(req.texts()[0])
    return {first.group(0)} if first else set()


def _own_lines(text: str) -> list[tuple[int, str]]:
    """A message of several lines without numbers, one household per line (each its own
    phone and fault) or one appliance per line (一个是…热水器…\n一个是…充电桩…): its
    lines; else none."""
    lines = [(k, x.strip()) for k, x in enumerate(text.split("\n")) if x.strip()]
    repairs = [(k, x) for k, x in lines if kind_of(x)[0] == "repair"]
    if len(repairs) < 2:
        return []
    numbers = [phones.numbers(x)[:1] for _, x in repairs]
    if all(numbers) and len({n[0] for n in numbers}) == len(numbers):
        return repairs
    # Each line on its own appliance, naming none of the others' (洗衣机…门锁不上 names two).
    words = get_rules().synonym_to_product
    named = [{p for w, p in words.items() if len(w) > 1 and w in x.lower()} for _, x in repairs]
    apart = all(len(n) == 1 for n in named) and len(set().union(*named)) == len(named)
    return repairs if apart and len(repairs) == len(lines) else []


def _job(
    msg: Message, recent: list[str], found: list[Request], within: timedelta
) -> Request | None:
    """The request a technician is on: the one whose customer or flat their last messages name
    (顾阿姨家的滚筒看了), else the latest one of the day that is not their own."""
    open_ = [
        r
        for r in found
        if r.sender != msg.sender and not r.withdrawn and msg.at - r.last_at <= within
    ]
    said = "；".join(recent)
    names = set(TITLED_NAME.findall(said)) | {m.group(0) for m in FLAT.finditer(said)}
    named = [r for r in open_ if any(n in "；".join(r.texts()) for n in names)]
    return (named or open_ or [None])[-1]


def _confirms(
    msg: Message, by_owner: dict[str, Request], window: timedelta, product: str | None
) -> bool:
    """Staff repeating a live request back (登记了：王女士 空调… 138…): the same product and
    a phone the request already has, or no phone at all; its facts join that request
    instead of a new one."""
    live = _addressee(msg, by_owner, window)
    if live is None or live.sender == msg.sender:
        return False
    same_product = product is None or live.product_type in (None, product)
    said = set(phones.numbers(msg.text))
    return same_product and (not said or bool(said & set(phones.numbers("；".join(live.texts())))))


def _passes_on(
    msg: Message, by_owner: dict[str, Request], window: timedelta, product: str | None
) -> bool:
    """A relay passing a customer's live request on (a property manager to the lift company:
    5栋1单元电梯困人 请马上到场 现场联系我 181…): the same product and place, no other
    customer's number or name; its facts join that request instead of a new one."""
    live = _addressee(msg, by_owner, window)
    if live is None or live.sender == msg.sender or live.role != CUSTOMER:
        return False
    if product is None or live.product_type != product:
        return False
    before = "；".join(live.texts())
    theirs = set(numbers_for_customer(msg.text)) - set(phones.numbers(before))
    name, flat = TITLED_NAME.search(msg.text), FLAT.search(msg.text)
    other_name = name is not None and name.group(0) not in before
    other_flat = flat is not None and not any(
        f.group(0).startswith(flat.group(0)) or flat.group(0).startswith(f.group(0))
        for f in FLAT.finditer(before)
    )
    return not theirs and not other_name and not other_flat


def _passed_on_later(
    msg: Message, found: list[Request], window: timedelta, within: timedelta
) -> Request | None:
    """A customer's request a relay passes on after the window (the resident's 2栋 lift, the
    desk's 2栋2单元那台电梯… an hour later): the one customer's request of the day on the
    same appliance in the same building, none live in the window; no other customer's
    number or name said."""
    kind, product = kind_of(msg.text)
    flat = FLAT.search(msg.text)
    if kind != "repair" or product is None or flat is None:
        return None
    if numbers_for_customer(msg.text) or TITLED_NAME.search(msg.text):
        return None
    late = [
        r
        for r in found
        if r.role == CUSTOMER
        and not r.withdrawn
        and r.product_type == product
        and window < msg.at - r.last_at <= within
        and any(
            f.group(0).startswith(flat.group(0)) or flat.group(0).startswith(f.group(0))
            for f in FLAT.finditer("；".join(r.texts()))
        )
    ]
    return late[0] if len(late) == 1 else None


def _item_refs(text: str, siblings: list[Request]) -> list[Request]:
    """The items of a list a later message names: by number (1号那个, 第二个, ②), else by
    product or by the customer's name; none when it names none."""
    for m in [*ITEM_REF.finditer(text), *LEAD_REF.finditer(text)]:
        ref = m.group(1) or m.group(2) or m.group(3)
        k = next(d.index(ref) for d in ORDINALS if ref in d)
        # By the item's number in the list (4号 of a list whose 3 is an appointment).
        numbered = [r for r in siblings if r.item_no == k + 1]
        if numbered or k < len(siblings):
            return numbered or [siblings[k]]
    # The appliance the message names by a word or a model (not one triage guesses).
    said_product = _named_product(text)
    said = TITLED_NAME.findall(text)
    # The item's own customer (夏先生, not 夏先生的邻居孔阿姨; 邵女士 for 业主姓邵), or their
    # title alone when one item's customer has it (说婆婆耳朵不好 for 赵婆婆).
    customers = [(r, item_customer(r.item)) for r in siblings if r.item]
    theirs = [
        r for r, name in customers if name in said or any(f"姓{n[0]}" in r.item for n in said)
    ]
    titled = [r for r, name in customers if name and name[1:] in text]
    if theirs or len(titled) == 1:
        return theirs or titled
    # A customer named without a title in the item (… 1203 张德明 洗衣机…), or the place.
    plain = [r for r in siblings if r.item and any(n in text for n in PLAIN_NAME.findall(r.item))]
    if len(plain) == 1:
        return plain
    if len(places := _place_refs(text, siblings)) == 1:
        return places
    return [
        r
        for r in siblings
        if (said_product and said_product == r.product_type)
        or (r.item and any(n in r.item for n in said))
    ]


def item_customer(item: str, message: bool = False) -> str | None:
    """Whom a list item (or a whole message) is for: its first titled name that is not
    someone else's (夏先生的邻居孔阿姨 is for 孔阿姨) nor, opening a message, the person it
    speaks to (郑经理，6幢那台…)."""
    return next(
        (
            m.group(0)
            for m in TITLED_NAME.finditer(item)
            if item[m.end() : m.end() + 1] != "的"
            and not (message and m.start() == 0 and item[m.end() : m.end() + 1] in "，,")
        ),
        None,
    )


def _items_meant(text: str, siblings: list[Request]) -> list[Request]:
    """Which items of a numbered list a message means (see _item_refs), else all of them; a
    number naming none is for the item last talked about (马女士这个号码也不对 … 又搞错了，
    是158…), else for none."""
    if len(siblings) == 1:
        return siblings
    if refs := _item_refs(text, siblings):
        return refs
    if phones.numbers(text) and siblings[0].role == CUSTOMER:
        return siblings  # a customer's list is one household: its contact is every item's
    if phones.numbers(text):
        latest = max(r.last_at for r in siblings)
        talked = [r for r in siblings if r.last_at == latest and len(r.messages) > 1]
        # Whose number it is cannot be told: given to every item, it would be wrong for all
        # but one.
        return talked if len(talked) == 1 else []
    return siblings


def _route(
    msg: Message, siblings: list[Request], asked: Message | None = None
) -> list[tuple[Request, str | None]]:
    """Where a message about a numbered list's requests goes: a list of its own (1号… 2号…)
    item by item, else to the items it names, else to the one item of the question it
    answers (2林阿姨的电话？ → 打她女儿的 189…), else to all of them."""
    if len(siblings) > 1:
        items, shared = split_items(msg.text)
        if len(items) >= 2 and len(items) <= len(siblings):
            return [
                (siblings[k], "；".join(x for x in (text, shared) if x))
                for k, (_, text) in enumerate(items)
            ]
        parts = [p for p in re.split(r"[\n；;]", msg.text) if p.strip()]
        routed = [(p, _item_refs(p, siblings)) for p in parts]
        if len(parts) >= 2 and all(len(r) == 1 for _, r in routed):
            by_req: dict[int, list[str]] = {}
            for p, (req,) in routed:
                by_req.setdefault(id(req), []).append(p)
            return [(r, "；".join(by_req[id(r)])) for r in siblings if id(r) in by_req]
        asks_of_one = (
            asked is not None
            and ASKS.search(asked.text)
            and not _item_refs(msg.text, siblings)
            and len(meant := _item_refs(_about(msg, asked), siblings)) == 1
        )
        if asks_of_one:
            return [(meant[0], None)]
    return [(r, None) for r in _items_meant(msg.text, siblings)]


def _earlier_on(
    msg: Message, found: list[Request], current: Request, window: timedelta
) -> Request | None:
    """The sender's earlier live request on the appliance a message names, when that is not
    the current one's (电梯有事找物业前台 022… after a fridge was reported)."""
    said = _named_product(msg.text)
    if not said or any(r.product_type == said for r in _same_message(found, current)):
        return None  # the current one's, or an item's of its list
    return next(
        (
            r
            for r in reversed(found)
            if r.sender == msg.sender
            and r.product_type == said
            and not r.withdrawn
            and msg.at - r.last_at <= window
        ),
        None,
    )


def _by_line(msg: Message, found: list[Request]) -> list[tuple[Request, str]]:
    """A message of one line per item of the sender's latest list, each line naming its
    item (by product, customer or place): the items with their lines; else none."""
    if (
        "\n" not in msg.text
        or (current := next((r for r in reversed(found) if r.sender == msg.sender), None)) is None
    ):
        return []
    siblings = _same_message(found, current)
    if len(siblings) < 2:
        return []
    routed = _route(msg, siblings)
    if len(routed) < 2 or any(part is None for _, part in routed):
        return []
    return [(req, part) for req, part in routed if part is not None]


def _same_message(found: list[Request], req: Request) -> list[Request]:
    """The request and its siblings split from the same numbered message."""
    if req.item is None or req.item_line is None:
        return [req]
    first = req.messages[0]
    return [
        r for r in found if r.item is not None and r.messages[0] is first and not r.withdrawn
    ] or [req]


def _addressee(
    msg: Message,
    by_owner: dict[str, Request],
    window: timedelta,
    found: list[Request] | None = None,
) -> Request | None:
    """The open request a reply is about: the one it quotes, else the most recent one (of
    found, any item of an owner's latest list counts: the one last talked about)."""
    if msg.quoted:
        quoted = by_owner.get(msg.quoted)
        if quoted is None:
            quoted = next((r for s, r in by_owner.items() if msg.quoted in s), None)
        if quoted is not None and msg.at - quoted.last_at <= window:
            return quoted
    latest = [s for r in by_owner.values() for s in (_same_message(found, r) if found else [r])]
    live = [r for r in latest if msg.at - r.last_at <= window and not r.withdrawn]
    # Staff address the customer (韩女士，…): that customer's request, else the latest one.
    named = [r for r in live if r.sender != msg.sender and _names(msg.text, r)]
    return max(named or live, key=lambda r: r.last_at) if live else None


def _named_request(msg: Message, found: list[Request], within: timedelta) -> Request | None:
    """The one live request a message names, whoever's it is: an item of the latest list by
    its number (2号单, ①), else by its customer (蒋女士) or a word of its place."""
    live = [r for r in found if not r.withdrawn and msg.at - r.last_at <= within]
    items = [r for r in live if r.item_no is not None]
    if items and (ITEM_REF.search(msg.text) or LEAD_REF.search(msg.text)):
        latest = max(items, key=lambda r: r.messages[0].at)
        refs = _item_refs(msg.text, _same_message(found, latest))
        return refs[0] if len(refs) == 1 else None
    named = [r for r in live if any(n in msg.text for n in _owner_names(r))]
    named = named or _place_refs(msg.text, live)
    return named[0] if len(named) == 1 else None


def _named_own(msg: Message, found: list[Request], within: timedelta) -> Request | None:
    """The one live request of the sender whose customer a message names (by the name its
    item or first message gives), if only one is named."""
    live = [
        r
        for r in found
        if r.sender == msg.sender and not r.withdrawn and msg.at - r.last_at <= within
    ]
    named = [r for r in live if any(n in msg.text for n in _owner_names(r))]
    return named[0] if len(named) == 1 else None


def _owner_names(req: Request) -> set[str]:
    """How the owner's words in a request name its customer (柯女士, or 张德明 standing alone)."""
    said = "；".join(
        t for m, t in zip(req.messages, req.texts(), strict=True) if m.sender == req.sender
    )
    return set(TITLED_NAME.findall(said)) | set(PLAIN_NAME.findall(said))


def _correct_before(req: Request) -> None:
    """A phone correction said while a request that gave no number of its own was open (the
    customer's second appliance) corrects the number it took from the household's request
    before: that request gets the correction too."""
    before = req.previous
    if before is None or before.withdrawn or not (req.role == CUSTOMER or req.same_customer):
        return
    if not phones.numbers("；".join(before.texts())):
        return
    texts = req.texts()
    for k, msg in enumerate(req.messages):
        if msg in before.messages or not phones.CORRECTION.search(msg.text):
            continue
        if phones.numbers(msg.text) and not phones.numbers("；".join(texts[:k])):
            before.messages = sorted([*before.messages, msg], key=lambda m: m.line)
            before.why.append(f"第{msg.line}行：更正同一户之前报修留的电话")


def _named_customer(msg: Message, found: list[Request], within: timedelta) -> Request | None:
    """The one request of the day whose customer a message names (by the name its item or
    first message gives: 张德明, 柯女士), if only one is named."""
    live = [
        r
        for r in found
        if not r.withdrawn and r.sender != msg.sender and msg.at - r.last_at <= within
    ]
    named = [r for r in live if any(n in msg.text for n in _customer_names(r))]
    named = named or _place_refs(msg.text, live)
    return named[0] if len(named) == 1 else None


def _place_refs(text: str, requests: list[Request]) -> list[Request]:
    """The requests whose place a message names by a word of its address that no other
    request's address has (玉林那家 for 武侯区玉林南路 玉林小区…), or by three characters
    of its first words no other request has (电子厂)."""
    grams = {
        id(r): _grams(facts_of(r.texts()[0]).get("address", ""), 2) - PLACE_WORDS
        | _grams(r.texts()[0], 3)
        for r in requests
    }
    # A city or district (武侯区) is shared by many places: it names none.
    admin = set(ADMIN.findall("；".join(r.texts()[0] for r in requests)))
    grams = {k: {g for g in v if not any(g in a for a in admin)} for k, v in grams.items()}
    hits = []
    for r in requests:
        others = set().union(*(g for k, g in grams.items() if k != id(r)))
        own = grams[id(r)] - others
        if any(g in text for g in own):
            hits.append(r)
    return hits


def _grams(text: str, n: int) -> set[str]:
    """The runs of n Chinese characters in text."""
    return {
        w[k : k + n] for w in re.findall(r"[\u4e00-\u9fff]+", text) for k in range(len(w) - n + 1)
    }


def _customer_names(req: Request) -> set[str]:
    """How a request names its customer: titled (柯女士) or standing alone (… 1203 张德明 …)."""
    first = req.texts()[0]
    return set(TITLED_NAME.findall(first)) | set(PLAIN_NAME.findall(first))


def _names(text: str, req: Request) -> bool:
    """Whether a message calls the request's customer by name (韩梅, 韩女士 for 顾客-韩梅)."""
    name = Roles().of(req.sender).name
    if len(name) >= 2 and name in text:
        return True
    titled = TITLED_NAME.findall(text)
    return any(t[0] == name[0] for t in titled) or any(t in "；".join(req.texts()) for t in titled)


def _follows_up(text: str, req: Request, role: str) -> bool:
    """Whether an owner's later message is about their request: on no other appliance, and
    for a customer anything but small talk (辛苦了, 搞活动); for staff and technicians, who
    talk to others too, only what adds facts, describes the fault or corrects."""
    said = _named_product(text)
    if said and req.product_type and said != req.product_type:
        return False
    if role in (CUSTOMER, RELAY):
        return not CHITCHAT.search(text) or _adds_facts(text, req, role)
    # The number a technician gives for their own request is the customer's.
    return bool(
        _adds_facts(text, req, RELAY)
        or any(c in text for c in REPAIR_CUES)
        or SAME_AS.search(text)
        or phones.CORRECTION.search(text)
        or _completes_number(text, req)
    )


def _about(msg: Message, asked: Message | None) -> str:
    """What a message is about: its words, then those of the message it answers (another
    sender's, minutes before), for a reply that names nothing itself."""
    if asked is None or asked.sender == msg.sender or msg.at - asked.at > timedelta(minutes=15):
        return msg.text
    return f"{msg.text}；{asked.text}"


def _completes_number(text: str, req: Request) -> bool:
    """Whether a message finishes a number the request's last words began (电话前面是135
    5452 … 后面是7731)."""
    last = req.texts()[-1]
    joined = set(phones.numbers(f"{last}；{text}"))
    return bool(joined - set(phones.numbers(last)) - set(phones.numbers(text)))


def _begins_number(text: str) -> bool:
    """Whether a message ends on the front of a mobile said to be a phone (电话 前面是138
    7120), its back to follow."""
    m = BEGUN_NUMBER.search(text)
    return m is not None and len(re.sub(r"\D", "", m.group(1))) < 11


def _adds_facts(text: str, req: Request, role: str) -> bool:
    """A reply belongs to a request when it states facts the request lacks (a model read off
    the nameplate, an address, a phone) and names no other product."""
    said = facts_of(text)
    if role == TECHNICIAN:
        # What a technician reads on site (the model, a code); their number is their own
        # unless they say whose it is (以后打他老婆的 136…).
        keep = ("model", "fault_code", "hardware_id")
        said = {k: v for k, v in said.items() if k in keep or k == "phone"}
    if role == STAFF:
        # Staff greet the customer by name while asking; only what they read or relay counts.
        said.pop("customer_name", None)
    if role in (STAFF, TECHNICIAN) and not customer_numbers(text, role):
        said.pop("phone", None)  # the technician's or staff member's own number
    if phones.TAIL_FIX.search(text) and phones.numbers("；".join(req.texts())):
        return True  # its number's last digits corrected (电话尾号改成0146)
    if not said and role != CUSTOMER and _begins_number(text):
        return True  # the front of a number, its back in the next message (前面是138 7120)
    if not said:
        # Word that the request's number cannot be reached (座机打了没人接; 那个电话是空号)
        # is about its phone: the number given next is the one to call.
        return phones.unreachable(text) and bool(phones.numbers("；".join(req.texts())))
    have = facts_of("；".join(req.texts()))
    if said.get("product_type") and req.product_type and said["product_type"] != req.product_type:
        return False
    flats = {m.group(0) for m in FLAT.finditer("；".join(req.texts()))}
    place = FLAT.search(said.get("address", ""))
    if place and flats and not any(f.startswith(place[0]) or place[0].startswith(f) for f in flats):
        said.pop("address")  # another building (2幢…) is another place, not this one's
    if said.get("product_type") and req.product_type is None:
        return True  # the appliance of a fault said without it
    return any(k != "product_type" and v != have.get(k) for k, v in said.items())


def _withdrawn(found: list[Request]) -> list[Skipped]:
    return [
        Skipped(*r.lines, r.sender, "withdrawn", f"撤回：{r.withdrawn}")
        for r in found
        if r.withdrawn
    ]
