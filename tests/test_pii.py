"""Personal data by need, over real HTTP: masked where a role does not need it, and every full
phone number shown is in the read log (API and CLI)."""

import json
from typing import Any

from typer.testing import CliRunner

from core.auth import Role, create_token
from core.db import session_scope
from core.pii import mask_address, mask_name, mask_phone
from hotline.cli import app as cli
from tests.conftest import Service
from tests.dispatch_support import SITE, add_tech
from tests.sla_support import Recorder, field_technician, give, install, make_ticket, wav_bytes
from triage.deidentify import deidentify_text

PHONE = "13800138000"
CALL = "我家门锁指纹按了没反应，我姓王，王女士，电话138 0013 8000，地址北京市朝阳区望京街10号3单元"


def _reads(svc: Service, **params: Any) -> list[dict]:
    r = svc.client.get("/api/v1/audit/phone-reads", params=params, headers=svc.headers("admin"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_masks() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0571-8765 4321 转 801") == "057*****4321"
    assert mask_address("北京市朝阳区望京街10号3单元") == "北京市朝阳区望京街***"
    assert mask_address("浙江省杭州市余杭区五常街道荆长路12号") == "浙江省杭州市余杭区五常街道***"
    assert mask_name("王女士") == "王**" and mask_name("张伟") == "张*"
    assert deidentify_text("回电138\u200b0013\u200b8000") == "回电138****8000"
    masked = deidentify_text(CALL + "，备用 0571-87654321")
    assert masked is not None
    for secret in ("0013", "8765", "望京街10号", "王女士", "3单元"):
        assert secret not in masked, (secret, masked)
    assert "138****8000" in masked and "北京市朝阳区望京街***" in masked and "指纹" in masked


def test_labelled_data_is_deidentified(service: Service) -> None:
    h = service.headers("agent")
    t = service.client.post("/api/v1/intake/text", json={"text": CALL, "channel": "app"}, headers=h)
    assert t.status_code == 201, t.text
    ticket = t.json()
    assert ticket["customer"]["phone"] == PHONE  # the agent sees it in full …
    r = service.client.post(
        f"/api/v1/tickets/{ticket['id']}/review",
        json={
            "fields": {"address": "北京市朝阳区望京街12号"},
            "note": "客户说电话13800138000也可以",
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    for role in ("knowledge_engineer", "supervisor"):
        r = service.client.get("/api/v1/reviews/corrections", headers=service.headers(role))
        assert r.status_code == 200, r.text
        body = json.dumps(r.json(), ensure_ascii=False)
        assert PHONE not in body and "0013 8000" not in body
        assert "望京街10号" not in body and "望京街12号" not in body and "王女士" not in body
        item = r.json()["items"][0]
        assert "138****8000" in item["text"] and "指纹" in item["text"]
        assert item["corrected_fields"]["address"] == "北京市朝阳区望京街***"
        assert item["predicted_fields"]["phone"] == "138****8000"
    # … and each full number the agent was shown is in the read log, with the door.
    reads = _reads(service, subject="ticket", subject_id=ticket["id"])
    assert {(r["actor"], r["role"], r["door"]) for r in reads} >= {
        ("agent:agent-1", "agent", "POST /api/v1/intake/text"),
        ("agent:agent-1", "agent", "POST /api/v1/tickets/{id}/review"),
    }
    assert (
        service.client.get(
            "/api/v1/audit/phone-reads", headers=service.headers("supervisor")
        ).status_code
        == 403
    )


def test_sla_view_collaboration_logs_and_department_secrets(service: Service) -> None:
    c, sup = service.client, service.headers("supervisor")
    recorder = Recorder()
    try:
        install(c, service.headers("admin"), recorder)
        token = service.tokens["technician"]
        tech_id = field_technician(c, sup, token, "赵师傅")
        ticket = make_ticket(phone=PHONE)
        give(c, sup, ticket, tech_id, token)
        tech_h = {"Authorization": f"Bearer {token}"}
        r = c.post(
            f"/api/v1/sla/tickets/{ticket}/viewed",
            json={"lat": 22.5431, "lon": 114.0579},
            headers=tech_h,
        )
        assert r.status_code == 201, r.text
        r = c.post(
            "/api/v1/sla/callbacks/call",
            data={
                "call_id": "c1",
                "ticket_id": str(ticket),
                "direction": "outbound",
                "callee": PHONE,
                "status": "answered",
                "duration_s": "20",
            },
            files={"recording": ("r.wav", wav_bytes())},
            headers=service.headers("agent"),
        )
        assert r.status_code == 201, r.text
        with session_scope() as db:
            stranger = {
                "Authorization": "Bearer " + create_token(db=db, name="陌生", role=Role.technician)
            }

        def proofs(headers: dict[str, str]) -> dict[str, dict]:
            r = c.get(f"/api/v1/sla/tickets/{ticket}", headers=headers)
            assert r.status_code == 200, r.text
            return {e["kind"]: e["proof"] for e in r.json()["evidence"]}

        # A technician who does not hold the ticket is refused by the access policy outright.
        refused = c.get(f"/api/v1/sla/tickets/{ticket}", headers=stranger)
        assert refused.status_code == 403, refused.text
        for who, phone, gps in (
            (service.headers("knowledge_engineer"), "138****8000", False),
            (service.headers("agent"), PHONE, False),
            (tech_h, PHONE, False),
            (sup, PHONE, True),
        ):
            p = proofs(who)
            assert p["first_call"]["callee"] == phone
            assert (p["viewed"]["lat"] is not None) is gps
        readers = {r["actor"] for r in _reads(service, subject="ticket", subject_id=ticket)}
        assert {"agent:agent-1", "technician:technician-1", "supervisor:supervisor-1"} <= readers
        assert not any(a.startswith(("knowledge_engineer", "technician:陌生")) for a in readers)

        # Raw device logs: the technician holding the ticket and supervisors, nobody else.
        r = c.post(
            "/api/v1/sla/departments",
            json={
                "name": "云平台",
                "contact": "云平台值班",
                "contact_url": recorder.url("/cloud?key=SECRET"),
                "handles": ["cloud_command_fault"],
            },
            headers=service.headers("admin"),
        )
        assert r.status_code == 201, r.text
        r = c.post(
            f"/api/v1/sla/tickets/{ticket}/collaborations",
            json={"kind": "cloud_command_fault", "summary": "下发开锁无响应", "logs": "RAW-LOG-1"},
            headers=tech_h,
        )
        assert r.status_code == 201, r.text
        collab = r.json()["id"]
        for who, sees in (
            (service.headers("agent"), False),
            (service.headers("knowledge_engineer"), False),
            (stranger, False),
            (tech_h, True),
            (sup, True),
        ):
            got = c.get(f"/api/v1/sla/collaborations/{collab}", headers=who).json()
            assert (got["logs"] == "RAW-LOG-1") is sees and got["logs_hidden"] is not sees
        for role, sees in (("supervisor", False), ("agent", False), ("admin", True)):
            depts = c.get("/api/v1/sla/departments", headers=service.headers(role)).json()
            d = next(x for x in depts if x["name"] == "云平台")
            assert d["contact_url_set"] and ("SECRET" in json.dumps(d)) is sees
    finally:
        recorder.close()


def test_technicians_by_role(service: Service) -> None:
    c = service.client
    tech = add_tech(
        service,
        "钱师傅",
        SITE,
        ["门锁"],
        phone="13911112222",
        webhook_url="http://127.0.0.1:9/hook?key=SECRET",
    )
    r = c.post(
        f"/api/v1/dispatch/technicians/{tech['id']}/location",
        json={"lat": SITE[0], "lon": SITE[1]},
        headers=service.headers("supervisor"),
    )
    assert r.status_code == 201, r.text

    def seen(role: str) -> dict:
        r = c.get("/api/v1/dispatch/technicians", headers=service.headers(role))
        assert r.status_code == 200, r.text
        return next(t for t in r.json()["items"] if t["id"] == tech["id"])

    agent = seen("agent")
    assert agent["name"] == "钱师傅" and agent["skills"] == ["门锁"]
    assert agent["phone"] == "139****2222" and agent["home"] is None and agent["location"] is None
    assert agent["webhook_url"] is None and agent["webhook_set"] is True
    near = c.get(
        "/api/v1/dispatch/technicians/near",
        params={"lat": SITE[0], "lon": SITE[1]},
        headers=service.headers("agent"),
    ).json()["items"]
    assert all(t["location"] is None and t["home"] is None for t in near) and near
    sup = seen("supervisor")
    assert sup["phone"] == "13911112222" and sup["location"]["lat"] == SITE[0]
    assert sup["webhook_url"] is None
    assert seen("admin")["webhook_url"] == "http://127.0.0.1:9/hook?key=SECRET"
    trail = f"/api/v1/dispatch/technicians/{tech['id']}/locations"
    assert c.get(trail, headers=service.headers("agent")).status_code == 403
    assert c.get(trail, headers=service.headers("supervisor")).json()["items"]
    reads = _reads(service, subject="technician", subject_id=tech["id"])
    assert {r["actor"] for r in reads} == {"supervisor:supervisor-1", "admin:admin-1"}
    assert "GET /api/v1/dispatch/technicians" in {r["door"] for r in reads}
    out = CliRunner().invoke(cli, ["audit", "phone-reads", "--technician", str(tech["id"])])
    assert out.exit_code == 0, out.output
    assert {r["actor"] for r in json.loads(out.output)} == {r["actor"] for r in reads}


def test_console_pages_log_the_numbers_they_show(service: Service) -> None:
    from tests.test_console import login, make_users

    h = service.headers("agent")
    t = service.client.post("/api/v1/intake/text", json={"text": CALL, "channel": "app"}, headers=h)
    ticket = t.json()["id"]
    make_users(("desk-li", Role.agent))
    login(service.client, "desk-li")
    page = service.client.get("/console/tickets")
    assert page.status_code == 200 and PHONE in page.text
    assert service.client.get(f"/console/review/{ticket}").status_code == 200
    service.client.cookies.clear()
    doors = {
        r["door"]
        for r in _reads(service, subject="ticket", subject_id=ticket)
        if r["actor"] == "agent:desk-li"
    }
    assert doors == {"console GET /console/tickets", "console /console/review/{id}"}


def test_the_read_log_forgets_reads_older_than_its_keep(service: Service) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select

    from core import clock, phone_reads
    from core.auth import Principal

    reader = Principal(0, "张坐席", Role.agent)
    with session_scope() as db:
        phone_reads.record(db, reader, "GET /api/v1/tickets/{id}", tickets=[1, 2])
        db.flush()
        old = db.scalars(select(phone_reads.PhoneRead)).first()
        assert old is not None
        old.at = clock.now() - timedelta(days=400)  # past the default year
    with session_scope() as db:
        assert phone_reads.prune(db) == 1
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(phone_reads.PhoneRead)) == 1
