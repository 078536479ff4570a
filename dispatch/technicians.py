"""The technician registry: who they are, where they are, what they hold, when they work."""

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock, pii, webhook_targets
from core.auth import ApiToken, Role
from core.errors import ApiError, not_found
from core.settings import get_settings
from dispatch.geofence import GeoIndex, check_coordinates
from dispatch.models import ACTIVE_ASSIGNMENT, Assignment, Technician, TechnicianLocation
from tickets.models import Ticket

EDITABLE = (
    "name",
    "phone",
    "home_lat",
    "home_lon",
    "skills",
    "level",
    "shifts",
    "regions",
    "available",
    "active",
    "webhook_url",
    "notify_channel",
    "api_token_id",
)
NULLABLE = ("phone", "webhook_url", "api_token_id")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _coords(lat: Any, lon: Any) -> None:
    try:
        check_coordinates(lat, lon)
    except ValueError as exc:
        raise ApiError(422, "invalid_coordinates", str(exc)) from exc


def _check_shifts(shifts: Any) -> None:
    """Shifts are [{"start": "HH:MM", "end": "HH:MM", "days": [1..7]}]; end ≤ start = overnight."""
    if not isinstance(shifts, list):
        raise ApiError(422, "invalid_shifts", "shifts must be a list")
    for s in shifts:
        if (
            not isinstance(s, dict)
            or not HHMM.match(str(s.get("start")))
            or not HHMM.match(str(s.get("end")))
        ):
            raise ApiError(422, "invalid_shifts", f"shift {s!r} needs start and end as HH:MM")
        days = s.get("days")
        if days is not None and (
            not isinstance(days, list) or not all(isinstance(d, int) and 1 <= d <= 7 for d in days)
        ):
            raise ApiError(422, "invalid_shifts", f"shift days {days!r} must be ISO weekdays 1..7")


def _check_token(db: Session, token_id: int | None, tech_id: int | None) -> None:
    if token_id is None:
        return
    token = db.get(ApiToken, token_id)
    if token is None or token.revoked:
        raise ApiError(422, "unknown_token", f"No live API token with id {token_id}.")
    if token.role not in (Role.technician.value,):
        raise ApiError(422, "wrong_role", f"Token {token_id} is not a technician token.")
    owner = db.scalar(select(Technician.id).where(Technician.api_token_id == token_id))
    if owner is not None and owner != tech_id:
        raise ApiError(409, "token_taken", f"Token {token_id} already acts as technician {owner}.")


def _validate(db: Session, values: dict[str, Any], tech_id: int | None) -> None:
    if "home_lat" in values or "home_lon" in values:
        _coords(values.get("home_lat"), values.get("home_lon"))
    if "shifts" in values:
        _check_shifts(values["shifts"])
    for name in ("skills", "regions"):
        if name in values and (
            not isinstance(values[name], list) or not all(isinstance(x, str) for x in values[name])
        ):
            raise ApiError(422, f"invalid_{name}", f"{name} must be a list of text")
    if "level" in values and values["level"] not in (1, 2, 3, 4, 5):
        raise ApiError(422, "invalid_level", "level must be 1..5")
    if "api_token_id" in values:
        _check_token(db, values["api_token_id"], tech_id)
    if "webhook_url" in values:
        webhook_targets.check_configured(values["webhook_url"], field="webhook_url")


def create(db: Session, values: dict[str, Any]) -> Technician:
    """Register a technician (their position starts at the home base)."""
    values = {k: v for k, v in values.items() if k in EDITABLE}
    if not values.get("name"):
        raise ApiError(422, "invalid_name", "name is required")
    if "home_lat" not in values or "home_lon" not in values:
        raise ApiError(422, "invalid_coordinates", "home_lat and home_lon are required")
    values.setdefault("skills", [])
    values.setdefault("shifts", [])
    values.setdefault("regions", [])
    _validate(db, values, None)
    now = clock.now()
    tech = Technician(
        **values, lat=values["home_lat"], lon=values["home_lon"], created_at=now, updated_at=now
    )
    db.add(tech)
    db.flush()
    return tech


def get(db: Session, tech_id: int, *, lock: bool = False) -> Technician:
    """A technician by id, or a 404."""
    tech = db.get(Technician, tech_id, with_for_update=lock)
    if tech is None:
        raise not_found("technician", tech_id)
    return tech


def update(db: Session, tech_id: int, changes: dict[str, Any]) -> Technician:
    """Change registry fields of a technician."""
    tech = get(db, tech_id)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ApiError(
            422, "unknown_fields", f"cannot change {unknown}; editable: {list(EDITABLE)}"
        )
    cleared = sorted(k for k, v in changes.items() if v is None and k not in NULLABLE)
    if cleared:
        raise ApiError(422, "required_fields", f"{cleared} cannot be empty")
    merged = {"home_lat": tech.home_lat, "home_lon": tech.home_lon, **changes}
    _validate(
        db, {k: v for k, v in merged.items() if k in changes or k.startswith("home_")}, tech.id
    )
    for name, value in changes.items():
        setattr(tech, name, value)
    tech.updated_at = clock.now()
    db.flush()
    return tech


def record_location(
    db: Session, tech: Technician, lat: float, lon: float, accuracy_m: float | None = None
) -> TechnicianLocation:
    """Store a reported position and make it the technician's current one."""
    _coords(lat, lon)
    now = clock.now()
    row = TechnicianLocation(technician_id=tech.id, at=now, lat=lat, lon=lon, accuracy_m=accuracy_m)
    db.add(row)
    tech.lat, tech.lon, tech.located_at = lat, lon, now
    db.flush()
    return row


def locations(db: Session, tech_id: int, limit: int = 100) -> list[TechnicianLocation]:
    """Recent reported positions, newest first."""
    get(db, tech_id)
    stmt = (
        select(TechnicianLocation)
        .where(TechnicianLocation.technician_id == tech_id)
        .order_by(TechnicianLocation.id.desc())
        .limit(limit)
    )
    return list(db.scalars(stmt))


def list_all(
    db: Session, *, region: str | None = None, skill: str | None = None, active_only: bool = False
) -> list[Technician]:
    """Technicians, optionally only those covering a region or holding a skill."""
    stmt = select(Technician).order_by(Technician.id)
    if active_only:
        stmt = stmt.where(Technician.active.is_(True))
    rows = list(db.scalars(stmt))
    if region:
        rows = [t for t in rows if not t.regions or region in t.regions]
    if skill:
        rows = [t for t in rows if skill in t.skills]
    return rows


def near(db: Session, lat: float, lon: float, radius_km: float) -> list[tuple[Technician, float]]:
    """Active technicians within radius_km of a point, nearest first (the geofence query)."""
    _coords(lat, lon)
    if not radius_km > 0:
        raise ApiError(422, "invalid_radius", "radius_km must be positive")
    techs = list_all(db, active_only=True)
    pos, dist = GeoIndex([t.lat for t in techs], [t.lon for t in techs]).within(lat, lon, radius_km)
    return [(techs[p], float(d)) for p, d in zip(pos, dist, strict=True)]


def local_now(now: datetime | None = None) -> datetime:
    """The dispatch timezone's wall-clock time."""
    return (now or clock.now()).astimezone(ZoneInfo(get_settings().dispatch_timezone))


def on_shift(shifts: list[dict[str, Any]], local: datetime) -> bool:
    """Whether a technician with these shifts works at local time (no shifts = always)."""
    if not shifts:
        return True
    hhmm = local.strftime("%H:%M")
    today = local.isoweekday()
    yesterday = 7 if today == 1 else today - 1
    for s in shifts:
        days = s.get("days") or list(range(1, 8))
        start, end = s["start"], s["end"]
        if start < end:
            if today in days and start <= hhmm < end:
                return True
        elif (today in days and hhmm >= start) or (yesterday in days and hhmm < end):
            return True  # overnight shift, started today or yesterday
    return False


def day_start(now: datetime | None = None) -> datetime:
    """Local midnight of today, as an aware datetime (the daily cap counts from here)."""
    local = local_now(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def loads_today(db: Session, tech_ids: list[int] | None = None) -> dict[int, int]:
    """Tickets each technician holds from today (offers still open count too)."""
    since = day_start()
    stmt = (
        select(Assignment.technician_id, func.count())
        .where(Assignment.status.in_(ACTIVE_ASSIGNMENT), Assignment.offered_at >= since)
        .group_by(Assignment.technician_id)
    )
    if tech_ids is not None:
        stmt = stmt.where(Assignment.technician_id.in_(tech_ids))
    return {tid: n for tid, n in db.execute(stmt)}


def view(tech: Technician, load: int | None = None) -> dict[str, Any]:
    """API representation of a technician."""
    out = {
        "id": tech.id,
        "name": tech.name,
        "phone": tech.phone,
        "home": {"lat": tech.home_lat, "lon": tech.home_lon},
        "location": {"lat": tech.lat, "lon": tech.lon, "at": tech.located_at},
        "skills": tech.skills,
        "level": tech.level,
        "shifts": tech.shifts,
        "regions": tech.regions,
        "available": tech.available,
        "active": tech.active,
        "on_shift_now": on_shift(tech.shifts, local_now()),
        "webhook_url": tech.webhook_url,
        "notify_channel": tech.notify_channel,
        "api_token_id": tech.api_token_id,
    }
    if load is not None:
        out["tickets_today"] = load
    return out


def by_need(out: dict[str, Any], role: Role) -> dict[str, Any]:
    """A technician's view as role may see it: agents get the name, skills, level, regions
    and availability, not the phone (masked), home or position; only supervisors see GPS
    positions, and only admins the webhook URL (its key is a secret; others `webhook_set`)."""
    out = {**out, "webhook_set": bool(out.get("webhook_url"))}
    if not pii.may_see(role, "technician_contact"):
        out["phone"] = pii.mask_phone(out.get("phone"))
        out["home"] = None
    if not pii.may_see(role, "gps"):
        out["location"] = None
    if not pii.may_see(role, "secrets"):
        out["webhook_url"] = None
    return out


def ratings(db: Session) -> list[dict[str, Any]]:
    """Average customer rating and count per technician (of the tickets they resolved)."""
    rows = db.execute(
        select(
            Assignment.technician_id,
            Technician.name,
            func.avg(Ticket.rating_score),
            func.count(Ticket.rating_score),
        )
        .join(Ticket, Ticket.id == Assignment.ticket_id)
        .join(Technician, Technician.id == Assignment.technician_id)
        .where(Assignment.status == "accepted", Ticket.rating_score.is_not(None))
        .group_by(Assignment.technician_id, Technician.name)
        .order_by(Assignment.technician_id)
    )
    return [
        {"technician_id": t, "name": n, "average": round(float(a), 2), "count": c}
        for t, n, a, c in rows
    ]
