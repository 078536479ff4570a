"""Parts binding: the SKU that fits the device, the nearest warehouse, transfers, release, and
stock that never goes negative or double-reserved, also under 50 concurrent requests."""

import threading
from typing import Any

import pytest

from core.db import session_scope
from core.errors import ApiError
from tests.conftest import Service
from tests.dispatch_support import SITE, active, add_tech, make_ticket, north, state

HW = "EVC2024000123"


def _post(svc: Service, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    resp = svc.client.post(f"/api/v1/dispatch{path}", json=body, headers=svc.headers("supervisor"))
    assert resp.status_code == status, resp.text
    return resp.json()


def _stock(svc: Service, warehouse: str, sku: str) -> dict[str, Any]:
    items = svc.client.get(
        f"/api/v1/dispatch/stock?sku={sku}&warehouse_id={warehouse}",
        headers=svc.headers("supervisor"),
    ).json()["items"]
    return items[0] if items else {}


def _charger_setup(svc: Service) -> None:
    """Two warehouses: the near one holds only v3.1 boards, the far one the v3.2 board."""
    _post(svc, "/warehouses", {"id": "SZ-NS", "name": "南山仓", "lat": north(2)[0], "lon": SITE[1]})
    _post(
        svc, "/warehouses", {"id": "SZ-LG", "name": "龙岗仓", "lat": north(20)[0], "lon": SITE[1]}
    )
    _post(svc, "/skus", {"sku": "EVC-MB-V31", "part": "EVC-MB", "firmware": ["3.1*"]}, 201)
    _post(svc, "/skus", {"sku": "EVC-MB-V32", "part": "EVC-MB", "firmware": ["3.2*"]}, 201)
    _post(svc, "/stock", {"warehouse_id": "SZ-NS", "sku": "EVC-MB-V31", "on_hand": 5}, 200)
    _post(svc, "/stock", {"warehouse_id": "SZ-LG", "sku": "EVC-MB-V32", "on_hand": 2}, 200)
    _post(
        svc,
        "/devices",
        {
            "hardware_id": HW,
            "model": "EVC-11K",
            "product_type": "充电桩",
            "firmware": "3.2.1",
            "compatible_skus": ["EVC-MB-V32", "EVC-GUN-32A"],
            "address": "深圳市南山区科技园充电站3号桩",
            "lat": SITE[0],
            "lon": SITE[1],
        },
    )


def test_sku_choice_follows_device_hardware(service: Service) -> None:
    from dispatch.models import Device
    from dispatch.parts import choose_sku

    _charger_setup(service)
    with session_scope() as db:
        v31 = Device(hardware_id="OLD", model="EVC-11K", firmware="3.1.4", compatible_skus=[])
        v32 = Device(hardware_id="NEW", model="EVC-11K", firmware="3.2.0", compatible_skus=[])
        assert choose_sku(db, "EVC-MB", model=None, firmware=None, device=v31).sku == "EVC-MB-V31"
        assert choose_sku(db, "EVC-MB", model=None, firmware=None, device=v32).sku == "EVC-MB-V32"
        # without a device, the firmware the caller gave decides
        assert choose_sku(db, "EVC-MB", model="EVC-11K", firmware="3.2.5", device=None).sku == (
            "EVC-MB-V32"
        )
        unknown = choose_sku(db, "EVC-MB", model="EVC-11K", firmware="4.0", device=None)
        assert unknown.sku is None and "no SKU" in unknown.why
        # the registry's compatible list is authoritative
        listed = db.get(Device, HW)
        assert (
            choose_sku(db, "EVC-MB", model=None, firmware=None, device=listed).sku == "EVC-MB-V32"
        )


def test_reserve_nearest_transfer_and_release_on_cancel(service: Service, listen) -> None:
    created, arrived = listen("parts.transfer_created"), listen("parts.transfer_arrived")

    _charger_setup(service)
    tech = add_tech(service, "电工", north(1.0), ["低压电工证"])
    # The caller gave no coordinates: the site comes from the device registry (hardware ID).
    tid = make_ticket("EVC-MB-V32", site=None, hardware_id=HW, model="EVC-11K")
    st = state(service, tid)
    [res] = st["reservations"]
    # "main board in stock" nearby is the v3.1 board: the v3.2 one comes from the far warehouse
    assert (res["sku"], res["warehouse_id"], res["status"]) == ("EVC-MB-V32", "SZ-LG", "held")
    assert _stock(service, "SZ-LG", "EVC-MB-V32")["reserved"] == 1
    assert _stock(service, "SZ-NS", "EVC-MB-V31")["reserved"] == 0
    offer = active(service, tid)
    assert offer is not None and offer["technician_id"] == tech["id"]
    assert offer["explanation"]["requirements"]["site"] == list(SITE)
    accepted = service.client.post(
        f"/api/v1/dispatch/assignments/{offer['id']}/accept", headers=service.headers("supervisor")
    )
    assert accepted.status_code == 200
    [order] = state(service, tid)["transfers"]
    assert (order["from_warehouse_id"], order["to_technician_id"]) == ("SZ-LG", tech["id"])
    assert (tid, "EVC-MB-V32") in [(e["ticket_id"], e["order"].sku) for e in created]
    moved = _post(service, f"/transfers/{order['id']}", {"status": "arrived"}, 200)
    assert moved["status"] == "arrived"
    assert (tid, "EVC-MB-V32") in [(e["ticket_id"], e["order"].sku) for e in arrived]
    assert _post(service, f"/transfers/{order['id']}", {"status": "shipped"}, 409)
    # the repair history of the device lists the ticket and who took it
    dev = service.client.get(
        f"/api/v1/dispatch/devices/{HW.lower()}", headers=service.headers("agent")
    )
    assert dev.status_code == 200 and dev.json()["history"][0]["technician"] == "电工"
    # cancelling the ticket gives the board back
    r = service.client.post(
        f"/api/v1/tickets/{tid}/transition",
        json={"status": "cancelled", "reason": "客户自行修好"},
        headers=service.headers("supervisor"),
    )
    assert r.status_code == 200
    st = state(service, tid)  # released at once, not at the next rematch
    assert st["reservations"][0]["status"] == "released"
    assert st["assignments"][-1]["status"] == "released"
    assert _stock(service, "SZ-LG", "EVC-MB-V32") | {"updated_at": None} == {
        "warehouse_id": "SZ-LG",
        "sku": "EVC-MB-V32",
        "on_hand": 2,
        "reserved": 0,
        "available": 2,
        "updated_at": None,
    }


def test_release_consume_and_bad_stock_input(service: Service) -> None:
    _charger_setup(service)
    t1, t2 = make_ticket(None), make_ticket(None)
    r1 = _post(service, "/reservations", {"ticket_id": t1, "sku": "EVC-MB-V32"})
    assert r1["warehouse_id"] == "SZ-LG"
    # the same ticket reserving the same SKU again gets the same reservation, not a second unit
    assert _post(service, "/reservations", {"ticket_id": t1, "sku": "evc-mb-v32"})["id"] == r1["id"]
    r2 = _post(service, "/reservations", {"ticket_id": t2, "sku": "EVC-MB-V32"})
    out = _post(
        service, "/reservations", {"ticket_id": make_ticket(None), "sku": "EVC-MB-V32"}, 409
    )
    assert out["error"]["code"] == "out_of_stock"
    # stock cannot be set below what is reserved, or negative
    _post(service, "/stock", {"warehouse_id": "SZ-LG", "sku": "EVC-MB-V32", "on_hand": 1}, 409)
    _post(service, "/stock", {"warehouse_id": "SZ-LG", "sku": "EVC-MB-V32", "on_hand": -1}, 422)
    _post(service, "/stock", {"warehouse_id": "SZ-LG", "sku": "EVC-MB-V32", "delta": -1}, 409)
    assert _stock(service, "SZ-LG", "EVC-MB-V32")["on_hand"] == 2
    # part not used → back to stock; part fitted → leaves the stock
    assert (
        _post(service, f"/reservations/{r1['id']}/release", {"reason": "没用上"}, 200)["status"]
        == "released"
    )
    assert (
        _post(service, f"/reservations/{r1['id']}/release", {}, 409)["error"]["code"]
        == "reservation_closed"
    )
    assert _post(service, f"/reservations/{r2['id']}/consume", {}, 200)["status"] == "consumed"
    assert _stock(service, "SZ-LG", "EVC-MB-V32") | {"updated_at": 0} == {
        "warehouse_id": "SZ-LG",
        "sku": "EVC-MB-V32",
        "on_hand": 1,
        "reserved": 0,
        "available": 1,
        "updated_at": 0,
    }
    # unknown ids and bad values: clear 4xx
    assert _post(service, "/reservations", {"ticket_id": t1, "sku": "NO-SUCH-SKU"}, 404)
    assert _post(service, "/reservations", {"ticket_id": 987654, "sku": "EVC-MB-V32"}, 404)
    assert _post(service, "/reservations", {"ticket_id": t1, "sku": "EVC-MB-V32", "qty": 0}, 422)
    assert _post(service, "/stock", {"warehouse_id": "NOPE", "sku": "X", "on_hand": 1}, 404)
    assert _post(service, "/warehouses", {"id": "BAD", "lat": 100, "lon": 0}, 422)
    assert _post(
        service, "/devices", {"hardware_id": "X1", "model": "m", "lat": 0, "lon": 999}, 422
    )
    assert _post(service, "/reservations/424242/release", {}, 404)
    assert _post(service, "/transfers/424242", {"status": "arrived"}, 404)


def test_csv_import_is_all_or_nothing(service: Service) -> None:
    h = service.headers("supervisor")
    good = (
        "name,home_lat,home_lon,skills,shifts,regions\n"
        "张三,22.54,113.95,低压电工证|高压电工证,1-5@08:00-18:00,深圳\n"
    )
    resp = service.client.post(
        "/api/v1/dispatch/import/technicians", files={"file": ("t.csv", good.encode())}, headers=h
    )
    assert resp.status_code == 200 and resp.json()["written"] == 1
    techs = service.client.get("/api/v1/dispatch/technicians", headers=h).json()["items"]
    assert techs[0]["skills"] == ["低压电工证", "高压电工证"]
    assert techs[0]["shifts"] == [{"start": "08:00", "end": "18:00", "days": [1, 2, 3, 4, 5]}]
    bad = "name,home_lat,home_lon\n李四,22.5,113.9\n王五,95,113.9\n"
    resp = service.client.post(
        "/api/v1/dispatch/import/technicians", files={"file": ("t.csv", bad.encode())}, headers=h
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["details"]["errors"][0]["row"] == 3
    assert len(service.client.get("/api/v1/dispatch/technicians", headers=h).json()["items"]) == 1
    stock = "warehouse_id,sku,on_hand\nW1,S1,-3\n"
    service.client.post(
        "/api/v1/dispatch/import/warehouses",
        files={"file": ("w.csv", b"id,name,lat,lon\nW1,One,22.5,113.9\n")},
        headers=h,
    )
    resp = service.client.post(
        "/api/v1/dispatch/import/stock", files={"file": ("s.csv", stock.encode())}, headers=h
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["details"]["errors"][0]["code"] == "negative_stock"


def test_fifty_parallel_reservations_of_the_last_ten_units(service: Service) -> None:
    if service.backend != "postgresql":
        pytest.skip("the concurrency floor is stated for PostgreSQL")
    from dispatch import parts

    _post(service, "/warehouses", {"id": "W", "name": "仓", "lat": SITE[0], "lon": SITE[1]})
    _post(service, "/stock", {"warehouse_id": "W", "sku": "LAST-10", "on_hand": 10}, 200)
    tickets = [make_ticket(None) for _ in range(50)]
    barrier = threading.Barrier(50)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(ticket_id: int) -> None:
        barrier.wait()
        try:
            with session_scope() as db:
                parts.reserve(db, ticket_id=ticket_id, sku="LAST-10", actor="test", near=SITE)
            outcome = "ok"
        except ApiError as exc:
            outcome = exc.code
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(t,)) for t in tickets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 10
    assert results.count("out_of_stock") == 40
    row = _stock(service, "W", "LAST-10")
    assert (row["on_hand"], row["reserved"], row["available"]) == (10, 10, 0)
    held = service.client.get(
        "/api/v1/dispatch/reservations?status=held", headers=service.headers("supervisor")
    ).json()["items"]
    assert len(held) == 10 and len({r["ticket_id"] for r in held}) == 10
