"""`hotline eval customer-page`: the customer's progress page with 100,000 tickets.

A real service (uvicorn, SQLite or the given database) is started and seeded in bulk with the
console benchmark's tickets (history events, SLA clocks), plus technicians, accepted
assignments and visits for a tenth of them. Pages of randomly chosen tickets are fetched over
HTTP through their signed links (no login), each ticket once; p50/p95 are reported next to
/healthz and the ticket's JSON API, measured in the same run as baselines.
"""

import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from core.db import make_engine
from eval.console_bench import seed_tickets
from eval.console_server import running_server

FLOOR_MS = 200.0


def seed_visits(url: str, share: float = 0.1, seed: int = 7) -> int:
    """Technicians, accepted assignments and visits for `share` of the tickets (bulk)."""
    from core import clock
    from dispatch.models import Assignment, FieldVisit, Technician
    from tickets.models import Ticket

    rng = random.Random(seed)
    engine = make_engine(url)
    now = clock.now()
    with engine.begin() as conn:
        ids = list(conn.scalars(select(Ticket.id)))
        first_tech = (conn.scalar(select(func.max(Technician.id))) or 0) + 1
        techs = [
            {
                "id": first_tech + k,
                "name": f"技师{k:03d}",
                "phone": f"139{k:08d}",
                "home_lat": 39.9,
                "home_lon": 116.4,
                "lat": 39.9,
                "lon": 116.4,
                "skills": [],
                "level": 3,
                "shifts": [],
                "regions": [],
                "available": True,
                "active": True,
                "notify_channel": "webhook",
                "created_at": now,
                "updated_at": now,
            }
            for k in range(200)
        ]
        conn.execute(insert(Technician), techs)
        chosen = rng.sample(ids, int(len(ids) * share))
        start = (conn.scalar(select(func.max(Assignment.id))) or 0) + 1
        assignments, visits = [], []
        for n, tid in enumerate(chosen):
            at = now - timedelta(hours=rng.randint(1, 2000))
            assignments.append(
                {
                    "id": start + n,
                    "ticket_id": tid,
                    "technician_id": rng.choice(techs)["id"],
                    "status": "accepted",
                    "score": 0.8,
                    "explanation": {},
                    "actor": "bench",
                    "offered_at": at,
                    "expires_at": at + timedelta(minutes=5),
                    "responded_at": at + timedelta(minutes=1),
                }
            )
            visits.append(
                {
                    "ticket_id": tid,
                    "assignment_id": start + n,
                    "on_way_at": at + timedelta(minutes=10),
                    "eta_at": at + timedelta(minutes=40),
                    "arrived_at": at + timedelta(minutes=38),
                    "photos": [],
                    "parts_used": [],
                    "updated_at": at,
                }
            )
        for table, batch in ((Assignment, assignments), (FieldVisit, visits)):
            for pos in range(0, len(batch), 2000):
                conn.execute(insert(table), batch[pos : pos + 2000])
    engine.dispose()
    return len(chosen)


def _stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50": round(statistics.median(samples), 1),
        "p95": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 1),
    }


def main(tickets: int = 100_000, pages: int = 300, database_url: str | None = None) -> int:
    """Seed, time the customer page of `pages` random tickets; exit 1 if p95 misses the floor."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp), database_url=database_url) as srv,
    ):
        with srv.api() as api:
            api.post("/api/v1/sla/defaults").raise_for_status()
        url = database_url or f"sqlite:///{Path(tmp) / 'hotline.db'}"
        t0 = time.perf_counter()
        seed_tickets(url, tickets)
        visited = seed_visits(url)
        print(
            f"seeded {tickets} tickets ({visited} with a technician's visit) in "
            f"{time.perf_counter() - t0:.1f} s ({url.split(':')[0]})"
        )
        rng = random.Random(3)
        sample = rng.sample(range(1, tickets + 1), pages)
        timings: dict[str, list[float]] = {"healthz": [], "api": [], "page": []}
        bad = 0
        with srv.api() as api, httpx.Client(base_url=srv.url, timeout=60) as anon:
            api.get("/healthz")
            for tid in sample:
                t = time.perf_counter()
                anon.get("/healthz")
                timings["healthz"].append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                link = api.get(f"/api/v1/tickets/{tid}").json()["customer_link"]
                timings["api"].append((time.perf_counter() - t) * 1000)
                path = "/" + link.split("://", 1)[1].split("/", 1)[1]
                t = time.perf_counter()
                r = anon.get(path)
                timings["page"].append((time.perf_counter() - t) * 1000)
                bad += r.status_code != 200 or "维修进度" not in r.text
    rows = [
        ("GET /healthz (baseline)", _stats(timings["healthz"])),
        ("GET /api/v1/tickets/{id} (baseline)", _stats(timings["api"])),
        ("GET /c/{signed link} customer page", _stats(timings["page"])),
    ]
    base = rows[1][1]["p50"] or 1.0
    print(f"\n{'request':40} {'p50 ms':>8} {'p95 ms':>8} {'p50/API':>8}")
    for label, s in rows:
        print(f"{label:40} {s['p50']:>8} {s['p95']:>8} {s['p50'] / base:>8.2f}")
    p95 = rows[2][1]["p95"]
    print(f"\ncustomer page p95: {p95} ms over {pages} tickets (floor {FLOOR_MS:.0f} ms)")
    print(f"failed pages: {bad}")
    return 0 if p95 <= FLOOR_MS and not bad else 1
