"""Offers: a batch of matched tickets offered to their technicians (rows, history, push
cards, the dispatch.assigned event), and a supervisor's override."""

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock, events
from core.errors import ApiError, not_found
from core.settings import get_settings
from dispatch import parts, technicians
from dispatch.cards import push_cards
from dispatch.decisions import decide
from dispatch.events import DispatchAssigned, Offered
from dispatch.matching import Match, explain
from dispatch.models import Assignment, PendingDispatch, Technician
from dispatch.requirements import (
    POOL_STATUSES,
    Requirement,
    active_assignment,
    requirement,
    requirements_view,
)
from dispatch.roster import build_roster, needs_of
from tickets import service as tickets
from tickets.models import Ticket
from tickets.states import FINAL

log = logging.getLogger("hotline.dispatch")


def lock_ticket(db: Session, ticket_id: int) -> Ticket:
    """The ticket, locked for update (a 404 if it does not exist)."""
    ticket = db.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)
    if ticket is None:
        raise not_found("ticket", ticket_id)
    return ticket


def lock_tickets(db: Session, ticket_ids: list[int]) -> dict[int, Ticket]:
    """The tickets, locked for update in id order (no lock cycles between dispatchers)."""
    stmt = (
        select(Ticket)
        .where(Ticket.id.in_(ticket_ids))
        .order_by(Ticket.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {t.id: t for t in db.scalars(stmt)}


def offer_many(
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
    locked = lock_tickets(db, [req.ticket.id for req, *_ in kept])
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
        decide(
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
    push_cards(db, [(r, locked[r.ticket.id], t, a, m.distance_km) for r, m, t, a, _ in made])
    # dispatch.hooks schedules the batch's expiry (the tasks module imports this one).
    offered = [Offered(locked[r.ticket.id], t, a) for r, _, t, a, _ in made]
    events.publish(DispatchAssigned(offers=offered), db=db)
    return {a.ticket_id: a for _, _, _, a, _ in made}


def reassign(
    db: Session, *, ticket_id: int | str, technician_id: int, reason: str, actor: str
) -> Assignment:
    """A supervisor's override: the ticket goes to this technician, whatever the filters say
    (what they would have said is kept in the explanation), with a mandatory reason."""
    if not reason or not reason.strip():
        raise ApiError(422, "reason_required", "An override needs a reason.")
    ticket = tickets.get_ticket(db=db, ticket_id=ticket_id)
    ticket = lock_ticket(db, ticket.id)
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
        need = needs_of(db, [req])[0]
        wide = explain(roster, need, limit=10_000)
        mine = [c for c in wide["candidates"] if c["technician_id"] == tech.id]
        expl = {"override_candidate": mine[0] if mine else {"outside": "beyond 2× the radius"}}
        distance = mine[0]["distance_km"] if mine else None
    expl["requirements"] = requirements_view(req)
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
    made = offer_many(db, [(req, match, expl)], trigger="override", actor=actor, reason=reason)
    return made[ticket.id]
