"""`Idempotency-Key` on creating POSTs: a retried request gets the first answer, creates nothing.

A client that timed out, or got a 503, cannot know whether its request was done; with the
same `Idempotency-Key` header it may send it again. A request first looks for its key (found:
the first answer is replayed, same status and body, header `Idempotent-Replayed: true`); when
its work is done, the answer is stored under the key in the request's own transaction, so the
ticket and the key commit together or not at all. The key is stored last, not claimed first:
on SQLite the first write takes the database's write lock until the commit, and a claim made
before a transcription would hold it for the whole decode. Two concurrent requests with one
key both do the work; the unique index makes the second wait for the first's commit, and the
second then rolls back what it wrote and answers with the first answer. The same key on a
different request (other path or body) is refused with 422. Keys are per caller and kept for
HOTLINE_IDEMPOTENCY_TTL_H hours.
"""

import hashlib
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from fastapi import Header
from fastapi.responses import JSONResponse
from huey import crontab
from pydantic_core import to_jsonable_python
from sqlalchemy import Integer, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock
from core.db import Base, JsonType, UTCDateTime, session_scope
from core.errors import ApiError
from core.settings import get_settings
from core.tasks import queue

MAX_KEY_CHARS = 200


class IdempotencyRecord(Base):
    """One caller's key, what it was used for, and the answer given."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "key", name="uq_idempotency_caller_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    caller: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(MAX_KEY_CHARS))
    endpoint: Mapped[str] = mapped_column(String(300))  # method and path
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of what was sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JsonType)


def key_header(
    idempotency_key: str | None = Header(
        default=None,
        alias="Idempotency-Key",
        description="Any unique string (e.g. a UUID): a retry with the same key returns the "
        "first answer and creates nothing.",
    ),
) -> str | None:
    """FastAPI dependency: the request's Idempotency-Key, checked."""
    if idempotency_key is None:
        return None
    key = idempotency_key.strip()
    if not key or len(key) > MAX_KEY_CHARS:
        raise ApiError(
            422,
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters.",
        )
    return key


def fingerprint(*parts: bytes | str | None) -> str:
    """A digest of what was sent (body fields, file bytes), to tell a retry from a reuse."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else (part or b"")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


class Request(NamedTuple):
    """One idempotent request: whose key, the key, which endpoint, what was sent."""

    caller: str
    key: str | None
    endpoint: str
    fingerprint: str


def replay(*, db: Session, request: Request) -> JSONResponse | None:
    """The stored answer when this key was used before (422 if for another request); None
    when the request is new (or carries no key) and must be done."""
    if request.key is None:
        return None
    row = _find(db, request.caller, request.key)
    return None if row is None else _replay(row, request)


def store(*, db: Session, request: Request, status_code: int, body: Any) -> JSONResponse | None:
    """Keep the answer under the key in db's transaction, just before the caller commits.
    If a concurrent request with the key committed first, db is rolled back (what this
    request wrote is discarded) and the first answer is returned, to send instead."""
    if request.key is None:
        return None
    record = IdempotencyRecord(
        caller=request.caller,
        key=request.key,
        endpoint=request.endpoint,
        fingerprint=request.fingerprint,
        created_at=clock.now(),
        status_code=status_code,
        body=to_jsonable_python(body),  # as FastAPI writes it, so a replay is identical
    )
    try:
        with db.begin_nested():
            # An expired answer under this key gives way (replay ignores it without writing:
            # a request's reads never hold a write lock).
            db.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.caller == request.caller,
                    IdempotencyRecord.key == request.key,
                    IdempotencyRecord.created_at < clock.now() - _ttl(),
                )
            )
            db.add(record)
    except IntegrityError:
        # The unique index made us wait for the other request's commit: it won.
        db.rollback()
        row = _find(db, request.caller, request.key)
        if row is None:
            raise
        return _replay(row, request)
    return None


@queue.periodic_task(crontab(minute="17"))
def prune_task() -> int:
    """Hourly: forget keys older than HOTLINE_IDEMPOTENCY_TTL_H."""
    cutoff = clock.now() - _ttl()
    with session_scope() as db:
        result = db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _find(db: Session, caller: str, key: str) -> IdempotencyRecord | None:
    row = db.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
        )
    )
    if row is not None and clock.now() - row.created_at > _ttl():
        return None
    return row


def _ttl() -> timedelta:
    return timedelta(hours=get_settings().idempotency_ttl_h)


def _replay(row: IdempotencyRecord, request: Request) -> JSONResponse:
    if row.endpoint != request.endpoint or row.fingerprint != request.fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request; send a new key for a new "
            "request (a retry must repeat the first request exactly).",
            {"first_request": row.endpoint},
        )
    return JSONResponse(
        row.body, status_code=row.status_code, headers={"Idempotent-Replayed": "true"}
    )
