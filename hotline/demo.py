"""The field demo `make run` seeds (`hotline init --demo-technicians`): three technicians on the
roster, each linked to a demo technician login, and demo calls dispatched to them, so a new
user who signs in as `technician` sees the technician app with a job in hand and an offer.

Plain `hotline init` never runs this: tests, benchmarks and real deployments that start from
it register their own technicians, and a demo one would take their offers.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console import accounts
from console.models import ConsoleUser
from core.auth import Role
from dispatch import field, technicians
from dispatch.models import Assignment, Technician
from intake.service import intake_text
from tickets import location

ACTOR = "system:demo"


@dataclass(frozen=True)
class DemoTechnician:
    """One roster row of the demo and the login that works it."""

    login: str
    name: str
    phone: str
    home: tuple[float, float]
    skills: tuple[str, ...]
    level: int
    shifts: tuple[dict[str, Any], ...]


# Homes far enough apart (Nanshan, Futian, Bao'an; > 5 km, the default service radius) that
# the demo calls in Nanshan go to `technician`, who is on call round the clock, so the demo
# shows a job and an offer at whatever hour `make run` is started. The skills are the demo
# KB's own.
TECHNICIANS = (
    DemoTechnician(
        login="technician",
        name="张伟",
        phone="13900000001",
        home=(22.5405, 113.9500),
        skills=("家电维修基础", "智能锁v2.x固件授权认证", "低压电工证"),
        level=4,
        shifts=({"start": "08:00", "end": "08:00"},),  # 24 h on call, every day
    ),
    DemoTechnician(
        login="technician-2",
        name="李娜",
        phone="13900000002",
        home=(22.5431, 114.0579),
        skills=("家电维修基础", "制冷与空调作业证", "燃气具安装维修资格"),
        level=3,
        shifts=(
            {"start": "08:30", "end": "17:30", "days": [1, 2, 3, 4, 5]},
            {"start": "09:00", "end": "15:00", "days": [6]},
        ),
    ),
    DemoTechnician(
        login="technician-3",
        name="王强",
        phone="13900000003",
        home=(22.5553, 113.8838),
        skills=("家电维修基础", "低压电工证", "高压电工证", "电梯维保资格证"),
        level=5,
        shifts=({"start": "18:00", "end": "02:00"},),  # evenings, into the night
    ),
)
REGIONS = ["深圳"]

# Callers in Nanshan (coordinates known, as if geocoded once): the first call becomes the job
# `technician` has accepted, the second an offer waiting for an answer.
CALLS = (
    (
        "深圳市南山区科技园科苑路15号",
        (22.5431, 113.9526),
        "你好，我家门锁指纹验证成功了但门打不开，能听到电机一直空转，型号X5，"
        "地址深圳市南山区科技园科苑路15号，电话13800138000，我姓王",
    ),
    (
        "深圳市南山区海德三道88号",
        (22.5170, 113.9380),
        "洗衣机一洗衣服底下就漏水，地上一滩水，地址深圳市南山区海德三道88号，电话13800138001，姓陈",
    ),
)


def seed_field_demo(*, db: Session) -> dict[str, Any]:
    """Roster technicians linked to the demo technician logins, and the demo calls dispatched
    to them (the first one accepted). Runs once: a second run finds the roster and does
    nothing. Returns the logins created now (username → password) and the tickets' numbers."""
    first = TECHNICIANS[0]
    if db.scalar(select(Technician.id).where(Technician.name == first.name)) is not None:
        return {"logins": {}, "tickets": []}
    logins: dict[str, str] = {}
    roster: list[Technician] = []
    for demo in TECHNICIANS:
        tech = technicians.create(
            db,
            {
                "name": demo.name,
                "phone": demo.phone,
                "home_lat": demo.home[0],
                "home_lon": demo.home[1],
                "skills": list(demo.skills),
                "level": demo.level,
                "shifts": [dict(s) for s in demo.shifts],
                "regions": REGIONS,
            },
        )
        roster.append(tech)
        # An existing login of that name (a plain `hotline init` ran first) is left unlinked.
        if db.scalar(select(ConsoleUser.id).where(ConsoleUser.username == demo.login)) is None:
            password = secrets.token_urlsafe(9)
            accounts.create_user(
                db=db,
                username=demo.login,
                role=Role.technician,
                password=password,
                display_name=f"技术员 {demo.name}",
                technician_id=tech.id,
            )
            logins[demo.login] = password
    numbers = []
    for i, (address, (lat, lon), text) in enumerate(CALLS):
        location.learn(db, address, lat, lon, source="ticket")
        ticket = intake_text(db=db, text=text, channel="app", actor=ACTOR)
        numbers.append(ticket.number)
        offer = db.scalar(
            select(Assignment).where(
                Assignment.ticket_id == ticket.id,
                Assignment.technician_id == roster[0].id,
                Assignment.status == "offered",
            )
        )
        if i == 0 and offer is not None:
            field.perform(
                db,
                technician=roster[0],
                assignment_id=offer.id,
                kind="accept",
                action_id=f"demo-accept-{offer.id}",
                data={},
                actor=f"{Role.technician.value}:{first.login}",
            )
    return {"logins": logins, "tickets": numbers}
