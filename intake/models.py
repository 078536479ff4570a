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
