"""Dispatch reacts to other domains' events: a triaged ticket is dispatched at once."""

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock, events
from core.settings import get_settings
from core.tasks import enqueue_after_commit
from dispatch import service, tasks
from dispatch.decisions import set_reason
from dispatch.events import DispatchAssigned
from dispatch.geofence import haversine_km
from dispatch.models import Assignment, Device, PendingDispatch, Technician
from dispatch.requirements import requirement
from tickets import location
from tickets.events import (
    TicketLocated,
    TicketLocationNeeded,
    TicketNotLocated,
    TicketStatusChanged,
    TicketTriaged,
)
from tickets.states import FINAL

log = logging.getLogger("hotline.dispatch")
ON_SITE_S = 900.0  # a position this fresh when the ticket is resolved is where the work was


@events.subscribe(TicketTriaged)
def dispatch_triaged(event: TicketTriaged, *, db: Session) -> None:
    """Queue the new ticket and offer it to the best technician in the same transaction, so
    the offer exists the moment the ticket does (no worker round trip on the hot path).

    A dispatch failure must not lose the ticket: it runs in a savepoint, and the periodic
    rematch retries whatever is left in the pool.
    """
    ticket = event.ticket
    try:
        with db.begin_nested():
            if service.queue_ticket(db, ticket, trigger="triaged") is not None:
                service.rematch(db, trigger="triaged", ticket_ids=[ticket.id])
    except Exception:
        log.exception("dispatch of ticket %s failed; the rematch will retry", ticket.id)
        if db.get(PendingDispatch, ticket.id) is None:
            db.add(
                PendingDispatch(
                    ticket_id=ticket.id, queued_at=clock.now(), reason="dispatch error", tries=0
                )
            )
            db.flush()


@events.subscribe(DispatchAssigned)
def expire_unanswered(event: DispatchAssigned, *, db: Session) -> None:
    """A batch of offers expires together, in one queued task, a second past the deadline (so
    the worker's clock sees them as expired) once the offers are committed."""
    offers = event.offers
    if offers:
        enqueue_after_commit(
            db,
            tasks.expire_offer_task.schedule,
            args=([o.assignment.id for o in offers],),
            delay=get_settings().dispatch_offer_timeout_s + 1,
        )


@events.subscribe(TicketStatusChanged)
def release_when_final(event: TicketStatusChanged, *, db: Session) -> None:
    """A cancelled or closed ticket gives back its technician and parts at once (the rematch
    sweep remains the safety net)."""
    ticket = event.ticket
    if ticket.status in FINAL:
        service.release_final(db, [ticket.id])


@events.subscribe(TicketLocated)
def dispatch_located(event: TicketLocated, *, db: Session) -> None:
    """A ticket waiting for its site got coordinates (geocoded, or set by hand): bind its parts
    and match it now rather than at the next sweep. A failure is left to that sweep."""
    ticket = event.ticket
    if db.get(PendingDispatch, ticket.id) is None:
        return  # not waiting: new (dispatch.hooks queues it next), dispatched, or remote-first
    try:
        with db.begin_nested():
            if service.queue_ticket(db, ticket, trigger="located") is not None:
                service.rematch(db, trigger="located", ticket_ids=[ticket.id])
    except Exception:
        log.exception("dispatch of located ticket %s failed; the rematch will retry", ticket.id)


@events.subscribe(TicketNotLocated)
def explain_not_located(event: TicketNotLocated, *, db: Session) -> None:
    """The pending queue says why the ticket still has no site (the geocoder's answer)."""
    ticket, reason = event.ticket, event.reason
    row = db.get(PendingDispatch, ticket.id)
    if row is not None:
        set_reason(db, row, ticket, reason, "geocoder", {})
        db.flush()


@events.subscribe(TicketStatusChanged)
def learn_site_from_technician(event: TicketStatusChanged, *, db: Session) -> None:
    """A visit resolved the ticket: the technician's fresh GPS position (inside the service
    radius of the site) is where that address really is, for later tickets there."""
    ticket = event.ticket
    if ticket.status != "resolved" or not ticket.address:
        return
    tech = db.scalar(
        select(Technician)
        .join(Assignment, Assignment.technician_id == Technician.id)
        .where(Assignment.ticket_id == ticket.id, Assignment.status == "accepted")
        .order_by(Assignment.id.desc())
        .limit(1)
    )
    if tech is None or tech.lat is None or tech.lon is None or tech.located_at is None:
        return
    if (clock.now() - tech.located_at).total_seconds() > ON_SITE_S:
        return
    req = requirement(db, ticket)
    if req.site is None or haversine_km(*req.site, tech.lat, tech.lon) > req.radius_km:
        return  # not at the site (reported from elsewhere): learn nothing
    location.learn(db, ticket.address, tech.lat, tech.lon, "technician")


@events.subscribe(TicketLocationNeeded)
def learn_device_site(event: TicketLocationNeeded, *, db: Session) -> None:
    """The ticket's registered device knows where it stands (dispatch uses that site directly):
    the address learns it, for later tickets there without a device code."""
    ticket, address = event.ticket, event.address
    device = db.get(Device, ticket.hardware_id.upper()) if ticket.hardware_id else None
    if device is not None and device.lat is not None and device.lon is not None:
        location.learn(db, address, device.lat, device.lon, "device")
