"""The three evidence nodes of "responded", recorded append-only and idempotently.

pushed: the push card reached the technician (from the notifier's delivery).
viewed: the technician holding the ticket opened it; counts only within the service radius of
the site. A report from anyone else is refused (403) and recorded nowhere.
first_call: the telephony provider reports an outbound call to the customer, with recording.
A replayed report (same idempotency key) returns the row already stored and changes nothing.
"""

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import clock
from core.errors import ApiError, not_found
from core.settings import get_settings
from dispatch.geofence import check_coordinates, haversine_km
from dispatch.service import active_assignment
from sla.models import Evidence
from sla.service import refresh
from tickets.models import Ticket

CALL_STATUSES = ("answered", "no_answer", "busy", "failed")
# Clock skew we tolerate between the telephony provider and us.
FUTURE_TOLERANCE = timedelta(seconds=60)


def _ticket(db: Session, ticket_id: int) -> Ticket:
    ticket = db.get(Ticket, ticket_id)
    if ticket is None:
        raise not_found("ticket", ticket_id)
    return ticket


def _existing(db: Session, key: str) -> Evidence | None:
    return db.scalar(select(Evidence).where(Evidence.idempotency_key == key))


def _same_ticket(row: Evidence, ticket_id: int) -> Evidence:
    if row.ticket_id != ticket_id:
        raise ApiError(
            409,
            "idempotency_conflict",
            f"This report id was already recorded for ticket {row.ticket_id}, not {ticket_id}.",
        )
    return row


def _store(db: Session, row: Evidence) -> tuple[Evidence, bool]:
    """Insert row unless its key exists; (the stored row, whether it was a duplicate)."""
    existing = _existing(db, row.idempotency_key)
    if existing is not None:
        return _same_ticket(existing, row.ticket_id), True
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        # A concurrent report with the same key committed first: that one counts.
        existing = _existing(db, row.idempotency_key)
        if existing is None:
            raise
        return _same_ticket(existing, row.ticket_id), True
    refresh(db, row.ticket_id)
    return row, False


def record_pushed(
    db: Session, *, ticket_id: int, at: datetime, actor: str, proof: dict[str, Any], key: str
) -> tuple[Evidence, bool]:
    """The push card was delivered to the technician at `at`."""
    _ticket(db, ticket_id)
    row = Evidence(
        ticket_id=ticket_id,
        kind="pushed",
        at=at,
        recorded_at=clock.now(),
        actor=actor,
        proof=proof,
        accepted=True,
        idempotency_key=f"pushed:{key}",
    )
    return _store(db, row)


def record_viewed(
    db: Session,
    *,
    ticket_id: int,
    technician_id: int,
    lat: float,
    lon: float,
    actor: str,
    report_id: str | None = None,
    device_at: datetime | None = None,
) -> tuple[Evidence, bool]:
    """Technician `technician_id` opened the ticket at (lat, lon); counted only inside the
    service radius.

    Only the technician the ticket is currently offered to or accepted by may report it: for
    anyone else it is a 403 `not_assigned` and nothing is stored (a resend of an earlier report
    included), so a colleague nearby can never satisfy the node. The evidence time is when we
    received the report: the device's own time is kept in the proof but never moves the clock
    (a phone's clock can be set to anything).
    """
    try:
        check_coordinates(lat, lon)
    except ValueError as exc:
        raise ApiError(422, "invalid_coordinates", str(exc)) from exc
    ticket = _ticket(db, ticket_id)
    holder = active_assignment(db, ticket_id)
    if holder is None or holder.technician_id != technician_id:
        who = "nobody" if holder is None else f"technician #{holder.technician_id}"
        raise ApiError(
            403,
            "not_assigned",
            f"Ticket {ticket.number} is assigned to {who}, not to technician #{technician_id}: "
            "only the technician holding the ticket can report it viewed.",
        )
    key = f"viewed:{ticket_id}:{report_id or uuid.uuid4().hex}"
    radius = get_settings().service_radius_km
    proof: dict[str, Any] = {
        "technician_id": technician_id,
        "lat": lat,
        "lon": lon,
        "radius_km": radius,
        "device_at": device_at.isoformat() if device_at else None,
    }
    reason = None
    if ticket.latitude is None or ticket.longitude is None:
        reason = "site has no coordinates"
    else:
        dist = haversine_km(lat, lon, ticket.latitude, ticket.longitude)
        proof["distance_km"] = round(dist, 3)
        if dist > radius:
            reason = f"outside the service radius: {dist:.2f} km from the site (limit {radius} km)"
    now = clock.now()
    row = Evidence(
        ticket_id=ticket_id,
        kind="viewed",
        at=now,
        recorded_at=now,
        actor=actor,
        proof=proof,
        accepted=reason is None,
        rejection_reason=reason,
        idempotency_key=key,
    )
    return _store(db, row)


def _digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")[-11:]


def record_call(
    db: Session,
    *,
    call_id: str,
    ticket_id: int,
    direction: str,
    callee: str,
    status: str,
    duration_s: float,
    started_at: datetime | None,
    actor: str,
    recording: bytes,
    filename: str,
) -> tuple[Evidence, bool]:
    """The telephony provider's report of a call, with its recording (stored after it is
    checked to decode as audio). Only an answered outbound call to the customer counts."""
    from asr.audio import AudioError, decode

    ticket = _ticket(db, ticket_id)
    key = f"first_call:{call_id}"
    if (dup := _existing(db, key)) is not None:
        return _same_ticket(dup, ticket_id), True
    settings = get_settings()
    now = clock.now()
    # SQLite keeps no offset: every stored instant is UTC.
    started_at = started_at.astimezone(UTC) if started_at is not None else None
    if started_at is not None and started_at > now + FUTURE_TOLERANCE:
        raise ApiError(422, "call_in_future", "started_at lies in the future.")
    if len(recording) > settings.max_upload_bytes:
        raise ApiError(413, "recording_too_large", "The recording exceeds the upload limit.")
    try:
        audio = decode(recording, max_seconds=settings.max_audio_seconds)
    except AudioError as exc:
        raise ApiError(422, exc.code, f"The recording is not usable audio: {exc.message}") from exc
    digest = hashlib.sha256(recording).hexdigest()
    suffix = (
        re.sub(r"[^a-z0-9]", "", filename.rsplit(".", 1)[-1].lower())[:8] if "." in filename else ""
    )
    path = (
        settings.data_dir
        / "recordings"
        / "sla-calls"
        / digest[:2]
        / f"{digest}.{suffix or audio.codec}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(path.suffix + f".{uuid.uuid4().hex}.part")
        tmp.write_bytes(recording)
        tmp.replace(path)
    reason = None
    if direction != "outbound":
        reason = "not an outbound call"
    elif status != "answered" or duration_s <= 0:
        reason = f"call not connected (status {status}, {duration_s:g} s)"
    elif ticket.phone and _digits(callee) != _digits(ticket.phone):
        reason = "the number called is not the customer's"
    row = Evidence(
        ticket_id=ticket_id,
        kind="first_call",
        at=started_at or now,
        recorded_at=now,
        actor=actor,
        proof={
            "call_id": call_id,
            "direction": direction,
            "callee": callee,
            "status": status,
            "duration_s": duration_s,
            "recording": {
                "path": str(path.relative_to(settings.data_dir)),
                "sha256": digest,
                "bytes": len(recording),
                "codec": audio.codec,
                "seconds": round(audio.duration, 2),
            },
        },
        accepted=reason is None,
        rejection_reason=reason,
        idempotency_key=key,
    )
    return _store(db, row)


def record_call_started(
    db: Session, *, ticket_id: int, technician_id: int, callee: str | None, actor: str, key: str
) -> tuple[Evidence, bool]:
    """The technician tapped the customer's number in the app: kept on the SLA record as a
    fact ("call_started"), never as the first_call node — the app sees the dialler open, not
    a connected call, and the node needs the telephony provider's report with its recording."""
    _ticket(db, ticket_id)
    now = clock.now()
    row = Evidence(
        ticket_id=ticket_id,
        kind="call_started",
        at=now,
        recorded_at=now,
        actor=actor,
        proof={"technician_id": technician_id, "callee": callee, "source": "app tap-to-call"},
        accepted=False,
        rejection_reason="app tap-to-call: no recording; the telephony callback proves the call",
        idempotency_key=f"call_started:{key}",
    )
    return _store(db, row)
