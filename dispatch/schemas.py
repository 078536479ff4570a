"""Request bodies of the dispatch and parts API (coordinates and counts checked on entry)."""

from typing import Any

from pydantic import BaseModel, Field

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
