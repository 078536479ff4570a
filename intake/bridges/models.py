"""What bridges brought to a ticket: one row per connector call, and the advice raised."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, JsonType, UTCDateTime


class TicketEnrichment(Base):
    """The outcome of one connector for one ticket: its data, or why there is none."""

    __tablename__ = "ticket_enrichments"
    __table_args__ = (Index("ix_ticket_enrichments_ticket", "ticket_id", "connector"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    connector: Mapped[str] = mapped_column(String(64))
    system: Mapped[str] = mapped_column(String(32))  # iot | crm | erp | …
    status: Mapped[str] = mapped_column(String(16))  # ok | timeout | error
    data: Mapped[dict[str, Any]] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer)


class TicketAdvice(Base):
    """A rule's advice for a ticket, from the enrichment data (e.g. check sheave wear)."""

    __tablename__ = "ticket_advice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    rule: Mapped[str] = mapped_column(String(64))  # kb:<id> or the advice rule's name
    advice: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
