"""The events dispatch publishes (offers, answers, parts, the technician app), each with its
payload (core.events)."""

from dataclasses import dataclass
from typing import Any, NamedTuple

from core.events import Event
from dispatch.models import Assignment, Technician, TransferOrder
from tickets.models import Ticket


class Offered(NamedTuple):
    """One offer made: the ticket, the technician it went to, and the assignment row."""

    ticket: Ticket
    technician: Technician
    assignment: Assignment


@dataclass(frozen=True)
class DispatchAssigned(Event):
    """A batch of offers was made (one per ticket)."""

    name = "dispatch.assigned"
    offers: list[Offered]


@dataclass(frozen=True)
class CardUndeliverable(Event):
    """Push cards of these offers cannot be sent, and why."""

    name = "dispatch.card_undeliverable"
    offers: list[Offered]
    reason: str


@dataclass(frozen=True)
class OverrideUnanswered(Event):
    """A supervisor's override expired unanswered (announced once per assignment)."""

    name = "dispatch.override_unanswered"
    assignment: Assignment


@dataclass(frozen=True)
class Unassigned(Event):
    """An offer or job went back to the pool (declined, expired, overridden); `why` says which."""

    name = "dispatch.unassigned"
    assignment: Assignment
    ticket: Ticket
    why: str


@dataclass(frozen=True)
class TransferCreated(Event):
    """A transfer order was raised for a part the ticket waits for."""

    name = "parts.transfer_created"
    ticket_id: int
    order: TransferOrder


@dataclass(frozen=True)
class TransferArrived(Event):
    """The transferred part arrived."""

    name = "parts.transfer_arrived"
    ticket_id: int
    order: TransferOrder


@dataclass(frozen=True)
class FieldActionDone(Event):
    """A technician-app action was done (accept, on_way, call, arrive, pause, resolve …).
    Handlers may add to `outcome`, the action's answer (e.g. the evidence it counted as)."""

    name = "field.action"
    ticket: Ticket
    technician: Technician
    assignment: Assignment
    kind: str
    action_id: str
    actor: str
    data: dict[str, Any]
    outcome: dict[str, Any]
