"""Recurring-fault prediction on a simulated ticket history with planted recurring faults.

Each (model, fault code) pair has background faults (a Poisson process, one every 12 to 45
days); some pairs get planted bursts (3 to 6 faults within 2 to 6 days), after which the fault
comes back within D days with a pair-specific probability. Measured:
- detection precision/recall: a detected episode is right when it overlaps a planted burst;
  baseline: the same rule on the model alone (fault codes ignored);
- the learned probability of a further fault within D days, on the last third of the history
  (learned on the first two thirds): Brier score vs the fleet-wide rate as the baseline.
"""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tickets.recurrence import Occurrence, episodes, group, learn

START = datetime(2026, 1, 1, tzinfo=UTC)


def simulate(
    seed: int = 7, pairs: int = 80, days: int = 360, planted_share: float = 0.3, d: float = 7
) -> tuple[list[Occurrence], dict[tuple[str, str], list[tuple[datetime, datetime]]]]:
    """Occurrences and the planted bursts (start, end) of each pair."""
    rng = random.Random(seed)
    occs: list[Occurrence] = []
    bursts: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
    tid = 0

    def add(model: str, code: str, at: datetime) -> None:
        nonlocal tid
        tid += 1
        occs.append(Occurrence(at, tid, model, code))

    for p in range(pairs):
        model, code = f"M{p // 4 + 1}", f"E{p % 4 + 1}"
        rate = 1 / rng.uniform(12, 45)
        t = rng.expovariate(rate)
        while t < days:
            add(model, code, START + timedelta(days=t))
            t += rng.expovariate(rate)
        if rng.random() >= planted_share:
            continue
        comeback = rng.uniform(0.3, 0.9)  # this pair's chance that a burst recurs
        bursts[(model, code)] = []
        for _ in range(rng.randint(1, 4)):
            begin = rng.uniform(5, days - 20)
            length = rng.uniform(2, 6)
            times = sorted(begin + rng.uniform(0, length) for _ in range(rng.randint(3, 6)))
            end = times[-1]
            if rng.random() < comeback:
                end += rng.uniform(0.5, d * 0.9)
                times.append(end)
            for x in times:
                add(model, code, START + timedelta(days=x))
            bursts[(model, code)].append(
                (START + timedelta(days=times[0]), START + timedelta(days=end))
            )
    return occs, bursts


def _score(
    found: dict[tuple[str, str], list[list[Occurrence]]],
    bursts: dict[tuple[str, str], list[tuple[datetime, datetime]]],
    by_model: bool,
) -> dict[str, float]:
    def planted(key: tuple[str, str]) -> list[tuple[datetime, datetime]]:
        if not by_model:
            return bursts.get(key, [])
        return [b for k, v in bursts.items() if k[0] == key[0] for b in v]

    detected = correct = 0
    hit: set[tuple[tuple[str, str], int]] = set()
    for key, eps in found.items():
        for ep in eps:
            detected += 1
            overlaps = [
                i for i, (b0, b1) in enumerate(planted(key)) if ep[0].at <= b1 and ep[-1].at >= b0
            ]
            if overlaps:
                correct += 1
            for i in overlaps:
                burst = planted(key)[i]
                origin = next(k for k, v in bursts.items() if burst in v)
                hit.add((origin, bursts[origin].index(burst)))
    total = sum(len(v) for v in bursts.values())
    return {
        "detected": detected,
        "precision": round(correct / detected, 4) if detected else 0.0,
        "recall": round(len(hit) / total, 4) if total else 0.0,
    }


def evaluate(n: int = 3, d: float = 7, seed: int = 7) -> dict[str, Any]:
    """Detection P/R (pair vs model-only baseline) and probability Brier scores."""
    occs, bursts = simulate(seed=seed, d=d)
    pairs = group(occs)
    found = {(s.model, s.fault_code): episodes(s.occurrences, n, d) for s in pairs.values()}
    by_model = group([Occurrence(o.at, o.ticket_id, o.model, "ANY") for o in occs])
    found_model = {(s.model, "ANY"): episodes(s.occurrences, n, d) for s in by_model.values()}
    # Probability: learn on the first two thirds, score the trials of the last third.
    horizon = max(o.at for o in occs)
    split = START + (horizon - START) * 2 / 3
    train = group([o for o in occs if o.at <= split])
    fleet = learn(train, n, d, split)
    test = group(occs)
    learn(test, n, d, horizon)
    window = timedelta(days=d)
    learned_se = fleet_se = 0.0
    trials = 0
    for key, stats in test.items():
        times = [o.at for o in stats.occurrences]
        p = train[key].probability if key in train else fleet
        for i, at in enumerate(times):
            if at <= split or at + window > horizon:
                continue
            if sum(1 for t in times[: i + 1] if at - t < window) < n:
                continue
            outcome = 1.0 if i + 1 < len(times) and times[i + 1] - at <= window else 0.0
            trials += 1
            learned_se += (p - outcome) ** 2
            fleet_se += (fleet - outcome) ** 2
    return {
        "simulated": {
            "tickets": len(occs),
            "pairs": len(pairs),
            "planted_bursts": sum(len(v) for v in bursts.values()),
        },
        "min_count": n,
        "window_days": d,
        "detection": _score(found, bursts, by_model=False),
        "baseline_model_only": _score(found_model, bursts, by_model=True),
        "probability": {
            "test_trials": trials,
            "brier_learned": round(learned_se / trials, 4) if trials else None,
            "brier_fleet_rate": round(fleet_se / trials, 4) if trials else None,
        },
    }
