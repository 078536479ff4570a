"""Probes for operators and load balancers, and the per-process request limit they watch.

`/healthz` (liveness) answers from the event loop, without a worker thread, and turns 503
when requests are in flight and none has finished for `stuck_after_s`: restart the process.
`/readyz` (readiness) asks every part the service needs (database, task queue, and what the
composition root adds: KB index, ASR decoder), each in a thread of its own with a deadline,
and names the ones that failed or did not answer: take the process out of rotation.
"""

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from core.inflight import Gauge, InFlightLimit
from core.settings import get_settings

# A check returns a short note, or raises with the reason it is not ready.
Check = Callable[[], str | None]


class Liveness(BaseModel):
    """/healthz: ok, or stuck (requests in flight, none finished for stalled_s)."""

    status: str
    in_flight: int
    refused: int
    stalled_s: float


class CheckResult(BaseModel):
    """One readiness check: whether it passed, what it said, how long it took."""

    ok: bool
    detail: str | None = None
    ms: float | None = None


class Readiness(BaseModel):
    """/readyz: ready when every check passed within the deadline."""

    status: str
    failed: list[str]
    checks: dict[str, CheckResult]


def database_check() -> str:
    """The configured database answers a query (a connection from the pool: a pool
    exhausted for longer than the deadline is not ready either)."""
    from core.db import get_engine

    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    return "ok"


def queue_check() -> str:
    """The task queue's storage answers (SQLite file or Redis)."""
    from core.tasks import queue

    return f"{queue.storage.queue_size()} queued"


async def run_checks(checks: dict[str, Check], deadline_s: float) -> dict[str, CheckResult]:
    """Every check at once, each in its own daemon thread (a hung one is left behind, never
    waited for), answered within deadline_s."""
    loop = asyncio.get_running_loop()
    futures: dict[str, asyncio.Future] = {}
    started = time.monotonic()

    for name, check in checks.items():
        future: asyncio.Future = loop.create_future()

        def finish(future: asyncio.Future, result: CheckResult) -> None:
            if not future.done():
                future.set_result(result)

        def target(check: Check = check, future: asyncio.Future = future) -> None:
            try:
                result = CheckResult(ok=True, detail=check())
            except Exception as exc:  # the reason is the answer
                result = CheckResult(ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])
            result.ms = round((time.monotonic() - started) * 1000, 1)
            # A check answering after the probe's loop ended: nobody waits for it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(finish, future, result)

        threading.Thread(target=target, name=f"readyz-{name}", daemon=True).start()
        futures[name] = future
    await asyncio.wait(futures.values(), timeout=deadline_s)
    return {
        name: future.result()
        if future.done()
        else CheckResult(ok=False, detail=f"no answer within {deadline_s:g} s")
        for name, future in futures.items()
    }


def install(app: FastAPI, *, checks: dict[str, Check]) -> Gauge:
    """Limit requests in flight and add /healthz and /readyz (database and queue checks, plus
    checks). Returns the gauge the limit counts on."""
    settings = get_settings()
    gauge = Gauge(
        limit=settings.max_in_flight,
        wait_s=settings.in_flight_wait_s,
        retry_after_s=settings.retry_after_s,
    )
    app.add_middleware(InFlightLimit, gauge=gauge)
    all_checks: dict[str, Check] = {"database": database_check, "queue": queue_check, **checks}

    @app.get("/healthz", tags=["ops"], response_model=Liveness)
    async def healthz() -> JSONResponse:
        """Liveness: 503 when requests are in flight and none has finished for a while."""
        stalled = gauge.stalled_for()
        stuck = stalled >= get_settings().stuck_after_s
        body = Liveness(
            status="stuck" if stuck else "ok",
            in_flight=gauge.in_flight,
            refused=gauge.refused,
            stalled_s=round(stalled, 1),
        )
        return JSONResponse(body.model_dump(), status_code=503 if stuck else 200)

    @app.get("/readyz", tags=["ops"], response_model=Readiness)
    async def readyz() -> JSONResponse:
        """Readiness: every part answers within the deadline; 503 names those that did not."""
        results = await run_checks(all_checks, get_settings().readyz_deadline_s)
        failed = [name for name, r in results.items() if not r.ok]
        body = Readiness(status="not_ready" if failed else "ready", failed=failed, checks=results)
        headers = {"Retry-After": str(settings.retry_after_s)} if failed else None
        return JSONResponse(body.model_dump(), status_code=503 if failed else 200, headers=headers)

    return gauge
