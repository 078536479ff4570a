"""Matching without a database: hard filters, ranking, the pool solver against greedy, geofence."""

import copy
import random
from datetime import datetime

import numpy as np

from dispatch.geofence import GeoIndex, haversine_km
from dispatch.matching import FILTERS, Need, Roster, Tech, assign_greedy, assign_pool, explain
from dispatch.technicians import on_shift

KM = 1 / 111.2


def _tech(i: int, km_north: float, skills: tuple[str, ...] = ("a",), **kw: object) -> Tech:
    return Tech(id=i, lat=km_north * KM, lon=0.0, skills=frozenset(skills), **kw)  # type: ignore[arg-type]


def _need(i: int, km_north: float = 0.0, skills: tuple[str, ...] = ("a",), **kw: object) -> Need:
    return Need(id=i, lat=km_north * KM, lon=0.0, radius_km=5.0, skills=frozenset(skills), **kw)  # type: ignore[arg-type]


def test_each_hard_filter_removes_its_candidate() -> None:
    techs = [
        _tech(1, 6.0),  # radius
        _tech(2, 1.0, available=False),
        _tech(3, 1.0, on_shift=False),
        _tech(4, 1.0, skills=("b",)),
        _tech(5, 1.0, regions=frozenset({"广州"})),
        _tech(6, 1.0, load=5),
        _tech(7, 1.0),  # declined before
        _tech(8, 2.0, regions=frozenset({"深圳"})),
    ]
    roster = Roster(techs, cap=5)
    need = _need(100, region="深圳", excluded=frozenset({7}))
    report = explain(roster, need)
    removed = {c["technician_id"]: c.get("removed_by") for c in report["candidates"]}
    assert removed == {
        1: "radius",
        2: "unavailable",
        3: "off_shift",
        4: "skills",
        5: "region",
        6: "daily_cap",
        7: "declined",
        8: None,
    }
    assert set(report["removed_by_filter"]) == set(FILTERS)
    [match] = assign_pool(roster, [need]).matches
    assert match.technician_id == 8


def test_ranking_distance_load_skill_level_and_previous_technician() -> None:
    near_busy = _tech(1, 0.5, load=4)
    far_free = _tech(2, 1.0, load=0)
    assert assign_pool(Roster([near_busy, far_free], 5), [_need(1)]).matches[0].technician_id == 2
    near, farther = _tech(1, 0.5), _tech(2, 3.0)
    assert assign_pool(Roster([near, farther], 5), [_need(1)]).matches[0].technician_id == 1
    junior, expert = _tech(1, 1.0, level=1), _tech(2, 1.0, level=5)
    assert assign_pool(Roster([junior, expert], 5), [_need(1)]).matches[0].technician_id == 2
    a, b = _tech(1, 1.0), _tech(2, 1.2)
    knows_device = _need(1, previous=frozenset({2}))
    assert assign_pool(Roster([a, b], 5), [knows_device]).matches[0].technician_id == 2


def test_pool_optimum_beats_greedy_on_a_crafted_pool() -> None:
    # Two technicians with one slot left each. Ticket 1 is first in the queue and nearest to
    # tech 1; ticket 2 can only be reached by tech 1. Greedy gives tech 1 to ticket 1 and
    # strands ticket 2; the pool assignment serves both.
    techs = [_tech(1, 0.0, load=4), _tech(2, -4.0, load=4)]
    needs = [_need(1, -1.0), _need(2, 3.0)]
    greedy = assign_greedy(Roster(copy.deepcopy(techs), 5), needs)
    best = assign_pool(Roster(copy.deepcopy(techs), 5), needs)
    assert [(m.ticket_id, m.technician_id) for m in greedy.matches] == [(1, 1)]
    assert sorted((m.ticket_id, m.technician_id) for m in best.matches) == [(1, 2), (2, 1)]


def test_urgent_ticket_wins_the_only_technician() -> None:
    techs = [_tech(1, 0.0, load=4)]
    needs = [_need(1, 0.1, urgency=0.0), _need(2, 2.0, urgency=1.0)]
    [m] = assign_pool(Roster(techs, 5), needs).matches
    assert m.ticket_id == 2


def test_capacity_lets_one_technician_take_several_tickets_up_to_the_cap() -> None:
    roster = Roster([_tech(1, 0.0, load=2)], 5)
    result = assign_pool(roster, [_need(i, 0.1 * i) for i in range(1, 6)])
    assert len(result.matches) == 3 and result.rounds == 3


def test_geofence_matches_brute_force() -> None:
    rng = random.Random(3)
    lats = [22.3 + rng.random() * 0.6 for _ in range(3000)]
    lons = [113.8 + rng.random() * 0.6 for _ in range(3000)]
    index = GeoIndex(lats, lons)
    for _ in range(20):
        lat, lon, r = 22.3 + rng.random() * 0.6, 113.8 + rng.random() * 0.6, rng.uniform(0.5, 8)
        pos, dist = index.within(lat, lon, r)
        brute = {i for i in range(3000) if haversine_km(lat, lon, lats[i], lons[i]) <= r}
        assert set(pos.tolist()) == brute
        assert np.all(np.diff(dist) >= 0)
    # across the antimeridian
    pos, _ = GeoIndex([0.0, 0.0], [179.99, -179.99]).within(0.0, 180.0, 5.0)
    assert sorted(pos.tolist()) == [0, 1]


def test_shift_windows_including_overnight() -> None:
    monday_21 = datetime(2026, 11, 23, 21, 0)
    tuesday_03 = datetime(2026, 11, 24, 3, 0)
    day = [{"start": "08:00", "end": "20:00"}]
    night = [{"start": "20:00", "end": "06:00", "days": [1]}]
    assert not on_shift(day, monday_21) and on_shift(night, monday_21)
    assert on_shift(night, tuesday_03)  # Monday's night shift runs into Tuesday
    assert not on_shift(night, datetime(2026, 11, 25, 3, 0))
    assert on_shift([], tuesday_03)
