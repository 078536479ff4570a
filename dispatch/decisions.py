"""The explanation of every dispatch decision (offered, pending and why, skipped, override)."""

from typing import Any

from sqlalchemy.orm import Session

from core import clock
from dispatch.models import DispatchDecision, PendingDispatch
from tickets.models import Ticket


def decide(
    db: Session,
    ticket: Ticket,
    *,
    trigger: str,
    outcome: str,
    reason: str,
    details: dict[str, Any],
    technician_id: int | None = None,
) -> DispatchDecision:
    """Record one decision about a ticket (the dispatch explanation log)."""
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
        decide(db, ticket, trigger=trigger, outcome="pending", reason=reason, details=details)
