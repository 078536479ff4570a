"""`hotline eval sla`: a simulated day of the SLA engine, then escalation timing in real time.

Part 1 — a day of N tickets (3,800 by default, the EV-charger operator's volume) in virtual
time, through the real code: tickets are created as triage creates them (policies attach on
`ticket.triaged`), push cards become "pushed" evidence, technicians view (some from outside
the service radius first), call (some calls go unanswered), wait for parts, resolve. Each
escalation instant is handled by the same `escalation.fire` the durable task runs, at the
instant itself; the minute sweep runs every 10 virtual minutes as the safety net. Reported:
attainment, escalations per level, alerts vs digests.

Part 2 — firing lateness in real seconds: tickets whose yellow instants fall within a
real-time window (a quarter of them in one second, like the 11:00 burst of overnight tickets)
are armed exactly as a deadline change arms them; two worker processes' worth of Huey
consumers fire them, and one consumer is restarted in the middle. Lateness = fired_at -
due instant. The baseline, on the same instants: a check that runs hourly (or daily), the
way the old tooling looked at deadlines.
"""

import heapq
import json
import math
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 10, tzinfo=SH).astimezone(UTC)  # a Tuesday, no holiday nearby
END = DAY + timedelta(days=3)  # part 1 plays on until most resolution clocks are decided
# Arrivals per local hour (relative): quiet nights, a morning and an afternoon peak.
HOURLY = [1, 0.6, 0.4, 0.4, 0.5, 0.8, 1.5, 3, 6, 9, 10, 9, 6, 6, 8, 8, 7, 6, 4, 3.5, 3, 2.5, 2, 1.5]
SEVERITY = {"critical": 0.05, "high": 0.2, "medium": 0.5, "low": 0.25}
REGIONS = {
    "深圳": (22.5431, 114.0579),
    "广州": (23.1291, 113.2644),
    "上海": (31.2304, 121.4737),
    "北京": (39.9042, 116.4074),
    "杭州": (30.2741, 120.1551),
    "成都": (30.5728, 104.0668),
    "武汉": (30.5928, 114.3055),
    "西安": (34.3416, 108.9398),
}


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    ticket: int = field(compare=False, default=0)
    data: dict[str, Any] = field(compare=False, default_factory=dict)


class Sim:
    """The event loop of part 1: one heap of ticket behaviour and escalation instants."""

    def __init__(self, n: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = n
        self.heap: list[Step] = []
        self.seq = 0
        self.armed: dict[tuple[int, str], datetime] = {}
        self.now = DAY
        self.outcomes: Counter[str] = Counter()
        self.behaviour: Counter[str] = Counter()
        self.tech: dict[int, str] = {}
        self.field_tech = 0  # the registry technician who takes every ticket (viewed evidence)

    def push(self, at: datetime, kind: str, ticket: int = 0, **data: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, Step(at, self.seq, kind, ticket, data))

    def minutes(self, median: float, sigma: float = 0.8) -> timedelta:
        return timedelta(minutes=self.rng.lognormvariate(math.log(median), sigma))

    def at_work(self, t: datetime, urgent: bool) -> datetime:
        """Non-urgent tickets wait for the technician's day (08:30–20:00 local)."""
        if urgent:
            return t
        local = t.astimezone(SH)
        start = local.replace(hour=8, minute=30, second=0, microsecond=0)
        if local < start:
            return (start + self.minutes(20, 0.6)).astimezone(UTC)
        if local.hour >= 20:
            return (start + timedelta(days=1) + self.minutes(20, 0.6)).astimezone(UTC)
        return t


def _arrivals(sim: Sim) -> None:
    for _ in range(sim.n):
        hour = sim.rng.choices(range(24), weights=HOURLY)[0]
        at = DAY + timedelta(hours=hour, seconds=sim.rng.uniform(0, 3600))  # local hours
        sev = sim.rng.choices(list(SEVERITY), weights=list(SEVERITY.values()))[0]
        region = sim.rng.choice(list(REGIONS))
        sim.push(at, "create", severity=sev, region=region)


def _create(sim: Sim, db: Any, step: Step) -> int:
    from tickets.service import create_from_triage
    from triage.result import TriageResult

    lat, lon = REGIONS[step.data["region"]]
    lat += sim.rng.uniform(-0.1, 0.1)
    lon += sim.rng.uniform(-0.1, 0.1)
    triage = TriageResult(
        text="充电桩无法充电",
        normalized_text="充电桩无法充电",
        fields={
            "product_type": "充电桩",
            "phone": f"139{sim.rng.randrange(10**8):08d}",
            "region": step.data["region"],
            "latitude": lat,
            "longitude": lon,
        },
        required_fields=[],
        diagnosis={"kb_id": None, "confidence": 0.0, "no_match": True},
        severity=step.data["severity"],
        sla_class="P3",
    )
    ticket = create_from_triage(db=db, triage=triage, channel="phone", actor="sim")
    return ticket.id


def _plan(sim: Sim, ticket_id: int, created: datetime, severity: str) -> None:
    """Realistic technician behaviour for one ticket, as future steps."""
    rng = sim.rng
    urgent = severity in ("critical", "high")
    if rng.random() < 0.02:
        sim.push(created + sim.minutes(30), "cancel", ticket_id)
        sim.behaviour["cancelled"] += 1
        return
    pushed = created + timedelta(seconds=rng.lognormvariate(math.log(25), 0.7))
    sim.push(pushed, "pushed", ticket_id)
    view = sim.at_work(pushed + sim.minutes(6 if urgent else 12), urgent)
    if rng.random() < 0.08:  # opened from home or another site first: rejected
        sim.push(view, "view_far", ticket_id)
        sim.behaviour["view_outside_radius"] += 1
        view += sim.minutes(25, 0.5)
    sim.push(view, "view", ticket_id)
    if rng.random() < 0.03:
        sim.behaviour["never_called"] += 1
        return
    call = view + sim.minutes(5 if urgent else 10)
    if rng.random() < 0.12:
        sim.push(call, "call_missed", ticket_id)
        sim.behaviour["first_call_unanswered"] += 1
        call += sim.minutes(15, 0.5)
    sim.push(call, "call", ticket_id)
    done = call + sim.minutes(90 if urgent else 180, 0.9)
    if rng.random() < 0.12:
        start = call + sim.minutes(40, 0.5)
        arrive = start + sim.minutes(300, 0.5)
        sim.push(start, "part_wait", ticket_id)
        sim.push(arrive, "part_arrived", ticket_id)
        sim.behaviour["waited_for_part"] += 1
        done = arrive + sim.minutes(60, 0.6)
    sim.push(sim.at_work(done, urgent), "resolve", ticket_id)


def _take(sim: Sim, db: Any, tid: int) -> None:
    """The sim's technician accepts the ticket (only the ticket's technician's views count)."""
    from dispatch.models import Assignment

    db.add(
        Assignment(
            ticket_id=tid,
            technician_id=sim.field_tech,
            status="accepted",
            explanation={},
            actor="sim",
            offered_at=sim.now,
            expires_at=sim.now,
            responded_at=sim.now,
        )
    )


def _act(sim: Sim, db: Any, step: Step) -> None:
    from sla import evidence, service
    from tickets.models import Ticket
    from tickets.service import transition

    tid = step.ticket
    ticket = db.get(Ticket, tid)
    lat, lon = ticket.latitude, ticket.longitude
    if step.kind == "pushed":
        evidence.record_pushed(
            db, ticket_id=tid, at=step.at, actor="sim:notify", proof={}, key=f"sim-{tid}"
        )
        _take(sim, db, tid)
        transition(db=db, ticket_id=tid, to="dispatched", actor="sim")
    elif step.kind in ("view_far", "view"):
        far = step.kind == "view_far"
        evidence.record_viewed(
            db,
            ticket_id=tid,
            technician_id=sim.field_tech,
            lat=lat + (0.2 if far else 0.01),
            lon=lon,
            actor="sim:tech",
        )
        if not far and ticket.status == "dispatched":
            transition(db=db, ticket_id=tid, to="in_progress", actor="sim")
    elif step.kind in ("call", "call_missed"):
        _call(sim, db, tid, ticket.phone, answered=step.kind == "call")
    elif step.kind in ("part_wait", "part_arrived"):
        service.record_pause(
            db,
            ticket_id=tid,
            kind="waiting_part",
            action="start" if step.kind == "part_wait" else "end",
            actor="sim:parts",
            ref=f"T{tid}",
            key=f"T{tid}",
        )
    elif step.kind == "resolve" and ticket.status == "in_progress":
        transition(db=db, ticket_id=tid, to="resolved", actor="sim")
    elif step.kind == "cancel" and ticket.status not in ("resolved", "closed", "cancelled"):
        transition(db=db, ticket_id=tid, to="cancelled", actor="sim", reason="customer cancelled")


@lru_cache
def _recording() -> bytes:
    """Half a second of faint tone: the recording every simulated call attaches."""
    import numpy as np

    from eval.audio_tools import encode

    return encode(np.zeros(8000, dtype=np.float32) + 0.01)


def _call(sim: Sim, db: Any, tid: int, phone: str, answered: bool) -> None:
    from sla import evidence

    sim.seq += 1
    evidence.record_call(
        db,
        call_id=f"sim-{tid}-{sim.seq}",
        ticket_id=tid,
        direction="outbound",
        callee=phone,
        status="answered" if answered else "no_answer",
        duration_s=95.0 if answered else 0.0,
        started_at=None,
        actor="sim:telephony",
        recording=_recording(),
        filename="call.wav",
    )


def _arm(sim: Sim, db: Any, tid: int) -> None:
    """Queue the escalation instants of any new or moved deadline (what arm() schedules)."""
    from sla.escalation import LEVELS
    from sla.models import TicketSla

    sla = db.get(TicketSla, tid)
    if sla is None:
        return
    for kind in ("response", "resolution"):
        deadline = getattr(sla, f"{kind}_deadline_at")
        if deadline is None or sim.armed.get((tid, kind)) == deadline:
            continue
        sim.armed[(tid, kind)] = deadline
        for level, offset in LEVELS.items():
            sim.push(deadline + offset, "fire", tid, clock=kind, deadline=deadline, level=level)


def part1(n: int, seed: int, alert_url: str) -> tuple[dict[str, Any], list[datetime]]:
    """The simulated day; returns its numbers and the due instants of its escalations."""
    from sqlalchemy import select

    from core import clock, tasks
    from core.db import session_scope
    from core.notify import NotificationDelivery
    from sla import config, escalation, views

    # Virtual time: alerts are delivered inline and the durable schedule stays in memory
    # (its wall-clock instants mean nothing here; the loop below fires each level itself).
    for q in tasks.QUEUES:
        q.immediate = True
    sim = Sim(n, seed)
    clock.set_clock(lambda: sim.now)
    with session_scope() as db:
        from dispatch.models import Technician

        # Switched off: automatic dispatch leaves it alone; the sim hands it every ticket.
        tech = Technician(
            name="sim-tech",
            home_lat=0.0,
            home_lon=0.0,
            lat=0.0,
            lon=0.0,
            skills=[],
            level=3,
            shifts=[],
            regions=[],
            available=False,
            active=True,
            notify_channel="webhook",
            created_at=sim.now,
            updated_at=sim.now,
        )
        db.add(tech)
        db.flush()
        sim.field_tech = tech.id
        config.install_defaults(db=db)
        config.set_region_contact(
            db=db,
            region="*",
            supervisor="supervisor",
            supervisor_url=alert_url + "/supervisor",
            director="director",
            director_url=alert_url + "/director",
        )
    _arrivals(sim)
    end = END
    next_sweep = DAY
    sweep_fired = 0
    wall = time.perf_counter()
    steps = 0
    while sim.heap and sim.heap[0].at < end:
        step = heapq.heappop(sim.heap)
        while next_sweep < step.at:
            sim.now = next_sweep
            with session_scope() as db:
                sweep_fired += escalation.sweep(db).get("fired", 0)
            next_sweep += timedelta(minutes=10)
        sim.now = step.at
        steps += 1
        with session_scope() as db:
            if step.kind == "create":
                tid = _create(sim, db, step)
                _plan(sim, tid, step.at, step.data["severity"])
            elif step.kind == "fire":
                outcome, _ = escalation.fire(
                    db, step.ticket, step.data["clock"], step.data["deadline"], step.data["level"]
                )
                sim.outcomes[outcome] += 1
                tid = step.ticket
            else:
                _act(sim, db, step)
                tid = step.ticket
            db.flush()
            _arm(sim, db, tid)
    elapsed = time.perf_counter() - wall
    sim.now = end
    with session_scope() as db:
        final = views.attainment(db, group_by="period", period="day")
        by_region = views.attainment(db, group_by="region")
        history = views.escalations(db, limit=100_000)
        sent = Counter(
            db.scalars(
                select(NotificationDelivery.kind).where(
                    NotificationDelivery.kind.in_(("sla.alert", "sla.digest"))
                )
            )
        )
    levels = Counter((e["deadline_kind"], e["level"]) for e in history["items"])
    dues = [e["due_at"] for e in history["items"]]
    per_second = Counter(d.replace(microsecond=0) for d in dues)
    return {
        "tickets": n,
        "steps": steps,
        "wall_s": round(elapsed, 1),
        "behaviour": dict(sim.behaviour),
        "attainment": final["total"],
        "by_region_response_rate": {r["key"]: r["response"]["rate"] for r in by_region["rows"]},
        "escalations": history["total"],
        "most_due_in_one_second": max(per_second.values(), default=0),
        "alerts_sent": sent["sla.alert"],
        "digests_sent": sent["sla.digest"],
        "late_firings": sum(e["lateness_s"] > 0 for e in history["items"]),
        "escalations_by_level": {f"{k}/{lvl}": v for (k, lvl), v in sorted(levels.items())},
        "fire_outcomes": dict(sim.outcomes),
        "sweep_fired": sweep_fired,
    }, dues


def part2(n: int, window_s: float) -> dict[str, Any]:
    """Escalation lateness in real time with two consumers, one restarted midway."""
    from sqlalchemy import select

    from core import clock, tasks
    from core.db import session_scope
    from sla import escalation
    from sla.models import Escalation, TicketSla

    tasks.configure()
    base = END  # where part 1 stopped
    fixed = {"at": base}
    clock.set_clock(lambda: fixed["at"])
    rng = random.Random(11)
    # A quarter share one instant (the burst), the rest spread over the window.
    offsets = [3.0 if i < n // 4 else rng.uniform(3.0, window_s) for i in range(n)]
    plan = []
    from tickets.service import create_from_triage
    from triage.result import TriageResult

    for off in offsets:
        # Critical tickets run 24x7 with a 30-minute response target: yellow = created + 35 min.
        fixed["at"] = base + timedelta(seconds=off) - timedelta(minutes=35)
        with session_scope() as db:
            t = create_from_triage(
                db=db,
                triage=TriageResult(
                    text="电梯困人",
                    normalized_text="电梯困人",
                    fields={"region": rng.choice(list(REGIONS)), "product_type": "电梯"},
                    required_fields=[],
                    diagnosis={"kb_id": None, "confidence": 0.0, "no_match": True},
                    severity="critical",
                    sla_class="P1",
                ),
                channel="phone",
                actor="sim",
            )
            plan.append((t.id, db.get(TicketSla, t.id).response_deadline_at))
    # Only the arming below is measured: drop what the 400 creations just queued (in a real
    # day creations are spread out, not bunched right before the burst).
    for q in tasks.QUEUES:
        q.storage.flush_queue()
        q.storage.flush_schedule()
    offset = base - datetime.now(UTC)
    clock.set_clock(lambda: datetime.now(UTC) + offset)
    a = tasks.start_worker(2)
    b = tasks.start_worker(2)
    for tid, deadline in plan:
        escalation.arm(tid, "response", deadline)
    restart_at = window_s / 2
    time.sleep(restart_at)
    tasks.stop_worker(b)
    time.sleep(2.0)
    b = tasks.start_worker(2)
    ids = [tid for tid, _ in plan]
    deadline_wall = time.monotonic() + window_s + 30
    while time.monotonic() < deadline_wall:
        with session_scope() as db:
            fired = db.scalars(
                select(Escalation).where(
                    Escalation.ticket_id.in_(ids), Escalation.level == "yellow"
                )
            ).all()
        if len(fired) >= n:
            break
        time.sleep(0.5)
    tasks.stop_worker(a)
    tasks.stop_worker(b)
    with session_scope() as db:
        rows = db.scalars(select(Escalation).where(Escalation.ticket_id.in_(ids))).all()
        dupes = len(rows) - len(
            {(r.ticket_id, r.deadline_kind, r.deadline_at, r.level) for r in rows}
        )
        lates = sorted((r.fired_at - r.due_at).total_seconds() for r in rows if r.level == "yellow")
    return {
        "escalations_due": n,
        "fired": len(lates),
        "duplicates": dupes,
        "burst_same_second": n // 4,
        "lateness_s": _pcts(lates),
    }


def _grid_lateness(dues: list[datetime], every_s: int) -> list[float]:
    """Lateness if deadlines were only looked at every `every_s` seconds (on the clock grid)."""
    out = []
    for due in dues:
        ts = due.timestamp()
        out.append(math.ceil(ts / every_s) * every_s - ts)
    return sorted(out)


def _pcts(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {
        "p50": round(q[49], 3),
        "p95": round(q[94], 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def main(tickets: int = 3800, seed: int = 7, realtime: int = 400, window_s: float = 40.0) -> int:
    """Run both parts; print the report as JSON. Exit 1 if the p95 lateness floor is missed."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from core import clock
    from eval.workspace import demo_workspace

    received: Counter[str] = Counter()

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            received[self.path] += 1
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    folder = demo_workspace()
    try:
        report: dict[str, Any] = {"workspace": str(folder)}
        report["day"], dues = part1(tickets, seed, url)
        report["day"]["webhook_posts"] = dict(received)
        # Baselines on the day's own escalation instants: deadlines looked at only on a
        # fixed grid (our minute sweep alone; the old tooling's hourly or daily check).
        report["baseline_lateness_s"] = {
            f"check_every_{every}s": _pcts(_grid_lateness(dues, every))
            for every in (60, 3600, 86400)
        }
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str), flush=True)
        report["realtime"] = part2(realtime, window_s)
        print(json.dumps(report["realtime"], ensure_ascii=False, indent=2), flush=True)
    finally:
        clock.set_clock(None)
        server.shutdown()
    rt = report["realtime"]
    ok = rt["lateness_s"].get("p95", 1e9) <= 5.0 and rt["duplicates"] == 0
    hourly = report["baseline_lateness_s"]["check_every_3600s"].get("p95")
    print(
        f"escalation firing lateness p95 {rt['lateness_s'].get('p95')} s "
        f"(hourly check p95 {hourly} s): " + ("OK" if ok else "FLOOR MISSED")
    )
    return 0 if ok else 1
