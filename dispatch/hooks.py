"""Dispatch reacts to other domains' events: a triaged ticket is dispatched at once."""

from sqlalchemy.orm import Session

from core import events
from dispatch import service
from tickets.models import Ticket


@events.subscribe("ticket.triaged")
def dispatch_triaged(*, db: Session, ticket: Ticket, **_: object) -> None:
    """Queue the new ticket and offer it to the best technician in the same transaction, so
    the offer exists the moment the ticket does (no worker round trip on the hot path)."""
    service.on_triaged(db, ticket)


@events.subscribe("ticket.status_changed")
def release_when_final(*, db: Session, ticket: Ticket, **_: object) -> None:
    """A cancelled or closed ticket gives back its technician and parts at once (the rematch
    sweep remains the safety net)."""
    if ticket.status in service.FINAL:
        service.release_final(db, [ticket.id])
