"""`hotline eval scale`: text-intake throughput with 1, 2 and 4 `hotline serve` processes on
one PostgreSQL database.

One `hotline init` on an empty PostgreSQL database, then for each process count a fresh set
of `hotline serve` processes on it (a shared Redis queue and one `hotline worker` when
redis-server is installed, else the processes' own worker threads on the SQLite queue file),
and `requests` text intakes sent `concurrency` at a time, round-robin over the processes.
Printed per count: tickets/s (2xx answers over the wall time), p50 and p95 answer time, the
other answers, and the machine's load average and core count before and after, since on a
shared machine the numbers move with the neighbours' work.
"""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx

from core.settings import PACKAGE_ROOT
from eval.console_server import DEMO_CALLS, free_port, running_server


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} (1/5 min) on {os.cpu_count()} cores"


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hotline.cli", *args],
        env=env,
        cwd=PACKAGE_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),
    )


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not start within {timeout} s")


async def _drive(urls: list[str], token: str, requests: int, concurrency: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    answers: Counter[str] = Counter()
    sem = asyncio.Semaphore(concurrency)
    clients = [httpx.AsyncClient(base_url=u, headers=headers, timeout=60) for u in urls]

    async def one(i: int) -> None:
        text = DEMO_CALLS[i % len(DEMO_CALLS)].replace("电话", f"编号B{i}，电话")
        async with sem:
            started = time.monotonic()
            try:
                r = await clients[i % len(clients)].post(
                    "/api/v1/intake/text", json={"text": text, "channel": "app"}
                )
                answers[str(r.status_code)] += 1
                if r.status_code // 100 == 2:
                    latencies.append(time.monotonic() - started)
            except httpx.HTTPError as exc:
                answers[type(exc).__name__] += 1

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(requests)))
    wall = time.monotonic() - started
    for c in clients:
        await c.aclose()
    return {"wall": wall, "ok": len(latencies), "answers": answers, **_quantiles(latencies)}


def _quantiles(latencies: list[float]) -> dict[str, float]:
    s = sorted(latencies)
    if not s:
        return {"p50": float("nan"), "p95": float("nan")}
    return {"p50": s[int(0.5 * (len(s) - 1))], "p95": s[int(0.95 * (len(s) - 1))]}


def main(*, database_url: str, processes: list[int], requests: int, concurrency: int) -> int:
    """Run the measurement for each process count; 0 when every request got a 2xx."""
    ok = True
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        redis_port = free_port()
        queue_env: dict[str, str] = {}
        if shutil.which("redis-server"):
            redis = subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
                cwd=tmp,
                stdout=subprocess.DEVNULL,
            )
            stack.callback(lambda: (redis.terminate(), redis.wait(10)))
            queue_env = {
                "HOTLINE_TASK_QUEUE_URL": f"redis://127.0.0.1:{redis_port}/0",
                "HOTLINE_EMBEDDED_WORKERS": "0",
            }
            os.environ.update(queue_env)  # running_server's first process shares the queue
            stack.callback(lambda: [os.environ.pop(k, None) for k in queue_env])
        first = stack.enter_context(running_server(Path(tmp) / "data", database_url=database_url))
        env = {**first.env, **queue_env}
        queue = "Redis + 1 `hotline worker`" if queue_env else "SQLite queue, embedded workers"
        print(f"PostgreSQL, {queue}; {requests} intakes, {concurrency} at a time")
        if queue_env:
            worker = _spawn(["worker", "--threads", "2"], env, Path(tmp) / "worker.log")
            stack.callback(lambda: (worker.terminate(), worker.wait(30)))
        for n in processes:
            extra: list[subprocess.Popen] = []
            urls = [first.url]
            for i in range(n - 1):
                port = free_port()
                proc = _spawn(["serve", "--port", str(port)], env, Path(tmp) / f"web{i}.log")
                extra.append(proc)
                urls.append(f"http://127.0.0.1:{port}")
            for url, proc in zip(urls[1:], extra, strict=True):
                _wait_healthy(url, proc)
            asyncio.run(_drive(urls, first.token, min(8, requests), concurrency))  # warm-up
            before = _load()
            res = asyncio.run(_drive(urls, first.token, requests, concurrency))
            after = _load()
            for proc in extra:
                proc.send_signal(signal.SIGTERM)
            for proc in extra:
                proc.wait(timeout=30)
            print(
                f"{n} process(es): {res['ok']}/{requests} 2xx in {res['wall']:.1f} s = "
                f"{res['ok'] / res['wall']:.1f} tickets/s; p50 {res['p50'] * 1000:.0f} ms, "
                f"p95 {res['p95'] * 1000:.0f} ms; answers {dict(res['answers'])}; "
                f"{before} before, {after} after"
            )
            ok = ok and res["ok"] == requests
    return 0 if ok else 1
