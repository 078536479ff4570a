"""The admin's page for the read log of full phone numbers (core.phone_reads): who was shown
which ticket's customer's (or technician's) full number, when, through which page or API;
filtered by user and local date, newest first, a page at a time."""

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from console.web import Viewer, has_control, local_zone, render, signed_in
from core import phone_reads
from core.deps import DB

router = APIRouter(prefix="/audit")
PAGE = 50


def _day(text: str, what: str, problems: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"{what}“{text}”不是日期，请按 2026-12-05 的格式填写。")
        return None


def _start_of(day: date) -> datetime:
    """The instant a local day starts (the log is kept in UTC)."""
    return datetime.combine(day, time(), tzinfo=local_zone())


@router.get("/phone-reads")
def phone_reads_page(
    request: Request,
    actor: str = Query(default="", max_length=200),
    since: str = Query(default="", max_length=20),
    until: str = Query(default="", max_length=20),
    page: int = Query(default=1, ge=1, le=100_000),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Reads newest first, PAGE a page; `since`/`until` are local dates, both included."""
    problems: list[str] = []
    if has_control(actor, since, until):
        problems.append("筛选条件含有不可见的控制字符，请重新选择。")
        actor = since = until = ""
    first, last = _day(since, "起始日期", problems), _day(until, "结束日期", problems)
    if first and last and last < first:
        problems.append("结束日期早于起始日期。")
    rows = []
    if not problems:
        rows = phone_reads.listing(
            db,
            actor=actor or None,
            since=_start_of(first) if first else None,
            until=_start_of(last + timedelta(days=1)) if last else None,
            limit=PAGE + 1,
            offset=(page - 1) * PAGE,
        )
    return render(
        request,
        "audit.html",
        viewer,
        code=422 if problems else 200,
        admintab="audit",
        rows=rows[:PAGE],
        more=len(rows) > PAGE,
        page=page,
        actors=phone_reads.actors(db),
        typed={"actor": actor, "since": since, "until": until},
        problems=problems,
    )
