"""Parts binding: pick the SKU that fits the device, reserve it at the nearest warehouse that has
it, move it to the technician, release or consume it.

Stock is changed only by conditional UPDATEs (`reserved = reserved + q WHERE on_hand - reserved
>= q`): on PostgreSQL a concurrent UPDATE of the same row waits for the first to commit and then
re-checks the condition on the new values, so stock can never be oversold however many requests
race; on SQLite writers are serialised. A CHECK constraint on the table backs this up.
"""

from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import clock, events
from core.errors import ApiError, not_found
from dispatch.events import TransferArrived, TransferCreated
from dispatch.geofence import haversine_km
from dispatch.models import Device, PartSku, Reservation, Stock, TransferOrder, Warehouse

LIVE_TRANSFER = ("created", "shipped")
TRANSFER_MOVES = {
    "created": {"shipped", "arrived", "cancelled"},
    "shipped": {"arrived", "cancelled"},
    "arrived": set(),
    "cancelled": set(),
}


@dataclass
class SkuChoice:
    """The SKU chosen for a KB part code, or None and why not."""

    part: str
    sku: str | None
    why: str


def _norm(value: str | None) -> str:
    return (value or "").strip().upper()


def catalogue(db: Session, parts: set[str]) -> dict[str, list[PartSku]]:
    """The catalogue rows of each KB part code (by part or by SKU), in one query."""
    wanted = {_norm(p) for p in parts}
    rows = db.scalars(
        select(PartSku)
        .where(PartSku.part.in_(wanted) | PartSku.sku.in_(wanted))
        .order_by(PartSku.sku)
    )
    out: dict[str, list[PartSku]] = {p: [] for p in wanted}
    for row in rows:
        for key in {row.part, row.sku} & wanted:
            out[key].append(row)
    return out


def choose_sku(
    db: Session,
    part: str,
    *,
    model: str | None,
    firmware: str | None,
    device: Device | None,
    known: dict[str, list[PartSku]] | None = None,
) -> SkuChoice:
    """The SKU of `part` that fits this device's model and firmware (the v3.2 board is not the
    v3.1 one). The device registry's compatible SKUs, when listed, are authoritative. `known`:
    the part's catalogue rows, already read (`catalogue`)."""
    part = _norm(part)
    if device is not None:
        model, firmware = device.model or model, device.firmware or firmware
    allowed = (
        {_norm(s) for s in device.compatible_skus} if device and device.compatible_skus else None
    )
    rows = (known or catalogue(db, {part}))[part]
    if not rows:
        if allowed is not None and part not in allowed:
            return SkuChoice(part, None, f"device {device.hardware_id} does not list {part}")
        return SkuChoice(part, part, "the KB names the SKU itself")
    fits = []
    for row in rows:
        if allowed is not None and row.sku not in allowed:
            continue
        if row.models and _norm(model) not in {_norm(m) for m in row.models}:
            continue
        if row.firmware and not (firmware and any(fnmatch(firmware, p) for p in row.firmware)):
            continue
        fits.append(row)
    if not fits:
        return SkuChoice(
            part,
            None,
            f"no SKU of {part} fits model {model or '?'} firmware {firmware or '?'}"
            + (f" (device lists {sorted(allowed)})" if allowed is not None else ""),
        )
    # Prefer the most specific SKU: one made for this model and firmware over a generic one.
    best = max(fits, key=lambda r: (bool(r.firmware), bool(r.models)))
    return SkuChoice(part, best.sku, f"fits model {model or '?'} firmware {firmware or '?'}")


def held(db: Session, ticket_id: int) -> list[Reservation]:
    """The ticket's reservations that still hold stock."""
    stmt = select(Reservation).where(
        Reservation.ticket_id == ticket_id, Reservation.status == "held"
    )
    return list(db.scalars(stmt.order_by(Reservation.id)))


def held_by_ticket(db: Session, ticket_ids: list[int]) -> dict[int, list[Reservation]]:
    """`held` for several tickets in one query."""
    out: dict[int, list[Reservation]] = {t: [] for t in ticket_ids}
    stmt = select(Reservation).where(
        Reservation.ticket_id.in_(ticket_ids), Reservation.status == "held"
    )
    for row in db.scalars(stmt.order_by(Reservation.id)):
        out[row.ticket_id].append(row)
    return out


def reserve(
    db: Session,
    *,
    ticket_id: int,
    sku: str,
    qty: int = 1,
    actor: str,
    near: tuple[float, float] | None = None,
    part: str | None = None,
    warehouse_id: str | None = None,
) -> Reservation:
    """Hold qty units of sku for the ticket at the nearest warehouse (to `near`) that has them.

    Idempotent per ticket and SKU: a held reservation is returned as is.
    """
    sku = _norm(sku)
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
        raise ApiError(422, "invalid_qty", "qty must be a whole number ≥ 1")
    if warehouse_id is not None and db.get(Warehouse, warehouse_id) is None:
        raise not_found("warehouse", warehouse_id)
    existing = _held_one(db, ticket_id, sku)
    if existing is not None:
        return existing
    stmt = (
        select(Stock, Warehouse)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
        .where(Stock.sku == sku, Stock.on_hand - Stock.reserved >= qty, Warehouse.active.is_(True))
    )
    if warehouse_id is not None:
        stmt = stmt.where(Stock.warehouse_id == warehouse_id)
    options = list(db.execute(stmt))
    if near is not None:
        options.sort(key=lambda sw: haversine_km(near[0], near[1], sw[1].lat, sw[1].lon))
    else:
        options.sort(key=lambda sw: -(sw[0].on_hand - sw[0].reserved))
    for stock, _wh in options:
        try:
            with db.begin_nested():
                taken = db.execute(
                    update(Stock)
                    .where(Stock.id == stock.id, Stock.on_hand - Stock.reserved >= qty)
                    .values(reserved=Stock.reserved + qty, updated_at=clock.now())
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount != 1:
                    continue  # someone else took the last units here; try the next warehouse
                row = Reservation(
                    ticket_id=ticket_id,
                    part=part,
                    sku=sku,
                    warehouse_id=stock.warehouse_id,
                    qty=qty,
                    status="held",
                    active=True,
                    created_at=clock.now(),
                    actor=actor,
                )
                db.add(row)
                db.flush()
        except IntegrityError:
            # A concurrent request of the same ticket reserved this SKU first; ours rolled back.
            again = _held_one(db, ticket_id, sku)
            if again is not None:
                return again
            raise
        return row
    raise _out_of_stock(sku, qty, warehouse_id)


def _out_of_stock(sku: str, qty: int, warehouse_id: str | None = None) -> ApiError:
    where = f" at {warehouse_id}" if warehouse_id else ""
    return ApiError(409, "out_of_stock", f"No free unit of {sku}{where} (needed {qty}).")


def _held_one(db: Session, ticket_id: int, sku: str) -> Reservation | None:
    return db.scalar(
        select(Reservation).where(
            Reservation.ticket_id == ticket_id, Reservation.sku == sku, Reservation.active.is_(True)
        )
    )


def get_reservation(db: Session, reservation_id: int) -> Reservation:
    """A reservation by id, or a 404."""
    row = db.get(Reservation, reservation_id)
    if row is None:
        raise not_found("reservation", reservation_id)
    return row


def _close(db: Session, row: Reservation, to: str, actor: str, reason: str | None) -> Reservation:
    """held → released|consumed, exactly once even under concurrent calls."""
    closed = db.execute(
        update(Reservation)
        .where(Reservation.id == row.id, Reservation.status == "held")
        .values(status=to, active=None, closed_at=clock.now(), reason=f"{reason} ({actor})")
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:
        db.refresh(row)
        raise ApiError(409, "reservation_closed", f"Reservation {row.id} is already {row.status}.")
    used = row.qty if to == "consumed" else 0
    db.execute(
        update(Stock)
        .where(Stock.warehouse_id == row.warehouse_id, Stock.sku == row.sku)
        .values(
            reserved=Stock.reserved - row.qty, on_hand=Stock.on_hand - used, updated_at=clock.now()
        )
        .execution_options(synchronize_session=False)
    )
    for order in _live_transfers(db, row.id):
        if to == "released":
            _move(db, order, "cancelled")
    db.refresh(row)
    return row


def release(db: Session, row: Reservation, *, actor: str, reason: str | None) -> Reservation:
    """Give the units back (ticket cancelled, or the part was not used)."""
    return _close(db, row, "released", actor, reason or "released")


def consume(db: Session, row: Reservation, *, actor: str) -> Reservation:
    """The part was fitted: the units leave the stock."""
    return _close(db, row, "consumed", actor, "used on site")


def release_ticket(db: Session, ticket_id: int, *, actor: str, reason: str) -> int:
    """Release everything a ticket holds; returns how many reservations were released."""
    n = 0
    for row in held(db, ticket_id):
        try:
            release(db, row, actor=actor, reason=reason)
            n += 1
        except ApiError:
            continue  # released concurrently: nothing left to do
    return n


@dataclass
class BindJob:
    """The parts one ticket needs, and what chooses and places them."""

    ticket_id: int
    parts: list[str]
    model: str | None
    firmware: str | None
    device: Device | None
    near: tuple[float, float] | None


def bind_parts(db: Session, job: BindJob, *, actor: str) -> list[dict[str, Any]]:
    """Choose and reserve a SKU for every part the diagnosis needs; report what happened to each."""
    return bind_parts_many(db, [job], actor=actor)[job.ticket_id]


def bind_parts_many(
    db: Session, jobs: list[BindJob], *, actor: str
) -> dict[int, list[dict[str, Any]]]:
    """`bind_parts` for several tickets (a dispatched pool): the catalogue, the SKUs with free
    units and the tickets' holdings are read once, so a part out of stock everywhere costs no
    query per ticket; every other part goes through `reserve` as usual."""
    known = catalogue(db, {p for j in jobs for p in j.parts})
    choices = {
        (j.ticket_id, p): choose_sku(
            db, p, model=j.model, firmware=j.firmware, device=j.device, known=known
        )
        for j in jobs
        for p in j.parts
    }
    skus = {c.sku for c in choices.values() if c.sku}
    free = set(
        db.scalars(
            select(Stock.sku)
            .join(Warehouse, Warehouse.id == Stock.warehouse_id)
            .where(Stock.sku.in_(skus), Stock.on_hand - Stock.reserved >= 1)
            .where(Warehouse.active.is_(True))
        )
    )
    holding = set(
        db.execute(
            select(Reservation.ticket_id, Reservation.sku).where(
                Reservation.ticket_id.in_([j.ticket_id for j in jobs]),
                Reservation.active.is_(True),
            )
        ).tuples()
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for j in jobs:
        report = out[j.ticket_id] = []
        for part in j.parts:
            choice = choices[(j.ticket_id, part)]
            item: dict[str, Any] = {"part": choice.part, "sku": choice.sku, "why": choice.why}
            if choice.sku is None:
                item["status"] = "no_compatible_sku"
            elif choice.sku not in free and (j.ticket_id, choice.sku) not in holding:
                error = _out_of_stock(choice.sku, 1)
                item.update(status=error.code, problem=error.message)
            else:
                try:
                    row = reserve(
                        db,
                        ticket_id=j.ticket_id,
                        sku=choice.sku,
                        actor=actor,
                        near=j.near,
                        part=part,
                    )
                    item.update(
                        status="reserved", reservation_id=row.id, warehouse_id=row.warehouse_id
                    )
                except ApiError as exc:
                    item.update(status=exc.code, problem=exc.message)
            report.append(item)
    return out


def _live_transfers(db: Session, reservation_id: int) -> list[TransferOrder]:
    stmt = select(TransferOrder).where(
        TransferOrder.reservation_id == reservation_id, TransferOrder.status.in_(LIVE_TRANSFER)
    )
    return list(db.scalars(stmt))


def create_transfers(db: Session, *, ticket_id: int, technician_id: int) -> list[TransferOrder]:
    """A transfer order to the technician for every held reservation not already on its way."""
    now = clock.now()
    out = []
    for row in held(db, ticket_id):
        has = db.scalar(
            select(TransferOrder.id).where(
                TransferOrder.reservation_id == row.id,
                TransferOrder.to_technician_id == technician_id,
                TransferOrder.status != "cancelled",
            )
        )
        if has is not None:
            continue
        order = TransferOrder(
            reservation_id=row.id,
            ticket_id=ticket_id,
            sku=row.sku,
            qty=row.qty,
            from_warehouse_id=row.warehouse_id,
            to_technician_id=technician_id,
            status="created",
            created_at=now,
            updated_at=now,
        )
        db.add(order)
        db.flush()
        events.publish(TransferCreated(ticket_id=ticket_id, order=order), db=db)
        out.append(order)
    return out


def cancel_transfers(db: Session, ticket_id: int) -> None:
    """Stop the ticket's transfers that have not arrived (the technician changed)."""
    stmt = select(TransferOrder).where(
        TransferOrder.ticket_id == ticket_id, TransferOrder.status.in_(LIVE_TRANSFER)
    )
    for order in db.scalars(stmt):
        _move(db, order, "cancelled")


def get_transfer(db: Session, order_id: int) -> TransferOrder:
    """A transfer order by id, or a 404."""
    row = db.get(TransferOrder, order_id)
    if row is None:
        raise not_found("transfer order", order_id)
    return row


def _move(db: Session, order: TransferOrder, to: str) -> TransferOrder:
    if to not in TRANSFER_MOVES:
        raise ApiError(422, "unknown_status", f"status must be one of {sorted(TRANSFER_MOVES)}")
    if to not in TRANSFER_MOVES[order.status]:
        raise ApiError(
            409,
            "invalid_transition",
            f"Transfer order {order.id} is {order.status}; cannot be {to}.",
        )
    now = clock.now()
    order.status, order.updated_at = to, now
    if to == "arrived":
        order.arrived_at = now
    db.flush()
    if to == "arrived":
        events.publish(TransferArrived(ticket_id=order.ticket_id, order=order), db=db)
    return order


def move_transfer(db: Session, order_id: int, to: str) -> TransferOrder:
    """Mark a transfer order shipped, arrived (received by the technician) or cancelled."""
    return _move(db, get_transfer(db, order_id), to)


def transfers(
    db: Session, *, ticket_id: int | None = None, technician_id: int | None = None
) -> list[TransferOrder]:
    """Transfer orders, optionally of one ticket or technician."""
    stmt = select(TransferOrder).order_by(TransferOrder.id)
    if ticket_id is not None:
        stmt = stmt.where(TransferOrder.ticket_id == ticket_id)
    if technician_id is not None:
        stmt = stmt.where(TransferOrder.to_technician_id == technician_id)
    return list(db.scalars(stmt))


def reservation_view(row: Reservation) -> dict[str, Any]:
    """API representation of a reservation."""
    return {
        "id": row.id,
        "ticket_id": row.ticket_id,
        "part": row.part,
        "sku": row.sku,
        "warehouse_id": row.warehouse_id,
        "qty": row.qty,
        "status": row.status,
        "created_at": row.created_at,
        "closed_at": row.closed_at,
        "actor": row.actor,
        "reason": row.reason,
    }


def transfer_view(row: TransferOrder) -> dict[str, Any]:
    """API representation of a transfer order."""
    return {
        "id": row.id,
        "reservation_id": row.reservation_id,
        "ticket_id": row.ticket_id,
        "sku": row.sku,
        "qty": row.qty,
        "from_warehouse_id": row.from_warehouse_id,
        "to_technician_id": row.to_technician_id,
        "status": row.status,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "arrived_at": row.arrived_at,
    }
