"""The field loop through the API: the technician app's actions, the customer's signed link,
page and rating, customer notifications, and nothing silent."""

from datetime import timedelta

import pytest

from core import clock
from core.db import session_scope
from core.settings import get_settings
from tests.conftest import Service
from tests.dispatch_support import SITE, active, north, state
from tests.field_support import (
    PHONE,
    act,
    customer_ticket,
    offer_of,
    png_bytes,
    resolve_data,
    tech_with_token,
)
from tests.sla_support import FakeClock, Recorder, wait_for


def _link_path(svc: Service, ticket_id: int) -> str:
    body = svc.client.get(f"/api/v1/tickets/{ticket_id}", headers=svc.headers("agent")).json()
    link = body["customer_link"]
    assert link.startswith("http://testserver/c/")  # the address the request came in on
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_whole_loop_through_the_api(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    try:
        monkeypatch.setenv("HOTLINE_CUSTOMER_NOTIFY_URL", rec.url("/sms"))
        get_settings.cache_clear()
        c = service.client
        assert c.post("/api/v1/sla/defaults", headers=service.headers("admin")).is_success
        tech_id, th = tech_with_token(service, "李师傅", north(0.5))
        other_id, oh = tech_with_token(service, "赵师傅", north(3.0))
        tid = customer_ticket()
        aid = offer_of(service, tid)
        # the technician reads the offer: customer, site with navigation, diagnosis, parts
        job = c.get(f"/api/v1/dispatch/assignments/{aid}/job", headers=th)
        assert job.status_code == 200, job.text
        body = job.json()
        assert "科技园" in body["ticket"]["address"]
        assert body["ticket"]["phone"] is None  # the customer's phone once the job is taken
        assert "uri.amap.com/navigation" in body["ticket"]["navigation_url"]
        assert body["diagnosis"]["kb_id"] == "LOCK-MOTOR-JAM" and body["diagnosis"]["resolution"]
        # …and nobody else can, nor act on it
        assert c.get(f"/api/v1/dispatch/assignments/{aid}/job", headers=oh).status_code == 403
        act(service, oh, aid, "accept", expect=403)
        jobs = c.get("/api/v1/dispatch/me/jobs", headers=th).json()["items"]
        assert [j["assignment"]["id"] for j in jobs] == [aid]
        # accept, sent twice with the same action id (a flaky connection): done once
        first = act(service, th, aid, "accept", action_id="accept-0001")
        again = act(service, th, aid, "accept", action_id="accept-0001")
        assert first["assignment_status"] == "accepted" and again["replayed"] is True
        assert again["customer"] == first["customer"]
        act(service, th, aid, "decline", action_id="accept-0001", expect=409)  # id reused
        taken = c.get(f"/api/v1/dispatch/assignments/{aid}/job", headers=th).json()
        assert taken["ticket"]["phone"] == PHONE and taken["ticket"]["customer_name"] == "王女士"
        on_way = act(service, th, aid, "on_way", {"eta_minutes": 30})
        assert on_way["customer"]["status"] == "queued"
        call = act(service, th, aid, "call")
        assert call["tel"] == PHONE
        assert call["evidence"] == {
            "kind": "call_started",
            "accepted": False,
            "rejection_reason": call["evidence"]["rejection_reason"],
        }
        # arriving 8 km away is not the "viewed" node; at the site it is
        far = act(service, th, aid, "arrive", {"lat": north(8.0)[0], "lon": SITE[1]})
        assert far["evidence"]["accepted"] is False
        near = act(service, th, aid, "arrive", {"lat": SITE[0], "lon": SITE[1]})
        assert near["evidence"]["accepted"] is True
        act(service, th, aid, "resolve", resolve_data(), expect=409)  # not started yet
        assert act(service, th, aid, "start")["ticket_status"] == "in_progress"
        paused = act(service, th, aid, "pause", {"reason": "waiting_customer"})
        assert paused["paused"] == "waiting_customer"
        act(service, th, aid, "pause", {"reason": "waiting_part"}, expect=409)
        no_sig = {**resolve_data(), "signature": None}
        act(service, th, aid, "resolve", no_sig, expect=422)
        bad_photo = {**resolve_data(), "photos": ["data:image/png;base64,aGVsbG8="]}
        act(service, th, aid, "resolve", bad_photo, expect=422)
        done = act(service, th, aid, "resolve", resolve_data(), action_id="resolve-0001")
        assert done["ticket_status"] == "resolved" and done["pause"]["resumed"]
        assert act(service, th, aid, "resolve", resolve_data(), action_id="resolve-0001")[
            "replayed"
        ]
        # the visit is on the ticket's dispatch view, the photo and signature on disk
        st = state(service, tid)
        photo = st["visit"]["photos"][0]
        assert (service.data_dir / photo["path"]).read_bytes() == png_bytes()
        assert st["visit"]["signature"]["sha256"] == photo["sha256"]
        # the SLA record has the GPS evidence (one accepted, one refused) and the call fact
        sla = c.get(f"/api/v1/sla/tickets/{tid}", headers=service.headers("supervisor")).json()
        kinds = sorted((e["kind"], e["accepted"]) for e in sla["evidence"])
        assert ("viewed", True) in kinds and ("viewed", False) in kinds
        assert ("call_started", False) in kinds
        assert sla["nodes"]["viewed"] is not None and sla["nodes"]["first_call"] is None
        pauses = [(p["kind"], p["action"]) for p in sla["pauses"]]
        assert pauses == [("waiting_customer", "start"), ("waiting_customer", "end")]
        # the customer got one message per milestone, whatever was resent
        msgs = wait_for(lambda: (m := rec.to("/sms")) and len(m) >= 4 and m)
        events = [m["hotline"]["event"] for m in msgs]
        assert sorted(events) == sorted(["accepted", "on_way", "arrived", "resolved"])
        assert all(m["to"] == PHONE and "/c/" in m["text"] for m in msgs)
        notes = wait_for(
            lambda: (
                (n := state(service, tid)["customer_notifications"])
                and all(x["status"] == "delivered" for x in n)
                and n
            )
        )
        assert len(notes) == 4
        # the customer rates it through the link: on the ticket, the technician, the region
        path = _link_path(service, tid)
        page = c.get(path)
        assert page.status_code == 200 and "李师傅" in page.text and "139****1111" in page.text
        assert "维修完成" in page.text and "为本次服务评分" in page.text
        low = c.post(f"{path}/rating", json={"score": 2})
        assert low.status_code == 422 and low.json()["error"]["code"] == "reason_required"
        ok = c.post(f"{path}/rating", json={"score": 2, "reason": "等了很久"})
        assert ok.status_code == 201, ok.text
        assert c.post(f"{path}/rating", json={"score": 2, "reason": "等了很久"}).status_code == 200
        assert c.post(f"{path}/rating", json={"score": 5}).status_code == 409
        ticket = c.get(f"/api/v1/tickets/{tid}", headers=service.headers("agent")).json()
        assert ticket["rating"]["score"] == 2 and ticket["rating"]["reason"] == "等了很久"
        figures = c.get("/api/v1/dispatch/ratings", headers=service.headers("supervisor")).json()
        assert {"technician_id": tech_id, "name": "李师傅", "average": 2.0, "count": 1} in figures[
            "technicians"
        ]
        assert {"region": "深圳", "average": 2.0, "count": 1} in figures["regions"]
        assert other_id not in [t["technician_id"] for t in figures["technicians"]]
    finally:
        rec.close()


def test_link_forgery_expiry_and_enumeration(service: Service) -> None:
    c = service.client
    tech_with_token(service, "李师傅", north(0.5))
    mine, theirs = customer_ticket(), customer_ticket()
    with session_scope() as db:
        from tickets.models import Ticket

        other = db.get(Ticket, theirs)
        assert other is not None
        other.address, other.phone = "北京市朝阳区秘密路 9 号", "13700009999"
    path = _link_path(service, mine)
    token = path.rsplit("/", 1)[1]
    tid, expires, sig = token.split(".")
    page = c.get(path)
    assert page.status_code == 200
    # the page shows the progress and nothing else: no phone, address or fault description
    for secret in (PHONE, "科技园", "电机空转", "秘密路", "13700009999"):
        assert secret not in page.text
    refused = []
    # tampered signature, another ticket with this signature, a later expiry, junk
    for bad in (
        f"{tid}.{expires}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}",
        f"{theirs}.{expires}.{sig}",
        f"{tid}.{int(expires) + 86400}.{sig}",
        f"{tid}.{expires}",
        "not-a-token",
        f"{tid}.{expires}.{sig}x",
    ):
        resp = c.get(f"/c/{bad}")
        refused.append(resp.status_code)
        assert "秘密路" not in resp.text and "李师傅" not in resp.text
        assert c.post(f"/c/{bad}/rating", json={"score": 5}).status_code in (403, 404)
    assert set(refused) <= {403, 404} and refused.count(403) >= 5
    # enumeration: walking ticket ids gives the same refusal for existing and missing tickets
    answers = {
        c.post(f"/c/{n}.{expires}.{sig}/rating", json={"score": 5}).text
        for n in range(1, 40)
        if n != int(tid)
    }
    assert len(answers) == 1 and "invalid_link" in answers.pop()
    # the link expires: refused with 410, and its rating too
    fake = FakeClock(clock.now() + timedelta(days=get_settings().customer_link_ttl_days + 2))
    clock.set_clock(fake.now)
    try:
        assert c.get(path).status_code == 410
        assert c.post(f"{path}/rating", json={"score": 5}).status_code == 410
    finally:
        clock.set_clock(None)
    # rating before the visit is resolved is refused; rebooking works and shows
    assert c.post(f"{path}/rating", json={"score": 5}).status_code == 409
    day = (clock.now() + timedelta(days=2)).date().isoformat()
    resp = c.post(f"{path}/window", json={"start": f"{day}T09:00:00", "end": f"{day}T12:00:00"})
    assert resp.status_code == 200, resp.text
    assert "09:00" in c.get(path).text
    bad = c.post(f"{path}/window", json={"start": f"{day}T12:00:00", "end": f"{day}T09:00:00"})
    assert bad.status_code == 422
    far = c.post(
        f"{path}/window", json={"start": "2099-01-01T09:00:00", "end": "2099-01-01T12:00:00"}
    )
    assert far.status_code == 422 and far.json()["error"]["code"] == "window_too_far"
    assert c.post(f"{path}/rating", json={"score": 9}).status_code == 422


def test_secret_is_generated_once_and_kept(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickets import customer_link

    key = service.data_dir.resolve() / "customer_link.key"
    link = customer_link.link_for(1)
    assert key.exists() and len(key.read_text().strip()) == 64
    assert customer_link.link_for(1) == link  # stable within a day
    monkeypatch.setenv("HOTLINE_CUSTOMER_LINK_SECRET", "configured-secret")
    get_settings.cache_clear()
    assert customer_link.link_for(1) != link  # a configured secret takes over
    with pytest.raises(Exception) as exc:
        customer_link.verify(link.rsplit("/", 1)[1])
    assert getattr(exc.value, "status", None) == 403


def test_nothing_silent(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder()
    try:
        c, sup = service.client, service.headers("supervisor")
        resp = c.put(
            "/api/v1/sla/regions/深圳",
            json={
                "supervisor": "深圳主管",
                "supervisor_url": rec.url("/sup"),
                "director": "华南总监",
                "director_url": rec.url("/dir"),
            },
            headers=service.headers("admin"),
        )
        assert resp.status_code in (200, 201), resp.text
        # a technician without any webhook: the supervisor hears of it at once
        _, th = tech_with_token(service, "李师傅", north(0.5))
        tid = customer_ticket()
        aid = offer_of(service, tid)
        alerts = wait_for(lambda: rec.to("/sup"))
        assert "推送无法送达" in alerts[0]["markdown"]["content"]
        assert alerts[0]["hotline"]["ticket_ids"] == [tid]
        offer = next(a for a in state(service, tid)["assignments"] if a["id"] == aid)
        assert offer["explanation"]["card_alert"] == "深圳主管"
        # the technician still sees the offer in the app
        jobs = c.get("/api/v1/dispatch/me/jobs", headers=th).json()["items"]
        assert [j["assignment"]["id"] for j in jobs] == [aid]
        # a supervisor's override is never silently undone when it is not answered
        other_id, oh = tech_with_token(service, "赵师傅", north(1.0))
        over = c.post(
            f"/api/v1/dispatch/tickets/{tid}/reassign",
            json={"technician_id": other_id, "reason": "P1 客户指定"},
            headers=sup,
        )
        assert over.status_code == 200, over.text
        from dispatch.answers import expire_offers

        fake = FakeClock(
            clock.now() + timedelta(seconds=get_settings().dispatch_offer_timeout_s + 5)
        )
        clock.set_clock(fake.now)
        try:
            with session_scope() as db:
                assert expire_offers(db) == 0
            with session_scope() as db:
                assert expire_offers(db) == 0  # told once, not on every sweep
        finally:
            clock.set_clock(None)
        still = active(service, tid)
        assert still is not None and still["technician_id"] == other_id
        assert still["status"] == "offered" and "已通知主管" in still["response_note"]
        told = wait_for(
            lambda: [m for m in rec.to("/sup") if "指派未应答" in m["markdown"]["content"]]
        )
        assert len(told) == 1
        # …and the chosen technician can still take it after the deadline
        clock.set_clock(fake.now)
        try:
            assert act(service, oh, still["id"], "accept")["assignment_status"] == "accepted"
        finally:
            clock.set_clock(None)
        hist = c.get(f"/api/v1/tickets/{tid}/history", headers=service.headers("agent")).json()
        assert any("已告知：深圳主管" in (e["reason"] or "") for e in hist["items"])
    finally:
        rec.close()


def test_decline_clears_the_board_and_escalation_without_contact_says_who(
    service: Service,
) -> None:
    from sqlalchemy import select

    from sla import escalation
    from sla.models import TicketSla

    c = service.client
    assert c.post("/api/v1/sla/defaults", headers=service.headers("admin")).is_success
    _, th = tech_with_token(service, "李师傅", north(0.5))
    tid = customer_ticket(region="无人区")
    aid = offer_of(service, tid)
    with session_scope() as db:
        row = db.scalar(select(TicketSla).where(TicketSla.ticket_id == tid))
        assert row is not None and row.technician == "李师傅"
    act(service, th, aid, "decline", {"reason": "车坏了"})
    with session_scope() as db:
        row = db.scalar(select(TicketSla).where(TicketSla.ticket_id == tid))
        assert row is not None and row.technician is None
        # no region contact and no admin webhook: the alert says who would have been told
        who = escalation.alert_staff(
            db, region="无人区", text="测试", item={}, ref_type="ticket", ref_id=tid
        )
    assert who == escalation.unreachable(get_settings().sla_admin_contact)
    assert who.startswith("未通知")
    # a declined offer is no longer the technician's to read
    gone = c.get(f"/api/v1/dispatch/assignments/{aid}/job", headers=th)
    assert gone.status_code == 403 and "declined" in gone.json()["error"]["message"]


def test_wechat_template_shape_and_missing_phone(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickets.models import Ticket

    rec = Recorder()
    try:
        monkeypatch.setenv("HOTLINE_CUSTOMER_NOTIFY_URL", rec.url("/wx"))
        monkeypatch.setenv("HOTLINE_CUSTOMER_NOTIFY_FORMAT", "wechat_template")
        get_settings.cache_clear()
        _, th = tech_with_token(service, "李师傅", north(0.5))
        tid = customer_ticket()
        out = act(service, th, offer_of(service, tid), "accept")
        assert out["customer"]["status"] == "queued"
        msg = wait_for(lambda: rec.to("/wx"))[0]
        assert msg["touser"] == PHONE and msg["template_id"] == "hotline_accepted"
        assert "/c/" in msg["url"] and msg["data"]["keyword2"]["value"] == "李师傅"
        # a ticket without a phone: nothing is sent, and the answer says why
        bare = customer_ticket()
        with session_scope() as db:
            ticket = db.get(Ticket, bare)
            assert ticket is not None
            ticket.phone = None
        out = act(service, th, offer_of(service, bare), "accept")
        assert out["customer"] == {
            "event": "accepted",
            "status": "not_sent",
            "why": "the ticket has no phone number",
        }
    finally:
        rec.close()


def test_customer_link_follows_the_request_unless_configured(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import public_url

    c, agent = service.client, service.headers("agent")
    rec = Recorder()
    try:
        monkeypatch.setenv("HOTLINE_CUSTOMER_NOTIFY_URL", rec.url("/sms"))
        get_settings.cache_clear()
        _, th = tech_with_token(service, "李师傅", north(0.5))
        tid = customer_ticket()

        # unset: a link in an answer is on the host the client reached, and it opens there
        for host in ("hotline.example.cn", "10.20.0.7:8080"):
            body = c.get(f"/api/v1/tickets/{tid}", headers={**agent, "Host": host}).json()
            assert body["customer_link"].startswith(f"http://{host}/c/"), body["customer_link"]
        page = c.get("/" + body["customer_link"].split("/", 3)[3])
        assert page.status_code == 200 and "工单" in page.text
        # a text sent to the customer never takes the address of the request that set it off
        act(service, {**th, "Host": "attacker.example"}, offer_of(service, tid), "accept")
        sms = wait_for(lambda: rec.to("/sms"))[0]
        assert sms["link"].startswith(public_url.DEFAULT + "/c/")
        assert "attacker" not in sms["text"]
        assert public_url.unset_warning("0.0.0.0") and public_url.unset_warning("hotline.lan")
        assert public_url.unset_warning("127.0.0.1") is None
        assert public_url.unset_warning("localhost") is None

        # set: it wins everywhere, and serve has nothing to warn about
        monkeypatch.setenv("HOTLINE_DISPATCH_APP_URL", "https://service.example.com/")
        get_settings.cache_clear()
        body = c.get(f"/api/v1/tickets/{tid}", headers={**agent, "Host": "10.20.0.7"}).json()
        assert body["customer_link"].startswith("https://service.example.com/c/")
        act(service, th, active(service, tid)["id"], "on_way", {"eta_minutes": 20})
        sms = wait_for(lambda: (m := rec.to("/sms")) and len(m) >= 2 and m)[-1]
        assert sms["link"].startswith("https://service.example.com/c/")
        assert public_url.unset_warning("0.0.0.0") is None
    finally:
        rec.close()
        get_settings.cache_clear()
