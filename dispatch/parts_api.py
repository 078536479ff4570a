"""Parts-binding endpoints (mounted under /api/v1/dispatch): devices, SKUs, warehouses, stock,
reservations, transfer orders, CSV imports."""

import io

from fastapi import APIRouter, Depends, File, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import caller
from core.auth import Principal, Role
from core.deps import DB
from core.errors import GUARDED, ApiError, error_responses
from core.settings import get_settings
from dispatch import cards, imports, inventory, ownership, parts, requirements, schemas
from dispatch.models import PartSku, Reservation, Warehouse
from tickets.service import get_ticket

router = APIRouter(tags=["parts"], responses=error_responses(*GUARDED))


@router.post(
    "/devices",
    status_code=201,
    response_model=schemas.RegisteredDevice,
    responses=error_responses(409),
)
def register_device(
    body: schemas.DeviceIn, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Register (or update) a device by hardware ID: the scan at installation. A technician
    registers a new device or updates the device of a ticket they hold; every change of the
    address or coordinates is kept (`site_changes` of GET /devices/{hardware_id})."""
    if who.role is Role.technician and not ownership.owns_device(db, who, body.hardware_id):
        raise ApiError(
            403,
            "not_assigned",
            f"Device {body.hardware_id} is not on a ticket you hold: a technician updates only "
            "the devices of their own assignments.",
        )
    values = body.model_dump(exclude={"hardware_id"}, exclude_unset=True)
    device = inventory.register_device(db, body.hardware_id, values, who.actor)
    return inventory.device_view(device)


@router.get(
    "/devices/{hardware_id}",
    response_model=schemas.RegisteredDevice,
    responses=error_responses(404),
)
def get_device(hardware_id: str, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """A device and its repair history (earlier tickets and who handled them)."""
    device = inventory.get_device(db, hardware_id)
    history = cards.device_history(db, device.hardware_id, limit=50)
    site_changes = inventory.site_changes(db, device.hardware_id)
    return {**inventory.device_view(device), "history": history, "site_changes": site_changes}


@router.post("/skus", status_code=201, response_model=schemas.SkuOut)
def upsert_sku(body: schemas.SkuIn, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Create or update a SKU and what it fits (models, firmware patterns)."""
    row = inventory.upsert_sku(db, body.sku, body.model_dump(exclude={"sku"}, exclude_unset=True))
    return inventory.sku_view(row)


@router.get("/skus", response_model=schemas.SkuList)
def list_skus(part: str | None = None, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """The parts catalogue, optionally the SKUs of one KB part code."""
    stmt = select(PartSku).order_by(PartSku.sku)
    if part:
        stmt = stmt.where(PartSku.part == part.upper())
    return {"items": [inventory.sku_view(r) for r in db.scalars(stmt)]}


@router.post("/warehouses", status_code=201, response_model=schemas.WarehouseOut)
def upsert_warehouse(
    body: schemas.WarehouseIn, db: Session = DB, _: Principal = Depends(caller)
) -> dict:
    """Create or update a warehouse."""
    row = inventory.upsert_warehouse(db, body.id, body.model_dump(exclude={"id"}))
    return inventory.warehouse_view(row)


@router.get("/warehouses", response_model=schemas.WarehouseList)
def list_warehouses(db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Every warehouse."""
    rows = db.scalars(select(Warehouse).order_by(Warehouse.id))
    return {"items": [inventory.warehouse_view(r) for r in rows]}


@router.get(
    "/warehouses/{warehouse_id}",
    response_model=schemas.WarehouseOut,
    responses=error_responses(404),
)
def get_warehouse(warehouse_id: str, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """A warehouse and its stock."""
    row = inventory.get_warehouse(db, warehouse_id)
    stock = inventory.stock_rows(db, warehouse_id=warehouse_id)
    return {**inventory.warehouse_view(row), "stock": [inventory.stock_view(s) for s in stock]}


@router.get("/stock", response_model=schemas.StockList)
def list_stock(
    sku: str | None = None,
    warehouse_id: str | None = None,
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Stock rows (on hand, reserved, available), optionally of one SKU or warehouse."""
    rows = inventory.stock_rows(db, sku=sku, warehouse_id=warehouse_id)
    return {"items": [inventory.stock_view(r) for r in rows]}


@router.post("/stock", response_model=schemas.StockOut, responses=error_responses(404, 409))
def set_stock(body: schemas.StockSet, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Set a count (`on_hand`) or apply a receipt / write-off (`delta`)."""
    if (body.on_hand is None) == (body.delta is None):
        raise ApiError(422, "invalid_request", "Send exactly one of on_hand or delta.")
    if body.on_hand is not None:
        row = inventory.set_stock(db, body.warehouse_id, body.sku, body.on_hand)
    else:
        assert body.delta is not None
        row = inventory.adjust_stock(db, body.warehouse_id, body.sku, body.delta)
    return inventory.stock_view(row)


@router.post(
    "/reservations",
    status_code=201,
    response_model=schemas.ReservationOut,
    responses=error_responses(404, 409),
)
def reserve(
    body: schemas.ReservationIn, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Reserve units for a ticket at the nearest warehouse that has them (or the one named)."""
    ticket = get_ticket(db=db, ticket_id=body.ticket_id)
    if ticket.status in ("closed", "cancelled"):
        raise ApiError(409, "ticket_final", f"Ticket {ticket.number} is {ticket.status}.")
    if not inventory.known_sku(db, body.sku):
        raise ApiError(404, "not_found", f"No SKU {body.sku!r} in the catalogue or any stock.")
    site = requirements.requirement(db, ticket).site
    row = parts.reserve(
        db,
        ticket_id=ticket.id,
        sku=body.sku,
        qty=body.qty,
        actor=who.actor,
        near=site,
        warehouse_id=body.warehouse_id,
    )
    return parts.reservation_view(row)


@router.get("/reservations", response_model=schemas.ReservationList)
def list_reservations(
    ticket_id: int | None = None,
    status: str | None = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Reservations, optionally of one ticket or status (a technician: of the tickets they
    hold)."""
    stmt = select(Reservation).order_by(Reservation.id)
    if who.role is Role.technician:
        stmt = stmt.where(Reservation.ticket_id.in_(ownership.held_tickets(db, who)))
    if ticket_id is not None:
        stmt = stmt.where(Reservation.ticket_id == ticket_id)
    if status:
        stmt = stmt.where(Reservation.status == status)
    return {"items": [parts.reservation_view(r) for r in db.scalars(stmt.limit(1000))]}


@router.post(
    "/reservations/{reservation_id}/release",
    response_model=schemas.ReservationOut,
    responses=error_responses(404, 409),
)
def release(
    reservation_id: int,
    body: schemas.ReleaseIn | None = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """The part was not used: the units go back to stock."""
    row = parts.get_reservation(db, reservation_id)
    out = parts.release(db, row, actor=who.actor, reason=body.reason if body else None)
    return parts.reservation_view(out)


@router.post(
    "/reservations/{reservation_id}/consume",
    response_model=schemas.ReservationOut,
    responses=error_responses(404, 409),
)
def consume(reservation_id: int, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """The part was fitted: the units leave the stock."""
    row = parts.get_reservation(db, reservation_id)
    out = parts.consume(db, row, actor=who.actor)
    return parts.reservation_view(out)


@router.get("/transfers", response_model=schemas.TransferList)
def list_transfers(
    ticket_id: int | None = None,
    technician_id: int | None = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Transfer orders, optionally of one ticket or technician (a technician: those addressed
    to them)."""
    if who.role is Role.technician:
        own = ownership.own_technician_id(db, who)
        if own is None or technician_id not in (None, own):
            return {"items": []}
        technician_id = own
    rows = parts.transfers(db, ticket_id=ticket_id, technician_id=technician_id)
    return {"items": [parts.transfer_view(o) for o in rows]}


@router.post(
    "/transfers/{order_id}", response_model=schemas.TransferOut, responses=error_responses(404, 409)
)
def move_transfer(
    order_id: int,
    body: schemas.TransferMove,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Mark a transfer order shipped, arrived (the technician received it) or cancelled; a
    technician only marks their own order arrived."""
    if who.role is Role.technician and body.status != "arrived":
        raise ApiError(
            403,
            "not_allowed",
            "A technician only confirms receipt (status 'arrived'); the warehouse ships and "
            "a supervisor cancels.",
        )
    order = parts.move_transfer(db, order_id, body.status)
    return parts.transfer_view(order)


@router.post(
    "/import/{kind}", response_model=schemas.RegistryImport, responses=error_responses(404, 413)
)
def import_registry(
    kind: str,
    file: UploadFile = File(description="UTF-8 CSV with the registry's column names."),
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """CSV import of technicians, devices, warehouses, skus or stock (all rows or none); at
    most HOTLINE_REGISTRY_IMPORT_MAX_BYTES (2 MB) and _MAX_ROWS (10,000) rows, else 413."""
    # A plain handler (threadpool): rows are written as they are read, off the event loop.
    settings = get_settings()
    size = file.file.seek(0, io.SEEK_END)
    file.file.seek(0)
    if size > settings.registry_import_max_bytes:
        raise ApiError(
            413,
            "file_too_large",
            f"The CSV is over {settings.registry_import_max_bytes // (1024 * 1024)} MB "
            "(HOTLINE_REGISTRY_IMPORT_MAX_BYTES); split it into several files.",
        )
    report = imports.import_csv(
        db, kind, file.file, who.actor, max_rows=settings.registry_import_max_rows
    )
    if not report.ok:
        raise ApiError(
            422,
            "import_rejected",
            f"{len(report.errors)} bad row(s); nothing was imported.",
            {"errors": report.errors},
        )
    return {"kind": kind, "rows": report.rows, "written": report.written}
