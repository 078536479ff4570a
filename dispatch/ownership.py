"""What a technician owns: the tickets of their open assignments, and the reservations,
transfer orders and devices of those tickets.

The access policy (hotline/policy.py) applies these to a route's path parameters; a value
that names nothing passes, so the route answers its own 404. Each takes the path parameter
as the text it came in.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth import Principal
from dispatch.models import (
    ACTIVE_ASSIGNMENT,
    Assignment,
    Device,
    Reservation,
    Technician,
    TransferOrder,
)
from dispatch.service import technician_of
from tickets.models import Ticket


def _number(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _tech_id(db: Session, who: Principal) -> int | None:
    tech = technician_of(db, who)
    return tech.id if tech is not None else None


def holds_ticket(db: Session, technician_id: int | None, ticket_id: int) -> bool:
    """Whether the technician has the ticket's open offer or accepted assignment."""
    if technician_id is None:
        return False
    return (
        db.scalar(
            select(Assignment.id).where(
                Assignment.ticket_id == ticket_id,
                Assignment.technician_id == technician_id,
                Assignment.status.in_(ACTIVE_ASSIGNMENT),
            )
        )
        is not None
    )


def held_tickets(db: Session, who: Principal) -> set[int]:
    """The tickets a technician holds: what their list views are limited to."""
    technician_id = _tech_id(db, who)
    if technician_id is None:
        return set()
    rows = db.scalars(
        select(Assignment.ticket_id).where(
            Assignment.technician_id == technician_id,
            Assignment.status.in_(ACTIVE_ASSIGNMENT),
        )
    )
    return set(rows)


def own_technician_id(db: Session, who: Principal) -> int | None:
    """The technician record of a technician's token (None: no record)."""
    return _tech_id(db, who)


def owns_ticket(db: Session, who: Principal, value: str) -> bool:
    """Path parameter ticket_id: a ticket the technician holds."""
    ticket_id = _number(value)
    if ticket_id is None or db.get(Ticket, ticket_id) is None:
        return True
    return holds_ticket(db, _tech_id(db, who), ticket_id)


def owns_assignment(db: Session, who: Principal, value: str) -> bool:
    """Path parameter assignment_id: an offer or job made to the technician (any status: a
    technician may read their own past jobs; the answers check the status)."""
    row = db.get(Assignment, _number(value)) if _number(value) is not None else None
    return row is None or row.technician_id == _tech_id(db, who)


def owns_reservation(db: Session, who: Principal, value: str) -> bool:
    """Path parameter reservation_id: a part reserved for a ticket the technician holds."""
    row = db.get(Reservation, _number(value)) if _number(value) is not None else None
    return row is None or holds_ticket(db, _tech_id(db, who), row.ticket_id)


def owns_transfer(db: Session, who: Principal, value: str) -> bool:
    """Path parameter order_id: a transfer order addressed to the technician."""
    row = db.get(TransferOrder, _number(value)) if _number(value) is not None else None
    return row is None or row.to_technician_id == _tech_id(db, who)


def owns_technician(db: Session, who: Principal, value: str) -> bool:
    """Path parameter tech_id: the technician themselves."""
    tech_id = _number(value)
    if tech_id is None or db.get(Technician, tech_id) is None:
        return True
    return tech_id == _tech_id(db, who)


def owns_device(db: Session, who: Principal, value: str) -> bool:
    """Path parameter or body hardware_id: a device not yet registered (the scan at
    installation), or the device of a ticket the technician holds."""
    hardware_id = value.strip().upper()
    if db.get(Device, hardware_id) is None:
        return True
    tech_id = _tech_id(db, who)
    if tech_id is None:
        return False
    held = select(Assignment.ticket_id).where(
        Assignment.technician_id == tech_id, Assignment.status.in_(ACTIVE_ASSIGNMENT)
    )
    return (
        db.scalar(
            select(Ticket.id).where(
                Ticket.id.in_(held), func.upper(Ticket.hardware_id) == hardware_id
            )
        )
        is not None
    )
