"""`hotline eval ticket-cpu`: CPU per text ticket, end to end, on a real service.

A real service (`hotline serve`, SQLite, embedded workers) is started as `make run` does.
Labelled utterances are POSTed to /api/v1/intake/text one at a time; each makes a ticket,
its SLA clock and its dispatch decision (the queued work runs on the service's own worker
threads, so the service process's CPU holds the whole path). After the last answer the
benchmark waits until the service is idle again, then divides the process's CPU seconds
(user + system, all threads, from /proc) by the tickets made. A second pass with several
clients at once gives tickets per second. The baseline, measured in the same run on the same
texts: triage alone (`triage_text`) in this process, CPU per text (process_time).
The floor (issue 19): ≤ 40 ms CPU per ticket.
"""

import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from eval import dataset
from eval.console_server import running_server
from eval.pbx_capacity import cpu_seconds

FLOOR_MS = 40.0
IDLE_WINDOW_S = 1.0


def _texts(n: int) -> list[str]:
    items = [json.loads(line)["text"] for line in dataset.DEFAULT.open(encoding="utf-8")]
    return [items[i % len(items)] for i in range(n)]


def _wait_idle(pid: int, limit_s: float = 60.0) -> float:
    """CPU seconds of pid once it used under 2 % of a core over a whole second (the queued
    work after the last answer is done); the idle rate's own share is negligible."""
    deadline = time.monotonic() + limit_s
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(IDLE_WINDOW_S)
        now = cpu_seconds(pid)
        if now - before < 0.02 * IDLE_WINDOW_S:
            return now
        before = now
    return cpu_seconds(pid)


def _post(api: httpx.Client, text: str) -> None:
    r = api.post("/api/v1/intake/text", json={"text": text, "channel": "app"})
    r.raise_for_status()


def _triage_alone(data_dir: Path, texts: list[str]) -> float:
    """CPU ms per text of triage alone, in this process, on the service's KB."""
    from core.db import get_engine
    from core.settings import get_settings
    from knowledge_base import live_index
    from triage.service import triage_text

    os.environ["HOTLINE_DATA_DIR"] = str(data_dir)
    os.environ.pop("HOTLINE_DATABASE_URL", None)
    get_settings.cache_clear()
    get_engine.cache_clear()
    live_index.reset()
    for text in texts[:10]:
        triage_text(text)  # load the models and the index outside the timing
    started = time.process_time()
    for text in texts:
        triage_text(text)
    return (time.process_time() - started) * 1000 / len(texts)


def main(*, tickets: int = 200, clients: int = 4) -> int:
    """Print CPU ms per ticket, tickets/s and the triage-alone baseline; 0 when the floor holds."""
    texts = _texts(tickets)
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp) / "data") as server:
        headers = {"Authorization": f"Bearer {server.token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as api:
            for text in texts[:10]:
                _post(api, text)  # warm-up: models, index, first queries
            cpu0 = _wait_idle(server.pid)
            wall0 = time.perf_counter()
            for text in texts:
                _post(api, text)
            answered_s = time.perf_counter() - wall0
            per_ticket = (_wait_idle(server.pid) - cpu0) * 1000 / len(texts)

            cpu0 = _wait_idle(server.pid)
            wall0 = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(lambda t: _post(api, t), texts))
            burst_s = time.perf_counter() - wall0
            burst_cpu = (_wait_idle(server.pid) - cpu0) * 1000 / len(texts)
        baseline = _triage_alone(server.data_dir, texts)
    held = per_ticket <= FLOOR_MS
    print(f"text tickets on one service process (SQLite), {tickets} labelled utterances")
    print(
        f"  one client:  {per_ticket:.1f} ms CPU per ticket (web + worker threads), "
        f"{tickets / answered_s:.1f} tickets/s"
    )
    print(
        f"  {clients} clients:   {burst_cpu:.1f} ms CPU per ticket, "
        f"{tickets / burst_s:.1f} tickets/s ({os.cpu_count()} cores on this machine)"
    )
    print(
        f"  baseline, triage alone in-process: {baseline:.1f} ms CPU per text; "
        f"end to end is {per_ticket / baseline:.1f}x triage"
    )
    print(f"  floor (<= {FLOOR_MS:.0f} ms CPU per ticket): {'held' if held else 'FAILED'}")
    return 0 if held else 1
