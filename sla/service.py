"""Per-ticket SLA: attach a policy, derive the clocks from evidence, pauses and history."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from core import clock, events
from core.db import session_scope
from core.errors import ApiError, not_found
from core.tasks import queue
from sla import clocks
from sla.config import calendar_spec, forget_spec, match_policy
from sla.events import DeadlineSet
from sla.models import Escalation, Evidence, PauseEvent, SlaPolicy, TicketSla
from tickets.models import Ticket, TicketEvent

EVIDENCE_KINDS = ("pushed", "viewed", "first_call")
DONE_STATUSES = ("resolved", "closed")


def running_clocks_due(before: datetime, extra: Callable[[str], Any] | None = None) -> Any:
    """SQL condition (over TicketSla joined to Ticket): a clock still running — response not
    yet proven, or resolution of a ticket not yet done — whose deadline is at or before
    `before`; `extra(kind)` adds a condition per clock kind."""

    def due(kind: str, running: Any) -> Any:
        deadline = getattr(TicketSla, f"{kind}_deadline_at")
        return and_(running, deadline <= before, *([extra(kind)] if extra else []))

    return and_(
        Ticket.status != "cancelled",
        or_(
            due("response", TicketSla.responded_at.is_(None)),
            due("resolution", Ticket.status.not_in(DONE_STATUSES)),
        ),
    )


def attach(db: Session, ticket: Ticket) -> TicketSla | None:
    """Give a ticket its policy and clocks (once); None if no policy matches it."""
    existing = db.get(TicketSla, ticket.id)
    if existing is not None:
        return existing
    facts = {
        "product_type": ticket.product_type,
        "severity": ticket.severity,
        "customer_tier": (ticket.fields or {}).get("customer_tier"),
        "region": ticket.region,
    }
    policy = match_policy(db, facts)
    if policy is None:
        return None
    sla = TicketSla(
        ticket_id=ticket.id,
        policy_id=policy.id,
        calendar_id=policy.calendar_id,
        started_at=ticket.created_at.astimezone(UTC),
        response_minutes=policy.response_minutes,
        resolution_minutes=policy.resolution_minutes,
        pause_kinds=list(policy.pause_kinds),
        region=ticket.region,
        paused=False,
        updated_at=clock.now(),
    )
    db.add(sla)
    db.flush()
    refresh(db, ticket.id)
    return sla


def first_accepted(db: Session, ticket_id: int) -> dict[str, datetime]:
    """Kind → when the first accepted evidence of that kind happened."""
    rows = db.execute(
        select(Evidence.kind, func.min(Evidence.at))
        .where(Evidence.ticket_id == ticket_id, Evidence.accepted.is_(True))
        .group_by(Evidence.kind)
    ).all()
    return {kind: _aware(at) for kind, at in rows}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def responded_at(nodes: dict[str, datetime]) -> datetime | None:
    """Response = the moment the last of the three evidence nodes was satisfied."""
    if any(kind not in nodes for kind in EVIDENCE_KINDS):
        return None
    return max(nodes[kind] for kind in EVIDENCE_KINDS)


def resolved_at(db: Session, ticket: Ticket) -> datetime | None:
    """When the ticket last reached resolved (from its append-only history), if it still is."""
    if ticket.status not in DONE_STATUSES:
        return None
    at = db.scalar(
        select(func.max(TicketEvent.at)).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.to_status == "resolved"
        )
    )
    return _aware(at) if at else None


def pauses(db: Session, sla: TicketSla) -> list[clocks.Interval]:
    """The ticket's pause intervals of the kinds its policy stops the clock for."""
    rows = db.execute(
        select(PauseEvent.kind, PauseEvent.action, PauseEvent.ref, PauseEvent.at).where(
            PauseEvent.ticket_id == sla.ticket_id, PauseEvent.kind.in_(sla.pause_kinds)
        )
    ).all()
    return clocks.pause_intervals((k, a, r, _aware(t)) for k, a, r, t in rows)


def refresh(db: Session, ticket_id: int) -> TicketSla | None:
    """Recompute a ticket's clocks from the facts, and schedule escalations for any deadline
    that is new or moved and not met yet."""
    # Lock the row before reading the facts, or two refreshes of a ticket (a calendar edit's
    # and new evidence's) interleave and the one that read the older facts can write last.
    # The UPDATE takes the row lock on PostgreSQL and SQLite's write lock (pysqlite runs the
    # reads before a transaction's first write outside of it, so they see no later commit).
    db.execute(
        update(TicketSla)
        .where(TicketSla.ticket_id == ticket_id)
        .values(updated_at=TicketSla.updated_at)
        .execution_options(synchronize_session=False)
    )
    sla = db.get(TicketSla, ticket_id, populate_existing=True)
    if sla is None:
        return None
    ticket = db.get(Ticket, ticket_id)
    assert ticket is not None
    spec = calendar_spec(db, sla.calendar_id)
    intervals = pauses(db, sla)
    started = _aware(sla.started_at)
    old = {"response": sla.response_deadline_at, "resolution": sla.resolution_deadline_at}
    sla.response_deadline_at = clocks.deadline(spec, started, sla.response_minutes, intervals)
    sla.resolution_deadline_at = clocks.deadline(spec, started, sla.resolution_minutes, intervals)
    sla.responded_at = responded_at(first_accepted(db, ticket_id))
    sla.resolved_at = resolved_at(db, ticket)
    now = clock.now()
    sla.paused = clocks.paused_at(intervals, now)
    sla.updated_at = now
    db.flush()
    if ticket.status == "cancelled":
        return sla
    for kind, done in (("response", sla.responded_at), ("resolution", sla.resolved_at)):
        new = getattr(sla, f"{kind}_deadline_at")
        if new is not None and done is None and (old[kind] is None or _aware(old[kind]) != new):
            # sla.hooks schedules its escalations (escalation reads this module's facts).
            events.publish(DeadlineSet(ticket_id=ticket_id, kind=kind, deadline_at=new), db=db)
    return sla


def refresh_open(db: Session, calendar_id: int) -> int:
    """Refresh every ticket counted in a calendar that is not closed or cancelled yet, from
    the calendar as committed now (a spec cached between the edit and its commit is stale)."""
    forget_spec(db, calendar_id)
    ids = db.scalars(
        select(TicketSla.ticket_id)
        .join(Ticket, Ticket.id == TicketSla.ticket_id)
        .where(TicketSla.calendar_id == calendar_id, Ticket.status.not_in(("closed", "cancelled")))
    ).all()
    for ticket_id in ids:
        refresh(db, ticket_id)
    return len(ids)


@queue.task(retries=3, retry_delay=5)
def refresh_calendar_task(calendar_id: int) -> None:
    """Recompute the clocks of every open ticket counted in an edited calendar."""
    with session_scope() as db:
        refresh_open(db, calendar_id)


def get_sla(db: Session, ticket_id: int) -> TicketSla:
    """A ticket's SLA row, or a 404 that says whether the ticket exists at all."""
    if db.get(Ticket, ticket_id) is None:
        raise not_found("ticket", ticket_id)
    sla = db.get(TicketSla, ticket_id)
    if sla is None:
        raise ApiError(404, "no_sla", f"Ticket {ticket_id} has no SLA (no policy matched it).")
    return sla


@dataclass
class ClockView:
    """Where one clock stands at a given instant."""

    target_minutes: int
    deadline_at: datetime | None
    done_at: datetime | None

    def status(self, now: datetime) -> str:
        """met | late | breached | paused | running."""
        if self.done_at is not None:
            if self.deadline_at is None or self.done_at <= self.deadline_at:
                return "met"
            return "late"
        if self.deadline_at is None:
            return "paused"
        return "breached" if now > self.deadline_at else "running"


def clock_views(sla: TicketSla) -> dict[str, ClockView]:
    """Both clocks of a ticket, from its cached (derived) columns."""
    return {
        "response": ClockView(
            sla.response_minutes,
            sla.response_deadline_at and _aware(sla.response_deadline_at),
            sla.responded_at and _aware(sla.responded_at),
        ),
        "resolution": ClockView(
            sla.resolution_minutes,
            sla.resolution_deadline_at and _aware(sla.resolution_deadline_at),
            sla.resolved_at and _aware(sla.resolved_at),
        ),
    }


def evidence_view(e: Evidence) -> dict[str, Any]:
    """JSON of one evidence row."""
    return {
        "id": e.id,
        "kind": e.kind,
        "at": e.at,
        "recorded_at": e.recorded_at,
        "actor": e.actor,
        "accepted": e.accepted,
        "rejection_reason": e.rejection_reason,
        "proof": e.proof,
    }


def escalation_view(e: Escalation) -> dict[str, Any]:
    """JSON of one escalation."""
    return {
        "id": e.id,
        "ticket_id": e.ticket_id,
        "deadline_kind": e.deadline_kind,
        "deadline_at": e.deadline_at,
        "level": e.level,
        "due_at": e.due_at,
        "fired_at": e.fired_at,
        "lateness_s": round((_aware(e.fired_at) - _aware(e.due_at)).total_seconds(), 3),
        "region": e.region,
        "recipient": e.recipient,
        "alerted": e.delivery_id is not None,
    }


def ticket_state(db: Session, ticket_id: int) -> dict[str, Any]:
    """Everything about a ticket's SLA: policy, clocks, evidence nodes, pauses, escalations."""
    sla = get_sla(db, ticket_id)
    refresh(db, ticket_id)
    now = clock.now()
    policy = db.get(SlaPolicy, sla.policy_id)
    nodes = first_accepted(db, ticket_id)
    evidence = db.scalars(
        select(Evidence).where(Evidence.ticket_id == ticket_id).order_by(Evidence.at, Evidence.id)
    )
    pause_rows = db.scalars(
        select(PauseEvent).where(PauseEvent.ticket_id == ticket_id).order_by(PauseEvent.at)
    )
    escalations = db.scalars(
        select(Escalation).where(Escalation.ticket_id == ticket_id).order_by(Escalation.due_at)
    )
    views = clock_views(sla)
    return {
        "ticket_id": ticket_id,
        "policy": {"id": policy.id, "name": policy.name} if policy else None,
        "started_at": sla.started_at,
        "paused": sla.paused,
        "region": sla.region,
        "technician": sla.technician,
        "department": sla.department,
        "clocks": {
            kind: {
                "target_minutes": v.target_minutes,
                "deadline_at": v.deadline_at,
                "done_at": v.done_at,
                "status": v.status(now),
            }
            for kind, v in views.items()
        },
        "nodes": {kind: nodes.get(kind) for kind in EVIDENCE_KINDS},
        "evidence": [evidence_view(e) for e in evidence],
        "pauses": [
            {"kind": p.kind, "action": p.action, "at": p.at, "actor": p.actor, "ref": p.ref}
            for p in pause_rows
        ],
        "escalations": [escalation_view(e) for e in escalations],
    }


def record_pause(
    db: Session,
    *,
    ticket_id: int,
    kind: str,
    action: str,
    actor: str,
    ref: str | None = None,
    key: str | None = None,
) -> tuple[PauseEvent, bool]:
    """Start or end a pause of the ticket's clocks; (the event, whether it was a replay).

    With a key (e.g. the transfer order's id) a replayed event is a no-op. Without one, a
    start while that kind is already paused, or an end while it is not, is a 409.
    """
    from sqlalchemy.exc import IntegrityError

    if db.get(Ticket, ticket_id) is None:
        raise not_found("ticket", ticket_id)
    if key is not None:
        key = f"{kind}:{action}:{key}"
        existing = db.scalar(select(PauseEvent).where(PauseEvent.idempotency_key == key))
        if existing is not None:
            return existing, True
    else:
        rows = db.execute(
            select(PauseEvent.kind, PauseEvent.action, PauseEvent.ref, PauseEvent.at).where(
                PauseEvent.ticket_id == ticket_id, PauseEvent.kind == kind, PauseEvent.ref == ref
            )
        ).all()
        is_open = any(end is None for _, end in clocks.pause_intervals(rows))
        if (action == "start") == is_open:
            state = "already paused" if is_open else "not paused"
            raise ApiError(409, "pause_state", f"Ticket {ticket_id} is {state} for {kind}.")
        key = f"{kind}:{action}:{ticket_id}:{uuid.uuid4().hex}"
    event = PauseEvent(
        ticket_id=ticket_id,
        kind=kind,
        action=action,
        at=clock.now(),
        actor=actor,
        ref=ref,
        idempotency_key=key,
    )
    try:
        with db.begin_nested():
            db.add(event)
            db.flush()
    except IntegrityError:
        existing = db.scalar(select(PauseEvent).where(PauseEvent.idempotency_key == key))
        assert existing is not None
        return existing, True
    refresh(db, ticket_id)
    return event, False
