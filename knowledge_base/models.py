"""KB tables: the entry (published content + pending draft), its append-only history and
its review requests."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, JsonType, UTCDateTime


class KBEntry(Base):
    """A fault entry. `published` is what triage searches; `draft` waits for review/publish."""

    __tablename__ = "kb_entries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft | published | retired
    product_type: Mapped[str] = mapped_column(String(50), index=True)
    title: Mapped[str] = mapped_column(String(200))
    published: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=0)  # published versions so far
    revision: Mapped[int] = mapped_column(Integer, default=0)  # any change; optimistic locking
    # Id of the revision that last changed what is searchable; processes sync their index on it.
    index_seq: Mapped[int] = mapped_column(Integer, default=0, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # UPDATE … WHERE revision = <read value>: a concurrent edit loses with a 409, on any backend.
    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class KBRevision(Base):
    """Who changed what and when; never updated or deleted."""

    __tablename__ = "kb_revisions"
    __table_args__ = (Index("ix_kb_revisions_entry", "entry_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entries.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(160))
    action: Mapped[str] = mapped_column(String(16))  # create | edit | publish | retire
    version: Mapped[int] = mapped_column(Integer)
    changes: Mapped[dict[str, Any]] = mapped_column(JsonType)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JsonType)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class KBReviewRequest(Base):
    """A KB draft submitted for review: publishing needs one at the entry's current revision
    (knowledge_base.review). The table keeps the name it got when the console held it."""

    __tablename__ = "console_kb_reviews"
    __table_args__ = (Index("ix_console_kb_reviews_entry", "entry_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("kb_entries.id"))
    revision: Mapped[int] = mapped_column(Integer)  # the draft's revision when submitted
    submitted_by: Mapped[str] = mapped_column(String(160))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # pending | published | rejected | superseded (the draft changed after submission)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
