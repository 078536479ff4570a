"""Dispatch: the open pool of tickets waiting for a technician, offers and their answers,
supervisor overrides, and the explanation of every decision.

A triaged ticket enters the pool (`queue_ticket`) and is matched at once; whatever nobody could
take stays in `dispatch_pending` with the reason and is re-matched as a whole (`rematch`) on
every relevant event and at least every `dispatch_rematch_interval_s`.
"""

import logging
import math
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import clock, events, notify
from core.auth import Principal
from core.errors import ApiError, not_found
from core.settings import get_settings
from dispatch import parts, technicians
from dispatch.cards import build_card
from dispatch.geofence import KM_PER_DEG_LAT
from dispatch.matching import Match, Need, Roster, Tech, assign_pool, explain
from dispatch.models import (
    ACTIVE_ASSIGNMENT,
    Assignment,
    Device,
    DispatchDecision,
    PendingDispatch,
    Reservation,
    Technician,
)
from knowledge_base.models import KBEntry
from tickets import service as tickets
from tickets.models import Ticket
from tickets.states import FINAL

log = logging.getLogger("hotline.dispatch")
ACTOR = "system:dispatch"
UNANSWERED_OVERRIDE = "指派未在时限内应答：派单保留，已通知主管"
URGENCY = {"P1": 1.0, "P2": 0.67, "P3": 0.33, "P4": 0.0}
POOL_STATUSES = ("triaged", "reviewed")


def technician_of(db: Session, principal: Principal) -> Technician | None:
    """The technician whose API token the caller used, if any."""
    return db.scalar(select(Technician).where(Technician.api_token_id == principal.token_id))


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


def _decide(
    db: Session,
    ticket: Ticket,
    *,
    trigger: str,
    outcome: str,
    reason: str,
    details: dict[str, Any],
    technician_id: int | None = None,
) -> DispatchDecision:
    row = DispatchDecision(
        ticket_id=ticket.id,
        at=clock.now(),
        trigger=trigger,
        outcome=outcome,
        technician_id=technician_id,
        reason=reason,
        details=details,
    )
    db.add(row)
    return row


def active_assignment(db: Session, ticket_id: int) -> Assignment | None:
    """The ticket's open offer or accepted assignment, if any."""
    return db.scalar(
        select(Assignment)
        .where(Assignment.ticket_id == ticket_id, Assignment.status.in_(ACTIVE_ASSIGNMENT))
        .order_by(Assignment.id.desc())
    )


def queue_ticket(
    db: Session, ticket: Ticket, *, trigger: str, forced: bool = False, actor: str = ACTOR
) -> PendingDispatch | None:
    """Put a ticket into the open pool (reserving its parts); None if it needs no visit.

    A diagnosis that says "remote fix first" is not dispatched unless forced (a supervisor
    asks for a visit after the remote fix failed).
    """
    if ticket.status in FINAL:
        raise ApiError(409, "ticket_final", f"Ticket {ticket.number} is {ticket.status}.")
    if active_assignment(db, ticket.id) is not None:
        raise ApiError(409, "already_dispatched", f"Ticket {ticket.number} has a technician.")
    req = requirement(db, ticket)
    if req.remote_first and not forced:
        _decide(
            db,
            ticket,
            trigger=trigger,
            outcome="skipped",
            reason="the diagnosis says remote fix first; no visit dispatched",
            details={"kb_id": ticket.kb_id},
        )
        db.flush()
        return None
    row = db.get(PendingDispatch, ticket.id)
    now = clock.now()
    if row is None:
        row = PendingDispatch(
            ticket_id=ticket.id, queued_at=now, reason="queued", tries=0, forced=forced
        )
        db.add(row)
    row.forced = row.forced or forced
    if req.parts and req.site is not None:
        parts.bind_parts(db, _bind_job(req), actor=actor)
    db.flush()
    return row


def _bind_job(req: Requirement) -> parts.BindJob:
    t = req.ticket
    return parts.BindJob(t.id, req.parts, t.model, t.firmware, req.device, req.site)


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


def _needs(db: Session, reqs: list[Requirement]) -> list[Need]:
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


def _pending_reason(expl: dict[str, Any], radius_km: float) -> str:
    if expl["qualified"]:
        return "qualified technicians were all given other tickets this round"
    removed = expl["removed_by_filter"]
    if not expl["considered"]:
        return f"no technician within {radius_km:g} km"
    parts_ = [f"{n} {what}" for what, n in removed.items()]
    return f"nobody qualifies within {radius_km:g} km: " + ", ".join(parts_)


def rematch(
    db: Session, *, trigger: str = "rematch", ticket_ids: list[int] | None = None
) -> dict[str, Any]:
    """Match the open pool (or some of its tickets) as a whole and make the offers."""
    t0 = time.perf_counter()
    stmt = select(PendingDispatch).order_by(PendingDispatch.queued_at)
    if ticket_ids is not None:
        stmt = stmt.where(PendingDispatch.ticket_id.in_(ticket_ids))
    pending = list(db.scalars(stmt))
    preloaded = _preload(db, [row.ticket_id for row in pending])
    ready: list[Requirement] = []
    now = clock.now()
    for row in pending:
        ticket = db.get(Ticket, row.ticket_id)
        assert ticket is not None
        req = requirement(db, ticket)
        if ticket.status in FINAL:
            db.delete(row)
            continue
        if req.remote_first and not row.forced:
            # Reviewed into a "remote fix first" diagnosis after it was queued.
            db.delete(row)
            _decide(
                db,
                ticket,
                trigger=trigger,
                outcome="skipped",
                reason="the diagnosis says remote fix first; no visit dispatched",
                details={"kb_id": ticket.kb_id},
            )
            continue
        row.tries += 1
        row.last_tried_at = now
        if req.blocked:
            set_reason(db, row, ticket, req.blocked, trigger, {})
        else:
            ready.append(req)
    del preloaded  # the requirements hold what they need now
    offered, match_ms = 0, 0.0
    if ready:
        if len(ready) == 1 and ready[0].site is not None:
            site = ready[0].site
            roster = build_roster(db, around=(site[0], site[1], ready[0].radius_km * 2))
        else:
            roster = build_roster(db)
        needs = _needs(db, ready)
        loads_before = roster.load.copy()
        result = assign_pool(roster, needs)
        match_ms = (time.perf_counter() - t0) * 1000
        roster.load[:] = loads_before  # explain each decision as the solver saw the loads
        by_ticket = {m.ticket_id: m for m in result.matches}
        method = {"solver": "linear_sum_assignment", "pool": len(needs), "rounds": result.rounds}
        # Offers in technician order: concurrent dispatchers lock technician rows in one order.
        order = sorted(
            zip(ready, needs, strict=True),
            key=lambda rn: by_ticket[rn[1].id].technician_id if rn[1].id in by_ticket else -1,
        )
        explained = []
        for req, need in order:
            expl = explain(roster, need)
            expl["requirements"] = _requirements_view(req)
            expl["method"] = method
            explained.append((req, need, expl))
        made = _offer_many(
            db,
            [(req, by_ticket[n.id], expl) for req, n, expl in explained if n.id in by_ticket],
            trigger=trigger,
            actor=ACTOR,
        )
        offered = len(made)
        rows = {row.ticket_id: row for row in pending}
        for req, need, expl in explained:
            if need.id not in made:
                reason = _pending_reason(expl, need.radius_km)
                set_reason(db, rows[need.id], req.ticket, reason, trigger, expl)
    db.flush()
    return {
        "pool": len(pending),
        "offered": offered,
        "pending": len(pending) - offered,
        "match_ms": round(match_ms, 1),  # loading the pool and roster, and solving
        "ms": round((time.perf_counter() - t0) * 1000, 1),
    }


def _preload(db: Session, ticket_ids: list[int]) -> list[object]:
    """Load the pool's tickets, their devices and KB entries in three queries, so the
    per-ticket lookups of `requirement` hit the session instead of the database (each of
    those would also autoflush). The session holds loaded objects weakly: keep the result
    while looking them up."""
    if not ticket_ids:
        return []
    loaded: list[object] = list(db.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids))))
    hws = {t.hardware_id.upper() for t in loaded if isinstance(t, Ticket) and t.hardware_id}
    kbs = {t.kb_id for t in loaded if isinstance(t, Ticket) and t.kb_id}
    if hws:
        loaded += db.scalars(select(Device).where(Device.hardware_id.in_(hws)))
    if kbs:
        loaded += db.scalars(select(KBEntry).where(KBEntry.id.in_(kbs)))
    return loaded


def _requirements_view(req: Requirement) -> dict[str, Any]:
    return {
        "site": req.site,
        "radius_km": req.radius_km,
        "skills": sorted(req.skills),
        "parts": req.parts,
        "region": req.ticket.region or (req.device.region if req.device else None),
        "sla_class": req.ticket.sla_class,
        "kb_id": req.ticket.kb_id,
    }


def set_reason(
    db: Session,
    row: PendingDispatch,
    ticket: Ticket,
    reason: str,
    trigger: str,
    details: dict[str, Any],
) -> None:
    """Keep the pending reason current; log a decision only when the reason changes."""
    if row.reason != reason:
        row.reason = reason
        _decide(db, ticket, trigger=trigger, outcome="pending", reason=reason, details=details)


def _lock_ticket(db: Session, ticket_id: int) -> Ticket:
    ticket = db.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)
    if ticket is None:
        raise not_found("ticket", ticket_id)
    return ticket


class Offered(NamedTuple):
    """One offer made: what `dispatch.assigned` subscribers receive, a list per batch."""

    ticket: Ticket
    technician: Technician
    assignment: Assignment


def _lock_tickets(db: Session, ticket_ids: list[int]) -> dict[int, Ticket]:
    stmt = (
        select(Ticket)
        .where(Ticket.id.in_(ticket_ids))
        .order_by(Ticket.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {t.id: t for t in db.scalars(stmt)}


def _offer_many(
    db: Session,
    offers: list[tuple[Requirement, Match, dict[str, Any]]],
    *,
    trigger: str,
    actor: str,
    reason: str | None = None,
) -> dict[int, Assignment]:
    """Offer each ticket to its matched technician; the offers made, by ticket id. A ticket is
    skipped if someone was faster (another worker dispatched it, or the technician reached
    the cap meanwhile).

    Every row of the batch (assignments, history, decisions, cards) is written in a few
    flushes and the expiry is one queued task, so a pool of 1,000 costs what a few offers did.
    """
    if not offers:
        return {}
    settings = get_settings()
    override = trigger == "override"
    # Claim the pool entries first, skipping those another worker holds (it is dispatching
    # them): a claimer then waits only for technician rows, locked in id order, so two
    # dispatchers never wait on each other in a cycle.
    claims = {
        row.ticket_id: row
        for row in db.scalars(
            select(PendingDispatch)
            .where(PendingDispatch.ticket_id.in_([r.ticket.id for r, _, _ in offers]))
            .with_for_update(skip_locked=True)
        )
    }
    if not override:
        offers = [o for o in offers if o[0].ticket.id in claims]
    tech_ids = sorted({m.technician_id for _, m, _ in offers})
    techs = {
        t.id: t
        for t in db.scalars(
            select(Technician)
            .where(Technician.id.in_(tech_ids))
            .order_by(Technician.id)
            .with_for_update()  # serialises the cap check
        )
    }
    loads = technicians.loads_today(db, tech_ids) if not override else {}
    kept = []
    for req, match, expl in sorted(offers, key=lambda o: o[1].technician_id):
        tech = techs.get(match.technician_id)
        if tech is None:
            continue
        if not override:
            if loads.get(tech.id, 0) >= settings.dispatch_max_per_day:
                continue
            loads[tech.id] = loads.get(tech.id, 0) + 1
        kept.append((req, match, expl, tech))
    if not kept:
        return {}
    for req, *_ in kept:
        if req.ticket.id in claims:
            db.delete(claims[req.ticket.id])
    locked = _lock_tickets(db, [req.ticket.id for req, *_ in kept])
    now = clock.now()
    made: list[tuple[Requirement, Match, Technician, Assignment, str]] = []
    for req, match, expl, tech in kept:
        ticket = locked[req.ticket.id]
        summary = (
            f"{tech.name} (#{tech.id}), {match.distance_km:.1f} km, score {match.score:.2f}"
            if not override
            else f"override to {tech.name} (#{tech.id}): {reason}"
        )
        details = {**expl, "chosen": match.technician_id, "components": match.components}
        explanation = details
        if not (tech.webhook_url or settings.dispatch_webhook_url):
            log.info("technician %s has no webhook and no default is set: card not sent", tech.id)
            explanation = {**details, "card": "not sent: no webhook url"}
        assignment = Assignment(
            ticket_id=ticket.id,
            technician_id=tech.id,
            status="offered",
            score=match.score,
            explanation=explanation,
            actor=actor,
            reason=reason,
            offered_at=now,
            expires_at=now + timedelta(seconds=settings.dispatch_offer_timeout_s),
        )
        db.add(assignment)
        _decide(
            db,
            ticket,
            trigger=trigger,
            outcome="override" if override else "offered",
            reason=summary,
            details=details,
            technician_id=tech.id,
        )
        made.append((req, match, tech, assignment, summary))
    db.flush()
    moves = [(locked[r.ticket.id], why) for r, _, _, _, why in made]
    tickets.transition_many(
        db=db,
        moves=[m for m in moves if m[0].status in POOL_STATUSES],
        to="dispatched",
        actor=actor,
    )
    _push_cards(db, [(r, locked[r.ticket.id], t, a, m.distance_km) for r, m, t, a, _ in made])
    # dispatch.hooks schedules the batch's expiry (the tasks module imports this one).
    events.publish(
        "dispatch.assigned",
        db=db,
        offers=[Offered(locked[r.ticket.id], t, a) for r, _, t, a, _ in made],
    )
    return {a.ticket_id: a for _, _, _, a, _ in made}


def device_history(
    db: Session, hardware_id: str | None, *, exclude_ticket_id: int | None = None, limit: int = 5
) -> list[dict[str, Any]]:
    """Tickets of a device, newest first, with who handled them (its repair history)."""
    if not hardware_id:
        return []
    stmt = select(Ticket).where(Ticket.hardware_id == hardware_id)
    if exclude_ticket_id is not None:
        stmt = stmt.where(Ticket.id != exclude_ticket_id)
    rows = db.scalars(stmt.order_by(Ticket.id.desc()).limit(limit))
    out = []
    for t in rows:
        name = db.scalar(
            select(Technician.name)
            .join(Assignment, Assignment.technician_id == Technician.id)
            .where(Assignment.ticket_id == t.id, Assignment.status == "accepted")
            .order_by(Assignment.id.desc())
            .limit(1)
        )
        out.append(
            {
                "number": t.number,
                "date": f"{t.created_at:%Y-%m-%d}",
                "kb_id": t.kb_id,
                "title": (t.diagnosis or {}).get("title"),
                "status": t.status,
                "technician": name,
            }
        )
    return out


def _push_cards(
    db: Session, items: list[tuple[Requirement, Ticket, Technician, Assignment, float | None]]
) -> None:
    """The push card of each offer (held parts read in one query, cards sent in one flush)."""
    held = parts.held_by_ticket(db, [ticket.id for _, ticket, _, _, _ in items])
    # Try again for what was out of stock when the tickets were queued.
    retry = [
        _bind_job(req)
        for req, ticket, _, _, _ in items
        if req.parts and req.site and not set(req.parts) <= {r.part for r in held[ticket.id]}
    ]
    rebound = parts.bind_parts_many(db, retry, actor=ACTOR) if retry else {}
    default_url = get_settings().dispatch_webhook_url
    messages = []
    undeliverable: list[Offered] = []
    for req, ticket, tech, assignment, distance_km in items:
        report = rebound.get(ticket.id)
        if report is None:
            report = [
                {"part": r.part, "sku": r.sku, "status": "reserved", "warehouse_id": r.warehouse_id}
                for r in held[ticket.id]
            ]
        view = tickets.ticket_view(ticket)
        card = build_card(
            ticket={
                "id": ticket.id,
                "number": ticket.number,
                "address": ticket.address or (req.device.address if req.device else None),
                **view["device"],
                "hardware_id": ticket.hardware_id,
                "fault_code": ticket.fault_code,
                "description": ticket.description,
                "sla_class": ticket.sla_class,
                "severity": ticket.severity,
            },
            assignment_id=assignment.id,
            distance_km=distance_km,
            kb=req.kb,
            parts=report,
            history=device_history(db, ticket.hardware_id, exclude_ticket_id=ticket.id),
            site=req.site,
        )
        url = tech.webhook_url or default_url
        if url:  # without one, the assignment's explanation says the card was not sent
            messages.append(
                notify.Message(
                    kind="dispatch.card",
                    recipient=f"technician:{tech.id}",
                    url=url,
                    payload=card,
                    channel=tech.notify_channel,
                    ref_type="ticket",
                    ref_id=ticket.id,
                )
            )
        else:
            undeliverable.append(Offered(ticket, tech, assignment))
    if messages:
        notify.send_many(db=db, messages=messages)
    if undeliverable:
        # Nothing silent: the supervisor hears of it now, not when the offer expires.
        events.publish(
            "dispatch.card_undeliverable",
            db=db,
            offers=undeliverable,
            reason="技师未配置推送 webhook，且没有默认 webhook",
        )


def get_assignment(db: Session, assignment_id: int, *, lock: bool = False) -> Assignment:
    """An assignment by id, or a 404."""
    row = db.get(Assignment, assignment_id, with_for_update=lock, populate_existing=lock)
    if row is None:
        raise not_found("assignment", assignment_id)
    return row


def _own_offer(db: Session, assignment_id: int, tech: Technician | None) -> Assignment:
    row = get_assignment(db, assignment_id, lock=True)
    if tech is not None and row.technician_id != tech.id:
        raise ApiError(403, "not_yours", f"Assignment {assignment_id} was offered to someone else.")
    if row.status != "offered":
        raise ApiError(
            409, "not_open", f"Assignment {assignment_id} is {row.status}; it cannot be answered."
        )
    return row


def accept(db: Session, assignment_id: int, *, tech: Technician | None, actor: str) -> Assignment:
    """The technician takes the ticket: parts start moving to them."""
    row = _own_offer(db, assignment_id, tech)
    now = clock.now()
    # A supervisor's override does not expire (see expire_offers): it can still be taken.
    if now > row.expires_at and row.actor == ACTOR:
        raise ApiError(409, "offer_expired", f"The offer expired at {row.expires_at:%H:%M:%S}.")
    row.status, row.responded_at = "accepted", now
    ticket = _lock_ticket(db, row.ticket_id)
    tickets.add_note(
        db=db, ticket=ticket, actor=actor, note=f"accepted by technician #{row.technician_id}"
    )
    parts.create_transfers(db, ticket_id=ticket.id, technician_id=row.technician_id)
    db.flush()
    return row


def decline(
    db: Session, assignment_id: int, *, tech: Technician | None, actor: str, reason: str | None
) -> Assignment:
    """The technician turns the offer down: the ticket is re-dispatched to someone else."""
    row = _own_offer(db, assignment_id, tech)
    row.status, row.responded_at, row.response_note = "declined", clock.now(), reason
    _back_to_pool(db, row, trigger="declined", actor=actor, why=f"declined: {reason or '-'}")
    return row


def expire_offers(db: Session, assignment_ids: list[int] | None = None) -> int:
    """Offers nobody answered in time (all, or just these) go back to the pool and are
    re-dispatched."""
    now = clock.now()
    stmt = select(Assignment).where(Assignment.status == "offered", Assignment.expires_at <= now)
    if assignment_ids is not None:
        stmt = stmt.where(Assignment.id.in_(assignment_ids))
    n = 0
    for row in list(db.scalars(stmt.with_for_update(skip_locked=True))):
        if row.actor != ACTOR:
            # A supervisor's override is never silently undone: it stays with the technician
            # and the supervisor is told once that it is unanswered.
            if not row.response_note:
                row.response_note = UNANSWERED_OVERRIDE
                events.publish("dispatch.override_unanswered", db=db, assignment=row)
            continue
        row.status, row.responded_at = "expired", now
        _back_to_pool(db, row, trigger="expired", actor=ACTOR, why="offer not answered in time")
        n += 1
    return n


def _back_to_pool(db: Session, row: Assignment, *, trigger: str, actor: str, why: str) -> None:
    ticket = _lock_ticket(db, row.ticket_id)
    events.publish("dispatch.unassigned", db=db, assignment=row, ticket=ticket, why=why)
    parts.cancel_transfers(db, ticket.id)
    if ticket.status in FINAL:
        db.flush()
        return
    if ticket.status == "dispatched":
        back = "reviewed" if ticket.reviewed_at else "triaged"
        tickets.transition(db=db, ticket_id=ticket.id, to=back, actor=actor, reason=why)
    if db.get(PendingDispatch, ticket.id) is None:
        # forced: the visit was decided when it was first dispatched (even if remote-first).
        db.add(
            PendingDispatch(
                ticket_id=ticket.id, queued_at=clock.now(), reason=why, tries=0, forced=True
            )
        )
    db.flush()
    rematch(db, trigger=trigger, ticket_ids=[ticket.id])


def reassign(
    db: Session, *, ticket_id: int | str, technician_id: int, reason: str, actor: str
) -> Assignment:
    """A supervisor's override: the ticket goes to this technician, whatever the filters say
    (what they would have said is kept in the explanation), with a mandatory reason."""
    if not reason or not reason.strip():
        raise ApiError(422, "reason_required", "An override needs a reason.")
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    ticket = _lock_ticket(db, ticket.id)
    if ticket.status in FINAL:
        raise ApiError(409, "ticket_final", f"Ticket {ticket.number} is {ticket.status}.")
    tech = technicians.get(db, technician_id)
    if not tech.active:
        raise ApiError(409, "technician_inactive", f"Technician #{tech.id} is deactivated.")
    current = active_assignment(db, ticket.id)
    if current is not None and current.technician_id == tech.id:
        raise ApiError(
            409, "already_assigned", f"Ticket {ticket.number} is already with #{tech.id}."
        )
    req = requirement(db, ticket)
    if req.site is None:
        expl: dict[str, Any] = {"warnings": ["no site coordinates"]}
        distance = None
    else:
        roster = build_roster(db)
        need = _needs(db, [req])[0]
        wide = explain(roster, need, limit=10_000)
        mine = [c for c in wide["candidates"] if c["technician_id"] == tech.id]
        expl = {"override_candidate": mine[0] if mine else {"outside": "beyond 2× the radius"}}
        distance = mine[0]["distance_km"] if mine else None
    expl["requirements"] = _requirements_view(req)
    if current is not None:
        current.status, current.responded_at, current.response_note = (
            "overridden",
            clock.now(),
            reason,
        )
        parts.cancel_transfers(db, ticket.id)
    tickets.record_event(
        db,
        ticket,
        actor=actor,
        kind="dispatch",
        changes={"technician": [current.technician_id if current else None, tech.id]},
        reason=reason,
    )
    match = Match(ticket.id, tech.id, 0.0, distance if distance is not None else -1.0, {})
    made = _offer_many(db, [(req, match, expl)], trigger="override", actor=actor, reason=reason)
    return made[ticket.id]


def release_final(db: Session, ticket_ids: list[int] | None = None) -> int:
    """Tickets that were cancelled or closed (all, or just ticket_ids) give back their
    technician, pool place and parts."""
    final = select(Ticket.id).where(Ticket.status.in_(FINAL))
    cancelled = select(Ticket.id).where(Ticket.status == "cancelled")
    if ticket_ids is not None:
        final = final.where(Ticket.id.in_(ticket_ids))
        cancelled = cancelled.where(Ticket.id.in_(ticket_ids))
    n = 0
    # A closed ticket keeps its accepted assignment (the device's repair history); only
    # unanswered offers, and everything of a cancelled ticket, are released.
    for row in db.scalars(
        select(Assignment).where(
            Assignment.ticket_id.in_(final),
            (Assignment.status == "offered")
            | ((Assignment.status == "accepted") & Assignment.ticket_id.in_(cancelled)),
        )
    ):
        row.status, row.response_note = "released", "ticket closed or cancelled"
        n += 1
    db.execute(delete(PendingDispatch).where(PendingDispatch.ticket_id.in_(final)))
    for tid in set(
        db.scalars(
            select(Reservation.ticket_id).where(
                Reservation.status == "held", Reservation.ticket_id.in_(cancelled)
            )
        )
    ):
        n += parts.release_ticket(db, tid, actor=ACTOR, reason="ticket cancelled")
    db.flush()
    return n


def dispatch_state(db: Session, ticket_id: int | str) -> dict[str, Any]:
    """Everything dispatch knows about a ticket: pool place, offers, decisions, parts."""
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    pending = db.get(PendingDispatch, ticket.id)
    assignments = db.scalars(
        select(Assignment).where(Assignment.ticket_id == ticket.id).order_by(Assignment.id)
    )
    decisions = db.scalars(
        select(DispatchDecision)
        .where(DispatchDecision.ticket_id == ticket.id)
        .order_by(DispatchDecision.id)
    )
    reservations = db.scalars(
        select(Reservation).where(Reservation.ticket_id == ticket.id).order_by(Reservation.id)
    )
    return {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "status": ticket.status,
        "pending": pending_view(pending, ticket) if pending else None,
        "assignments": [assignment_view(a) for a in assignments],
        "decisions": [decision_view(d) for d in decisions],
        "reservations": [parts.reservation_view(r) for r in reservations],
        "transfers": [parts.transfer_view(o) for o in parts.transfers(db, ticket_id=ticket.id)],
    }


def pending_queue(db: Session, limit: int = 200) -> list[dict[str, Any]]:
    """The "pending dispatch" queue, oldest first, each with its reason."""
    rows = db.execute(
        select(PendingDispatch, Ticket)
        .join(Ticket, Ticket.id == PendingDispatch.ticket_id)
        .order_by(PendingDispatch.queued_at)
        .limit(limit)
    )
    return [pending_view(p, t) for p, t in rows]


def pending_view(row: PendingDispatch, ticket: Ticket) -> dict[str, Any]:
    """API representation of a pool entry."""
    return {
        "ticket_id": row.ticket_id,
        "number": ticket.number,
        "sla_class": ticket.sla_class,
        "queued_at": row.queued_at,
        "reason": row.reason,
        "tries": row.tries,
        "last_tried_at": row.last_tried_at,
        "forced": row.forced,
    }


def assignment_view(row: Assignment) -> dict[str, Any]:
    """API representation of an assignment."""
    return {
        "id": row.id,
        "ticket_id": row.ticket_id,
        "technician_id": row.technician_id,
        "status": row.status,
        "score": row.score,
        "explanation": row.explanation,
        "actor": row.actor,
        "reason": row.reason,
        "offered_at": row.offered_at,
        "expires_at": row.expires_at,
        "responded_at": row.responded_at,
        "response_note": row.response_note,
    }


def decision_view(row: DispatchDecision) -> dict[str, Any]:
    """API representation of a dispatch decision."""
    return {
        "id": row.id,
        "ticket_id": row.ticket_id,
        "at": row.at,
        "trigger": row.trigger,
        "outcome": row.outcome,
        "technician_id": row.technician_id,
        "reason": row.reason,
        "details": row.details,
    }


def technician_assignments(db: Session, tech_id: int, open_only: bool = True) -> list[Assignment]:
    """A technician's offers and accepted tickets (newest first)."""
    stmt = select(Assignment).where(Assignment.technician_id == tech_id)
    if open_only:
        stmt = stmt.where(Assignment.status.in_(ACTIVE_ASSIGNMENT))
    return list(db.scalars(stmt.order_by(Assignment.id.desc()).limit(200)))


def on_triaged(db: Session, ticket: Ticket) -> None:
    """ticket.triaged: queue the ticket and match it at once, inside the intake transaction.

    A dispatch failure must not lose the ticket: it runs in a savepoint, and the periodic
    rematch retries whatever is left in the pool.
    """
    try:
        with db.begin_nested():
            if queue_ticket(db, ticket, trigger="triaged") is not None:
                rematch(db, trigger="triaged", ticket_ids=[ticket.id])
    except Exception:
        log.exception("dispatch of ticket %s failed; the rematch will retry", ticket.id)
        if db.get(PendingDispatch, ticket.id) is None:
            db.add(
                PendingDispatch(
                    ticket_id=ticket.id, queued_at=clock.now(), reason="dispatch error", tries=0
                )
            )
            db.flush()
