"""SLA HTTP API under /api/v1/sla: setup, evidence, pauses, collaboration, live views."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import phone_reads, pii
from core.access import caller
from core.auth import Principal, Role
from core.deps import DB
from core.errors import GUARDED, ApiError, error_responses, not_found
from core.settings import get_settings
from dispatch import ownership, technicians
from dispatch.requirements import active_assignment
from dispatch.service import technician_of
from sla import collaboration, config, evidence, holiday_watch, public_holidays, service, views
from sla.models import BusinessCalendar, Collaboration, Department, RegionContact, SlaPolicy
from sla.schemas import (
    AnswerIn,
    AtRiskOut,
    AttainmentOut,
    CalendarIn,
    CalendarOut,
    CollaborationOut,
    DefaultsOut,
    DepartmentIn,
    DepartmentOut,
    EscalationList,
    EvidenceRecorded,
    FlagIn,
    HolidayDayOut,
    HolidaysOut,
    HolidayWarningOut,
    HolidayYearOut,
    NoticeIn,
    PauseIn,
    PauseOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    RegionContactIn,
    RegionContactOut,
    TicketSlaOut,
    ViewedIn,
    YearIn,
)

router = APIRouter(prefix="/api/v1/sla", tags=["sla"], responses=error_responses(*GUARDED))
# Evidence reports answer 200 when the same report was already stored.
DUPLICATE: dict[int | str, dict[str, Any]] = {
    200: {"model": EvidenceRecorded, "description": "The same report again: nothing new."},
    **error_responses(404, 409),
}


def _utc(at: datetime | None) -> datetime | None:
    """Query instants in UTC (SQLite compares stored UTC text); naive ones are taken as UTC."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _created(body: dict[str, Any], duplicate: bool = False) -> JSONResponse:
    return JSONResponse(jsonable_encoder(body), status_code=200 if duplicate else 201)


def _calendar(db: Session, cal: BusinessCalendar, year: int | None = None) -> dict[str, Any]:
    return {
        "id": cal.id,
        "name": cal.name,
        "timezone": cal.timezone,
        "weekdays": cal.weekdays,
        "windows": cal.windows,
        "holidays": cal.holidays,
        "days": [
            {"day": d.day, "kind": d.kind, "name": d.name}
            for d in config.calendar_days(db, cal.id, year)
        ],
    }


def _columns(row: Any) -> dict[str, Any]:
    """A row's columns by name: what the policy, contact and department answers show."""
    return {c.name: getattr(row, c.name) for c in row.__table__.columns}


@router.get("/calendars", response_model=list[CalendarOut])
def list_calendars(db: Session = DB, _: Principal = Depends(caller)) -> list[dict]:
    """Every business calendar with its overrides."""
    return [
        _calendar(db, c) for c in db.scalars(select(BusinessCalendar).order_by(BusinessCalendar.id))
    ]


@router.post(
    "/calendars", status_code=201, response_model=CalendarOut, responses=error_responses(409)
)
def create_calendar(body: CalendarIn, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """A calendar: working weekdays and hours in a timezone; holidays='cn' loads the shipped
    Chinese public holidays (years: see GET /holidays)."""
    cal = config.create_calendar(db=db, **body.model_dump())
    return _calendar(db, cal)


@router.get("/calendars/{calendar_id}", response_model=CalendarOut, responses=error_responses(404))
def get_calendar(
    calendar_id: int,
    year: int | None = None,
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """One calendar, with the overrides of one year or all years."""
    return _calendar(db, config.get_calendar(db, calendar_id), year)


@router.put(
    "/calendars/{calendar_id}/years/{year}",
    response_model=CalendarOut,
    responses=error_responses(404),
)
def set_year(
    calendar_id: int,
    year: int,
    body: YearIn,
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Replace one year's own holidays and make-up working days of a calendar (they override
    the national days of a calendar with holidays='cn')."""
    if not 2000 <= year <= 2100:
        raise ApiError(422, "invalid_year", "year must be between 2000 and 2100.")
    config.set_year(
        db=db, calendar_id=calendar_id, year=year, days=[d.model_dump() for d in body.days]
    )
    return _calendar(db, config.get_calendar(db, calendar_id), year)


def _year(days: public_holidays.YearDays) -> HolidayYearOut:
    return HolidayYearOut(
        year=days.year,
        status=days.status,  # type: ignore[arg-type]
        source=days.source,  # type: ignore[arg-type]
        confirmed_by=days.confirmed_by,
        confirmed_at=days.confirmed_at,
        holidays=[HolidayDayOut(day=d, name=n) for d, n in sorted(days.holidays.items())],
        workdays=[HolidayDayOut(day=d, name=n) for d, n in sorted(days.workdays.items())],
    )


MAX_LISTED_YEARS = 50


@router.get("/holidays", response_model=HolidaysOut)
def list_holidays(
    start: int | None = Query(default=None, alias="from", ge=2000, le=2100),
    end: int | None = Query(default=None, alias="to", ge=2000, le=2100),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> HolidaysOut:
    """Chinese public holidays and make-up working days per year, with each year's status:
    `confirmed` (the State Council notice, shipped or confirmed by an admin) or `statutory
    only` (the holidays package; make-up days, if it has them, not confirmed). Without
    from/to: last year to two years ahead, and every confirmed year."""
    this_year = holiday_watch.local_today().year
    if start is None and end is None:
        years = set(range(this_year - 1, this_year + 3)) | set(public_holidays.stored_years(db))
    else:
        lo, hi = start or end or this_year, end or start or this_year
        if hi < lo or hi - lo >= MAX_LISTED_YEARS:
            raise ApiError(
                422,
                "invalid_range",
                f"from must not be after to, and at most {MAX_LISTED_YEARS} years are listed.",
            )
        years = set(range(lo, hi + 1))
    days = public_holidays.years_days(db, sorted(years))
    return HolidaysOut(
        package_version=public_holidays.package_version(),
        years=[_year(d) for _, d in sorted(days.items())],
        warnings=[HolidayWarningOut(**w) for w in holiday_watch.warnings(db)],
    )


@router.put("/holidays/{year}", response_model=HolidayYearOut)
def set_national_year(
    year: int, body: NoticeIn, db: Session = DB, who: Principal = Depends(caller)
) -> HolidayYearOut:
    """Enter a year's State Council notice (rest-day ranges and make-up working days): the
    year becomes `confirmed`, and the open tickets of every calendar that follows the Chinese
    holidays get their deadlines recomputed."""
    days = config.set_national_year(
        db=db,
        year=year,
        holidays=[h.model_dump() for h in body.holidays],
        workdays=[w.model_dump() for w in body.workdays],
        actor=who.actor,
    )
    return _year(days)


@router.post("/holidays/{year}/confirm", response_model=HolidayYearOut)
def confirm_national_year(
    year: int, db: Session = DB, who: Principal = Depends(caller)
) -> HolidayYearOut:
    """Confirm the holidays package's days of a year as they are (only when the package
    carries the notice's make-up working days; otherwise 409: enter them with PUT)."""
    return _year(config.confirm_package_year(db=db, year=year, actor=who.actor))


@router.get("/policies", response_model=list[PolicyOut])
def list_policies(db: Session = DB, _: Principal = Depends(caller)) -> list[dict]:
    """Every policy."""
    return [_columns(p) for p in db.scalars(select(SlaPolicy).order_by(SlaPolicy.id))]


@router.post(
    "/policies", status_code=201, response_model=PolicyOut, responses=error_responses(404, 409)
)
def create_policy(body: PolicyIn, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """A policy: criteria (empty = any), response/resolution targets in working minutes of its
    calendar, and the waiting states that pause its clocks."""
    return _columns(config.create_policy(db=db, **body.model_dump()))


@router.patch(
    "/policies/{policy_id}", response_model=PolicyOut, responses=error_responses(404, 409)
)
def update_policy(
    policy_id: int, body: PolicyPatch, db: Session = DB, _: Principal = Depends(caller)
) -> dict:
    """Change a policy (tickets already attached keep their targets)."""
    changes = body.model_dump(exclude_unset=True)
    return _columns(config.update_policy(db=db, policy_id=policy_id, changes=changes))


@router.get("/regions", response_model=list[RegionContactOut])
def list_regions(db: Session = DB, _: Principal = Depends(caller)) -> list[dict]:
    """Who is alerted per region ("*" = every other region)."""
    return [_columns(r) for r in db.scalars(select(RegionContact).order_by(RegionContact.region))]


@router.put("/regions/{region}", response_model=RegionContactOut)
def set_region(
    region: str,
    body: RegionContactIn,
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Set the supervisor (yellow, red) and regional director (black) of a region."""
    row = config.set_region_contact(db=db, region=region, **body.model_dump())
    return _columns(row)


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(db: Session = DB, who: Principal = Depends(caller)) -> list[dict]:
    """Departments that answer collaboration requests. The contact's webhook URL carries its
    key: admins see it, everyone else `contact_url: null` and `contact_url_set`."""
    return [_department(d, who) for d in db.scalars(select(Department).order_by(Department.id))]


def _department(d: Department, who: Principal) -> dict[str, Any]:
    out = _columns(d)
    out["contact_url_set"] = bool(d.contact_url)
    if not pii.may_see(who.role, "secrets"):
        out["contact_url"] = None
    return out


@router.post(
    "/departments", status_code=201, response_model=DepartmentOut, responses=error_responses(409)
)
def create_department(body: DepartmentIn, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """A department, its contact (webhook) and the flags it owns."""
    d = config.create_department(db=db, **body.model_dump())
    return _columns(d)


@router.post("/defaults", response_model=DefaultsOut)
def install_defaults(db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Create the standard calendars (cn-workdays with holidays, 24x7) and one policy per
    severity, where none exist yet."""
    return config.install_defaults(db=db)


@router.get("/tickets/{ticket_id}", response_model=TicketSlaOut, responses=error_responses(404))
def ticket_sla(ticket_id: int, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """A ticket's policy, clocks, evidence nodes, pauses and escalations. The number called
    is shown in full only to agents, supervisors and the technician holding the ticket
    (others see 138****5678; every full one is logged); a technician's GPS position in the
    proof only to supervisors."""
    return _by_need(db, who, service.ticket_state(db, ticket_id))


def _holds(db: Session, who: Principal, ticket_id: int) -> bool:
    """Whether the caller is the technician the ticket is offered to or accepted by."""
    if who.role is not Role.technician:
        return False
    holder, tech = active_assignment(db, ticket_id), technician_of(db, who)
    return holder is not None and tech is not None and holder.technician_id == tech.id


def _by_need(db: Session, who: Principal, state: dict[str, Any]) -> dict[str, Any]:
    """The SLA state with the customer's number and the technician's GPS masked by need."""
    full_phone = pii.may_see(
        who.role, "customer_phone", assigned=_holds(db, who, state["ticket_id"])
    )
    gps = pii.may_see(who.role, "gps")
    shown = False
    for item in state["evidence"]:
        proof = item["proof"] = dict(item["proof"] or {})
        if proof.get("callee"):
            if full_phone:
                shown = True
            else:
                proof["callee"] = pii.mask_phone(proof["callee"])
        if not gps and "lat" in proof:
            proof["lat"] = proof["lon"] = None
    if shown:
        phone_reads.record(db, who, "GET /api/v1/sla/tickets/{id}", tickets=[state["ticket_id"]])
    return state


def _reporting_technician(db: Session, who: Principal, named: int | None) -> int:
    """The technician a viewed report speaks for: the caller's own registry entry, or (an
    admin reporting on someone's behalf) the one named."""
    if who.role is Role.technician:
        tech = technician_of(db, who)
        if tech is None:
            raise ApiError(
                403,
                "not_a_technician",
                "This token is not linked to a technician in the registry (api_token_id).",
            )
        if named is not None and named != tech.id:
            raise ApiError(
                403, "not_assigned", "A technician reports for themselves: leave technician_id out."
            )
        return tech.id
    if named is None:
        raise ApiError(
            422,
            "technician_required",
            "Reporting on a technician's behalf: name them with technician_id.",
        )
    return technicians.get(db, named).id


@router.post(
    "/tickets/{ticket_id}/viewed",
    status_code=201,
    response_model=EvidenceRecorded,
    responses=DUPLICATE,
)
def report_viewed(
    ticket_id: int,
    body: ViewedIn,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> JSONResponse:
    """The technician app reports the ticket was opened, with GPS. Only the technician the
    ticket is offered to or accepted by may report it (anyone else: 403 `not_assigned`, nothing
    stored); an admin reporting on their behalf names them (`technician_id`). Outside the
    service radius (or with a site without coordinates) it is recorded but not counted."""
    row, dup = evidence.record_viewed(
        db,
        ticket_id=ticket_id,
        technician_id=_reporting_technician(db, who, body.technician_id),
        lat=body.lat,
        lon=body.lon,
        actor=who.actor,
        report_id=body.report_id,
        device_at=body.at,
    )
    return _created({"duplicate": dup, "evidence": service.evidence_view(row)}, dup)


CALL_DIRECTIONS = ("outbound", "inbound")


@router.post(
    "/callbacks/call", status_code=201, response_model=EvidenceRecorded, responses=DUPLICATE
)
def call_callback(
    call_id: str = Form(min_length=1, max_length=100),
    ticket_id: int = Form(),
    direction: str = Form(),
    callee: str = Form(max_length=32),
    status: str = Form(),
    duration_s: float = Form(ge=0),
    started_at: datetime | None = Form(default=None),
    recording: UploadFile = File(description="The call recording (any common audio format)."),
    db: Session = DB,
    who: Principal = Depends(caller),
) -> JSONResponse:
    """Telephony callback: a call was made for a ticket. An answered outbound call to the
    customer's number is the "first call" evidence; the same call_id again is a no-op."""
    if direction not in CALL_DIRECTIONS:
        raise ApiError(
            422, "invalid_direction", f"direction must be one of {list(CALL_DIRECTIONS)}."
        )
    if status not in evidence.CALL_STATUSES:
        raise ApiError(
            422, "invalid_status", f"status must be one of {list(evidence.CALL_STATUSES)}."
        )
    if started_at is not None and started_at.tzinfo is None:
        raise ApiError(422, "naive_time", "started_at needs a timezone (e.g. +08:00 or Z).")
    if who.role is Role.technician and not ownership.owns_ticket(db, who, str(ticket_id)):
        raise ApiError(
            403,
            "not_assigned",
            f"Ticket {ticket_id} is not one of your assignments: a technician reports only "
            "their own calls.",
        )
    # A plain (threadpool) handler: decoding the recording must not block the event loop.
    data = recording.file.read(get_settings().max_upload_bytes + 1)
    row, dup = evidence.record_call(
        db,
        call_id=call_id,
        ticket_id=ticket_id,
        direction=direction,
        callee=callee,
        status=status,
        duration_s=duration_s,
        started_at=started_at,
        actor=who.actor,
        recording=data,
        filename=recording.filename or "",
    )
    return _created({"duplicate": dup, "evidence": service.evidence_view(row)}, dup)


@router.post(
    "/tickets/{ticket_id}/pauses",
    status_code=201,
    response_model=PauseOut,
    responses=error_responses(404, 409),
)
def pause(
    ticket_id: int, body: PauseIn, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Start or end waiting for the customer (or a part without a transfer order)."""
    row, _ = service.record_pause(
        db, ticket_id=ticket_id, kind=body.kind, action=body.action, actor=who.actor
    )
    return {"kind": row.kind, "action": row.action, "at": row.at, "actor": row.actor}


@router.post(
    "/tickets/{ticket_id}/collaborations",
    status_code=201,
    response_model=CollaborationOut,
    responses=error_responses(404, 409),
)
def flag(ticket_id: int, body: FlagIn, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """Flag e.g. a suspected cloud-side command fault with the raw device logs: the owning
    department's contact gets a request due in its answer time (4 h by default)."""
    row = collaboration.raise_flag(
        db,
        ticket_id=ticket_id,
        kind=body.kind,
        summary=body.summary,
        logs=body.logs,
        actor=who.actor,
    )
    return _collab(db, row)


def _collab(
    db: Session, row: Collaboration, logs: bool = False, who: Principal | None = None
) -> dict[str, Any]:
    from core import clock

    dept = db.get(Department, row.department_id)
    assert dept is not None
    out = collaboration.view(row, dept, clock.now())
    if logs and who is not None:
        # Raw device logs carry the customer's device data: the technician holding the
        # ticket (or who sent them), supervisors and admins read them; others see only that
        # there are some.
        mine = row.raised_by == who.actor or _holds(db, who, row.ticket_id)
        allowed = pii.may_see(who.role, "device_logs", assigned=mine)
        out["logs"] = row.logs if allowed else None
        out["logs_hidden"] = not allowed and bool(row.logs)
    return out


@router.get("/collaborations", response_model=list[CollaborationOut])
def list_collaborations(
    department_id: int | None = None,
    status: str | None = Query(default=None, pattern="^(open|answered)$"),
    db: Session = DB,
    who: Principal = Depends(caller),
) -> list[dict]:
    """Collaboration requests, newest first (a technician: of the tickets they hold)."""
    rows = collaboration.listing(db, department_id=department_id, status=status)
    if who.role is Role.technician:
        held = ownership.held_tickets(db, who)
        rows = [r for r in rows if r["ticket_id"] in held]
    return rows


@router.get(
    "/collaborations/{collaboration_id}",
    response_model=CollaborationOut,
    responses=error_responses(404),
)
def get_collaboration(
    collaboration_id: int, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """One request, with the raw logs for the technician holding the ticket (or who sent
    them), supervisors and admins (`logs_hidden` for everyone else)."""
    row = db.get(Collaboration, collaboration_id)
    if row is None:
        raise not_found("collaboration", collaboration_id)
    return _collab(db, row, logs=True, who=who)


@router.post(
    "/collaborations/{collaboration_id}/answer",
    response_model=CollaborationOut,
    responses=error_responses(404, 409),
)
def answer_collaboration(
    collaboration_id: int,
    body: AnswerIn,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """The department answers: the request closes (late if after its due time)."""
    row = collaboration.answer(
        db,
        collaboration_id=collaboration_id,
        text=body.answer,
        actor=who.actor,
        expected_version=body.expected_version,
    )
    return _collab(db, row)


@router.get("/attainment", response_model=AttainmentOut)
def attainment(
    group_by: str = "region",
    period: str = "day",
    start: datetime | None = Query(default=None, alias="from"),
    end: datetime | None = Query(default=None, alias="to"),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """SLA attainment by region, technician, period (day/week/month) or department
    (collaboration answers on time) for tickets started in [from, to)."""
    return views.attainment(db, group_by=group_by, period=period, start=_utc(start), end=_utc(end))


@router.get("/at-risk", response_model=AtRiskOut)
def at_risk(
    within_minutes: int = Query(default=30, ge=0, le=24 * 60),
    region: str | None = None,
    limit: int = Query(default=200, ge=1, le=2000),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Tickets at risk now: open clocks due within `within_minutes` or past due, with level."""
    return views.at_risk(db, within_minutes=within_minutes, region=region, limit=limit)


@router.get("/escalations", response_model=EscalationList)
def escalation_history(
    ticket_id: int | None = None,
    level: str | None = None,
    region: str | None = None,
    start: datetime | None = Query(default=None, alias="from"),
    end: datetime | None = Query(default=None, alias="to"),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Every escalation that fired, newest first."""
    return views.escalations(
        db,
        ticket_id=ticket_id,
        level=level,
        region=region,
        start=_utc(start),
        end=_utc(end),
        limit=limit,
        offset=offset,
    )
