"""A bounded number of HTTP requests in flight per process; a clean 503 beyond it.

Work beyond what the process can do at once only queues up inside it: every waiting request
holds a thread, a socket and often a database connection, and the ones admitted slow down.
A request over the limit waits briefly for a slot, then gets 503 with Retry-After, so the
client (or a load balancer) retries here later or elsewhere. The counter also tells whether
the process is stuck: requests in flight and none finished for a long time.
"""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from core.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Probes must answer while the process is full (that is when they matter).
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


class Gauge:
    """The limit and what the middleware counted: shared with the liveness probe."""

    def __init__(self, *, limit: int, wait_s: float, retry_after_s: int) -> None:
        self.limit = limit
        self.wait_s = wait_s
        self.retry_after_s = retry_after_s
        self.in_flight = 0
        self.refused = 0
        self.last_finished = time.monotonic()

    def stalled_for(self) -> float:
        """Seconds since a request last finished while some are in flight (0 when idle)."""
        if self.in_flight == 0:
            return 0.0
        return time.monotonic() - self.last_finished


class InFlightLimit:
    """ASGI middleware: at most `gauge.limit` HTTP requests at once (WebSockets, long-lived
    live calls, are not counted); one over waits up to `gauge.wait_s` for a slot, then gets
    503 with Retry-After."""

    def __init__(self, app: ASGIApp, *, gauge: Gauge) -> None:
        self.app = app
        self.gauge = gauge
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        g = self.gauge
        if scope["type"] != "http" or g.limit <= 0 or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            # One per event loop: a server has one; a test client may start a loop per request.
            self._slots, self._loop = asyncio.Semaphore(g.limit), loop
        slots = self._slots
        if not await self._take_slot(slots):
            g.refused += 1
            await self._refuse(send)
            return
        if g.in_flight == 0:
            g.last_finished = time.monotonic()  # idle until now: not stalled
        g.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            g.in_flight -= 1
            g.last_finished = time.monotonic()
            slots.release()

    async def _take_slot(self, slots: asyncio.Semaphore) -> bool:
        if not slots.locked():
            await slots.acquire()
            return True
        if self.gauge.wait_s <= 0:
            return False
        try:
            await asyncio.wait_for(slots.acquire(), self.gauge.wait_s)
        except TimeoutError:
            return False
        return True

    async def _refuse(self, send: Send) -> None:
        g = self.gauge
        body = json.dumps(
            error_body(
                "overloaded",
                f"This process is working on {g.limit} requests already; retry in "
                f"{g.retry_after_s} s.",
                {"limit": g.limit},
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(g.retry_after_s).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
