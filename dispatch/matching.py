"""Who may take which ticket (hard filters), how well (score), and the best assignment of a
whole pool (scipy's linear_sum_assignment), with a greedy nearest-free baseline to compare.

Pure in-memory logic: the service loads technicians and tickets into these structures, so the
benchmarks time exactly what the service runs.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from dispatch.geofence import GeoIndex

# Filters in the order they are applied; a candidate is reported under the first that fails.
FILTERS = ("radius", "unavailable", "off_shift", "skills", "region", "daily_cap", "declined")
FILTER_TEXT = {
    "radius": "farther than the service radius",
    "unavailable": "not available (switched off or deactivated)",
    "off_shift": "not on shift now",
    "skills": "lacks a required skill or certificate",
    "region": "does not cover the ticket's region",
    "daily_cap": "has reached the daily ticket cap",
    "declined": "already declined or let this ticket's offer expire",
}
# Every assignment is worth more than any score difference, so the solver first maximises how
# many tickets get a technician, then the quality of the pairs.
BASE_UTILITY = 10.0


@dataclass(frozen=True)
class Weights:
    """Weights of the pair score (each component is 0 = best … 1 = worst)."""

    distance: float = 0.45
    load: float = 0.25
    skill_level: float = 0.10
    not_previous: float = 0.20
    urgency: float = 1.0  # added to an urgent ticket's utility: urgent tickets win scarce techs


@dataclass
class Tech:
    """A technician as matching sees them."""

    id: int
    lat: float
    lon: float
    skills: frozenset[str]
    level: int = 3
    load: int = 0  # tickets taken today
    available: bool = True
    on_shift: bool = True
    regions: frozenset[str] = frozenset()


@dataclass
class Need:
    """A ticket waiting for a technician."""

    id: int
    lat: float
    lon: float
    radius_km: float
    skills: frozenset[str] = frozenset()
    region: str | None = None
    urgency: float = 0.0  # 0 … 1 (SLA class)
    previous: frozenset[int] = frozenset()  # technicians who fixed this device before
    excluded: frozenset[int] = frozenset()  # declined or let the offer expire


@dataclass
class Match:
    """A ticket paired with a technician, and the score that chose them."""

    ticket_id: int
    technician_id: int
    score: float
    distance_km: float
    components: dict[str, float]


@dataclass
class PoolResult:
    """The matches of a pool run, and how many solver rounds it took."""

    matches: list[Match] = field(default_factory=list)
    rounds: int = 0


class Roster:
    """Technicians in arrays: the geofence index, a skill matrix, eligibility flags."""

    def __init__(self, techs: Sequence[Tech], cap: int) -> None:
        self.techs = list(techs)
        self.cap = cap
        self.geo = GeoIndex([t.lat for t in techs], [t.lon for t in techs])
        skills = sorted({s for t in techs for s in t.skills})
        self.skill_col = {s: i for i, s in enumerate(skills)}
        matrix = np.zeros((len(techs), max(len(skills), 1)), dtype=bool)
        for i, t in enumerate(techs):
            for s in t.skills:
                matrix[i, self.skill_col[s]] = True
        self.skill_matrix = matrix
        self.available = np.array([t.available for t in techs], dtype=bool)
        self.on_shift = np.array([t.on_shift for t in techs], dtype=bool)
        self.level = np.array([t.level for t in techs], dtype=np.float64)
        self.load = np.array([t.load for t in techs], dtype=np.int64)
        self.ids = np.array([t.id for t in techs], dtype=np.int64)
        self._skill_ok: dict[frozenset[str], np.ndarray] = {}

    def skills_ok(self, required: frozenset[str]) -> np.ndarray:
        """Per technician: holds every required skill (cached per skill set)."""
        ok = self._skill_ok.get(required)
        if ok is None:
            if any(s not in self.skill_col for s in required):
                ok = np.zeros(len(self.techs), dtype=bool)
            else:
                cols = [self.skill_col[s] for s in required]
                ok = (
                    self.skill_matrix[:, cols].all(axis=1)
                    if cols
                    else np.ones(len(self.techs), bool)
                )
            self._skill_ok[required] = ok
        return ok

    def region_ok(self, positions: np.ndarray, region: str | None) -> np.ndarray:
        """Per candidate position: covers region (technicians without regions cover all)."""
        if region is None:
            return np.ones(len(positions), dtype=bool)
        return np.array(
            [not self.techs[p].regions or region in self.techs[p].regions for p in positions],
            dtype=bool,
        )


@dataclass
class Candidates:
    """The technicians that passed every static filter for one ticket (cap checked per round)."""

    positions: np.ndarray
    distance_km: np.ndarray
    static_cost: np.ndarray  # distance, skill level and previous-technician parts


def _member(ids: np.ndarray, among: frozenset[int]) -> np.ndarray:
    """Per id: is it in `among` (a set lookup: np.isin costs more for these small inputs)."""
    if not among:
        return np.zeros(len(ids), dtype=bool)
    return np.fromiter((int(i) in among for i in ids), dtype=bool, count=len(ids))


def filter_stages(roster: Roster, need: Need) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Technicians within the radius, their distances, and per filter stage which survive.

    Returns (positions, distances, stage) where stage[k] is the index into FILTERS of the first
    filter that removed candidate k, or len(FILTERS) if none did.
    """
    pos, dist = roster.geo.within(need.lat, need.lon, need.radius_km)
    stage = np.full(len(pos), len(FILTERS), dtype=np.int64)
    checks = (
        roster.available[pos],
        roster.on_shift[pos],
        roster.skills_ok(need.skills)[pos],
        roster.region_ok(pos, need.region),
        roster.load[pos] < roster.cap,
        ~_member(roster.ids[pos], need.excluded) if need.excluded else None,
    )
    for k in range(len(checks) - 1, -1, -1):  # last filter first, so the first failure wins
        ok = checks[k]
        if ok is not None:
            stage[~ok] = k + 1
    return pos, dist, stage


def candidates(roster: Roster, need: Need, w: Weights) -> Candidates:
    """Technicians passing every hard filter for need, with the load-independent cost."""
    pos, dist, stage = filter_stages(roster, need)
    keep = stage == len(FILTERS)
    pos, dist = pos[keep], dist[keep]
    cost = (
        w.distance * dist / need.radius_km
        + w.skill_level * (5.0 - roster.level[pos]) / 4.0
        + w.not_previous * ~_member(roster.ids[pos], need.previous)
    )
    return Candidates(pos, dist, cost)


def pair_components(
    roster: Roster, need: Need, position: int, distance_km: float, w: Weights
) -> dict[str, float]:
    """The score parts of one pair (for explanations)."""
    tech = roster.techs[position]
    return {
        "distance": round(w.distance * distance_km / need.radius_km, 4),
        "load": round(w.load * roster.load[position] / roster.cap, 4),
        "skill_level": round(w.skill_level * (5.0 - tech.level) / 4.0, 4),
        "not_previous": round(w.not_previous * (tech.id not in need.previous), 4),
        "urgency_bonus": round(w.urgency * need.urgency, 4),
    }


def _score(cost: float) -> float:
    return round(1.0 - cost, 4)


def assign_pool(
    roster: Roster, needs: Sequence[Need], w: Weights | None = None, max_rounds: int = 0
) -> PoolResult:
    """The best assignment of the whole pool: most tickets served, then best total score.

    Each round gives a technician at most one ticket (one linear_sum_assignment per connected
    component of the ticket–technician graph); rounds repeat while a technician with spare
    capacity can still take an unmatched ticket (at most max_rounds, if given). The roster's
    loads are updated with the matches.
    """
    w = w or Weights()
    cands = [candidates(roster, n, w) for n in needs]
    result = PoolResult()
    open_rows = [i for i, c in enumerate(cands) if len(c.positions)]
    while open_rows and not (max_rounds and result.rounds >= max_rounds):
        rows, cols, util = [], [], []
        for i in open_rows:
            c = cands[i]
            spare = roster.load[c.positions] < roster.cap
            pos = c.positions[spare]
            u = (
                BASE_UTILITY
                + w.urgency * needs[i].urgency
                + 1.0
                - (c.static_cost[spare] + w.load * roster.load[pos] / roster.cap)
            )
            rows.append(np.full(len(pos), i))
            cols.append(pos)
            util.append(u)
        r = np.concatenate(rows) if rows else np.empty(0, np.int64)
        if not len(r):
            break
        cpos = np.concatenate(cols)
        u = np.concatenate(util)
        pairs = _solve(r, cpos, u)
        if not pairs:
            break
        result.rounds += 1
        matched = set()
        for i, p, util_value in pairs:
            need = needs[i]
            dist = float(cands[i].distance_km[cands[i].positions == p][0])
            comps = pair_components(roster, need, p, dist, w)
            roster.load[p] += 1
            roster.techs[p].load += 1
            base = util_value - BASE_UTILITY - w.urgency * need.urgency
            result.matches.append(
                Match(need.id, int(roster.ids[p]), round(float(base), 4), round(dist, 3), comps)
            )
            matched.add(i)
        open_rows = [i for i in open_rows if i not in matched]
    return result


def _solve(rows: np.ndarray, cols: np.ndarray, util: np.ndarray) -> list[tuple[int, int, float]]:
    """Max-utility matching of the (row, col, utility) edges, component by component."""
    urow, rinv = np.unique(rows, return_inverse=True)
    ucol, cinv = np.unique(cols, return_inverse=True)
    n_r, n_c = len(urow), len(ucol)
    graph = coo_matrix((np.ones(len(rows)), (rinv, n_r + cinv)), shape=(n_r + n_c, n_r + n_c))
    _, label = connected_components(graph, directed=False)
    edge_label = label[rinv]
    out: list[tuple[int, int, float]] = []
    order = np.argsort(edge_label, kind="stable")
    bounds = np.flatnonzero(np.diff(edge_label[order])) + 1
    for group in np.split(order, bounds):
        gr, gc = rinv[group], cinv[group]
        lr, lr_inv = np.unique(gr, return_inverse=True)
        lc, lc_inv = np.unique(gc, return_inverse=True)
        dense = np.zeros((len(lr), len(lc)))  # 0 = no edge: never better than leaving it open
        dense[lr_inv, lc_inv] = util[group]
        ri, ci = linear_sum_assignment(dense, maximize=True)
        for a, b in zip(ri, ci, strict=True):
            if dense[a, b] > 0:
                out.append((int(urow[lr[a]]), int(ucol[lc[b]]), float(dense[a, b])))
    return out


def assign_greedy(roster: Roster, needs: Iterable[Need], w: Weights | None = None) -> PoolResult:
    """Baseline: each ticket in turn takes the nearest technician who passes the filters."""
    w = w or Weights()
    result = PoolResult(rounds=1)
    for need in needs:
        c = candidates(roster, need, w)
        spare = roster.load[c.positions] < roster.cap
        if not spare.any():
            continue
        k = int(np.flatnonzero(spare)[0])  # candidates come nearest first
        p, dist = int(c.positions[k]), float(c.distance_km[k])
        comps = pair_components(roster, need, p, dist, w)
        roster.load[p] += 1
        roster.techs[p].load += 1
        score = 1.0 - sum(v for name, v in comps.items() if name != "urgency_bonus")
        result.matches.append(Match(need.id, int(roster.ids[p]), round(score, 4), dist, comps))
    return result


def explain(
    roster: Roster, need: Need, w: Weights | None = None, limit: int = 30
) -> dict[str, Any]:
    """Every candidate near the ticket, the filter that removed each, and the survivors' scores."""
    w = w or Weights()
    # Look a little beyond the radius so "nobody qualifies" names who was just too far.
    wide = Need(**{**need.__dict__, "radius_km": need.radius_km * 2})
    pos, dist, stage = filter_stages(roster, wide)
    stage = np.where(dist > need.radius_km, 0, stage)  # beyond the real radius: radius filter
    counts = np.bincount(stage, minlength=len(FILTERS) + 1).tolist()
    removed = dict(zip(FILTERS, counts, strict=False))
    items = []
    # Plain Python values (tolist) for the listed candidates: a pool explains 1,000 tickets.
    near = pos[:limit]
    for p, d, s, tech_id, load in zip(
        near.tolist(),
        dist[:limit].tolist(),
        stage[:limit].tolist(),
        roster.ids[near].tolist(),
        roster.load[near].tolist(),
        strict=True,
    ):
        item: dict[str, Any] = {
            "technician_id": tech_id,
            "distance_km": round(d, 3),
            "load_today": load,
        }
        if s < len(FILTERS):
            item["removed_by"] = FILTERS[s]
            item["why"] = FILTER_TEXT[FILTERS[s]]
            if FILTERS[s] == "skills":
                item["missing_skills"] = sorted(need.skills - roster.techs[p].skills)
        else:
            comps = pair_components(roster, need, p, d, w)
            item["components"] = comps
            item["score"] = _score(sum(v for k, v in comps.items() if k != "urgency_bonus"))
        items.append(item)
    return {
        "radius_km": need.radius_km,
        "considered": len(pos),
        "qualified": counts[len(FILTERS)],
        "removed_by_filter": {k: v for k, v in removed.items() if v},
        "candidates": items,
    }
