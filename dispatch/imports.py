"""CSV import of the dispatch registries (technicians, devices, warehouses, SKUs, stock).

All-or-nothing: every row is checked first; if any row is bad, the report names the rows and
problems and nothing is written. Lists are written `a|b|c`; shifts as `08:00-20:00` (daily) or
`1-5@08:00-18:00` (ISO weekdays), several joined by `|`.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from core import control_chars
from core.errors import ApiError
from dispatch import inventory, technicians
from dispatch.models import Technician

KINDS = ("technicians", "devices", "warehouses", "skus", "stock")


@dataclass
class ImportReport:
    """What an import did, or which rows stopped it."""

    rows: int = 0
    written: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return not self.errors


def _list(value: str | None) -> list[str]:
    return [x.strip() for x in (value or "").split("|") if x.strip()]


def _float(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise ApiError(422, "invalid_number", f"{value!r} is not a number") from exc


def _int(value: str | None, default: int | None = None) -> int | None:
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(422, "invalid_number", f"{value!r} is not a whole number") from exc


def parse_shifts(text: str | None) -> list[dict[str, Any]]:
    """`1-5@08:00-18:00|6-7@10:00-16:00` → shift dicts."""
    out = []
    for item in _list(text):
        days = None
        if "@" in item:
            span, item = item.split("@", 1)
            lo, _, hi = span.partition("-")
            days = list(range(int(lo), int(hi or lo) + 1))
        start, _, end = item.partition("-")
        out.append({"start": start.strip(), "end": end.strip(), **({"days": days} if days else {})})
    return out


def _technician(db: Session, row: dict[str, str], actor: str) -> None:
    values: dict[str, Any] = {
        "name": row.get("name"),
        "phone": row.get("phone") or None,
        "home_lat": _float(row.get("home_lat")),
        "home_lon": _float(row.get("home_lon")),
        "skills": _list(row.get("skills")),
        "level": _int(row.get("level"), 3),
        "shifts": parse_shifts(row.get("shifts")),
        "regions": _list(row.get("regions")),
        "webhook_url": row.get("webhook_url") or None,
    }
    tech_id = _int(row.get("id"))
    if tech_id is not None and db.get(Technician, tech_id) is not None:
        technicians.update(db, tech_id, values)
    else:
        technicians.create(db, values)


def _device(db: Session, row: dict[str, str], actor: str) -> None:
    values = {
        "model": row.get("model"),
        "product_type": row.get("product_type") or None,
        "firmware": row.get("firmware") or None,
        "compatible_skus": _list(row.get("compatible_skus")),
        "address": row.get("address") or None,
        "lat": _float(row.get("lat")),
        "lon": _float(row.get("lon")),
        "region": row.get("region") or None,
        "installed_at": row.get("installed_at") or None,
    }
    inventory.register_device(db, row.get("hardware_id") or "", values, actor)


def _warehouse(db: Session, row: dict[str, str], actor: str) -> None:
    values = {
        "name": row.get("name"),
        "address": row.get("address") or None,
        "lat": _float(row.get("lat")),
        "lon": _float(row.get("lon")),
        "region": row.get("region") or None,
    }
    inventory.upsert_warehouse(db, row.get("id") or "", values)


def _sku(db: Session, row: dict[str, str], actor: str) -> None:
    values = {
        "part": row.get("part") or None,
        "name": row.get("name") or None,
        "models": _list(row.get("models")),
        "firmware": _list(row.get("firmware")),
    }
    inventory.upsert_sku(db, row.get("sku") or "", values)


def _stock(db: Session, row: dict[str, str], actor: str) -> None:
    on_hand = _int(row.get("on_hand"))
    if on_hand is None:
        raise ApiError(422, "invalid_number", "on_hand is required")
    inventory.set_stock(db, row.get("warehouse_id") or "", row.get("sku") or "", on_hand)


ROW_WRITERS: dict[str, Callable[[Session, dict[str, str], str], None]] = {
    "technicians": _technician,
    "devices": _device,
    "warehouses": _warehouse,
    "skus": _sku,
    "stock": _stock,
}


def import_csv(
    db: Session, kind: str, source: bytes | BinaryIO, actor: str, *, max_rows: int | None = None
) -> ImportReport:
    """Import CSV rows of one registry; on any bad row nothing is written (report.errors).

    The CSV is read as a stream, one row at a time; over max_rows data rows it is a 413 and
    nothing is written (a registry that large goes in several files, or through the CLI)."""
    if kind not in ROW_WRITERS:
        raise ApiError(422, "unknown_kind", f"kind must be one of {list(KINDS)}")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    report = ImportReport()
    try:
        # Leaving the savepoint by an exception rolls every row back.
        with db.begin_nested() as savepoint:
            _import_rows(db, ROW_WRITERS[kind], csv.DictReader(text), actor, report, max_rows)
            if report.errors:
                report.written = 0
                savepoint.rollback()
    except UnicodeDecodeError as exc:
        raise ApiError(422, "invalid_encoding", "CSV files must be UTF-8.") from exc
    except csv.Error as exc:
        raise ApiError(422, "invalid_csv", f"Row {report.rows + 1}: {exc}.") from exc
    finally:
        text.detach()
    return report


def _import_rows(
    db: Session,
    writer: Callable[[Session, dict[str, str], str], None],
    rows: Iterable[dict[str, str]],
    actor: str,
    report: ImportReport,
    max_rows: int | None,
) -> None:
    for n, row in enumerate(rows, start=2):
        report.rows += 1
        if max_rows is not None and report.rows > max_rows:
            raise ApiError(
                413,
                "too_many_rows",
                f"The CSV has more than {max_rows} rows (HOTLINE_REGISTRY_IMPORT_MAX_ROWS); "
                "split it into several files. Nothing was imported.",
            )
        try:
            with db.begin_nested():
                cells = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                control_chars.check(cells, place="column")
                writer(db, cells, actor)
            report.written += 1
        except ApiError as exc:
            report.errors.append({"row": n, "code": exc.code, "problem": exc.message})
        except (ValueError, TypeError) as exc:
            report.errors.append({"row": n, "code": "invalid_row", "problem": str(exc)})
