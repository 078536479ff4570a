"""Dispatch endpoints: technicians and their app, the open pool, offers, overrides, decisions.
Parts binding (devices, warehouses, stock, reservations, transfers) is in parts_api."""

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from core import phone_reads, pii
from core.access import caller
from core.auth import Principal, Role
from core.deps import DB
from core.errors import GUARDED, ApiError, error_responses
from dispatch import (
    answers,
    customer_notify,
    field,
    offers,
    schemas,
    service,
    tasks,
    technicians,
    views,
)
from dispatch.models import Technician
from dispatch.parts_api import router as parts_router
from tickets import rating
from tickets.service import get_ticket

router = APIRouter(
    prefix="/api/v1/dispatch", tags=["dispatch"], responses=error_responses(*GUARDED)
)


def _own_view(db: Session, tech: Technician) -> dict:
    """A technician as they see themselves (their own data, in full)."""
    return technicians.view(tech, technicians.loads_today(db, [tech.id]).get(tech.id, 0))


def _tech_view(db: Session, tech: Technician, who: Principal, door: str) -> dict:
    return _shown(db, who, door, [_own_view(db, tech)])[0]


def _shown(db: Session, who: Principal, door: str, items: list[dict]) -> list[dict]:
    """Technicians' views masked by the caller's need; full phone numbers shown are logged."""
    shown = [technicians.by_need(t, who.role) for t in items]
    if pii.may_see(who.role, "technician_contact"):
        phone_reads.record(db, who, door, technicians=[t["id"] for t in shown if t["phone"]])
    return shown


def _me(db: Session, who: Principal) -> Technician:
    tech = service.technician_of(db, who)
    if tech is None:
        raise ApiError(
            403, "not_a_technician", "This token is not linked to a technician (api_token_id)."
        )
    return tech


# Technician registry (supervisors)


@router.post(
    "/technicians",
    status_code=201,
    response_model=schemas.TechnicianOut,
    responses=error_responses(409),
)
def create_technician(
    body: schemas.TechnicianIn, db: Session = DB, who: Principal = Depends(caller)
) -> dict:
    """Register a technician; the pool is re-matched (they may take waiting tickets)."""
    tech = technicians.create(db, body.model_dump(mode="json"))
    tasks.kick(db)
    out = _tech_view(db, tech, who, "POST /api/v1/dispatch/technicians")
    return out


@router.get("/technicians", response_model=schemas.TechnicianList)
def list_technicians(
    region: str | None = None,
    skill: str | None = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Technicians, optionally covering a region or holding a skill (agents: name, skills,
    level, regions and availability; phone masked, no home or position)."""
    rows = technicians.list_all(db, region=region, skill=skill)
    loads = technicians.loads_today(db)
    items = [technicians.view(t, loads.get(t.id, 0)) for t in rows]
    return {"items": _shown(db, who, "GET /api/v1/dispatch/technicians", items)}


@router.get("/technicians/near", response_model=schemas.TechnicianList)
def technicians_near(
    lat: float = Query(ge=-90, le=90),
    lon: float = Query(ge=-180, le=180),
    radius_km: float = Query(default=5.0, gt=0, le=500),
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Geofence: active technicians within radius_km of a point, nearest first."""
    found = technicians.near(db, lat, lon, radius_km)
    items = [{**technicians.view(t), "distance_km": round(d, 3)} for t, d in found]
    return {"items": _shown(db, who, "GET /api/v1/dispatch/technicians/near", items)}


@router.get(
    "/technicians/{tech_id}", response_model=schemas.TechnicianOut, responses=error_responses(404)
)
def get_technician(tech_id: int, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """One technician (as list_technicians shows them to the caller's role)."""
    return _tech_view(
        db, technicians.get(db, tech_id), who, "GET /api/v1/dispatch/technicians/{id}"
    )


@router.patch(
    "/technicians/{tech_id}",
    response_model=schemas.TechnicianOut,
    responses=error_responses(404, 409),
)
def patch_technician(
    tech_id: int,
    body: schemas.TechnicianPatch,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Change skills, shifts, regions, availability, webhook…; the pool is re-matched."""
    tech = technicians.update(db, tech_id, body.model_dump(mode="json", exclude_unset=True))
    tasks.kick(db)
    out = _tech_view(db, tech, who, "PATCH /api/v1/dispatch/technicians/{id}")
    return out


@router.post(
    "/technicians/{tech_id}/location",
    status_code=201,
    response_model=schemas.PositionOut,
    responses=error_responses(404),
)
def post_location(
    tech_id: int,
    body: schemas.LocationIn,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """A position report (a technician may only report their own)."""
    tech = technicians.get(db, tech_id)  # a technician only their own: hotline/policy.py
    row = technicians.record_location(db, tech, body.lat, body.lon, body.accuracy_m)
    tasks.kick(db)
    return {"technician_id": tech.id, "lat": row.lat, "lon": row.lon, "at": row.at}


@router.get(
    "/technicians/{tech_id}/locations",
    response_model=schemas.PositionList,
    responses=error_responses(404),
)
def get_locations(
    tech_id: int,
    limit: int = Query(default=100, ge=1, le=1000),
    db: Session = DB,
    _: Principal = Depends(caller),
) -> dict:
    """Recent position reports, newest first (a GPS trail: supervisors only)."""
    rows = technicians.locations(db, tech_id, limit)
    return {
        "items": [
            {"lat": r.lat, "lon": r.lon, "at": r.at, "accuracy_m": r.accuracy_m} for r in rows
        ]
    }


# The technician app (a technician's own token)


@router.get("/me", response_model=schemas.MeOut)
def me(db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """The calling technician and their open assignments."""
    tech = _me(db, who)
    return {
        **_own_view(db, tech),
        "assignments": [
            views.assignment_view(a) for a in views.technician_assignments(db, tech.id)
        ],
    }


@router.post("/me/location", status_code=201, response_model=schemas.PositionOut)
def my_location(
    body: schemas.LocationIn,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Live location update from the technician app."""
    tech = _me(db, who)
    row = technicians.record_location(db, tech, body.lat, body.lon, body.accuracy_m)
    tasks.kick(db)
    return {"technician_id": tech.id, "lat": row.lat, "lon": row.lon, "at": row.at}


@router.post("/me/availability", response_model=schemas.TechnicianOut)
def my_availability(
    body: schemas.AvailabilityIn,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """The technician switches themselves available / unavailable."""
    tech = technicians.update(db, _me(db, who).id, {"available": body.available})
    tasks.kick(db)
    return _own_view(db, tech)


@router.post(
    "/assignments/{assignment_id}/accept",
    response_model=schemas.AssignmentOut,
    responses=error_responses(404, 409),
)
def accept(assignment_id: int, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """Accept an offer (the technician's own, or a supervisor on their behalf)."""
    tech = _me(db, who) if who.role is Role.technician else None
    row = answers.accept(db, assignment_id, tech=tech, actor=who.actor)
    return views.assignment_view(row)


@router.post(
    "/assignments/{assignment_id}/decline",
    response_model=schemas.AssignmentOut,
    responses=error_responses(404, 409),
)
def decline(
    assignment_id: int,
    body: schemas.DeclineIn | None = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Decline an offer: the ticket is re-dispatched to someone else at once."""
    tech = _me(db, who) if who.role is Role.technician else None
    reason = body.reason if body else None
    row = answers.decline(db, assignment_id, tech=tech, actor=who.actor, reason=reason)
    return views.assignment_view(row)


@router.get(
    "/assignments/{assignment_id}",
    response_model=schemas.AssignmentOut,
    responses=error_responses(404),
)
def get_assignment(assignment_id: int, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """One assignment with its explanation."""
    return views.assignment_view(answers.get_assignment(db, assignment_id))


@router.get("/me/jobs", response_model=schemas.FieldJobList)
def my_jobs(db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """The calling technician's offers and jobs of today, each with what is needed on site."""
    tech = _me(db, who)
    items = [field.job_view(db, a) for a in field.jobs_today(db, tech)]
    return {"items": _jobs_shown(db, who, "GET /api/v1/dispatch/me/jobs", items)}


def _jobs_shown(db: Session, who: Principal, door: str, jobs: list[dict]) -> list[dict]:
    """Log the customers' numbers these job views show (only accepted jobs carry them)."""
    phone_reads.record(
        db, who, door, tickets=[j["ticket"]["id"] for j in jobs if j["ticket"]["phone"]]
    )
    return jobs


@router.get(
    "/assignments/{assignment_id}/job",
    response_model=schemas.FieldJob,
    responses=error_responses(404),
)
def job(assignment_id: int, db: Session = DB, who: Principal = Depends(caller)) -> dict:
    """One offer or job as the technician sees it: customer (once accepted), site, diagnosis,
    parts, history, the visit so far (a technician only for their own open offer or job)."""
    if who.role is Role.technician:
        row = field.own_job(db, _me(db, who), assignment_id)
    else:
        row = answers.get_assignment(db, assignment_id)
    door = "GET /api/v1/dispatch/assignments/{id}/job"
    return _jobs_shown(db, who, door, [field.job_view(db, row)])[0]


@router.post(
    "/assignments/{assignment_id}/actions",
    response_model=schemas.ActionOut,
    responses=error_responses(404, 409),
)
def job_action(
    assignment_id: int,
    body: schemas.ActionIn,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """A technician-app action (accept, decline, on_way, call, arrive, start, pause, resume,
    resolve); a resend with the same action_id returns the first answer and changes nothing."""
    out = field.perform(
        db,
        technician=_me(db, who),
        assignment_id=assignment_id,
        kind=body.kind,
        action_id=body.action_id,
        data=body.data,
        actor=who.actor,
    )
    return out


@router.get("/ratings", response_model=schemas.RatingsOut)
def ratings(db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """Customers' ratings: average and count per technician and per region."""
    return {"technicians": technicians.ratings(db), "regions": rating.by_region(db)}


# The pool, decisions and overrides


@router.get("/pending", response_model=schemas.PendingList)
def pending(db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """The "pending dispatch" queue with each ticket's reason."""
    return {"items": views.pending_queue(db)}


@router.post("/rematch", response_model=schemas.RematchOut, responses=error_responses(409))
def rematch(_: Principal = Depends(caller)) -> dict:
    """Re-match the open pool now (it also runs on events and at least every 30 s); one
    rematch runs at a time, so this waits up to 10 s for a running one."""
    out = tasks.run_rematch("manual", wait_s=10.0)
    if out is None:
        raise ApiError(409, "rematch_running", "Another rematch is still running; retry shortly.")
    return out


@router.get(
    "/tickets/{ticket_id}", response_model=schemas.DispatchState, responses=error_responses(404)
)
def ticket_dispatch(ticket_id: str, db: Session = DB, _: Principal = Depends(caller)) -> dict:
    """A ticket's dispatch: pool place, offers with explanations, decisions, parts, the visit
    and the customer's notifications with their delivery results."""
    out = views.dispatch_state(db, ticket_id)
    visit = field.visit_of(db, out["ticket_id"])
    out["visit"] = field.visit_view(visit) if visit else None
    # The delivery log names the customer by number; the ticket itself has it in full.
    out["customer_notifications"] = [
        {
            **d,
            "recipient": "customer:"
            + (pii.mask_phone(d["recipient"].removeprefix("customer:")) or ""),
        }
        for d in customer_notify.deliveries(db, out["ticket_id"])
    ]
    return out


@router.post(
    "/tickets/{ticket_id}/dispatch",
    response_model=schemas.DispatchState,
    responses=error_responses(404, 409),
)
def dispatch_ticket(
    ticket_id: str,
    body: schemas.DispatchIn | None = None,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Put a ticket into the pool and match it now (force: even if remote fix comes first)."""
    ticket = get_ticket(db=db, ticket_id=ticket_id)
    force = bool(body and body.force)
    if service.queue_ticket(db, ticket, trigger="manual", forced=force, actor=who.actor) is None:
        raise ApiError(
            409,
            "remote_fix_first",
            f"The diagnosis of {ticket.number} says remote fix first; send force=true to dispatch.",
        )
    service.rematch(db, trigger="manual", ticket_ids=[ticket.id])
    return views.dispatch_state(db, ticket.id)


@router.post(
    "/tickets/{ticket_id}/reassign",
    response_model=schemas.AssignmentOut,
    responses=error_responses(404, 409),
)
def reassign(
    ticket_id: str,
    body: schemas.ReassignIn,
    db: Session = DB,
    who: Principal = Depends(caller),
) -> dict:
    """Supervisor override: give the ticket to this technician, with a mandatory reason."""
    row = offers.reassign(
        db,
        ticket_id=ticket_id,
        technician_id=body.technician_id,
        reason=body.reason,
        actor=who.actor,
    )
    return views.assignment_view(row)


router.include_router(parts_router)
