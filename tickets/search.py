"""Finding tickets at volume: one search box, filters, newest first, keyset paging.

The box understands what agents type: a ticket number (HL…, prefix, on the unique index), a
full phone number (indexed), the last digits of a phone, otherwise words matched in the
caller's text, name, address, device code and model. Paging walks (created_at, id) from a
cursor, so page 2,000 costs what page 1 does.

Cost at 100,000 tickets: indexed lookups and plain filters walk an index in date order and stop
after a page. A "contains" search cannot use a B-tree index. On PostgreSQL its LIKE/ILIKE use
pg_trgm GIN indexes. On SQLite it first reads the newest 2,000 rows (within the filters, after
the cursor): a common word fills a page there. Otherwise the longest word is looked up in an
FTS5 trigram table (words of one or two characters in its term list, every value being padded
so that they begin a trigram), the same LIKE conditions are applied to those rows only, and the
matches are sorted by date. Either way the results are what a scan would give. Without a word
the index can take (only LIKE wildcards, or letters with case outside ASCII in a short word)
that last step is one scan of the table. Only the unfiltered list is counted exactly; a search
says whether there is more than a page.
"""

import base64
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.orm import Session

from core.errors import ApiError
from core.settings import get_settings
from tickets.models import Ticket

PAGE = 50
_NUMBER = re.compile(r"^HL[\d-]*$", re.IGNORECASE)
_DIGITS = re.compile(r"^\+?[\d\s-]{4,}$")
# SQLite's text index (migration desk2): the FTS5 trigram table and its term list.
_FTS = table("search_tickets", column("rowid", Integer), column("search_tickets", String))
_TERMS = table(
    "search_tickets_terms", column("term", String), column("doc", Integer), column("col")
)


@dataclass
class Page:
    """One page of a search: the rows, the total (None where counting would cost a scan) and
    the cursor of the next page."""

    rows: list[Ticket]
    total: int | None
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


def indexed_ids(word: str, columns: list[Any]) -> Select[Any] | None:
    """SQLite: ids of the tickets whose columns may contain word, from the text index (a
    superset of the LIKE matches); None where the index cannot answer for word."""
    # LIKE wildcards: only a scan means the same; FTS5 cannot parse a NUL.
    if not word or any(ch in word for ch in "%_\x00"):
        return None
    names = [c.key for c in columns]
    if len(word) >= 3:
        phrase = word.replace('"', '""')
        match = f'{{{" ".join(names)}}} : "{phrase}"'
        return select(_FTS.c.rowid).where(_FTS.c.search_tickets.op("MATCH")(match))
    # The index folds case; a short word is looked up as a term prefix, so fold it the same
    # way (ASCII only: letters with case elsewhere are left to the scan).
    if not all(ch.isascii() or ch.lower() == ch.upper() for ch in word):
        return None
    low = word.lower()
    high = low[:-1] + chr(ord(low[-1]) + 1)
    return select(_TERMS.c.doc).where(
        _TERMS.c.term >= low, _TERMS.c.term < high, _TERMS.c.col.in_(names)
    )


def text_condition(
    q: str, *, like_ignores_case: bool = True, text_index: bool = False
) -> tuple[ColumnElement[bool], bool]:
    """What the search box means for q (number, phone, or words), and whether it is a scan.
    like_ignores_case: SQLite's LIKE already ignores ASCII case (ILIKE would lower() every
    description); elsewhere code columns are matched with ILIKE. text_index: narrow a
    "contains" search to the rows SQLite's text index finds for its longest word first."""
    q = q.strip()
    if _NUMBER.match(q):
        # A range, not LIKE: SQLite's LIKE ignores case and so never uses the unique index.
        prefix = q.upper()
        return and_(Ticket.number >= prefix, Ticket.number < prefix + "\x7f"), False
    words: list[tuple[str, list[Any]]] = []
    if _DIGITS.match(q):
        digits = re.sub(r"\D", "", q)
        if len(digits) >= 11:
            return or_(Ticket.phone == digits, Ticket.hardware_id == q), False
        cond = or_(
            Ticket.phone.like(f"%{digits}%"),
            Ticket.number.like(f"%{digits}"),
            Ticket.hardware_id.like(f"%{digits}%"),
        )
        words.append((digits, [Ticket.phone, Ticket.number, Ticket.hardware_id]))
    else:
        conds = []
        for word in q.split()[:5]:
            like = f"%{word}%"
            if word.isascii():  # a code, model or number: it may also be in the caller's words
                columns = [Ticket.description, Ticket.address, Ticket.hardware_id, Ticket.model]
                columns.append(Ticket.number)
                conds.append(
                    or_(*(c.like(like) if like_ignores_case else c.ilike(like) for c in columns))
                )
            else:  # Chinese: what the caller said, who they are, where
                columns = [Ticket.description, Ticket.customer_name, Ticket.address]
                conds.append(or_(*(c.like(like) for c in columns)))
            words.append((word, columns))
        cond = and_(*conds)
    if text_index:
        # The longest word is likely the rarest; one lookup narrows the rows enough.
        for word, columns in sorted(words, key=lambda w: -len(w[0])):
            ids = indexed_ids(word, columns)
            if ids is not None:
                return and_(Ticket.id.in_(ids), cond), True
    return cond, True


def conditions(
    f: Filters, *, like_ignores_case: bool = True, text_index: bool = False
) -> tuple[list[ColumnElement[bool]], bool]:
    """The WHERE clauses of filters, and whether the text part needs a table scan."""
    conds: list[ColumnElement[bool]] = []
    scan = False
    if f.q and f.q.strip():
        cond, scan = text_condition(f.q, like_ignores_case=like_ignores_case, text_index=text_index)
        conds.append(cond)
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
    return conds, scan


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


def _after(created: Any, ident: Any, cursor: tuple[datetime, int] | None) -> list[Any]:
    """The keyset condition: rows after the cursor in (created_at, id) descending order."""
    if cursor is None:
        return []
    at, last = cursor
    return [or_(created < at, and_(created == at, ident < last))]


# Rows read newest first before a "contains" search turns to the text index: a word in many
# tickets (a surname, a product) fills a page from the newest rows, while the index would hand
# over all of them to be sorted by date.
PROBE_ROWS = 2000


def _common_words_page(
    db: Session,
    filters: Filters,
    extra: list[ColumnElement[bool]],
    cursor: tuple[datetime, int] | None,
    limit: int,
) -> list[int]:
    """SQLite: the first limit + 1 matches among the newest PROBE_ROWS rows (after the cursor,
    within the other filters). Only when there are that many are they the page, since every
    newer row was read; otherwise the caller asks the text index."""
    others, _ = conditions(replace(filters, q=None))
    text, _ = text_condition(filters.q or "")
    window = (
        select(Ticket.id)
        .where(*others, *extra, *_after(Ticket.created_at, Ticket.id, cursor))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(PROBE_ROWS)
    )
    # The window alone drives the rows: other filters here would let SQLite walk them instead.
    page = select(Ticket.id).where(Ticket.id.in_(window), text)
    newest = [literal_column("+tickets.created_at").desc(), Ticket.id.desc()]
    return list(db.scalars(page.order_by(*newest).limit(limit + 1)))


def _matches_page(
    db: Session,
    conds: list[ColumnElement[bool]],
    cursor: tuple[datetime, int] | None,
    limit: int,
) -> list[int]:
    """SQLite: the page from every match (through the text index where the words allow),
    collected first and then sorted. Materialised, so that SQLite cannot walk the date or
    status index past the cursor instead and read the rows one by one."""
    hits = (
        select(Ticket.id, Ticket.created_at).where(*conds).cte("hits").prefix_with("MATERIALIZED")
    )
    page = select(hits.c.id).where(*_after(hits.c.created_at, hits.c.id, cursor))
    newest = [hits.c.created_at.desc(), hits.c.id.desc()]
    return list(db.scalars(page.order_by(*newest).limit(limit + 1)))


def search(
    *,
    db: Session,
    filters: Filters,
    extra: list[ColumnElement[bool]] | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """Tickets matching filters (and extra clauses, e.g. an import batch), newest first."""
    limit = limit or PAGE
    sqlite = db.get_bind().dialect.name == "sqlite"
    conds, scan = conditions(filters, like_ignores_case=sqlite, text_index=sqlite)
    conds += list(extra or [])
    after: tuple[datetime, int] | None = decode_cursor(cursor) if cursor else None
    if scan:
        # Sort only ids in the scan, then load the page's rows (not every matching row's JSON).
        if sqlite:
            ids = _common_words_page(db, filters, extra or [], after, limit)
            if len(ids) <= limit:
                ids = _matches_page(db, conds, after, limit)
        else:
            page = select(Ticket.id).where(*conds, *_after(Ticket.created_at, Ticket.id, after))
            newest = page.order_by(Ticket.created_at.desc(), Ticket.id.desc())
            ids = list(db.scalars(newest.limit(limit + 1)))
        found = {t.id: t for t in db.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
        rows = [found[i] for i in ids]
    else:
        stmt = select(Ticket).where(*conds, *_after(Ticket.created_at, Ticket.id, after))
        rows = list(
            db.scalars(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit + 1))
        )
    more = len(rows) > limit
    rows = rows[:limit]
    total = None
    if not conds:
        total = db.scalar(select(func.count()).select_from(Ticket)) or 0
    elif not more and not cursor:
        total = len(rows)
    return Page(
        rows=rows,
        total=total,
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

    q = text("q")
    if q and "\x00" in q:  # PostgreSQL refuses it in any text; SQLite's LIKE stops at it
        raise ApiError(422, "invalid_query", "The search text must not contain NUL characters.")
    status = text("status")
    no_match = text("no_match")
    return Filters(
        q=q,
        status=[s for s in status.split(",") if s] if status else None,
        channel=text("channel"),
        product_type=text("product_type"),
        sla_class=text("sla_class"),
        no_match=None if no_match is None else no_match in ("1", "true", "yes", "on"),
        created_from=when("created_from"),
        created_to=when("created_to"),
    )
