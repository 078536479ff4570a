"""Recurring-fault prediction: the same model with the same fault code N times within D days
raises a preventive-maintenance ticket, with its evidence and a learned probability that the
fault comes back within the next D days.

The probability is learned from the ticket history: every time a (model, fault code) pair had
N occurrences within D days is a trial, a success when one more followed within D days. The
pair's own trials update a Beta prior centred on the rate over all pairs, so a pair with little
history gets the fleet-wide rate and a pair with a long one gets its own.
"""

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from huey import crontab
from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock
from core.db import Base, JsonType, UTCDateTime, session_scope
from core.settings import get_settings
from core.tasks import queue
from tickets.models import Ticket

CHANNEL = "prediction"  # preventive tickets are not occurrences of the fault themselves
# Pseudo-trials of the fleet-wide rate in each pair's prior (chosen on eval/recurrence_eval.py).
PRIOR_STRENGTH = 10.0
ACTOR = "system:recurrence"


class RecurrenceAlert(Base):
    """A recurring pattern seen at one time, with its evidence and the ticket it raised."""

    __tablename__ = "recurrence_alerts"
    __table_args__ = (UniqueConstraint("model_key", "fault_key", "first_ticket_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    product_type: Mapped[str | None] = mapped_column(String(50), nullable=True)
    model: Mapped[str] = mapped_column(String(64))
    model_key: Mapped[str] = mapped_column(String(64))
    fault_code: Mapped[str] = mapped_column(String(32))
    fault_key: Mapped[str] = mapped_column(String(32))
    first_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    occurrences: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[float] = mapped_column(Float)
    probability: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonType)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)


@dataclass(frozen=True)
class Occurrence:
    """One ticket of a (model, fault code) pair."""

    at: datetime
    ticket_id: int
    model: str
    fault_code: str
    product_type: str | None = None


@dataclass
class PairStats:
    """Learned recurrence of one (model, fault code) pair."""

    model: str
    fault_code: str
    product_type: str | None
    occurrences: list[Occurrence] = field(default_factory=list)
    episodes: list[list[Occurrence]] = field(default_factory=list)
    trials: int = 0
    successes: int = 0
    probability: float = 0.0


def _keys(model: str, code: str) -> tuple[str, str]:
    from triage.entities import code_key, model_key

    return model_key(model), code_key(code)


def group(occurrences: list[Occurrence]) -> dict[tuple[str, str], PairStats]:
    """Occurrences by (model key, fault-code key), each list sorted by time."""
    pairs: dict[tuple[str, str], PairStats] = {}
    for occ in sorted(occurrences, key=lambda o: (o.at, o.ticket_id)):
        key = _keys(occ.model, occ.fault_code)
        stats = pairs.get(key)
        if stats is None:
            stats = pairs[key] = PairStats(occ.model, occ.fault_code, occ.product_type)
        stats.occurrences.append(occ)
    return pairs


def episodes(occs: list[Occurrence], n: int, days: float) -> list[list[Occurrence]]:
    """Runs of a recurring fault: an episode starts when n occurrences fall within `days` and
    goes on while each next one comes within `days` of the last (each occurrence belongs to
    one episode at most)."""
    window = timedelta(days=days)
    found: list[list[Occurrence]] = []
    current: list[Occurrence] | None = None
    free = 0  # the first occurrence not yet in an episode
    for i, occ in enumerate(occs):
        if current is not None and occ.at - current[-1].at <= window:
            current.append(occ)
            free = i + 1
            continue
        current = None
        while free < i and occ.at - occs[free].at >= window:  # the window is (at - days, at]
            free += 1
        if i - free + 1 >= n:
            current = list(occs[free : i + 1])
            found.append(current)
            free = i + 1
    return found


def learn(pairs: dict[tuple[str, str], PairStats], n: int, days: float, horizon: datetime) -> float:
    """Fill each pair's trials, successes and probability; return the fleet-wide rate.

    A trial is every occurrence that completes n within `days` and whose next `days` lie
    before `horizon` (so its outcome is known)."""
    window = timedelta(days=days)
    total_trials = total_successes = 0
    for stats in pairs.values():
        times = [o.at for o in stats.occurrences]
        stats.episodes = episodes(stats.occurrences, n, days)
        for i, at in enumerate(times):
            if at + window > horizon:
                break
            first = bisect.bisect_left(times, at - window, 0, i)
            if times[first] == at - window:
                first += 1  # the window is (at - days, at]
            if i - first + 1 < n:
                continue
            stats.trials += 1
            if i + 1 < len(times) and times[i + 1] - at <= window:
                stats.successes += 1
        total_trials += stats.trials
        total_successes += stats.successes
    fleet = (total_successes + 1) / (total_trials + 2)
    alpha, beta = PRIOR_STRENGTH * fleet, PRIOR_STRENGTH * (1 - fleet)
    for stats in pairs.values():
        stats.probability = (stats.successes + alpha) / (stats.trials + alpha + beta)
    return fleet


def load_occurrences(db: Session) -> list[Occurrence]:
    """Every fault ticket with a model and a fault code (preventive tickets excluded), dated
    when it was reported (an imported sheet's 报修日期) or else created."""
    stmt = (
        select(
            Ticket.reported_at,
            Ticket.created_at,
            Ticket.id,
            Ticket.model,
            Ticket.fault_code,
            Ticket.product_type,
        )
        .where(Ticket.model.is_not(None), Ticket.fault_code.is_not(None))
        .where(Ticket.channel != CHANNEL, Ticket.status != "cancelled")
    )
    return [
        Occurrence(reported or created, tid, model, code, product)
        for reported, created, tid, model, code, product in db.execute(stmt)
    ]


def report(db: Session, n: int | None = None, days: float | None = None) -> dict[str, Any]:
    """Recurring patterns per model over the whole history, with learned probabilities."""
    n, days = _params(n, days)
    now = clock.now()
    pairs = group(load_occurrences(db))
    fleet = learn(pairs, n, days, now)
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for stats in sorted(pairs.values(), key=lambda s: (-len(s.episodes), s.model, s.fault_code)):
        if not stats.episodes:
            continue
        last = stats.episodes[-1]
        by_model[stats.model].append(
            {
                "fault_code": stats.fault_code,
                "product_type": stats.product_type,
                "occurrences": len(stats.occurrences),
                "episodes": len(stats.episodes),
                "last_episode": {
                    "from": last[0].at,
                    "to": last[-1].at,
                    "tickets": [o.ticket_id for o in last],
                },
                "active": now - last[-1].at <= timedelta(days=days),
                "trials": stats.trials,
                "recurred": stats.successes,
                "probability_next": round(stats.probability, 3),
            }
        )
    return {
        "min_count": n,
        "window_days": days,
        "fleet_rate": round(fleet, 3),
        "models": [{"model": m, "patterns": p} for m, p in by_model.items()],
    }


def _params(n: int | None, days: float | None) -> tuple[int, float]:
    settings = get_settings()
    return n or settings.recurrence_min_count, days or settings.recurrence_window_days


def detect(
    db: Session, n: int | None = None, days: float | None = None, actor: str = ACTOR
) -> list[RecurrenceAlert]:
    """Raise a preventive-maintenance ticket for every pair with n occurrences in the last
    `days` (once per pair per window); returns the new alerts."""
    from tickets.service import add_note, create_from_triage
    from triage.service import triage_text

    n, days = _params(n, days)
    now = clock.now()
    window = timedelta(days=days)
    pairs = group(load_occurrences(db))
    fleet = learn(pairs, n, days, now)
    created = []
    for (mkey, fkey), stats in pairs.items():
        recent = [o for o in stats.occurrences if now - window < o.at <= now]
        if len(recent) < n:
            continue
        last_alert = db.scalar(
            select(func.max(RecurrenceAlert.created_at)).where(
                RecurrenceAlert.model_key == mkey, RecurrenceAlert.fault_key == fkey
            )
        )
        if last_alert is not None and last_alert > now - window:
            continue  # this pair was flagged in this window already
        text = (
            f"预防性维护：{stats.product_type or ''}型号{stats.model}在{days:g}天内"
            f"{len(recent)}次报故障码{stats.fault_code}，预计{days:g}天内再次发生的概率"
            f"{stats.probability:.0%}，请安排预防性检修。"
        )
        ticket = create_from_triage(
            db=db,
            triage=triage_text(text),
            channel=CHANNEL,
            actor=actor,
            source=f"recurrence:{stats.model}:{stats.fault_code}"[:64],
        )
        evidence = {
            "tickets": [
                {"ticket_id": o.ticket_id, "at": o.at.isoformat(), "fault_code": o.fault_code}
                for o in recent
            ],
            "history_trials": stats.trials,
            "history_recurred": stats.successes,
            "fleet_rate": round(fleet, 4),
            "prior_strength": PRIOR_STRENGTH,
        }
        alert = RecurrenceAlert(
            created_at=now,
            product_type=stats.product_type,
            model=stats.model,
            model_key=mkey,
            fault_code=stats.fault_code,
            fault_key=fkey,
            first_ticket_id=recent[0].ticket_id,
            occurrences=len(recent),
            window_days=days,
            probability=round(stats.probability, 4),
            evidence=evidence,
            ticket_id=ticket.id,
        )
        db.add(alert)
        add_note(
            db=db,
            ticket=ticket,
            actor=actor,
            note="证据：" + "、".join(f"#{o.ticket_id} {o.at:%m-%d}" for o in recent),
        )
        created.append(alert)
    db.flush()
    return created


def alert_view(alert: RecurrenceAlert) -> dict[str, Any]:
    """API representation of an alert."""
    return {
        "id": alert.id,
        "created_at": alert.created_at,
        "product_type": alert.product_type,
        "model": alert.model,
        "fault_code": alert.fault_code,
        "occurrences": alert.occurrences,
        "window_days": alert.window_days,
        "probability_next": alert.probability,
        "evidence": alert.evidence,
        "ticket_id": alert.ticket_id,
    }


@queue.periodic_task(crontab(minute="0"))
def recurring_scan() -> int:
    """Hourly scan of the ticket history for recurring faults."""
    with session_scope() as db:
        return len(detect(db))
