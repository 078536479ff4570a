"""Turning what came in through a door into a triaged ticket."""

from sqlalchemy.orm import Session

from tickets import service as tickets
from tickets.models import Ticket
from triage.service import triage_text


def intake_text(*, db: Session, text: str, channel: str, actor: str) -> Ticket:
    """Triage text and create its ticket in one transaction (nothing half-written on error)."""
    result = triage_text(text)
    return tickets.create_from_triage(db=db, triage=result, channel=channel, actor=actor)
