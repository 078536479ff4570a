"""Live calls survive the death of the process serving them.

While a call is up its process keeps a `live_calls` row: owner (host:pid:boot), a heartbeat
renewed every HOTLINE_LIVE_CALL_HEARTBEAT_S, the text decoded so far, and the spool file under
data_dir where the caller's audio is written as it arrives (unbuffered, so a process killed
with -9 leaves everything it received on disk). Every minute a sweep on the task queue —
whichever `hotline serve` or `hotline worker` runs it — takes the rows whose heartbeat is older
than HOTLINE_LIVE_CALL_STALE_S, transcribes the spooled audio (or, if it cannot be read,
keeps the text decoded before the crash) and makes the call's ticket, held for a quality
check with the reason 通话中断. A call of which nothing usable was saved still becomes a
held ticket saying so (with the caller's number when the PBX announced it), so an agent
calls back: no call ends silently.

Exactly one ticket: the rows are claimed with a conditional UPDATE (one sweep wins), the
ticket and the row's deletion are one transaction, and the serving process deletes its own row
(owner = itself, still live) in the transaction that makes the ticket of a call that ended
normally; if that row was taken meanwhile, the serving process makes no ticket.
"""

import io
import logging
import os
import socket
import uuid
import wave
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from huey import crontab
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from core import clock
from core.db import session_scope
from core.settings import get_settings
from core.tasks import queue
from intake import calls
from intake.audio import (
    decode_or_reject,
    heard_speech,
    join_call_ticket,
    ticket_from_transcript,
    transcribe_decoded,
)
from intake.models import LiveCallRow
from tickets.recordings import save_recording

log = logging.getLogger("hotline.live")
OWNER = f"{socket.gethostname()[:100]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
RECOVERY_LEASE = timedelta(minutes=10)  # a sweep that died while recovering is retried after
ACTOR = "system:live-recovery"


@dataclass(frozen=True)
class LiveCallStart:
    """What a recovering process needs to know about a call when it starts."""

    key: str
    call_id: str | None
    door: str
    channel: str
    actor: str
    sample_rate: int
    spool: Path


def spool_path(key: str) -> Path:
    """Where a live call's audio is written as it arrives (under data_dir, so every process
    that shares the data directory can recover it)."""
    return get_settings().data_dir / "recordings" / f"live-{key}.wav"


def start(start: LiveCallStart) -> None:
    """Record a call as live on this process."""
    now = clock.now()
    with session_scope() as db:
        db.add(
            LiveCallRow(
                id=start.key,
                call_id=start.call_id,
                door=start.door,
                channel=start.channel,
                actor=start.actor,
                status="live",
                owner=OWNER,
                heartbeat_at=now,
                started_at=now,
                sample_rate=start.sample_rate,
                spool=str(start.spool.relative_to(get_settings().data_dir)),
                received_s=0.0,
                finals=[],
                notes=[],
            )
        )


def beat(progress: dict[str, tuple[float, list[dict[str, Any]], list[str]]]) -> None:
    """Renew this process's heartbeat on all its live calls; progress: key → (seconds
    received, finals, notes) of the calls whose text changed since the last beat."""
    now = clock.now()
    with session_scope() as db:
        db.execute(
            update(LiveCallRow)
            .where(LiveCallRow.owner == OWNER, LiveCallRow.status == "live")
            .values(heartbeat_at=now)
        )
        for key, (received_s, finals, notes) in progress.items():
            db.execute(
                update(LiveCallRow)
                .where(LiveCallRow.id == key, LiveCallRow.owner == OWNER)
                .values(received_s=received_s, finals=finals, notes=notes)
            )


def release(*, db: Session, key: str) -> bool:
    """Take the call's row off the live list in db's transaction; False when another
    process has already taken the call for recovery (it makes the ticket, not us)."""
    gone = db.execute(
        delete(LiveCallRow).where(
            LiveCallRow.id == key, LiveCallRow.owner == OWNER, LiveCallRow.status == "live"
        )
    )
    return gone.rowcount == 1


def forget(key: str) -> None:
    """Drop the row of a call that ended without a ticket (no speech)."""
    with session_scope() as db:
        release(db=db, key=key)


def live_elsewhere(*, db: Session, call_id: str) -> bool:
    """Whether another process holds a call of that id: serving it, or — its process dead —
    leaving it to the recovery sweep, which makes its ticket."""
    return (
        db.scalar(
            select(LiveCallRow.id)
            .where(LiveCallRow.call_id == call_id, LiveCallRow.owner != OWNER)
            .limit(1)
        )
        is not None
    )


def _claim(db: Session, row: LiveCallRow, now: datetime) -> bool:
    """Take the row for recovery unless another sweep (or the owner) moved it meanwhile."""
    taken = db.execute(
        update(LiveCallRow)
        .where(
            LiveCallRow.id == row.id,
            LiveCallRow.status == row.status,
            LiveCallRow.owner == row.owner,
            LiveCallRow.heartbeat_at == row.heartbeat_at,
        )
        .values(status="recovering", owner=OWNER, heartbeat_at=now)
    )
    return taken.rowcount == 1


def stale_calls(*, now: datetime | None = None) -> list[str]:
    """Claim the calls whose process stopped beating; returns their keys."""
    now = now or clock.now()
    cutoff = now - timedelta(seconds=get_settings().live_call_stale_s)
    with session_scope() as db:
        rows = db.scalars(
            select(LiveCallRow).where(
                or_(
                    (LiveCallRow.status == "live") & (LiveCallRow.heartbeat_at < cutoff),
                    (LiveCallRow.status == "recovering")
                    & (LiveCallRow.heartbeat_at < now - RECOVERY_LEASE),
                )
            )
        ).all()
        return [row.id for row in rows if _claim(db, row, now)]


def spooled_wav(path: Path, sample_rate: int) -> bytes | None:
    """The spooled audio as a proper WAV: the header a killed process left may not count
    the last frames, so the PCM after the header is taken as it is."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    at = data.find(b"data", 12)
    pcm = data[at + 8 :] if at >= 0 else b""
    pcm = pcm[: len(pcm) // 2 * 2]
    if not pcm:
        return None
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return out.getvalue()


def recover(key: str) -> int | None:
    """Make the ticket of a claimed call from what was heard; returns its id (None if the
    call already had one or the claim was lost)."""
    with session_scope() as db:
        row = db.get(LiveCallRow, key)
        if row is None or row.owner != OWNER or row.status != "recovering":
            return None
        info = {c.key: getattr(row, c.key) for c in LiveCallRow.__table__.columns}
    path = get_settings().data_dir / info["spool"]
    wav = spooled_wav(path, info["sample_rate"])
    segments, notes, heard, duration = list(info["finals"]), list(info["notes"]), False, 0.0
    if wav is not None:
        try:
            decoded = decode_or_reject(wav)
            transcript = transcribe_decoded(decoded)
            duration = transcript.duration
            heard = bool(transcript.segments) or heard_speech(decoded)
            if transcript.segments or not segments:
                segments, notes = transcript.segments, [*notes, *transcript.notes]
        except Exception:  # the text decoded before the crash still makes the ticket
            log.exception("live call %s: spooled audio not transcribed", key)
            notes.append("the spooled audio could not be transcribed; text decoded live kept")
    duration = duration or float(info["received_s"])
    with session_scope() as db:
        taken = db.execute(
            delete(LiveCallRow).where(LiveCallRow.id == key, LiveCallRow.owner == OWNER)
        )
        if taken.rowcount != 1:
            return None
        known = calls.find_call(db=db, call_id=info["call_id"]) if info["call_id"] else None
        if known is not None and known.ticket_id is not None:
            join_call_ticket(
                db=db,
                ticket_id=known.ticket_id,
                segments=segments,
                seconds=duration,
                how="was recovered after its process died",
                actor=ACTOR,
            )
            ticket_id = None
        else:
            facts = calls.CallFacts(
                info["call_id"],
                known.caller if known else None,
                known.line if known else None,
                info["door"],
                known.started_at if known else None,
            )
            ticket = ticket_from_transcript(
                db=db,
                segments=segments,
                notes=notes,
                duration=round(duration, 2),
                channel=info["channel"],
                actor=ACTOR,
                heard_speech=heard,
                call=facts if info["call_id"] else None,
                interrupted=True,
                started_at=info["started_at"],
            )
            if wav is not None:
                save_recording(ticket.id, wav)
            ticket_id = ticket.id
    path.unlink(missing_ok=True)
    log.warning("live call %s (%s, owner gone) recovered: ticket %s", key, info["door"], ticket_id)
    return ticket_id


def sweep() -> list[int]:
    """Recover every call whose process died: the ids of the tickets made."""
    made = []
    for key in stale_calls():
        try:
            ticket_id = recover(key)
        except Exception:  # one bad call must not stop the others; retried after the lease
            log.exception("live call %s could not be recovered", key)
            continue
        if ticket_id is not None:
            made.append(ticket_id)
    return made


@queue.periodic_task(crontab(minute="*"))
def recover_live_calls() -> list[int]:
    """Every minute: make the tickets of calls whose process died mid-call."""
    return sweep()
