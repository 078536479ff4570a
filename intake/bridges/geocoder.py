"""The geocoder connector: an outside web API (AMap, Tencent, a company gazetteer …) that turns
a ticket's address into coordinates, so a ticket that only has an address can be dispatched.

Configured by settings: HOTLINE_GEOCODER_URL (a template with {address}, {region} and ${ENV}
keys, as bridge connectors), HOTLINE_GEOCODER_LOCATION_PATH (dotted path to the "lng,lat"
answer), HOTLINE_GEOCODER_TIMEOUT_S and HOTLINE_GEOCODER_DATUM. The call runs on the durable
queue after the ticket is committed; a slow, failing or empty answer leaves the ticket waiting
with the reason in its history and in the dispatch queue.
"""

import logging
import math
from urllib.parse import quote

import httpx
from sqlalchemy.orm import Session

from core import events, notify
from core.db import session_scope
from core.settings import get_settings
from intake.bridges.connectors import fill_template, pick
from tickets import location
from tickets.events import TicketLocationNeeded
from tickets.models import Ticket
from tickets.states import FINAL

log = logging.getLogger("hotline.geocoder")

# Krasovsky 1940 ellipsoid of the GCJ-02 obfuscation (the published formula).
_A = 6378245.0
_EE = 0.00669342162296594323


class GeocodeError(Exception):
    """The geocoder gave no usable coordinates; the message says why, for people."""


def _offset(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 minus WGS-84 (degrees) at a WGS-84 point; zero outside mainland China."""
    if not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271):
        return 0.0, 0.0
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    waves = (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += waves + (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * pi) + 320.0 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += waves + (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = lat / 180.0 * pi
    magic = 1 - _EE * math.sin(rad) ** 2
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * math.sqrt(magic)) * pi)
    dlon = (dlon * 180.0) / (_A / math.sqrt(magic) * math.cos(rad) * pi)
    return dlat, dlon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 ("Mars") coordinates Chinese web maps use for a WGS-84 point."""
    dlat, dlon = _offset(lat, lon)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """The WGS-84 point whose GCJ-02 coordinates these are (the formula has no closed
    inverse; a few fixed-point steps bring it below a millimetre)."""
    wlat, wlon = lat, lon
    for _ in range(10):
        glat, glon = wgs84_to_gcj02(wlat, wlon)
        wlat, wlon = wlat - (glat - lat), wlon - (glon - lon)
        if abs(glat - lat) < 1e-9 and abs(glon - lon) < 1e-9:
            break
    return wlat, wlon


def configured() -> bool:
    """Whether a geocoder URL is set."""
    return bool(get_settings().geocoder_url)


def _coordinates(value: object) -> tuple[float, float]:
    """(lat, lon) from a "lng,lat" string, a [lng, lat] list or a {"lat", "lng"} object."""
    if isinstance(value, str):
        parts: list[object] = value.split(",")
    elif isinstance(value, list):
        parts = value
    elif isinstance(value, dict):
        parts = [value.get("lng", value.get("lon")), value.get("lat")]
    else:
        raise GeocodeError("no location in the answer")
    try:
        lon, lat = (float(p) for p in parts)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise GeocodeError(f"unreadable location {value!r}") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise GeocodeError(f"location out of range: {value!r}")
    return lat, lon


def geocode(address: str, region: str | None = None) -> tuple[float, float]:
    """WGS-84 (lat, lon) of an address from the configured geocoder; GeocodeError says why not."""
    settings = get_settings()
    if not settings.geocoder_url:
        raise GeocodeError("no geocoder configured")
    context = {"address": quote(address, safe=""), "region": quote(region or "", safe="")}
    url = fill_template(settings.geocoder_url, context)
    try:
        resp = httpx.get(url, timeout=settings.geocoder_timeout_s)
        if resp.status_code // 100 != 2:
            raise GeocodeError(f"HTTP {resp.status_code}: {resp.text[:200]}")
        doc = resp.json()
    except httpx.TimeoutException as exc:
        raise GeocodeError(f"no answer within {settings.geocoder_timeout_s:g} s") from exc
    except (httpx.HTTPError, ValueError) as exc:
        raise GeocodeError(f"{type(exc).__name__}: {exc}"[:300]) from exc
    value = pick(doc, settings.geocoder_location_path)
    if value in (None, "", []):
        # AMap says why in `info`, Tencent and others in `message`.
        why = (doc.get("info") or doc.get("message")) if isinstance(doc, dict) else None
        raise GeocodeError("no result" + (f" ({why})" if why and why != "OK" else ""))
    lat, lon = _coordinates(value)
    if settings.geocoder_datum == "gcj02":
        lat, lon = gcj02_to_wgs84(lat, lon)
    return lat, lon


# An outbox job, retried with backoff: placing the ticket loses a race now and then with other
# work on the just-created ticket (its version changed under us: 409); the retry reads it
# again. A second run finds the ticket placed ("cached") and changes nothing.
@notify.handler("geocode", lease_s=lambda: get_settings().geocoder_timeout_s + 10)
def geocode_task(ticket_id: int, address: str) -> str:
    """Worker side: geocode the ticket's address, remember it and place the ticket (dispatch
    then re-matches it); returns the outcome. No database transaction is open during the call."""
    with session_scope() as db:
        ticket = db.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None or ticket.address != address or ticket.status in FINAL:
            return "stale"  # the address was edited again (that edit queued its own) or closed
        hit = location.known(db, address)
        if hit is not None:  # learned since it was queued (its device, another ticket's geocode)
            location.place(db, ticket, hit.latitude, hit.longitude, source=hit.source)
            return "cached"
        region, before = ticket.region, (ticket.latitude, ticket.longitude)
    try:
        lat, lon = geocode(address, region)
    except GeocodeError as exc:
        log.warning("ticket %s: address not geocoded: %s", ticket_id, exc)
        with session_scope() as db:
            ticket = db.get(Ticket, ticket_id)
            if ticket is not None and ticket.address == address:
                location.not_located(db, ticket, str(exc))
        return f"failed: {exc}"
    with session_scope() as db:
        location.learn(db, address, lat, lon, "geocoder")
        ticket = db.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None or ticket.address != address or ticket.status in FINAL:
            return "stale"
        if (ticket.latitude, ticket.longitude) != before:
            return "stale"  # someone set the coordinates during the call: theirs stand
        location.place(db, ticket, lat, lon, source="geocoder")
    return "located"


@events.subscribe(TicketLocationNeeded)
def geocode_after_commit(event: TicketLocationNeeded, *, db: Session) -> None:
    """Geocode an address nobody knows yet, once the ticket is committed (no geocoder: the
    ticket waits for coordinates from a person or its device)."""
    ticket, address = event.ticket, event.address
    if configured():
        notify.defer(
            db=db, handler="geocode", args=[ticket.id, address], ref_type="ticket", ref_id=ticket.id
        )
