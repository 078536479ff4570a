"""Matching's inputs: the technicians on the roster (loads, shifts) and the tickets' needs."""

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import get_settings
from dispatch import technicians
from dispatch.geofence import KM_PER_DEG_LAT
from dispatch.matching import Need, Roster, Tech
from dispatch.models import Assignment, Technician
from dispatch.requirements import Requirement
from tickets.models import Ticket

URGENCY = {"P1": 1.0, "P2": 0.67, "P3": 0.33, "P4": 0.0}


def build_roster(db: Session, around: tuple[float, float, float] | None = None) -> Roster:
    """Active technicians with today's loads and shift state; `around` = (lat, lon, km) loads
    only those inside that bounding box."""
    stmt = select(Technician).where(Technician.active.is_(True)).order_by(Technician.id)
    if around is not None:
        lat, lon, km = around
        dlat = km / KM_PER_DEG_LAT
        dlon = dlat / max(0.05, math.cos(math.radians(lat)))
        stmt = stmt.where(
            Technician.lat.between(lat - dlat, lat + dlat),
            Technician.lon.between(lon - dlon, lon + dlon),
        )
    rows = list(db.scalars(stmt))
    loads = technicians.loads_today(db, [t.id for t in rows] if around is not None else None)
    local = technicians.local_now()
    techs = [
        Tech(
            id=t.id,
            lat=t.lat,
            lon=t.lon,
            skills=frozenset(t.skills),
            level=t.level,
            load=loads.get(t.id, 0),
            available=t.available,
            on_shift=technicians.on_shift(t.shifts, local),
            regions=frozenset(t.regions),
        )
        for t in rows
    ]
    return Roster(techs, get_settings().dispatch_max_per_day)


def needs_of(db: Session, reqs: list[Requirement]) -> list[Need]:
    """Matching's view of the tickets: previous technicians of the device, who declined."""
    ids = [r.ticket.id for r in reqs]
    refused: dict[int, set[int]] = {}
    for tid, tech in db.execute(
        select(Assignment.ticket_id, Assignment.technician_id).where(
            Assignment.ticket_id.in_(ids), Assignment.status.in_(("declined", "expired"))
        )
    ):
        refused.setdefault(tid, set()).add(tech)
    hws = {r.ticket.hardware_id for r in reqs if r.ticket.hardware_id}
    previous: dict[str, set[int]] = {}
    if hws:
        for hw, tech in db.execute(
            select(Ticket.hardware_id, Assignment.technician_id)
            .join(Assignment, Assignment.ticket_id == Ticket.id)
            .where(Ticket.hardware_id.in_(hws), Assignment.status == "accepted")
        ):
            previous.setdefault(hw, set()).add(tech)
    out = []
    for r in reqs:
        assert r.site is not None
        t = r.ticket
        out.append(
            Need(
                id=t.id,
                lat=r.site[0],
                lon=r.site[1],
                radius_km=r.radius_km,
                skills=r.skills,
                region=t.region or (r.device.region if r.device else None),
                urgency=URGENCY.get(t.sla_class, 0.0),
                previous=frozenset(previous.get(t.hardware_id or "", ())),
                excluded=frozenset(refused.get(t.id, ())),
            )
        )
    return out
