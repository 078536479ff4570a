"""Finishing a ticket without a site visit: close with an outcome, cancel, merge duplicates.

Used by the API and the console alike. Every step is a status change through the state
machine (so dispatch gives back the technician and parts of a closed ticket) plus history on
each ticket involved.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.errors import ApiError
from core.settings import get_settings
from tickets.models import Ticket
from tickets.service import (
    announce_status,
    check_version,
    flush_or_conflict,
    get_ticket,
    move_status,
    record_event,
    set_fields,
)
from tickets.states import FINAL

# What closed a ticket that needed no visit; the API speaks these codes.
OUTCOMES = ("not_a_fault", "duplicate", "solved_by_phone", "solved_remotely")


def close(
    *,
    db: Session,
    ticket_id: int | str,
    outcome: str,
    actor: str,
    note: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Close a ticket with its outcome (not a fault, duplicate, solved by phone or remotely)."""
    if outcome not in OUTCOMES:
        raise ApiError(422, "invalid_outcome", f"outcome must be one of {list(OUTCOMES)}.")
    ticket = get_ticket(db=db, ticket_id=ticket_id)
    check_version(ticket, expected_version)
    old = move_status(db, ticket, "closed", actor, note or outcome)
    record_event(db, ticket, actor=actor, kind="close", changes={"outcome": outcome}, reason=note)
    flush_or_conflict(db, ticket)
    announce_status(db, ticket, old)
    return ticket


def cancel(
    *,
    db: Session,
    ticket_id: int | str,
    reason: str,
    actor: str,
    expected_version: int | None = None,
) -> Ticket:
    """Cancel a ticket; the reason is required and kept in its history."""
    if not reason.strip():
        raise ApiError(422, "reason_required", "Cancelling a ticket needs a reason.")
    ticket = get_ticket(db=db, ticket_id=ticket_id)
    check_version(ticket, expected_version)
    old = move_status(db, ticket, "cancelled", actor, reason.strip())
    flush_or_conflict(db, ticket)
    announce_status(db, ticket, old)
    return ticket


def merge(
    *,
    db: Session,
    duplicate_id: int | str,
    into_id: int | str,
    actor: str,
    note: str | None = None,
) -> Ticket:
    """Merge a duplicate into the ticket that carries the work: the duplicate is closed as
    "duplicate", both histories name the other, and fields the kept ticket lacks (phone,
    address, device code …) are copied from the duplicate. Returns the kept ticket."""
    dup = get_ticket(db=db, ticket_id=duplicate_id)
    into = get_ticket(db=db, ticket_id=into_id)
    if dup.id == into.id:
        raise ApiError(422, "merge_self", "A ticket cannot be merged into itself.")
    if into.status in FINAL:
        raise ApiError(
            409, "ticket_final", f"Ticket {into.number} is {into.status}; merge into an open one."
        )
    missing = {
        k: v for k, v in dup.fields.items() if v not in (None, "") and not into.fields.get(k)
    }
    if missing:
        set_fields(
            db=db, ticket_id=into.id, changes=missing, actor=actor, reason=f"合并自 {dup.number}"
        )
    old = move_status(db, dup, "closed", actor, note or f"merged into {into.number}")
    record_event(
        db,
        dup,
        actor=actor,
        kind="merge",
        changes={"outcome": "duplicate", "merged_into": into.number},
        reason=note,
    )
    record_event(
        db, into, actor=actor, kind="merge", changes={"merged_from": dup.number}, reason=note
    )
    flush_or_conflict(db, dup)
    announce_status(db, dup, old)
    return into


def duplicate_candidates(*, db: Session, ticket: Ticket, limit: int = 5) -> list[Ticket]:
    """Open tickets that are likely the same request: the same phone or device code, the same
    product (or one side unknown), created within the duplicate window of this one."""
    keys = []
    if ticket.phone:
        keys.append(Ticket.phone == ticket.phone)
    if ticket.hardware_id:
        keys.append(Ticket.hardware_id == ticket.hardware_id)
    if not keys:
        return []
    window = timedelta(hours=get_settings().duplicate_window_hours)
    when = ticket.reported_at or ticket.created_at
    conds: list[Any] = [
        Ticket.id != ticket.id,
        or_(*keys),
        Ticket.status.not_in(FINAL),
        Ticket.created_at >= when - window,
        Ticket.created_at <= when + window,
    ]
    if ticket.product_type:
        conds.append(or_(Ticket.product_type.is_(None), Ticket.product_type == ticket.product_type))
    stmt = select(Ticket).where(and_(*conds)).order_by(Ticket.created_at).limit(limit)
    return list(db.scalars(stmt))
