"""What a ticket needs from a technician (site, skills, parts, radius) and why it cannot be
matched yet; who holds it now."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import get_settings
from dispatch import parts
from dispatch.models import ACTIVE_ASSIGNMENT, Assignment, Device
from knowledge_base.models import KBEntry
from tickets.models import Ticket

ACTOR = "system:dispatch"
POOL_STATUSES = ("triaged", "reviewed")


def radius_for(region: str | None, sla_class: str | None) -> float:
    """Service radius (km) of a ticket: the most specific "<region>|<sla_class>" override."""
    settings = get_settings()
    table = settings.dispatch_radius_overrides
    for key in (f"{region}|{sla_class}", f"{region}|*", f"*|{sla_class}"):
        if key in table:
            return float(table[key])
    return settings.service_radius_km


@dataclass
class Requirement:
    """What a ticket needs from a technician, and why it cannot be matched yet (blocked)."""

    ticket: Ticket
    kb: dict[str, Any] | None
    device: Device | None
    site: tuple[float, float] | None
    skills: frozenset[str]
    parts: list[str]
    remote_first: bool
    radius_km: float
    blocked: str | None


def requirement(db: Session, ticket: Ticket) -> Requirement:
    """Site, skills and parts of a ticket, from the ticket, its device and its KB entry."""
    entry = db.get(KBEntry, ticket.kb_id) if ticket.kb_id else None
    kb = entry.published if entry is not None else None
    device = db.get(Device, ticket.hardware_id.upper()) if ticket.hardware_id else None
    site = None
    if ticket.latitude is not None and ticket.longitude is not None:
        site = (ticket.latitude, ticket.longitude)
    elif device is not None and device.lat is not None and device.lon is not None:
        site = (device.lat, device.lon)
    region = ticket.region or (device.region if device else None)
    blocked = None
    if ticket.status not in POOL_STATUSES:
        blocked = f"ticket is {ticket.status}"
    elif site is None and ticket.address:
        # The geocoder's own answer (if one is configured) is in the ticket's history.
        blocked = (
            f"no site coordinates: the address {ticket.address!r} is not placed (see the "
            "ticket's history); set the ticket's latitude/longitude"
        )
    elif site is None:
        blocked = "no site coordinates: set the ticket's latitude/longitude or register its device"
    elif kb is None and ticket.reviewed_at is None:
        blocked = "no diagnosis yet: waiting for an agent's review"
    return Requirement(
        ticket=ticket,
        kb=kb,
        device=device,
        site=site,
        skills=frozenset((kb or {}).get("skills") or []),
        parts=list((kb or {}).get("parts") or []),
        remote_first=bool((kb or {}).get("remote_fixable")),
        radius_km=radius_for(region, ticket.sla_class),
        blocked=blocked,
    )


def bind_job(req: Requirement) -> parts.BindJob:
    """What binding the ticket's parts needs (for parts.bind_parts)."""
    t = req.ticket
    return parts.BindJob(t.id, req.parts, t.model, t.firmware, req.device, req.site)


def requirements_view(req: Requirement) -> dict[str, Any]:
    """The requirement as the explanation of a decision shows it."""
    return {
        "site": req.site,
        "radius_km": req.radius_km,
        "skills": sorted(req.skills),
        "parts": req.parts,
        "region": req.ticket.region or (req.device.region if req.device else None),
        "sla_class": req.ticket.sla_class,
        "kb_id": req.ticket.kb_id,
    }


def active_assignment(db: Session, ticket_id: int) -> Assignment | None:
    """The ticket's open offer or accepted assignment, if any."""
    return db.scalar(
        select(Assignment)
        .where(Assignment.ticket_id == ticket_id, Assignment.status.in_(ACTIVE_ASSIGNMENT))
        .order_by(Assignment.id.desc())
    )
