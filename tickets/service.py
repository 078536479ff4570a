"""Ticket domain logic: create from triage, change with history, review, list and search."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core import clock, events
from core.errors import ApiError, not_found
from tickets.customer_link import link_for
from tickets.events import (
    TicketFieldsChanged,
    TicketReviewed,
    TicketStatusChanged,
    TicketTriaged,
)
from tickets.models import ReviewCorrection, Ticket, TicketEvent
from tickets.states import FINAL, check_transition
from triage import field_chain
from triage.result import TriageResult
from triage.rules import get_rules

# Fields kept as columns (for filtering) as well as in the `fields` JSON.
COLUMN_FIELDS = (
    "product_type",
    "model",
    "firmware",
    "fault_code",
    "phone",
    "address",
    "customer_name",
    "hardware_id",
    "region",
    "latitude",
    "longitude",
)
SYSTEM = "system:triage"


def record_event(
    db: Session,
    ticket: Ticket,
    *,
    actor: str,
    kind: str,
    changes: dict[str, Any] | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
) -> None:
    """Append one change to the ticket's history (the append-only event log)."""
    db.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=clock.now(),
            actor=actor,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            changes=changes or {},
            reason=reason,
        )
    )


def create_from_triage(
    *,
    db: Session,
    triage: TriageResult,
    channel: str,
    actor: str,
    source: str | None = None,
    transcript: list[dict[str, Any]] | None = None,
    reported_at: datetime | None = None,
    hold_for_qc: str | None = None,
    asked_at: datetime | None = None,
) -> Ticket:
    """A ticket filled from a triage result, created as new and moved to triaged — or, with
    hold_for_qc (the reason), to pending_qc: imported tickets wait for a quality check before
    anything (dispatch, SLA) acts on them. asked_at: when the customer asked, if earlier (a
    recorded call's start): the ticket's created and reported time, so its SLA clocks and the
    charts count from the call, not from when Hotline got to it."""
    now = clock.now()
    created = min(asked_at, now) if asked_at else now
    fields = dict(triage.fields)
    diagnosis = triage.diagnosis
    ticket = Ticket(
        number=uuid.uuid4().hex[:32],
        status="new",
        channel=channel,
        source=source,
        created_at=created,
        updated_at=now,
        reported_at=reported_at or created,
        description=triage.text,
        normalized_text=triage.normalized_text,
        transcript=transcript,
        fields=fields,
        required_fields=triage.required_fields,
        diagnosis=diagnosis,
        kb_id=diagnosis.get("kb_id"),
        confidence=float(diagnosis.get("confidence", 0.0)),
        no_match=bool(diagnosis.get("no_match")),
        severity=triage.severity,
        sla_class=triage.sla_class,
        **{k: fields.get(k) for k in COLUMN_FIELDS if k in fields},
    )
    db.add(ticket)
    db.flush()
    ticket.number = f"HL{now:%Y%m%d}-{ticket.id:06d}"
    record_event(
        db, ticket, actor=actor, kind="created", to_status="new", changes={"channel": channel}
    )
    ticket.status = "pending_qc" if hold_for_qc else "triaged"
    record_event(
        db,
        ticket,
        actor=SYSTEM,
        kind="status",
        from_status="new",
        to_status=ticket.status,
        changes={
            "kb_id": diagnosis.get("kb_id"),
            "confidence": diagnosis.get("confidence"),
            "no_match": diagnosis.get("no_match"),
            "fields": {k: v for k, v in fields.items() if v is not None},
        },
        reason=hold_for_qc,
    )
    db.flush()
    if not hold_for_qc:
        events.publish(TicketTriaged(ticket=ticket), db=db)
    return ticket


def add_note(*, db: Session, ticket: Ticket, actor: str, note: str) -> None:
    """Append a note to the ticket's history (e.g. what intake could not read)."""
    record_event(db, ticket, actor=actor, kind="note", reason=note)
    db.flush()


def get_ticket(*, db: Session, ticket_id: int | str) -> Ticket:
    """A ticket by numeric id or number (HL…), or a 404."""
    ticket = None
    if isinstance(ticket_id, int) or str(ticket_id).isdigit():
        ticket = db.get(Ticket, int(ticket_id))
    else:
        ticket = db.scalar(select(Ticket).where(Ticket.number == str(ticket_id)))
    if ticket is None:
        raise not_found("ticket", ticket_id)
    return ticket


def check_version(ticket: Ticket, expected: int | None) -> None:
    """409 when the caller edited another version of the ticket than the one stored."""
    if expected is not None and expected != ticket.version:
        raise ApiError(
            409,
            "conflict",
            f"Ticket {ticket.number} was changed by someone else (version {ticket.version}, "
            f"you had {expected}); reload it and apply your change again.",
            {"current_version": ticket.version},
        )


def flush_or_conflict(db: Session, ticket: Ticket) -> None:
    """Write the ticket now; a concurrent edit that got there first is a 409, not a 500."""
    try:
        db.flush()
    except StaleDataError as exc:
        db.rollback()
        raise ApiError(
            409, "conflict", f"Ticket {ticket.number} was changed concurrently; reload and retry."
        ) from exc


def set_fields(
    *,
    db: Session,
    ticket_id: int | str,
    changes: dict[str, Any],
    actor: str,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Change ticket fields; each changed field is logged once as [old, new]."""
    ticket = get_ticket(db=db, ticket_id=ticket_id)
    check_version(ticket, expected_version)
    if ticket.status in FINAL:
        raise ApiError(409, "ticket_final", f"Ticket {ticket.number} is {ticket.status}.")
    delta = apply_fields(ticket, changes)
    if delta:
        ticket.updated_at = clock.now()
        record_event(db, ticket, actor=actor, kind="fields", changes=delta, reason=reason)
        flush_or_conflict(db, ticket)
        events.publish(TicketFieldsChanged(ticket=ticket, changes=delta, actor=actor), db=db)
    return ticket


def _validate_fields(changes: dict[str, Any]) -> None:
    """Reject values the ticket cannot hold, naming the field and the rule."""
    problems = []
    for name, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        if name in changes and changes[name] is not None:
            value = changes[name]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not low <= value <= high
            ):
                problems.append(f"{name} must be a number between {low} and {high}")
    for name in ("product_type", "model", "firmware", "fault_code", "phone", "customer_name"):
        value = changes.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > 64):
            problems.append(f"{name} must be text of at most 64 characters")
    if changes.get("address") is not None and (
        not isinstance(changes["address"], str) or len(changes["address"]) > 255
    ):
        problems.append("address must be text of at most 255 characters")
    if problems:
        raise ApiError(422, "invalid_fields", "; ".join(problems), {"problems": problems})


def apply_fields(ticket: Ticket, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """Validate and write field changes onto ticket (its columns and its required fields'
    values follow); the delta {name: [old, new]} of what really changed, for its history."""
    _validate_fields(changes)
    fields = dict(ticket.fields or {})
    delta: dict[str, list[Any]] = {}
    for name, value in changes.items():
        old = fields.get(name)
        if old == value:
            continue
        delta[name] = [old, value]
        fields[name] = value
        if name in COLUMN_FIELDS:
            setattr(ticket, name, value)
    if delta:
        ticket.fields = fields
        ticket.required_fields = [
            {
                **r,
                "value": fields.get(r["name"]),
                "missing": fields.get(r["name"]) in (None, "", []),
            }
            for r in _identified(ticket.required_fields, "name")
        ]
    return delta


def transition(
    *,
    db: Session,
    ticket_id: int | str,
    to: str,
    actor: str,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Move a ticket to another status, if the state machine allows it."""
    ticket = get_ticket(db=db, ticket_id=ticket_id)
    check_version(ticket, expected_version)
    old = move_status(db, ticket, to, actor, reason)
    flush_or_conflict(db, ticket)
    announce_status(db, ticket, old)
    return ticket


def transition_many(
    *, db: Session, moves: list[tuple[Ticket, str | None]], to: str, actor: str
) -> None:
    """Move several loaded tickets (each with its reason) to one status: the same checks,
    history and announcements as `transition`, written in one flush (dispatching a pool)."""
    olds = [move_status(db, ticket, to, actor, reason) for ticket, reason in moves]
    if moves:
        flush_or_conflict(db, moves[0][0])
    for (ticket, _), old in zip(moves, olds, strict=True):
        announce_status(db, ticket, old)


def move_status(db: Session, ticket: Ticket, to: str, actor: str, reason: str | None) -> str:
    """Change the status in memory and log it; returns the old status."""
    check_transition(ticket.status, to)
    if to == "cancelled" and not reason:
        raise ApiError(422, "reason_required", "Cancelling a ticket needs a reason.")
    old = ticket.status
    ticket.status = to
    ticket.updated_at = clock.now()
    record_event(
        db, ticket, actor=actor, kind="status", from_status=old, to_status=to, reason=reason
    )
    return old


def announce_status(db: Session, ticket: Ticket, old: str) -> None:
    """Tell other domains about a status change; a ticket that passed its quality check is
    now triaged for them (dispatch, SLA start only then)."""
    events.publish(TicketStatusChanged(ticket=ticket, from_status=old), db=db)
    if old == "pending_qc" and ticket.status in ("triaged", "reviewed"):
        events.publish(TicketTriaged(ticket=ticket), db=db)


def required_fields(
    db: Session, ticket: Ticket, fields: dict[str, Any], kb_id: str | None
) -> list[dict[str, Any]]:
    """The field chain on these values: each field it requires, and whether it is missing.
    Its fault_mentions conditions read the caller's words plus the chosen entry's title and
    symptoms (as triage does). A review asks here, through the API or the console."""
    from knowledge_base.models import KBEntry

    text = ticket.normalized_text
    if kb_id:
        entry = db.get(KBEntry, kb_id)
        content = (entry.published if entry else None) or {}
        text += " " + content.get("title", "") + " " + " ".join(content.get("symptoms", []))
    return field_chain.evaluate(get_rules(), {**fields, "kb_id": kb_id}, text)


def review(
    *,
    db: Session,
    ticket_id: int | str,
    actor: str,
    kb_id: str | None = None,
    no_match: bool = False,
    fields: dict[str, Any] | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """An agent confirms the auto-filled ticket or corrects diagnosis and fields, then confirms.

    kb_id None and no_match False confirms the predicted diagnosis. The verdict is kept as a
    ReviewCorrection row (labelled data for evaluation).
    """
    from knowledge_base.models import KBEntry

    ticket = get_ticket(db=db, ticket_id=ticket_id)
    check_version(ticket, expected_version)
    if ticket.reviewed_at is not None:
        raise ApiError(
            409,
            "already_reviewed",
            f"Ticket {ticket.number} was reviewed by {ticket.reviewed_by}; change its fields "
            "instead.",
        )
    if ticket.status in FINAL:
        check_transition(ticket.status, "reviewed")  # raises: a final ticket is not reviewed
    predicted = ticket.kb_id
    corrected = None if no_match else (kb_id or predicted)
    if corrected is not None and kb_id is not None:
        entry = db.get(KBEntry, corrected)
        if entry is None or entry.published is None:
            raise ApiError(422, "unknown_kb_id", f"No published KB entry {corrected!r}.")
    predicted_fields = dict(ticket.fields)
    delta = apply_fields(ticket, fields or {})
    diag_changed = corrected != predicted or (no_match and not ticket.no_match)
    if diag_changed:
        diagnosis = dict(ticket.diagnosis)
        diagnosis["predicted_kb_id"] = predicted
        diagnosis["kb_id"] = corrected
        diagnosis["no_match"] = corrected is None
        diagnosis["corrected_by"] = actor
        if corrected is not None:
            entry = db.get(KBEntry, corrected)
            content = entry.published if entry else {}
            diagnosis.update(
                title=content.get("title"),
                root_cause=content.get("root_cause"),
                resolution=content.get("resolution"),
                remote_fixable=bool(content.get("remote_fixable")),
                parts=content.get("parts", []),
                skills=content.get("skills", []),
                severity=content.get("severity"),
            )
        ticket.diagnosis = diagnosis
        ticket.kb_id = corrected
        ticket.no_match = corrected is None
    # The chain on the reviewed values (a corrected product or entry brings its fields).
    ticket.required_fields = required_fields(db, ticket, ticket.fields, ticket.kb_id)
    now = clock.now()
    db.add(
        ReviewCorrection(
            ticket_id=ticket.id,
            at=now,
            actor=actor,
            text=ticket.description,
            predicted_kb_id=predicted,
            corrected_kb_id=corrected,
            predicted_fields=predicted_fields,
            corrected_fields=dict(ticket.fields),
            diagnosis_correct=not diag_changed,
            fields_correct=not delta,
            note=note,
        )
    )
    old = ticket.status
    # A ticket already on its way (dispatched, in progress …) keeps its status: the review is
    # a verdict on the auto-fill, not a step back in the work.
    if old in ("new", "triaged", "pending_qc"):
        ticket.status = "reviewed"
    ticket.reviewed_at = now
    ticket.reviewed_by = actor
    ticket.updated_at = now
    changes: dict[str, Any] = {"fields": delta} if delta else {}
    if diag_changed:
        changes["kb_id"] = [predicted, corrected]
    record_event(
        db,
        ticket,
        actor=actor,
        kind="review",
        from_status=old,
        to_status=ticket.status,
        changes=changes,
        reason=note or ("confirmed" if not changes else "corrected"),
    )
    flush_or_conflict(db, ticket)
    if delta:
        events.publish(TicketFieldsChanged(ticket=ticket, changes=delta, actor=actor), db=db)
    if ticket.status != old:
        announce_status(db, ticket, old)
    events.publish(TicketReviewed(ticket=ticket, diagnosis_changed=diag_changed), db=db)
    return ticket


def history(*, db: Session, ticket_id: int | str) -> list[TicketEvent]:
    """Every event of the ticket, oldest first."""
    ticket = get_ticket(db=db, ticket_id=ticket_id)
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    return list(db.scalars(stmt).all())


SORTS = {
    "confidence": Ticket.confidence.asc(),
    "-confidence": Ticket.confidence.desc(),
    "created_at": Ticket.created_at.asc(),
    "-created_at": Ticket.created_at.desc(),
}


def list_tickets(
    *,
    db: Session,
    status: str | None = None,
    channel: str | None = None,
    product_type: str | None = None,
    kb_id: str | None = None,
    no_match: bool | None = None,
    q: str | None = None,
    min_confidence: float | None = None,
    max_confidence: float | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    sort: str = "-created_at",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Ticket], int]:
    """Tickets matching every given filter, and how many there are in all."""
    stmt = select(Ticket)
    for col, value in (
        (Ticket.status, status),
        (Ticket.channel, channel),
        (Ticket.product_type, product_type),
        (Ticket.kb_id, kb_id),
        (Ticket.no_match, no_match),
    ):
        if value is not None:
            stmt = stmt.where(col == value)
    if min_confidence is not None:
        stmt = stmt.where(Ticket.confidence >= min_confidence)
    if max_confidence is not None:
        stmt = stmt.where(Ticket.confidence <= max_confidence)
    if created_from is not None:
        stmt = stmt.where(Ticket.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(Ticket.created_at < created_to)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                Ticket.number.ilike(like),
                Ticket.description.ilike(like),
                Ticket.normalized_text.ilike(like),
                Ticket.phone.ilike(like),
                Ticket.address.ilike(like),
                Ticket.customer_name.ilike(like),
                Ticket.model.ilike(like),
            )
        )
    if sort not in SORTS:
        raise ApiError(422, "invalid_sort", f"sort must be one of {sorted(SORTS)}.")
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(SORTS[sort], Ticket.id).limit(limit).offset(offset)).all()
    return list(rows), total


def _identified(items: Any, key: str) -> list[dict[str, Any]]:
    """The entries of a stored JSON list that carry their id `key`: data stored by another
    version or an import may lack any other key (the answers' models make those optional),
    but an entry without its id means nothing and is left out instead of failing the answer."""
    return [i for i in items or () if isinstance(i, dict) and i.get(key) is not None]


def diagnosis_view(stored: Any) -> dict[str, Any]:
    """A stored diagnosis as answers show it: candidates without their kb_id left out."""
    diagnosis = dict(stored) if isinstance(stored, dict) else {}
    if "candidates" in diagnosis:
        diagnosis["candidates"] = _identified(diagnosis["candidates"], "kb_id")
    return diagnosis


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    """API representation of a ticket."""
    required = _identified(ticket.required_fields, "name")
    return {
        "id": ticket.id,
        "number": ticket.number,
        "status": ticket.status,
        "version": ticket.version,
        "channel": ticket.channel,
        "source": ticket.source,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "reported_at": ticket.reported_at,
        "customer": {"name": ticket.customer_name, "phone": ticket.phone},
        "location": {
            "address": ticket.address,
            "latitude": ticket.latitude,
            "longitude": ticket.longitude,
            "region": ticket.region,
        },
        "device": {
            "product_type": ticket.product_type,
            "model": ticket.model,
            "hardware_id": ticket.hardware_id,
            "firmware": ticket.firmware,
        },
        "fault": {
            "description": ticket.description,
            "normalized_text": ticket.normalized_text,
            "fault_code": ticket.fault_code,
        },
        "fields": ticket.fields,
        "required_fields": required,
        "missing_fields": [r["name"] for r in required if r.get("missing")],
        "diagnosis": diagnosis_view(ticket.diagnosis),
        "severity": ticket.severity,
        "sla_class": ticket.sla_class,
        "transcript": ticket.transcript,
        "reviewed_at": ticket.reviewed_at,
        "reviewed_by": ticket.reviewed_by,
        "customer_link": link_for(ticket.id),
        "rating": (
            {"score": ticket.rating_score, "reason": ticket.rating_reason, "at": ticket.rated_at}
            if ticket.rating_score is not None
            else None
        ),
    }


def event_view(event: TicketEvent) -> dict[str, Any]:
    """API representation of a history event."""
    return {
        "id": event.id,
        "at": event.at,
        "actor": event.actor,
        "kind": event.kind,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "changes": event.changes,
        "reason": event.reason,
    }


def corrections(*, db: Session, limit: int = 1000, offset: int = 0) -> list[ReviewCorrection]:
    """Review verdicts, newest first (labelled data for evaluation)."""
    stmt = select(ReviewCorrection).order_by(ReviewCorrection.id.desc()).limit(limit).offset(offset)
    return list(db.scalars(stmt).all())
