"""The fast engine: SimPy processes for things with behaviour, parcels as numpy batches.

Processes: the order clock (one event a day: Poisson orders for every point, trunk delays and
waves), one dispatcher per county (daily at the van departure: sorting, loading, launching vans)
and one van per route and day (one event per stop). Parcels travel between them as arrays of
per-parcel times, so the event count grows with van stops, not with parcels.

A van's stop times, unloads, station capacity checks and pickups are computed when it leaves:
nothing else can change them while it drives (each stop is on one route; pickups are sampled on
arrival), so this equals unloading at each stop. The van process then drives the legs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import simpy

from sim.clock import lognormal, next_wave
from sim.config import Couriers
from sim.courier import CountyRoutes, plan_county
from sim.demand import day_factors
from sim.kpi import Kpi
from sim.network import Network
from sim.points import VILLAGE_STATION, Points, build_points
from sim.scenario import Scenario
from sim.station import PickupModel
from sim.warehouse import Sorter

#: Random streams per purpose (common random numbers: two plans with one seed see one demand).
STREAM_DEMAND, STREAM_TRUNK, STREAM_SORT, STREAM_VAN, STREAM_PICKUP = 11, 12, 13, 14, 15
FIELDS = ("order", "point", "dest", "ptype", "hub")


@dataclass(frozen=True)
class Result:
    """A finished run: its KPIs, the route plans used by year, and how long planning took."""

    kpi: Kpi
    plans: dict[int, tuple[CountyRoutes, ...]]
    planning_s: float
    simulation_s: float
    points: Points


def _empty() -> dict[str, np.ndarray]:
    return {
        "order": np.empty(0),
        "point": np.empty(0, np.int64),
        "dest": np.empty(0, np.int64),
        "ptype": np.empty(0, np.int8),
        "hub": np.empty(0),
    }


def _take(batch: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in batch.items()}


def _join(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([a[k], b[k]]) for k in a}


def surge(planned: np.ndarray, waiting: np.ndarray, cfg: Couriers) -> np.ndarray:
    """Vans per route today: the planned ones, plus extra vans from the county's spare fleet
    (`vans_per_county` in all) for routes with more parcels waiting than their vans hold, in
    route order. This is how couriers meet the Double 11 peak."""
    needed = np.maximum(planned, -(-waiting // cfg.van_capacity))
    extra = needed - planned
    spare = max(cfg.vans_per_county - int(planned.sum()), 0)
    granted = np.minimum(extra, np.maximum(spare - (np.cumsum(extra) - extra), 0))
    return planned + granted


class Engine:
    """One run of the fast engine. Call `run()` once."""

    def __init__(self, network: Network, scenario: Scenario, seed: int, *, cache_dir=None, progress=None):
        self.net, self.sc, self.seed = network, scenario, seed
        self.progress = progress
        self.cache_dir = cache_dir
        sim = scenario.simulation
        horizon_days = (scenario.horizon.end - scenario.horizon.start).days
        self.days = min(sim.days or horizon_days, horizon_days)
        self.warmup = sim.warmup_days
        self.first_date = scenario.horizon.start - timedelta(days=self.warmup)
        self.start_h = 24.0 * self.warmup
        self.end_h = 24.0 * (self.warmup + self.days)
        self.points = build_points(network)
        p = self.points
        self.kpi = Kpi(len(p.county_names), p.n_villages, self.days, self.start_h, self.end_h)
        rate_village = p.households * scenario.demand.parcels_per_household_day
        rate_locker = p.community * scenario.pickup.community_parcels_per_day
        self.base_rate = np.where(p.is_village, rate_village, rate_locker)
        self.factors = day_factors(scenario.demand, self.first_date, self.warmup + self.days)
        rngs = [
            np.random.default_rng([seed, s])
            for s in (STREAM_DEMAND, STREAM_TRUNK, STREAM_SORT, STREAM_VAN, STREAM_PICKUP)
        ]
        self.rng_demand, self.rng_trunk, self.rng_sort, self.rng_van, self.rng_pickup = rngs
        self.sorters = [Sorter(scenario.warehouses, self.rng_sort) for _ in p.county_names]
        # Plan for a busy day (90th percentile of the season), not an average one.
        self.busy_daily = self.base_rate * float(np.percentile(self.factors, 90))
        self.pickups = PickupModel(scenario.pickup, p, self.busy_daily)
        self.inbound = [_empty() for _ in p.county_names]
        self.queue = [{**_empty(), "sorted": np.empty(0)} for _ in p.county_names]
        self.pool = [(np.empty(0, np.int64), np.empty(0)) for _ in p.county_names]  # bay, release
        self.station_today = np.zeros(len(p.stop_xy), dtype=np.int64)
        self.plans: dict[int, tuple[CountyRoutes, ...]] = {}
        self.planning_s = 0.0

    # ----------------------------------------------------------------------------- planning
    def _year(self, day: int) -> int:
        """The build year in force on simulation day `day` (warm-up days use the first year's
        network, so the run starts from the network as built)."""
        return max((self.first_date + timedelta(days=day)).year, self.sc.horizon.start.year)

    def _sites(self, year: int) -> np.ndarray:
        return self.net.plan.sites(year)

    def routes(self, year: int) -> tuple[CountyRoutes, ...]:
        """Route plans for the stations of `year` (planned once per distinct station set)."""
        if year in self.plans:
            return self.plans[year]
        start = time.perf_counter()
        p, cfg = self.points, self.sc.couriers
        dest, _ = p.destinations(self._sites(year))
        daily = np.bincount(dest, weights=self.busy_daily, minlength=len(p.stop_xy))
        active = np.zeros(len(p.stop_xy), dtype=bool)
        active[np.unique(dest)] = True
        active[p.n_villages :] = True  # township points are always served
        circuity = self.net.region.counties["circuity"].to_numpy(dtype=float)
        plans = []
        for c in range(len(p.county_names)):
            stops = np.flatnonzero(active & (p.stop_county == c))
            plans.append(
                plan_county(
                    p.depot_xy[c],
                    stops,
                    p.stop_xy[stops],
                    stops < p.n_villages,
                    daily[stops],
                    self.net.distances,
                    float(circuity[c]),
                    cfg,
                    shelf=self.pickups.shelf[stops[stops < p.n_villages]],
                    seed=self.seed,
                    cache_dir=self.cache_dir,
                )
            )
        self.plans[year] = tuple(plans)
        self.planning_s += time.perf_counter() - start
        return self.plans[year]

    # ---------------------------------------------------------------------------- processes
    def plan_all_years(self) -> None:
        """Route plans for every build year of the run, made before the clock starts."""
        for year in sorted({self._year(d) for d in range(self.warmup + self.days)}):
            self.routes(year)

    def result(self, started: float) -> Result:
        """The run's result; `started` is the perf_counter value when the clock started."""
        return Result(self.kpi, self.plans, self.planning_s, time.perf_counter() - started, self.points)

    def run(self) -> Result:
        self.plan_all_years()
        start = time.perf_counter()
        env = self.env = simpy.Environment()
        env.process(self._orders(env))
        for c in range(len(self.points.county_names)):
            env.process(self._dispatch(env, c))
        env.run(until=self.end_h)
        self._final_tally()
        return self.result(start)

    def _orders(self, env: simpy.Environment):
        p, dcfg, tcfg = self.points, self.sc.demand, self.sc.trunk
        for day in range(self.warmup + self.days):
            year = self._year(day)
            dest, ptype = p.destinations(self._sites(year))
            counts = self.rng_demand.poisson(self.base_rate * self.factors[day])
            point = np.repeat(np.arange(p.n_points), counts)
            order = 24.0 * day + self.rng_demand.uniform(*dcfg.order_hours, size=len(point))
            hub = next_wave(
                order + lognormal(tcfg.delay_mean_h, tcfg.delay_cv, len(point), self.rng_trunk), tcfg.waves_h
            )
            county = p.county[point]
            counted = order >= self.start_h
            np.add.at(self.kpi.ordered, self.kpi.group(county[counted], ptype[point][counted]), 1)
            hub_day = np.floor(hub / 24.0).astype(np.int64) - self.warmup
            inside = (hub_day >= 0) & (hub_day < self.days)
            np.add.at(self.kpi.warehouse_orders, (county[inside], hub_day[inside]), 1)
            batch = {"order": order, "point": point, "dest": dest[point], "ptype": ptype[point], "hub": hub}
            by_county = np.argsort(county, kind="stable")
            bounds = np.searchsorted(county[by_county], np.arange(len(p.county_names) + 1))
            for c in range(len(p.county_names)):
                part = by_county[bounds[c] : bounds[c + 1]]
                self.inbound[c] = _join(self.inbound[c], _take(batch, part))
            self._count_station_day(day)
            if self.progress is not None:
                self.progress.update()
            yield env.timeout(24.0)

    def _count_station_day(self, day: int) -> None:
        """Close yesterday's tally of parcels per village station."""
        if day == 0:
            return
        stations = self._sites(self._year(day - 1))
        if day - 1 >= self.warmup and len(stations):
            counts = np.minimum(self.station_today[stations], len(self.kpi.station_day_counts) - 1)
            np.add.at(self.kpi.station_day_counts, counts, 1)
        self.station_today[:] = 0

    def _dispatch(self, env: simpy.Environment, c: int):
        cfg = self.sc.couriers
        yield env.timeout(cfg.departure_h)
        day = 0
        while True:
            depart = env.now
            cutoff = depart - self.sc.warehouses.cutoff_h
            inbound = self.inbound[c]
            arrived = inbound["hub"] <= cutoff
            batch = _take(inbound, arrived)
            self.inbound[c] = _take(inbound, ~arrived)
            order = np.argsort(batch["hub"], kind="stable")
            batch = _take(batch, order)
            batch["sorted"] = self.sorters[c].sort(batch["hub"])
            self.queue[c] = _join(self.queue[c], batch)
            for van in self._load(c, day, depart, cutoff):
                env.process(van)
            waiting = len(self.queue[c]["order"]) + int(np.count_nonzero(self.inbound[c]["hub"] <= depart))
            if depart >= self.start_h:
                self.kpi.backlog[c].append(waiting)
            day += 1
            yield env.timeout(24.0)

    def _load(self, c: int, day: int, depart: float, cutoff: float) -> list:
        """Load the county's vans first-in-first-out up to capacity; return their processes."""
        plan = self.plans[self._year(day)][c]
        q = self.queue[c]
        if not len(plan.routes) or not len(q["order"]):
            return []
        cfg = self.sc.couriers
        n_stops = len(self.points.stop_xy)
        local = np.full(n_stops, -1, dtype=np.int64)
        local[plan.stops] = np.arange(1, len(plan.stops) + 1)
        route_of = np.full(len(plan.stops) + 1, -1, dtype=np.int64)
        position = np.zeros(len(plan.stops) + 1, dtype=np.int64)
        for r, route in enumerate(plan.routes):
            route_of[route] = r
            position[route] = np.arange(len(route))
        m = local[q["dest"]]
        due = plan.due(day)
        ok = (q["sorted"] <= cutoff) & (m > 0)
        ok[ok] &= due[m[ok]] & (route_of[m[ok]] >= 0)
        idx = np.flatnonzero(ok)
        r_of = route_of[m[idx]]
        idx = idx[np.argsort(r_of, kind="stable")]  # queue is in sorted-time order: FIFO per route
        r_of = route_of[m[idx]]
        starts = np.searchsorted(r_of, r_of, side="left")
        vans_today = surge(plan.vans, np.bincount(r_of, minlength=len(plan.routes)), cfg)
        loaded = idx[(np.arange(len(idx)) - starts) < vans_today[r_of] * cfg.van_capacity]
        if not len(loaded):
            return []
        keep = np.ones(len(q["order"]), dtype=bool)
        keep[loaded] = False
        parcels = _take(q, loaded)
        self.queue[c] = _take(q, keep)
        refused, vans = self._deliver(
            c, plan, parcels, m[loaded], route_of[m[loaded]], position, depart, vans_today
        )
        if len(refused["order"]):
            merged = _join(self.queue[c], refused)
            self.queue[c] = _take(merged, np.argsort(merged["sorted"], kind="stable"))
        return vans

    def _deliver(self, c, plan: CountyRoutes, parcels, m, r_of, position, depart, vans_today):
        """Drive every loaded route (stop times with noise), check capacity at each stop, sample
        pickups and record KPIs. Returns the refused parcels (back to the warehouse) and the van
        processes."""
        cfg, kpi = self.sc.couriers, self.kpi
        vans = []
        order = np.lexsort((position[m], r_of))
        parcels, m, r_of = _take(parcels, order), m[order], r_of[order]
        key = r_of * (len(position) + 1) + position[m]  # sorts as the visiting order
        _, first, n_at = np.unique(key, return_index=True, return_counts=True)
        stop_m, stop_r = m[first], r_of[first]
        # Travel legs: depot -> first stop, stop -> stop, last stop -> depot, per route.
        new_route = np.r_[True, stop_r[1:] != stop_r[:-1]]
        prev = np.where(new_route, 0, np.r_[0, stop_m[:-1]])
        noise = lognormal(1.0, cfg.travel_noise_cv, len(stop_m), self.rng_van)
        leg_min = plan.minutes[prev, stop_m] * noise
        leg_km = plan.km[prev, stop_m]
        service = cfg.service_min_per_stop + cfg.service_min_per_parcel * n_at
        # Arrival at a stop = departure + earlier legs and services of the same route.
        route_start = np.flatnonzero(new_route)
        seg = np.cumsum(new_route) - 1
        elapsed = np.cumsum(leg_min + service) - service
        elapsed -= np.r_[0, np.cumsum(leg_min + service)][route_start][seg]
        arrive_stop = depart + elapsed / 60.0
        last = np.r_[route_start[1:] - 1, len(stop_m) - 1]
        home_min = plan.minutes[stop_m[last], 0] * lognormal(
            1.0, cfg.travel_noise_cv, len(last), self.rng_van
        )
        route_min = elapsed[last] + service[last] + home_min
        route_km = np.add.reduceat(leg_km, route_start) + plan.km[stop_m[last], 0]
        loads = np.add.reduceat(n_at, route_start)
        vans_on = vans_today[stop_r[route_start]]
        if depart >= self.start_h:
            v = kpi.van
            v["routes"] += int(vans_on.sum())
            v["km"] += float((route_km * vans_on).sum())
            v["hours"] += float((route_min * vans_on).sum() / 60.0)
            v["loaded"] += int(loads.sum())
            v["capacity"] += int(vans_on.sum()) * cfg.van_capacity
            kpi.van_by_county[c] += (
                (route_km * vans_on).sum(),
                (route_min * vans_on).sum() / 60.0,
                vans_on.sum(),
            )
        for r in range(len(last)):
            vans.append(self._van(arrive_stop[route_start[r] : last[r] + 1], depart + route_min[r] / 60.0))

        # Unload: each parcel's stop arrival; refuse beyond the point's free capacity.
        arrive = arrive_stop[np.repeat(np.arange(len(stop_m)), n_at)]
        dest = parcels["dest"]
        # Capacity is per bay: a township seat holds the express point and the lockers apart.
        bay = dest * 3 + parcels["ptype"]
        pool_bay, pool_release = self.pool[c]
        live = pool_release > depart
        pool_bay, pool_release = pool_bay[live], pool_release[live]
        bays, bay_first, bay_of = np.unique(bay, return_index=True, return_inverse=True)
        cap = self.pickups.capacity(dest[bay_first], parcels["ptype"][bay_first])
        # Stock in each bay when the van arrives: parcels there not yet picked up or returned.
        slot = np.searchsorted(bays, pool_bay)
        there = (slot < len(bays)) & (bays[np.minimum(slot, len(bays) - 1)] == pool_bay)
        bay_arrival = arrive[bay_first]
        still = pool_release[there] > bay_arrival[slot[there]]
        stock = np.bincount(slot[there][still], minlength=len(bays))
        order_in_bay = np.argsort(bay_of, kind="stable")  # keeps first-in-first-out within a bay
        rank = np.empty(len(bay_of), dtype=np.int64)
        rank[order_in_bay] = np.arange(len(bay_of)) - np.searchsorted(
            bay_of[order_in_bay], bay_of[order_in_bay]
        )
        accept = rank < (cap - stock)[bay_of]
        refused = _take(parcels, ~accept)
        if len(refused["order"]):
            counted = refused["order"] >= self.start_h
            np.add.at(
                kpi.refused,
                kpi.group(self.points.county[refused["point"][counted]], refused["ptype"][counted]),
                1,
            )
        got = _take(parcels, accept)
        t = arrive[accept]
        pick = self.pickups.sample(t, got["point"], got["ptype"], self.rng_pickup)
        self.pool[c] = (
            np.concatenate([pool_bay, bay[accept]]),
            np.concatenate([pool_release, pick.release]),
        )
        self._record(got, t, pick)
        return refused, vans

    def _van(self, arrivals: np.ndarray, back: float):
        """A van driving its route: one event per stop, then back to the warehouse."""
        env = self.env
        for t in arrivals:
            yield env.timeout(max(0.0, t - env.now))
            if t >= self.start_h:
                self.kpi.van["stops"] += 1
        yield env.timeout(max(0.0, back - env.now))

    def _record(self, got, arrive, pick) -> None:
        kpi, p = self.kpi, self.points
        end = self.end_h
        counted = got["order"] >= self.start_h
        county = p.county[got["point"]]
        group = kpi.group(county, got["ptype"])
        at_point = counted & (arrive <= end)
        np.add.at(kpi.delivered, group[at_point], 1)
        kpi.available.add(group[at_point], arrive[at_point] - got["order"][at_point])
        in_van = counted & (arrive > end)
        np.add.at(kpi.state["in_van"], group[in_van], 1)
        done = at_point & (pick.release <= end)
        picked = done & ~pick.returned
        returned = done & pick.returned
        np.add.at(kpi.state["returned"], group[returned], 1)
        np.add.at(kpi.state["waiting_at_point"], group[at_point & ~done], 1)
        np.add.at(kpi.state["picked_up"], group[picked], 1)
        hand = (
            pick.release[picked] + pick.km[picked] / self.sc.pickup.villager_speed_kmh - got["order"][picked]
        )
        kpi.in_hand.add(group[picked], hand)
        np.add.at(kpi.villager_km, group[picked], 2.0 * pick.km[picked])
        village = picked & (got["point"] < p.n_villages)
        np.add.at(kpi.villager_km_no_station, group[village], 2.0 * p.km_to_township[got["point"][village]])
        v = got["point"][village]
        np.add.at(kpi.village_hand_sum, v, hand[village[picked]])
        np.add.at(kpi.village_hand_count, v, 1)
        # Stock at points, over every parcel (warm-up ones too), for Little's law.
        within = (arrive >= self.start_h) & (arrive <= end)
        np.add.at(kpi.point_arrivals_per_h, np.floor(arrive[arrive <= end]).astype(np.int64), 1)
        gone = (arrive <= end) & (pick.release <= end)
        np.add.at(kpi.point_releases_per_h, np.floor(pick.release[gone]).astype(np.int64), 1)
        kpi.sojourn_h += float((pick.release[within] - arrive[within]).sum())
        kpi.sojourn_n += int(within.sum())
        station = got["ptype"] == VILLAGE_STATION
        np.add.at(self.station_today, got["dest"][station], 1)

    def _final_tally(self) -> None:
        """Parcels still in the trunk or at the warehouse when the horizon ends."""
        kpi, p = self.kpi, self.points
        for c in range(len(p.county_names)):
            for batch, trunk in ((self.inbound[c], True), (self.queue[c], False)):
                counted = batch["order"] >= self.start_h
                group = kpi.group(p.county[batch["point"][counted]], batch["ptype"][counted])
                if trunk:
                    arrived = batch["hub"][counted] <= self.end_h
                    np.add.at(kpi.state["at_warehouse"], group[arrived], 1)
                    np.add.at(kpi.state["in_trunk"], group[~arrived], 1)
                else:
                    np.add.at(kpi.state["at_warehouse"], group, 1)
