"""Outgoing webhooks: delivered by a worker after commit, retried with backoff, tries logged."""

import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from core import tasks
from core.db import session_scope
from core.notify import NotificationAttempt, NotificationDelivery, send
from tests.conftest import Service, start_service


class Hook:
    """A local stand-in for a WeCom robot: answers with the scripted statuses, records bodies."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict]] = []
        self.received: list[dict] = []
        self.keys: list[str | None] = []  # Idempotency-Key of every request
        self.delay_s = 0.0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append(json.loads(body))
                hook.keys.append(self.headers.get("Idempotency-Key"))
                time.sleep(hook.delay_s)
                status, answer = hook.script.pop(0) if hook.script else (200, {"errcode": 0})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cgi-bin/webhook/send?key=k"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    from core.settings import get_settings

    os.environ["HOTLINE_NOTIFY_RETRY_BASE_S"] = "0.2"
    os.environ["HOTLINE_NOTIFY_MAX_ATTEMPTS"] = "3"
    get_settings.cache_clear()
    service = start_service("sqlite", Path(tmp_path_factory.mktemp("notify")))
    yield service
    service.client.__exit__(None, None, None)
    del os.environ["HOTLINE_NOTIFY_RETRY_BASE_S"], os.environ["HOTLINE_NOTIFY_MAX_ATTEMPTS"]
    get_settings.cache_clear()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()


def _send(url: str, text: str) -> int:
    with session_scope() as db:
        d = send(
            db=db,
            kind="test.card",
            recipient="technician:1",
            url=url,
            payload={"msgtype": "markdown", "markdown": {"content": text}},
            ref_type="ticket",
            ref_id=7,
        )
        return d.id


def _wait(delivery_id: int, timeout: float = 20) -> NotificationDelivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as db:
            d = db.get(NotificationDelivery, delivery_id)
            if d is not None and d.status != "pending":
                db.expunge(d)
                return d
        time.sleep(0.1)
    raise AssertionError("delivery still pending")


def _attempts(delivery_id: int) -> list[tuple[bool, int | None]]:
    with session_scope() as db:
        rows = db.scalars(
            select(NotificationAttempt)
            .where(NotificationAttempt.delivery_id == delivery_id)
            .order_by(NotificationAttempt.id)
        )
        return [(a.ok, a.status_code) for a in rows]


def test_retried_with_backoff_until_delivered(svc: Service, hook: Hook, listen) -> None:
    delivered = listen("notification.delivered")
    hook.script = [(500, {}), (200, {"errcode": 45009, "errmsg": "api freq out of limit"})]
    t0 = time.monotonic()
    delivery_id = _send(hook.url, "工单 HL-1")
    d = _wait(delivery_id)
    assert d.status == "delivered"
    assert d.attempts == 3
    assert _attempts(delivery_id) == [(False, 500), (False, 200), (True, 200)]
    assert time.monotonic() - t0 >= 0.2 + 0.4  # the second wait doubles the first
    assert [r["markdown"]["content"] for r in hook.received] == ["工单 HL-1"] * 3
    assert delivery_id in [e["delivery"].id for e in delivered]


def test_gives_up_after_the_last_try(svc: Service, hook: Hook, listen) -> None:
    failed = listen("notification.failed")
    hook.script = [(503, {})] * 3
    d = _wait(_send(hook.url, "x"))
    assert d.status == "dead" and d.attempts == 3
    assert "HTTP 503" in (d.last_error or "")
    assert d.id in [e["delivery"].id for e in failed]


def test_nothing_is_sent_for_a_rolled_back_transaction(svc: Service, hook: Hook) -> None:
    with pytest.raises(RuntimeError), session_scope() as db:
        send(db=db, kind="test", recipient="r", url=hook.url, payload={"a": 1})
        raise RuntimeError("the caller's change failed")
    time.sleep(1.0)
    assert hook.received == []
    with session_scope() as db:
        assert (
            db.scalars(
                select(NotificationDelivery).where(NotificationDelivery.kind == "test")
            ).all()
            == []
        )


def _after_grace() -> datetime:
    from datetime import UTC

    from core.notify import sweep_grace

    return datetime.now(UTC) + sweep_grace() + timedelta(seconds=30)


def test_every_try_of_a_delivery_carries_one_idempotency_key(svc: Service, hook: Hook) -> None:
    hook.script = [(500, {})]
    d = _wait(_send(hook.url, "重试"))
    assert d.status == "delivered" and d.attempts == 2
    assert hook.keys == [f"hotline-delivery-{d.id}"] * 2


def test_a_lost_queue_message_is_swept_and_delivered(
    svc: Service, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue write after commit fails (Redis down): the delivery stays pending and the
    sweep delivers it once its try is overdue."""
    from core import notify, tasks

    with monkeypatch.context() as m:
        m.setattr(tasks.urgent.storage, "enqueue", _raise_connection_error)
        delivery_id = _send(hook.url, "丢失的卡片")
    time.sleep(0.5)
    assert hook.received == []
    assert delivery_id not in notify.sweep()  # not overdue yet: its first try is still due
    assert delivery_id in notify.sweep(now=_after_grace())
    d = _wait(delivery_id)
    assert d.status == "delivered"
    assert hook.keys == [f"hotline-delivery-{delivery_id}"]


def _raise_connection_error(*args: object, **kwargs: object) -> None:
    raise ConnectionError("queue unreachable")


def test_a_card_sent_but_not_recorded_is_resent_with_the_same_key(
    svc: Service, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies (here: its database write fails) after the webhook answered: the
    delivery is still pending, the sweep sends it again, and the receiver sees one key."""
    from core import notify

    real = notify.record_attempt
    failed_once: list[int] = []

    def record_fails_once(db, delivery, **kw):  # type: ignore[no-untyped-def]
        if not failed_once:
            failed_once.append(delivery.id)
            raise ConnectionError("database went away")
        return real(db, delivery, **kw)

    monkeypatch.setattr(notify, "record_attempt", record_fails_once)
    delivery_id = _send(hook.url, "已送达未记录")
    deadline = time.monotonic() + 20
    while not failed_once and time.monotonic() < deadline:
        time.sleep(0.05)
    assert failed_once == [delivery_id]
    with session_scope() as db:
        assert db.get(NotificationDelivery, delivery_id).status == "pending"
    notify.sweep(now=_after_grace())
    d = _wait(delivery_id)
    assert d.status == "delivered" and d.attempts == 1
    assert len(hook.keys) == 2  # sent twice …
    assert set(hook.keys) == {f"hotline-delivery-{delivery_id}"}  # … one delivery to the receiver


def test_concurrent_runs_of_one_delivery_send_it_once(
    svc: Service, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep and the original message (or two sweeps) run the same delivery at once."""
    from core import notify, tasks

    with monkeypatch.context() as m:
        m.setattr(tasks.urgent.storage, "enqueue", _raise_connection_error)
        delivery_id = _send(hook.url, "并发")
    hook.delay_s = 0.5
    outcomes: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: outcomes.extend(notify.deliver_task.call_local([delivery_id]))
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["delivered", "skipped", "skipped", "skipped"]
    assert hook.keys == [f"hotline-delivery-{delivery_id}"]


def test_dead_deliveries_are_listed_for_admins_and_can_be_sent_again(
    svc: Service, hook: Hook
) -> None:
    hook.script = [(503, {})] * 3
    dead = _wait(_send(hook.url, "死信"))
    assert dead.status == "dead"
    listed = svc.client.get("/api/v1/notifications/dead", headers=svc.headers("supervisor"))
    assert listed.status_code == 200
    item = next(i for i in listed.json()["items"] if i["id"] == dead.id)
    assert item["attempts"] == 3 and "HTTP 503" in item["last_error"]
    assert item["idempotency_key"] == f"hotline-delivery-{dead.id}"
    denied = svc.client.get("/api/v1/notifications/dead", headers=svc.headers("agent"))
    assert denied.status_code == 403
    again = svc.client.post(
        f"/api/v1/notifications/{dead.id}/retry", headers=svc.headers("supervisor")
    )
    assert again.status_code == 200 and again.json()["status"] == "pending"
    assert _wait(dead.id).status == "delivered"
    assert set(hook.keys) == {f"hotline-delivery-{dead.id}"}
    listed = svc.client.get("/api/v1/notifications/dead", headers=svc.headers("supervisor"))
    assert dead.id not in [i["id"] for i in listed.json()["items"]]


_release_bulk = threading.Event()


@tasks.queue.task()
def _hold_a_bulk_worker() -> None:
    """Stands in for a long transcription: keeps one main-queue worker thread busy."""
    _release_bulk.wait(60)


def test_push_cards_do_not_wait_behind_long_bulk_work(svc: Service, hook: Hook) -> None:
    from core.settings import get_settings

    _release_bulk.clear()
    try:
        for _ in range(get_settings().embedded_workers + 1):  # every thread busy, one waiting
            _hold_a_bulk_worker()
        d = _wait(_send(hook.url, "紧急工单"))
        assert d.status == "delivered"
        assert tasks.queue.pending_count() >= 1  # the main queue is still backed up
    finally:
        _release_bulk.set()


# An outbox handler for the tests: fails while `failing` is set, records every run.
OUTBOX_RUNS: list[str] = []
OUTBOX_FAILING: list[bool] = []


def _outbox_handler(word: str) -> None:
    OUTBOX_RUNS.append(word)
    if OUTBOX_FAILING:
        raise RuntimeError("the outside system is down")


def _defer(word: str) -> int:
    from core import notify

    notify.handler("test.echo", lease_s=5)(_outbox_handler)
    with session_scope() as db:
        return notify.defer(db=db, handler="test.echo", args=[word], ref_type="test", ref_id=1).id


def test_an_outbox_job_whose_queue_message_was_lost_runs_once_swept(
    svc: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A side effect written in the transaction survives a queue that loses it (the write
    after commit failed): the sweep runs it, once; a sweep after that runs nothing."""
    from core import notify, tasks

    OUTBOX_RUNS.clear()
    with monkeypatch.context() as m:
        m.setattr(tasks.queue.storage, "enqueue", _raise_connection_error)
        job_id = _defer("丢失的任务")
    time.sleep(0.5)
    assert OUTBOX_RUNS == []
    assert job_id in notify.sweep(now=_after_grace())
    d = _wait(job_id)
    assert d.status == "delivered" and d.channel == "task"
    assert OUTBOX_RUNS == ["丢失的任务"]
    assert job_id not in notify.sweep(now=_after_grace())


def test_a_failing_outbox_job_is_retried_then_a_dead_letter_admins_can_rerun(
    svc: Service,
) -> None:
    OUTBOX_RUNS.clear()
    OUTBOX_FAILING.append(True)
    try:
        dead = _wait(_defer("坏任务"))
    finally:
        OUTBOX_FAILING.clear()
    assert dead.status == "dead" and dead.attempts == 3  # HOTLINE_NOTIFY_MAX_ATTEMPTS here
    assert OUTBOX_RUNS == ["坏任务"] * 3
    assert "the outside system is down" in (dead.last_error or "")
    listed = svc.client.get(
        "/api/v1/notifications/dead?channel=task", headers=svc.headers("supervisor")
    )
    assert listed.status_code == 200
    item = next(i for i in listed.json()["items"] if i["id"] == dead.id)
    assert item["kind"] == "task.test.echo" and item["channel"] == "task"
    webhooks = svc.client.get(
        "/api/v1/notifications/dead?channel=webhook", headers=svc.headers("supervisor")
    )
    assert dead.id not in [i["id"] for i in webhooks.json()["items"]]
    r = svc.client.post(f"/api/v1/notifications/{dead.id}/retry", headers=svc.headers("admin"))
    assert r.status_code == 200, r.text
    assert _wait(dead.id).status == "delivered"
    assert OUTBOX_RUNS == ["坏任务"] * 4
