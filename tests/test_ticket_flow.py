"""How review, quality checks and dispatch fit together on one ticket."""

from core.db import session_scope
from tests.conftest import Service
from tests.test_intake_api import _ticket
from tickets import service as tickets
from triage.service import triage_text


def test_review_leaves_a_dispatched_ticket_on_its_way(service: Service) -> None:
    c, h = service.client, service.headers("agent")
    t = _ticket(service)
    moved = c.post(
        f"/api/v1/tickets/{t['id']}/transition",
        json={"status": "dispatched", "reason": "technician on the way"},
        headers=service.headers("supervisor"),
    )
    assert moved.status_code == 200, moved.text
    r = c.post(f"/api/v1/tickets/{t['id']}/review", json={}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dispatched"  # not pulled back to "reviewed"
    again = c.post(f"/api/v1/tickets/{t['id']}/review", json={}, headers=h)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_reviewed"
    history = c.get(f"/api/v1/tickets/{t['id']}/history", headers=h).json()["items"]
    assert [e["kind"] for e in history].count("review") == 1


def test_held_ticket_is_triaged_only_when_its_check_passes(service: Service, listen) -> None:
    triaged = listen("ticket.triaged")
    with session_scope() as db:
        held = tickets.create_from_triage(
            db=db,
            triage=triage_text("充电桩绿灯一直亮着，就是充不进电"),
            channel="excel",
            actor="test",
            hold_for_qc="导入 #1 第3行：待质检",
        )
        held_id = held.id
        assert held.status == "pending_qc"
    assert held_id not in [e["ticket"].id for e in triaged]  # nobody acts on it yet
    r = service.client.post(
        f"/api/v1/tickets/{held_id}/review", json={}, headers=service.headers("agent")
    )
    assert r.status_code == 200 and r.json()["status"] == "reviewed"
    # The check passed: now it is triaged for everyone.
    assert [e["ticket"].id for e in triaged].count(held_id) == 1


def test_times_with_an_offset_are_stored_as_the_same_instant(service: Service) -> None:
    from datetime import datetime, timedelta, timezone

    shanghai = datetime(2026, 1, 5, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    with session_scope() as db:
        t = tickets.create_from_triage(
            db=db,
            triage=triage_text("冰箱不制冷"),
            channel="excel",
            actor="test",
            reported_at=shanghai,
        )
        tid = t.id
    with session_scope() as db:
        assert tickets.get_ticket(db=db, ticket_id=tid).reported_at == shanghai


def test_a_ticket_stored_by_another_version_still_answers(service: Service) -> None:
    """Stored diagnoses outlive the code that wrote them (imports, older versions): a
    candidate without score or confidence must not turn the ticket's answers into 500s."""
    from tickets.models import Ticket

    ticket = _ticket(service)
    with session_scope() as db:
        row = db.get(Ticket, ticket["id"])
        old = dict(row.diagnosis)
        old["candidates"] = [{"kb_id": c["kb_id"]} for c in old["candidates"]]
        row.diagnosis = old
    h = service.headers("agent")
    one = service.client.get(f"/api/v1/tickets/{ticket['id']}", headers=h)
    assert one.status_code == 200, one.text
    assert one.json()["diagnosis"]["candidates"][0] == {"kb_id": ticket["diagnosis"]["kb_id"]}
    listed = service.client.get("/api/v1/tickets?limit=5", headers=h)
    assert listed.status_code == 200, listed.text


def test_every_ticket_answer_reads_stored_json_that_lacks_optional_keys(service: Service) -> None:
    """Diagnosis, fields, required fields and transcript as an older version or an import
    may have stored them (only the ids): each answer that shows the ticket still answers."""
    from urllib.parse import urlsplit

    from sqlalchemy import update

    from core.auth import Role, create_token
    from dispatch.requirements import active_assignment
    from tests.sla_support import field_technician, give, make_ticket
    from tickets.models import Ticket

    c, sup = service.client, service.headers("supervisor")
    assert c.post("/api/v1/sla/defaults", headers=service.headers("admin")).status_code == 200
    tech_id = field_technician(c, sup, service.tokens["technician"], "李师傅")
    tid = make_ticket()
    give(c, sup, tid, tech_id, service.tokens["technician"])
    other = make_ticket()
    with session_scope() as db:
        for ticket_id in (tid, other):
            db.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id)
                .values(
                    diagnosis={"candidates": [{"kb_id": "LOCK-FP-231"}, {}]},
                    fields={},
                    required_fields=[{"name": "firmware"}, {"missing": True}],
                    transcript=[{"text": "门锁指纹没反应"}],
                )
            )
        assignment = active_assignment(db, tid)
        assert assignment is not None
        aid = assignment.id
        customer = create_token(db=db, name="ke", role=Role.knowledge_engineer)
    agent, tech = service.headers("agent"), service.headers("technician")
    ticket = c.get(f"/api/v1/tickets/{tid}", headers=agent)
    assert ticket.status_code == 200, ticket.text
    body = ticket.json()
    assert body["diagnosis"]["candidates"] == [{"kb_id": "LOCK-FP-231"}]
    assert body["required_fields"] == [{"name": "firmware"}] and body["missing_fields"] == []
    version = body["version"]
    link = body["customer_link"]
    answers = {
        "list": c.get("/api/v1/tickets?limit=5", headers=agent),
        "history": c.get(f"/api/v1/tickets/{tid}/history", headers=agent),
        "duplicates": c.get(f"/api/v1/tickets/{tid}/duplicates", headers=agent),
        "sla": c.get(f"/api/v1/sla/tickets/{tid}", headers=sup),
        "sla as technician": c.get(f"/api/v1/sla/tickets/{tid}", headers=tech),
        "dispatch": c.get(f"/api/v1/dispatch/tickets/{tid}", headers=sup),
        "job": c.get(f"/api/v1/dispatch/assignments/{aid}/job", headers=sup),
        "my jobs": c.get("/api/v1/dispatch/me/jobs", headers=tech),
        "enrichments": c.get(f"/api/v1/tickets/{tid}/enrichments", headers=agent),
        "customer page": c.get(urlsplit(link).path),
        "patch": c.patch(
            f"/api/v1/tickets/{tid}",
            json={"version": version, "fields": {"model": "X5"}},
            headers=agent,
        ),
        "review": c.post(f"/api/v1/tickets/{other}/review", json={}, headers=agent),
        "corrections": c.get(
            "/api/v1/reviews/corrections", headers={"Authorization": f"Bearer {customer}"}
        ),
        "note": c.post(f"/api/v1/tickets/{tid}/notes", json={"note": "旧数据"}, headers=agent),
        "merge": c.post(
            f"/api/v1/tickets/{other}/merge",
            json={"into": str(tid), "note": "同一故障"},
            headers=sup,
        ),
    }
    # The console's pages of the same ticket (an agent's and the technician's login).
    from console import accounts

    logins = {}
    with session_scope() as db:
        for role, extra in ((Role.agent, {}), (Role.technician, {"technician_id": tech_id})):
            user = accounts.create_user(
                db=db, username=f"old-{role.value}", role=role, password="pw-longenough1", **extra
            )
            logins[role] = accounts.start_session(db=db, user=user)
    pages = {
        Role.agent: [f"/console/review/{tid}", "/console/tickets", "/console/review"],
        Role.technician: [f"/console/tech/offers/{aid}", "/console/tech"],
    }
    for role, paths in pages.items():
        c.cookies.set("hotline_console", logins[role])
        for page in paths:
            answers[page] = c.get(page, follow_redirects=False)
            assert answers[page].status_code != 303, page  # logged in
    c.cookies.clear()
    broken = {
        k: f"{r.status_code} {r.text[:300]}" for k, r in answers.items() if r.status_code >= 400
    }
    assert not broken, broken
