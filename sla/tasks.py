"""The SLA engine's periodic work (Huey tasks; see core.tasks). Tasks that run one function
live beside it (escalation, service); their names from when they lived here still run."""

import logging

from huey import crontab

from core.db import session_scope
from core.tasks import keep_old_name, queue, urgent
from sla import escalation, holiday_watch, service

log = logging.getLogger("hotline.sla")

# Queued before the move (a deployment's queue may hold them until they drain).
for _task in (
    escalation.fire_task,
    escalation.collaboration_overdue_task,
    escalation.flush_digest_task,
    service.refresh_calendar_task,
):
    keep_old_name(_task, f"sla.tasks.{_task.name or _task.func.__name__}")


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
