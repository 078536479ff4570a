"""Recurring-fault prediction: the same model with the same fault code N times within D days
raises a preventive-maintenance ticket, with its evidence and a learned probability that the
fault comes back within the next D days.

Every past moment a (model, fault code) pair had N occurrences within D days is a trial, a
success when the fault came back within D days on a device of the window (a ticket naming
another device is chance across the fleet, not this fault recurring; a ticket naming no device
could be any). The probability is a small L2-regularised logistic regression over features of
the window that tell a real burst from chance: the pair's background rate before the window
(so the Poisson chance of one more by chance alone), how surprising the window's count is under
that rate, the spacing, how much of it is one device, how many regions it spans and the model's
known fleet size. With too few trials it falls back to a Beta prior centred on the fleet-wide
rate, updated by the pair's own trials. Below `HOTLINE_RECURRENCE_MIN_PROBABILITY` a pattern
is reported but raises no ticket.
"""

import bisect
import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from huey import crontab
from scipy.special import expit
from scipy.stats import poisson
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
MIN_TRIALS = 30  # fewer trials with a known outcome: the Beta-prior estimate instead
L2 = 1.0  # ridge on the standardised weights, so a small history cannot overfit
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
    """One ticket of a (model, fault code) pair, with the device and place it names."""

    at: datetime
    ticket_id: int
    model: str
    fault_code: str
    product_type: str | None = None
    hardware_id: str | None = None
    address: str | None = None
    region: str | None = None


@dataclass
class PairStats:
    """Occurrences, episodes and the Beta-prior estimate of one (model, fault code) pair."""

    model: str
    fault_code: str
    product_type: str | None
    occurrences: list[Occurrence] = field(default_factory=list)
    episodes: list[list[Occurrence]] = field(default_factory=list)
    trials: int = 0
    successes: int = 0
    probability: float = 0.0


@dataclass(frozen=True)
class Trial:
    """A moment a pair had n within the window: its features and, when known, the outcome."""

    key: tuple[str, str]
    index: int  # of the occurrence completing the window, in the pair's list
    at: datetime
    features: dict[str, float]
    outcome: int | None


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


def window_start(times: list[datetime], i: int, days: float) -> int:
    """Index of the first occurrence in the window (times[i] - days, times[i]]."""
    return bisect.bisect_right(times, times[i] - timedelta(days=days), 0, i)


def same_device(a: Occurrence, b: Occurrence) -> bool | None:
    """Whether two tickets name one device (hardware id, else address, else: not when their
    regions differ); None: cannot tell."""
    if a.hardware_id and b.hardware_id:
        return a.hardware_id == b.hardware_id
    if a.address and b.address:
        return a.address == b.address
    if a.region and b.region and a.region != b.region:
        return False
    return None


def recurred(occs: list[Occurrence], first: int, i: int, days: float) -> bool:
    """Whether the fault came back within `days` after occs[i] on a device of the window
    occs[first..i] (a later ticket that cannot be told apart counts)."""
    limit = occs[i].at + timedelta(days=days)
    window = occs[first : i + 1]
    for j in range(i + 1, len(occs)):
        if occs[j].at > limit:
            return False
        if any(same_device(occs[j], w) is not False for w in window):
            return True
    return False


def learn(pairs: dict[tuple[str, str], PairStats], n: int, days: float, horizon: datetime) -> float:
    """Fill each pair's trials, successes and Beta-prior probability; return the fleet-wide
    rate.

    A trial is every occurrence that completes n within `days` and whose next `days` lie
    before `horizon` (so its outcome is known)."""
    window = timedelta(days=days)
    total_trials = total_successes = 0
    for stats in pairs.values():
        times = [o.at for o in stats.occurrences]
        stats.episodes = episodes(stats.occurrences, n, days)
        stats.trials = stats.successes = 0
        for i, at in enumerate(times):
            if at + window > horizon:
                break
            first = window_start(times, i, days)
            if i - first + 1 < n:
                continue
            stats.trials += 1
            stats.successes += recurred(stats.occurrences, first, i, days)
        total_trials += stats.trials
        total_successes += stats.successes
    fleet = (total_successes + 1) / (total_trials + 2)
    alpha, beta = PRIOR_STRENGTH * fleet, PRIOR_STRENGTH * (1 - fleet)
    for stats in pairs.values():
        stats.probability = (stats.successes + alpha) / (stats.trials + alpha + beta)
    return fleet


class History:
    """What the features need beyond one pair: when the history starts and when each model's
    known devices (hardware id, else address) were first seen."""

    def __init__(self, pairs: dict[tuple[str, str], PairStats]) -> None:
        seen: dict[str, dict[str, datetime]] = defaultdict(dict)
        start: datetime | None = None
        for (mkey, _), stats in pairs.items():
            for occ in stats.occurrences:
                start = occ.at if start is None or occ.at < start else start
                device = occ.hardware_id or (occ.address and f"@{occ.address}")
                if device and (device not in seen[mkey] or occ.at < seen[mkey][device]):
                    seen[mkey][device] = occ.at
        self.start = start
        self.first_seen = {m: sorted(d.values()) for m, d in seen.items()}

    def fleet_size(self, model_key: str, at: datetime) -> int:
        """Devices of the model seen in tickets up to `at`."""
        return bisect.bisect_right(self.first_seen.get(model_key, []), at)


# What the probability is learned from, for the window (at - D, at] of k occurrences:
FEATURES = (
    "chance_next",  # 1 - exp(-rate·D): one more by chance alone at the pair's background rate
    "surprise",  # -log10 P(k or more within D at that rate): how unlikely the window by chance
    "count_over_n",  # k - N
    "mean_gap",  # mean days between the window's occurrences, over D
    "last_gap",  # days from the one before to the last, over D
    "top_device_share",  # the most tickets naming one device, over k
    "device_match_share",  # ticket pairs naming one device, over the pairs that can be told
    "comparable_share",  # ticket pairs that can be told apart (both name a device), over all
    "region_spread",  # distinct regions over k
    "log_fleet",  # log(1 + devices of the model seen so far)
)


def features(
    occs: list[Occurrence],
    times: list[datetime],
    model_key: str,
    first: int,
    i: int,
    n: int,
    days: float,
    history: History,
) -> dict[str, float]:
    """Features of the window occs[first..i] of a pair (see FEATURES); times: occs' times."""
    window = occs[first : i + 1]
    k = len(window)
    at = times[i]
    # Background rate: the pair's occurrences before the window over the days before it,
    # with half a pseudo-occurrence so a new pair is not certain to be quiet.
    before_days = max((at - timedelta(days=days) - (history.start or at)).total_seconds(), 0)
    rate = (first + 0.5) / (before_days / 86400 + days)
    expected = rate * days
    devices = [sum(same_device(w, v) is True for v in window if v is not w) + 1 for w in window]
    known = [w for w in window if w.hardware_id or w.address]
    compared = [same_device(a, b) for j, a in enumerate(window) for b in window[j + 1 :]]
    told = [same for same in compared if same is not None]
    regions = {w.region for w in window if w.region}
    gaps = [(b.at - a.at).total_seconds() / 86400 for a, b in itertools.pairwise(window)]
    return {
        "chance_next": 1 - math.exp(-expected),
        "surprise": min(-math.log10(max(float(poisson.sf(k - 1, expected)), 1e-12)), 12.0),
        "count_over_n": float(k - n),
        "mean_gap": (sum(gaps) / len(gaps) if gaps else days) / days,
        "last_gap": (gaps[-1] if gaps else days) / days,
        "top_device_share": (max(devices) if known else 0) / k,
        "device_match_share": sum(told) / len(told) if told else 0.0,
        "comparable_share": len(told) / len(compared) if compared else 0.0,
        "region_spread": len(regions) / k,
        "log_fleet": math.log1p(history.fleet_size(model_key, at)),
    }


def trials(
    pairs: dict[tuple[str, str], PairStats], n: int, days: float, horizon: datetime
) -> list[Trial]:
    """Every moment a pair had n within `days`, with features; outcome None when its next
    `days` reach past `horizon`."""
    history = History(pairs)
    window = timedelta(days=days)
    found = []
    for key, stats in pairs.items():
        times = [o.at for o in stats.occurrences]
        for i, at in enumerate(times):
            if at > horizon:
                break
            first = window_start(times, i, days)
            if i - first + 1 < n:
                continue
            outcome = None
            if at + window <= horizon:
                outcome = int(recurred(stats.occurrences, first, i, days))
            feats = features(stats.occurrences, times, key[0], first, i, n, days, history)
            found.append(Trial(key, i, at, feats, outcome))
    return found


@dataclass
class Model:
    """The learned probability: logistic weights over standardised FEATURES, or (too few
    trials, or one outcome only) none, and each pair's Beta-prior estimate is used."""

    fleet_rate: float
    trained_on: int
    weights: list[float] | None = None  # bias first
    mean: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)

    @property
    def method(self) -> str:
        return "logistic" if self.weights else "beta_prior"

    def contributions(self, feats: dict[str, float]) -> dict[str, float]:
        """Each feature's share of the log-odds (weight × standardised value)."""
        if not self.weights:
            return {}
        return {
            f: self.weights[j + 1] * (feats[f] - self.mean[j]) / self.scale[j]
            for j, f in enumerate(FEATURES)
        }

    def predict(self, feats: dict[str, float], prior: float) -> float:
        """P(the fault comes back within D days) for a window with these features."""
        if not self.weights:
            return prior
        return float(expit(self.weights[0] + sum(self.contributions(feats).values())))


def fit(examples: list[Trial], fleet_rate: float, l2: float = L2) -> Model:
    """Fit the logistic regression on the trials with a known outcome (Newton's method on
    the L2-penalised log-likelihood: deterministic, no solver settings to tune)."""
    known = [t for t in examples if t.outcome is not None]
    y = np.array([t.outcome for t in known], dtype=float)
    if len(known) < MIN_TRIALS or y.min(initial=1) == y.max(initial=0):
        return Model(fleet_rate, len(known))
    x = np.array([[t.features[f] for f in FEATURES] for t in known])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0  # the bias is not shrunk
    w = np.zeros(z.shape[1])
    for _ in range(100):
        p = expit(z @ w)
        grad = z.T @ (p - y) + penalty * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return Model(fleet_rate, len(known), [float(v) for v in w], mean.tolist(), scale.tolist())


def train(
    pairs: dict[tuple[str, str], PairStats], n: int, days: float, horizon: datetime
) -> tuple[Model, list[Trial]]:
    """Learn the Beta-prior estimates and the model from the history up to `horizon`;
    returns the model and the trials up to `horizon` (by pair and occurrence index)."""
    fleet = learn(pairs, n, days, horizon)
    found = trials(pairs, n, days, horizon)
    return fit(found, fleet), found


def explain(model: Model, stats: PairStats, trial: Trial) -> dict[str, Any]:
    """The probability of a window and why: features, their log-odds shares, the prior."""
    p = model.predict(trial.features, stats.probability)
    return {
        "probability": round(p, 4),
        "method": model.method,
        "features": {f: round(v, 4) for f, v in trial.features.items()},
        "contributions": {f: round(v, 3) for f, v in model.contributions(trial.features).items()},
        "prior_estimate": round(stats.probability, 4),
        "model_trials": model.trained_on,
    }


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
            Ticket.hardware_id,
            Ticket.address,
            Ticket.region,
        )
        .where(Ticket.model.is_not(None), Ticket.fault_code.is_not(None))
        .where(Ticket.channel != CHANNEL, Ticket.status != "cancelled")
    )
    return [
        Occurrence(reported or created, tid, model, code, product, hardware, address, region)
        for reported, created, tid, model, code, product, hardware, address, region in db.execute(
            stmt
        )
    ]


def _learned(
    db: Session, n: int, days: float, now: datetime
) -> tuple[dict[tuple[str, str], PairStats], Model, dict[tuple[tuple[str, str], int], Trial]]:
    """The history's pairs, the model learned on it and its trials by (pair, index)."""
    pairs = group(load_occurrences(db))
    if not pairs:
        return pairs, Model(0.5, 0), {}
    model, found = train(pairs, n, days, now)
    return pairs, model, {(t.key, t.index): t for t in found}


def report(
    db: Session, n: int | None = None, days: float | None = None, min_p: float | None = None
) -> dict[str, Any]:
    """Recurring patterns per model over the whole history, each with the learned
    probability at its latest N-in-D moment and whether that raises a ticket."""
    n, days, min_p = _params(n, days, min_p)
    now = clock.now()
    pairs, model, found = _learned(db, n, days, now)
    latest = {key: trial for (key, _), trial in sorted(found.items(), key=lambda kv: kv[0][1])}
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    ordered = sorted(pairs.items(), key=lambda kv: (-len(kv[1].episodes), kv[1].model))
    for key, stats in ordered:
        if not stats.episodes or key not in latest:
            continue
        last = stats.episodes[-1]
        why = explain(model, stats, latest[key])
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
                "probability_next": why["probability"],
                "raises_ticket": gated(model, why["probability"], min_p),
                "why": why,
            }
        )
    return {
        "min_count": n,
        "window_days": days,
        "min_probability": min_p,
        "method": model.method,
        "model_trials": model.trained_on,
        "fleet_rate": round(model.fleet_rate, 3),
        "models": [{"model": m, "patterns": p} for m, p in by_model.items()],
    }


def gated(model: Model, probability: float, min_p: float) -> bool:
    """Whether a pattern raises a ticket: its learned probability reaches `min_p`. Before the
    history has enough trials to learn from, the N-in-D rule alone decides (the Beta-prior
    estimate is close to the fleet rate and cannot tell a burst from chance)."""
    return model.weights is None or probability >= min_p


def _params(
    n: int | None, days: float | None, min_p: float | None = None
) -> tuple[int, float, float]:
    settings = get_settings()
    return (
        n or settings.recurrence_min_count,
        days or settings.recurrence_window_days,
        settings.recurrence_min_probability if min_p is None else min_p,
    )


def detect(
    db: Session,
    n: int | None = None,
    days: float | None = None,
    actor: str = ACTOR,
    min_p: float | None = None,
) -> list[RecurrenceAlert]:
    """Raise a preventive-maintenance ticket for every pair with n occurrences in the last
    `days` that passes the gate (see `gated`), once per pair per window; returns the new
    alerts. A pattern below the gate stays in the report only."""
    from tickets.service import add_note, create_from_triage
    from triage.service import triage_text

    n, days, min_p = _params(n, days, min_p)
    now = clock.now()
    window = timedelta(days=days)
    pairs, model, found = _learned(db, n, days, now)
    created = []
    for (mkey, fkey), stats in pairs.items():
        last = bisect.bisect_right([o.at for o in stats.occurrences], now) - 1
        recent = [o for o in stats.occurrences[: last + 1] if now - window < o.at]
        if len(recent) < n:
            continue
        why = explain(model, stats, found[((mkey, fkey), last)])
        if not gated(model, why["probability"], min_p):
            continue  # listed by report(), no preventive ticket
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
            f"{why['probability']:.0%}，请安排预防性检修。"
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
                {
                    "ticket_id": o.ticket_id,
                    "at": o.at.isoformat(),
                    "fault_code": o.fault_code,
                    "hardware_id": o.hardware_id,
                    "address": o.address,
                    "region": o.region,
                }
                for o in recent
            ],
            "history_trials": stats.trials,
            "history_recurred": stats.successes,
            "fleet_rate": round(model.fleet_rate, 4),
            "prior_strength": PRIOR_STRENGTH,
            "min_probability": min_p,
            **why,
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
            probability=why["probability"],
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
