"""Import tables: one batch per imported file, one record per ticket it created (dedup key)."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, JsonType, UTCDateTime


class ImportBatch(Base):
    """One imported file (Excel/CSV sheet or WeChat chat export) and its per-row report."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # excel | wechat
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued|running|done|failed
    rows_seen: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Per-row outcomes, warnings (ignored columns …) and, for uploads, where the file waits.
    report: Mapped[dict[str, Any]] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ImportRecord(Base):
    """A ticket made from one imported row or chat request; its fingerprint is unique, so the
    same content imported again (same file or another) creates nothing."""

    __tablename__ = "import_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    ref: Mapped[str] = mapped_column(String(64))  # "row 12", "row 12 #2", "lines 3-9"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Call(Base):
    """A phone-system call: announced by the dialplan (`POST /api/v1/calls`, keyed by the
    AudioSocket UUID) or by its audio door, with who called on which line and, once the call
    has ended, the ticket it became (a later recording of the same call joins that ticket)."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    caller: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    line: Mapped[str | None] = mapped_column(String(32), nullable=True)
    door: Mapped[str | None] = mapped_column(String(16), nullable=True)  # audiosocket|fork|…
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JsonType)  # other keys the PBX sent
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id"), nullable=True, index=True
    )
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
