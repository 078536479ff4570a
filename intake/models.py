"""Import tables: one batch per imported file, one record per ticket it created (dedup key)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text
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


class LiveCallRow(Base):
    """A live call in progress on some process (any door): who serves it (owner, renewed
    heartbeat), where its audio is spooled as it arrives and the text decoded so far. A call
    whose owner stopped beating is recovered into a ticket by another process (intake/
    live_recovery.py); the row is deleted in the transaction that makes the call's ticket."""

    __tablename__ = "live_calls"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # our key, not the door's
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    door: Mapped[str] = mapped_column(String(16))  # audiosocket|fork|stream
    channel: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(16), index=True)  # live|recovering
    owner: Mapped[str] = mapped_column(String(160))  # host:pid:boot of the serving process
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sample_rate: Mapped[int] = mapped_column(Integer)
    spool: Mapped[str] = mapped_column(String(255))  # relative to data_dir
    received_s: Mapped[float] = mapped_column(Float, default=0.0)
    finals: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)  # segments decoded so far
    notes: Mapped[list[str]] = mapped_column(JsonType)
