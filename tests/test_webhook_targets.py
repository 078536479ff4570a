"""Webhooks never reach loopback, private or link-local addresses unless allow-listed."""

import ipaddress
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core import webhook_targets
from core.db import session_scope
from core.notify import NotificationAttempt, NotificationDelivery, send
from core.settings import get_settings
from tests.conftest import Service, start_service


class Recorder:
    """A local HTTP server that records posts; optionally answers with a redirect."""

    def __init__(self, host: str = "127.0.0.1", redirect_to: str | None = None) -> None:
        self.received: list[dict] = []
        self.hosts: list[str | None] = []
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                rec.hosts.append(self.headers.get("Host"))
                rec.received.append(
                    json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                )
                if redirect_to:
                    self.send_response(307)
                    self.send_header("Location", redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", "13")
                self.end_headers()
                self.wfile.write(b'{"errcode":0}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    os.environ["HOTLINE_NOTIFY_MAX_ATTEMPTS"] = "1"
    get_settings.cache_clear()
    service = start_service("sqlite", Path(tmp_path_factory.mktemp("targets")))
    yield service
    service.client.__exit__(None, None, None)
    del os.environ["HOTLINE_NOTIFY_MAX_ATTEMPTS"]
    get_settings.cache_clear()


@pytest.fixture
def allow(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """allow("cidr,…") sets the allow-list for one test (the suite's own is loopback)."""

    def _set(spec: str) -> None:
        monkeypatch.setenv("HOTLINE_WEBHOOK_ALLOW_PRIVATE", spec)
        get_settings.cache_clear()

    yield _set
    monkeypatch.undo()
    get_settings.cache_clear()


def _deliver(url: str) -> tuple[NotificationDelivery, list[NotificationAttempt]]:
    with session_scope() as db:
        delivery_id = send(
            db=db, kind="test", recipient="x", url=url, payload={"msgtype": "text"}
        ).id
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with session_scope() as db:
            d = db.get(NotificationDelivery, delivery_id)
            assert d is not None
            if d.status != "pending":
                attempts = list(
                    db.scalars(
                        NotificationAttempt.__table__.select().where(
                            NotificationAttempt.delivery_id == delivery_id
                        )
                    )
                )
                db.expunge(d)
                return d, attempts
        time.sleep(0.1)
    raise AssertionError("delivery still pending")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert webhook_targets.refusal(ipaddress.ip_address(address), ()) is not None


def test_public_and_allow_listed_addresses_pass() -> None:
    for address in ("8.8.8.8", "2606:4700::1111", "119.29.29.29"):
        assert webhook_targets.refusal(ipaddress.ip_address(address), ()) is None
    nets = webhook_targets.parse_networks("10.20.0.0/16, fd00::/8")
    assert webhook_targets.refusal(ipaddress.ip_address("10.20.3.4"), nets) is None
    assert webhook_targets.refusal(ipaddress.ip_address("fd12::5"), nets) is None
    assert webhook_targets.refusal(ipaddress.ip_address("10.21.0.1"), nets) is not None


def test_malformed_urls_are_refused_not_raised() -> None:
    for url in (
        "http://[::1",
        "http://[::1/x",
        "ftp://example.cn/",
        "http:///path",
        "http://h:99999/",
    ):
        with pytest.raises(webhook_targets.RefusedTarget):
            webhook_targets.check(url, unresolvable_ok=True)


def test_host_names_are_resolved(allow) -> None:
    allow("")
    with pytest.raises(webhook_targets.RefusedTarget, match="loopback"):
        webhook_targets.check("http://localhost:8080/hook")
    with pytest.raises(webhook_targets.RefusedTarget):
        webhook_targets.check("file:///etc/passwd")


def test_refused_without_the_allow_list(svc: Service, allow) -> None:
    """The suite allow-lists loopback for its fake WeCom; without that, nothing is posted."""
    hook = Recorder()
    try:
        allow("")
        d, attempts = _deliver(hook.url)
        assert d.status == "dead" and "loopback" in (d.last_error or "")
        assert hook.received == [] and len(attempts) == 1
        h = svc.headers("admin")
        r = svc.client.post(
            "/api/v1/sla/departments",
            json={"name": "云端", "contact": "张工", "contact_url": hook.url},
            headers=h,
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "webhook_target_refused"
        r = svc.client.post(
            "/api/v1/dispatch/technicians",
            json={
                "name": "王师傅",
                "home_lat": 30.2,
                "home_lon": 120.1,
                "webhook_url": "http://169.254.169.254/latest/meta-data/",
            },
            headers=svc.headers("supervisor"),
        )
        assert r.status_code == 422 and "link-local" in r.json()["error"]["message"]
        allow("127.0.0.0/8")
        d, _ = _deliver(hook.url)
        assert d.status == "delivered" and len(hook.received) == 1
    finally:
        hook.server.shutdown()


def test_redirects_are_not_followed(svc: Service, allow) -> None:
    inner = Recorder(host="127.0.0.2")
    outer = Recorder(redirect_to=inner.url)
    try:
        allow("127.0.0.1/32")
        d, _ = _deliver(outer.url)
        assert d.status == "dead" and "307" in (d.last_error or "")
        assert len(outer.received) == 1 and inner.received == []
    finally:
        inner.server.shutdown()
        outer.server.shutdown()


def test_the_post_goes_to_the_address_checked(svc: Service, allow) -> None:
    """The host is resolved once: the request connects to the checked address (a DNS answer
    that changed in between would not be used) and still names the host."""
    allow("127.0.0.0/8,::1/128")
    hook = Recorder()
    try:
        url = hook.url.replace("127.0.0.1", "localhost")
        target = webhook_targets.check(url)
        assert target is not None and "localhost" not in target.url
        assert target.host_header == f"localhost:{hook.server.server_port}"
        d, _ = _deliver(url)
        assert d.status == "delivered" and hook.hosts == [target.host_header]
    finally:
        hook.server.shutdown()
