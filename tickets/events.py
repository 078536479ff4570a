"""The events tickets publish, each with its payload (core.events)."""

from dataclasses import dataclass
from typing import Any

from core.events import Event
from tickets.models import Ticket


@dataclass(frozen=True)
class TicketTriaged(Event):
    """A ticket was created from triage (or reopened into triage)."""

    name = "ticket.triaged"
    ticket: Ticket


@dataclass(frozen=True)
class TicketFieldsChanged(Event):
    """Fields of a ticket changed: `changes` maps each field to [old, new]."""

    name = "ticket.fields_changed"
    ticket: Ticket
    changes: dict[str, Any]
    actor: str


@dataclass(frozen=True)
class TicketStatusChanged(Event):
    """A ticket moved through its state machine."""

    name = "ticket.status_changed"
    ticket: Ticket
    from_status: str


@dataclass(frozen=True)
class TicketReviewed(Event):
    """An agent confirmed or corrected the auto-filled ticket."""

    name = "ticket.reviewed"
    ticket: Ticket
    diagnosis_changed: bool


@dataclass(frozen=True)
class TicketLocationNeeded(Event):
    """The ticket's address is not in the coordinates cache: someone should geocode it."""

    name = "ticket.location_needed"
    ticket: Ticket
    address: str | None


@dataclass(frozen=True)
class TicketLocated(Event):
    """The ticket has coordinates now; `source` says where they came from."""

    name = "ticket.located"
    ticket: Ticket
    source: str


@dataclass(frozen=True)
class TicketNotLocated(Event):
    """The address could not be geocoded, and why."""

    name = "ticket.not_located"
    ticket: Ticket
    reason: str
