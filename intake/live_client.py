"""A client of the live-call WebSocket: streams a recording at real-time pace (CLI, benchmarks).

Kept next to the server side so the protocol has one home; it talks to the service only over
the network, like any telephony bridge would.
"""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import numpy as np
from websockets.sync.client import connect

from asr.audio import pcm16

CHUNK_S = 0.1


@dataclass
class LiveResult:
    """What came back from one streamed call, with arrival times (s since streaming began)."""

    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    sent_until: float = 0.0  # when the last audio chunk was sent

    def first(self, kind: str) -> float | None:
        """Arrival time of the first message of a kind."""
        return next((t for t, m in self.messages if m["type"] == kind), None)

    @property
    def ticket(self) -> dict[str, Any] | None:
        """The ticket the call produced, if any."""
        return next((m.get("ticket") for _, m in self.messages if m["type"] == "ticket"), None)


def stream_call(
    base_url: str,
    token: str,
    samples: np.ndarray,
    *,
    sample_rate: int,
    speed: float = 1.0,
    on_message: Callable[[float, dict[str, Any]], None] | None = None,
) -> LiveResult:
    """Send float samples (at sample_rate) as 16-bit PCM chunks at `speed` × real time, then
    stop, and collect every message until the ticket (or the end) arrives."""
    query = urlencode({"token": token, "sample_rate": sample_rate})
    url = f"{base_url.rstrip('/')}/api/v1/intake/stream?{query}"
    result = LiveResult()
    pcm = pcm16(samples)
    step = int(sample_rate * CHUNK_S) * 2
    with connect(url, max_size=None, open_timeout=30) as ws:
        ready = json.loads(ws.recv())
        if ready.get("type") != "ready":
            raise RuntimeError(f"{ready.get('code')}: {ready.get('message')}")
        t0 = time.perf_counter()

        def receive() -> None:
            for raw in ws:
                msg = json.loads(raw)
                at = time.perf_counter() - t0
                result.messages.append((at, msg))
                if on_message:
                    on_message(at, msg)
                if msg["type"] in ("ticket", "end"):
                    return

        reader = threading.Thread(target=receive, daemon=True)
        reader.start()
        for i in range(0, len(pcm), step):
            due = t0 + (i // step) * CHUNK_S / speed
            time.sleep(max(0.0, due - time.perf_counter()))
            ws.send(pcm[i : i + step])
        result.sent_until = time.perf_counter() - t0
        ws.send(json.dumps({"type": "stop"}))
        reader.join(timeout=120)
    return result
