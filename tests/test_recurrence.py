"""Recurring-fault prediction: learned probabilities, preventive tickets with evidence, the
per-model report, configurable N and D."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from tests.conftest import Service
from tickets.recurrence import PRIOR_STRENGTH, Occurrence, group, learn

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
AC_E1 = "空调显示E1，型号KFR-35GW，不制冷"
LOCK = "门锁指纹没反应，型号X3，显示E05"


def _occ(pair: str, days: list[float]) -> list[Occurrence]:
    model, code = pair.split("/")
    return [Occurrence(T0 + timedelta(days=d), i, model, code) for i, d in enumerate(days)]


def test_probability_learned_with_fleet_prior() -> None:
    pairs = group(_occ("A1/E1", [0, 1, 2, 3]) + _occ("B2/E7", [0, 1, 2]))
    fleet = learn(pairs, n=3, days=7, horizon=T0 + timedelta(days=100))
    a, b = pairs[("A1", "E1")], pairs[("B2", "E7")]
    # A: the 3rd occurrence was followed by a 4th within 7 days (success), the 4th was not.
    assert (a.trials, a.successes) == (2, 1)
    assert (b.trials, b.successes) == (1, 0)
    assert fleet == pytest.approx(2 / 5)  # (1 + 1) / (3 + 2)
    # Beta prior of PRIOR_STRENGTH pseudo-trials centred on the fleet rate
    s = PRIOR_STRENGTH
    assert a.probability == pytest.approx((1 + 0.4 * s) / (2 + s))
    assert b.probability == pytest.approx((0 + 0.4 * s) / (1 + s))
    assert [len(e) for e in a.episodes] == [4] and [len(e) for e in b.episodes] == [3]


def test_outcome_unknown_is_not_a_trial() -> None:
    pairs = group(_occ("A1/E1", [0, 1, 2]))
    learn(pairs, n=3, days=7, horizon=T0 + timedelta(days=5))  # day 2 + 7 is still to come
    assert pairs[("A1", "E1")].trials == 0


@pytest.fixture
def at_time() -> Iterator[list[datetime]]:
    now = [T0]
    clock.set_clock(lambda: now[0])
    try:
        yield now
    finally:
        clock.set_clock(None)


def _ticket(svc: Service, text: str) -> dict:
    r = svc.client.post("/api/v1/intake/text", json={"text": text}, headers=svc.headers("agent"))
    assert r.status_code == 201, r.text
    return r.json()


def test_recurring_fault_raises_one_preventive_ticket(
    service: Service, at_time: list[datetime]
) -> None:
    # History: an earlier run of three E1 faults within a week, which came back a 4th time.
    for day in (0, 2, 4, 6):
        at_time[0] = T0 + timedelta(days=day)
        _ticket(service, AC_E1)
    # The lock had E05 twice only: below N = 3.
    for day in (20, 21):
        at_time[0] = T0 + timedelta(days=day)
        _ticket(service, LOCK)
    # Now: three E1 faults within the last 7 days.
    recent = []
    for day in (28, 30, 31):
        at_time[0] = T0 + timedelta(days=day, hours=1)
        recent.append(_ticket(service, AC_E1)["id"])
    headers = service.headers("supervisor")
    r = service.client.post("/api/v1/predictions/recurring/scan", headers=headers)
    assert r.status_code == 200, r.text
    created = r.json()["created"]
    assert len(created) == 1
    alert = created[0]
    assert (alert["model"], alert["fault_code"], alert["occurrences"]) == ("KFR-35GW", "E1", 3)
    assert [e["ticket_id"] for e in alert["evidence"]["tickets"]] == recent
    # history: trials at the 3rd (followed within 7 d) and 4th (not) occurrence → 1 of 2
    assert (alert["evidence"]["history_trials"], alert["evidence"]["history_recurred"]) == (2, 1)
    assert 0.3 < alert["probability_next"] < 0.7
    ticket = service.client.get(
        f"/api/v1/tickets/{alert['ticket_id']}", headers=service.headers("agent")
    ).json()
    assert ticket["channel"] == "prediction" and ticket["device"]["model"] == "KFR-35GW"
    assert "预防性维护" in ticket["fault"]["description"]
    # the same window does not raise a second ticket
    again = service.client.post("/api/v1/predictions/recurring/scan", headers=headers).json()
    assert again["created"] == []
    # the report lists patterns per model
    report = service.client.get(
        "/api/v1/predictions/recurring", headers=service.headers("agent")
    ).json()
    assert report["min_count"] == 3 and report["window_days"] == 7
    models = {m["model"]: m["patterns"] for m in report["models"]}
    assert set(models) == {"KFR-35GW"}
    (pattern,) = models["KFR-35GW"]
    assert pattern["episodes"] == 2 and pattern["active"] is True and pattern["occurrences"] == 7
    # N and D are parameters: with N = 2 the lock's two E05 faults make a pattern too
    loose = service.client.get(
        "/api/v1/predictions/recurring", params={"min_count": 2}, headers=headers
    ).json()
    assert {m["model"] for m in loose["models"]} == {"KFR-35GW", "X3"}
    listed = service.client.get("/api/v1/predictions/alerts", headers=headers).json()["items"]
    assert [a["id"] for a in listed] == [alert["id"]]
    bad = service.client.get(
        "/api/v1/predictions/recurring", params={"min_count": 1}, headers=headers
    )
    assert bad.status_code == 422
    assert (
        service.client.post(
            "/api/v1/predictions/recurring/scan", headers=service.headers("agent")
        ).status_code
        == 403
    )
