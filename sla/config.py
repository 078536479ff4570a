"""What an admin sets up: business calendars (with per-year holidays), policies, who is
alerted per region, and the departments that answer collaboration requests."""

import time
from datetime import date
from typing import Any

from sqlalchemy import delete, extract, select
from sqlalchemy.orm import Session

from core import clock, events, webhook_targets
from core.errors import ApiError, not_found
from sla import public_holidays
from sla.calendar import MAX_DAYS, CalendarError, CalendarSpec, parse_windows
from sla.events import CalendarChanged
from sla.models import (
    BusinessCalendar,
    CalendarDay,
    Collaboration,
    Department,
    RegionContact,
    SlaPolicy,
)

PAUSE_KINDS = ("waiting_part", "waiting_customer")
# Calendars are read on every clock recomputation and edited a few times a year: each
# process keeps them this long (its own edits apply at once).
SPEC_TTL_S = 60.0
# Keyed by database too: a process (the tests) may serve several databases in turn.
_specs: dict[tuple[str, int], tuple[float, CalendarSpec]] = {}
# National days a calendar's spec carries: open tickets started a while ago, and deadlines as
# far ahead as the arithmetic looks (MAX_DAYS).
SPEC_YEARS_BACK = 3
SPEC_YEARS_AHEAD = MAX_DAYS // 365
POLICY_CRITERIA = ("product_type", "severity", "customer_tier", "region")


def _validate_calendar(timezone: str, weekdays: list[int], windows: list[list[str]]) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    problems = []
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"unknown timezone {timezone!r}")
    if not weekdays or any(d not in range(1, 8) for d in weekdays):
        problems.append("weekdays must be ISO weekday numbers 1 (Monday) to 7 (Sunday)")
    try:
        if not windows or any(len(w) != 2 for w in windows):
            raise CalendarError("windows must be a non-empty list of [start, end] pairs")
        parse_windows(windows)
    except CalendarError as exc:
        problems.append(str(exc))
    if problems:
        raise ApiError(422, "invalid_calendar", "; ".join(problems), {"problems": problems})


def create_calendar(
    *,
    db: Session,
    name: str,
    timezone: str = "Asia/Shanghai",
    weekdays: list[int] | None = None,
    windows: list[list[str]] | None = None,
    holidays: str | None = None,
) -> BusinessCalendar:
    """A new calendar; holidays="cn" makes it follow the Chinese public holidays and make-up
    working days of every year (sla.public_holidays), under its own per-date overrides."""
    weekdays = sorted(set(weekdays or [1, 2, 3, 4, 5]))
    windows = windows or [["09:00", "18:00"]]
    _validate_calendar(timezone, weekdays, windows)
    if db.scalar(select(BusinessCalendar).where(BusinessCalendar.name == name)):
        raise ApiError(409, "calendar_exists", f"A calendar named {name!r} exists already.")
    if holidays not in (None, "cn"):
        raise ApiError(422, "unknown_holidays", "holidays must be 'cn' or empty.")
    cal = BusinessCalendar(
        name=name,
        timezone=timezone,
        weekdays=weekdays,
        windows=windows,
        holidays=holidays,
        created_at=clock.now(),
    )
    db.add(cal)
    db.flush()
    return cal


def get_calendar(db: Session, calendar_id: int) -> BusinessCalendar:
    """A calendar or a 404."""
    cal = db.get(BusinessCalendar, calendar_id)
    if cal is None:
        raise not_found("calendar", calendar_id)
    return cal


def set_year(
    *, db: Session, calendar_id: int, year: int, days: list[dict[str, Any]]
) -> list[CalendarDay]:
    """Replace one year's own overrides (holidays and make-up working days) of a calendar;
    they take precedence over the national days it follows."""
    get_calendar(db, calendar_id)
    problems = [f"{d['day']} is not in {year}" for d in days if d["day"].year != year] + [
        f"{d['day']}: kind must be holiday or workday"
        for d in days
        if d["kind"] not in ("holiday", "workday")
    ]
    seen: set[date] = set()
    for d in days:
        if d["day"] in seen:
            problems.append(f"{d['day']} is listed twice")
        seen.add(d["day"])
    if problems:
        raise ApiError(422, "invalid_days", "; ".join(problems), {"problems": problems})
    db.execute(
        delete(CalendarDay).where(
            CalendarDay.calendar_id == calendar_id, extract("year", CalendarDay.day) == year
        )
    )
    rows = [
        CalendarDay(calendar_id=calendar_id, day=d["day"], kind=d["kind"], name=d["name"])
        for d in sorted(days, key=lambda d: d["day"])
    ]
    db.add_all(rows)
    db.flush()
    _refresh_after_commit(db, [calendar_id])
    return rows


def _refresh_after_commit(db: Session, calendar_ids: list[int]) -> None:
    """Forget the cached specs and, after commit, move the deadlines of the open tickets
    counted in these calendars (sla.hooks queues the refresh: the service imports us)."""
    for calendar_id in calendar_ids:
        forget_spec(db, calendar_id)
        events.publish(CalendarChanged(calendar_id=calendar_id), db=db)


def forget_spec(db: Session, calendar_id: int) -> None:
    """Drop this process's cached spec of a calendar (the next read rebuilds it)."""
    _specs.pop(_spec_key(db, calendar_id), None)


def forget_all_specs() -> None:
    """Drop every cached calendar spec (the database was emptied or replaced, as tests do)."""
    _specs.clear()


def calendar_days(db: Session, calendar_id: int, year: int | None = None) -> list[CalendarDay]:
    """A calendar's overrides, by date (one year or all)."""
    stmt = select(CalendarDay).where(CalendarDay.calendar_id == calendar_id)
    if year is not None:
        stmt = stmt.where(extract("year", CalendarDay.day) == year)
    return list(db.scalars(stmt.order_by(CalendarDay.day)))


def _spec_key(db: Session, calendar_id: int) -> tuple[str, int]:
    return str(db.get_bind().url), calendar_id


def calendar_spec(db: Session, calendar_id: int) -> CalendarSpec:
    """The arithmetic view of a stored calendar (cached for SPEC_TTL_S)."""
    key = _spec_key(db, calendar_id)
    hit = _specs.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    cal = get_calendar(db, calendar_id)
    days = calendar_days(db, calendar_id)
    own_rest = frozenset(d.day for d in days if d.kind == "holiday")
    own_work = frozenset(d.day for d in days if d.kind == "workday")
    rest, work = frozenset[date](), frozenset[date]()
    if cal.holidays == "cn":
        this_year = clock.now().year
        years = list(range(this_year - SPEC_YEARS_BACK, this_year + SPEC_YEARS_AHEAD + 1))
        rest, work = public_holidays.national_days(db, years)
    spec = CalendarSpec(
        timezone=cal.timezone,
        weekdays=frozenset(cal.weekdays),
        windows=parse_windows(cal.windows),
        # The calendar's own rows win over the national days.
        holidays=(rest - own_work) | own_rest,
        workdays=(work - own_rest) | own_work,
    )
    _specs[key] = (time.monotonic() + SPEC_TTL_S, spec)
    return spec


def _national_year_changed(db: Session) -> None:
    ids = db.scalars(select(BusinessCalendar.id).where(BusinessCalendar.holidays == "cn"))
    _refresh_after_commit(db, list(ids))


def _check_year(year: int) -> None:
    first, last = public_holidays.FIRST_YEAR, public_holidays.LAST_YEAR
    if not first <= year <= last:
        raise ApiError(422, "invalid_year", f"year must be between {first} and {last}.")


def set_national_year(
    *,
    db: Session,
    year: int,
    holidays: list[dict[str, Any]],
    workdays: list[dict[str, Any]],
    actor: str,
) -> public_holidays.YearDays:
    """Record a year's State Council notice — its rest-day ranges ({name, first, last}) and
    make-up working days ({day, name}) — as confirmed; every calendar following the Chinese
    holidays recomputes its open tickets' deadlines."""
    _check_year(year)
    problems = public_holidays.validate_notice(year, holidays, workdays)
    if problems:
        raise ApiError(422, "invalid_notice", "; ".join(problems), {"problems": problems})
    rest, work = public_holidays.notice_rows(holidays, workdays)
    return _confirm(db, year, rest, work, actor)


def confirm_package_year(*, db: Session, year: int, actor: str) -> public_holidays.YearDays:
    """Confirm the `holidays` package's data of a year as the notice, when the package carries
    the notice's make-up working days (without them it only knows the statutory days)."""
    _check_year(year)
    days = public_holidays.package_year(year)
    if not days.workdays:
        raise ApiError(
            409,
            "no_makeup_days_known",
            f"The holidays package ({public_holidays.package_version()}) has no make-up working "
            f"days for {year}: the State Council notice is not in it yet. Enter the notice's "
            f"dates with PUT /api/v1/sla/holidays/{year}.",
        )
    rest = [{"day": d.isoformat(), "name": n} for d, n in sorted(days.holidays.items())]
    work = [{"day": d.isoformat(), "name": n} for d, n in sorted(days.workdays.items())]
    return _confirm(db, year, rest, work, actor)


def _confirm(
    db: Session, year: int, rest: list[dict[str, str]], work: list[dict[str, str]], actor: str
) -> public_holidays.YearDays:
    row = public_holidays.year_row(db, year)
    row.confirmed, row.holidays, row.workdays = True, rest, work
    row.confirmed_by, row.confirmed_at = actor, clock.now()
    db.flush()
    _national_year_changed(db)
    return public_holidays.years_days(db, [year])[year]


def _validate_policy(db: Session, values: dict[str, Any]) -> None:
    problems = []
    for name in ("response_minutes", "resolution_minutes"):
        if name in values and not (isinstance(values[name], int) and values[name] > 0):
            problems.append(f"{name} must be a positive whole number of minutes")
    if (
        values.get("response_minutes") is not None
        and values.get("resolution_minutes") is not None
        and values["resolution_minutes"] < values["response_minutes"]
    ):
        problems.append("resolution_minutes must not be shorter than response_minutes")
    unknown = set(values.get("pause_kinds") or []) - set(PAUSE_KINDS)
    if unknown:
        problems.append(f"unknown pause kinds {sorted(unknown)}; allowed: {list(PAUSE_KINDS)}")
    if "calendar_id" in values and db.get(BusinessCalendar, values["calendar_id"]) is None:
        problems.append(f"no calendar with id {values['calendar_id']}")
    if problems:
        raise ApiError(422, "invalid_policy", "; ".join(problems), {"problems": problems})


def create_policy(*, db: Session, **values: Any) -> SlaPolicy:
    """A new policy (name, criteria, targets, calendar, pausing states)."""
    _validate_policy(db, values)
    if db.scalar(select(SlaPolicy).where(SlaPolicy.name == values["name"])):
        raise ApiError(409, "policy_exists", f"A policy named {values['name']!r} exists already.")
    now = clock.now()
    policy = SlaPolicy(
        **{"pause_kinds": list(PAUSE_KINDS), "active": True, "priority": 0, **values},
        created_at=now,
        updated_at=now,
    )
    db.add(policy)
    db.flush()
    return policy


def update_policy(*, db: Session, policy_id: int, changes: dict[str, Any]) -> SlaPolicy:
    """Change a policy; tickets already attached keep the targets they got."""
    policy = db.get(SlaPolicy, policy_id)
    if policy is None:
        raise not_found("policy", policy_id)
    merged = {
        "response_minutes": policy.response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        **changes,
    }
    _validate_policy(db, merged)
    for key, value in changes.items():
        setattr(policy, key, value)
    policy.updated_at = clock.now()
    db.flush()
    return policy


def match_policy(db: Session, facts: dict[str, Any]) -> SlaPolicy | None:
    """The active policy whose criteria all hold for facts: highest priority, then most
    specific, then oldest."""
    best: tuple[int, int, int] | None = None
    chosen = None
    for policy in db.scalars(select(SlaPolicy).where(SlaPolicy.active.is_(True))):
        criteria = [(c, getattr(policy, c)) for c in POLICY_CRITERIA if getattr(policy, c)]
        if all(facts.get(c) == v for c, v in criteria):
            rank = (policy.priority, len(criteria), -policy.id)
            if best is None or rank > best:
                best, chosen = rank, policy
    return chosen


def set_region_contact(*, db: Session, region: str, **values: str) -> RegionContact:
    """Create or replace who is alerted for a region ("*" for every other region); 422
    `webhook_target_refused` for a URL the service may not post to."""
    for field in ("supervisor_url", "director_url"):
        webhook_targets.check_configured(values.get(field), field=field)
    row = db.scalar(select(RegionContact).where(RegionContact.region == region))
    if row is None:
        row = RegionContact(region=region, **values)
        db.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    db.flush()
    return row


def delete_region_contact(*, db: Session, region: str) -> None:
    """Stop alerting a region's contacts (its escalations then go to the "*" row, if any)."""
    row = db.scalar(select(RegionContact).where(RegionContact.region == region))
    if row is None:
        raise ApiError(404, "not_found", f"No contacts for region {region!r}.")
    db.delete(row)
    db.flush()


def region_contact(db: Session, region: str | None) -> RegionContact | None:
    """The contacts for region, or the "*" fallback."""
    rows = {
        r.region: r
        for r in db.scalars(
            select(RegionContact).where(RegionContact.region.in_([region or "*", "*"]))
        )
    }
    return rows.get(region or "*") or rows.get("*")


def create_department(*, db: Session, **values: Any) -> Department:
    """A department that answers collaboration requests of the kinds it handles."""
    if db.scalar(select(Department).where(Department.name == values["name"])):
        raise ApiError(409, "department_exists", f"Department {values['name']!r} exists already.")
    webhook_targets.check_configured(values.get("contact_url"), field="contact_url")
    dept = Department(**values)
    db.add(dept)
    db.flush()
    return dept


def delete_department(*, db: Session, department_id: int) -> None:
    """Remove a department and its webhook; 409 once it has collaboration requests (they
    name it)."""
    dept = db.get(Department, department_id)
    if dept is None:
        raise not_found("department", department_id)
    used = select(Collaboration.id).where(Collaboration.department_id == department_id)
    if db.scalar(used.limit(1)) is not None:
        raise ApiError(
            409, "department_in_use", f"Department {dept.name!r} has collaboration requests."
        )
    db.delete(dept)
    db.flush()


def install_defaults(*, db: Session) -> dict[str, Any]:
    """Create the standard calendars and one policy per severity, if none exist yet.

    Critical and high tickets run round the clock; medium and low count China working days.
    """
    created: dict[str, Any] = {"calendars": [], "policies": []}
    cals = {c.name: c for c in db.scalars(select(BusinessCalendar))}
    if "cn-workdays" not in cals:
        cals["cn-workdays"] = create_calendar(db=db, name="cn-workdays", holidays="cn")
        created["calendars"].append("cn-workdays")
    if "24x7" not in cals:
        cals["24x7"] = create_calendar(
            db=db, name="24x7", weekdays=[1, 2, 3, 4, 5, 6, 7], windows=[["00:00", "24:00"]]
        )
        created["calendars"].append("24x7")
    if db.scalar(select(SlaPolicy.id).limit(1)) is None:
        for severity, response, resolution, cal in (
            (None, 120, 1080, "cn-workdays"),
            ("critical", 30, 240, "24x7"),
            ("high", 60, 480, "24x7"),
            ("medium", 120, 1080, "cn-workdays"),
            ("low", 240, 2700, "cn-workdays"),
        ):
            policy = create_policy(
                db=db,
                name=f"default-{severity or 'any'}",
                severity=severity,
                response_minutes=response,
                resolution_minutes=resolution,
                calendar_id=cals[cal].id,
            )
            created["policies"].append(policy.name)
    return created
