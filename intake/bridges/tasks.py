"""Bridges run on the durable queue after the ticket is committed, so a slow or failing
outside system never holds up (or rolls back) the ticket."""

from core import notify
from core.db import session_scope
from intake.bridges.service import enrich


@notify.handler("enrich", lease_s=60)
def enrich_task(ticket_id: int) -> int:
    """Worker side: call the ticket's connectors and store the outcomes; returns how many."""
    with session_scope() as db:
        return len(enrich(db=db, ticket_id=ticket_id))
