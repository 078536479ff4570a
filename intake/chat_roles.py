"""Who speaks in a service chat: a customer, our staff, a relay (a store or a property manager
reporting for someone else) or a technician — read off the display-name conventions shops use.

Shops prefix names with the role (顾客-王女士, 客服-小李, 师傅-老张, 阳光店-小陈, 物业_老陈,
【售后】阿杰); a name without a prefix is read by its words (客服小王, 张师傅, 万达店店长, …物业).
The prefix words are configurable: `hotline import wechat --roles roles.yaml` with
{customer: [...], staff: [...], relay: [...], technician: [...]} adds to the defaults.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

CUSTOMER, STAFF, RELAY, TECHNICIAN = "customer", "staff", "relay", "technician"
DEFAULT_WORDS: dict[str, tuple[str, ...]] = {
    CUSTOMER: ("顾客", "客户", "业主", "用户", "住户", "租户", "会员"),
    STAFF: ("客服", "售后", "调度", "管理员", "群主", "前台", "接线", "服务台", "值班", "助理"),
    TECHNICIAN: ("师傅", "技师", "维修", "工程师", "安装", "技术"),
    RELAY: ("物业", "管家", "门店", "店长", "店员", "专卖店", "经销商", "代理", "导购", "商场"),
}
PREFIX = re.compile(
    r"^(?:【(?P<a>[^】]{1,12})】|\[(?P<b>[^\]]{1,12})\]|(?P<c>[^-－_|｜·:：]{1,12})[-－_|｜·])"
)


@dataclass(frozen=True)
class Speaker:
    """A sender's role and the name without its role prefix (王女士 of 顾客-王女士)."""

    role: str
    name: str


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
        if sender in self.staff_names:
            return Speaker(STAFF, sender)
        role = self._role_of(sender)
        if role == TECHNICIAN and not sender.endswith(tuple(self.words[TECHNICIAN])):
            role = None  # 安装… or 技术… inside a customer's nickname
        if role is None and sender.endswith("店"):
            role = RELAY
        if role is None and external is False:
            role = STAFF  # WeCom: a company userid
        return Speaker(role or CUSTOMER, sender)

    def _role_of(self, label: str) -> str | None:
        for role in (CUSTOMER, STAFF, TECHNICIAN, RELAY):
            if any(word in label for word in self.words[role]):
                return role
        return None
