"""A technician's answer to an offer (accept, decline) and offers nobody answered in time."""

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core import clock, events
from core.errors import ApiError, not_found
from dispatch import parts
from dispatch.events import OverrideUnanswered, Unassigned
from dispatch.models import Assignment, PendingDispatch, Technician
from dispatch.offers import lock_ticket
from dispatch.requirements import ACTOR
from dispatch.service import rematch
from tickets import service as tickets
from tickets.states import FINAL

UNANSWERED_OVERRIDE = "指派未在时限内应答：派单保留，已通知主管"


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
    ticket = lock_ticket(db, row.ticket_id)
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
            if not row.response_note and _claim_note(db, row):
                events.publish(OverrideUnanswered(assignment=row), db=db)
            continue
        row.status, row.responded_at = "expired", now
        _back_to_pool(db, row, trigger="expired", actor=ACTOR, why="offer not answered in time")
        n += 1
    return n


def _claim_note(db: Session, row: Assignment) -> bool:
    """Mark an override unanswered, once: a conditional UPDATE, so of two expiry runs racing
    (the service's task and another worker) only one tells the supervisor."""
    claimed = db.execute(
        update(Assignment)
        .where(
            Assignment.id == row.id,
            or_(Assignment.response_note.is_(None), Assignment.response_note == ""),
        )
        .values(response_note=UNANSWERED_OVERRIDE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.refresh(row)
    return bool(claimed)


def _back_to_pool(db: Session, row: Assignment, *, trigger: str, actor: str, why: str) -> None:
    ticket = lock_ticket(db, row.ticket_id)
    events.publish(Unassigned(assignment=row, ticket=ticket, why=why), db=db)
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
