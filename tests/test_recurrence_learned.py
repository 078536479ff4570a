"""The learned repeat-fault probability: it tells a single device's burst from a chance
cluster across a big fleet, gates the preventive ticket, and shows its reasons in the alert."""

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from eval.recurrence_eval import CHOOSE_SEED, simulate
from tests.conftest import Service
from tickets.recurrence import FEATURES, Occurrence, group, train, trials

D0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_single_device_burst_beats_a_chance_cluster_of_a_big_fleet() -> None:
    history = simulate(CHOOSE_SEED).occurrences
    end = max(o.at for o in history)
    sizes = {key: len(s.occurrences) for key, s in group(history).items()}
    busy = max(sizes, key=lambda k: sizes[k])  # the biggest fleet's most common fault
    quiet = min(sizes, key=lambda k: sizes[k])
    assert sizes[busy] > 20 * sizes[quiet]
    model_of = {key: s.model for key, s in group(history).items()}

    def occ(key: tuple[str, str], n: int, day: float, device: str) -> Occurrence:
        return Occurrence(
            end + timedelta(days=day),
            len(history) + n,
            model_of[key],
            key[1],
            hardware_id=device,
            address=f"{device}号",
            region=f"区{device}",
        )

    # Three faults of one device within two days, of a model with a quiet history…
    burst = [occ(quiet, i, 1 + i / 2, "Q-7") for i in range(3)]
    # …and three faults on three devices within five days, of the busiest pair.
    chance = [occ(busy, 3 + i, 1 + 2 * i, f"B-{i}") for i in range(3)]
    pairs = group(history + burst + chance)
    model, learned = train(pairs, 3, 7, end)
    assert model.method == "logistic" and model.trained_on == len(
        [t for t in learned if t.outcome is not None]
    )
    windows = {t.key: t for t in trials(pairs, 3, 7, end + timedelta(days=30)) if t.at > end}
    p_burst = model.predict(windows[quiet].features, pairs[quiet].probability)
    p_chance = model.predict(windows[busy].features, pairs[busy].probability)
    assert p_burst > p_chance + 0.2, (p_burst, p_chance)
    assert windows[quiet].features["top_device_share"] == 1.0
    assert windows[busy].features["chance_next"] > windows[quiet].features["chance_next"]


def test_too_few_trials_fall_back_to_the_beta_prior() -> None:
    occs = [Occurrence(D0 + timedelta(days=d), i, "A1", "E1") for i, d in enumerate([0, 1, 2, 3])]
    pairs = group(occs)
    model, found = train(pairs, 3, 7, D0 + timedelta(days=100))
    assert model.method == "beta_prior" and len(found) == 2
    stats = pairs[("A1", "E1")]
    assert model.predict(found[0].features, stats.probability) == stats.probability
    assert set(found[0].features) == set(FEATURES)


@pytest.fixture
def at_time() -> Iterator[list[datetime]]:
    now = [D0]
    clock.set_clock(lambda: now[0])
    try:
        yield now
    finally:
        clock.set_clock(None)


def _history_csv() -> bytes:
    """Three months of an old repair sheet: a small fleet of air conditioners whose E1 comes
    back on one unit in bursts, a big fleet whose E2 turns up daily on random units, and now
    a fresh E1 burst on one unit while the big fleet's E2 goes on as usual."""
    rng = random.Random(5)
    rows = ["报修日期,片区,客户电话,地址,产品类型,型号,故障描述,设备编号,故障码"]

    def row(day: int, unit: str, model: str, code: str, what: str) -> None:
        date = (D0 + timedelta(days=day)).strftime("%Y-%m-%d")
        phone = f"139{sum(map(ord, unit)) % 10**8:08d}"
        rows.append(
            f"{date},西湖片区,{phone},杭州市西湖区文三路{unit}号,空调,{model},{what},{unit},{code}"
        )

    for b in range(8):  # E1 on one small-fleet unit: five faults within a week, then quiet
        for day in (0, 1, 2, 4, 5):
            row(10 * b + day, f"A-0{b % 6 + 1}", "KFR-35GW", "E1", "空调不制冷，显示E1")
    for day in (81, 82, 83):  # now: a new burst on A-03
        row(day, "A-03", "KFR-35GW", "E1", "空调不制冷，显示E1")
    for day in range(84):  # E2 across a fleet of 200 units, one a day
        row(day, f"B-{rng.randrange(200):03d}", "KFR-72LW", "E2", "空调漏水，显示E2")
    return "\n".join(rows).encode()


def test_gate_suppresses_the_chance_cluster_and_explains_the_burst(
    service: Service, at_time: list[datetime]
) -> None:
    at_time[0] = D0 + timedelta(days=83, hours=12)
    r = service.client.post(
        "/api/v1/imports/excel",
        files={"file": ("历史报修.csv", _history_csv())},
        data={"wait": "true"},
        headers=service.headers("agent"),
    )
    assert r.status_code == 201 and r.json()["created"] == 8 * 5 + 3 + 84, r.text
    supervisor = service.headers("supervisor")
    report = service.client.get("/api/v1/predictions/recurring", headers=supervisor).json()
    assert report["method"] == "logistic" and report["model_trials"] > 30
    patterns = {m["model"]: m["patterns"][0] for m in report["models"]}
    burst, fleet = patterns["KFR-35GW"], patterns["KFR-72LW"]
    assert burst["why"]["features"]["top_device_share"] == 1.0
    assert burst["probability_next"] > fleet["probability_next"] + 0.3, (burst, fleet)
    gate = round((burst["probability_next"] + fleet["probability_next"]) / 2, 3)

    scan = service.client.post(
        "/api/v1/predictions/recurring/scan", params={"min_probability": gate}, headers=supervisor
    )
    assert scan.status_code == 200, scan.text
    (alert,) = scan.json()["created"]  # the big fleet's daily E2 raises nothing
    assert (alert["model"], alert["fault_code"], alert["occurrences"]) == ("KFR-35GW", "E1", 3)
    evidence = alert["evidence"]
    assert evidence["method"] == "logistic" and evidence["min_probability"] == gate
    assert set(evidence["features"]) == set(FEATURES) == set(evidence["contributions"])
    assert evidence["probability"] == alert["probability_next"] >= gate
    assert {t["hardware_id"] for t in evidence["tickets"]} == {"A-03"}
    listed = service.client.get("/api/v1/predictions/alerts", headers=supervisor).json()["items"]
    assert [a["evidence"]["features"] for a in listed] == [evidence["features"]]

    # The suppressed pattern is still reported, marked as raising no ticket.
    again = service.client.get(
        "/api/v1/predictions/recurring", params={"min_probability": gate}, headers=supervisor
    ).json()
    patterns = {m["model"]: m["patterns"][0] for m in again["models"]}
    assert patterns["KFR-72LW"]["raises_ticket"] is False
    assert patterns["KFR-35GW"]["raises_ticket"] is True
    # With no gate the N-in-D rule alone raises the big fleet's ticket too.
    loose = service.client.post(
        "/api/v1/predictions/recurring/scan", params={"min_probability": 0}, headers=supervisor
    ).json()["created"]
    assert [a["model"] for a in loose] == ["KFR-72LW"]
    bad = service.client.post(
        "/api/v1/predictions/recurring/scan", params={"min_probability": 1.5}, headers=supervisor
    )
    assert bad.status_code == 422 and "error" in bad.json()
