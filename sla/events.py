"""The events SLA publishes to itself (core.events): the module that changes a fact tells,
and sla.hooks calls the module above it, so SLA's modules import one way
(config → service → escalation)."""

from dataclasses import dataclass
from datetime import datetime

from core.events import Event


@dataclass(frozen=True)
class DeadlineSet(Event):
    """A ticket's response or resolution deadline is new or moved and not met yet."""

    name = "sla.deadline_set"
    ticket_id: int
    kind: str
    deadline_at: datetime


@dataclass(frozen=True)
class CalendarChanged(Event):
    """A business calendar or its holidays were edited."""

    name = "sla.calendar_changed"
    calendar_id: int
