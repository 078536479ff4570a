"""`hotline eval gaps --scale N`: the gaps report over N tickets, computed and served.

N tickets spread over the report's window (demo KB, SQLite), UNMATCHED_SHARE of them no match
with texts drawn from both labelled sets' calls, 5 % reviewed. Timed:
- the first computation (every unmatched call embedded; identical texts once);
- the scheduled recompute after one more day of calls, whose texts are all new (the stored
  embeddings of the earlier calls are reused);
- serving: reading the stored report and writing the API's JSON (median of 50).
"""

import json
import random
import statistics
import time
from datetime import timedelta
from typing import Any

from eval.triage_sets import SETS
from eval.workspace import demo_workspace

UNMATCHED_SHARE = 0.15
REVIEWED_SHARE = 0.05
CHUNK = 5000


def _pool() -> list[dict[str, Any]]:
    out = []
    for _, calls in SETS.values():
        for line in calls.read_text(encoding="utf-8").splitlines():
            if line:
                c = json.loads(line)
                out.append({"text": c["text"], "product_type": c["fields"].get("product_type")})
    return out


def _insert(n: int, days: float, suffix: bool, rng: random.Random) -> None:
    """n tickets created over the last `days` days (texts made unique when suffix)."""
    from sqlalchemy import insert, select

    from core import clock
    from core.db import session_scope
    from knowledge_base.models import KBEntry
    from tickets.models import ReviewCorrection, Ticket

    pool = _pool()
    now = clock.now()
    with session_scope() as db:
        kb_ids = list(db.scalars(select(KBEntry.id).where(KBEntry.status == "published")))
        start = db.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)) or 0
    for base in range(0, n, CHUNK):
        rows, verdicts = [], []
        for i in range(base, min(n, base + CHUNK)):
            tid = start + i + 1
            call = rng.choice(pool)
            text = call["text"] + (f"，第{tid}号来电" if suffix else "")
            unmatched = rng.random() < UNMATCHED_SHARE
            kb_id = None if unmatched else rng.choice(kb_ids)
            at = now - timedelta(days=rng.random() * days)
            rows.append(
                {
                    "id": tid,
                    "number": f"HLSCALE-{tid:07d}",
                    "status": "triaged",
                    "channel": "app",
                    "created_at": at,
                    "updated_at": at,
                    "description": text,
                    "normalized_text": text,
                    "fields": {"product_type": call["product_type"]},
                    "required_fields": [],
                    "diagnosis": {"kb_id": kb_id, "no_match": unmatched},
                    "kb_id": kb_id,
                    "product_type": call["product_type"],
                    "confidence": rng.random() * (0.4 if unmatched else 1.0),
                    "no_match": unmatched,
                    "sla_class": "P3",
                    "version": 1,
                }
            )
            if kb_id and rng.random() < REVIEWED_SHARE:
                ok = rng.random() < 0.8
                verdicts.append(
                    {
                        "ticket_id": tid,
                        "at": at,
                        "actor": "agent:scale",
                        "text": text,
                        "predicted_kb_id": kb_id,
                        "corrected_kb_id": kb_id if ok else rng.choice(kb_ids),
                        "predicted_fields": {},
                        "corrected_fields": {},
                        "diagnosis_correct": ok,
                        "fields_correct": True,
                    }
                )
        with session_scope() as db:
            db.execute(insert(Ticket), rows)
            if verdicts:
                db.execute(insert(ReviewCorrection), verdicts)


def main(n: int) -> int:
    """Build, compute twice, serve; print the timings."""
    from core.db import session_scope
    from core.settings import get_settings
    from knowledge_base import live_index
    from tickets import kb_gaps
    from tickets.kb_gaps_api import GapList

    demo_workspace()
    live_index.get_index()
    live_index.encoder().encode(["预热"])
    rng = random.Random(7)
    window = get_settings().gaps_window_days
    started = time.perf_counter()
    _insert(n, window - 1, suffix=False, rng=rng)
    print(f"{n} tickets inserted in {time.perf_counter() - started:.1f} s")
    cold = kb_gaps.compute(trigger="eval")
    print(
        f"first computation: {cold.unmatched} unmatched of {cold.tickets_seen} calls, "
        f"{len(cold.report['gaps'])} clusters in {cold.seconds:.1f} s (texts drawn from "
        f"{len(_pool())} labelled calls, each distinct text embedded once)"
    )
    day = int(n / window)
    _insert(day, 1, suffix=True, rng=rng)
    warm = kb_gaps.compute(trigger="eval")
    print(
        f"scheduled recompute after one more day ({day} calls, all texts new): "
        f"{warm.unmatched} unmatched of {warm.tickets_seen} calls, "
        f"{len(warm.report['gaps'])} clusters in {warm.seconds:.1f} s"
    )
    times = []
    for _ in range(51):
        t = time.perf_counter()
        with session_scope() as db:
            body = GapList.model_validate(
                kb_gaps.report_view(kb_gaps.latest(db=db), "gaps")
            ).model_dump_json()
        times.append((time.perf_counter() - t) * 1000)
    print(
        f"serving GET /api/v1/kb/gaps (read + JSON, {len(body) // 1024} KiB): median "
        f"{statistics.median(times[1:]):.1f} ms, p95 {sorted(times[1:])[47]:.1f} ms "
        f"(first read {times[0]:.1f} ms)"
    )
    return 0
