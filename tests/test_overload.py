"""Under load and faults the process answers: a bounded number of requests in flight (503 +
Retry-After beyond it), probes that go red, database outages as 503, an index sync that
never waits for a connection while requests wait for it."""

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from core.inflight import Gauge, InFlightLimit
from tests.conftest import Service, start_service


def _blocking_app(gauge: Gauge, release: asyncio.Event, entered: asyncio.Event) -> FastAPI:
    app = FastAPI()
    app.add_middleware(InFlightLimit, gauge=gauge)

    @app.get("/slow")
    async def slow() -> dict:
        entered.set()
        await release.wait()
        return {"done": True}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"in_flight": gauge.in_flight}

    return app


def test_requests_over_the_limit_get_503_with_retry_after() -> None:
    async def scenario() -> None:
        gauge = Gauge(limit=1, wait_s=0, retry_after_s=7)
        release, entered = asyncio.Event(), asyncio.Event()
        app = _blocking_app(gauge, release, entered)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = asyncio.create_task(client.get("/slow"))
            await entered.wait()
            refused = await client.get("/slow")
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "7"
            assert refused.json()["error"]["code"] == "overloaded"
            # Probes are never refused: they matter most when the process is full.
            probe = await client.get("/healthz")
            assert probe.status_code == 200 and probe.json()["in_flight"] == 1
            release.set()
            assert (await first).status_code == 200
            assert (await client.get("/slow")).status_code == 200  # the slot came back
        assert gauge.refused == 1 and gauge.in_flight == 0

    asyncio.run(scenario())


def test_a_request_over_the_limit_waits_for_a_slot_before_refusing() -> None:
    async def scenario() -> None:
        gauge = Gauge(limit=1, wait_s=30, retry_after_s=1)
        release, entered = asyncio.Event(), asyncio.Event()
        app = _blocking_app(gauge, release, entered)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = asyncio.create_task(client.get("/slow"))
            await entered.wait()
            second = asyncio.create_task(client.get("/slow"))
            await asyncio.sleep(0.05)
            assert not second.done()  # waiting for the slot, not refused
            release.set()
            assert (await first).status_code == 200
            assert (await second).status_code == 200
        assert gauge.refused == 0

    asyncio.run(scenario())


def test_healthz_turns_503_when_requests_stop_finishing(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import health
    from core.settings import get_settings

    monkeypatch.setenv("HOTLINE_STUCK_AFTER_S", "0.2")
    get_settings.cache_clear()

    async def scenario() -> None:
        release, entered = asyncio.Event(), asyncio.Event()
        app = FastAPI()

        @app.get("/slow")
        async def slow() -> dict:
            entered.set()
            await release.wait()
            return {}

        health.install(app, checks={})
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/healthz")).json()["status"] == "ok"  # idle is alive
            stuck = asyncio.create_task(client.get("/slow"))
            await entered.wait()
            await asyncio.sleep(0.3)
            probe = await client.get("/healthz")
            assert probe.status_code == 503
            assert probe.json()["status"] == "stuck" and probe.json()["in_flight"] == 1
            release.set()
            await stuck
            assert (await client.get("/healthz")).status_code == 200

    try:
        asyncio.run(scenario())
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_readyz_names_a_check_that_fails_or_hangs() -> None:
    from core.health import run_checks

    hang = threading.Event()

    def fails() -> str:
        raise RuntimeError("decoder thread stopped")

    results = asyncio.run(
        run_checks({"ok": lambda: "fine", "bad": fails, "slow": lambda: str(hang.wait())}, 0.2)
    )
    hang.set()
    assert results["ok"].ok and results["ok"].detail == "fine"
    assert not results["bad"].ok and "decoder thread stopped" in (results["bad"].detail or "")
    assert not results["slow"].ok and "no answer within" in (results["slow"].detail or "")


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Iterator[Service]:
    from core.db import get_engine

    svc = start_service("sqlite", tmp_path)
    try:
        yield svc
    finally:
        svc.client.__exit__(None, None, None)
        get_engine().dispose()


@pytest.mark.parametrize("gone", ["sqlite", "postgresql"])
def test_database_outage_is_503_with_retry_after_and_readyz_says_so(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, gone: str
) -> None:
    from core.db import get_engine
    from core.settings import get_settings

    svc = sqlite_service
    ready = svc.client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert set(ready.json()["checks"]) >= {"database", "queue", "index", "asr_decoder"}

    # The database goes away: a file that cannot be opened (its folder does not exist), or a
    # PostgreSQL server that refuses connections (nothing listens on port 1).
    unreachable = {
        "sqlite": f"sqlite:///{tmp_path / 'gone' / 'x.db'}",
        "postgresql": "postgresql+psycopg://hotline@127.0.0.1:1/hotline",
    }
    good_url = get_settings().resolved_database_url
    monkeypatch.setenv("HOTLINE_DATABASE_URL", unreachable[gone])
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        down = svc.client.get("/readyz")
        assert down.status_code == 503 and down.headers["retry-after"]
        assert down.json()["failed"] == ["database"]
        assert "OperationalError" in down.json()["checks"]["database"]["detail"]

        r = svc.client.post(
            "/api/v1/intake/text",
            json={"text": "门锁指纹没反应"},
            headers=svc.headers("agent"),
        )
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"]
        assert r.json()["error"]["code"] == "database_unavailable"
    finally:
        get_engine().dispose()
        monkeypatch.setenv("HOTLINE_DATABASE_URL", good_url)
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert svc.client.get("/readyz").status_code == 200


def test_index_sync_never_waits_for_a_connection_the_caller_holds(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request holds a pooled connection while it asks for the index. With a pool of one,
    a sync that took its connection from that pool (under a lock the other requests wait on)
    could never finish; each caller here holds the only connection and forces a sync."""
    from core.settings import get_settings
    from knowledge_base import live_index

    monkeypatch.setenv("HOTLINE_INDEX_SYNC_INTERVAL_S", "0")
    get_settings.cache_clear()
    live_index.reset()
    url = get_settings().resolved_database_url
    pool_of_one = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=20)
    done: list[int] = []
    errors: list[BaseException] = []

    def request(i: int) -> None:
        try:
            with Session(pool_of_one) as db:
                db.execute(text("SELECT 1"))  # holds the pool's only connection from here
                index = live_index.get_index(bind=pool_of_one)
                assert index.search("指纹 没反应", k=3)
                db.execute(text("SELECT 1"))
            done.append(i)
        except BaseException as exc:  # reported below, with the thread's own error
            errors.append(exc)

    try:
        threads = [threading.Thread(target=request, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert sorted(done) == list(range(8))
    finally:
        pool_of_one.dispose()
        monkeypatch.undo()
        get_settings.cache_clear()
        live_index.reset()
