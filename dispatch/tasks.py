"""Background dispatch work: re-match the open pool, expire unanswered offers.

The pool is re-matched at least every `dispatch_rematch_interval_s`: a cron task fires each
minute and schedules the in-between runs, so the cadence survives restarts and worker crashes
(a self-perpetuating chain could die with a worker, or double when two start it). Every run
holds `queue.lock_task`, so several workers or machines never re-match at the same time.
"""

import logging
import time

from huey import crontab
from huey.exceptions import TaskLockedException
from sqlalchemy.orm import Session

from core.db import session_scope
from core.settings import get_settings
from core.tasks import enqueue_after_commit, queue, urgent
from dispatch import answers, service

log = logging.getLogger("hotline.dispatch")
LOCK = "dispatch-rematch"
STARTED = "dispatch-rematch-started"  # when the current holder took the lock
STALE_LOCK_S = 300.0  # a rematch takes seconds; a lock this old belongs to a dead worker


def run_rematch(trigger: str = "rematch", wait_s: float = 0.0) -> dict | None:
    """One guarded rematch (expire overdue offers, release finished tickets, match the pool);
    None if another one kept running for wait_s seconds."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with queue.lock_task(LOCK):
                queue.put(STARTED, time.time())
                with session_scope() as db:
                    service.release_final(db)
                    answers.expire_offers(db)
                with session_scope() as db:
                    return service.rematch(db, trigger=trigger)
        except TaskLockedException:
            started = queue.get(STARTED, peek=True)
            if started is not None and time.time() - started > STALE_LOCK_S:
                # The holder died mid-run (the SQLite queue's locks have no TTL): take over.
                log.warning(
                    "dispatch rematch lock held for %.0f s; clearing it", time.time() - started
                )
                queue.lock_task(LOCK).clear()
                continue
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)


@urgent.task()
def rematch_task(trigger: str = "rematch") -> dict | None:
    """Re-match the open pool now (queued after events that may let a ticket be taken)."""
    return run_rematch(trigger)


@urgent.periodic_task(crontab(minute="*"))
def rematch_every_minute() -> None:
    """Re-match now, and schedule the runs between now and the next minute."""
    interval = get_settings().dispatch_rematch_interval_s
    k = 1
    while k * interval < 60:
        rematch_task.schedule(delay=k * interval)
        k += 1
    run_rematch()


@urgent.task()
def expire_offer_task(assignment_ids: list[int] | int) -> int:
    """The deadline of these offers (made together) passed: re-dispatch the unanswered ones.
    (A single id: a task queued before offers were batched.)"""
    ids = [assignment_ids] if isinstance(assignment_ids, int) else assignment_ids
    with session_scope() as db:
        return answers.expire_offers(db, ids)


def kick(db: Session) -> None:
    """Re-match the pool once this transaction commits (a technician became available…)."""
    enqueue_after_commit(db, rematch_task, "event")
