"""Where a ticket's site is: coordinates for tickets that only have an address.

Every address whose coordinates become known (geocoded, or set on a ticket by an agent or
supervisor) is kept in `address_locations`, so a later ticket at the same address is placed at
once and offline. An address nobody knows yet is announced as `ticket.location_needed` (the
geocoder connector, if one is configured, answers it); a ticket that gets coordinates is
announced as `ticket.located` (dispatch re-matches it at once).
"""

import re
import unicodedata
from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock, events
from core.db import Base, UTCDateTime
from tickets import service as tickets
from tickets.events import (
    TicketFieldsChanged,
    TicketLocated,
    TicketLocationNeeded,
    TicketNotLocated,
    TicketTriaged,
)
from tickets.models import Ticket

ACTOR = "system:geocoder"
# The sources, ranked: what people or devices report beats a geocoder's guess from the text.
_RANK = {"geocoder": 0, "device": 1, "ticket": 2, "technician": 2}
_NOISE = re.compile(r"[\s,，。.、;；:：\"'“”‘’()（）\-—_#＃]+")


class AddressLocation(Base):
    """Known coordinates (WGS-84) of a normalised address."""

    __tablename__ = "address_locations"

    address: Mapped[str] = mapped_column(String(255), primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


def normalise(address: str) -> str:
    """The cache key of an address: full-width forms folded (NFKC), case, spaces and
    punctuation dropped, so "望京街 10 号" and "望京街10号" are one site."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", address)).lower()[:255]


def known(db: Session, address: str | None) -> AddressLocation | None:
    """The cached location of an address, if any."""
    key = normalise(address or "")
    return db.get(AddressLocation, key) if key else None


def learn(db: Session, address: str, lat: float, lon: float, source: str) -> AddressLocation:
    """Remember (or correct) an address's coordinates; a geocoder answer never overwrites
    coordinates that a person or device reported."""
    key = normalise(address)
    row = db.get(AddressLocation, key)
    if row is None:
        try:
            with db.begin_nested():  # another worker may insert the same address meanwhile
                row = AddressLocation(
                    address=key, latitude=lat, longitude=lon, source=source, updated_at=clock.now()
                )
                db.add(row)
            return row
        except IntegrityError:
            row = db.get(AddressLocation, key, populate_existing=True)
            assert row is not None
    if _RANK[source] >= _RANK.get(row.source, 0):
        row.latitude, row.longitude, row.source = lat, lon, source
        row.updated_at = clock.now()
    db.flush()
    return row


def place(db: Session, ticket: Ticket, lat: float, lon: float, *, source: str) -> None:
    """Give the ticket these coordinates (history: actor system:geocoder, with the source)
    and announce `ticket.located`."""
    tickets.set_fields(
        db=db,
        ticket_id=ticket.id,
        changes={"latitude": lat, "longitude": lon},
        actor=ACTOR,
        reason=f"coordinates of the address, from {source}",
    )
    events.publish(TicketLocated(ticket=ticket, source=source), db=db)


def not_located(db: Session, ticket: Ticket, why: str) -> None:
    """The address could not be geocoded: say so in the history and to dispatch (the ticket
    keeps waiting for coordinates)."""
    reason = f"address not geocoded: {why}"
    tickets.add_note(db=db, ticket=ticket, actor=ACTOR, note=reason)
    events.publish(TicketNotLocated(ticket=ticket, reason=reason), db=db)


def locate(db: Session, ticket: Ticket) -> bool:
    """Place the ticket from the cache; on a miss ask for a geocode. True when placed."""
    hit = known(db, ticket.address)
    if hit is not None:
        place(db, ticket, hit.latitude, hit.longitude, source=hit.source)
        return True
    events.publish(TicketLocationNeeded(ticket=ticket, address=ticket.address), db=db)
    return False


@events.subscribe(TicketTriaged)
def locate_triaged(event: TicketTriaged, *, db: Session) -> None:
    """A new ticket with an address but no coordinates is placed before dispatch sees it
    (this module is loaded before dispatch.hooks, so it runs first in the same transaction)."""
    ticket = event.ticket
    if ticket.address and (ticket.latitude is None or ticket.longitude is None):
        locate(db, ticket)


@events.subscribe(TicketFieldsChanged)
def learn_from_edit(event: TicketFieldsChanged, *, db: Session) -> None:
    """An agent or supervisor edited the site: coordinates set by hand teach the cache (and
    dispatch re-matches); a new address without coordinates is placed again."""
    ticket, changes, actor = event.ticket, event.changes, event.actor
    if actor == ACTOR or not ticket.address:
        return
    if "latitude" in changes or "longitude" in changes:
        if ticket.latitude is not None and ticket.longitude is not None:
            learn(db, ticket.address, ticket.latitude, ticket.longitude, "ticket")
            events.publish(TicketLocated(ticket=ticket, source="ticket"), db=db)
    elif "address" in changes:
        locate(db, ticket)
