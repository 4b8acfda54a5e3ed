"""The reference model: one SimPy process per parcel, the same rules as the fast engine.

It is the yardstick for `sim.engine`: tests check that both give the same lead-time
distributions on small scenarios, and the benchmark reports the speed ratio. It shares the
engine's set-up (delivery points, route plans, pickup model) but none of its parcel logic:
here each parcel waits for the trunk, queues at a `simpy.Resource` sorting line, waits in a
first-in-first-out list for a van, is accepted or refused by a point's stock counter when the van
stops, and is picked up by its own timeout. KPIs go through the same counters at the end.
"""

from __future__ import annotations

import math
import time

import numpy as np
import simpy

from sim.clock import DailyHours
from sim.engine import Engine, Result, surge
from sim.points import COMMUNITY_LOCKER, TOWNSHIP_POINT


def _after(clock: DailyHours, t: float, open_hours: float) -> float:
    """`DailyHours.after` for one parcel, in plain floats (numpy's per-call cost would dominate)."""
    day = math.floor(t / 24.0)
    w = day * clock.per_day + min(max(t - day * 24.0 - clock.start, 0.0), clock.per_day) + open_hours
    day = math.floor(w / clock.per_day)
    return day * 24.0 + clock.start + (w - day * clock.per_day)


def _next_wave(t: float, waves: list[float]) -> float:
    if not waves:
        return t
    day = math.floor(t / 24.0)
    hour = t - day * 24.0
    for w in waves:
        if w >= hour:
            return day * 24.0 + w
    return (day + 1) * 24.0 + waves[0]


def _lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    sigma2 = math.log1p(cv**2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


class _Parcel:
    __slots__ = ("bay", "county", "dest", "event", "order", "point", "ptype", "sorted", "state")

    def __init__(self, order, point, dest, ptype, county):
        self.order, self.point, self.dest, self.ptype, self.county = order, point, dest, ptype, county
        self.state = "in_trunk"
        self.sorted = np.inf
        self.bay = dest * 3 + ptype
        self.event = None


class ReferenceEngine(Engine):
    """Per-parcel simulation of a scenario (downstream flow). Call `run()` once."""

    def run(self) -> Result:
        self.plan_all_years()
        start = time.perf_counter()
        env = self.env = simpy.Environment()
        wcfg = self.sc.warehouses
        self.lines = [simpy.Resource(env, capacity=1) for _ in self.points.county_names]
        self.shift = DailyHours(*wcfg.shift_h)
        self.waiting: list[list[_Parcel]] = [[] for _ in self.points.county_names]
        self.stock: dict[int, int] = {}
        self.parcels: list[_Parcel] = []
        self.records = {"avail": [], "hand": [], "km": [], "km0": [], "hand_village": []}
        self.capacity: dict[int, float] = {}
        self.waves = sorted(self.sc.trunk.waves_h)
        self.trunk_params = _lognormal_params(self.sc.trunk.delay_mean_h, self.sc.trunk.delay_cv)
        self.noise_params = _lognormal_params(1.0, self.sc.couriers.travel_noise_cv)
        env.process(self._orders_ref(env))
        for c in range(len(self.points.county_names)):
            env.process(self._dispatch_ref(env, c))
        env.run(until=self.end_h)
        self._tally_ref()
        return self.result(start)

    # ------------------------------------------------------------------------------ parcels
    def _orders_ref(self, env):
        p, dcfg = self.points, self.sc.demand
        for day in range(self.warmup + self.days):
            dest, ptype = p.destinations(self._sites(self._year(day)))
            counts = self.rng_demand.poisson(self.base_rate * self.factors[day])
            for point in np.repeat(np.arange(p.n_points), counts):
                order = 24.0 * day + self.rng_demand.uniform(*dcfg.order_hours)
                parcel = _Parcel(order, int(point), int(dest[point]), int(ptype[point]), int(p.county[point]))
                self.parcels.append(parcel)
                env.process(self._parcel(env, parcel))
            if self.progress is not None:
                self.progress.update()
            yield env.timeout(24.0)

    def _parcel(self, env, parcel: _Parcel):
        tcfg, wcfg = self.sc.trunk, self.sc.warehouses
        yield env.timeout(parcel.order - env.now)
        delay = self.rng_trunk.lognormal(*self.trunk_params) if tcfg.delay_cv else tcfg.delay_mean_h
        hub = _next_wave(parcel.order + delay, self.waves)
        yield env.timeout(hub - env.now)
        parcel.state = "at_warehouse"
        counted = parcel.order >= self.start_h
        day = int(hub // 24) - self.warmup
        if 0 <= day < self.days:
            self.kpi.warehouse_orders[parcel.county, day] += 1
        with self.lines[parcel.county].request() as turn:
            yield turn
            mean = 1.0 / wcfg.sorting_rate_per_h
            service = self.rng_sort.exponential(mean) if wcfg.service == "exponential" else mean
            done = _after(self.shift, env.now, service)
            yield env.timeout(done - env.now)
        parcel.sorted = done
        parcel.event = env.event()
        self.waiting[parcel.county].append(parcel)
        arrive = yield parcel.event
        self._at_point(env, parcel, arrive)
        release, returned, km = self._pickup(parcel, arrive)
        parcel.state = "waiting_at_point"
        yield env.timeout(max(0.0, release - env.now))
        self.stock[parcel.bay] -= 1
        parcel.state = "returned" if returned else "picked_up"
        if counted and not returned:
            self._picked(parcel, release, km)

    def _at_point(self, env, parcel: _Parcel, arrive: float) -> None:
        if parcel.order >= self.start_h:
            self.records["avail"].append((self._group(parcel), arrive - parcel.order))

    def _pickup(self, parcel: _Parcel, arrive: float) -> tuple[float, bool, float]:
        """Release time, returned flag and household km: `PickupModel.sample` for one parcel."""
        rule = self.pickups.by_type[parcel.ptype]
        if parcel.ptype == TOWNSHIP_POINT:
            km = float(self.points.km_to_township[parcel.point])
        else:
            km = self.rng_pickup.uniform() * rule.household_km
        delay = self.rng_pickup.exponential() * (rule.base_h + rule.per_km_h * km)
        release = _after(self.pickups.clocks[parcel.ptype], arrive, delay)
        limit = self.sc.pickup.locker_limit_h
        if parcel.ptype == COMMUNITY_LOCKER and release - arrive > limit:
            return arrive + limit, True, km
        return release, False, km

    def _picked(self, parcel: _Parcel, release: float, km: float) -> None:
        hand = release + km / self.sc.pickup.villager_speed_kmh - parcel.order
        g = self._group(parcel)
        self.records["hand"].append((g, hand))
        self.records["km"].append((g, 2.0 * km))
        if parcel.point < self.points.n_villages:
            self.records["km0"].append((g, 2.0 * self.points.km_to_township[parcel.point]))
            self.records["hand_village"].append((parcel.point, hand))

    def _group(self, parcel: _Parcel) -> int:
        return parcel.county * 3 + parcel.ptype

    # --------------------------------------------------------------------------------- vans
    def _dispatch_ref(self, env, c: int):
        cfg = self.sc.couriers
        yield env.timeout(cfg.departure_h)
        day = 0
        while True:
            depart = env.now
            cutoff = depart - self.sc.warehouses.cutoff_h
            plan = self.plans[self._year(day)][c]
            local = {int(s): i + 1 for i, s in enumerate(plan.stops)}
            route_of, position = {}, {}
            for r, route in enumerate(plan.routes):
                for k, m in enumerate(route):
                    route_of[int(m)], position[int(m)] = r, k
            due = plan.due(day)
            queue = sorted(self.waiting[c], key=lambda q: q.sorted)
            ready: list[list[_Parcel]] = [[] for _ in plan.routes]
            for parcel in queue:
                m = local.get(parcel.dest, 0)
                if parcel.sorted <= cutoff and m and due[m] and m in route_of:
                    ready[route_of[m]].append(parcel)
            vans = surge(plan.vans, np.array([len(x) for x in ready], dtype=np.int64), cfg)
            loaded_ids = set()
            for r, parcels in enumerate(ready):
                load = parcels[: int(vans[r]) * cfg.van_capacity]
                if load:
                    loaded_ids.update(id(x) for x in load)
                    for parcel in load:
                        parcel.state = "in_van"
                    env.process(self._van_ref(env, c, plan, load, local, position, int(vans[r])))
            self.waiting[c] = [q for q in queue if id(q) not in loaded_ids]
            day += 1
            yield env.timeout(24.0)

    def _van_ref(self, env, c, plan, load, local, position, vans: int):
        cfg = self.sc.couriers
        depart = env.now
        stops: dict[int, list[_Parcel]] = {}
        for parcel in load:
            stops.setdefault(local[parcel.dest], []).append(parcel)
        sequence = sorted(stops, key=lambda m: position[m])
        here, km = 0, 0.0
        for m in sequence:
            leg = plan.minutes[here, m] * self._noise()
            km += plan.km[here, m]
            yield env.timeout(leg / 60.0)
            if env.now >= self.start_h:
                self.kpi.van["stops"] += 1
            arrive = env.now
            for parcel in stops[m]:
                if self.stock.get(parcel.bay, 0) < self._capacity(parcel):
                    self.stock[parcel.bay] = self.stock.get(parcel.bay, 0) + 1
                    parcel.state = "at_point"
                    parcel.event.succeed(arrive)
                else:
                    parcel.state = "at_warehouse"
                    self.waiting[c].append(parcel)
                    if parcel.order >= self.start_h:
                        self.kpi.refused[self._group(parcel)] += 1
            service = cfg.service_min_per_stop + cfg.service_min_per_parcel * len(stops[m])
            yield env.timeout(service / 60.0)
            here = m
        home = plan.minutes[here, 0] * self._noise()
        km += plan.km[here, 0]
        yield env.timeout(home / 60.0)
        if depart >= self.start_h:
            v = self.kpi.van
            v["routes"] += vans
            v["km"] += km * vans
            v["hours"] += (env.now - depart) * vans
            v["loaded"] += len(load)
            v["capacity"] += vans * cfg.van_capacity

    def _noise(self) -> float:
        return self.rng_van.lognormal(*self.noise_params) if self.sc.couriers.travel_noise_cv else 1.0

    def _capacity(self, parcel: _Parcel) -> float:
        if parcel.bay not in self.capacity:
            cap = self.pickups.capacity(np.array([parcel.dest]), np.array([parcel.ptype], dtype=np.int8))
            self.capacity[parcel.bay] = float(cap[0])
        return self.capacity[parcel.bay]

    # ---------------------------------------------------------------------------- tallies
    def _tally_ref(self) -> None:
        kpi = self.kpi
        for key, target in (("avail", kpi.available), ("hand", kpi.in_hand)):
            if self.records[key]:
                g, h = np.array(self.records[key]).T
                target.add(g.astype(np.int64), h)
        for key, target in (("km", kpi.villager_km), ("km0", kpi.villager_km_no_station)):
            if self.records[key]:
                g, km = np.array(self.records[key]).T
                np.add.at(target, g.astype(np.int64), km)
        if self.records["hand_village"]:
            v, h = np.array(self.records["hand_village"]).T
            np.add.at(kpi.village_hand_sum, v.astype(np.int64), h)
            np.add.at(kpi.village_hand_count, v.astype(np.int64), 1)
        states = {"at_point": "waiting_at_point"}
        for parcel in self.parcels:
            if parcel.order < self.start_h:
                continue
            g = self._group(parcel)
            kpi.ordered[g] += 1
            state = states.get(parcel.state, parcel.state)
            if state in ("waiting_at_point", "picked_up", "returned"):
                kpi.delivered[g] += 1
            kpi.state[state][g] += 1
