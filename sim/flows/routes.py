"""Courier routes: planned with PyVRP per county for each station network in force.

A county's vans start and end at its warehouse (the county seat). Visits are a periodic plan:
each stop is visited every `every_days` days (frequency rules, township points daily) on days
set by its `phase`; stops visited every k > 1 days are grouped by bearing from the warehouse
into k sectors of about equal load, one visit day each, so that neighbours share their day and
the days carry about the same load (`visit_phases`). Over a period (the least common multiple
of the frequencies, e.g. 14 days) each distinct set of stops due on a day (a day pattern) gets
its own PyVRP routes, planned with that day's loads (a stop's parcels since its last visit).
`RoutePlanner` plans once per distinct set of open stations and plan year (kept in memory);
plans are cached on disk per (stops, demand, travel model, settings).
"""

from __future__ import annotations

import hashlib
import math
import pickle
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pyvrp import Model, solve
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxIterations

from geo.distance import DistanceModel
from sim.core.ids import TOWNSHIP_POINT, VILLAGE_STATION
from sim.network.points import Points
from sim.scenario.delivery import Couriers

#: Courier settings a route plan does not depend on (left out of the cache key, so that runs
#: varying them, e.g. a sensitivity study of van cost rates, plan each county once): the fleets
#: (a fleet's own settings are the rest), the van cost rates and the travel noise of the trips.
NOT_ROUTING = {"mode", "carriers", "village_carrier", "cost_per_km", "cost_per_hour", "cost_basis",
               "cost_per_van_day", "travel_noise_cv"}  # fmt: skip

#: PyVRP works in integers: metres and tenths of a minute.
DECIMINUTES = 10
CACHE_VERSION = 8  # raised when the cached classes change or move (8: sim/ in subpackages)


@dataclass(frozen=True)
class CountyRoutes:
    """One county's plan over a period of `len(pattern)` days. `stops` (global stop ids, matrix
    order after the depot at index 0); `km`, `minutes`: (n+1, n+1) travel between depot and
    stops; `every_days`, `phase` per stop (matrix order, depot first): a stop is due on
    simulation day d when (d + phase) % every_days == 0. `routes`: every day pattern's routes,
    pattern by pattern, each as matrix indices (1..n) in visit order; `vans` per route (a route
    whose planned load exceeds one van is driven by several vans together); `route_pattern` per
    route, its day pattern; `pattern` per day of the period (day % period), the day pattern
    whose routes vans drive that day; `route_minutes` per route, its planned time depot to
    depot (road time and service with the planned parcels: what PyVRP held to `shift_h`).
    `on(day)` is the plan of one day."""

    stops: np.ndarray
    km: np.ndarray
    minutes: np.ndarray
    routes: tuple[np.ndarray, ...]
    vans: np.ndarray
    every_days: np.ndarray
    phase: np.ndarray
    feasible: bool
    planning_s: float
    route_pattern: np.ndarray
    pattern: np.ndarray
    route_minutes: np.ndarray

    @property
    def period(self) -> int:
        """Days after which the visits repeat."""
        return len(self.pattern)

    def due(self, day: int) -> np.ndarray:
        """Bool per matrix index: the stop is visited on simulation day `day`."""
        return (day + self.phase) % self.every_days == 0

    def on(self, day: int) -> CountyRoutes:
        """The routes vans drive on simulation day `day` (a plan of one day pattern)."""
        if self.period == 1:
            return self
        mine = np.flatnonzero(self.route_pattern == self.pattern[day % self.period])
        return replace(
            self,
            routes=tuple(self.routes[i] for i in mine),
            vans=self.vans[mine],
            route_minutes=self.route_minutes[mine],
            route_pattern=np.zeros(len(mine), dtype=np.int64),
            pattern=np.zeros(1, dtype=np.int64),
        )

    def per_day(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per day of the period: planned routes, vans and km (each route driven once)."""
        n = int(self.pattern.max(initial=0)) + 1
        km = np.array([self.km[np.r_[0, r], np.r_[r, 0]].sum() for r in self.routes])
        vans = np.bincount(self.route_pattern, weights=self.vans, minlength=n)
        routes = np.bincount(self.route_pattern, minlength=n)
        driven = np.bincount(self.route_pattern, weights=km * self.vans, minlength=n)
        return routes[self.pattern], vans[self.pattern].astype(np.int64), driven[self.pattern]


#: PyVRP iterations a day pattern gets at least (when there are many patterns), unless the
#: setting asks for fewer.
MIN_PATTERN_ITERATIONS = 300


def search_iterations(iterations: int, patterns: int) -> int:
    """PyVRP iterations for each of a plan's `patterns` day patterns: `iterations` (the
    setting) split evenly, but at least `MIN_PATTERN_ITERATIONS` (or the setting if lower).
    A pattern's problem is smaller than the whole county's, and 300 iterations plan Lishui's
    counties within 1% of the van km that 2,000 do."""
    return max(min(iterations, MIN_PATTERN_ITERATIONS), iterations // max(patterns, 1))


def visit_period(cfg: Couriers) -> int:
    """Days after which every stop's visits repeat: the least common multiple of the rules'
    `every_days` (visits are only ever every 1 day or every rule's days)."""
    return math.lcm(*(rule.every_days for rule in cfg.frequency))


def visit_every(
    minutes_from_depot: np.ndarray,
    is_station: np.ndarray,
    daily: np.ndarray,
    shelf: np.ndarray,
    cfg: Couriers,
) -> np.ndarray:
    """Days between visits per stop: the first frequency rule whose `max_minutes` the stop is
    within (village stations), but often enough that a visit's parcels fill at most 80% of the
    station's `shelf` (one value per station, in stop order): then the largest of 1 and the
    rules' `every_days` that fits, so that visits repeat after `visit_period` days; township
    points daily."""
    every = np.full(len(minutes_from_depot), cfg.frequency[-1].every_days, dtype=np.int64)
    assigned = np.zeros(len(every), dtype=bool)
    for rule in cfg.frequency:
        fits = ~assigned if rule.max_minutes is None else ~assigned & (minutes_from_depot <= rule.max_minutes)
        every[fits] = rule.every_days
        assigned |= fits
    room = np.full(len(daily), np.inf)
    room[is_station] = shelf
    fits_shelf = np.maximum(1, np.floor(np.minimum(0.8 * room / np.maximum(daily, 1e-9), 1e6))).astype(
        np.int64
    )
    allowed = np.array(sorted({1, *(rule.every_days for rule in cfg.frequency)}), dtype=np.int64)
    at_most = np.minimum(every, fits_shelf)
    every = allowed[np.searchsorted(allowed, at_most, side="right") - 1]
    return np.where(is_station, every, 1)


def visit_phases(every: np.ndarray, load: np.ndarray, bearing: np.ndarray) -> np.ndarray:
    """Visit day (phase, 0 <= phase < every) per stop, so that each stop is due once every
    `every` days and the days of the period carry about the same load. The stops visited every
    k > 1 days are sorted by `bearing` (radians, from the warehouse), cut where the bearings
    leave their widest gap, and split into k sectors of about equal `load` (parcels a visit;
    by count where there are none): neighbours share a visit day, so one route serves them.
    Sectors then take, heaviest first, the phase whose days carry the least load so far (then
    the fewest stops; then the lowest phase)."""
    period = math.lcm(*np.unique(every).tolist()) if len(every) else 1
    phase = np.zeros(len(every), dtype=np.int64)
    daily = every == 1
    day_load = np.full(period, float(load[daily].sum()))
    day_stops = np.full(period, float(daily.sum()))
    sectors = []
    for k in np.unique(every[every > 1]).tolist():
        mine = np.flatnonzero(every == k)
        order = mine[np.argsort(bearing[mine], kind="stable")]
        angle = bearing[order]
        gaps = np.diff(np.append(angle, angle[0] + 2 * np.pi))
        order = np.roll(order, -(int(np.argmax(gaps)) + 1))
        weight = load[order] if load[order].sum() > 0 else np.ones(len(order))
        middle = (np.cumsum(weight) - weight / 2) / weight.sum()
        sector = np.minimum((middle * k).astype(np.int64), k - 1)
        sectors += [(k, order[sector == s]) for s in range(k) if (sector == s).any()]
    sectors.sort(key=lambda x: (-float(load[x[1]].sum()), -len(x[1]), x[0], int(x[1].min())))
    days = np.arange(period)
    for k, members in sectors:
        sector_load, count = float(load[members].sum()), len(members)
        best, best_cost = 0, None
        for p in range(k):
            on = days[(days + p) % k == 0]
            cost = ((day_load[on] + sector_load).max(), (day_stops[on] + count).max())
            if best_cost is None or cost < best_cost:
                best, best_cost = p, cost
        on = days[(days + best) % k == 0]
        day_load[on] += sector_load
        day_stops[on] += count
        phase[members] = best
    return phase


def plan_county(
    depot_xy: np.ndarray,
    stops: np.ndarray,
    stop_xy: np.ndarray,
    is_station: np.ndarray,
    daily_parcels: np.ndarray,
    distances: DistanceModel,
    circuity: float,
    cfg: Couriers,
    *,
    shelf: np.ndarray,
    seed: int = 0,
    cache_dir: Path | None = None,
) -> CountyRoutes:
    """Routes over `stops` (global ids at `stop_xy`) from the depot, day pattern by day pattern.
    `daily_parcels` is the parcels per day to plan for at each stop: a visit brings a stop the
    parcels of `every_days` days; a stop larger than a van counts as a full van in the search
    and gets vans enough after it. Each distinct day pattern (the set of stops due on a day of
    the period; days with the same set share one search) is searched with its share of
    `route_search_iterations` (`search_iterations`)."""
    xy = np.vstack([depot_xy[None, :], stop_xy])
    key = _key(xy, is_station, daily_parcels, distances.description, (circuity, tuple(shelf)), cfg, seed)
    cached = _load(cache_dir, key)
    if cached is not None:
        return cached
    start = time.perf_counter()
    travel = distances.matrix(xy, xy, origin_circuity=np.full(len(xy), circuity))
    km, minutes = travel.km, travel.minutes
    every = np.concatenate([[1], visit_every(minutes[0, 1:], is_station, daily_parcels, shelf, cfg)])
    per_visit = np.ceil(daily_parcels * every[1:]).astype(np.int64)
    offset = stop_xy - depot_xy[None, :]
    bearing = np.arctan2(offset[:, 1], offset[:, 0])
    phase = np.concatenate([[0], visit_phases(every[1:], per_visit.astype(float), bearing)])
    period = visit_period(cfg)
    days = np.arange(period)
    due = (days[:, None] + phase[None, 1:]) % every[None, 1:] == 0  # (period, stops)
    _, first, pattern = np.unique(due, axis=0, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))  # patterns numbered by the first day they occur
    pattern = rank[pattern.ravel()]
    routes, route_pattern, feasible = [], [], True
    iterations = search_iterations(cfg.route_search_iterations, len(first))
    for k, day in enumerate(np.sort(first).tolist()):
        sub = np.concatenate([[0], 1 + np.flatnonzero(due[day])])  # matrix indices, depot first
        if len(sub) == 1:
            continue
        sub_km, sub_minutes = km[np.ix_(sub, sub)], minutes[np.ix_(sub, sub)]
        found, ok = _solve(sub_km, sub_minutes, per_visit[sub[1:] - 1], cfg, seed, iterations)
        routes += [sub[r] for r in found]
        route_pattern += [k] * len(found)
        feasible &= ok
    load = np.array([per_visit[r - 1].sum() for r in routes], dtype=np.int64)
    plan = CountyRoutes(
        stops=np.asarray(stops, dtype=np.int64),
        km=km,
        minutes=minutes,
        routes=tuple(routes),
        vans=np.maximum(1, -(-load // cfg.van_capacity)),
        every_days=every,
        phase=phase,
        feasible=feasible,
        planning_s=time.perf_counter() - start,
        route_pattern=np.array(route_pattern, dtype=np.int64),
        pattern=pattern.astype(np.int64),
        route_minutes=planned_minutes(routes, minutes, per_visit, cfg),
    )
    _store(cache_dir, key, plan)
    return plan


def without_stops(
    plan: CountyRoutes,
    stops: np.ndarray,
    daily_parcels: np.ndarray,
    cfg: Couriers,
) -> CountyRoutes:
    """`plan` repaired for a subset `stops` of its stops (stations closed): each day pattern's
    routes keep their order without the missing stops, each stop keeps its visit days
    (`every_days`, `phase`: a station's own parcels do not change when others close), and
    vans follow the new `daily_parcels` (the township points take over the closed stations'
    parcels). No search: closing stations one month at a time would otherwise re-plan a county
    with PyVRP each time."""
    start = time.perf_counter()
    keep = np.concatenate([[0], 1 + np.flatnonzero(np.isin(plan.stops, stops))])  # matrix indices
    renumber = np.full(len(plan.stops) + 1, -1, dtype=np.int64)
    renumber[keep] = np.arange(len(keep))
    km, minutes = plan.km[np.ix_(keep, keep)], plan.minutes[np.ix_(keep, keep)]
    every = plan.every_days[keep]
    per_visit = np.ceil(daily_parcels * every[1:]).astype(np.int64)
    cut = [renumber[r][renumber[r] > 0] for r in plan.routes]
    kept = [i for i, r in enumerate(cut) if len(r)]
    routes = tuple(cut[i] for i in kept)
    load = np.array([per_visit[r - 1].sum() for r in routes], dtype=np.int64)
    return CountyRoutes(
        stops=plan.stops[keep[1:] - 1],
        km=km,
        minutes=minutes,
        routes=routes,
        vans=np.maximum(1, -(-load // cfg.van_capacity)),
        every_days=every,
        phase=plan.phase[keep],
        feasible=plan.feasible,
        planning_s=time.perf_counter() - start,
        route_pattern=plan.route_pattern[kept],
        pattern=plan.pattern,
        route_minutes=planned_minutes(routes, minutes, per_visit, cfg),
    )


def planned_minutes(
    routes: tuple[np.ndarray, ...] | list[np.ndarray],
    minutes: np.ndarray,
    per_visit: np.ndarray,
    cfg: Couriers,
) -> np.ndarray:
    """Planned minutes of each route depot to depot: its legs' road time, and at each stop
    `service_min_per_stop` + `service_min_per_parcel` x the stop's parcels a visit
    (`per_visit`, in stop order; as PyVRP was told)."""
    service = cfg.service_min_per_stop + cfg.service_min_per_parcel * per_visit
    return np.array(
        [minutes[np.r_[0, r], np.r_[r, 0]].sum() + service[r - 1].sum() for r in routes], dtype=float
    )


def _solve(
    km: np.ndarray, minutes: np.ndarray, per_visit: np.ndarray, cfg: Couriers, seed: int, iterations: int
) -> tuple[tuple[np.ndarray, ...], bool]:
    model = Model()
    # Planned with the stated capacity: a stop larger than a van counts as one full van (its
    # route holds it alone) and gets vans enough after the search; nothing else is split.
    model.add_vehicle_type(
        num_available=cfg.vans_per_county,
        capacity=[cfg.van_capacity],
        shift_duration=int(cfg.shift_h * 60 * DECIMINUTES),
    )
    locations = [model.add_location(x=0.0, y=0.0) for _ in range(len(km))]
    model.add_depot(locations[0])
    service = (cfg.service_min_per_stop + cfg.service_min_per_parcel * per_visit) * DECIMINUTES
    for i in range(1, len(km)):
        demand = min(int(per_visit[i - 1]), cfg.van_capacity)
        model.add_client(locations[i], delivery=[demand], service_duration=int(service[i - 1]))
    # The matrices go in whole (the same data as an edge per pair, without the Python loop).
    dist = np.rint(np.minimum(km, 1e6) * 1000).astype(np.int64)
    dur = np.rint(np.minimum(minutes, 1e6) * DECIMINUTES).astype(np.int64)
    np.fill_diagonal(dist, 0)
    np.fill_diagonal(dur, 0)
    data = model.data().replace(distance_matrices=[dist], duration_matrices=[dur])
    with warnings.catch_warnings():  # an infeasible plan is reported through `feasible`
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = solve(data, stop=MaxIterations(iterations), seed=seed, display=False)
    routes = tuple(
        np.array(
            [a.idx + 1 for a in route.schedule() if a.is_client()], dtype=np.int64
        )  # client k is matrix index k + 1
        for route in result.best.routes()
    )
    return routes, bool(result.is_feasible())


def _key(xy, is_station, daily, description, circuity, cfg: Couriers, seed) -> str:
    h = hashlib.sha256()
    for a in (xy, is_station.astype(float), daily):
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    settings = cfg.model_dump_json(exclude=NOT_ROUTING)
    h.update(repr((CACHE_VERSION, description, circuity, settings, seed)).encode())
    return h.hexdigest()[:32]


def _load(cache_dir: Path | None, key: str) -> CountyRoutes | None:
    if cache_dir is None:
        return None
    try:
        with open(cache_dir / f"routes-{key}.pkl", "rb") as f:
            plan = pickle.load(f)  # our own cache file
        return plan if isinstance(plan, CountyRoutes) else None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):  # old or moved classes
        return None


def _store(cache_dir: Path | None, key: str, plan: CountyRoutes) -> None:
    if cache_dir is None:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".routes-{key}.{time.monotonic_ns()}.partial"
    with open(tmp, "wb") as f:
        pickle.dump(plan, f)
    tmp.replace(cache_dir / f"routes-{key}.pkl")


_TRAVEL = ("minutes", "km", "matrix_at", "matrix_side", "stop_ids", "stops_at")


@dataclass(frozen=True)
class RouteIndex:
    """Look-up tables of every county's plan at once, so that all counties load in one pass.

    Per demand point: `stop`, the matrix index of its stop in its county's plan (0: none);
    `routed`, whether a route visits it; `visit_key`, its place in the visiting order of all
    routes (stops in route order, at a stop the point types in order), a small integer for a
    radix sort; `every`, `phase`, its stop's visit frequency. Per visit key: `key_route` (global
    route number, county by county in plan order), `key_stop`, `key_dest` (global stop id),
    `key_ptype`, so that sorted parcels need no more look-ups by point. Per route:
    `route_county`, `planned_vans`. Travel: every county's (n+1, n+1) matrices flattened one
    after another, `minutes`, `km`, with `matrix_at` and `matrix_side` per county; `stop_ids`
    the global stop of each matrix index, county after county (at `stops_at`; the depot's is
    -1)."""

    stop: np.ndarray
    routed: np.ndarray
    visit_key: np.ndarray
    key_route: np.ndarray
    key_stop: np.ndarray
    key_dest: np.ndarray
    key_ptype: np.ndarray
    every: np.ndarray
    phase: np.ndarray
    route_county: np.ndarray
    planned_vans: np.ndarray
    minutes: np.ndarray
    km: np.ndarray
    matrix_at: np.ndarray
    matrix_side: np.ndarray
    stop_ids: np.ndarray
    stops_at: np.ndarray

    @classmethod
    def of(
        cls,
        plans: tuple[CountyRoutes, ...],
        dest: np.ndarray,
        ptype: np.ndarray,
        county: np.ndarray,
        n_stops: int,
        *,
        like: RouteIndex | None = None,
    ) -> RouteIndex:
        """Tables for demand points served at stops `dest` as types `ptype`, in `county`.
        `like`: a table of other days of the same plans, whose travel matrices these share."""
        n_points = len(dest)
        stop = np.zeros(n_points, dtype=np.int64)
        route = np.full(n_points, -1, dtype=np.int64)
        rank = np.full(n_points, -1, dtype=np.int64)
        every = np.ones(n_points, dtype=np.int64)
        phase = np.zeros(n_points, dtype=np.int64)
        routes_before = ranks_before = 0
        for c, plan in enumerate(plans):
            local = np.zeros(n_stops, dtype=np.int64)
            local[plan.stops] = np.arange(1, len(plan.stops) + 1)
            visiting = np.concatenate([*plan.routes, np.empty(0, np.int64)]).astype(np.int64)
            stop_rank = np.full(len(plan.stops) + 1, -1, dtype=np.int64)
            stop_rank[visiting] = np.arange(len(visiting))
            stop_route = np.full(len(plan.stops) + 1, -1, dtype=np.int64)
            stop_route[visiting] = np.repeat(np.arange(len(plan.routes)), [len(r) for r in plan.routes])
            mine = county == c
            m = local[dest[mine]]
            stop[mine] = m
            routed = stop_rank[m] >= 0
            route[mine] = np.where(routed, stop_route[m] + routes_before, -1)
            rank[mine] = np.where(routed, stop_rank[m] + ranks_before, -1)
            every[mine], phase[mine] = plan.every_days[m], plan.phase[m]
            routes_before += len(plan.routes)
            ranks_before += len(visiting)
        types = int(ptype.max(initial=0)) + 1
        key = np.maximum(rank, 0) * types + ptype
        small = np.int16 if key.max(initial=0) < np.iinfo(np.int16).max else np.int64
        by_key = np.full((4, int(key.max(initial=0)) + 1), -1, dtype=np.int64)
        on = rank >= 0  # a stop not due on the plan's day is on no route: its key is no visit
        by_key[:, key[on]] = route[on], stop[on], dest[on], ptype[on]
        return cls(
            stop=stop,
            routed=rank >= 0,
            visit_key=key.astype(small),
            key_route=by_key[0],
            key_stop=by_key[1],
            key_dest=by_key[2].astype(np.int32),
            key_ptype=by_key[3].astype(np.int8),
            every=every,
            phase=phase,
            route_county=np.repeat(np.arange(len(plans)), [len(p.routes) for p in plans]),
            planned_vans=np.concatenate([p.vans for p in plans] + [np.empty(0, np.int64)]).astype(np.int64),
            **(cls._travel(plans) if like is None else {f: getattr(like, f) for f in _TRAVEL}),
        )

    @staticmethod
    def _travel(plans: tuple[CountyRoutes, ...]) -> dict[str, np.ndarray]:
        side = np.array([len(p.stops) + 1 for p in plans], dtype=np.int64)
        return {
            "minutes": np.concatenate([p.minutes.ravel() for p in plans]),
            "km": np.concatenate([p.km.ravel() for p in plans]),
            "matrix_at": np.cumsum(side**2) - side**2,
            "matrix_side": side,
            "stop_ids": np.concatenate([np.r_[-1, p.stops] for p in plans]).astype(np.int64),
            "stops_at": np.cumsum(side) - side,
        }

    def due(self, day: int) -> np.ndarray:
        """Bool per demand point: a van calls at its stop on simulation day `day`."""
        return self.routed & ((day + self.phase) % self.every == 0)


def fleet_destinations(
    points: Points, dest: np.ndarray, ptype: np.ndarray, serves_villages: tuple[bool, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Stop and point type of every demand point for each fleet of a county (arrays of
    (fleets, points)): the network's (`Points.destinations`) for a fleet that calls at village
    stations; for one that does not (`Couriers.serves_villages`, township mode), a village
    station's parcels go to its village's township express point."""
    station = ptype == VILLAGE_STATION
    town_stop = (points.n_villages + points.township).astype(dest.dtype)
    mine = np.where(station, town_stop, dest).astype(dest.dtype)
    mine_type = np.where(station, TOWNSHIP_POINT, ptype).astype(ptype.dtype)
    dests = np.stack([dest if v else mine for v in serves_villages])
    ptypes = np.stack([ptype if v else mine_type for v in serves_villages])
    return dests, ptypes


class DailyRoutes:
    """Every fleet's routes day by day for one set of plans (per fleet, `Model.fleet_of`
    order): `on(day)` gives the plans cut to the day's pattern (`CountyRoutes.on`) and their
    look-up tables per fleet of a county, made on first use for each day of the period and
    kept (their travel matrices shared). `dest`, `ptype`: (fleets of a county, demand points),
    each fleet's stops and point types (`fleet_destinations`)."""

    def __init__(
        self,
        plans: tuple[CountyRoutes, ...],
        dest: np.ndarray,
        ptype: np.ndarray,
        points: Points,
        fleets: int,
    ):
        self.plans, self.dest, self.ptype, self.points, self.fleets = plans, dest, ptype, points, fleets
        self.period = math.lcm(*(p.period for p in plans)) if plans else 1
        self._days: dict[int, tuple[tuple[CountyRoutes, ...], tuple[RouteIndex, ...]]] = {}
        self._like: list[RouteIndex | None] = [None] * fleets

    def on(self, day: int) -> tuple[tuple[CountyRoutes, ...], tuple[RouteIndex, ...]]:
        """(plans of the day, their look-up tables per fleet of a county) on simulation `day`."""
        r = day % self.period
        if r not in self._days:
            plans = tuple(p.on(r) for p in self.plans)
            g, n_stops = self.fleets, len(self.points.stop_xy)
            indexes = []
            for k in range(g):
                index = RouteIndex.of(
                    plans[k::g], self.dest[k], self.ptype[k], self.points.county, n_stops, like=self._like[k]
                )
                if self._like[k] is None:
                    self._like[k] = index
                indexes.append(index)
            self._days[r] = plans, tuple(indexes)
        return self._days[r]


class RoutePlanner:
    """Route plans of every county's fleets (`Couriers.fleets`: one pooled fleet, or one per
    carrier) for the stations open, planned on first use for each distinct network (open
    village stations and community stations per seat) and plan year, and kept.

    Stops are the open village stations (for the fleets that call there, `fleet_destinations`)
    and every township seat; each stop is planned for a busy day's parcels of the plan year
    (`busy_daily(year)` per demand point) and each village station's shelf of that year
    (`shelf(year)`; a carrier's own fleet its share of it, the village carrier in township mode
    all of it). A fleet whose stops are a subset of those PyVRP last planned for it in the run
    and year (`base`: stations closed, none opened) gets that plan repaired (`without_stops`),
    not a new search. What a run's repairs start from is
    the run's own (held by its `StationState`), so runs sharing a planner never see each other's
    history."""

    def __init__(
        self,
        points: Points,
        busy_daily: Callable[[int], np.ndarray],
        shelf: Callable[[int], np.ndarray],
        distances: DistanceModel,
        circuity: np.ndarray,
        cfg: Couriers,
        *,
        seed: int,
        cache_dir: Path | None,
        first_year: int,
    ):
        self.points, self.busy_daily, self.shelf = points, busy_daily, shelf
        self.distances, self.circuity, self.cfg = distances, circuity, cfg
        self.seed, self.cache_dir, self.first_year = seed, cache_dir, first_year
        self.fleets = cfg.fleets()
        self.serves_villages = cfg.serves_villages()
        self._fleet_cfg = [cfg.model_copy(update={"vans_per_county": vans}) for _, vans in self.fleets]
        self.planning_s = 0.0
        self.on_county: Callable[[int, int], None] | None = None  # (counties planned, of), for progress
        # Per network, year and bases: the plans, their days, and the bases after them.
        self._plans: dict[
            tuple, tuple[tuple[tuple[CountyRoutes, ...], DailyRoutes], dict[int, CountyRoutes]]
        ] = {}
        self._searched: dict[bytes, CountyRoutes] = {}  # PyVRP plans by county, stops and parcels

    def plans(
        self,
        dest: np.ndarray,
        ptype: np.ndarray,
        community_open: np.ndarray,
        base: dict[int, CountyRoutes] | None = None,
        *,
        year: int | None = None,
    ) -> tuple[tuple[CountyRoutes, ...], DailyRoutes]:
        """Plans per fleet (county by county, each county's fleets in `Couriers.fleets` order)
        and their routes day by day (`DailyRoutes`), for demand points served at stops `dest` as
        point types `ptype` (`Points.destinations`; each fleet's own by `fleet_destinations`),
        with `community_open` stations per seat, in plan `year` (default: the first). `base`
        (updated): per fleet, the plan PyVRP last made in this run and year."""
        base = {} if base is None else base
        year = self.first_year if year is None else year
        n = len(self.points.county_names) * len(self.fleets)
        network = dest.tobytes() + ptype.tobytes() + community_open.astype(np.int64).tobytes()
        key = (network, year, tuple(id(base.get(f)) for f in range(n)))
        if key not in self._plans:
            start = time.perf_counter()
            after = dict(base)
            dests, ptypes = fleet_destinations(self.points, dest, ptype, self.serves_villages)
            plans = self._plan(dests, community_open, after, year)
            daily = DailyRoutes(plans, dests, ptypes, self.points, len(self.fleets))
            self._plans[key] = (plans, daily), after
            self.planning_s += time.perf_counter() - start
        found, after = self._plans[key]
        base.update(after)
        return found

    def _plan(
        self, dests: np.ndarray, community_open: np.ndarray, base: dict[int, CountyRoutes], year: int
    ) -> tuple[CountyRoutes, ...]:
        """`dests`: each fleet's stop per demand point (`fleet_destinations`)."""
        p, n_stops = self.points, len(self.points.stop_xy)
        per_station = np.where(p.community > 0, community_open[p.township] / np.maximum(p.community, 1), 1.0)
        weights = self.busy_daily(year) * per_station
        daily, active = [], []
        for dest in dests:  # per fleet of a county: its stops and their parcels
            daily.append(np.bincount(dest, weights=weights, minlength=n_stops))
            on = np.zeros(n_stops, dtype=bool)
            on[dest] = True
            on[p.n_villages :] = True  # township points are always served
            active.append(on)
        shelves = self.shelf(year)
        plans = []
        for c in range(len(p.county_names)):
            if self.on_county is not None:
                self.on_county(c, len(p.county_names))
            for k, (share, vans) in enumerate(self.fleets):
                stops = np.flatnonzero(active[k] & (p.stop_county == c))
                is_station = stops < p.n_villages
                # A carrier's own fleet plans for its share of the parcels and of each shelf (in
                # township mode the village carrier's is the stations' only fleet: all of it).
                f, cfg = c * len(self.fleets) + k, self._fleet_cfg[k]
                shelf_share = 1.0 if self.cfg.mode == "township" else share
                parcels, shelf = daily[k][stops] * share, shelves[stops[is_station]] * shelf_share
                last = base.get(f)
                if last is not None and len(stops) < len(last.stops) and np.isin(stops, last.stops).all():
                    plans.append(without_stops(last, stops, parcels, cfg))
                    continue
                key = (
                    np.array([c, vans], dtype=np.int64).tobytes()
                    + stops.tobytes()
                    + parcels.tobytes()
                    + shelf.tobytes()
                )
                if key not in self._searched:
                    self._searched[key] = plan_county(
                        p.depot_xy[c],
                        stops,
                        p.stop_xy[stops],
                        is_station,
                        parcels,
                        self.distances,
                        float(self.circuity[c]),
                        cfg,
                        shelf=shelf,
                        seed=self.seed,
                        cache_dir=self.cache_dir,
                    )
                base[f] = self._searched[key]
                plans.append(base[f])
        if self.on_county is not None:
            self.on_county(len(p.county_names), len(p.county_names))
        return tuple(plans)
