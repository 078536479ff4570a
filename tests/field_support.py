"""Helpers of the field-loop tests: a technician with a token, app actions, images."""

import base64
import uuid
from typing import Any

from core.auth import Role, create_token, lookup_token
from core.db import session_scope
from tests.conftest import Service
from tests.dispatch_support import SITE, active, add_tech, make_ticket

BASIC = ["家电维修基础"]  # what LOCK-MOTOR-JAM requires
# A 1×1 PNG: the smallest photo or signature the app can send.
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA"
    "60e6kgAAAABJRU5ErkJggg=="
)
PHONE = "13812345678"


def tech_with_token(
    svc: Service, name: str, at: tuple[float, float], **extra: Any
) -> tuple[int, dict]:
    """A technician registered through the API and their own bearer token."""
    tech = add_tech(svc, name, at, BASIC, phone="13900001111", **extra)
    with session_scope() as db:
        plain = create_token(db=db, name=f"tech-{tech['id']}", role=Role.technician)
        token_id = lookup_token(db=db, plain=plain).id  # type: ignore[union-attr]
    resp = svc.client.patch(
        f"/api/v1/dispatch/technicians/{tech['id']}",
        json={"api_token_id": token_id},
        headers=svc.headers("supervisor"),
    )
    assert resp.status_code == 200, resp.text
    return tech["id"], {"Authorization": f"Bearer {plain}"}


def customer_ticket(region: str | None = "深圳") -> int:
    """A ticket made the way triage makes it, with the customer's phone."""
    from tickets.models import Ticket

    tid = make_ticket(region=region)
    with session_scope() as db:
        ticket = db.get(Ticket, tid)
        assert ticket is not None
        ticket.phone, ticket.customer_name = PHONE, "王女士"
    return tid


def act(
    svc: Service,
    headers: dict,
    assignment_id: int,
    kind: str,
    data: dict | None = None,
    action_id: str | None = None,
    expect: int = 200,
) -> dict:
    """One app action through the API."""
    resp = svc.client.post(
        f"/api/v1/dispatch/assignments/{assignment_id}/actions",
        json={"action_id": action_id or uuid.uuid4().hex, "kind": kind, "data": data or {}},
        headers=headers,
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


def resolve_data(parts_used: list[int] | None = None) -> dict:
    """What the resolve action carries: resolution, a photo, the signature, parts used."""
    return {
        "resolution": "更换锁体电机，测试开关门 10 次正常",
        "photos": [PNG],
        "signature": PNG,
        "parts_used": parts_used or [],
    }


def run_visit(svc: Service, headers: dict, assignment_id: int) -> None:
    """accept → on the way → call → arrive (at the site) → start → resolve."""
    act(svc, headers, assignment_id, "accept")
    act(svc, headers, assignment_id, "on_way", {"eta_minutes": 30})
    act(svc, headers, assignment_id, "call")
    act(svc, headers, assignment_id, "arrive", {"lat": SITE[0], "lon": SITE[1]})
    act(svc, headers, assignment_id, "start")
    act(svc, headers, assignment_id, "resolve", resolve_data())


def offer_of(svc: Service, ticket_id: int) -> int:
    """The id of the ticket's open offer."""
    offer = active(svc, ticket_id)
    assert offer is not None
    return int(offer["id"])


def png_bytes() -> bytes:
    """The raw bytes of PNG."""
    return base64.b64decode(PNG.split(",", 1)[1])
