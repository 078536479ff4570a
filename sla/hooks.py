"""What the SLA engine does when other domains report a change (core.events)."""

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import events
from sla import evidence, service
from sla.models import TicketSla
from tickets.models import Ticket

log = logging.getLogger("hotline.sla")


@events.subscribe("ticket.triaged")
def on_triaged(*, db: Session, ticket: Ticket, **_: Any) -> None:
    """A new ticket gets its policy and deadlines."""
    if service.attach(db, ticket) is None:
        log.info("no SLA policy matches ticket %s", ticket.id)


@events.subscribe("notification.delivered")
def on_delivered(*, db: Session, delivery: Any, **_: Any) -> None:
    """A push card that reached the technician is the "pushed" evidence of its ticket."""
    if delivery.kind != "dispatch.card" or delivery.ref_type != "ticket":
        return
    try:
        ticket_id = int(delivery.ref_id)
    except (TypeError, ValueError):
        log.warning("push card %s names no ticket id (%r)", delivery.id, delivery.ref_id)
        return
    if db.get(Ticket, ticket_id) is None:
        # Never abort the delivery's own transaction over a card for a vanished ticket.
        log.warning("push card %s names unknown ticket %s", delivery.id, ticket_id)
        return
    evidence.record_pushed(
        db,
        ticket_id=ticket_id,
        at=delivery.delivered_at,
        actor=f"system:notify:{delivery.channel}",
        proof={
            "delivery_id": delivery.id,
            "recipient": delivery.recipient,
            "channel": delivery.channel,
            "attempts": delivery.attempts,
        },
        key=f"delivery:{delivery.id}",
    )


@events.subscribe("dispatch.assigned")
def on_assigned(*, db: Session, offers: list[Any], **_: Any) -> None:
    """Remember who took each ticket, for attainment by technician (one query per batch of
    offers: a dispatched pool of 1,000 must not cost 1,000 lookups)."""
    ids = [o.ticket.id for o in offers]
    slas = {
        s.ticket_id: s for s in db.scalars(select(TicketSla).where(TicketSla.ticket_id.in_(ids)))
    }
    for o in offers:
        sla = slas.get(o.ticket.id)
        if sla is not None:
            sla.technician = getattr(o.technician, "name", None) or str(o.technician)
            sla.department = getattr(o.technician, "department", None) or sla.department


def _part_pause(db: Session, ticket_id: int, order: Any, action: str) -> None:
    ref = str(order.get("id") if isinstance(order, dict) else getattr(order, "id", None))
    service.record_pause(
        db,
        ticket_id=ticket_id,
        kind="waiting_part",
        action=action,
        actor="system:parts",
        ref=ref,
        key=f"transfer:{ref}",
    )


@events.subscribe("parts.transfer_created")
def on_transfer_created(*, db: Session, ticket_id: int, order: Any, **_: Any) -> None:
    """Waiting for a part stops the clocks until its transfer order arrives."""
    _part_pause(db, ticket_id, order, "start")


@events.subscribe("parts.transfer_arrived")
def on_transfer_arrived(*, db: Session, ticket_id: int, order: Any, **_: Any) -> None:
    """The part is there: the clocks run again."""
    _part_pause(db, ticket_id, order, "end")
