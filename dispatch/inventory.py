"""Registries of parts binding: devices (by hardware ID), SKUs, warehouses and stock levels."""

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import clock
from core.errors import ApiError, not_found
from dispatch.geofence import check_coordinates
from dispatch.models import Device, DeviceSiteChange, PartSku, Stock, Warehouse

# Where the device is: a change of any of these is kept (DeviceSiteChange).
SITE_FIELDS = ("address", "lat", "lon", "region")
DEVICE_FIELDS = (
    "product_type",
    "model",
    "firmware",
    "compatible_skus",
    "address",
    "lat",
    "lon",
    "region",
    "installed_at",
)


def _coords(lat: Any, lon: Any, *, optional: bool = False) -> None:
    if optional and lat is None and lon is None:
        return
    try:
        check_coordinates(lat, lon)
    except ValueError as exc:
        raise ApiError(422, "invalid_coordinates", str(exc)) from exc


def _text_list(name: str, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise ApiError(422, f"invalid_{name}", f"{name} must be a list of non-empty text")


# Devices


def get_device(db: Session, hardware_id: str) -> Device:
    """A device by hardware ID (case-insensitive: IDs are stored upper-case), or a 404."""
    device = db.get(Device, hardware_id.strip().upper())
    if device is None:
        raise not_found("device", hardware_id)
    return device


def register_device(db: Session, hardware_id: str, values: dict[str, Any], actor: str) -> Device:
    """Create or update a device (a scan at installation, or an import row)."""
    hw = hardware_id.strip().upper()
    if not hw or len(hw) > 64:
        raise ApiError(422, "invalid_hardware_id", "hardware_id must be 1..64 characters")
    values = {k: v for k, v in values.items() if k in DEVICE_FIELDS}
    device = db.get(Device, hw)
    merged = {
        **({k: getattr(device, k) for k in DEVICE_FIELDS} if device else {}),
        **values,
    }
    if not merged.get("model"):
        raise ApiError(422, "invalid_model", "model is required")
    _coords(merged.get("lat"), merged.get("lon"), optional=True)
    merged.setdefault("compatible_skus", [])
    _text_list("compatible_skus", merged["compatible_skus"])
    installed = merged.get("installed_at")
    if isinstance(installed, str):
        try:
            merged["installed_at"] = datetime.fromisoformat(installed)
        except ValueError as exc:
            raise ApiError(422, "invalid_installed_at", "installed_at must be ISO 8601") from exc
    now = clock.now()
    if device is None:
        device = Device(hardware_id=hw, registered_by=actor, updated_at=now, **merged)
        db.add(device)
    else:
        before = {k: getattr(device, k) for k in SITE_FIELDS}
        after = {k: merged.get(k) for k in SITE_FIELDS}
        if before != after:
            db.add(
                DeviceSiteChange(
                    hardware_id=hw, changed_at=now, actor=actor, before=before, after=after
                )
            )
        for name, value in merged.items():
            setattr(device, name, value)
        device.updated_at = now
    db.flush()
    return device


def site_changes(db: Session, hardware_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The device's earlier addresses and coordinates, newest change first."""
    rows = db.scalars(
        select(DeviceSiteChange)
        .where(DeviceSiteChange.hardware_id == hardware_id)
        .order_by(DeviceSiteChange.id.desc())
        .limit(limit)
    )
    return [
        {"changed_at": r.changed_at, "actor": r.actor, "before": r.before, "after": r.after}
        for r in rows
    ]


def device_view(device: Device) -> dict[str, Any]:
    """API representation of a device."""
    return {
        "hardware_id": device.hardware_id,
        "product_type": device.product_type,
        "model": device.model,
        "firmware": device.firmware,
        "compatible_skus": device.compatible_skus,
        "address": device.address,
        "lat": device.lat,
        "lon": device.lon,
        "region": device.region,
        "installed_at": device.installed_at,
        "registered_by": device.registered_by,
        "updated_at": device.updated_at,
    }


# SKUs


def upsert_sku(db: Session, sku: str, values: dict[str, Any]) -> PartSku:
    """Create or update a SKU of the parts catalogue."""
    sku = sku.strip().upper()
    if not sku or len(sku) > 64:
        raise ApiError(422, "invalid_sku", "sku must be 1..64 characters")
    row = db.get(PartSku, sku)
    data = {
        "part": values.get("part") or (row.part if row else sku),
        "name": values.get("name") or (row.name if row else sku),
        "models": values.get("models", row.models if row else []),
        "firmware": values.get("firmware", row.firmware if row else []),
    }
    _text_list("models", data["models"])
    _text_list("firmware", data["firmware"])
    if row is None:
        row = PartSku(sku=sku, **data)
        db.add(row)
    else:
        for name, value in data.items():
            setattr(row, name, value)
    db.flush()
    return row


def known_sku(db: Session, sku: str) -> bool:
    """Whether a SKU is in the catalogue or held by any warehouse."""
    sku = sku.strip().upper()
    return (
        db.get(PartSku, sku) is not None
        or db.scalar(select(Stock.id).where(Stock.sku == sku).limit(1)) is not None
    )


def sku_view(row: PartSku) -> dict[str, Any]:
    """API representation of a SKU."""
    return {
        "sku": row.sku,
        "part": row.part,
        "name": row.name,
        "models": row.models,
        "firmware": row.firmware,
    }


# Warehouses


def get_warehouse(db: Session, warehouse_id: str) -> Warehouse:
    """A warehouse by id, or a 404."""
    row = db.get(Warehouse, warehouse_id)
    if row is None:
        raise not_found("warehouse", warehouse_id)
    return row


def upsert_warehouse(db: Session, warehouse_id: str, values: dict[str, Any]) -> Warehouse:
    """Create or update a warehouse."""
    if not warehouse_id or len(warehouse_id) > 32:
        raise ApiError(422, "invalid_warehouse_id", "warehouse id must be 1..32 characters")
    row = db.get(Warehouse, warehouse_id)
    data = {
        "name": values.get("name") or (row.name if row else warehouse_id),
        "address": values.get("address", row.address if row else None),
        "lat": values.get("lat", row.lat if row else None),
        "lon": values.get("lon", row.lon if row else None),
        "region": values.get("region", row.region if row else None),
        "active": values.get("active", row.active if row else True),
    }
    _coords(data["lat"], data["lon"])
    if row is None:
        row = Warehouse(id=warehouse_id, **data)
        db.add(row)
    else:
        for name, value in data.items():
            setattr(row, name, value)
    db.flush()
    return row


def warehouse_view(row: Warehouse) -> dict[str, Any]:
    """API representation of a warehouse."""
    return {
        "id": row.id,
        "name": row.name,
        "address": row.address,
        "lat": row.lat,
        "lon": row.lon,
        "region": row.region,
        "active": row.active,
    }


# Stock levels


def set_stock(db: Session, warehouse_id: str, sku: str, on_hand: int) -> Stock:
    """Set the units on hand (a count); never below zero or below what is reserved."""
    get_warehouse(db, warehouse_id)
    sku = sku.strip().upper()
    if not sku:
        raise ApiError(422, "invalid_sku", "sku is required")
    if isinstance(on_hand, bool) or not isinstance(on_hand, int) or on_hand < 0:
        raise ApiError(422, "negative_stock", "on_hand must be a whole number ≥ 0")
    row = db.scalar(
        select(Stock).where(Stock.warehouse_id == warehouse_id, Stock.sku == sku).with_for_update()
    )
    now = clock.now()
    if row is None:
        row = Stock(warehouse_id=warehouse_id, sku=sku, on_hand=on_hand, reserved=0, updated_at=now)
        db.add(row)
        db.flush()
        return row
    if on_hand < row.reserved:
        raise ApiError(
            409,
            "below_reserved",
            f"{row.reserved} unit(s) of {sku} at {warehouse_id} are reserved; on_hand cannot be "
            f"set to {on_hand}.",
        )
    row.on_hand, row.updated_at = on_hand, now
    db.flush()
    return row


def adjust_stock(db: Session, warehouse_id: str, sku: str, delta: int) -> Stock:
    """Add (receipt) or remove (write-off) units in one conditional UPDATE, so concurrent
    adjustments never take stock below what is reserved or below zero."""
    get_warehouse(db, warehouse_id)
    sku = sku.strip().upper()
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise ApiError(422, "invalid_delta", "delta must be a non-zero whole number")
    exists = db.scalar(select(Stock.id).where(Stock.warehouse_id == warehouse_id, Stock.sku == sku))
    if exists is None:
        if delta < 0:
            raise ApiError(409, "insufficient_stock", f"{warehouse_id} holds no {sku}.")
        return set_stock(db, warehouse_id, sku, delta)
    result = db.execute(
        update(Stock)
        .where(Stock.id == exists, Stock.on_hand + delta >= Stock.reserved)
        .values(on_hand=Stock.on_hand + delta, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ApiError(
            409,
            "insufficient_stock",
            f"Removing {-delta} unit(s) of {sku} at {warehouse_id} would go below the free stock.",
        )
    row = db.get(Stock, exists)
    assert row is not None
    db.refresh(row)
    return row


def stock_rows(
    db: Session, *, sku: str | None = None, warehouse_id: str | None = None
) -> list[Stock]:
    """Stock rows, optionally of one SKU or warehouse."""
    stmt = select(Stock).order_by(Stock.warehouse_id, Stock.sku)
    if sku:
        stmt = stmt.where(Stock.sku == sku.strip().upper())
    if warehouse_id:
        stmt = stmt.where(Stock.warehouse_id == warehouse_id)
    return list(db.scalars(stmt))


def stock_view(row: Stock) -> dict[str, Any]:
    """API representation of a stock row."""
    return {
        "warehouse_id": row.warehouse_id,
        "sku": row.sku,
        "on_hand": row.on_hand,
        "reserved": row.reserved,
        "available": row.on_hand - row.reserved,
        "updated_at": row.updated_at,
    }
