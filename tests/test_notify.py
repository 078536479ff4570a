"""Outgoing webhooks: delivered by a worker after commit, retried with backoff, tries logged."""

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import session_scope
from core.notify import NotificationAttempt, NotificationDelivery, send
from tests.conftest import Service, start_service


class Hook:
    """A local stand-in for a WeCom robot: answers with the scripted statuses, records bodies."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict]] = []
        self.received: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append(json.loads(body))
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
    assert d.status == "failed" and d.attempts == 3
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
