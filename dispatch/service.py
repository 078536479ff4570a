"""Dispatch's open pool: tickets waiting for a technician, matched as a whole.

A triaged ticket enters the pool (`queue_ticket`) and is matched at once; whatever nobody could
take stays in `dispatch_pending` with the reason and is re-matched as a whole (`rematch`) on
every relevant event and at least every `dispatch_rematch_interval_s`. Beside it: what a ticket
needs (requirements), the roster (roster), offers and overrides (offers), the technicians'
answers (answers), the push card (cards), the decision log (decisions), views (views).
"""

import logging
import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import clock
from core.auth import Principal
from core.errors import ApiError
from dispatch import parts
from dispatch.decisions import decide, set_reason
from dispatch.matching import assign_pool, explain
from dispatch.models import Assignment, Device, PendingDispatch, Reservation, Technician
from dispatch.offers import offer_many
from dispatch.requirements import (
    ACTOR,
    Requirement,
    active_assignment,
    bind_job,
    requirement,
    requirements_view,
)
from dispatch.roster import build_roster, needs_of
from knowledge_base.models import KBEntry
from tickets.models import Ticket
from tickets.states import FINAL

log = logging.getLogger("hotline.dispatch")


def technician_of(db: Session, principal: Principal) -> Technician | None:
    """The technician whose API token the caller used, if any."""
    return db.scalar(select(Technician).where(Technician.api_token_id == principal.token_id))


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
        decide(
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
        parts.bind_parts(db, bind_job(req), actor=actor)
    db.flush()
    return row


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
            decide(
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
        needs = needs_of(db, ready)
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
            expl["requirements"] = requirements_view(req)
            expl["method"] = method
            explained.append((req, need, expl))
        made = offer_many(
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
