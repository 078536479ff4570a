"""Dispatch through the running service: filters, explanations, push cards, answers, overrides."""

from datetime import timedelta

from core import clock
from core.auth import Role, create_token
from core.db import session_scope
from tests.conftest import Service
from tests.dispatch_support import SITE, active, add_tech, make_ticket, north, state
from tests.sla_support import FakeClock, Recorder, wait_for

BASIC = ["家电维修基础"]  # what LOCK-MOTOR-JAM requires


def _tech_token(svc: Service, tech_id: int) -> dict[str, str]:
    with session_scope() as db:
        plain = create_token(db=db, name=f"tech-{tech_id}", role=Role.technician)
        from core.auth import lookup_token

        token_id = lookup_token(db=db, plain=plain).id  # type: ignore[union-attr]
    resp = svc.client.patch(
        f"/api/v1/dispatch/technicians/{tech_id}",
        json={"api_token_id": token_id},
        headers=svc.headers("supervisor"),
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {plain}"}


def _off_shift_now() -> list[dict]:
    from dispatch.technicians import local_now

    later = local_now() + timedelta(hours=3)
    end = later + timedelta(hours=1)
    return [{"start": f"{later:%H}:00", "end": f"{end:%H}:00"}]


def test_auto_dispatch_filters_explanation_and_push_card(service: Service) -> None:
    rec = Recorder()
    try:
        hook = rec.url("/wecom")
        best = add_tech(service, "李师傅", north(1.0), BASIC, webhook_url=hook)
        add_tech(service, "没证的", north(0.3), ["空调"], webhook_url=hook)
        add_tech(service, "太远的", north(7.0), BASIC, webhook_url=hook)
        add_tech(service, "休息的", north(0.5), BASIC, available=False)
        add_tech(service, "下班的", north(0.6), BASIC, shifts=_off_shift_now())
        farther = add_tech(service, "远一点", north(3.0), BASIC, level=3)
        tid = make_ticket("LOCK-MOTOR-JAM")
        st = state(service, tid)
        assert st["status"] == "dispatched"
        offer = active(service, tid)
        assert offer is not None and offer["technician_id"] == best["id"]
        assert offer["status"] == "offered"
        expl = offer["explanation"]
        why = {c["technician_id"]: c.get("removed_by") for c in expl["candidates"]}
        names = {t["id"]: t["name"] for t in _techs(service)}
        removed = {names[k]: v for k, v in why.items()}
        assert removed["没证的"] == "skills"
        assert removed["太远的"] == "radius"
        assert removed["休息的"] == "unavailable"
        assert removed["下班的"] == "off_shift"
        assert removed["李师傅"] is None and removed["远一点"] is None
        scores = {c["technician_id"]: c.get("score") for c in expl["candidates"]}
        assert scores[best["id"]] > scores[farther["id"]]
        assert expl["requirements"]["skills"] == BASIC
        assert expl["requirements"]["radius_km"] == 5.0
        # the ticket history says who dispatched it and why
        hist = service.client.get(
            f"/api/v1/tickets/{tid}/history", headers=service.headers("agent")
        ).json()["items"]
        moved = [e for e in hist if e["to_status"] == "dispatched"]
        assert moved and moved[0]["actor"] == "system:dispatch" and "李师傅" in moved[0]["reason"]
        # the technician's webhook receives the card (delivered by a worker, after commit)
        cards = wait_for(lambda: rec.to("/wecom"))
        card = cards[0]["template_card"]
        assert cards[0]["msgtype"] == "template_card"
        links = {j["title"]: j["url"] for j in card["jump_list"]}
        assert "uri.amap.com/navigation" in links["导航到现场"]
        assert f"{SITE[1]:.6f},{SITE[0]:.6f}" in links["导航到现场"]
        # the card opens the technician app's offer page (a GET; the page asks before acting)
        assert links["接单"].endswith(f"/console/tech/offers/{offer['id']}?answer=accept")
        assert card["card_action"]["url"].endswith(f"/console/tech/offers/{offer['id']}")
        rows = {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}
        assert "LOCK-MTR-03" in rows["备件"]
        assert "锁体" in card["quote_area"]["quote_text"]  # the KB resolution
    finally:
        rec.close()


def test_a_push_card_carries_the_callers_words_without_their_number(service: Service) -> None:
    """The card is an offer (and may go to a group robot): the caller's words with the number
    masked, so no full number leaves the service before the technician accepts, and none is
    in the read log."""
    rec = Recorder()
    try:
        add_tech(service, "李师傅", north(1.0), BASIC, webhook_url=rec.url("/wecom"))
        said = make_ticket(text="门锁电机空转打不开，回电 138 0013 8000", phone="13800138000")
        (card,) = wait_for(lambda: rec.to("/wecom") or None)
        words = card["template_card"]["sub_title_text"]
        assert "门锁电机空转打不开" in words and "138****8000" in words
        assert "0013" not in str(card) and "13800138000" not in str(card)
        resp = service.client.get(
            f"/api/v1/audit/phone-reads?subject=ticket&subject_id={said}",
            headers=service.headers("admin"),
        )
        assert resp.status_code == 200, resp.text
        assert not [r for r in resp.json()["items"] if r["actor"].startswith("technician:")]
    finally:
        rec.close()


def _techs(svc: Service) -> list[dict]:
    return svc.client.get("/api/v1/dispatch/technicians", headers=svc.headers("supervisor")).json()[
        "items"
    ]


def test_pending_queue_with_reason_then_picked_up_on_event(service: Service) -> None:
    tid = make_ticket("EVC-OVERTEMP")  # needs 高压电工证
    pend = service.client.get("/api/v1/dispatch/pending", headers=service.headers("agent")).json()
    mine = [p for p in pend["items"] if p["ticket_id"] == tid]
    assert mine and "no technician within 5 km" in mine[0]["reason"]
    assert state(service, tid)["status"] == "triaged"
    tech = add_tech(service, "低压电工", north(1.0), ["低压电工证"])
    service.client.post("/api/v1/dispatch/rematch", headers=service.headers("supervisor"))
    reason = state(service, tid)["pending"]["reason"]
    assert "nobody qualifies" in reason and "skills" in reason
    decisions = state(service, tid)["decisions"]
    assert decisions[-1]["outcome"] == "pending"
    assert decisions[-1]["details"]["candidates"][0]["missing_skills"] == ["高压电工证"]
    # the technician gets the certificate: the pool is re-matched on that event, no manual call
    resp = service.client.patch(
        f"/api/v1/dispatch/technicians/{tech['id']}",
        json={"skills": ["低压电工证", "高压电工证"]},
        headers=service.headers("supervisor"),
    )
    assert resp.status_code == 200
    offer = wait_for(lambda: active(service, tid), timeout=20)
    assert offer["technician_id"] == tech["id"]
    assert state(service, tid)["pending"] is None


def test_accept_decline_and_timeout(service: Service) -> None:
    a = add_tech(service, "甲", north(0.5), BASIC)
    b = add_tech(service, "乙", north(2.0), BASIC)
    ha, hb = _tech_token(service, a["id"]), _tech_token(service, b["id"])
    tid = make_ticket()
    offer = active(service, tid)
    assert offer is not None and offer["technician_id"] == a["id"]
    c = service.client
    # someone else cannot answer it
    assert (
        c.post(f"/api/v1/dispatch/assignments/{offer['id']}/accept", headers=hb).status_code == 403
    )
    # 甲 declines → re-dispatched to 乙 in the same request
    resp = c.post(
        f"/api/v1/dispatch/assignments/{offer['id']}/decline", json={"reason": "车坏了"}, headers=ha
    )
    assert resp.status_code == 200 and resp.json()["status"] == "declined"
    second = active(service, tid)
    assert second is not None and second["technician_id"] == b["id"]
    me = c.get("/api/v1/dispatch/me", headers=hb).json()
    assert [x["id"] for x in me["assignments"]] == [second["id"]]
    # 乙 does not answer in time: the offer's timeout task expires it; nobody is left who has
    # not refused the ticket
    from dispatch.tasks import expire_offer_task

    assert expire_offer_task.call_local([second["id"]]) == 0  # not due yet: nothing happens
    assert active(service, tid)["id"] == second["id"]  # type: ignore[index]
    fake = FakeClock(clock.now() + timedelta(seconds=301))
    clock.set_clock(fake.now)
    try:
        assert expire_offer_task.call_local([second["id"]]) == 1
    finally:
        clock.set_clock(None)
    st = state(service, tid)
    assert [x["status"] for x in st["assignments"]] == ["declined", "expired"]
    assert st["status"] == "triaged" and "declined" in st["pending"]["reason"]
    late = c.post(f"/api/v1/dispatch/assignments/{second['id']}/accept", headers=hb)
    assert late.status_code == 409
    # a fresh ticket: 甲 accepts it
    t2 = make_ticket()
    o2 = active(service, t2)
    assert o2 is not None and o2["technician_id"] == a["id"]
    ok = c.post(f"/api/v1/dispatch/assignments/{o2['id']}/accept", headers=ha)
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    again = c.post(f"/api/v1/dispatch/assignments/{o2['id']}/accept", headers=ha)
    assert again.status_code == 409


def test_override_is_recorded_and_bad_input_changes_nothing(service: Service) -> None:
    c, sup = service.client, service.headers("supervisor")
    a = add_tech(service, "甲", north(0.5), BASIC)
    b = add_tech(service, "乙", north(8.0), [])  # would fail radius and skills
    tid = make_ticket()
    assert active(service, tid)["technician_id"] == a["id"]  # type: ignore[index]
    path = f"/api/v1/dispatch/tickets/{tid}/reassign"
    assert (
        c.post(path, json={"technician_id": b["id"], "reason": " "}, headers=sup).status_code == 422
    )
    assert c.post(path, json={"technician_id": 9999, "reason": "x"}, headers=sup).status_code == 404
    assert (
        c.post(
            path, json={"technician_id": b["id"], "reason": "x"}, headers=service.headers("agent")
        ).status_code
        == 403
    )
    resp = c.post(path, json={"technician_id": b["id"], "reason": "客户指定乙师傅"}, headers=sup)
    assert resp.status_code == 200, resp.text
    new = resp.json()
    assert new["technician_id"] == b["id"] and new["actor"] == "supervisor:supervisor-1"
    warn = new["explanation"]["override_candidate"]
    assert warn["removed_by"] == "radius"
    st = state(service, tid)
    assert [x["status"] for x in st["assignments"]] == ["overridden", "offered"]
    hist = c.get(f"/api/v1/tickets/{tid}/history", headers=service.headers("agent")).json()["items"]
    ev = [e for e in hist if e["kind"] == "dispatch"]
    assert (
        ev and ev[0]["reason"] == "客户指定乙师傅" and ev[0]["actor"] == "supervisor:supervisor-1"
    )
    assert ev[0]["changes"]["technician"] == [a["id"], b["id"]]
    # close the ticket: reassigning it is refused and changes nothing
    for to in ("in_progress", "resolved", "closed"):
        r = c.post(f"/api/v1/tickets/{tid}/transition", json={"status": to}, headers=sup)
        assert r.status_code == 200, r.text
    before = state(service, tid)
    closed = c.post(path, json={"technician_id": a["id"], "reason": "x"}, headers=sup)
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "ticket_final"
    after = state(service, tid)["assignments"]
    assert [(x["id"], x["technician_id"]) for x in after] == [
        (x["id"], x["technician_id"]) for x in before["assignments"]
    ]
    # bad technician input
    bad = {"name": "x", "home_lat": 91, "home_lon": 114}
    assert c.post("/api/v1/dispatch/technicians", json=bad, headers=sup).status_code == 422
    bad_loc = c.post(
        f"/api/v1/dispatch/technicians/{a['id']}/location",
        json={"lat": 22.5, "lon": 200},
        headers=sup,
    )
    assert bad_loc.status_code == 422 and bad_loc.json()["error"]["code"] == "invalid_request"
    assert c.get("/api/v1/dispatch/technicians/424242", headers=sup).status_code == 404
    assert (
        c.post(
            "/api/v1/dispatch/technicians/424242/location", json={"lat": 1, "lon": 1}, headers=sup
        ).status_code
        == 404
    )
    assert c.get("/api/v1/dispatch/devices/NOPE-123", headers=sup).status_code == 404
    assert (
        c.get("/api/v1/dispatch/technicians/near?lat=22.5&lon=190", headers=sup).status_code == 422
    )
    cleared = c.patch(f"/api/v1/dispatch/technicians/{a['id']}", json={"name": None}, headers=sup)
    assert cleared.status_code == 422
    assert [t["name"] for t in _techs(service)] == ["甲", "乙"]


def test_location_updates_and_geofence(service: Service) -> None:
    c, sup = service.client, service.headers("supervisor")
    a = add_tech(service, "甲", north(10.0), BASIC)
    ha = _tech_token(service, a["id"])
    near = c.get(
        f"/api/v1/dispatch/technicians/near?lat={SITE[0]}&lon={SITE[1]}&radius_km=5", headers=sup
    )
    assert near.json()["items"] == []
    moved = c.post(
        "/api/v1/dispatch/me/location", json={"lat": north(1)[0], "lon": SITE[1]}, headers=ha
    )
    assert moved.status_code == 201
    near = c.get(
        f"/api/v1/dispatch/technicians/near?lat={SITE[0]}&lon={SITE[1]}&radius_km=5", headers=sup
    )
    assert [(t["id"], round(t["distance_km"])) for t in near.json()["items"]] == [(a["id"], 1)]
    hist = c.get(f"/api/v1/dispatch/technicians/{a['id']}/locations", headers=sup).json()["items"]
    assert len(hist) == 1
    # another technician's location cannot be reported with this token
    b = add_tech(service, "乙", north(1.0), BASIC)
    other = c.post(
        f"/api/v1/dispatch/technicians/{b['id']}/location", json={"lat": 1, "lon": 1}, headers=ha
    )
    assert other.status_code == 403
    # a token that is no technician's cannot use the app
    assert c.get("/api/v1/dispatch/me", headers=service.headers("technician")).status_code == 403


def test_rematch_runs_one_at_a_time_and_survives_a_dead_holder(service: Service) -> None:
    import time

    from huey.exceptions import TaskLockedException

    from core.tasks import queue
    from dispatch.tasks import LOCK, STARTED, run_rematch

    lock = queue.lock_task(LOCK)
    # another worker is re-matching right now (wait out the service's own periodic rematch,
    # which may hold the lock for a moment as the test starts)
    deadline = time.monotonic() + 30
    while True:
        try:
            lock.acquire()
            break
        except TaskLockedException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    queue.put(STARTED, time.time())
    try:
        assert run_rematch() is None
        queue.put(STARTED, time.time() - 3600)  # … and died an hour ago without releasing
        out = run_rematch()
        assert out is not None and out["pool"] == 0
        assert not queue.is_locked(LOCK)
    finally:
        lock.clear()


def test_daily_cap_is_enforced_and_explained(service: Service) -> None:
    a = add_tech(service, "甲", north(0.5), BASIC)
    for _ in range(4):
        assert active(service, make_ticket())["technician_id"] == a["id"]  # type: ignore[index]
    fifth = active(service, make_ticket())
    assert fifth is not None and fifth["technician_id"] == a["id"]
    [me] = [c for c in fifth["explanation"]["candidates"] if c["technician_id"] == a["id"]]
    assert "removed_by" not in me and me["load_today"] == 4  # as the solver saw it
    sixth = make_ticket()
    assert active(service, sixth) is None
    st = state(service, sixth)
    assert "1 daily_cap" in st["pending"]["reason"]
    assert st["decisions"][-1]["details"]["candidates"][0]["removed_by"] == "daily_cap"
