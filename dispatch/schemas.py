"""Request bodies of the dispatch and parts API (coordinates and counts checked on entry), and
its answers (personal values optional: a role that may not see them gets them masked or left
out)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from core.schemas import ApiModel

Lat = Field(ge=-90, le=90, description="Latitude, degrees (WGS-84).")
Lon = Field(ge=-180, le=180, description="Longitude, degrees (WGS-84).")


class Shift(BaseModel):
    """A working window in the dispatch timezone; end ≤ start means it runs overnight."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["08:00"])
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["20:00"])
    days: list[int] | None = Field(default=None, description="ISO weekdays 1..7; omit = daily.")


class TechnicianIn(BaseModel):
    """Register a technician."""

    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    home_lat: float = Lat
    home_lon: float = Lon
    skills: list[str] = Field(default_factory=list, examples=[["高压电工证"]])
    level: int = Field(default=3, ge=1, le=5)
    shifts: list[Shift] = Field(default_factory=list, description="Empty = always on shift.")
    regions: list[str] = Field(default_factory=list, description="Empty = any region.")
    available: bool = True
    webhook_url: str | None = None
    notify_channel: str = "webhook"
    api_token_id: int | None = Field(default=None, description="The technician's own API token.")


class TechnicianPatch(BaseModel):
    """Change a technician (only the fields sent)."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str | None = None
    home_lat: float | None = Field(default=None, ge=-90, le=90)
    home_lon: float | None = Field(default=None, ge=-180, le=180)
    skills: list[str] | None = None
    level: int | None = Field(default=None, ge=1, le=5)
    shifts: list[Shift] | None = None
    regions: list[str] | None = None
    available: bool | None = None
    active: bool | None = None
    webhook_url: str | None = None
    notify_channel: str | None = None
    api_token_id: int | None = None


class LocationIn(BaseModel):
    """A position report from the technician app."""

    lat: float = Lat
    lon: float = Lon
    accuracy_m: float | None = Field(default=None, ge=0)


class AvailabilityIn(BaseModel):
    """The technician's own on/off switch."""

    available: bool


class DeclineIn(BaseModel):
    """Why the technician declines."""

    reason: str | None = Field(default=None, max_length=500)


class ReassignIn(BaseModel):
    """A supervisor's override."""

    technician_id: int
    reason: str = Field(description="Mandatory: kept in the ticket history.")


class DispatchIn(BaseModel):
    """Ask for dispatch of a ticket (e.g. after a failed remote fix)."""

    force: bool = Field(default=False, description="Dispatch even if the KB says remote fix first.")


class DeviceIn(BaseModel):
    """A device scanned at installation (or a registry correction)."""

    hardware_id: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=64)
    product_type: str | None = None
    firmware: str | None = Field(default=None, max_length=32)
    compatible_skus: list[str] = Field(default_factory=list)
    address: str | None = Field(default=None, max_length=255)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    region: str | None = None
    installed_at: str | None = None


class SkuIn(BaseModel):
    """A SKU of the parts catalogue and what it fits."""

    sku: str = Field(min_length=1, max_length=64)
    part: str | None = Field(default=None, description="The KB part code it stands for.")
    name: str | None = None
    models: list[str] = Field(default_factory=list)
    firmware: list[str] = Field(default_factory=list, description="Glob patterns, e.g. 3.2.*")


class WarehouseIn(BaseModel):
    """A warehouse."""

    id: str = Field(min_length=1, max_length=32)
    name: str | None = None
    address: str | None = None
    lat: float = Lat
    lon: float = Lon
    region: str | None = None
    active: bool = True


class StockSet(BaseModel):
    """Set a stock count (on_hand ≥ 0) or adjust it by delta."""

    warehouse_id: str
    sku: str
    on_hand: int | None = Field(default=None, ge=0)
    delta: int | None = None


class ReservationIn(BaseModel):
    """Reserve units for a ticket (nearest warehouse to the site unless one is named)."""

    ticket_id: int
    sku: str
    qty: int = Field(default=1, ge=1)
    warehouse_id: str | None = None


class ReleaseIn(BaseModel):
    """Why units go back to stock."""

    reason: str | None = None


class TransferMove(BaseModel):
    """New status of a transfer order."""

    status: str = Field(description="shipped | arrived | cancelled")


def drop_none(model: BaseModel) -> dict[str, Any]:
    """The fields a PATCH body actually set."""
    return model.model_dump(exclude_unset=True)


class ActionIn(BaseModel):
    """One technician-app action; action_id is generated by the app once per action, so a
    resend after a lost answer is recognised and not done twice."""

    action_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    kind: str = Field(description="accept|decline|on_way|call|arrive|start|pause|resume|resolve")
    data: dict[str, Any] = Field(default_factory=dict)


# Answers


class Point(ApiModel):
    """A position (the home base, or the last reported one with its time)."""

    lat: float | None = None
    lon: float | None = None
    at: datetime | None = None


class AssignmentOut(ApiModel):
    """An offer to a technician, or an accepted job, and how it was decided."""

    id: int
    ticket_id: int
    technician_id: int
    status: str
    score: float | None = None
    explanation: dict[str, Any] | None = None
    actor: str | None = None
    reason: str | None = None
    offered_at: datetime | None = None
    expires_at: datetime | None = None
    responded_at: datetime | None = None
    response_note: str | None = None


class TechnicianOut(ApiModel):
    """A technician: skills, shifts, regions, availability and today's load."""

    id: int
    name: str
    phone: str | None = None
    home: Point | None = None
    location: Point | None = None
    skills: list[str]
    level: int
    shifts: list[dict[str, Any]]
    regions: list[str]
    available: bool
    active: bool
    on_shift_now: bool
    webhook_url: str | None = None
    notify_channel: str | None = None
    api_token_id: int | None = None
    tickets_today: int | None = None
    distance_km: float | None = None


class TechnicianList(ApiModel):
    """Technicians (nearest first when searched by place)."""

    items: list[TechnicianOut]


class MeOut(TechnicianOut):
    """The calling technician and their open assignments."""

    assignments: list[AssignmentOut]


class PositionOut(ApiModel):
    """A position report as stored (coordinates withheld from roles that may not see them)."""

    technician_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    at: datetime
    accuracy_m: float | None = None


class PositionList(ApiModel):
    """Recent position reports, newest first."""

    items: list[PositionOut]


class ReservationOut(ApiModel):
    """Units of a SKU held for a ticket at a warehouse."""

    id: int
    ticket_id: int
    part: str | None = None
    sku: str
    warehouse_id: str | None = None
    qty: int
    status: str
    created_at: datetime
    closed_at: datetime | None = None
    actor: str | None = None
    reason: str | None = None


class ReservationList(ApiModel):
    """Reservations."""

    items: list[ReservationOut]


class TransferOut(ApiModel):
    """A transfer order bringing a part from a warehouse to the technician."""

    id: int
    reservation_id: int | None = None
    ticket_id: int
    sku: str
    qty: int
    from_warehouse_id: str | None = None
    to_technician_id: int | None = None
    status: str
    created_at: datetime
    updated_at: datetime | None = None
    arrived_at: datetime | None = None


class TransferList(ApiModel):
    """Transfer orders."""

    items: list[TransferOut]


class VisitOut(ApiModel):
    """A visit's progress on site."""

    eta_at: datetime | None = None
    on_way_at: datetime | None = None
    called_at: datetime | None = None
    arrived_at: datetime | None = None
    started_at: datetime | None = None
    paused: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    photos: list[dict[str, Any]] | None = None
    signature: dict[str, Any] | None = None
    parts_used: list[dict[str, Any]] | None = None


class VisitWindow(ApiModel):
    """The customer's appointment window."""

    start: datetime
    end: datetime | None = None


class JobTicket(ApiModel):
    """The ticket as the technician sees it (the customer's details once accepted)."""

    id: int
    number: str
    status: str
    sla_class: str | None = None
    customer_name: str | None = None
    phone: str | None = None
    address: str | None = None
    navigation_url: str | None = None
    product_type: str | None = None
    model: str | None = None
    firmware: str | None = None
    hardware_id: str | None = None
    fault_code: str | None = None
    description: str | None = None


class JobDiagnosis(ApiModel):
    """The diagnosed KB entry and what to do about it."""

    kb_id: str | None = None
    title: str | None = None
    root_cause: str | None = None
    resolution: str | None = None
    remote_fixable: bool | None = None


class FieldJob(ApiModel):
    """Everything the technician needs on site."""

    assignment: AssignmentOut
    ticket: JobTicket
    diagnosis: JobDiagnosis
    parts: list[ReservationOut]
    history: list[dict[str, Any]]
    visit: VisitOut | None = None
    window: VisitWindow | None = None


class FieldJobList(ApiModel):
    """The technician's open offers and jobs, newest first."""

    items: list[FieldJob]


class ActionOut(ApiModel):
    """What an app action did (the first answer again, marked replayed, on a resend)."""

    action_id: str
    kind: str
    assignment_id: int
    assignment_status: str
    ticket_status: str
    replayed: bool | None = None


class TechnicianRating(ApiModel):
    """A technician's average customer rating."""

    technician_id: int
    name: str
    average: float
    count: int


class RegionRating(ApiModel):
    """A region's average customer rating (region null: tickets without one)."""

    region: str | None = None
    average: float
    count: int


class RatingsOut(ApiModel):
    """Customers' ratings per technician and per region."""

    technicians: list[TechnicianRating]
    regions: list[RegionRating]


class PendingOut(ApiModel):
    """A ticket waiting in the dispatch pool, and why."""

    ticket_id: int
    number: str
    sla_class: str | None = None
    queued_at: datetime
    reason: str
    tries: int
    last_tried_at: datetime | None = None
    forced: bool | None = None


class PendingList(ApiModel):
    """The pending-dispatch queue, oldest first."""

    items: list[PendingOut]


class RematchOut(ApiModel):
    """What one rematch of the pool did."""

    pool: int | None = None
    offered: int | None = None
    pending: int | None = None
    match_ms: float | None = None
    ms: float | None = None


class DecisionOut(ApiModel):
    """One dispatch decision on a ticket and its reasons."""

    id: int
    ticket_id: int
    at: datetime
    trigger: str
    outcome: str
    technician_id: int | None = None
    reason: str
    details: dict[str, Any] | None = None


class CustomerNotification(ApiModel):
    """A message to the customer and its delivery result."""

    id: int
    event: str | None = None
    recipient: str | None = None
    status: str
    attempts: int
    delivered_at: datetime | None = None
    last_error: str | None = None


class DispatchState(ApiModel):
    """Everything dispatch knows about a ticket."""

    ticket_id: int
    number: str
    status: str
    pending: PendingOut | None = None
    assignments: list[AssignmentOut]
    decisions: list[DecisionOut]
    reservations: list[ReservationOut]
    transfers: list[TransferOut]
    visit: VisitOut | None = None
    customer_notifications: list[CustomerNotification] | None = None


class RegisteredDevice(ApiModel):
    """A registered device and the SKUs that fit it."""

    hardware_id: str
    product_type: str | None = None
    model: str
    firmware: str | None = None
    compatible_skus: list[str]
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    region: str | None = None
    installed_at: datetime | None = None
    registered_by: str | None = None
    updated_at: datetime | None = None
    history: list[dict[str, Any]] | None = None


class SkuOut(ApiModel):
    """A part SKU and the models and firmware it fits."""

    sku: str
    part: str | None = None
    name: str | None = None
    models: list[str]
    firmware: list[str]


class SkuList(ApiModel):
    """SKUs."""

    items: list[SkuOut]


class StockOut(ApiModel):
    """Units of a SKU at a warehouse: on hand, reserved, available."""

    warehouse_id: str
    sku: str
    on_hand: int
    reserved: int
    available: int
    updated_at: datetime | None = None


class StockList(ApiModel):
    """Stock lines."""

    items: list[StockOut]


class WarehouseOut(ApiModel):
    """A warehouse (with its stock when read alone)."""

    id: str
    name: str | None = None
    address: str | None = None
    lat: float
    lon: float
    region: str | None = None
    active: bool
    stock: list[StockOut] | None = None


class WarehouseList(ApiModel):
    """Warehouses."""

    items: list[WarehouseOut]


class RegistryImport(ApiModel):
    """What a technician or device sheet import wrote."""

    kind: str
    rows: int
    written: int
