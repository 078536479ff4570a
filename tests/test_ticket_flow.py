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
