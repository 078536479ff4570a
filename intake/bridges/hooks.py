"""A triaged ticket with a device code is enriched from the connected systems."""

import logging

from sqlalchemy.orm import Session

from core import events, notify
from intake.bridges import tasks  # noqa: F401  (registers the enrich handler)
from intake.bridges.connectors import ConnectorError
from intake.bridges.service import applicable
from tickets.events import TicketTriaged


@events.subscribe(TicketTriaged)
def enrich_after_commit(event: TicketTriaged, *, db: Session) -> None:
    """Queue the bridges for the ticket once its transaction commits (none apply: nothing)."""
    ticket = event.ticket
    try:
        wanted = bool(applicable(ticket))
    except ConnectorError:
        # A broken connector file must not stop tickets from being created; it is logged.
        logging.getLogger("hotline.bridges").exception("bridge connectors not loaded")
        return
    if wanted:
        notify.defer(db=db, handler="enrich", args=[ticket.id], ref_type="ticket", ref_id=ticket.id)
