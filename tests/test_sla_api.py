"""SLA over HTTP on both databases: policies attach on triage, the three evidence nodes, bad
input, pauses from parts events, collaboration, and the supervisors' views."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core import clock, events, notify
from core.db import session_scope
from dispatch.events import TransferArrived, TransferCreated
from dispatch.models import TransferOrder
from sla import escalation
from sla.models import Evidence
from tests.conftest import Service
from tests.sla_support import (
    FakeClock,
    Recorder,
    field_technician,
    give,
    install,
    make_ticket,
    wait_for,
    wav_bytes,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 10, 9, 30, tzinfo=SH)  # a Tuesday
GUANGZHOU = (23.1291, 113.2644)  # ~105 km from the Shenzhen site


@pytest.fixture
def env(service: Service) -> Iterator[tuple[Service, FakeClock, Recorder]]:
    fake = FakeClock(T0.astimezone(UTC))
    clock.set_clock(fake.now)
    recorder = Recorder()
    install(service.client, service.headers("admin"), recorder)
    # The "technician" token belongs to 李师傅: viewed reports count only from the ticket's
    # technician, so tests hand him their tickets (`mine`).
    field_technician(
        service.client, service.headers("admin"), service.tokens["technician"], "李师傅"
    )
    try:
        yield service, fake, recorder
    finally:
        clock.set_clock(None)
        recorder.close()


def at(hh: int, mm: int, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hh, mm, tzinfo=SH).astimezone(UTC)


def state(svc: Service, ticket_id: int) -> dict[str, Any]:
    resp = svc.client.get(f"/api/v1/sla/tickets/{ticket_id}", headers=svc.headers("supervisor"))
    assert resp.status_code == 200, resp.text
    return resp.json()


def iso(dt: datetime) -> datetime:
    return datetime.fromisoformat(dt) if isinstance(dt, str) else dt


def call(svc: Service, ticket_id: int, call_id: str, **over: Any) -> Any:
    data = {
        "call_id": call_id,
        "ticket_id": str(ticket_id),
        "direction": "outbound",
        "callee": "+86 138-0013-8000",
        "status": "answered",
        "duration_s": "42.5",
        **{k: v for k, v in over.items() if k != "file"},
    }
    file = over.get("file", ("call.wav", wav_bytes(), "audio/wav"))
    return svc.client.post(
        "/api/v1/sla/callbacks/call",
        headers=svc.headers("agent"),
        data=data,
        files={"recording": file},
    )


def viewed(svc: Service, ticket_id: int, lat: float, lon: float, **over: Any) -> Any:
    return svc.client.post(
        f"/api/v1/sla/tickets/{ticket_id}/viewed",
        headers=svc.headers("technician"),
        json={"lat": lat, "lon": lon, **over},
    )


def technician_id(svc: Service, role: str = "technician") -> int:
    """The registry id of the technician acting with the token of `role`."""
    from core.auth import lookup_token
    from dispatch.models import Technician

    with session_scope() as db:
        token = lookup_token(db=db, plain=svc.tokens[role])
        assert token is not None
        return db.scalar(select(Technician.id).where(Technician.api_token_id == token.id))


def mine(svc: Service, ticket_id: int) -> int:
    """Give the ticket to 李师傅 (the "technician" token), so his viewed reports count."""
    give(
        svc.client,
        svc.headers("supervisor"),
        ticket_id,
        technician_id(svc),
        svc.tokens["technician"],
    )
    return ticket_id


def evidence_count(ticket_id: int, kind: str) -> int:
    with session_scope() as db:
        return db.scalar(
            select(func.count())
            .select_from(Evidence)
            .where(Evidence.ticket_id == ticket_id, Evidence.kind == kind)
        )


def test_triaged_ticket_gets_policy_and_business_deadlines(env) -> None:
    svc, _fake, _ = env
    resp = svc.client.post(
        "/api/v1/intake/text",
        headers=svc.headers("agent"),
        json={"text": "我家X5门锁指纹没反应，电话13800138000", "channel": "app"},
    )
    assert resp.status_code in (200, 201), resp.text
    s = state(svc, resp.json()["id"])
    assert s["policy"]["name"].startswith("default-")
    assert s["clocks"]["response"]["status"] == "running"
    assert iso(s["started_at"]) == T0
    # A ticket of a severity with a 24x7 policy counts plain minutes.
    critical = state(svc, make_ticket(severity="critical"))
    assert critical["policy"]["name"] == "default-critical"
    assert iso(critical["clocks"]["response"]["deadline_at"]) == T0 + timedelta(minutes=30)
    medium = state(svc, make_ticket(severity="medium"))
    # 120 working minutes from Tuesday 09:30; resolution 1080 = two working days.
    assert iso(medium["clocks"]["response"]["deadline_at"]) == at(11, 30)
    assert iso(medium["clocks"]["resolution"]["deadline_at"]) == at(9, 30, day=12)


def test_response_is_proven_by_pushed_viewed_and_first_call(env) -> None:
    svc, fake, recorder = env
    ticket_id = mine(svc, make_ticket())
    # pushed: a real push-card delivery to the technician's webhook.
    fake.set(at(9, 35))
    with session_scope() as db:
        notify.send(
            db=db,
            kind="dispatch.card",
            recipient="tech-1",
            url=recorder.url("/tech"),
            payload={"msgtype": "text", "text": {"content": "新工单"}},
            ref_type="ticket",
            ref_id=ticket_id,
        )
    wait_for(lambda: state(svc, ticket_id)["nodes"]["pushed"])
    assert iso(state(svc, ticket_id)["nodes"]["pushed"]) == at(9, 35)
    assert len(recorder.to("/tech")) == 1

    # viewed from Guangzhou: recorded, rejected, with the distance.
    fake.set(at(9, 40))
    resp = viewed(svc, ticket_id, *GUANGZHOU)
    assert resp.status_code == 201, resp.text
    ev = resp.json()["evidence"]
    assert ev["accepted"] is False and "outside the service radius" in ev["rejection_reason"]
    assert 90 < ev["proof"]["distance_km"] < 120
    # Out-of-range coordinates change nothing.
    assert viewed(svc, ticket_id, 91.0, 114.0).status_code == 422
    assert viewed(svc, ticket_id, 22.5, 181.0).status_code == 422
    assert evidence_count(ticket_id, "viewed") == 1
    # At the site: counted, at our time (the device's time is only kept as proof).
    fake.set(at(9, 50))
    resp = viewed(svc, ticket_id, 22.5440, 114.0590, at="2026-03-10T00:00:00Z", report_id="r1")
    assert resp.status_code == 201 and resp.json()["evidence"]["accepted"] is True
    assert viewed(svc, ticket_id, 22.5440, 114.0590, report_id="r1").status_code == 200
    assert evidence_count(ticket_id, "viewed") == 2
    assert state(svc, ticket_id)["clocks"]["response"]["status"] == "running"

    # first call: a file that is not audio is refused and nothing is stored.
    fake.set(at(10, 5))
    bad = call(svc, ticket_id, "c-0", file=("x.wav", b"this is not audio" * 10, "audio/wav"))
    assert bad.status_code == 422, bad.text
    assert evidence_count(ticket_id, "first_call") == 0
    # An unanswered call is recorded but does not count.
    resp = call(svc, ticket_id, "c-1", status="no_answer", duration_s="0")
    assert resp.status_code == 201 and resp.json()["evidence"]["accepted"] is False
    assert state(svc, ticket_id)["nodes"]["first_call"] is None
    # The answered call completes the response at its start time.
    resp = call(svc, ticket_id, "c-2", started_at="2026-03-10T10:04:00+08:00")
    assert resp.status_code == 201, resp.text
    proof = resp.json()["evidence"]["proof"]
    assert proof["recording"]["codec"] == "pcm_s16le" and proof["recording"]["seconds"] == 1.0
    assert (svc.data_dir / proof["recording"]["path"]).read_bytes() == wav_bytes()
    s = state(svc, ticket_id)
    assert s["clocks"]["response"]["status"] == "met", (s["clocks"], s["nodes"])
    assert iso(s["clocks"]["response"]["done_at"]) == at(10, 4)
    # The provider retries the callback: a no-op, never a second count.
    again = call(svc, ticket_id, "c-2")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert evidence_count(ticket_id, "first_call") == 2
    # The same call id for another ticket is a conflict.
    assert call(svc, make_ticket(), "c-2").status_code == 409


def test_viewed_counts_only_from_the_ticket_s_technician(env) -> None:
    svc, fake, _ = env
    admin = svc.headers("admin")
    with session_scope() as db:
        from core.auth import Role, create_token

        other_token = create_token(db=db, name="technician-2", role=Role.technician)
    other = field_technician(svc.client, admin, other_token, "张师傅")
    li = technician_id(svc)
    site = (22.5440, 114.0590)  # inside the radius
    ticket_id = make_ticket()

    def as_other(**over: Any) -> Any:
        return svc.client.post(
            f"/api/v1/sla/tickets/{ticket_id}/viewed",
            headers={"Authorization": f"Bearer {other_token}"},
            json={"lat": site[0], "lon": site[1], **over},
        )

    # Nobody holds the ticket yet: nobody's view counts.
    resp = viewed(svc, ticket_id, *site)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "not_assigned"
    # Pushed and called: only the view is missing from the response.
    fake.set(at(9, 35))
    mine(svc, ticket_id)
    with session_scope() as db:
        from sla.evidence import record_pushed

        record_pushed(db, ticket_id=ticket_id, at=at(9, 35), actor="t", proof={}, key="p")
    fake.set(at(9, 41))
    assert call(svc, ticket_id, "c-view", started_at="2026-03-10T09:40:00+08:00").status_code == 201
    # Another technician on the spot is refused, nothing is stored, the clock keeps running.
    fake.set(at(9, 45))
    resp = as_other(report_id="r-other")
    assert resp.status_code == 403, resp.text
    error = resp.json()["error"]
    # The access policy refuses them before the service looks (and names nobody to a stranger).
    assert error["code"] == "not_assigned" and f"ticket_id {ticket_id}" in error["message"]
    assert as_other(technician_id=li).status_code == 403  # cannot speak for the holder
    # An admin reporting on someone's behalf must name them, and the name must hold it.
    on_behalf = f"/api/v1/sla/tickets/{ticket_id}/viewed"
    resp = svc.client.post(on_behalf, headers=admin, json={"lat": site[0], "lon": site[1]})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "technician_required"
    body = {"lat": site[0], "lon": site[1], "technician_id": other}
    assert svc.client.post(on_behalf, headers=admin, json=body).status_code == 403
    body["technician_id"] = 999999
    assert svc.client.post(on_behalf, headers=admin, json=body).status_code == 404
    assert evidence_count(ticket_id, "viewed") == 0
    s = state(svc, ticket_id)
    assert s["nodes"]["viewed"] is None
    assert (
        s["clocks"]["response"]["status"] == "running"
        and s["clocks"]["response"]["done_at"] is None
    )
    # The ticket's own technician counts, and the response is met at his report.
    fake.set(at(9, 50))
    resp = viewed(svc, ticket_id, *site)
    assert resp.status_code == 201 and resp.json()["evidence"]["accepted"] is True
    assert resp.json()["evidence"]["proof"]["technician_id"] == li
    s = state(svc, ticket_id)
    assert s["clocks"]["response"]["status"] == "met"
    assert iso(s["clocks"]["response"]["done_at"]) == at(9, 50)
    # Reassigned to 张师傅: from now on only his reports are accepted (an admin names him).
    give(svc.client, svc.headers("supervisor"), ticket_id, other, other_token)
    assert viewed(svc, ticket_id, *site).status_code == 403
    body["technician_id"] = other
    assert svc.client.post(on_behalf, headers=admin, json=body).status_code == 201
    assert as_other().status_code == 201
    assert evidence_count(ticket_id, "viewed") == 3


def test_bad_evidence_input(env) -> None:
    svc, _fake, recorder = env
    # A push card naming an unknown ticket is still delivered; it proves nothing.
    with session_scope() as db:
        card = notify.send(
            db=db,
            kind="dispatch.card",
            recipient="tech-1",
            url=recorder.url("/tech"),
            payload={},
            ref_type="ticket",
            ref_id=999999,
        ).id

    def delivered() -> bool:
        with session_scope() as db:
            return db.get(notify.NotificationDelivery, card).status == "delivered"

    wait_for(delivered)
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(Evidence)) == 0
    assert viewed(svc, 999999, 22.5, 114.0).status_code == 404
    resp = call(svc, 999999, "c-x")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    ticket_id = make_ticket()
    assert call(svc, ticket_id, "c-y", direction="sideways").status_code == 422
    assert call(svc, ticket_id, "c-z", duration_s="-1").status_code == 422
    future = call(svc, ticket_id, "c-f", started_at="2026-03-11T10:00:00+08:00")
    assert future.status_code == 422
    # A call to some other number is recorded, not counted.
    resp = call(svc, ticket_id, "c-o", callee="13900000000")
    assert resp.json()["evidence"]["rejection_reason"] == "the number called is not the customer's"
    # A site without coordinates cannot prove presence.
    blind = mine(svc, make_ticket(lat=None, lon=None))
    resp = viewed(svc, blind, 22.5, 114.0)
    assert resp.status_code == 201
    assert resp.json()["evidence"]["rejection_reason"] == "site has no coordinates"
    # A ticket nobody holds: a technician's view is refused and nothing is stored.
    resp = viewed(svc, ticket_id, 22.5440, 114.0590)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "not_assigned"
    # Only a technician reports views.
    resp = svc.client.post(
        f"/api/v1/sla/tickets/{ticket_id}/viewed",
        headers=svc.headers("agent"),
        json={"lat": 22.5, "lon": 114.0},
    )
    assert resp.status_code == 403
    assert evidence_count(ticket_id, "viewed") == 0


def test_waiting_for_a_part_pauses_until_the_transfer_arrives(env) -> None:
    svc, fake, _ = env
    ticket_id = make_ticket()
    order = TransferOrder(id=77, sku="LOCK-FPM-02")  # as parts publishes it, not stored
    fake.set(at(10, 0))
    with session_scope() as db:
        events.publish(TransferCreated(ticket_id=ticket_id, order=order), db=db)
        events.publish(TransferCreated(ticket_id=ticket_id, order=order), db=db)
    s = state(svc, ticket_id)
    assert s["paused"] is True
    assert s["clocks"]["resolution"]["status"] == "paused"
    assert s["clocks"]["resolution"]["deadline_at"] is None
    assert len(s["pauses"]) == 1  # the replayed event was a no-op
    fake.set(at(15, 0))
    with session_scope() as db:
        events.publish(TransferArrived(ticket_id=ticket_id, order=order), db=db)
    s = state(svc, ticket_id)
    assert s["paused"] is False
    # 300 working minutes of waiting push both deadlines back.
    assert iso(s["clocks"]["response"]["deadline_at"]) == at(16, 30)
    assert iso(s["clocks"]["resolution"]["deadline_at"]) == at(14, 30, day=12)

    url = f"/api/v1/sla/tickets/{ticket_id}/pauses"
    h = svc.headers("technician")
    # A technician pauses only the clock of a ticket they hold.
    assert svc.client.post(url, headers=h, json={"action": "start"}).status_code == 403
    mine(svc, ticket_id)
    assert svc.client.post(url, headers=h, json={"action": "start"}).status_code == 201
    resp = svc.client.post(url, headers=h, json={"action": "start"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "pause_state"
    fake.set(at(16, 0))
    assert svc.client.post(url, headers=h, json={"action": "end"}).status_code == 201
    assert svc.client.post(url, headers=h, json={"action": "end"}).status_code == 409
    assert svc.client.post(url, headers=h, json={"action": "later"}).status_code == 422
    s = state(svc, ticket_id)
    assert iso(s["clocks"]["response"]["deadline_at"]) == at(17, 30)
    assert (
        svc.client.post(
            "/api/v1/sla/tickets/999999/pauses", headers=h, json={"action": "start"}
        ).status_code
        == 404
    )


def test_collaboration_with_a_deadline_counts_lateness_against_the_department(env) -> None:
    svc, fake, recorder = env
    admin = svc.headers("admin")
    resp = svc.client.post(
        "/api/v1/sla/departments",
        headers=admin,
        json={
            "name": "云平台软件部",
            "contact": "张工",
            "contact_url": recorder.url("/software"),
            "handles": ["cloud_command_fault"],
        },
    )
    assert resp.status_code == 201, resp.text
    ticket_id = mine(svc, make_ticket(product_type="充电桩"))
    url = f"/api/v1/sla/tickets/{ticket_id}/collaborations"
    logs = "2026-03-10 09:12:01 CMD start_charge id=88 -> timeout\n" * 3
    h = svc.headers("technician")
    resp = svc.client.post(url, headers=h, json={"summary": "远程启动指令超时", "logs": logs})
    assert resp.status_code == 201, resp.text
    first = resp.json()
    assert first["department"] == "云平台软件部" and first["contact"] == "张工"
    assert iso(first["due_at"]) == T0 + timedelta(hours=4)
    msg = wait_for(lambda: recorder.to("/software"))[0]
    assert msg["hotline"]["ticket_id"] == ticket_id
    full = svc.client.get(f"/api/v1/sla/collaborations/{first['id']}", headers=h).json()
    assert full["logs"] == logs

    fake.set(at(11, 0))
    answer = f"/api/v1/sla/collaborations/{first['id']}/answer"
    sup = svc.headers("supervisor")
    resp = svc.client.post(answer, headers=sup, json={"answer": "平台指令队列积压，已修复"})
    assert resp.status_code == 200 and resp.json()["status"] == "answered"
    assert resp.json()["late"] is False
    resp = svc.client.post(answer, headers=sup, json={"answer": "again"})
    assert resp.status_code == 409

    second = svc.client.post(url, headers=h, json={"summary": "再次超时", "logs": logs}).json()
    fake.set(at(16, 0))  # due 15:00
    dept = svc.client.get("/api/v1/sla/attainment?group_by=department", headers=sup).json()
    row = dept["rows"][0]
    assert (row["requests"], row["on_time"], row["late"], row["open"]) == (2, 1, 1, 0)
    svc.client.post(
        f"/api/v1/sla/collaborations/{second['id']}/answer", headers=sup, json={"answer": "ok"}
    )
    dept = svc.client.get("/api/v1/sla/attainment?group_by=department", headers=sup).json()
    assert dept["rows"][0]["late_minutes"] == 60.0 and dept["rows"][0]["rate"] == 0.5

    assert svc.client.post(url, headers=h, json={"summary": "x", "logs": ""}).status_code == 422
    missing = "/api/v1/sla/tickets/999999/collaborations"
    assert (
        svc.client.post(missing, headers=h, json={"summary": "x", "logs": "y"}).status_code == 404
    )
    assert (
        svc.client.post(
            "/api/v1/sla/collaborations/999/answer", headers=sup, json={"answer": "x"}
        ).status_code
        == 404
    )


def test_live_view_attainment_at_risk_and_escalation_history(env) -> None:
    svc, fake, recorder = env
    late = make_ticket(region="深圳")
    ok = make_ticket(region="北京", lat=39.9042, lon=116.4074)
    with session_scope() as db:
        from sla.evidence import record_pushed

        record_pushed(db, ticket_id=ok, at=at(9, 31), actor="t", proof={}, key="p-ok")
    mine(svc, ok)  # dispatch.assigned: attainment by technician counts it for 李师傅
    fake.set(at(9, 45))
    viewed(svc, ok, 39.9050, 116.4080)
    call(svc, ok, "ok-call")
    sup = svc.headers("supervisor")

    fake.set(at(11, 10))
    risk = svc.client.get("/api/v1/sla/at-risk?within_minutes=30", headers=sup).json()
    assert [(i["ticket_id"], i["clock"], i["level"]) for i in risk["items"]] == [
        (late, "response", "at_risk")
    ]
    fake.set(at(11, 36))
    risk = svc.client.get("/api/v1/sla/at-risk", headers=sup).json()
    assert risk["items"][0]["level"] == "yellow" and risk["items"][0]["minutes_left"] == -6.0

    with session_scope() as db:
        assert escalation.sweep(db)["fired"] == 1
    fake.set(at(13, 31))
    with session_scope() as db:
        assert escalation.sweep(db)["fired"] == 2
    with session_scope() as db:
        assert escalation.sweep(db) == {}  # nothing left to fire
    hist = svc.client.get("/api/v1/sla/escalations", headers=sup).json()
    assert hist["total"] == 3
    assert [e["level"] for e in hist["items"]] == ["black", "red", "yellow"]
    assert all(e["ticket_id"] == late and e["deadline_kind"] == "response" for e in hist["items"])
    only_black = svc.client.get("/api/v1/sla/escalations?level=black", headers=sup).json()
    assert only_black["items"][0]["recipient"] == "总监-李"

    # (the supervisor also hears that the technicians' push cards could not be delivered)
    def sla_alerts() -> list[dict]:
        return [m for m in recorder.to("/supervisor") if m["hotline"]["type"] == "sla.alert"]

    wait_for(lambda: len(sla_alerts()) == 2 and len(recorder.to("/director")) == 1)
    alert = recorder.to("/director")[0]
    assert alert["msgtype"] == "markdown" and alert["hotline"]["level"] == "black"

    # Resolving through the ticket state machine counts at once (read from its history).
    for status in ("in_progress", "resolved"):  # dispatched to 李师傅 already
        resp = svc.client.post(
            f"/api/v1/tickets/{ok}/transition",
            headers=svc.headers("agent"),
            json={"status": status},
        )
        assert resp.status_code == 200, resp.text
    by_region = svc.client.get("/api/v1/sla/attainment?group_by=region", headers=sup).json()
    rows = {r["key"]: r for r in by_region["rows"]}
    assert rows["北京"]["resolution"] == {"met": 1, "missed": 0, "pending": 0, "rate": 1.0}
    assert rows["深圳"]["resolution"]["pending"] == 1
    assert rows["北京"]["response"] == {"met": 1, "missed": 0, "pending": 0, "rate": 1.0}
    assert rows["深圳"]["response"] == {"met": 0, "missed": 1, "pending": 0, "rate": 0.0}
    assert by_region["total"]["response"]["rate"] == 0.5
    by_tech = svc.client.get("/api/v1/sla/attainment?group_by=technician", headers=sup).json()
    techs = {r["key"]: r["response"] for r in by_tech["rows"]}
    assert techs["李师傅"]["met"] == 1 and techs["(none)"]["missed"] == 1
    by_day = svc.client.get("/api/v1/sla/attainment?group_by=period&period=day", headers=sup)
    assert [r["key"] for r in by_day.json()["rows"]] == ["2026-03-10"]
    # Days are Beijing days: 17:00 UTC is already 01:00 on the 11th.
    fake.set(datetime(2026, 3, 10, 17, 0, tzinfo=UTC))
    make_ticket()
    url = "/api/v1/sla/attainment?group_by=period&period="
    days = svc.client.get(url + "day", headers=sup).json()["rows"]
    assert [(r["key"], r["tickets"]) for r in days] == [("2026-03-10", 2), ("2026-03-11", 1)]
    weeks = svc.client.get(url + "week", headers=sup).json()["rows"]
    assert [(r["key"], r["tickets"]) for r in weeks] == [("2026-03-09/week", 3)]
    months = svc.client.get(url + "month", headers=sup).json()
    assert months["rows"][0]["key"] == "2026-03" and months["total"]["tickets"] == 3
    window = svc.client.get(
        "/api/v1/sla/attainment?group_by=region&from=2026-03-11T00:00:00%2B08:00", headers=sup
    ).json()
    assert window["total"]["tickets"] == 1
    assert svc.client.get("/api/v1/sla/attainment?group_by=colour", headers=sup).status_code == 422
    assert (
        svc.client.get("/api/v1/sla/attainment", headers=svc.headers("technician")).status_code
        == 403
    )


def test_calendar_and_policy_admin(env) -> None:
    svc, _fake, _ = env
    admin = svc.headers("admin")
    cals = svc.client.get("/api/v1/sla/calendars", headers=admin).json()
    cn = next(c for c in cals if c["name"] == "cn-workdays")
    # It follows the national days (GET /api/v1/sla/holidays); its own overrides start empty.
    assert cn["holidays"] == "cn" and cn["days"] == []
    # Its own 2027 overrides: Spring Festival week as holidays, one make-up Saturday.
    days = [{"day": f"2027-02-{d:02d}", "kind": "holiday", "name": "春节"} for d in range(6, 13)]
    days.append({"day": "2027-02-20", "kind": "workday", "name": "春节调休"})
    resp = svc.client.put(
        f"/api/v1/sla/calendars/{cn['id']}/years/2027", headers=admin, json={"days": days}
    )
    assert resp.status_code == 200 and len(resp.json()["days"]) == 8
    bad = [{"day": "2026-02-06", "kind": "holiday", "name": "x"}]
    resp = svc.client.put(
        f"/api/v1/sla/calendars/{cn['id']}/years/2027", headers=admin, json={"days": bad}
    )
    assert resp.status_code == 422
    one_year = svc.client.get(f"/api/v1/sla/calendars/{cn['id']}?year=2027", headers=admin).json()
    assert len(one_year["days"]) == 8  # the failed edit changed nothing
    assert (
        svc.client.post(
            "/api/v1/sla/calendars",
            headers=admin,
            json={"name": "x", "windows": [["18:00", "09:00"]]},
        ).status_code
        == 422
    )
    assert (
        svc.client.post(
            "/api/v1/sla/calendars", headers=admin, json={"name": "cn-workdays"}
        ).status_code
        == 409
    )

    # Declaring today a holiday moves the running clocks of open tickets (in the background).
    ticket_id = make_ticket()
    assert iso(state(svc, ticket_id)["clocks"]["response"]["deadline_at"]) == at(11, 30)
    year = svc.client.get(f"/api/v1/sla/calendars/{cn['id']}?year=2026", headers=admin).json()
    extra = {"day": "2026-03-10", "kind": "holiday", "name": "台风停工"}
    resp = svc.client.put(
        f"/api/v1/sla/calendars/{cn['id']}/years/2026",
        headers=admin,
        json={"days": [*year["days"], extra]},
    )
    assert resp.status_code == 200 and len(resp.json()["days"]) == 1
    wait_for(
        lambda: iso(state(svc, ticket_id)["clocks"]["response"]["deadline_at"]) == at(11, 0, day=11)
    )

    # A region-specific policy is more specific than the severity defaults.
    policy = {
        "name": "上海-VIP",
        "region": "上海",
        "customer_tier": None,
        "priority": 10,
        "response_minutes": 60,
        "resolution_minutes": 480,
        "calendar_id": cn["id"],
    }
    resp = svc.client.post("/api/v1/sla/policies", headers=admin, json=policy)
    assert resp.status_code == 201, resp.text
    assert svc.client.post("/api/v1/sla/policies", headers=admin, json=policy).status_code == 409
    bad_policy = {**policy, "name": "bad", "resolution_minutes": 30}
    assert (
        svc.client.post("/api/v1/sla/policies", headers=admin, json=bad_policy).status_code == 422
    )
    assert (
        svc.client.post(
            "/api/v1/sla/policies", headers=admin, json={**policy, "name": "b2", "calendar_id": 999}
        ).status_code
        == 422
    )
    s = state(svc, make_ticket(region="上海", severity="medium"))
    assert s["policy"]["name"] == "上海-VIP"
    # 60 working minutes, today being the holiday declared above.
    assert iso(s["clocks"]["response"]["deadline_at"]) == at(10, 0, day=11)
    pid = resp.json()["id"]
    patched = svc.client.patch(f"/api/v1/sla/policies/{pid}", headers=admin, json={"active": False})
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert state(svc, make_ticket(region="上海"))["policy"]["name"] == "default-medium"
    assert (
        svc.client.post(
            "/api/v1/sla/policies", headers=svc.headers("supervisor"), json=policy
        ).status_code
        == 403
    )
