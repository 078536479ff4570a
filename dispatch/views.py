"""What dispatch shows: a ticket's dispatch state, the pending pool, offers and decisions."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch import parts
from dispatch.models import (
    ACTIVE_ASSIGNMENT,
    Assignment,
    DispatchDecision,
    PendingDispatch,
    Reservation,
)
from tickets import service as tickets
from tickets.models import Ticket


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
