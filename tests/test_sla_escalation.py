"""Escalation fires exactly once per ticket, deadline and level: with several workers racing,
on time in real seconds, across a worker restart, and alerts batch into digests."""

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core import clock, tasks
from core.db import session_scope
from core.notify import NotificationDelivery
from sla import escalation
from sla.escalation import fire_task
from sla.models import Escalation, TicketSla
from tests.conftest import BACKENDS
from tests.sla_support import WorkerEnv, make_ticket, wait_for, worker_env

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 10, 9, 30, tzinfo=SH).astimezone(UTC)  # Tuesday
DEADLINE = datetime(2026, 3, 10, 11, 30, tzinfo=SH).astimezone(UTC)  # medium: 120 min


@pytest.fixture(params=BACKENDS)
def env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WorkerEnv]:
    # Workers are started and stopped by the tests themselves (several, restarted).
    monkeypatch.setenv("HOTLINE_EMBEDDED_WORKERS", "0")
    monkeypatch.setenv("HOTLINE_SLA_DIGEST_AFTER", "2")
    monkeypatch.setenv("HOTLINE_SLA_DIGEST_WINDOW_S", "2")
    with worker_env(request.param, tmp_path, T0, WorkerEnv) as env:
        yield env


def escalations(ticket_id: int | None = None) -> list[Escalation]:
    with session_scope() as db:
        stmt = select(Escalation).order_by(Escalation.id)
        if ticket_id is not None:
            stmt = stmt.where(Escalation.ticket_id == ticket_id)
        return list(db.scalars(stmt))


def deliveries(kind: str) -> list[NotificationDelivery]:
    with session_scope() as db:
        return list(
            db.scalars(select(NotificationDelivery).where(NotificationDelivery.kind == kind))
        )


def queue_idle() -> bool:
    return tasks.pending_count() == 0


def test_each_level_fires_once_with_two_workers_racing(env: WorkerEnv) -> None:
    ticket_id = make_ticket()
    env.fake.set(DEADLINE + timedelta(hours=2, minutes=10))  # past black
    # Every level queued five times (as after lost schedules and re-arming), then two
    # worker pools and a sweep all go at it at once.
    for _ in range(5):
        for level in escalation.LEVELS:
            fire_task(ticket_id, "response", DEADLINE.isoformat(), level)
    env.start_worker(3)
    env.start_worker(3)

    def sweep() -> None:
        with session_scope() as db:
            escalation.sweep(db)

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    sweeper.join()
    wait_for(queue_idle)
    rows = escalations(ticket_id)
    assert sorted(r.level for r in rows) == ["black", "red", "yellow"]
    assert {r.recipient for r in rows if r.level != "black"} == {"主管-王"}
    assert next(r for r in rows if r.level == "black").recipient == "总监-李"

    # Delivery is at least once, each try with the delivery's Idempotency-Key: a try whose
    # worker failed before recording it is sent again by the sweep (within its interval plus
    # the lease), so the receiver counts distinct keys.
    def received(path: str | None = None) -> set[str | None]:
        return {r["key"] for r in env.recorder.requests if path in (None, r["path"])}

    wait_for(lambda: len(received()) == 3, timeout=90)
    time.sleep(0.5)
    assert len(received("/supervisor")) == 2 and len(received("/director")) == 1
    assert len(deliveries("sla.alert")) == 3


def test_fires_within_seconds_of_its_instant_and_survives_a_restart(env: WorkerEnv) -> None:
    ticket_id = make_ticket()
    # From now on the clock runs in real time, 4 s before the yellow instant.
    yellow_due = DEADLINE + escalation.LEVELS["yellow"]
    env.fake.follow_wall(yellow_due - timedelta(seconds=4))
    first = env.start_worker(2)
    escalation.arm(ticket_id, "response", DEADLINE)  # what refresh does after a commit
    time.sleep(1.0)
    env.stop_worker(first)  # the machine goes down before the instant ...
    time.sleep(5.0)
    assert escalations(ticket_id) == []  # nothing ran while it was down
    restarted_at = clock.now()
    env.start_worker(2)  # ... and comes back: the durable schedule is still there
    # Bounds are loose (tens of seconds): on a loaded CI machine the worker threads start
    # late (a fresh-clone run once saw more than 8 s).
    rows = wait_for(lambda: escalations(ticket_id), timeout=40)
    assert [r.level for r in rows] == ["yellow"]
    fired = rows[0].fired_at
    assert restarted_at <= fired <= restarted_at + timedelta(seconds=30)

    # Without a restart the next ticket's level fires at its instant, from its own schedule:
    # a sweep would have fired the first ticket's red and black too (asserted below), and
    # the next minute's sweep is 60 s away.
    second = make_ticket()
    with session_scope() as db:
        deadline = db.get(TicketSla, second).response_deadline_at
    env.fake.follow_wall(deadline + escalation.LEVELS["yellow"] - timedelta(seconds=2))
    escalation.arm(second, "response", deadline)
    rows = wait_for(lambda: escalations(second), timeout=40)
    lateness = (rows[0].fired_at - rows[0].due_at).total_seconds()
    assert 0 <= lateness <= 30.0
    # The clock jumped two hours: the sweep catches up the first ticket's red and black
    # (their tasks are scheduled far ahead in wall time) and never repeats a level.
    with session_scope() as db:
        assert escalation.sweep(db)["fired"] == 2
    with session_scope() as db:
        assert escalation.sweep(db) == {}
    keys = [(r.ticket_id, r.level) for r in escalations()]
    assert sorted(keys) == sorted(
        [(ticket_id, "yellow"), (ticket_id, "red"), (ticket_id, "black"), (second, "yellow")]
    )


def test_a_met_or_paused_deadline_does_not_escalate(env: WorkerEnv) -> None:
    met = make_ticket()
    paused = make_ticket()
    with session_scope() as db:
        from sla.evidence import record_pushed
        from sla.models import Evidence
        from sla.service import record_pause, refresh

        record_pushed(db, ticket_id=met, at=T0, actor="t", proof={}, key="m")
        for kind in ("viewed", "first_call"):
            db.add(
                Evidence(
                    ticket_id=met,
                    kind=kind,
                    at=T0 + timedelta(minutes=20),
                    recorded_at=T0,
                    actor="t",
                    proof={},
                    accepted=True,
                    idempotency_key=f"{kind}-m",
                )
            )
        db.flush()
        refresh(db, met)
        record_pause(db, ticket_id=paused, kind="waiting_customer", action="start", actor="t")
    env.fake.set(DEADLINE + timedelta(hours=3))
    with session_scope() as db:
        assert escalation.fire(db, met, "response", DEADLINE, "yellow")[0] == "met"
        assert escalation.fire(db, paused, "response", DEADLINE, "yellow")[0] == "stale"
        assert escalation.sweep(db) == {}
    assert escalations() == []


def test_many_alerts_at_once_become_a_digest(env: WorkerEnv) -> None:
    ids = [make_ticket(region="深圳") for _ in range(6)]
    env.fake.follow_wall(DEADLINE + timedelta(minutes=6))
    env.start_worker(2)
    with session_scope() as db:
        assert escalation.sweep(db)["fired"] == 6  # six yellows for one supervisor at once
    # Two alerts go out at once (HOTLINE_SLA_DIGEST_AFTER=2); four wait for the digest.
    digest = wait_for(
        lambda: [m for m in env.recorder.to("/supervisor") if m["hotline"]["type"] == "sla.digest"]
    )
    alerts = [m for m in env.recorder.to("/supervisor") if m["hotline"]["type"] == "sla.alert"]
    assert len(alerts) == 2 and len(digest) == 1
    assert digest[0]["hotline"]["counts"]["yellow"] == 4
    assert "SLA 预警汇总：4 条" in digest[0]["markdown"]["content"]
    items = {a["hotline"]["ticket_id"] for a in alerts} | {
        i["ticket_id"] for i in digest[0]["hotline"]["items"]
    }
    assert items == set(ids)
    assert all(e.delivery_id is not None for e in escalations())


def test_tasks_queued_under_their_former_names_still_run() -> None:
    """The SLA tasks moved beside the functions they run (sla.tasks → sla.escalation,
    sla.service); a message a deployment queued under the old name still finds its task."""
    from huey.registry import Message

    import sla.tasks  # noqa: F401  (the worker imports it: it keeps the old names)
    from core.tasks import queue, urgent
    from sla.escalation import collaboration_overdue_task, flush_digest_task
    from sla.service import refresh_calendar_task

    for q, task, args in (
        (urgent, fire_task, (1, "response", "2026-01-05T10:00:00+00:00", "yellow")),
        (urgent, collaboration_overdue_task, (1,)),
        (urgent, flush_digest_task, ("ops",)),
        (queue, refresh_calendar_task, (1,)),
    ):
        old = Message("id-1", f"sla.tasks.{task.func.__name__}", None, 0, 0, None, args, {},
                      None, None, None, None, None, None, 0)  # fmt: skip
        got = q.deserialize_task(q.serializer.serialize(old))
        assert type(got) is task.task_class and got.args == args
