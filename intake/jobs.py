"""Long recordings are transcribed by background workers: the upload returns at once.

The upload is stored under data_dir/uploads and a job row is written in the same transaction
that queues the work on the durable task queue, so a restart loses nothing: queued work is in
the queue's own store, and a job whose worker died mid-way (its lease, renewed as decoding
progresses, ran out) is queued again by the recovery sweep. The ticket and the job's "done"
are written in one transaction: a job never ends half-done.
"""

import logging
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from huey import crontab
from sqlalchemy import Float, ForeignKey, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock, storage
from core.db import Base, UTCDateTime, session_scope
from core.errors import ApiError, not_found
from core.tasks import enqueue_after_commit, queue
from intake.audio import (
    decode_or_reject,
    heard_speech,
    ticket_from_transcript,
    transcribe_decoded,
)
from tickets.recordings import save_recording
from tickets.service import ticket_view

log = logging.getLogger("hotline.jobs")
LEASE = timedelta(seconds=120)
MAX_ATTEMPTS = 3


class TranscriptionJob(Base):
    """A recording waiting for, or done with, its background transcription."""

    __tablename__ = "transcription_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued|running|done|failed
    actor: Mapped[str] = mapped_column(String(160))
    channel: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)  # relative to data_dir
    duration_s: Mapped[float] = mapped_column(Float)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)


def submit(
    *, db: Session, data: bytes, filename: str, duration: float, channel: str, actor: str
) -> TranscriptionJob:
    """Store an upload and queue its transcription (after this transaction commits)."""
    job_id = uuid.uuid4().hex
    suffix = Path(filename).suffix.lower()[:8] if filename else ""
    rel = f"uploads/{job_id}{suffix}"
    storage.put(rel, data)
    now = clock.now()
    job = TranscriptionJob(
        id=job_id,
        created_at=now,
        updated_at=now,
        status="queued",
        actor=actor,
        channel=channel,
        filename=filename[:255],
        path=str(rel),
        duration_s=round(duration, 2),
        progress=0.0,
        attempts=0,
    )
    db.add(job)
    db.flush()
    enqueue_after_commit(db, transcribe_job, job_id)
    return job


def get_job(*, db: Session, job_id: str) -> TranscriptionJob:
    """A job by id, or 404."""
    job = db.get(TranscriptionJob, job_id)
    if job is None:
        raise not_found("transcription job", job_id)
    return job


def job_view(db: Session, job: TranscriptionJob) -> dict[str, Any]:
    """The job as the API shows it, with its ticket once done."""
    view: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "progress": round(job.progress, 3),
        "duration": job.duration_s,
        "filename": job.filename,
        "channel": job.channel,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "attempts": job.attempts,
        "ticket_id": job.ticket_id,
        "error": None,
    }
    if job.error_code:
        view["error"] = {"code": job.error_code, "message": job.error_message}
    if job.ticket_id is not None:
        from tickets.models import Ticket

        ticket = db.get(Ticket, job.ticket_id)
        view["ticket"] = ticket_view(ticket) if ticket else None
    return view


def _claim(job_id: str) -> TranscriptionJob | None:
    """Take the job for this worker unless it is finished or leased by a live worker."""
    with session_scope() as db:
        job = db.get(TranscriptionJob, job_id, with_for_update=True)
        now = clock.now()
        if job is None or job.status in ("done", "failed"):
            return None
        if job.status == "running" and job.lease_until and job.lease_until > now:
            return None
        job.status = "running"
        job.attempts += 1
        job.lease_until = now + LEASE
        job.updated_at = now
        db.flush()
        db.expunge(job)
        return job


def _report_progress(job_id: str, share: float) -> None:
    with session_scope() as db:
        job = db.get(TranscriptionJob, job_id)
        if job is not None and job.status == "running":
            now = clock.now()
            job.progress = max(job.progress, min(share, 0.99))
            job.lease_until = now + LEASE
            job.updated_at = now


def _fail(job_id: str, code: str, message: str) -> None:
    with session_scope() as db:
        job = db.get(TranscriptionJob, job_id)
        if job is not None:
            job.status = "failed"
            job.error_code = code
            job.error_message = message
            job.lease_until = None
            job.updated_at = clock.now()


def run(job_id: str) -> str:
    """Transcribe one job and create its ticket; the outcome is written on the job."""
    job = _claim(job_id)
    if job is None:
        return "skipped"
    last = [0.0]

    def progress(share: float) -> None:
        if time.monotonic() - last[0] >= 1.0:  # a row update per second at most
            last[0] = time.monotonic()
            _report_progress(job_id, share)

    try:
        # Inside the try: an upload this machine cannot read (stored on another machine's
        # disk) is a failed attempt, counted against MAX_ATTEMPTS, not a retry without end.
        data = storage.get(job.path)
        if data is None:
            raise FileNotFoundError(f"upload {job.path} is not in the storage")
        decoded = decode_or_reject(data)
        transcript = transcribe_decoded(decoded, on_progress=progress)
        with session_scope() as db:
            ticket = ticket_from_transcript(
                db=db,
                segments=transcript.segments,
                notes=transcript.notes,
                duration=transcript.duration,
                channel=job.channel,
                actor=job.actor,
                heard_speech=bool(transcript.segments) or heard_speech(decoded),
            )
            save_recording(ticket.id, data)
            row = db.get(TranscriptionJob, job_id, with_for_update=True)
            assert row is not None
            row.status = "done"
            row.progress = 1.0
            row.ticket_id = ticket.id
            row.lease_until = None
            row.updated_at = clock.now()
    except ApiError as exc:
        _fail(job_id, exc.code, exc.message)
        return "failed"
    except Exception:
        log.exception("transcription job %s failed (attempt %d)", job_id, job.attempts)
        if job.attempts >= MAX_ATTEMPTS:
            _fail(job_id, "internal_error", "Transcription failed repeatedly; see the logs.")
            return "failed"
        with session_scope() as db:
            row = db.get(TranscriptionJob, job_id)
            if row is not None:
                row.status = "queued"
                row.lease_until = None
        raise  # Huey logs it; the recovery sweep queues it again
    return "done"


@queue.task()
def transcribe_job(job_id: str) -> str:
    """Worker entry point of a transcription job."""
    return run(job_id)


def recover(*, stale_after: timedelta = timedelta(minutes=10)) -> list[str]:
    """Queue again the jobs a dead worker left: running with an expired lease, or queued for
    a while (their queue message may have been lost with a non-durable queue)."""
    now = clock.now()
    with session_scope() as db:
        rows = db.scalars(
            select(TranscriptionJob.id).where(
                or_(
                    (TranscriptionJob.status == "running") & (TranscriptionJob.lease_until < now),
                    (TranscriptionJob.status == "queued")
                    & (TranscriptionJob.updated_at < now - stale_after),
                )
            )
        ).all()
        for job_id in rows:
            job = db.get(TranscriptionJob, job_id)
            assert job is not None
            job.updated_at = now
    for job_id in rows:
        transcribe_job(job_id)
    return list(rows)


@queue.periodic_task(crontab(minute="*"))
def recover_jobs() -> list[str]:
    """Every minute: pick up jobs that lost their worker."""
    return recover()
