"""Who speaks in a service chat: a customer, our staff, a relay (a store or a property manager
reporting for someone else) or a technician — read off the display-name conventions shops use.

Shops prefix names with the role (顾客-王女士, 客服-小李, 师傅-老张, 阳光店-小陈, 物业_老陈,
【售后】阿杰) or put it after the name in brackets (小雯（之心城店）); a name without either is
read by its words (客服小王, 张师傅, 万达店店长, …物业).
The prefix words are configurable: `hotline import wechat --roles roles.yaml` with
{customer: [...], staff: [...], relay: [...], technician: [...]} adds to the defaults.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

CUSTOMER, STAFF, RELAY, TECHNICIAN = "customer", "staff", "relay", "technician"
# How a ticket's history names each role (agents read it in Chinese).
ROLE_LABELS = {CUSTOMER: "顾客", STAFF: "客服", RELAY: "代报人", TECHNICIAN: "技师"}
DEFAULT_WORDS: dict[str, tuple[str, ...]] = {
    CUSTOMER: ("顾客", "客户", "业主", "用户", "住户", "租户", "会员"),
    STAFF: (
        "客服",
        "售后",
        "调度",
        "派单",
        "管理员",
        "群主",
        "前台",
        "接线",
        "服务台",
        "值班",
        "助理",
    ),
    TECHNICIAN: ("师傅", "技师", "维修", "维保", "工程师", "安装", "技术"),
    RELAY: ("物业", "管家", "门店", "店长", "店员", "专卖店", "经销商", "代理", "导购", "商场"),
}
# Organisations that report for their residents or buyers: their desk is a relay.
PLACES = ("物业", "门店", "专卖店", "商场", "经销商")
# What each side says, for senders whose name tells nothing (张丽, 小林, 快乐每一天).
STAFF_TALK = re.compile(
    r"(请(?:提供|发|告知|留)|麻烦(?:您|提供|发|告知|留|说)|(?:已|帮您|给您|为您)(?:登记|安排|记录|派单|报备)"
    r"|安排(?:师傅|人员|上门)|师傅(?:会|稍后|明天|今天|下午|上午)|(?:稍后|尽快)(?:联系|上门|安排)"
    r"|您(?:家|那边)?的(?:地址|电话|型号|联系方式)|我们(?:会|这边|马上|尽快)|收到[，,]?(?:马上|这就|已)"
    r"|我派|派(?:师傅|人|单)|给你(?:派|排|安排)|建(?:个|一)?单|我叫(?:人|后台|师傅)|先往后排"
    r"|(?:哪个|什么)型号|型号是多少|买了多久|地址呢|电话呢|(?:电话|地址)(?:是)?多少|私信我|我们安排)"
)
TECHNICIAN_TALK = re.compile(
    r"(我到了|到现场|已到|上门了|我去|我接|接单|在路上|马上到|修好了|换好了|弄好了|完工|收工|搞定|已处理"
    r"|已修复|客户不在家|带(?:配件|冷媒|主板)|没带|带的不够|车上没|我.{0,4}回来拿|回单|结单|试机"
    r"|(?<!要)出门(?!要)"  # 要出门 is a customer's own day (我8点要出门), not a job
    r"|我在修|我看了下|那单|这单|我.{0,6}过去|这趟|再跑一趟|我车上|车上(?:有|没)|碰头|全部完工|那户|这户)"
)
# Taking a job off a dispatcher's list by its number (2号我去嘛, 一 我去, 二三我): only
# technicians do, so one such message settles it.
CLAIM = re.compile(
    r"^\s*[1-9一二三四五六七八九①②③④⑤⑥⑦⑧⑨]{1,3}\s*(?:号|单|号单)?(?:那[个家单台户])?\s*"
    r"(?:我(?:去|接|来)|归我|给我|我\s*$)"
)
RELAY_TALK = re.compile(
    r"(店里|来了个|(?:顾客|客户|业主|住户|阿姨|大爷)(?:说|反映|家)|她说|他说|她家|他家|帮(?:我|忙)?(?:报|登记)"
    r"|替(?:业主|顾客|客户))"
)
# "我这台" is a technician's job as often as a customer's own; "家里" is said of others.
OWN_TALK = re.compile(r"(我家|我们家|我屋|我买的|我住|我的(?!单|车|手机))")
PREFIX = re.compile(
    r"^(?:【(?P<a>[^】]{1,12})】|\[(?P<b>[^\]]{1,12})\]|(?P<c>[^-－_|｜·:：]{1,12})[-－_|｜·])"
)
# … or the place after the name, in brackets (小雯（之心城店）, 阿杰(售后)).
SUFFIX = re.compile(r"[(（](?P<s>[^()（）]{1,12})[)）]\s*$")


@dataclass(frozen=True)
class Speaker:
    """A sender's role and the name without its role prefix (王女士 of 顾客-王女士)."""

    role: str
    name: str
    guessed: bool = False  # no role word in the name: the default, or WeCom's company side


class Roles:
    """Reads senders' roles from their display names (defaults plus configured words)."""

    def __init__(
        self,
        extra: Mapping[str, Sequence[str]] | None = None,
        staff_names: Sequence[str] = (),
    ) -> None:
        self.words = {role: list(words) for role, words in DEFAULT_WORDS.items()}
        for role, words in (extra or {}).items():
            if role not in self.words:
                raise ValueError(f"unknown role {role!r}: use {', '.join(self.words)}")
            self.words[role] = [*words, *self.words[role]]
        self.staff_names = set(staff_names)
        self.learned: dict[str, str] = {}  # roles told by what a sender says (learn)

    def of(self, sender: str, external: bool | None = None) -> Speaker:
        """The role of a display name; `external` is WeCom's own word on the sender."""
        sender = sender.strip()
        m = PREFIX.match(sender)
        if m:
            label = m.group("a") or m.group("b") or m.group("c")
            name = sender[m.end() :].strip() or sender
            role = self._role_of(label) or (RELAY if label.endswith("店") else None)
            if role:
                return Speaker(role, name)
        if m := SUFFIX.search(sender):
            label, name = m.group("s"), sender[: m.start()].strip() or sender
            role = self._role_of(label) or (RELAY if label.endswith("店") else None)
            if role:
                return Speaker(role, name)
        if sender in self.staff_names:
            return Speaker(STAFF, sender)
        if sender in self.learned:
            return Speaker(self.learned[sender], sender)
        role = self._role_of(sender)
        if role == TECHNICIAN and not sender.endswith(tuple(self.words[TECHNICIAN])):
            role = None  # 安装… or 技术… inside a customer's nickname
        if role is None and sender.endswith("店"):
            role = RELAY
        if role is not None:
            return Speaker(role, sender)
        # WeCom: a company userid is our side; anyone else is taken for a customer until
        # what they say tells otherwise (see learn).
        return Speaker(STAFF if external is False else CUSTOMER, sender, guessed=True)

    def learn(self, said: Mapping[str, Sequence[str]]) -> None:
        """Settle the roles that names do not tell from what each sender says (said: sender →
        their messages): staff ask for the details and promise visits, technicians report
        arriving and work done, relays speak of a customer (店里来了个阿姨，她说…), customers
        of their own appliance."""
        for sender, texts in said.items():
            if sender in self.staff_names or not self.of(sender).guessed:
                continue
            staff = sum(bool(STAFF_TALK.search(t)) for t in texts)
            tech = sum(bool(TECHNICIAN_TALK.search(t)) + 2 * bool(CLAIM.search(t)) for t in texts)
            relay = sum(bool(RELAY_TALK.search(t)) for t in texts)
            own = sum(bool(OWN_TALK.search(t)) for t in texts)
            if tech >= 2 and tech > own and tech > staff and tech >= relay:
                self.learned[sender] = TECHNICIAN
            elif staff >= 2 and staff > own and staff >= relay:
                self.learned[sender] = STAFF
            elif relay >= 2 and relay > own:
                self.learned[sender] = RELAY
            elif own and not staff and not tech:
                self.learned[sender] = CUSTOMER
        # A technicians' group: whoever there still unknown talks once like one is one of them.
        learned = list(self.learned.values())
        if learned.count(TECHNICIAN) >= 2 and CUSTOMER not in learned:
            for sender, texts in said.items():
                unknown = sender not in self.learned and self.of(sender).guessed
                if unknown and any(TECHNICIAN_TALK.search(t) for t in texts):
                    self.learned[sender] = TECHNICIAN

    def _role_of(self, label: str) -> str | None:
        if any(w in label for w in PLACES) and any(w in label for w in self.words[STAFF]):
            return RELAY  # a property's or store's own desk (物业客服), not ours
        for role in (CUSTOMER, STAFF, TECHNICIAN, RELAY):
            if any(word in label for word in self.words[role]):
                return role
        return None
