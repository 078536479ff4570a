"""The read log of full phone numbers: who (user, role) was shown whose number, when, where.

Written wherever a full (unmasked) phone number leaves the service to a person: an API answer
or a console page with a customer's number (subject `ticket`) or a technician's (subject
`technician`). One row per subject per answer; an admin lists them (API and CLI).
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from huey import crontab
from sqlalchemy import Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock
from core.auth import Role
from core.db import Base, UTCDateTime, session_scope
from core.settings import get_settings
from core.tasks import queue

SUBJECTS = ("ticket", "technician")


class Reader(Protocol):
    """Who is shown the data: an API principal or a console viewer."""

    @property
    def role(self) -> Role: ...

    @property
    def actor(self) -> str: ...


class PhoneRead(Base):
    """One full number shown to one person."""

    __tablename__ = "phone_reads"
    __table_args__ = (Index("ix_phone_reads_subject", "subject", "subject_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(16))  # ticket | technician
    subject_id: Mapped[int] = mapped_column(Integer)
    door: Mapped[str] = mapped_column(String(200))  # e.g. "GET /api/v1/tickets/{id}"


def record(
    db: Session,
    reader: Reader,
    door: str,
    *,
    tickets: Iterable[int] = (),
    technicians: Iterable[int] = (),
) -> int:
    """Log that reader was shown the full numbers of these tickets' customers and these
    technicians through door; returns how many rows were written."""
    now = clock.now()
    rows = [
        PhoneRead(
            at=now,
            actor=reader.actor[:200],
            role=reader.role.value,
            subject=subject,
            subject_id=subject_id,
            door=door[:200],
        )
        for subject, ids in (("ticket", tickets), ("technician", technicians))
        for subject_id in dict.fromkeys(ids)
    ]
    db.add_all(rows)
    return len(rows)


class HasPhone(Protocol):
    """A ticket (its id and its customer's phone)."""

    id: int
    phone: str | None


def record_customers(db: Session, reader: Reader, door: str, tickets: Iterable[HasPhone]) -> int:
    """Log the customers' full numbers an answer about these tickets shows (those that have
    one)."""
    return record(db, reader, door, tickets=[t.id for t in tickets if t.phone])


def listing(
    db: Session,
    *,
    subject: str | None = None,
    subject_id: int | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[PhoneRead]:
    """Reads, newest first, optionally of one subject, by one actor, since an instant or
    before one."""
    stmt = select(PhoneRead)
    if subject is not None:
        stmt = stmt.where(PhoneRead.subject == subject)
    if subject_id is not None:
        stmt = stmt.where(PhoneRead.subject_id == subject_id)
    if actor is not None:
        stmt = stmt.where(PhoneRead.actor == actor)
    if since is not None:
        stmt = stmt.where(PhoneRead.at >= since)
    if until is not None:
        stmt = stmt.where(PhoneRead.at < until)
    stmt = stmt.order_by(PhoneRead.id.desc()).limit(limit).offset(offset)
    return list(db.scalars(stmt))


def actors(db: Session) -> list[str]:
    """Everyone the log has shown a full number to (role:name), by name."""
    return sorted(db.scalars(select(PhoneRead.actor).distinct()))


def view(row: PhoneRead) -> dict[str, Any]:
    """JSON of one read."""
    return {
        "id": row.id,
        "at": row.at,
        "actor": row.actor,
        "role": row.role,
        "subject": row.subject,
        "subject_id": row.subject_id,
        "door": row.door,
    }


def prune(db: Session) -> int:
    """Forget reads older than HOTLINE_PHONE_READS_KEEP_DAYS; returns how many rows went."""
    cutoff = clock.now() - timedelta(days=get_settings().phone_reads_keep_days)
    result = db.execute(delete(PhoneRead).where(PhoneRead.at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@queue.periodic_task(crontab(minute="41", hour="3"))
def prune_task() -> int:
    """Daily: the read log keeps a year (a setting), not everything forever."""
    with session_scope() as db:
        return prune(db)
