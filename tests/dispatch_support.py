"""Helpers of the dispatch and parts tests: tickets as triage makes them, technicians, places."""

from typing import Any

from tests.conftest import Service

# Shenzhen, Nanshan: the site of most test tickets, and points at known distances from it.
SITE = (22.5400, 113.9500)
KM = 1 / 111.2  # about one km of latitude, in degrees


def north(km: float) -> tuple[float, float]:
    """A point km north of SITE."""
    return (SITE[0] + km * KM, SITE[1])


def make_ticket(
    kb_id: str | None = "LOCK-MOTOR-JAM",
    *,
    site: tuple[float, float] | None = SITE,
    region: str | None = None,
    hardware_id: str | None = None,
    model: str | None = "X5",
    firmware: str | None = None,
    sla_class: str = "P2",
    text: str = "门锁验证成功但是门打不开，电机空转",
    phone: str | None = None,
) -> int:
    """A ticket created the way triage creates one (publishes ticket.triaged → dispatch)."""
    from core.db import session_scope
    from knowledge_base.models import KBEntry
    from tickets.service import create_from_triage
    from triage.result import TriageResult

    with session_scope() as db:
        entry = db.get(KBEntry, kb_id) if kb_id else None
        content = entry.published if entry else {}
        fields = {
            "product_type": content.get("product_type"),
            "model": model,
            "firmware": firmware,
            "hardware_id": hardware_id,
            "region": region,
            "latitude": site[0] if site else None,
            "longitude": site[1] if site else None,
            "address": "深圳市南山区科技园1栋",
            "phone": phone,
        }
        triage = TriageResult(
            text=text,
            normalized_text=text,
            fields=fields,
            required_fields=[],
            diagnosis={
                "kb_id": kb_id,
                "confidence": 0.9 if kb_id else 0.1,
                "no_match": kb_id is None,
                "title": content.get("title"),
            },
            severity=content.get("severity"),
            sla_class=sla_class,
        )
        return create_from_triage(db=db, triage=triage, channel="app", actor="test").id


def add_tech(
    svc: Service,
    name: str,
    at: tuple[float, float],
    skills: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Register a technician through the API."""
    body = {"name": name, "home_lat": at[0], "home_lon": at[1], "skills": skills or [], **extra}
    resp = svc.client.post(
        "/api/v1/dispatch/technicians", json=body, headers=svc.headers("supervisor")
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def state(svc: Service, ticket_id: int) -> dict[str, Any]:
    """The dispatch state of a ticket."""
    resp = svc.client.get(f"/api/v1/dispatch/tickets/{ticket_id}", headers=svc.headers("agent"))
    assert resp.status_code == 200, resp.text
    return resp.json()


def active(svc: Service, ticket_id: int) -> dict[str, Any] | None:
    """The ticket's open offer or accepted assignment."""
    items = [
        a for a in state(svc, ticket_id)["assignments"] if a["status"] in ("offered", "accepted")
    ]
    return items[-1] if items else None
