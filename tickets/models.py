"""Ticket tables: the ticket, its append-only event history, and review corrections."""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, JsonType, UTCDateTime


class Ticket(Base):
    """A service request with everything triage learned about it."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_conf", "status", "confidence"),
        Index("ix_tickets_created", "created_at"),
        # The review queue: open statuses not yet reviewed (a small set at any size).
        Index("ix_tickets_open_unreviewed", "status", "reviewed_at"),
        # Supervisors' charts count by the reported day (imported history keeps its date).
        Index("ix_tickets_reported", "reported_at"),
        # The ticket list filtered by status, newest first (walks one status in date order).
        Index("ix_tickets_status_created", "status", "created_at"),
        # The charts' top root causes: a count per KB entry over a window, from the index alone.
        Index("ix_tickets_kb_reported", "kb_id", "reported_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Customer and site
    customer_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    address: Mapped[str | None] = mapped_column(String(255), nullable=True)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Device
    product_type: Mapped[str | None] = mapped_column(String(50), nullable=True, index=True)
    model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hardware_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    firmware: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Fault
    description: Mapped[str] = mapped_column(Text)  # what the caller said, as received
    normalized_text: Mapped[str] = mapped_column(Text)
    fault_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    transcript: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType, nullable=True)
    # Triage outcome
    fields: Mapped[dict[str, Any]] = mapped_column(JsonType)  # every field incl. chain extras
    required_fields: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    diagnosis: Mapped[dict[str, Any]] = mapped_column(JsonType)
    kb_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    no_match: Mapped[bool] = mapped_column(Boolean, default=False)
    severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sla_class: Mapped[str] = mapped_column(String(8))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    # The customer's rating from the progress page (tickets.rating).
    rating_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic locking

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class TicketEvent(Base):
    """One change of a ticket: never updated or deleted."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(32))  # created | status | fields | review | note
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JsonType)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReviewCorrection(Base):
    """An agent's verdict on an auto-filled ticket: labelled data for evaluation."""

    __tablename__ = "review_corrections"
    # The KB list's most corrected entries: counts from the index alone.
    __table_args__ = (
        Index(
            "ix_review_corrections_predicted",
            "predicted_kb_id",
            "diagnosis_correct",
            "corrected_kb_id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(160))
    text: Mapped[str] = mapped_column(Text)
    predicted_kb_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    corrected_kb_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    predicted_fields: Mapped[dict[str, Any]] = mapped_column(JsonType)
    corrected_fields: Mapped[dict[str, Any]] = mapped_column(JsonType)
    diagnosis_correct: Mapped[bool] = mapped_column(Boolean)
    fields_correct: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
