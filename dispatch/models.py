"""Dispatch and parts tables: technicians, assignments and their decisions; devices, warehouses,
stock, reservations and transfer orders."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, JsonType, UTCDateTime

# Assignment states; an "active" one binds the technician to the ticket.
ACTIVE_ASSIGNMENT = ("offered", "accepted")
ASSIGNMENT_STATES = ("offered", "accepted", "declined", "expired", "overridden", "released")


class Technician(Base):
    """A field technician: where they are, what they may fix, when they work."""

    __tablename__ = "technicians"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    home_lat: Mapped[float] = mapped_column(Float)
    home_lon: Mapped[float] = mapped_column(Float)
    # Last known position (the app's location updates); the home base until the first one.
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    located_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    skills: Mapped[list[str]] = mapped_column(JsonType)  # skills and certificates held
    level: Mapped[int] = mapped_column(Integer, default=3)  # 1 (junior) … 5 (expert)
    # [{"days": [1..7] (ISO weekday; omitted = every day), "start": "08:00", "end": "20:00"}]
    shifts: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    regions: Mapped[list[str]] = mapped_column(JsonType)  # empty = any region
    available: Mapped[bool] = mapped_column(Boolean, default=True)  # the technician's own switch
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # employed / not deactivated
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    notify_channel: Mapped[str] = mapped_column(String(32), default="webhook")
    api_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id"), nullable=True, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TechnicianLocation(Base):
    """One reported position of a technician: never updated."""

    __tablename__ = "technician_locations"
    __table_args__ = (Index("ix_technician_locations_tech", "technician_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float, nullable=True)


class Assignment(Base):
    """A ticket offered to (and possibly taken by) one technician, with why they were chosen."""

    __tablename__ = "dispatch_assignments"
    __table_args__ = (
        Index("ix_dispatch_assignments_ticket", "ticket_id", "id"),
        Index("ix_dispatch_assignments_tech", "technician_id", "status", "offered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)  # see ASSIGNMENT_STATES
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    explanation: Mapped[dict[str, Any]] = mapped_column(JsonType)  # scores, distance, why
    actor: Mapped[str] = mapped_column(String(160))  # system:dispatch or the overriding supervisor
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    response_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class PendingDispatch(Base):
    """The open pool: a ticket waiting for a technician, and why nobody has it yet."""

    __tablename__ = "dispatch_pending"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    last_tried_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Dispatch even though the diagnosis says "remote fix first" (a supervisor asked for it).
    forced: Mapped[bool] = mapped_column(Boolean, default=False)


class DispatchDecision(Base):
    """One dispatch attempt for a ticket: every candidate, what removed them, the scores."""

    __tablename__ = "dispatch_decisions"
    __table_args__ = (Index("ix_dispatch_decisions_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    trigger: Mapped[str] = mapped_column(String(32))  # triaged | rematch | declined | override …
    outcome: Mapped[str] = mapped_column(String(16))  # offered | pending | skipped | override
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technicians.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JsonType)  # requirements, candidates, filters


class Device(Base):
    """An installed device, keyed by its hardware ID (scanned at installation or imported)."""

    __tablename__ = "devices"

    hardware_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    model: Mapped[str] = mapped_column(String(64))
    firmware: Mapped[str | None] = mapped_column(String(32), nullable=True)
    compatible_skus: Mapped[list[str]] = mapped_column(JsonType)
    address: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    registered_by: Mapped[str] = mapped_column(String(160))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeviceSiteChange(Base):
    """A device's address or coordinates before and after an update, and who changed them:
    a site is never overwritten without a trace."""

    __tablename__ = "device_site_changes"
    __table_args__ = (Index("ix_device_site_changes_device", "hardware_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hardware_id: Mapped[str] = mapped_column(ForeignKey("devices.hardware_id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(160))
    before: Mapped[dict[str, Any]] = mapped_column(JsonType)  # address, lat, lon, region
    after: Mapped[dict[str, Any]] = mapped_column(JsonType)


class PartSku(Base):
    """A stock-keeping unit and what it fits: `part` is the KB's part code it can stand for."""

    __tablename__ = "part_skus"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    part: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(120))
    models: Mapped[list[str]] = mapped_column(JsonType)  # empty = any model
    firmware: Mapped[list[str]] = mapped_column(JsonType)  # glob patterns; empty = any


class Warehouse(Base):
    """A place that holds spare parts."""

    __tablename__ = "warehouses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Stock(Base):
    """How many of a SKU a warehouse holds and how many of those are promised to tickets."""

    __tablename__ = "stock"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "sku", name="uq_stock_warehouse_sku"),
        # The database itself refuses overselling, whatever code path writes.
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="ck_stock_reserved"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"))
    sku: Mapped[str] = mapped_column(String(64), index=True)
    on_hand: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Reservation(Base):
    """Units of a SKU held at a warehouse for one ticket."""

    __tablename__ = "reservations"
    __table_args__ = (
        # `active` is True while held and NULL afterwards: NULLs never collide, so a ticket can
        # hold a SKU only once at a time but keep any number of released ones.
        UniqueConstraint("ticket_id", "sku", "active", name="uq_reservation_active"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    part: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the KB part code
    sku: Mapped[str] = mapped_column(String(64))
    warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"))
    qty: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # held | released | consumed
    active: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    actor: Mapped[str] = mapped_column(String(160))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class TransferOrder(Base):
    """Move reserved units from the warehouse to the technician who will fit them."""

    __tablename__ = "transfer_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    from_warehouse_id: Mapped[str] = mapped_column(ForeignKey("warehouses.id"))
    to_technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)  # created|shipped|arrived|cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class FieldVisit(Base):
    """The site visit of a ticket as the technician's app reports it, and the customer's
    appointment window; the progress fields start over when another technician takes it."""

    __tablename__ = "dispatch_field_visits"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispatch_assignments.id"), nullable=True
    )
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    eta_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    on_way_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    paused: Mapped[str | None] = mapped_column(String(32), nullable=True)  # waiting_part|_customer
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    photos: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    signature: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    parts_used: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FieldAction(Base):
    """One action of the technician app, keyed by the id the app generated: a retried send
    finds it here and gets the same answer without doing it twice."""

    __tablename__ = "dispatch_field_actions"
    __table_args__ = (Index("ix_dispatch_field_actions_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[str] = mapped_column(String(64), unique=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("dispatch_assignments.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(160))
    result: Mapped[dict[str, Any]] = mapped_column(JsonType)
