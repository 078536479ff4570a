"""Chinese public holidays per year, for calendars that follow them (holidays = "cn").

Two sources, per year, the first that has the year wins:
1. the State Council's notice (国务院办公厅关于部分节假日安排的通知) as an admin confirmed it
   (`sla_holiday_years`), or as shipped in `sla/holidays/cn_<year>.yaml`: every rest day and
   every make-up working day (调休上班) — status `confirmed`;
2. the `holidays` package: the statutory holidays of any year by rule (lunar dates included),
   with the notice's rest days and make-up days for the years the package already carries —
   status `statutory only` until an admin confirms it.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import holidays as holiday_package
import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sla.models import HolidayYear

SHIPPED_DIR = Path(__file__).resolve().parent / "holidays"
CONFIRMED = "confirmed"
STATUTORY_ONLY = "statutory only"
SOURCE_ADMIN = "admin"
SOURCE_SHIPPED = "shipped"
SOURCE_PACKAGE = "holidays package"
# The years the package answers sensibly for today's China (the 2000 holiday reform on).
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class YearDays:
    """One year's rest days and make-up working days, where they come from, and whether an
    admin (or the shipped notice) confirmed them."""

    year: int
    status: str
    source: str
    holidays: dict[date, str]
    workdays: dict[date, str]
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None

    @property
    def confirmed(self) -> bool:
        """Whether the make-up working days are the notice's, confirmed."""
        return self.status == CONFIRMED


def _expand(first: date, last: date, name: str) -> dict[date, str]:
    return {first + timedelta(days=i): name for i in range((last - first).days + 1)}


@lru_cache
def shipped_years() -> dict[int, YearDays]:
    """The notices shipped with Hotline (`sla/holidays/cn_<year>.yaml`), by year."""
    years: dict[int, YearDays] = {}
    for path in sorted(SHIPPED_DIR.glob("cn_*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        rest: dict[date, str] = {}
        for name, (first, last) in (raw.get("holidays") or {}).items():
            rest |= _expand(first, last, name)
        work = {d: name for name, ds in (raw.get("makeup_workdays") or {}).items() for d in ds}
        year = int(raw["year"])
        years[year] = YearDays(year, CONFIRMED, SOURCE_SHIPPED, rest, work)
    return years


@lru_cache(maxsize=128)
def package_year(year: int) -> YearDays:
    """What the `holidays` package knows of a year: statutory holidays (and, for the years it
    carries the notice of, its rest days and make-up working days)."""
    cn = holiday_package.China(years=year, language="zh_CN")
    rest = {d: name for d, name in cn.items() if d.year == year}
    # weekend_workdays also collects neighbouring years' entries: keep this year's only.
    work = {d: "调休上班" for d in cn.weekend_workdays if d.year == year}
    return YearDays(year, STATUTORY_ONLY, SOURCE_PACKAGE, rest, work)


def package_version() -> str:
    """The installed `holidays` package version (shown with the data it supplied)."""
    return str(holiday_package.__version__)


def _from_row(row: HolidayYear) -> YearDays:
    return YearDays(
        row.year,
        CONFIRMED,
        SOURCE_ADMIN,
        {date.fromisoformat(d["day"]): d["name"] for d in row.holidays},
        {date.fromisoformat(d["day"]): d["name"] for d in row.workdays},
        row.confirmed_by,
        row.confirmed_at,
    )


def years_days(db: Session, years: list[int]) -> dict[int, YearDays]:
    """Each year's days from the best source that has it (one query for all years)."""
    rows = {
        r.year: r
        for r in db.scalars(
            select(HolidayYear).where(HolidayYear.year.in_(years), HolidayYear.confirmed.is_(True))
        )
    }
    shipped = shipped_years()
    out = {}
    for year in years:
        if year in rows:
            out[year] = _from_row(rows[year])
        elif year in shipped:
            out[year] = shipped[year]
        else:
            out[year] = package_year(year)
    return out


def national_days(db: Session, years: list[int]) -> tuple[frozenset[date], frozenset[date]]:
    """(rest days, make-up working days) over the given years, for a calendar's spec."""
    rest: set[date] = set()
    work: set[date] = set()
    for days in years_days(db, years).values():
        rest |= days.holidays.keys()
        work |= days.workdays.keys()
    return frozenset(rest), frozenset(work - rest)


def year_row(db: Session, year: int) -> HolidayYear:
    """The year's row, created (unconfirmed, empty) if missing; a concurrent creator wins
    without an error."""
    row = db.get(HolidayYear, year)
    if row is not None:
        return row
    try:
        with db.begin_nested():
            row = HolidayYear(year=year, confirmed=False, holidays=[], workdays=[])
            db.add(row)
            db.flush()
    except IntegrityError:
        row = db.get(HolidayYear, year, populate_existing=True)
    assert row is not None
    return row


def stored_years(db: Session) -> list[int]:
    """Years with an admin-confirmed notice."""
    return list(db.scalars(select(HolidayYear.year).where(HolidayYear.confirmed.is_(True)))) + list(
        shipped_years()
    )


def validate_notice(
    year: int, holidays: list[dict[str, Any]], workdays: list[dict[str, Any]]
) -> list[str]:
    """Problems with a year's notice as entered: rest-day ranges ({name, first, last}) and
    make-up working days ({day, name}); empty when it is consistent."""
    problems = []
    if not holidays:
        problems.append("holidays: list the notice's rest days (at least one range)")
    rest: dict[date, str] = {}
    for i, h in enumerate(holidays):
        first, last = h["first"], h["last"]
        where = f"holidays[{i}] ({h['name']})"
        if first.year != year or last.year != year:
            problems.append(f"{where}: {first}–{last} is not within {year}")
            continue
        if last < first:
            problems.append(f"{where}: last day {last} is before first day {first}")
            continue
        for d in _expand(first, last, h["name"]):
            if d in rest:
                problems.append(f"{where}: {d} is already in the range of {rest[d]}")
            rest[d] = h["name"]
    seen: set[date] = set()
    for i, w in enumerate(workdays):
        d, where = w["day"], f"workdays[{i}] ({w['name']})"
        if d.year != year:
            problems.append(f"{where}: {d} is not in {year}")
        elif d.isoweekday() < 6:
            problems.append(
                f"{where}: {d} is a weekday; a make-up working day (调休上班) is a Saturday "
                "or Sunday"
            )
        if d in rest:
            problems.append(f"{where}: {d} is also a rest day ({rest[d]})")
        if d in seen:
            problems.append(f"{where}: {d} is listed twice")
        seen.add(d)
    return problems


def notice_rows(
    holidays: list[dict[str, Any]], workdays: list[dict[str, Any]]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A validated notice as the stored per-day lists (ISO dates, sorted)."""
    rest: dict[date, str] = {}
    for h in holidays:
        rest |= _expand(h["first"], h["last"], h["name"])
    work = {w["day"]: w["name"] for w in workdays}
    return (
        [{"day": d.isoformat(), "name": n} for d, n in sorted(rest.items())],
        [{"day": d.isoformat(), "name": n} for d, n in sorted(work.items())],
    )
