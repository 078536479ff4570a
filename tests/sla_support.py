"""Helpers of the SLA tests: a settable clock, a recording webhook server, tickets, setup."""

import io
import json
import threading
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from core import clock, tasks
from core.db import get_engine


class FakeClock:
    """A clock tests move by hand; `follow_wall` makes it run with real time from an offset."""

    def __init__(self, start: datetime) -> None:
        self._fixed: datetime | None = start
        self._offset = timedelta()

    def now(self) -> datetime:
        if self._fixed is not None:
            return self._fixed
        return datetime.now(UTC) + self._offset

    def set(self, at: datetime) -> None:
        self._fixed = at

    def advance(self, **kw: float) -> None:
        if self._fixed is not None:
            self._fixed += timedelta(**kw)
        else:
            self._offset += timedelta(**kw)

    def follow_wall(self, now: datetime) -> None:
        """From here on, time runs at wall speed, starting at `now`."""
        self._offset = now - datetime.now(UTC)
        self._fixed = None


class Recorder:
    """A local HTTP server standing in for WeCom / webhook endpoints; keeps every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                recorder.requests.append(
                    {
                        "path": self.path,
                        "json": json.loads(body or b"{}"),
                        "key": self.headers.get("Idempotency-Key"),
                    }
                )
                out = b'{"errcode": 0}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def to(self, path: str) -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests if r["path"] == path]

    def close(self) -> None:
        """Stop serving and close the socket: a delivery still on its way is refused at once
        instead of waiting out its timeout in a listening socket nobody answers."""
        self.server.shutdown()
        self.server.server_close()


def wait_for(cond: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll cond until it is truthy (background workers deliver asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def install(client: Any, headers: dict[str, str], recorder: Recorder) -> None:
    """Default calendars and policies; every region alerts the recorder."""
    assert client.post("/api/v1/sla/defaults", headers=headers).status_code == 200
    resp = client.put(
        "/api/v1/sla/regions/*",
        headers=headers,
        json={
            "supervisor": "主管-王",
            "supervisor_url": recorder.url("/supervisor"),
            "director": "总监-李",
            "director_url": recorder.url("/director"),
        },
    )
    assert resp.status_code == 200, resp.text


def make_ticket(
    *,
    severity: str | None = "medium",
    region: str = "深圳",
    lat: float | None = 22.5431,
    lon: float | None = 114.0579,
    phone: str = "13800138000",
    product_type: str = "智能门锁",
) -> int:
    """A ticket created the way triage creates one (publishes ticket.triaged)."""
    from core.db import session_scope
    from tickets.service import create_from_triage
    from triage.result import TriageResult

    fields = {
        "product_type": product_type,
        "phone": phone,
        "region": region,
        "latitude": lat,
        "longitude": lon,
        "address": "深圳市南山区科技园1栋",
    }
    triage = TriageResult(
        text="门锁指纹没反应",
        normalized_text="门锁指纹没反应",
        fields=fields,
        required_fields=[],
        diagnosis={"kb_id": None, "confidence": 0.0, "no_match": True},
        severity=severity,
        sla_class="P3",
    )
    with session_scope() as db:
        return create_from_triage(db=db, triage=triage, channel="app", actor="test").id


def wav_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A short telephone-quality tone as WAV."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


def use_clock(fake: FakeClock) -> None:
    clock.set_clock(fake.now)


def field_technician(client: Any, headers: dict[str, str], token: str, name: str) -> int:
    """A registered technician acting with the API token `token` (plain). Switched off, so
    automatic dispatch leaves them alone: tests give them tickets by override (`give`)."""
    from core.auth import lookup_token
    from core.db import session_scope

    with session_scope() as db:
        row = lookup_token(db=db, plain=token)
        assert row is not None
        token_id = row.id
    resp = client.post(
        "/api/v1/dispatch/technicians",
        headers=headers,
        json={
            "name": name,
            "home_lat": 22.5431,
            "home_lon": 114.0579,
            "available": False,
            "api_token_id": token_id,
        },
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def give(
    client: Any, headers: dict[str, str], ticket_id: int, technician_id: int, token: str
) -> None:
    """Hand the ticket to the technician (a supervisor's override: a real offer), who accepts
    it with their token `token` (an open offer would expire while the test clock moves)."""
    resp = client.post(
        f"/api/v1/dispatch/tickets/{ticket_id}/reassign",
        headers=headers,
        json={"technician_id": technician_id, "reason": "test: this technician takes it"},
    )
    assert resp.status_code == 200, resp.text
    resp = client.post(
        f"/api/v1/dispatch/assignments/{resp.json()['id']}/accept",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200, resp.text


class WorkerEnv:
    """A service with the SLA defaults, a fake clock, a recording webhook server and the task
    workers the test starts and stops itself."""

    def __init__(self, svc: Any, fake: FakeClock, recorder: Recorder) -> None:
        self.svc, self.fake, self.recorder = svc, fake, recorder
        self.consumers: list[Any] = []

    def start_worker(self, threads: int = 2) -> Any:
        consumer = tasks.start_worker(threads)
        self.consumers.append(consumer)
        return consumer

    def stop_worker(self, consumer: Any) -> None:
        tasks.stop_worker(consumer)
        self.consumers.remove(consumer)


E = TypeVar("E", bound=WorkerEnv)


@contextmanager
def worker_env(backend: str, tmp_path: Path, t0: datetime, env_cls: type[E]) -> Iterator[E]:
    """Run a WorkerEnv (set HOTLINE_EMBEDDED_WORKERS=0 first) and tear it all down after."""
    from tests.conftest import start_service

    svc = start_service(backend, tmp_path)
    fake = FakeClock(t0)
    clock.set_clock(fake.now)
    recorder = Recorder()
    install(svc.client, svc.headers("admin"), recorder)
    env = env_cls(svc, fake, recorder)
    try:
        yield env
    finally:
        for consumer in list(env.consumers):
            env.stop_worker(consumer)
        clock.set_clock(None)
        recorder.close()
        svc.client.__exit__(None, None, None)
        get_engine().dispose()
