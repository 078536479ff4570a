"""Cross-department collaboration: a technician's flag becomes a request with a deadline,
assigned to the contact of the department that owns that kind of fault. Unanswered at its due
time, it escalates once (`sla.escalation.fire_collaboration`)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core import clock, notify
from core.errors import ApiError, not_found
from core.tasks import enqueue_after_commit
from sla import escalation
from sla.models import FLAG_KINDS, Collaboration, Department
from tickets.models import Ticket

MAX_LOG_CHARS = 1_000_000


def raise_flag(
    db: Session, *, ticket_id: int, kind: str, summary: str, logs: str, actor: str
) -> Collaboration:
    """Open a collaboration record for the department handling `kind` and tell its contact."""
    ticket = db.get(Ticket, ticket_id)
    if ticket is None:
        raise not_found("ticket", ticket_id)
    if kind not in FLAG_KINDS:
        raise ApiError(422, "unknown_flag", f"Unknown flag {kind!r}; one of {list(FLAG_KINDS)}.")
    if not logs.strip():
        raise ApiError(422, "logs_required", "Attach the raw device logs.")
    if len(logs) > MAX_LOG_CHARS:
        raise ApiError(413, "logs_too_large", f"Logs are limited to {MAX_LOG_CHARS} characters.")
    dept = next((d for d in db.scalars(select(Department)) if kind in d.handles), None)
    if dept is None:
        raise ApiError(
            422, "no_department", f"No department handles {kind!r}; an admin must set one up."
        )
    now = clock.now()
    row = Collaboration(
        ticket_id=ticket_id,
        department_id=dept.id,
        kind=kind,
        summary=summary,
        logs=logs,
        raised_by=actor,
        raised_at=now,
        due_at=now + timedelta(hours=dept.answer_hours),
        status="open",
    )
    db.add(row)
    db.flush()
    notify.send(
        db=db,
        kind="sla.collaboration",
        recipient=dept.contact,
        url=dept.contact_url,
        payload={
            "msgtype": "markdown",
            "markdown": {
                "content": f"协作请求：工单 {ticket.number} {FLAG_KINDS[kind]}，"
                f"请于 {row.due_at:%Y-%m-%d %H:%M} UTC 前答复。{summary}"
            },
            "hotline": {"type": "sla.collaboration", **view(row, dept, now)},
        },
        ref_type="sla.collaboration",
        ref_id=row.id,
    )
    # A delay, not a wall-clock eta: it stays right when tests shift the injectable clock.
    enqueue_after_commit(
        db,
        escalation.collaboration_overdue_task.schedule,
        args=(row.id,),
        delay=(row.due_at - now).total_seconds(),
    )
    return row


def answer(
    db: Session, *, collaboration_id: int, text: str, actor: str, expected_version: int | None
) -> Collaboration:
    """Close a request with the department's answer (once; a second answer is a 409)."""
    row = db.get(Collaboration, collaboration_id)
    if row is None:
        raise not_found("collaboration", collaboration_id)
    if row.status == "answered" or (
        expected_version is not None and expected_version != row.version
    ):
        raise ApiError(
            409,
            "already_answered" if row.status == "answered" else "conflict",
            f"Collaboration {row.id} was answered or changed meanwhile (version {row.version}).",
        )
    row.status = "answered"
    row.answer = text
    row.answered_by = actor
    row.answered_at = clock.now()
    try:
        db.flush()
    except StaleDataError as exc:
        db.rollback()
        raise ApiError(
            409, "conflict", f"Collaboration {row.id} was answered concurrently."
        ) from exc
    return row


def lateness_minutes(row: Collaboration, now: datetime) -> float:
    """How late the answer is (or already is, while open); 0 when on time."""
    end = row.answered_at or now
    return max(0.0, (end - row.due_at).total_seconds() / 60)


def view(row: Collaboration, dept: Department, now: datetime) -> dict[str, Any]:
    """JSON of a collaboration record (without the raw logs, which can be large)."""
    return {
        "id": row.id,
        "ticket_id": row.ticket_id,
        "department": dept.name,
        "contact": dept.contact,
        "kind": row.kind,
        "summary": row.summary,
        "raised_by": row.raised_by,
        "raised_at": row.raised_at.isoformat(),
        "due_at": row.due_at.isoformat(),
        "status": row.status,
        "answered_at": row.answered_at.isoformat() if row.answered_at else None,
        "answered_by": row.answered_by,
        "answer": row.answer,
        "late": lateness_minutes(row, now) > 0,
        "late_minutes": round(lateness_minutes(row, now), 1),
        "version": row.version,
    }


def listing(
    db: Session, *, department_id: int | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Collaboration records, newest first."""
    stmt = select(Collaboration, Department).join(Department)
    if department_id is not None:
        stmt = stmt.where(Collaboration.department_id == department_id)
    if status is not None:
        stmt = stmt.where(Collaboration.status == status)
    now = clock.now()
    return [view(c, d, now) for c, d in db.execute(stmt.order_by(Collaboration.id.desc()))]
