"""Supervisor boards: charts (volume, SLA attainment, root causes), live SLA, dispatch."""

import itertools
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import func, literal_column, select, union_all
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from console import charts
from console.web import Viewer, posted_form, redirect, render, signed_in
from core import clock
from core.deps import DB
from core.errors import ApiError
from knowledge_base.models import KBEntry
from tickets.models import Ticket

router = APIRouter(prefix="/boards")
TOP_CAUSES = 6


def _day(value: Any) -> date:
    """SQLite returns date() as text, PostgreSQL as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def volume_by_day(db: Session, since: date, days: int) -> tuple[list[date], list[int]]:
    """Tickets per day over the window (days without tickets count 0), by the day the customer
    reported them: imported history counts on its original date, not the import day."""
    day = func.date(Ticket.reported_at)
    rows = db.execute(
        select(day, func.count())
        .where(Ticket.reported_at >= clock.now() - timedelta(days=days))
        .group_by(day)
    ).all()
    counts = {_day(d): n for d, n in rows}
    labels = [since + timedelta(days=i) for i in range(days)]
    return labels, [counts.get(d, 0) for d in labels]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, dt_time.min, UTC)


def _range_counts(
    db: Session, bounds: list[datetime | None], key: Any, *where: Any
) -> dict[tuple[int, Any], int]:
    """Tickets reported in each [bounds[i], bounds[i + 1]) (None: open) by key, as
    {(i, key value): count}: one statement of range counts, each read from an index on
    (key, reported_at). Each range gets its own two bounds only: a further lower bound on the
    column would make SQLite read every range from there."""
    parts = []
    for i, (low, high) in enumerate(itertools.pairwise(bounds)):
        conds = [*where]
        if low is not None:
            conds.append(Ticket.reported_at >= low)
        if high is not None:
            conds.append(Ticket.reported_at < high)
        parts.append(select(literal_column(str(i)), key, func.count()).where(*conds).group_by(key))
    return {(i, k): n for i, k, n in db.execute(union_all(*parts))}


def root_causes_by_week(db: Session, days: int) -> tuple[list[str], dict[str, list[float | None]]]:
    """Weekly ticket counts of the most frequent diagnosed KB entries over the window.

    Counted from the (kb_id, reported_at) index: totals per entry first, then range counts per
    week for the top entries only. Week w holds the days start + 7w … + 6 (UTC); the first week
    also takes the window's partial first day, the last one everything after."""
    now = clock.now()
    since = now - timedelta(days=days)
    totals: dict[str, int] = dict(
        db.execute(
            select(Ticket.kb_id, func.count())
            .where(Ticket.reported_at >= since, Ticket.kb_id.is_not(None))
            .group_by(Ticket.kb_id)
        ).all()
    )
    top = sorted(totals, key=lambda k: (-totals[k], k))[:TOP_CAUSES]
    start = now.date() - timedelta(days=days - 1)
    weeks = max(1, (days + 6) // 7)
    bounds = [since, *(_midnight(start + timedelta(days=7 * w)) for w in range(1, weeks)), None]
    counts = _range_counts(db, bounds, Ticket.kb_id, Ticket.kb_id.in_(top))
    titles = dict(db.execute(select(KBEntry.id, KBEntry.title).where(KBEntry.id.in_(top))).all())
    labels = [f"{start + timedelta(days=7 * w):%m-%d}" for w in range(weeks)]
    return labels, {
        f"{k} {titles.get(k, '')}": [float(counts.get((w, k), 0)) for w in range(weeks)]
        for k in top
    }


def status_counts(db: Session) -> dict[str, int]:
    """How many tickets are in each status."""
    return dict(db.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())


@router.get("")
def charts_page(
    request: Request,
    days: int = Query(default=30, ge=7, le=365),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Ticket volume, SLA attainment and top root causes over time; tickets by status."""
    since = clock.now().date() - timedelta(days=days - 1)
    day_labels, volume = volume_by_day(db, since, days)
    week_labels, causes = root_causes_by_week(db, days)
    return render(
        request,
        "boards.html",
        viewer,
        days=days,
        total=sum(volume),
        volume_svg=charts.bar_chart(
            [f"{d:%m-%d}" for d in day_labels], volume, title=f"近 {days} 天每日工单量"
        ),
        causes_svg=charts.line_chart(week_labels, causes, title="高频根因（每周工单数）"),
        attainment_svg=_sla_attainment_chart(db, days),
        statuses=status_counts(db),
    )


# Attainment is recomputed from every clock of the window (sla.views walks them in Python),
# so each chart is kept for a minute: a trend chart a minute old is as good as a fresh one.
ATTAINMENT_TTL_S = 60.0
_attainment_cache: dict[tuple[str, int], tuple[float, Markup]] = {}


def _sla_attainment_chart(db: Session, days: int) -> Markup:
    """Daily share of decided SLA clocks that were met (response and resolution)."""
    key = (str(db.get_bind().url), days)
    hit = _attainment_cache.get(key)
    if hit and time.monotonic() - hit[0] < ATTAINMENT_TTL_S:
        return hit[1]
    svg = _attainment_svg(db, days)
    _attainment_cache[key] = (time.monotonic(), svg)
    return svg


def _attainment_svg(db: Session, days: int) -> Markup:
    from sla import views as sla_views

    start = clock.now() - timedelta(days=days)
    report = sla_views.attainment(db, group_by="period", period="day", start=start)
    labels = [row["key"][5:] for row in report["rows"]]
    series = {
        label: [
            None if row[kind]["rate"] is None else round(row[kind]["rate"] * 100, 1)
            for row in report["rows"]
        ]
        for kind, label in (("response", "响应达成率 %"), ("resolution", "解决达成率 %"))
    }
    return charts.line_chart(labels, series, title="SLA 达成率（按天）", top=100, fmt="{:.0f}%")


@router.get("/sla")
def sla_board(
    request: Request,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The live SLA board: clocks due soon or late, by escalation level; attainment; and a
    warning while this year's (from 1 November, next year's) make-up days are unconfirmed."""
    from sla import holiday_watch
    from sla import views as sla_views

    escalations = sla_views.escalations(db, limit=20)["items"]
    ids = {e["ticket_id"] for e in escalations}
    return render(
        request,
        "board_sla.html",
        viewer,
        holiday_warnings=holiday_watch.warnings(db),
        live=sla_views.at_risk(db, within_minutes=60, limit=200),
        escalations=escalations,
        numbers=dict(db.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids))).all()),
        attainment_svg=_sla_attainment_chart(db, 30),
        levels=SLA_LEVELS,
    )


@router.get("/sla/live")
def sla_live(
    request: Request,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The live part of the SLA board alone (htmx refreshes it every few seconds)."""
    from sla import views as sla_views

    live = sla_views.at_risk(db, within_minutes=60, limit=200)
    return render(request, "_sla_live.html", viewer, live=live, levels=SLA_LEVELS)


SLA_LEVELS = {
    "at_risk": "即将到期",
    "breached": "已超时",
    "yellow": "黄色预警",
    "red": "红色预警",
    "black": "黑色升级",
}
OPEN_FOR_DISPATCH = ("triaged", "reviewed", "dispatched", "in_progress")
DISPATCH_PAGE = 200


def dispatch_snapshot(db: Session) -> dict[str, Any]:
    """Technicians (with today's load) and the newest open tickets with their technician."""
    from dispatch import technicians as techs
    from dispatch import views as dispatch_views
    from dispatch.models import ACTIVE_ASSIGNMENT, Assignment

    people = techs.list_all(db, active_only=True)
    loads = techs.loads_today(db)
    open_tickets = list(
        db.scalars(
            select(Ticket)
            .where(Ticket.status.in_(OPEN_FOR_DISPATCH))
            .order_by(Ticket.created_at.desc())
            .limit(DISPATCH_PAGE)
        )
    )
    ids = [t.id for t in open_tickets]
    holder = {
        a.ticket_id: a
        for a in db.scalars(
            select(Assignment)
            .where(Assignment.ticket_id.in_(ids), Assignment.status.in_(ACTIVE_ASSIGNMENT))
            .order_by(Assignment.id)
        )
    }
    pending = {p["ticket_id"]: p for p in dispatch_views.pending_queue(db)}
    names = {t.id: t.name for t in people}
    points = [
        {"lat": t.lat, "lon": t.lon, "kind": "technician", "label": f"技术员 {t.name}"}
        for t in people
    ] + [
        {
            "lat": t.latitude,
            "lon": t.longitude,
            "kind": "ticket" if t.id in holder else "ticket_open",
            "label": f"{t.number} {t.product_type or ''}",
            "href": f"#t{t.id}",
        }
        for t in open_tickets
    ]
    return {
        "technicians": [(t, loads.get(t.id, 0)) for t in people],
        "tickets": [
            {
                "t": t,
                "assignment": holder.get(t.id),
                "holder": names.get(holder[t.id].technician_id) if t.id in holder else None,
                "pending": pending.get(t.id),
            }
            for t in open_tickets
        ],
        "map": charts.scatter_map(points, title="技术员与工单分布"),
    }


@router.get("/dispatch")
def dispatch_board(
    request: Request,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Technicians and open tickets on a map and in a list; reassign with a reason."""
    return render(request, "board_dispatch.html", viewer, **dispatch_snapshot(db))


@router.post("/dispatch/{ticket_id}/reassign")
def reassign(
    ticket_id: int,
    request: Request,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """A supervisor's override: the ticket goes to the chosen technician, reason recorded."""
    from dispatch import offers

    tech = str(form.get("technician_id", ""))
    if not tech.isdigit():
        raise ApiError(422, "technician_required", "请选择要改派的技术员。")
    reason = str(form.get("reason", "")).strip()
    if not reason:
        raise ApiError(422, "reason_required", "改派必须填写原因。")
    offers.reassign(
        db, ticket_id=ticket_id, technician_id=int(tech), reason=reason, actor=viewer.actor
    )
    return redirect(f"/boards/dispatch?reassigned={ticket_id}#t{ticket_id}")
