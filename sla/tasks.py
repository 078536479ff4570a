"""Durable background work of the SLA engine (Huey tasks; see core.tasks)."""

import logging
from datetime import datetime

from huey import crontab

from core import clock
from core.db import session_scope
from core.tasks import queue, urgent
from sla import escalation, holiday_watch, service

log = logging.getLogger("hotline.sla")


# Retries cover transient database errors (SQLite's "database is locked" under contention).
@urgent.task(retries=3, retry_delay=1)
def fire_task(ticket_id: int, kind: str, deadline_iso: str, level: str) -> None:
    """Fire one escalation level at its instant; re-arm if the worker picked it up early.

    Returns nothing: Huey keeps non-None results, and tens of thousands of these run a day.
    """
    deadline_at = datetime.fromisoformat(deadline_iso)
    with session_scope() as db:
        outcome, due = escalation.fire(db, ticket_id, kind, deadline_at, level)
    if outcome == "early":
        fire_task.schedule(
            args=(ticket_id, kind, deadline_iso, level),
            delay=max(0.2, (due - clock.now()).total_seconds()),
        )
    log.debug("escalation %s %s %s %s: %s", ticket_id, kind, deadline_iso, level, outcome)


@urgent.task(retries=3, retry_delay=1)
def collaboration_overdue_task(collaboration_id: int) -> None:
    """A collaboration request's due time: escalate it if still unanswered (exactly once;
    the minute sweep is the backstop); re-arm if the worker picked it up early."""
    with session_scope() as db:
        outcome, due = escalation.fire_collaboration(db, collaboration_id)
    if outcome == "early" and due is not None:
        collaboration_overdue_task.schedule(
            args=(collaboration_id,), delay=max(0.2, (due - clock.now()).total_seconds())
        )
    log.debug("collaboration %s overdue check: %s", collaboration_id, outcome)


@urgent.task(retries=3, retry_delay=2)
def flush_digest_task(recipient: str) -> None:
    """Send the alerts held for recipient as one digest."""
    with session_scope() as db:
        escalation.flush_digest(db, recipient)


@queue.task(retries=3, retry_delay=5)
def refresh_calendar_task(calendar_id: int) -> None:
    """Recompute the clocks of every open ticket counted in an edited calendar."""
    with session_scope() as db:
        service.refresh_open(db, calendar_id)


@urgent.periodic_task(crontab(minute="*"))
def sweep_task() -> None:
    """Safety net, every minute: fire what a lost schedule missed, flush old held alerts."""
    with session_scope() as db:
        outcomes = escalation.sweep(db)
    if outcomes.get("fired"):
        # Usually a race with the scheduled tasks (harmless); after an outage, the catch-up.
        log.info("SLA sweep fired %d due escalation(s)", outcomes["fired"])


@queue.periodic_task(crontab(minute="3"))
def holiday_watch_task() -> None:
    """Hourly: alert the SLA admin (once per year) about a year whose make-up working days are
    not confirmed, from 1 November of the year before."""
    with session_scope() as db:
        years = holiday_watch.alert_admins(db)
    if years:
        log.warning("SLA holidays of %s are not confirmed: admin alerted", years)
