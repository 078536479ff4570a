"""Tickets that only have an address get coordinates (geocoder or the address cache) and are
dispatched; a failing geocoder leaves them waiting with the reason, nothing else broken."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import Service
from tests.dispatch_support import KM, SITE, add_tech, make_ticket, state
from tests.sla_support import wait_for

# Public test vectors of the GCJ-02 formula (eviltransform): WGS-84 → GCJ-02.
VECTORS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]
WGS, GCJ = VECTORS[2]
ADDRESS = "北京市朝阳区望京街10号"
TEXT = "门锁验证成功但是门打不开，电机空转，地址" + ADDRESS
BASIC = ["家电维修基础"]  # what LOCK-MOTOR-JAM requires


class AMap:
    """A local stand-in for AMap's geocoding API; records every request. `mode`: ok, slow
    (answers after 1.5 s), bad_key (AMap's INVALID_USER_KEY answer)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, list[str]]] = []
        self.mode = "ok"
        amap = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                amap.requests.append(parse_qs(urlsplit(self.path).query))
                if amap.mode == "slow":
                    time.sleep(1.5)
                if amap.mode == "bad_key":
                    doc: dict[str, Any] = {"status": "0", "info": "INVALID_USER_KEY"}
                else:
                    doc = {
                        "status": "1",
                        "info": "OK",
                        "count": "1",
                        "geocodes": [{"location": f"{GCJ[1]:.6f},{GCJ[0]:.6f}"}],
                    }
                out = json.dumps(doc).encode()
                try:
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # the client gave up (timeout)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/v3/geocode/geo?key=${{AMAP_KEY}}&address={{address}}"


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    from core.settings import get_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.fixture
def amap(monkeypatch: pytest.MonkeyPatch) -> Iterator[AMap]:
    """The fake AMap, configured as the geocoder (key from ${AMAP_KEY})."""
    from core.settings import get_settings

    server = AMap()
    _settings(
        monkeypatch,
        AMAP_KEY="k-123",
        HOTLINE_GEOCODER_URL=server.url,
        HOTLINE_GEOCODER_TIMEOUT_S="0.5",
    )
    yield server
    server.server.shutdown()
    monkeypatch.undo()
    get_settings.cache_clear()


def _intake(svc: Service, text: str = TEXT) -> dict[str, Any]:
    r = svc.client.post(
        "/api/v1/intake/text", json={"text": text, "channel": "app"}, headers=svc.headers("agent")
    )
    assert r.status_code == 201, r.text
    return r.json()


def _ticket(svc: Service, tid: int) -> dict[str, Any]:
    r = svc.client.get(f"/api/v1/tickets/{tid}", headers=svc.headers("agent"))
    assert r.status_code == 200, r.text
    return r.json()


def _history(svc: Service, tid: int) -> list[dict[str, Any]]:
    r = svc.client.get(f"/api/v1/tickets/{tid}/history", headers=svc.headers("agent"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _offered_to(svc: Service, tid: int) -> int | None:
    offers = [a for a in state(svc, tid)["assignments"] if a["status"] == "offered"]
    return offers[-1]["technician_id"] if offers else None


def test_gcj02_formula_matches_published_vectors() -> None:
    from intake.bridges.geocoder import gcj02_to_wgs84, wgs84_to_gcj02

    for wgs, gcj in VECTORS:
        assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)
        assert gcj02_to_wgs84(*gcj) == pytest.approx(wgs, abs=1e-7)  # ~1 cm
    assert gcj02_to_wgs84(48.8584, 2.2945) == (48.8584, 2.2945)  # no offset outside China


def test_address_is_geocoded_then_dispatched_and_cached(service: Service, amap: AMap) -> None:
    north = (WGS[0] + 1.0 * KM, WGS[1])
    near = add_tech(service, "望京师傅", north, BASIC)
    add_tech(service, "太远的", (WGS[0] + 7.0 * KM, WGS[1]), BASIC)
    t = _intake(service)
    assert t["fields"]["address"] == ADDRESS and t["diagnosis"]["kb_id"] == "LOCK-MOTOR-JAM"
    # Placed by the worker after commit, then matched at once (not at the next sweep).
    wait_for(lambda: _offered_to(service, t["id"]), timeout=10)
    assert _offered_to(service, t["id"]) == near["id"]
    got = _ticket(service, t["id"])
    # AMap answered GCJ-02; the ticket holds the WGS-84 point technicians' phones report.
    assert (got["fields"]["latitude"], got["fields"]["longitude"]) == pytest.approx(WGS, abs=1e-6)
    assert got["status"] == "dispatched"
    placed = [e for e in _history(service, t["id"]) if e["actor"] == "system:geocoder"]
    assert placed and "geocoder" in placed[0]["reason"]
    assert amap.requests == [{"key": ["k-123"], "address": [ADDRESS]}]
    decisions = state(service, t["id"])["decisions"]
    assert any(d["trigger"] == "located" and d["outcome"] == "offered" for d in decisions)

    # The same address again: placed from the cache inside the intake request, so dispatch
    # sees the site at once; no second HTTP call.
    again = _intake(service)
    assert again["status"] == "dispatched"
    assert (again["fields"]["latitude"], again["fields"]["longitude"]) == pytest.approx(WGS)
    assert len(amap.requests) == 1

    # The technician resolves the first ticket on site, 200 m from the geocoded point: their
    # GPS position is learned for the address and places the next ticket there.
    c, sup = service.client, service.headers("supervisor")
    offer = [a for a in state(service, t["id"])["assignments"] if a["status"] == "offered"][-1]
    assert c.post(f"/api/v1/dispatch/assignments/{offer['id']}/accept", headers=sup).is_success
    on_site = (WGS[0] + 0.2 * KM, WGS[1])
    r = c.post(
        f"/api/v1/dispatch/technicians/{near['id']}/location",
        json={"lat": on_site[0], "lon": on_site[1]},
        headers=sup,
    )
    assert r.status_code == 201, r.text
    for status in ("in_progress", "resolved"):
        r = c.post(f"/api/v1/tickets/{t['id']}/transition", json={"status": status}, headers=sup)
        assert r.status_code == 200, r.text
    third = _intake(service)
    assert (third["fields"]["latitude"], third["fields"]["longitude"]) == pytest.approx(on_site)
    placed = [e for e in _history(service, third["id"]) if e["actor"] == "system:geocoder"]
    assert "from technician" in placed[0]["reason"]
    assert len(amap.requests) == 1


@pytest.mark.parametrize("mode,why", [("bad_key", "INVALID_USER_KEY"), ("slow", "within 0.5 s")])
def test_geocoder_failure_leaves_ticket_waiting_with_reason(
    service: Service, amap: AMap, mode: str, why: str
) -> None:
    amap.mode = mode
    add_tech(service, "南山师傅", (SITE[0] + 1.0 * KM, SITE[1]), BASIC)
    t = _intake(service)
    assert t["status"] == "triaged"  # intake never waits for the geocoder

    def noted() -> list[dict[str, Any]]:
        return [
            e for e in _history(service, t["id"]) if "address not geocoded" in (e["reason"] or "")
        ]

    note = wait_for(noted, timeout=10)[0]
    assert note["actor"] == "system:geocoder" and why in note["reason"]
    st = state(service, t["id"])
    assert st["status"] == "triaged" and st["pending"] is not None and not st["assignments"]
    assert any(
        d["outcome"] == "pending"
        and d["reason"].startswith("address not geocoded")
        and why in d["reason"]
        for d in st["decisions"]
    )
    assert _ticket(service, t["id"])["fields"].get("latitude") is None
    # Nothing else is affected: a ticket with coordinates is dispatched as always.
    other = make_ticket("LOCK-MOTOR-JAM")
    assert state(service, other)["status"] == "dispatched"


def test_known_address_is_placed_offline_without_a_geocoder(service: Service) -> None:
    from core.settings import get_settings

    assert get_settings().geocoder_url is None
    tech = add_tech(service, "望京师傅", (WGS[0] + 1.0 * KM, WGS[1]), BASIC)
    first = _intake(service)
    assert first["status"] == "triaged"
    assert "no site coordinates" in state(service, first["id"])["pending"]["reason"]
    sup = service.headers("supervisor")
    bad = service.client.patch(
        f"/api/v1/tickets/{first['id']}", json={"fields": {"latitude": 123}}, headers=sup
    )
    assert bad.status_code == 422 and state(service, first["id"])["status"] == "triaged"
    # A supervisor sets the coordinates: the ticket is dispatched now and the address learned.
    r = service.client.patch(
        f"/api/v1/tickets/{first['id']}",
        json={"fields": {"latitude": WGS[0], "longitude": WGS[1]}, "reason": "called back"},
        headers=sup,
    )
    assert r.status_code == 200, r.text
    assert state(service, first["id"])["status"] == "dispatched"
    assert _offered_to(service, first["id"]) == tech["id"]
    second = _intake(service)
    assert second["status"] == "dispatched"
    assert (second["fields"]["latitude"], second["fields"]["longitude"]) == pytest.approx(WGS)
    placed = [e for e in _history(service, second["id"]) if e["actor"] == "system:geocoder"]
    assert placed and "from ticket" in placed[0]["reason"]
    # A supervisor corrects the first ticket's site (address and coordinates: learned); an
    # agent then moves the second ticket to that address: it is placed there from the cache.
    other, there = "北京市海淀区中关村大街1号", (39.98, 116.31)
    r = service.client.patch(
        f"/api/v1/tickets/{first['id']}",
        json={"fields": {"address": other, "latitude": there[0], "longitude": there[1]}},
        headers=sup,
    )
    assert r.status_code == 200, r.text
    r = service.client.patch(
        f"/api/v1/tickets/{second['id']}",
        json={"fields": {"address": other}},
        headers=service.headers("agent"),
    )
    assert r.status_code == 200, r.text
    got = _ticket(service, second["id"])["fields"]
    assert (got["latitude"], got["longitude"]) == pytest.approx(there)
    from core.db import session_scope
    from tickets.location import known

    with session_scope() as db:
        hit = known(db, ADDRESS.replace("10", "１０"))  # full-width digits: the same address
        assert hit is not None and hit.source == "ticket"
        assert (hit.latitude, hit.longitude) == pytest.approx(WGS)


def test_device_site_is_learned_for_its_address(service: Service, amap: AMap) -> None:
    from core.db import session_scope
    from tickets.location import known

    add_tech(service, "南山师傅", (SITE[0] + 1.0 * KM, SITE[1]), BASIC)
    device = {"hardware_id": "LK-GEO-1", "model": "X5", "lat": SITE[0], "lon": SITE[1]}
    r = service.client.post(
        "/api/v1/dispatch/devices", json=device, headers=service.headers("supervisor")
    )
    assert r.status_code == 201, r.text
    tid = make_ticket("LOCK-MOTOR-JAM", site=None, hardware_id="LK-GEO-1")
    assert state(service, tid)["status"] == "dispatched"  # the device's site, as before
    # The queued geocode finds the address learned from the device: no HTTP call.
    got = wait_for(lambda: _ticket(service, tid)["fields"].get("latitude"), timeout=10)
    assert got == pytest.approx(SITE[0]) and amap.requests == []
    with session_scope() as db:
        hit = known(db, "深圳市南山区科技园1栋")
        assert hit is not None and hit.source == "device"
