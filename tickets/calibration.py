"""Keep the diagnosis confidence fitted to today's KB and to what agents have said.

A refit runs on the task queue after every KB publish or retire (`kb.changed`) and after every
`HOTLINE_CALIBRATION_REFIT_VERDICTS` new agent verdicts (`ticket.reviewed`); it lives here,
above triage, because the verdicts are tickets' review corrections. Fitting takes seconds
(triage/calibration.py) and happens outside any transaction; the result is one new row.
"""

import logging
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import events
from core.db import session_scope
from core.settings import get_settings
from core.tasks import enqueue_after_commit, queue
from knowledge_base import live_index
from knowledge_base.events import KbChanged
from knowledge_base.models import KBEntry
from tickets.events import TicketReviewed
from tickets.models import ReviewCorrection
from triage import calibration, confidence
from triage.models import TriageCalibration

log = logging.getLogger("hotline.calibration")

MAX_VERDICTS = 2000  # the newest ones: enough to learn from, bounded fit time
_fitting = threading.Lock()


def _corrections(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(ReviewCorrection)) or 0)


def _seen(row: TriageCalibration | None) -> int:
    return int((row.report or {}).get("corrections_seen", row.verdicts)) if row else 0


def refit(*, trigger: str, force: bool = False) -> TriageCalibration | None:
    """Fit on the published KB and the newest verdicts and store the result; None when the
    newest fit already saw this KB and nearly all of these verdicts (unless force)."""
    settings = get_settings()
    with _fitting:
        index = live_index.get_index()
        live_index.sync_now()
        signature = confidence.kb_signature(index)
        encoder = index.encoder.name
        with session_scope() as db:
            last = confidence.latest(db=db, encoder=encoder)
            seen = _corrections(db)
            same_kb = last is not None and (last.kb_entries, last.kb_checksum) == signature
            if not force and same_kb and seen - _seen(last) < settings.calibration_refit_verdicts:
                return None
            rows = db.execute(
                select(ReviewCorrection.text, ReviewCorrection.corrected_kb_id, ReviewCorrection.at)
                .order_by(ReviewCorrection.id.desc())
                .limit(MAX_VERDICTS)
            ).all()
            published_at = dict(
                db.execute(
                    select(KBEntry.id, KBEntry.published_at).where(KBEntry.status == "published")
                ).all()
            )
        verdicts = [calibration.Verdict(text, kb_id, at) for text, kb_id, at in rows if text]
        try:
            fit = calibration.fit(index, verdicts, published_at)
        except ValueError as exc:
            log.warning("confidence not refitted: %s", exc)
            return None
        fit.report["corrections_seen"] = seen
        with session_scope() as db:
            row = calibration.store(
                db=db, fit=fit, encoder=encoder, trigger=trigger, signature=signature
            )
            db.flush()
            db.expunge(row)
        log.info(
            "confidence refitted (%s): %d entries, %d pseudo-calls, %d verdicts, threshold %.2f, "
            "%.1f s",
            trigger,
            signature[0],
            fit.pseudo_calls,
            fit.verdicts,
            fit.threshold,
            fit.seconds,
        )
        return row


@queue.task(retries=2, retry_delay=30)
def refit_task(trigger: str) -> None:
    """Background refit (see refit)."""
    refit(trigger=trigger)


@events.subscribe(KbChanged)
def _on_kb_changed(event: KbChanged, *, db: Session) -> None:
    enqueue_after_commit(db, refit_task, "publish")


@events.subscribe(TicketReviewed)
def _on_reviewed(event: TicketReviewed, *, db: Session) -> None:
    encoder = get_settings().embedding_model
    last = confidence.latest(db=db, encoder=encoder)
    if _corrections(db) - _seen(last) >= get_settings().calibration_refit_verdicts:
        enqueue_after_commit(db, refit_task, "verdicts")
