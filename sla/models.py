"""SLA tables: policies and calendars, per-ticket clocks, append-only evidence and pauses,
exactly-once escalations, departments and their collaboration records."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, JsonType, UTCDateTime


class BusinessCalendar(Base):
    """Working days and hours in a timezone; dates are overridden by CalendarDay rows."""

    __tablename__ = "sla_calendars"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    weekdays: Mapped[list[int]] = mapped_column(JsonType)  # ISO weekday numbers, Monday = 1
    windows: Mapped[list[list[str]]] = mapped_column(JsonType)  # [["09:00", "18:00"], ...]
    # "cn": the Chinese public holidays and make-up days of every year (sla.public_holidays)
    # apply, under this calendar's own CalendarDay rows; None: only its own rows.
    holidays: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CalendarDay(Base):
    """A date that differs from the usual week: a public holiday or a make-up working day."""

    __tablename__ = "sla_calendar_days"
    __table_args__ = (UniqueConstraint("calendar_id", "day", name="uq_sla_calendar_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sla_calendars.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # holiday | workday
    name: Mapped[str] = mapped_column(String(64))


class HolidayYear(Base):
    """A year's State Council notice as an admin entered or confirmed it (rest days and
    make-up working days, one {"day", "name"} per date), and when admins were told the year
    was not confirmed yet. Years without a confirmed row come from the shipped files or the
    `holidays` package (sla.public_holidays)."""

    __tablename__ = "sla_holiday_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    holidays: Mapped[list[dict[str, str]]] = mapped_column(JsonType)
    workdays: Mapped[list[dict[str, str]]] = mapped_column(JsonType)
    confirmed_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    alert_delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_deliveries.id"), nullable=True
    )


class SlaPolicy(Base):
    """Targets for the tickets it matches; a criterion left empty matches anything. Of the
    policies that match, the highest priority wins, then the one naming most criteria."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    product_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    customer_tier: Mapped[str | None] = mapped_column(String(32), nullable=True)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sla_calendars.id"))
    pause_kinds: Mapped[list[str]] = mapped_column(JsonType)  # waiting_part, waiting_customer
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketSla(Base):
    """A ticket's SLA: the policy it got and its clocks.

    Targets are copied from the policy when attached (a later policy edit does not move a
    running clock). Deadlines, responded_at and resolved_at are caches recomputed from the
    evidence, pauses and ticket history by `sla.service.refresh`; nothing else writes them.
    """

    __tablename__ = "sla_tickets"
    __table_args__ = (
        Index("ix_sla_tickets_response", "response_deadline_at"),
        Index("ix_sla_tickets_resolution", "resolution_deadline_at"),
        # The live board: response clocks not yet answered, by deadline.
        Index("ix_sla_tickets_unanswered", "responded_at", "response_deadline_at"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id"))
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sla_calendars.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    pause_kinds: Mapped[list[str]] = mapped_column(JsonType)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    technician: Mapped[str | None] = mapped_column(String(160), nullable=True, index=True)
    department: Mapped[str | None] = mapped_column(String(120), nullable=True, index=True)
    response_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Evidence(Base):
    """One piece of proof that a response step happened: never updated or deleted."""

    __tablename__ = "sla_evidence"
    __table_args__ = (Index("ix_sla_evidence_ticket", "ticket_id", "kind", "accepted"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(16))  # pushed | viewed | first_call
    at: Mapped[datetime] = mapped_column(UTCDateTime())  # when it happened
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(160))
    proof: Mapped[dict[str, Any]] = mapped_column(JsonType)
    accepted: Mapped[bool] = mapped_column(Boolean)
    rejection_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)


class PauseEvent(Base):
    """A pause of the SLA clock starting or ending: never updated or deleted."""

    __tablename__ = "sla_pause_events"
    __table_args__ = (Index("ix_sla_pause_ticket", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(32))  # waiting_part | waiting_customer
    action: Mapped[str] = mapped_column(String(8))  # start | end
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(160))
    ref: Mapped[str | None] = mapped_column(String(64), nullable=True)  # e.g. transfer order
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)


class Escalation(Base):
    """A level reached past a deadline. The unique key makes each fire exactly once."""

    __tablename__ = "sla_escalations"
    __table_args__ = (
        UniqueConstraint(
            "ticket_id", "deadline_kind", "deadline_at", "level", name="uq_sla_escalation"
        ),
        Index("ix_sla_escalations_fired", "fired_at"),
        Index("ix_sla_escalations_pending", "recipient", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    deadline_kind: Mapped[str] = mapped_column(String(16))  # response | resolution
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    level: Mapped[str] = mapped_column(String(8))  # yellow | red | black
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recipient: Mapped[str | None] = mapped_column(String(160), nullable=True)
    # The alert or digest that told the recipient (empty while held for a digest).
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_deliveries.id"), nullable=True
    )


class RegionContact(Base):
    """Who is alerted for a region: the supervisor (yellow, red) and the director (black).
    Region "*" is the fallback for regions without their own row."""

    __tablename__ = "sla_region_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(64), unique=True)
    supervisor: Mapped[str] = mapped_column(String(160))
    supervisor_url: Mapped[str] = mapped_column(Text)
    director: Mapped[str] = mapped_column(String(160))
    director_url: Mapped[str] = mapped_column(Text)


class Department(Base):
    """A team other departments hand work to, and the kinds of flags it owns."""

    __tablename__ = "sla_departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    contact: Mapped[str] = mapped_column(String(160))
    contact_url: Mapped[str] = mapped_column(Text)
    handles: Mapped[list[str]] = mapped_column(JsonType)  # e.g. ["cloud_command_fault"]
    answer_hours: Mapped[float] = mapped_column(default=4.0)


# The flags a technician can raise, each opening a collaboration request.
FLAG_KINDS = {"cloud_command_fault": "疑似云端指令故障"}


class Collaboration(Base):
    """A question one department owes another an answer to, with a deadline."""

    __tablename__ = "sla_collaborations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("sla_departments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    logs: Mapped[str] = mapped_column(Text)  # raw device logs, as attached
    raised_by: Mapped[str] = mapped_column(String(160))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | answered
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic locking

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
