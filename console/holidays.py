"""The admin's page for the State Council holiday notice of a year: each year's status, and a
form that takes the notice's rest days and make-up working days (调休上班) as text lines."""

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from console.web import Viewer, posted_form, redirect, render, signed_in
from core.deps import DB
from core.errors import ApiError
from sla.public_holidays import YearDays

router = APIRouter(prefix="/holidays")


def rest_lines(days: YearDays) -> str:
    """A year's rest days as `名称 起 止` lines (consecutive days of one name as one range)."""
    lines: list[list[Any]] = []
    for d, name in sorted(days.holidays.items()):
        if lines and lines[-1][0] == name and lines[-1][2] + timedelta(days=1) == d:
            lines[-1][2] = d
        else:
            lines.append([name, d, d])
    return "\n".join(f"{n} {a} {b}" for n, a, b in lines)


def workday_lines(days: YearDays) -> str:
    """A year's make-up working days as `日期 名称` lines."""
    return "\n".join(f"{d} {n}" for d, n in sorted(days.workdays.items()))


def _date(text: str, where: str, problems: list[str]) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"{where}：“{text}”不是日期（格式 2027-02-05）")
        return None


def parse_notice(rest: str, work: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The form's text as the notice's ranges and make-up days; a 422 naming each bad line."""
    problems: list[str] = []
    holidays, workdays = [], []
    for i, line in enumerate(rest.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        where = f"放假第 {i} 行"
        if len(parts) not in (2, 3):
            problems.append(f"{where}：应为“名称 起始日期 [结束日期]”")
            continue
        first = _date(parts[1], where, problems)
        last = _date(parts[-1], where, problems)
        if first and last:
            holidays.append({"name": parts[0], "first": first, "last": last})
    for i, line in enumerate(work.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        where = f"调休上班第 {i} 行"
        if len(parts) != 2:
            problems.append(f"{where}：应为“日期 名称”")
            continue
        day = _date(parts[0], where, problems)
        if day:
            workdays.append({"day": day, "name": parts[1]})
    if problems:
        raise ApiError(422, "invalid_notice", "；".join(problems), {"problems": problems})
    return holidays, workdays


@router.get("")
def holidays_page(
    request: Request,
    year: int | None = Query(default=None, ge=2000, le=2100),
    saved: int | None = None,
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Each year's status; the notice form of one year (default: the first unconfirmed)."""
    from sla import holiday_watch, public_holidays

    this_year = holiday_watch.local_today().year
    years = sorted(set(range(this_year - 1, this_year + 3)) | set(public_holidays.stored_years(db)))
    all_days = public_holidays.years_days(db, years)
    if year is None:
        year = next((y for y in years if y >= this_year and not all_days[y].confirmed), this_year)
    days = all_days.get(year) or public_holidays.years_days(db, [year])[year]
    return render(
        request,
        "holidays.html",
        viewer,
        years=[all_days[y] for y in years],
        year=year,
        days=days,
        rest_text=rest_lines(days),
        work_text=workday_lines(days),
        warnings=holiday_watch.warnings(db),
        saved=saved,
        package_version=public_holidays.package_version(),
    )


@router.post("/{year}")
def save_notice(
    year: int,
    form: FormData = Depends(posted_form),
    db: Session = DB,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Record the year's notice as confirmed (running SLA deadlines are recomputed)."""
    from sla import config

    holidays, workdays = parse_notice(str(form.get("rest", "")), str(form.get("work", "")))
    config.set_national_year(
        db=db, year=year, holidays=holidays, workdays=workdays, actor=viewer.actor
    )
    return redirect(f"/holidays?year={year}&saved=1")
