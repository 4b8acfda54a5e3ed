"""Courier routes: planned with PyVRP per county for each station network in force.

A county's vans start and end at its warehouse (the county seat). Routes cover every active stop;
on a given day a van visits only the stops that are due (visit frequency) and have parcels,
keeping the planned order. `RoutePlanner` plans once per distinct set of open stations (kept in
memory) and plans are cached on disk per (stops, demand, travel model, settings).
"""

from __future__ import annotations

import hashlib
import pickle
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyvrp import Model
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxIterations

from geo.distance import DistanceModel
from sim.config import Couriers
from sim.points import Points

#: PyVRP works in integers: metres and tenths of a minute.
DECIMINUTES = 10
CACHE_VERSION = 4


@dataclass(frozen=True)
class CountyRoutes:
    """One county's plan. `stops` (global stop ids, matrix order after the depot at index 0);
    `km`, `minutes`: (n+1, n+1) travel between depot and stops; `routes`: each route as matrix
    indices (1..n) in visit order; `vans` per route (a route whose planned load exceeds one van
    is driven by several vans together); `every_days`, `phase` per stop (matrix order, depot
    first)."""

    stops: np.ndarray
    km: np.ndarray
    minutes: np.ndarray
    routes: tuple[np.ndarray, ...]
    vans: np.ndarray
    every_days: np.ndarray
    phase: np.ndarray
    feasible: bool
    planning_s: float

    def due(self, day: int) -> np.ndarray:
        """Bool per matrix index: the stop is visited on simulation day `day`."""
        return (day + self.phase) % self.every_days == 0


def visit_every(
    minutes_from_depot: np.ndarray,
    is_station: np.ndarray,
    daily: np.ndarray,
    shelf: np.ndarray,
    cfg: Couriers,
) -> np.ndarray:
    """Days between visits per stop: the first frequency rule whose `max_minutes` the stop is
    within (village stations), but often enough that a visit's parcels fill at most 80% of the
    station's `shelf` (one value per station, in stop order); township points daily."""
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
    return np.where(is_station, np.minimum(every, fits_shelf), 1)


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
    """Routes over `stops` (global ids at `stop_xy`) from the depot. `daily_parcels` is the
    parcels per day to plan for at each stop: a route's load is planned as parcels per visit;
    a stop larger than a van counts as a full van in the search and gets vans enough after it."""
    xy = np.vstack([depot_xy[None, :], stop_xy])
    key = _key(xy, is_station, daily_parcels, distances.description, (circuity, tuple(shelf)), cfg, seed)
    cached = _load(cache_dir, key)
    if cached is not None:
        return cached
    start = time.perf_counter()
    travel = distances.matrix(xy, xy, origin_circuity=np.full(len(xy), circuity))
    km, minutes = travel.km, travel.minutes
    every = np.concatenate([[1], visit_every(minutes[0, 1:], is_station, daily_parcels, shelf, cfg)])
    phase = np.arange(len(xy)) % every
    per_visit = np.ceil(daily_parcels * every[1:]).astype(np.int64)
    routes, feasible = _solve(km, minutes, per_visit, cfg, seed) if len(stops) else ((), True)
    load = np.array([per_visit[r - 1].sum() for r in routes], dtype=np.int64)
    plan = CountyRoutes(
        stops=np.asarray(stops, dtype=np.int64),
        km=km,
        minutes=minutes,
        routes=routes,
        vans=np.maximum(1, -(-load // cfg.van_capacity)),
        every_days=every,
        phase=phase,
        feasible=feasible,
        planning_s=time.perf_counter() - start,
    )
    _store(cache_dir, key, plan)
    return plan


def without_stops(
    plan: CountyRoutes,
    stops: np.ndarray,
    is_station: np.ndarray,
    daily_parcels: np.ndarray,
    cfg: Couriers,
    shelf: np.ndarray,
) -> CountyRoutes:
    """`plan` repaired for a subset `stops` of its stops (stations closed): the routes keep
    their order without the missing stops, each stop keeps its visit phase, visit frequencies
    and vans follow the new `daily_parcels` (the township points take over the closed
    stations' parcels). No search: closing stations one month at a time would otherwise
    re-plan a county with PyVRP each time."""
    start = time.perf_counter()
    keep = np.concatenate([[0], 1 + np.flatnonzero(np.isin(plan.stops, stops))])  # matrix indices
    renumber = np.full(len(plan.stops) + 1, -1, dtype=np.int64)
    renumber[keep] = np.arange(len(keep))
    km, minutes = plan.km[np.ix_(keep, keep)], plan.minutes[np.ix_(keep, keep)]
    every = np.concatenate([[1], visit_every(minutes[0, 1:], is_station, daily_parcels, shelf, cfg)])
    per_visit = np.ceil(daily_parcels * every[1:]).astype(np.int64)
    routes = tuple(r for r in (renumber[r][renumber[r] > 0] for r in plan.routes) if len(r))
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
    )


def _solve(
    km: np.ndarray, minutes: np.ndarray, per_visit: np.ndarray, cfg: Couriers, seed: int
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
    dist = np.rint(np.minimum(km, 1e6) * 1000).astype(np.int64)
    dur = np.rint(np.minimum(minutes, 1e6) * DECIMINUTES).astype(np.int64)
    for i, a in enumerate(locations):
        for j, b in enumerate(locations):
            model.add_edge(a, b, distance=int(dist[i, j]), duration=int(dur[i, j]))
    with warnings.catch_warnings():  # an infeasible plan is reported through `feasible`
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = model.solve(stop=MaxIterations(cfg.route_search_iterations), seed=seed, display=False)
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
    settings = cfg.model_dump_json(exclude={"mode", "carriers"})  # a fleet's own settings
    h.update(repr((CACHE_VERSION, description, circuity, settings, seed)).encode())
    return h.hexdigest()[:32]


def _load(cache_dir: Path | None, key: str) -> CountyRoutes | None:
    if cache_dir is None:
        return None
    try:
        with open(cache_dir / f"routes-{key}.pkl", "rb") as f:
            plan = pickle.load(f)  # our own cache file
        return plan if isinstance(plan, CountyRoutes) else None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return None


def _store(cache_dir: Path | None, key: str, plan: CountyRoutes) -> None:
    if cache_dir is None:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".routes-{key}.{time.monotonic_ns()}.partial"
    with open(tmp, "wb") as f:
        pickle.dump(plan, f)
    tmp.replace(cache_dir / f"routes-{key}.pkl")


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
    ) -> RouteIndex:
        """Tables for demand points served at stops `dest` as types `ptype`, in `county`."""
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
        side = np.array([len(p.stops) + 1 for p in plans], dtype=np.int64)
        by_key = np.full((4, int(key.max(initial=0)) + 1), -1, dtype=np.int64)
        by_key[:, key] = route, stop, dest, ptype
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
            minutes=np.concatenate([p.minutes.ravel() for p in plans]),
            km=np.concatenate([p.km.ravel() for p in plans]),
            matrix_at=np.cumsum(side**2) - side**2,
            matrix_side=side,
            stop_ids=np.concatenate([np.r_[-1, p.stops] for p in plans]).astype(np.int64),
            stops_at=np.cumsum(side) - side,
        )

    def due(self, day: int) -> np.ndarray:
        """Bool per demand point: a van calls at its stop on simulation day `day`."""
        return self.routed & ((day + self.phase) % self.every == 0)


class RoutePlanner:
    """Route plans of every county's fleets (`Couriers.fleets`: one pooled fleet, or one per
    carrier) for the stations open, planned on first use for each distinct network (open
    village stations and community stations per seat) and kept.

    Stops are the open village stations and every township seat; each stop is planned for a
    busy day's parcels (`busy_daily` per demand point). A county whose stops are a subset of
    those PyVRP last planned for it in the run (`base`: stations closed, none opened) gets that
    plan repaired (`without_stops`), not a new search. What a run's repairs start from is the
    run's own (held by its `StationState`), so runs sharing a planner never see each other's
    history."""

    def __init__(
        self,
        points: Points,
        busy_daily: np.ndarray,
        shelf: np.ndarray,
        distances: DistanceModel,
        circuity: np.ndarray,
        cfg: Couriers,
        *,
        seed: int,
        cache_dir: Path | None,
    ):
        self.points, self.busy_daily, self.shelf = points, busy_daily, shelf
        self.distances, self.circuity, self.cfg = distances, circuity, cfg
        self.seed, self.cache_dir = seed, cache_dir
        self.fleets = cfg.fleets()
        self._fleet_cfg = [cfg.model_copy(update={"vans_per_county": vans}) for _, vans in self.fleets]
        self.planning_s = 0.0
        self.on_county: Callable[[int, int], None] | None = None  # (counties planned, of), for progress
        # Per network and bases: the plans, their look-up tables, and the bases after them.
        self._plans: dict[
            tuple, tuple[tuple[tuple[CountyRoutes, ...], tuple[RouteIndex, ...]], dict[int, CountyRoutes]]
        ] = {}
        self._searched: dict[bytes, CountyRoutes] = {}  # PyVRP plans by county, stops and parcels

    def plans(
        self,
        dest: np.ndarray,
        ptype: np.ndarray,
        community_open: np.ndarray,
        base: dict[int, CountyRoutes] | None = None,
    ) -> tuple[tuple[CountyRoutes, ...], tuple[RouteIndex, ...]]:
        """Plans per fleet (county by county, each county's fleets in `Couriers.fleets` order)
        and their look-up tables per fleet of a county (one table holds that fleet's plans of
        every county), for demand points served at stops `dest` as point types `ptype`
        (`Points.destinations`), with `community_open` stations per seat. `base` (updated): per
        fleet, the plan PyVRP last made in this run."""
        base = {} if base is None else base
        n = len(self.points.county_names) * len(self.fleets)
        network = dest.tobytes() + ptype.tobytes() + community_open.astype(np.int64).tobytes()
        key = (network, tuple(id(base.get(f)) for f in range(n)))
        if key not in self._plans:
            start = time.perf_counter()
            after = dict(base)
            plans = self._plan(dest, community_open, after)
            g, n_stops = len(self.fleets), len(self.points.stop_xy)
            indexes = tuple(
                RouteIndex.of(plans[k::g], dest, ptype, self.points.county, n_stops) for k in range(g)
            )
            self._plans[key] = (plans, indexes), after
            self.planning_s += time.perf_counter() - start
        found, after = self._plans[key]
        base.update(after)
        return found

    def _plan(
        self, dest: np.ndarray, community_open: np.ndarray, base: dict[int, CountyRoutes]
    ) -> tuple[CountyRoutes, ...]:
        p, n_stops = self.points, len(self.points.stop_xy)
        per_station = np.where(p.community > 0, community_open[p.township] / np.maximum(p.community, 1), 1.0)
        daily = np.bincount(dest, weights=self.busy_daily * per_station, minlength=n_stops)
        active = np.zeros(n_stops, dtype=bool)
        active[dest] = True
        active[p.n_villages :] = True  # township points are always served
        plans = []
        for c in range(len(p.county_names)):
            if self.on_county is not None:
                self.on_county(c, len(p.county_names))
            stops = np.flatnonzero(active & (p.stop_county == c))
            is_station = stops < p.n_villages
            for k, (share, vans) in enumerate(self.fleets):
                # A carrier's own fleet plans for its share of the parcels and of each shelf.
                f, cfg = c * len(self.fleets) + k, self._fleet_cfg[k]
                parcels, shelf = daily[stops] * share, self.shelf[stops[is_station]] * share
                last = base.get(f)
                if last is not None and len(stops) < len(last.stops) and np.isin(stops, last.stops).all():
                    plans.append(without_stops(last, stops, is_station, parcels, cfg, shelf))
                    continue
                key = np.array([c, vans], dtype=np.int64).tobytes() + stops.tobytes() + parcels.tobytes()
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
