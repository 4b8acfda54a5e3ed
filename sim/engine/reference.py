"""The reference model: one SimPy process per parcel, the same rules as the fast engine.

It is the yardstick for `sim.engine.fast`: the tests check that both give the same counts and the same
lead-time histograms, and the benchmark reports the speed ratio. It shares the set-up
(`sim.engine.model`: delivery points, route plans, the orders drawn each day) and the warehouse's
sorting line (`sim.flows.warehouse.Sorter`, whose closed form gives the same times however arrivals
are grouped), but none of the parcel logic: here each parcel is a process for its whole life
(trunk, warehouse, van, point, collection); it is sorted with its trunk wave, picked for a van
by a plain first-in-first-out scan of its county's waiting list, and a van process stopping at
each point checks the point's stock parcel by parcel and tells each parcel what happened. Plain
Python, parcel by parcel: slow by design.

Decisions use the times the rules give (a parcel's arrival, release, return), never `env.now`,
which SimPy reaches by adding delays and may miss by a rounding error.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import simpy

from sim.core.batch import EMPTY, ParcelBatch
from sim.core.clock import DailyHours, lognormal_params
from sim.core.events import (
    Bus,
    Delivered,
    Dispatched,
    Refused,
    RunEnd,
    Trips,
)
from sim.core.ids import COMMUNITY_LOCKER, TOWNSHIP_POINT
from sim.engine.base import EngineRun
from sim.engine.model import Model
from sim.network.station_state import StationState


class _Parcel:
    __slots__ = (
        "carrier",
        "dest",
        "e_wait",
        "event",
        "fleet",
        "hub",
        "id",
        "order",
        "point",
        "ptype",
        "ready",
        "sorted",
        "state",
        "u_km",
    )

    def __init__(self, id, point, fleet, carrier, order, hub, u_km, e_wait):
        self.id, self.point, self.fleet, self.carrier, self.order, self.hub = (
            id,
            point,
            fleet,
            carrier,
            order,
            hub,
        )
        self.u_km, self.e_wait = u_km, e_wait
        self.sorted = self.ready = math.inf
        self.dest = self.ptype = -1
        self.state = "in_trunk"
        self.event = None


def _batch(parcels: list[_Parcel]) -> ParcelBatch:
    if not parcels:
        return EMPTY
    column = {f: np.array([getattr(p, f) for p in parcels]) for f in ("id", "point", "order", "hub")}
    batch = ParcelBatch.new(
        column["id"],
        column["point"],
        column["order"],
        column["hub"],
        np.array([p.u_km for p in parcels], dtype=np.float32),
        np.array([p.e_wait for p in parcels], dtype=np.float32),
    )
    return batch.with_(
        carrier=np.array([p.carrier for p in parcels], dtype=np.int8),
        sorted_h=np.array([p.sorted for p in parcels]),
        dest=np.array([p.dest for p in parcels], dtype=np.int32),
        ptype=np.array([p.ptype for p in parcels], dtype=np.int8),
    )


def _open_hours_after(clock: DailyHours, t: float, hours: float) -> float:
    """`DailyHours.after` for one time, in plain floats (the same operations in the same order)."""
    day = math.floor(t / 24.0)
    w = day * clock.per_day + min(max(t - day * 24.0 - clock.start, 0.0), clock.per_day) + hours
    day = math.floor(w / clock.per_day)
    return day * 24.0 + clock.start + (w - day * clock.per_day)


class ReferenceEngine(EngineRun):
    """Per-parcel simulation of a scenario (downstream flow; no upstream produce). Call `run()`
    once."""

    def __init__(
        self, model: Model, seed: int, bus: Bus, *, progress=None, stations: StationState | None = None
    ):
        """`stations`: the stations' opening days, which observers may change during the run
        (default: as planned)."""
        super().__init__(model, seed, bus, progress=progress, stations=stations)
        n = model.n_fleets  # per fleet (`Model.fleet_of`): trunk, sorting line, waiting list, vans
        self.parcels: list[_Parcel] = []
        self.trunk: list[dict[float, list[_Parcel]]] = [{} for _ in range(n)]  # by arrival time
        self.waiting: list[list[_Parcel]] = [[] for _ in range(n)]  # sorted, or back from a van
        self.fleet: list[list[float]] = [[] for _ in range(n)]  # return times of vans out
        self.stock: dict[int, list[float]] = defaultdict(list)  # bay -> release times
        self.noise = lognormal_params(1.0, model.scenario.couriers.travel_noise_cv)

    def _start(self, env: simpy.Environment) -> None:
        for f in range(self.m.n_fleets):
            env.process(self._departures(f))

    # ------------------------------------------------------------------------ days, parcels
    def _take(self, parcels: ParcelBatch, slot: np.ndarray) -> None:
        """Each parcel its own process (`_life`); each trunk wave its sorting (`_sort`)."""
        env = self.env
        fleet = self.m.fleet_of(parcels)
        for i in range(len(parcels)):
            parcel = _Parcel(
                int(parcels.id[i]),
                int(parcels.point[i]),
                int(fleet[i]),
                int(parcels.carrier[i]),
                float(parcels.order_h[i]),
                float(parcels.hub_h[i]),
                float(parcels.u_km[i]),
                float(parcels.e_wait[i]),
            )
            self.parcels.append(parcel)
            if parcel.hub not in self.trunk[parcel.fleet]:  # the first of its trunk wave
                self.trunk[parcel.fleet][parcel.hub] = []
                env.process(self._sort(parcel.fleet, parcel.hub))
            env.process(self._life(parcel))

    def _life(self, parcel: _Parcel):
        """One parcel, from its order to its collection: its own process throughout."""
        env = self.env
        yield env.timeout(parcel.order - env.now)
        yield env.timeout(parcel.hub - env.now)  # the trunk
        parcel.state = "at_warehouse"
        self.trunk[parcel.fleet][parcel.hub].append(parcel)  # sorted with its wave (`_sort`)
        while True:
            parcel.event = env.event()
            outcome, t = yield parcel.event  # set by the van at the parcel's stop
            if outcome == "refused":
                yield env.timeout(t - env.now)  # riding back
                parcel.state = "at_warehouse"
                self.waiting[parcel.fleet].append(parcel)
                continue
            release, returned = t
            yield env.timeout(release - env.now)
            parcel.state = "returned" if returned else "picked_up"
            return

    def _sort(self, f: int, hub: float):
        """A trunk wave at fleet `f`'s sorting line: its parcels, in id order, go through the
        sorting line, first come first served, and join the waiting list. (SimPy reaches `hub`
        by adding delays, which may differ by a rounding error from parcel to parcel: the line
        takes the wave a moment later, when every parcel of it is there.)"""
        yield self.env.timeout(hub + 1e-9 - self.env.now)
        wave = sorted(self.trunk[f].pop(hub), key=lambda p: p.id)
        done = self.sorters[f].sort(np.array([hub]), counts=np.array([len(wave)]))
        for parcel, t in zip(wave, done.tolist(), strict=True):
            parcel.sorted = parcel.ready = t
            self.waiting[f].append(parcel)

    def _pickup(self, parcel: _Parcel, arrive: float) -> tuple[float, bool, float]:
        """Release time, returned flag and household km of a parcel accepted at `arrive`."""
        pickups, ptype = self.m.pickups, parcel.ptype
        if ptype == TOWNSHIP_POINT:
            km = float(self.m.points.km_to_township[parcel.point])
        else:
            km = parcel.u_km * float(pickups.household_km[ptype])
        delay = parcel.e_wait * (float(pickups.base_h[ptype]) + float(pickups.per_km_h[ptype]) * km)
        release = _open_hours_after(pickups.clocks[ptype], arrive, delay)
        limit = self.m.scenario.pickup.locker_limit_h
        if ptype == COMMUNITY_LOCKER and release - arrive > limit:
            return arrive + limit, True, km
        if self.faults is not None:
            release = self.faults.delay_pickup(release, parcel.point, ptype)
        return release, False, km

    # --------------------------------------------------------------------------------- vans
    def _departures(self, f: int):
        env, sc = self.env, self.m.scenario
        yield env.timeout(sc.couriers.departure_h)
        day = 0
        while True:
            self._dispatch(f, day, env.now, env.now - sc.warehouses.cutoff_h)
            day += 1
            yield env.timeout(24.0)

    def _dispatch(self, f: int, day: int, depart: float, cutoff: float) -> None:
        cfg = self.m.scenario.couriers
        net = self.net.on(day)  # the routes of the day's pattern
        plan, index = net.plans[f], net.indexes[f % self.m.fleets_per_county]
        where = {}  # matrix index -> (route, position)
        for r, route in enumerate(plan.routes):
            for k, m in enumerate(route.tolist()):
                where[m] = (r, k)
        county = f // self.m.fleets_per_county
        due = normal = plan.due(day)
        broken = np.zeros(len(plan.routes), dtype=bool)
        if self.faults is not None:  # stops no van can reach, the warehouse down, vans broken
            due = normal & np.concatenate([[True], ~self.faults.blocked[day, plan.stops]])
            due &= not self.faults.outage[day, county]
            broken = self.faults.broken(f, day, len(plan.routes))
        self.fleet[f] = [b for b in self.fleet[f] if b > depart]
        vans_out = len(self.fleet[f])
        ready: list[list[tuple[_Parcel, int]]] = [[] for _ in plan.routes]  # (parcel, stop) per route
        held = 0
        for parcel in sorted(self.waiting[f], key=lambda p: (p.sorted, p.id)):
            m = int(index.stop[parcel.point])
            if parcel.ready <= cutoff and m in where and normal[m]:
                if due[m] and not broken[where[m][0]]:
                    ready[where[m][0]].append((parcel, m))
                else:
                    held += 1
        # Vans: planned ones first, route by route, then extra vans for bigger loads.
        available = int(self.m.fleet_vans[f]) - vans_out
        needed = [math.ceil(len(x) / cfg.van_capacity) for x in ready]
        vans = [0] * len(ready)
        for r, n in enumerate(needed):
            vans[r] = min(n, int(plan.vans[r]), available)
            available -= vans[r]
        for r, n in enumerate(needed):
            more = min(n - vans[r], available)
            vans[r] += more
            available -= more
        loaded_ids: set[int] = set()
        trips: list[tuple[int, list[tuple[_Parcel, int]]]] = []
        for r, parcels in enumerate(ready):
            load = parcels[: vans[r] * cfg.van_capacity]
            # Visiting order; at a seat its express point's parcels, then its lockers'; FIFO in each.
            kind = f % self.m.fleets_per_county
            load.sort(key=lambda x: (where[x[1]][1], self.net.fleet_ptype[kind, x[0].point]))
            for k in range(0, len(load), cfg.van_capacity):
                trips.append((r, load[k : k + cfg.van_capacity]))
            loaded_ids.update(p.id for p, _ in load)
        self.waiting[f] = [p for p in self.waiting[f] if p.id not in loaded_ids]
        vans_sent = [self._send(f, plan, depart, r, load) for r, load in trips]
        if vans_sent and self.bus.wants("trips"):
            self.bus.emit(self._trips_event(f, depart, vans_sent))
        self.bus.emit(
            Dispatched(county, depart, len(loaded_ids), len(trips), vans_out, len(self.waiting[f]), held)
        )

    def _send(self, f: int, plan, depart: float, route: int, load: list) -> dict:
        """Work out one van's schedule and start it; returns what the trip event needs."""
        cfg = self.m.scenario.couriers
        stops: list[tuple[int, list[_Parcel]]] = []
        for parcel, m in load:
            parcel.state = "in_van"
            dest, ptype = self.net.placed(f % self.m.fleets_per_county, parcel.point)  # its fleet's stop
            parcel.dest, parcel.ptype = int(dest), int(ptype)
            if stops and stops[-1][0] == m:
                stops[-1][1].append(parcel)
            else:
                stops.append((m, [parcel]))
        if cfg.travel_noise_cv:
            noise = self.streams.van[f].lognormal(*self.noise, size=len(stops) + 1).tolist()
        else:
            noise = [1.0] * (len(stops) + 1)
        t = km = 0.0
        here, arrivals = 0, []
        for (m, parcels), factor in zip(stops, noise, strict=False):
            t += float(plan.minutes[here, m]) * factor
            arrivals.append(depart + t / 60.0)
            t += cfg.service_min_per_stop + cfg.service_min_per_parcel * len(parcels)
            km += float(plan.km[here, m])
            here = m
        t += float(plan.minutes[here, 0]) * noise[-1]
        km += float(plan.km[here, 0])
        back = depart + t / 60.0
        self.fleet[f].append(back)
        bays = {int(plan.stops[m - 1]) * 3 + p.ptype for m, parcels in stops for p in parcels}
        capacity = {bay: float(self.net.capacity[bay]) for bay in bays}  # as when the van left
        self.env.process(self._van(f, plan, stops, arrivals, capacity, back))
        return {
            "route": route,
            "parcels": len(load),
            "km": km,
            "minutes": t,
            "back": back,
            "stops": [int(plan.stops[m - 1]) for m, _ in stops],
            "arrivals": arrivals,
            "counts": [len(p) for _, p in stops],
        }

    def _trips_event(self, f: int, depart: float, vans: list[dict]) -> Trips:
        per_visit = [
            (v, s, a, n)
            for v, x in enumerate(vans)
            for s, a, n in zip(x["stops"], x["arrivals"], x["counts"], strict=True)
        ]
        visit_van, visit_stop, visit_h, visit_n = (np.array(col) for col in zip(*per_visit, strict=True))
        return Trips(
            depart,
            np.full(len(vans), f // self.m.fleets_per_county),
            np.full(len(vans), self.m.fleet_carrier(f)),
            np.array([x["route"] for x in vans]),
            np.array([x["parcels"] for x in vans]),
            np.array([x["km"] for x in vans]),
            np.array([x["minutes"] for x in vans]),
            np.array([x["back"] for x in vans]),
            visit_van,
            visit_stop,
            visit_h,
            visit_n,
        )

    def _van(self, f: int, plan, stops, arrivals: list[float], capacity: dict[int, float], back: float):
        """A van driving its stops: at each, each point takes parcels while it has room."""
        env = self.env
        for (m, parcels), arrive in zip(stops, arrivals, strict=True):
            yield env.timeout(arrive - env.now)
            for ptype in sorted({p.ptype for p in parcels}):
                bay = int(plan.stops[m - 1]) * 3 + ptype
                stock = self.stock[bay] = [r for r in self.stock[bay] if r > arrive]
                room = capacity[bay] - len(stock)
                got: list[_Parcel] = []
                refused: list[_Parcel] = []
                collected: list[tuple[float, bool, float]] = []
                for parcel in (p for p in parcels if p.ptype == ptype):
                    if len(got) < room:
                        release, returned, km = self._pickup(parcel, arrive)
                        parcel.state = "waiting_at_point"
                        parcel.event.succeed(("accepted", (release, returned)))
                        got.append(parcel)
                        collected.append((release, returned, km))
                    else:
                        parcel.state, parcel.ready = "riding_back", back
                        parcel.event.succeed(("refused", back))
                        refused.append(parcel)
                if got:
                    releases, returns, kms = (np.array(col) for col in zip(*collected, strict=True))
                    stock += releases.tolist()
                    self.run_on.delivered(np.full(len(got), arrive))
                    self.bus.emit(Delivered(_batch(got), np.full(len(got), arrive), releases, returns, kms))
                if refused:
                    at, home = np.full(len(refused), arrive), np.full(len(refused), back)
                    self.bus.emit(Refused(_batch(refused), at, home))
        yield env.timeout(back - env.now)

    # ---------------------------------------------------------------------------------- end
    def _finish(self, stop_h: float) -> None:
        """Where the parcels not yet at a point are when the run stops at `stop_h`."""
        where: dict[str, list[_Parcel]] = {"in_trunk": [], "at_warehouse": [], "in_van": []}
        for parcel in self.parcels:
            state = parcel.state
            if state == "in_trunk" and parcel.hub < stop_h:
                state = "at_warehouse"
            elif state == "riding_back":
                state = "at_warehouse" if parcel.ready < stop_h else "in_van"
            if state in where:
                dest, ptype = self.net.placed(parcel.fleet % self.m.fleets_per_county, parcel.point)
                parcel.dest, parcel.ptype = int(dest), int(ptype)
                where[state].append(parcel)
        self.bus.emit(RunEnd(stop_h, *(_batch(where[s]) for s in ("in_trunk", "at_warehouse", "in_van"))))
