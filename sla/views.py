"""The supervisors' live SLA view: attainment, tickets at risk now, escalation history."""

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from core import clock
from core.errors import ApiError
from sla.collaboration import lateness_minutes
from sla.escalation import LEVEL_LABELS, LEVELS
from sla.models import Collaboration, Department, Escalation, TicketSla
from sla.service import DONE_STATUSES, escalation_view
from tickets.models import Ticket, TicketEvent
from tickets.states import STATES

GROUPS = ("region", "technician", "department", "period")
PERIODS = ("day", "week", "month")
REPORT_TZ = ZoneInfo("Asia/Shanghai")
# Tickets whose resolution clock still runs (listed, so the status index finds them).
OPEN_STATUSES = [s for s in STATES if s not in DONE_STATUSES and s != "cancelled"]


def _period_key(day: str, period: str) -> str:
    local = date.fromisoformat(day)
    if period == "week":
        local -= timedelta(days=local.weekday())
        return f"{local.isoformat()}/week"
    if period == "month":
        return local.strftime("%Y-%m")
    return local.isoformat()


def _rate(met: int, missed: int) -> float | None:
    return round(met / (met + missed), 4) if met + missed else None


def _tally() -> dict[str, int]:
    return {"met": 0, "missed": 0, "pending": 0}


def attainment(
    db: Session,
    *,
    group_by: str,
    period: str = "day",
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Share of decided clocks that were met, per group, for tickets started in [start, end).

    A clock is decided once it was met or its deadline passed; running or paused clocks are
    counted as pending and left out of the rate. Departments are measured on the
    collaboration requests they owed (answered by the due time or not).
    """
    if group_by not in GROUPS:
        raise ApiError(422, "invalid_group", f"group_by must be one of {list(GROUPS)}.")
    if period not in PERIODS:
        raise ApiError(422, "invalid_period", f"period must be one of {list(PERIODS)}.")
    now = clock.now()
    if group_by == "department":
        return _department_attainment(db, start=start, end=end, now=now)
    day = _local_day(db, TicketSla.started_at)
    key = day if group_by == "period" else getattr(TicketSla, group_by)
    resolved = (
        select(TicketEvent.ticket_id, func.max(TicketEvent.at).label("at"))
        .where(TicketEvent.to_status == "resolved")
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )
    # A resolution counts while the ticket is still resolved or closed (not reopened).
    resolved_at = case((Ticket.status.in_(DONE_STATUSES), resolved.c.at), else_=None)
    stmt = (
        select(
            key,
            func.count(),
            *_buckets(TicketSla.responded_at, TicketSla.response_deadline_at, now),
            *_buckets(resolved_at, TicketSla.resolution_deadline_at, now),
        )
        .join(Ticket, Ticket.id == TicketSla.ticket_id)
        .outerjoin(resolved, resolved.c.ticket_id == TicketSla.ticket_id)
        .where(Ticket.status != "cancelled")
        .group_by(key)
    )
    if start is not None:
        stmt = stmt.where(TicketSla.started_at >= start)
    if end is not None:
        stmt = stmt.where(TicketSla.started_at < end)
    groups: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"tickets": 0, "response": _tally(), "resolution": _tally()}
    )
    total: dict[str, Any] = {"tickets": 0, "response": _tally(), "resolution": _tally()}
    for value, count, r_met, r_missed, s_met, s_missed in db.execute(stmt):
        name = _period_key(value, period) if group_by == "period" else value or "(none)"
        for tally in (groups[name], total):
            tally["tickets"] += count
            for kind, met, missed in (
                ("response", r_met, r_missed),
                ("resolution", s_met, s_missed),
            ):
                tally[kind]["met"] += met or 0
                tally[kind]["missed"] += missed or 0
                tally[kind]["pending"] += count - (met or 0) - (missed or 0)

    def finish(tally: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v if k == "tickets" else {**v, "rate": _rate(v["met"], v["missed"])}
            for k, v in tally.items()
        }

    return {
        "group_by": group_by,
        "period": period if group_by == "period" else None,
        "from": start,
        "to": end,
        "as_of": now,
        "rows": [{"key": name, **finish(groups[name])} for name in sorted(groups)],
        "total": finish(total),
    }


def _local_day(db: Session, col: Any) -> Any:
    """The report-timezone date of a stored UTC instant, as YYYY-MM-DD, in SQL."""
    if db.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(REPORT_TZ.key, col), "YYYY-MM-DD")
    # SQLite keeps UTC text; Asia/Shanghai has no daylight saving, so +8 h is exact.
    return func.strftime("%Y-%m-%d", col, "+8 hours")


def _buckets(done: Any, deadline: Any, now: datetime) -> tuple[Any, Any]:
    """SUMs of clocks met and missed (the rest are pending: running or paused)."""
    met = and_(done.is_not(None), or_(deadline.is_(None), done <= deadline))
    missed = or_(
        and_(done.is_not(None), deadline.is_not(None), done > deadline),
        and_(done.is_(None), deadline.is_not(None), deadline < now),
    )
    return func.sum(case((met, 1), else_=0)), func.sum(case((missed, 1), else_=0))


def _department_attainment(
    db: Session, *, start: datetime | None, end: datetime | None, now: datetime
) -> dict[str, Any]:
    stmt = select(Collaboration, Department.name).join(Department)
    if start is not None:
        stmt = stmt.where(Collaboration.raised_at >= start)
    if end is not None:
        stmt = stmt.where(Collaboration.raised_at < end)
    rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"requests": 0, "on_time": 0, "late": 0, "open": 0, "late_minutes": 0.0}
    )
    for collab, name in db.execute(stmt):
        row = rows[name]
        row["requests"] += 1
        late = lateness_minutes(collab, now)
        if collab.status == "open" and not late:
            row["open"] += 1
        elif late:
            row["late"] += 1
            row["late_minutes"] = round(row["late_minutes"] + late, 1)
        else:
            row["on_time"] += 1
    return {
        "group_by": "department",
        "period": None,
        "from": start,
        "to": end,
        "as_of": now,
        "rows": [
            {"key": name, **r, "rate": _rate(r["on_time"], r["late"])}
            for name, r in sorted(rows.items())
        ],
    }


def level_at(deadline_at: datetime, now: datetime) -> str:
    """at_risk (deadline ahead), breached (past, before yellow), or the escalation level."""
    if now <= deadline_at:
        return "at_risk"
    level = "breached"
    for name, offset in LEVELS.items():
        if now >= deadline_at + offset:
            level = name
    return level


def at_risk(
    db: Session, *, within_minutes: int = 30, region: str | None = None, limit: int = 200
) -> dict[str, Any]:
    """Open clocks whose deadline is within `within_minutes` or already past, most urgent
    first, each with the level it stands at now.

    One query per clock kind reads only the columns shown (at 100,000 tickets several thousand
    clocks are overdue; loading them as full rows took seconds). Resolution clocks are found
    from the open tickets (status index), response clocks from the unanswered ones."""
    now = clock.now()
    horizon = now + timedelta(minutes=within_minutes)
    shown = (
        Ticket.id,
        Ticket.number,
        Ticket.region,
        Ticket.product_type,
        Ticket.status,
        TicketSla.technician,
    )
    items = []
    for kind, done, statuses in (
        ("response", TicketSla.responded_at, [s for s in STATES if s != "cancelled"]),
        ("resolution", TicketSla.resolved_at, OPEN_STATUSES),
    ):
        deadline = getattr(TicketSla, f"{kind}_deadline_at")
        stmt = (
            select(deadline, *shown)
            .join(Ticket, Ticket.id == TicketSla.ticket_id)
            .where(
                Ticket.status.in_(statuses),
                done.is_(None),
                deadline.is_not(None),
                deadline <= horizon,
            )
        )
        if region is not None:
            stmt = stmt.where(TicketSla.region == region)
        for due, ticket_id, number, ticket_region, product, status, technician in db.execute(stmt):
            items.append(
                {
                    "ticket_id": ticket_id,
                    "number": number,
                    "region": ticket_region,
                    "product_type": product,
                    "status": status,
                    "technician": technician,
                    "clock": kind,
                    "deadline_at": due,
                    "minutes_left": round((due - now).total_seconds() / 60, 1),
                    "level": level_at(due, now),
                }
            )
    items.sort(key=lambda i: i["deadline_at"])
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item["level"]] += 1
    return {"as_of": now, "count": len(items), "by_level": dict(counts), "items": items[:limit]}


def escalations(
    db: Session,
    *,
    ticket_id: int | None = None,
    level: str | None = None,
    region: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Every escalation that fired, newest first, with how late each fired."""
    if level is not None and level not in LEVEL_LABELS:
        raise ApiError(422, "invalid_level", f"level must be one of {list(LEVEL_LABELS)}.")
    conds = []
    for col, value in (
        (Escalation.ticket_id, ticket_id),
        (Escalation.level, level),
        (Escalation.region, region),
    ):
        if value is not None:
            conds.append(col == value)
    if start is not None:
        conds.append(Escalation.fired_at >= start)
    if end is not None:
        conds.append(Escalation.fired_at < end)
    total = db.scalar(select(func.count()).select_from(Escalation).where(*conds))
    rows = db.scalars(
        select(Escalation)
        .where(*conds)
        .order_by(Escalation.fired_at.desc(), Escalation.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return {"total": total, "items": [escalation_view(e) for e in rows]}
