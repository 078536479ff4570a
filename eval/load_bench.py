"""`hotline eval load`: a burst of concurrent text intakes against one real service.

A real service (`hotline serve`, uvicorn, SQLite unless a database URL is given) is started;
N clients each POST /api/v1/intake/text at the same moment, `rounds` times in a row, while a
prober asks /healthz every 0.25 s. Every answer is counted as 2xx, 503 (a clean refusal,
which must carry Retry-After), other (500 …) or timeout; after the burst the prober keeps
going and one intake is tried every second until it answers, which gives the time the
process needed to recover. The floor: every request answered (2xx or 503), no timeout,
no other status, the process answering again right after the burst.
"""

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from eval.console_server import DEMO_CALLS, running_server

REQUEST_TIMEOUT_S = 60.0
RECOVERY_LIMIT_S = 120.0


@dataclass
class Tally:
    """What the burst's requests got."""

    ok: int = 0
    refused: int = 0
    refused_without_retry_after: int = 0
    other: dict[int, int] = field(default_factory=dict)
    timeouts: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Requests sent."""
        return self.ok + self.refused + sum(self.other.values()) + self.timeouts + self.errors


async def _one(api: httpx.AsyncClient, text: str, tally: Tally) -> None:
    started = time.monotonic()
    try:
        r = await api.post("/api/v1/intake/text", json={"text": text, "channel": "app"})
    except httpx.TimeoutException:
        tally.timeouts += 1
        return
    except httpx.HTTPError:
        tally.errors += 1
        return
    tally.latencies.append(time.monotonic() - started)
    if r.status_code // 100 == 2:
        tally.ok += 1
    elif r.status_code == 503:
        tally.refused += 1
        if "retry-after" not in r.headers:
            tally.refused_without_retry_after += 1
    else:
        tally.other[r.status_code] = tally.other.get(r.status_code, 0) + 1


async def _probe(url: str, stop: asyncio.Event, samples: list[tuple[float, float | None]]) -> None:
    """/healthz latency every 0.25 s (None: no answer within 5 s)."""
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while not stop.is_set():
            started = time.monotonic()
            try:
                r = await client.get("/healthz")
                took: float | None = time.monotonic() - started if r.status_code == 200 else None
            except httpx.HTTPError:
                took = None
            samples.append((started, took))
            await asyncio.sleep(0.25)


async def _recovery(api: httpx.AsyncClient) -> float | None:
    """Seconds until one intake answers 2xx again (None: not within RECOVERY_LIMIT_S)."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_LIMIT_S:
        try:
            r = await api.post("/api/v1/intake/text", json={"text": DEMO_CALLS[0]}, timeout=10)
            if r.status_code // 100 == 2:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        await asyncio.sleep(1.0)
    return None


def _describe_probe(samples: list[tuple[float, float | None]]) -> str:
    answered = [t for _, t in samples if t is not None]
    missed = sum(1 for _, t in samples if t is None)
    if not answered:
        return f"0 answered, {missed} unanswered"
    p95 = sorted(answered)[int(0.95 * (len(answered) - 1))]
    worst = max(answered) * 1000
    return (
        f"{len(answered)} answered (p95 {p95 * 1000:.0f} ms, max {worst:.0f} ms), "
        f"{missed} unanswered"
    )


async def _burst(url: str, token: str, concurrency: int, rounds: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=REQUEST_TIMEOUT_S, limits=limits
    ) as api:
        stop = asyncio.Event()
        during: list[tuple[float, float | None]] = []
        prober = asyncio.create_task(_probe(url, stop, during))
        tally = Tally()
        started = time.monotonic()
        for r in range(rounds):
            first = r * concurrency
            texts = [DEMO_CALLS[(first + i) % len(DEMO_CALLS)] for i in range(concurrency)]
            await asyncio.gather(*(_one(api, t, tally) for t in texts))
        burst_s = time.monotonic() - started
        stop.set()
        await prober
        stop = asyncio.Event()
        after: list[tuple[float, float | None]] = []
        prober = asyncio.create_task(_probe(url, stop, after))
        recovered = await _recovery(api)
        await asyncio.sleep(2.0)
        stop.set()
        await prober
    return {
        "tally": tally,
        "burst_s": burst_s,
        "during": during,
        "after": after,
        "recovered_s": recovered,
    }


def _print_errors(log: Path) -> None:
    """The distinct exception lines the service logged (why requests failed)."""
    seen: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if "Error:" in line or "Exception:" in line:
            seen[line.strip()[:160]] = seen.get(line.strip()[:160], 0) + 1
    for line, count in list(seen.items())[:5]:
        print(f"        service log ({count}x): {line}")


def main(*, concurrency: list[int], rounds: int = 2, database_url: str | None = None) -> int:
    """Run one burst per concurrency level on a fresh service; 0 when every level holds."""
    ok = True
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp) / "data", database_url=database_url) as server,
    ):
        print(f"service {server.url} ({database_url or 'SQLite'})")
        for n in concurrency:
            res = asyncio.run(_burst(server.url, server.token, n, rounds))
            t: Tally = res["tally"]
            med = statistics.median(t.latencies) if t.latencies else float("nan")
            rec = res["recovered_s"]
            print(
                f"N={n:>3} x{rounds}: {t.total} sent in {res['burst_s']:.1f} s: "
                f"2xx {t.ok}, 503 {t.refused} "
                f"(without Retry-After {t.refused_without_retry_after}), "
                f"other {t.other or 0}, timeouts {t.timeouts}, errors {t.errors}; "
                f"median answer {med:.2f} s"
            )
            print(f"        /healthz during: {_describe_probe(res['during'])}")
            print(
                f"        /healthz after:  {_describe_probe(res['after'])}; "
                f"intake answers again after "
                + (f"{rec:.1f} s" if rec is not None else f"> {RECOVERY_LIMIT_S:.0f} s")
            )
            held = (
                not t.other
                and t.timeouts == 0
                and t.errors == 0
                and t.refused_without_retry_after == 0
                and rec is not None
                and rec < 10
            )
            ok = ok and held
            print(f"        floor (all answered 2xx/503, 0 stalls): {'held' if held else 'FAILED'}")
            if not held:
                _print_errors(server.data_dir / "server.log")
    return 0 if ok else 1
