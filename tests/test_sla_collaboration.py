"""An unanswered collaboration request escalates exactly once at its due time: a durable
task at the due instant, the minute sweep as backstop, both guarded by the escalation's
unique key; the owning department's contact and the region's supervisor are told."""

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core import tasks
from core.db import session_scope
from core.notify import NotificationDelivery
from sla import escalation
from sla.escalation import collaboration_overdue_task
from sla.models import Escalation
from tests.conftest import BACKENDS
from tests.sla_support import WorkerEnv, make_ticket, wait_for, worker_env

T0 = datetime(2026, 3, 10, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


class Env(WorkerEnv):
    def department(self, answer_hours: float) -> None:
        resp = self.svc.client.post(
            "/api/v1/sla/departments",
            headers=self.svc.headers("admin"),
            json={
                "name": "云平台组",
                "contact": "云平台-赵",
                "contact_url": self.recorder.url("/dept"),
                "handles": ["cloud_command_fault"],
                "answer_hours": answer_hours,
            },
        )
        assert resp.status_code == 201, resp.text

    def flag(self, ticket_id: int) -> dict[str, Any]:
        resp = self.svc.client.post(
            f"/api/v1/sla/tickets/{ticket_id}/collaborations",
            headers=self.svc.headers("agent"),  # a technician only on their own tickets
            json={
                "summary": "开锁指令下发后设备无响应",
                "logs": "2026-03-10 09:29 CMD unlock timeout",
            },
        )
        assert resp.status_code == 201, resp.text
        return resp.json()

    def overdue_alerts(self) -> tuple[list[dict], list[dict]]:
        """(to the department, to the supervisor) overdue alerts the webhook server received."""
        dept = [r for r in self.recorder.to("/dept") if r["hotline"]["type"] != "sla.collaboration"]
        sup = [r for r in self.recorder.to("/supervisor") if r["hotline"]["level"] == "overdue"]
        return dept, sup


@pytest.fixture(params=BACKENDS)
def env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    monkeypatch.setenv("HOTLINE_EMBEDDED_WORKERS", "0")  # the tests start their own workers
    with worker_env(request.param, tmp_path, T0, Env) as env:
        yield env


def escalations() -> list[Escalation]:
    """The overdue-collaboration escalations (the tickets' own clocks may escalate too)."""
    with session_scope() as db:
        stmt = select(Escalation).where(Escalation.level == "overdue")
        return list(db.scalars(stmt.order_by(Escalation.id)))


def overdue_deliveries() -> list[NotificationDelivery]:
    with session_scope() as db:
        stmt = select(NotificationDelivery).where(
            NotificationDelivery.kind == "sla.collaboration_overdue"
        )
        return list(db.scalars(stmt))


def test_unanswered_request_alerts_once_at_its_due_time(env: Env) -> None:
    env.department(answer_hours=3 / 3600)  # due 3 s after the flag
    ticket_id = make_ticket(region="深圳")
    env.fake.follow_wall(T0)  # the clock runs in real time from here
    env.start_worker(2)
    collab = env.flag(ticket_id)
    due = datetime.fromisoformat(collab["due_at"])
    rows = wait_for(escalations, timeout=15)  # the task scheduled at the due instant
    assert len(rows) == 1
    esc = rows[0]
    assert (esc.level, esc.deadline_kind) == ("overdue", f"collab:{collab['id']}")
    assert esc.ticket_id == ticket_id and esc.recipient == "主管-王"
    assert 0 <= (esc.fired_at - due).total_seconds() <= 5
    wait_for(lambda: all(env.overdue_alerts()))
    dept, sup = env.overdue_alerts()
    assert len(dept) == 1 and len(sup) == 1
    assert dept[0]["hotline"]["collaboration_id"] == collab["id"]
    assert "协作请求超时未答复" in dept[0]["markdown"]["content"]
    assert "协作超时" in sup[0]["markdown"]["content"]
    # The sweep and a replayed task find it done; a late answer sends nothing more.
    with session_scope() as db:
        assert escalation.sweep(db) == {}
    collaboration_overdue_task.call_local(collab["id"])
    resp = env.svc.client.post(
        f"/api/v1/sla/collaborations/{collab['id']}/answer",
        headers=env.svc.headers("supervisor"),
        json={"answer": "云端指令队列积压，已清理"},
    )
    assert resp.status_code == 200 and resp.json()["late"] is True
    time.sleep(1.0)
    assert len(escalations()) == 1 and len(overdue_deliveries()) == 1
    assert [len(x) for x in env.overdue_alerts()] == [1, 1]
    # The SLA views show it: the ticket's escalations and the escalation history.
    sup_headers = env.svc.headers("supervisor")
    state = env.svc.client.get(f"/api/v1/sla/tickets/{ticket_id}", headers=sup_headers).json()
    assert [e["level"] for e in state["escalations"]] == ["overdue"]
    assert state["escalations"][0]["alerted"] is True
    hist = env.svc.client.get("/api/v1/sla/escalations?level=overdue", headers=sup_headers)
    assert hist.status_code == 200 and hist.json()["total"] == 1


def test_request_answered_in_time_raises_nothing(env: Env) -> None:
    env.department(answer_hours=4)
    collab = env.flag(make_ticket())
    env.fake.set(T0 + timedelta(hours=3))
    resp = env.svc.client.post(
        f"/api/v1/sla/collaborations/{collab['id']}/answer",
        headers=env.svc.headers("supervisor"),
        json={"answer": "已修复"},
    )
    assert resp.status_code == 200 and resp.json()["late"] is False
    env.fake.set(T0 + timedelta(hours=5))
    with session_scope() as db:
        assert "answered" not in escalation.sweep(db)  # not even looked at: it is closed
        assert escalation.fire_collaboration(db, collab["id"])[0] == "answered"
    # The task scheduled at the due instant finds it answered.
    collaboration_overdue_task.call_local(collab["id"])
    assert escalations() == [] and overdue_deliveries() == []


def test_two_workers_and_the_sweep_racing_alert_once(env: Env) -> None:
    env.department(answer_hours=4)
    ticket_id = make_ticket()
    collab = env.flag(ticket_id)
    with session_scope() as db:  # before the due time nothing fires
        assert escalation.fire_collaboration(db, collab["id"])[0] == "early"
    env.fake.set(T0 + timedelta(hours=4, minutes=1))
    # The task queued five times over (lost and re-armed schedules), two worker pools and two
    # sweeps all at once.
    for _ in range(5):
        collaboration_overdue_task(collab["id"])
    env.start_worker(3)
    env.start_worker(3)

    def sweep() -> None:
        with session_scope() as db:
            escalation.sweep(db)

    sweepers = [threading.Thread(target=sweep) for _ in range(2)]
    for t in sweepers:
        t.start()
    for t in sweepers:
        t.join()
    wait_for(lambda: tasks.pending_count() == 0)
    rows = escalations()
    assert [(r.ticket_id, r.level) for r in rows] == [(ticket_id, "overdue")]
    wait_for(lambda: all(env.overdue_alerts()))
    time.sleep(0.5)
    assert [len(x) for x in env.overdue_alerts()] == [1, 1]
    assert len(overdue_deliveries()) == 1
