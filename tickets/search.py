"""Finding tickets at volume: one search box, filters, newest first, keyset paging.

The box understands what agents type: a ticket number (HL…, prefix), a phone number or its
last digits, otherwise words matched in the caller's text, name, address, device code and
model. Paging walks (created_at, id) from a cursor, so page 2,000 costs what page 1 does.
"""

import base64
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core.errors import ApiError
from core.settings import get_settings
from tickets.models import Ticket

PAGE = 50
# The total is counted exactly up to here, then shown as "more than" (counting every match of
# a broad text search at 100,000 tickets would cost more than the page itself).
COUNT_CAP = 10_000
_NUMBER = re.compile(r"^HL[\d-]*$", re.IGNORECASE)
_DIGITS = re.compile(r"^\+?[\d\s-]{4,}$")


@dataclass
class Page:
    """One page of a search: the rows, the (capped) total and the cursor of the next page."""

    rows: list[Ticket]
    total: int
    total_capped: bool
    next_cursor: str | None


@dataclass
class Filters:
    """Everything the list can be narrowed by (None = any)."""

    q: str | None = None
    status: list[str] | None = None
    channel: str | None = None
    product_type: str | None = None
    sla_class: str | None = None
    no_match: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def text_condition(q: str) -> ColumnElement[bool]:
    """What the search box means for q (number, phone, or words)."""
    q = q.strip()
    if _NUMBER.match(q):
        return Ticket.number.like(q.upper() + "%")
    if _DIGITS.match(q):
        digits = re.sub(r"\D", "", q)
        return or_(
            Ticket.phone.like(f"%{digits}%"),
            Ticket.number.like(f"%{digits}"),
            Ticket.hardware_id.like(f"%{digits}%"),
        )
    conds = []
    for word in q.split()[:5]:
        like = f"%{word}%"
        conds.append(
            or_(
                Ticket.description.ilike(like),
                Ticket.customer_name.ilike(like),
                Ticket.address.ilike(like),
                Ticket.hardware_id.ilike(like),
                Ticket.model.ilike(like),
                Ticket.number.ilike(like),
                Ticket.phone.ilike(like),
            )
        )
    return and_(*conds)


def conditions(f: Filters) -> list[ColumnElement[bool]]:
    """The WHERE clauses of filters."""
    conds: list[ColumnElement[bool]] = []
    if f.q and f.q.strip():
        conds.append(text_condition(f.q))
    if f.status:
        conds.append(Ticket.status.in_(f.status))
    for col, value in (
        (Ticket.channel, f.channel),
        (Ticket.product_type, f.product_type),
        (Ticket.sla_class, f.sla_class),
        (Ticket.no_match, f.no_match),
    ):
        if value is not None and value != "":
            conds.append(col == value)
    if f.created_from is not None:
        conds.append(Ticket.created_at >= f.created_from)
    if f.created_to is not None:
        conds.append(Ticket.created_at < f.created_to)
    return conds


def encode_cursor(ticket: Ticket) -> str:
    """An opaque cursor after ticket (newest-first order)."""
    raw = f"{ticket.created_at.isoformat()}|{ticket.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (created_at, id) a cursor points after; a 422 for a mangled one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, ident = raw.split("|")
        return datetime.fromisoformat(stamp), int(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalid_cursor", "The page cursor is not valid.") from exc


def search(
    *,
    db: Session,
    filters: Filters,
    extra: list[ColumnElement[bool]] | None = None,
    cursor: str | None = None,
    limit: int = PAGE,
) -> Page:
    """Tickets matching filters (and extra clauses, e.g. an import batch), newest first."""
    conds = conditions(filters) + list(extra or [])
    stmt = select(Ticket).where(*conds)
    if cursor:
        at, ident = decode_cursor(cursor)
        stmt = stmt.where(
            or_(Ticket.created_at < at, and_(Ticket.created_at == at, Ticket.id < ident))
        )
    rows = list(
        db.scalars(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    capped = select(Ticket.id).where(*conds).limit(COUNT_CAP + 1).subquery()
    total = db.scalar(select(func.count()).select_from(capped)) or 0
    return Page(
        rows=rows,
        total=min(total, COUNT_CAP),
        total_capped=total > COUNT_CAP,
        next_cursor=encode_cursor(rows[-1]) if more and rows else None,
    )


def filters_from(params: dict[str, Any]) -> Filters:
    """Filters from query parameters (console form or API), ignoring empty values."""
    local = ZoneInfo(get_settings().dispatch_timezone)

    def text(name: str) -> str | None:
        value = params.get(name)
        return str(value).strip() or None if value is not None else None

    def when(name: str) -> datetime | None:
        value = text(name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ApiError(422, "invalid_date", f"{name} must be a date (YYYY-MM-DD).") from exc
        # A bare date is a day where the agents are, not in UTC; "to" includes that day.
        if name == "created_to" and len(value) == 10:
            parsed += timedelta(days=1)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=local)

    status = text("status")
    no_match = text("no_match")
    return Filters(
        q=text("q"),
        status=[s for s in status.split(",") if s] if status else None,
        channel=text("channel"),
        product_type=text("product_type"),
        sla_class=text("sla_class"),
        no_match=None if no_match is None else no_match in ("1", "true", "yes", "on"),
        created_from=when("created_from"),
        created_to=when("created_to"),
    )
