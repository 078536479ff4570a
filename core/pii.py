"""Personal data by need: who sees what in full, and the masks everyone else sees.

A role sees a value in full only where its work needs it: agents, supervisors and the assigned
technician call customers, so they see the customer's phone; supervisors watch technicians on
the map, so only they see GPS positions and trails; device logs go to the people fixing the
device; webhook URLs carry a secret key, so only admins see them. Admins see everything
(they can mint a token of any role, so hiding from them protects nothing), and every full
phone number that leaves the service is written to the read log (core.phone_reads).
"""

import re

from core.auth import Role

# What a role needs to see in full. An object rule adds the assigned technician where a
# caller knows the assignment (customer_phone, device_logs).
NEED: dict[str, frozenset[Role]] = {
    "customer_phone": frozenset({Role.agent, Role.supervisor}),
    "gps": frozenset({Role.supervisor}),
    "technician_contact": frozenset({Role.supervisor}),
    "device_logs": frozenset({Role.supervisor}),
    "secrets": frozenset(),
}

PHONE_DIGITS = re.compile(r"\d")
# Where an address stops being the area and becomes the door: the house number and what
# follows it (楼/栋/单元/室), or a named compound's building.
ADDRESS_DOOR = re.compile(r"\d|[A-Za-z]\d|[一二三四五六七八九十百]+(?:号|栋|幢|单元|楼|室)")
ROAD = re.compile(r"^.*?(?:街道|大道|路|街|道|巷|弄|胡同|村|小区|花园|公寓|大厦|苑|新村|家园)")
AREA = re.compile(r"^.*?(?:区|县|镇|乡)")


def may_see(role: Role, what: str, *, assigned: bool = False) -> bool:
    """Whether role sees `what` (a NEED key) in full; assigned: the caller is the technician
    holding the ticket, which counts for the customer's phone and the device's logs."""
    if role is Role.admin:
        return True
    if assigned and role is Role.technician and what in ("customer_phone", "device_logs"):
        return True
    return role in NEED[what]


def mask_phone(value: str | None) -> str | None:
    """138****5678: a mobile or a landline with its area code keeps its first three and last
    four digits; a shorter number its last four (an extension is dropped)."""
    if not value:
        return value
    digits = "".join(PHONE_DIGITS.findall(value.split("转", 1)[0]))
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 6:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_address(value: str | None) -> str | None:
    """Down to the road (or the district when no road is named): 北京市朝阳区望京街10号3单元
    → 北京市朝阳区望京街***."""
    if not value:
        return value
    value = value.strip()
    door = ADDRESS_DOOR.search(value)
    head = value[: door.start()] if door else value
    road = ROAD.match(head) or AREA.match(head)
    kept = road.group(0) if road else head[: max(len(head) // 2, 2)]
    return kept + "***" if kept != value else kept


def mask_name(value: str | None) -> str | None:
    """王** (the surname, one star per other character)."""
    if not value:
        return value
    value = value.strip()
    return value[0] + "*" * max(len(value) - 1, 1)
