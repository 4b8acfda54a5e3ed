"""The fast engine: SimPy processes for the clocks, parcels as numpy batches.

Two processes: the day clock (00:00: the station network of the day, the day's orders, day and
year ends) and the departures (daily at `departure_h`: sort what has reached each county
warehouse, load every county's vans, work out their trips, unload). Parcels never become
objects, and all counties go through each step together: the inbound parcels by trunk wave, the
warehouse queue (county by county, in sorted-time order), refused parcels riding back, the vans'
drops not unloaded yet, and the stock at the points are arrays.

A van's trip is worked out when it leaves (its times do not depend on what happens at the
stops). Unloading is done in time order per point (`sim.unload`) for every drop that comes
before the next departure, when no later trip can reach a point first; a longer trip's later
drops wait for the next departure. So the engine follows the same rules, event for event, as
the per-parcel reference model (`sim.reference`), with a few dozen array operations per day.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import simpy

from sim.batch import EMPTY, FIELDS, ParcelBatch
from sim.clock import last_slot, lognormal
from sim.demand import draw_orders
from sim.events import (
    Bus,
    DayEnd,
    Delivered,
    Dispatched,
    NetworkChanged,
    Ordered,
    Refused,
    RunEnd,
    Trips,
    YearEnd,
)
from sim.model import Model
from sim.pickup import BAYS_PER_STOP
from sim.trips import assign_vans, cut_loads, legs_per_van, time_trips
from sim.unload import StockPool, unload
from sim.warehouse import Sorter


@dataclass(frozen=True)
class RunInfo:
    """How a run went: route plans by the date they came into force, seconds spent planning
    routes and simulating (planning excluded), parcels ordered in all (warm-up included)."""

    plans: dict[str, tuple]
    planning_s: float
    simulation_s: float
    parcels: int


@dataclass(frozen=True)
class _Drops:
    """Van drops not unloaded yet (a drop: a van's parcels for one bay at one stop). Per
    parcel: `drop`; per drop: `bay`, `arrive_h`, `seq` (van order over the run), `back_h` (its
    van's return), `capacity` (the bay's, when the van left)."""

    parcels: ParcelBatch
    drop: np.ndarray
    bay: np.ndarray
    arrive_h: np.ndarray
    seq: np.ndarray
    back_h: np.ndarray
    capacity: np.ndarray

    def split(self, due: np.ndarray) -> tuple[_Drops, _Drops | None]:
        """(drops flagged `due`, the rest or None), each renumbered."""
        if due.all():
            return self, None
        return self._select(due), self._select(~due)

    def _select(self, mask: np.ndarray) -> _Drops:
        renumber = np.cumsum(mask) - 1
        keep = mask[self.drop]
        return _Drops(
            self.parcels.take(keep),
            renumber[self.drop[keep]],
            *(getattr(self, f)[mask] for f in ("bay", "arrive_h", "seq", "back_h", "capacity")),
        )

    @staticmethod
    def join(a: _Drops | None, b: _Drops) -> _Drops:
        if a is None:
            return b
        return _Drops(
            ParcelBatch.concat([a.parcels, b.parcels]),
            np.concatenate([a.drop, b.drop + len(a.bay)]),
            *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in ("bay", "arrive_h", "seq", "back_h", "capacity")),
        )


class FastEngine:
    """One run of the fast engine. Call `run()` once."""

    def __init__(self, model: Model, seed: int, bus: Bus, *, progress=None):
        self.m, self.bus, self.progress = model, bus, progress
        self.streams = model.streams(seed)
        sc = model.scenario
        self.n = n = model.n_counties
        self.sorters = [Sorter(sc.warehouses, self.streams.sort[c]) for c in range(n)]
        self.state = model.stations()
        self.waves = np.sort(np.asarray(sc.trunk.waves_h, dtype=float))
        # In the trunk, by wave slot: (a day's parcels, indices grouped by county, county bounds).
        self.inbound: dict[int, list[tuple[ParcelBatch, np.ndarray, np.ndarray]]] = {}
        self.queue, self.queued = EMPTY, np.zeros(n, dtype=np.int64)  # county by county, FIFO
        self.riding_back: list[tuple[ParcelBatch, np.ndarray]] = []  # refused: parcels, back_h
        self.vans_out = (np.empty(0, dtype=np.int64), np.empty(0))  # county, back_h
        self.drops: _Drops | None = None
        self.pool = StockPool()
        self.next_id = 0
        self.van_seq = 0
        self.plans_in_force: dict[str, tuple] = {}

    # ---------------------------------------------------------------------------------- run
    def run(self) -> RunInfo:
        started, planned = time.perf_counter(), self.m.planner.planning_s
        env = simpy.Environment()
        env.process(self._days(env))
        env.process(self._departures(env))
        env.run(until=self.m.end_h)
        self._finish()
        planning = self.m.planner.planning_s - planned
        return RunInfo(self.plans_in_force, planning, time.perf_counter() - started - planning, self.next_id)

    def _days(self, env: simpy.Environment):
        m = self.m
        for day in range(m.total_days):
            if day:
                self._day_end(day - 1)
            if day == 0 or self.state.changes_on(day):
                self._network(day)
            parcels, slot = draw_orders(
                m.rates(day, self.community_open),
                m.points.county,
                day,
                self.next_id,
                m.scenario.demand,
                m.scenario.trunk,
                self.streams.orders,
            )
            self.next_id += len(parcels)
            self.bus.emit(Ordered(day, parcels))
            self._to_trunk(parcels, slot)
            if self.progress is not None:
                self.progress.update()
            yield env.timeout(24.0)

    def _day_end(self, day: int) -> None:
        m = self.m
        self.bus.emit(DayEnd(day, m.date(day), day >= m.warmup, self.rural_open))
        if m.date(day + 1).year != m.date(day).year and day >= m.warmup:
            self.bus.emit(YearEnd(m.date(day).year))

    def _network(self, day: int) -> None:
        """The stations open from `day`: destinations, capacities and route plans."""
        m = self.m
        self.rural_open = self.state.rural_open(day)
        self.community_open = self.state.community_open(day)
        self.dest, self.ptype = m.points.destinations(self.rural_open, self.community_open)
        self.capacity = m.pickups.bay_capacity(self.community_open)
        self.plans, self.index = m.planner.plans(self.dest, self.ptype, self.community_open)
        self.plans_in_force.setdefault(m.date(day).isoformat(), self.plans)
        self.bus.emit(NetworkChanged(day, self.rural_open, self.community_open))

    def _to_trunk(self, parcels: ParcelBatch, slot: np.ndarray) -> None:
        """File the day's parcels (grouped by trunk wave, then county, ids in order within) by
        wave slot: (parcels, their range in the batch, where each county's part starts)."""
        county = self.m.points.county[parcels.point]
        starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
        for a, b in zip(starts.tolist(), np.append(starts[1:], len(slot)).tolist(), strict=True):
            bounds = a + np.searchsorted(county[a:b], np.arange(self.n + 1))
            self.inbound.setdefault(int(slot[a]), []).append((parcels, np.arange(a, b), bounds - a))

    # ---------------------------------------------------------------------------- departures
    def _departures(self, env: simpy.Environment):
        sc = self.m.scenario
        yield env.timeout(sc.couriers.departure_h)
        day = 0
        while True:
            depart = env.now
            cutoff = depart - sc.warehouses.cutoff_h
            self._sort_arrivals(cutoff)
            self._take_back(cutoff)
            county, back = self.vans_out
            on_road = back > depart
            self.vans_out = county, back = county[on_road], back[on_road]
            out = np.bincount(county, minlength=self.n)
            loaded, vans = self._load(day, depart, cutoff, out)
            self._unload(min(depart + 24.0, self.m.end_h))  # no later trip reaches a point before
            waiting = self.queued + self._inbound_by(depart)
            for parcels, b in self.riding_back:
                waiting += np.bincount(self.m.points.county[parcels.point[b <= depart]], minlength=self.n)
            for c in range(self.n):
                self.bus.emit(Dispatched(c, depart, int(loaded[c]), int(vans[c]), int(out[c]), int(waiting[c])))
            day += 1
            yield env.timeout(24.0)

    def _inbound_by(self, t: float) -> np.ndarray:
        """Parcels per county in the trunk inbound that reached the warehouse by `t`."""
        last = last_slot(t, self.waves)
        n = np.zeros(self.n, dtype=np.int64)
        for slot, parts in self.inbound.items():
            for parcels, idx, bounds in parts if slot <= last else ():
                if slot == last and not len(self.waves):
                    arrived = idx[parcels.hub_h[idx] <= t]
                    n += np.bincount(self.m.points.county[parcels.point[arrived]], minlength=self.n)
                else:
                    n += np.diff(bounds)
        return n

    def _arrivals(self, t: float) -> list[list[tuple[ParcelBatch, np.ndarray]]]:
        """Take the inbound parcels that reached the warehouse by `t`: per county, (batch,
        indices) pieces in arrival order (slot by slot, ids in order)."""
        last = last_slot(t, self.waves)
        slots = sorted(s for s in self.inbound if s <= last)
        parts = [p for s in slots for p in self.inbound.pop(s)]
        if not len(self.waves) and slots and slots[-1] == last:  # a day of arrivals, split at t
            for k, (parcels, idx, _) in enumerate(parts):
                later = parcels.hub_h[idx] > t
                if later.any():
                    self.inbound.setdefault(last, []).append(self._part(parcels, idx[later]))
                    parts[k] = self._part(parcels, idx[~later])
        return [[(p, idx[b[c] : b[c + 1]]) for p, idx, b in parts if b[c + 1] > b[c]] for c in range(self.n)]

    def _part(self, parcels: ParcelBatch, idx: np.ndarray) -> tuple[ParcelBatch, np.ndarray, np.ndarray]:
        county = self.m.points.county[parcels.point[idx]]
        return parcels, idx, np.searchsorted(county, np.arange(self.n + 1))

    def _sort_arrivals(self, cutoff: float) -> None:
        """Parcels that reached their warehouse by the cutoff go through its sorting line and
        join the queue at the end of their county's part (sorted times only grow)."""
        arrivals = self._arrivals(cutoff)
        new = np.array([sum(len(i) for _, i in pieces) for pieces in arrivals], dtype=np.int64)
        if not new.any():
            return
        q, queued = self.queue, self.queued
        q_at = np.cumsum(queued) - queued
        pieces = []  # each county: its queue, then its arrivals
        for c in range(self.n):
            pieces += [(q, slice(q_at[c], q_at[c] + queued[c])), *arrivals[c]]
        columns = {f: np.concatenate([getattr(b, f)[i] for b, i in pieces]) for f in FIELDS}
        start = np.cumsum(queued + new) - new  # where each county's arrivals begin
        for c in np.flatnonzero(new):
            mine = slice(start[c], start[c] + new[c])
            if not len(self.waves):  # arrivals as they come: first come first served, ties by id
                by = np.argsort(columns["hub_h"][mine], kind="stable")
                for f in FIELDS:
                    columns[f][mine] = columns[f][mine][by]
            columns["sorted_h"][mine] = self.sorters[c].sort(columns["hub_h"][mine])
        self.queue, self.queued = ParcelBatch(**columns), queued + new

    def _take_back(self, cutoff: float) -> None:
        """Refused parcels back at the warehouse by the cutoff rejoin the queue in their place."""
        if not self.riding_back:
            return
        parcels = ParcelBatch.concat([p for p, _ in self.riding_back])
        back = np.concatenate([b for _, b in self.riding_back])
        home = back <= cutoff
        self.riding_back = [(parcels.take(~home), back[~home])] if not home.all() else []
        if not home.any():
            return
        county = self.m.points.county
        ret = parcels.take(home)
        ret = ret.take(np.lexsort((ret.id, ret.sorted_h, county[ret.point])))
        q, queued = self.queue, self.queued
        q_at = np.cumsum(queued) - queued
        ret_county = county[ret.point]
        # Place in the merge: the county's start, the queue parcels sorted before, those ahead.
        before = np.empty(len(ret), dtype=np.int64)
        for c in np.unique(ret_county):
            mine = ret_county == c
            before[mine] = np.searchsorted(q.sorted_h[q_at[c] : q_at[c] + queued[c]], ret.sorted_h[mine])
        at = q_at[ret_county] + before + np.arange(len(ret))
        mine = np.zeros(len(q) + len(ret), dtype=bool)
        mine[at] = True
        merged = {}
        for f in FIELDS:
            column = np.empty(len(mine), dtype=getattr(q, f).dtype)
            column[mine], column[~mine] = getattr(ret, f), getattr(q, f)
            merged[f] = column
        self.queue = ParcelBatch(**merged)
        self.queued = queued + np.bincount(ret_county, minlength=self.n)

    def _load(self, day: int, depart: float, cutoff: float, vans_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Load every county's vans first-in-first-out per route and send them off; parcels and
        vans per county."""
        cfg, index, county_of = self.m.scenario.couriers, self.index, self.m.points.county
        nothing = np.zeros(self.n, dtype=np.int64), np.zeros(self.n, dtype=np.int64)
        q = self.queue
        idx = np.flatnonzero((q.sorted_h <= cutoff) & index.due(day)[q.point])  # FIFO per county
        if not len(idx):
            return nothing
        route = index.route[q.point[idx]]
        waiting = np.bincount(route, minlength=len(index.route_county))
        available = np.maximum(cfg.vans_per_county - vans_out, 0)
        vans = assign_vans(index.planned_vans, -(-waiting // cfg.van_capacity), available, index.route_county)
        if (waiting > vans * cfg.van_capacity).any():  # some parcels stay: the first sorted go
            order = np.argsort(route.astype(index.visit_key.dtype), kind="stable")  # radix: FIFO per route
            idx, route = idx[order], route[order]
            start = np.cumsum(waiting) - waiting
            idx = idx[(np.arange(len(idx)) - start[route]) < vans[route] * cfg.van_capacity]
            if not len(idx):
                return nothing
        # Visiting order; at a seat its express point's parcels, then its lockers'; FIFO in each.
        idx = idx[np.argsort(index.visit_key[q.point[idx]], kind="stable")]  # radix sort
        point = q.point[idx]
        route = index.route[point]
        keep = np.ones(len(q), dtype=bool)
        keep[idx] = False
        self.queue = q.take(keep)
        loaded = np.bincount(county_of[point], minlength=self.n)
        self.queued = self.queued - loaded
        parcels = q.take(idx).with_(dest=self.dest[point], ptype=self.ptype[point])
        visits = cut_loads(route, index.stop[point], vans, cfg.van_capacity)
        van_county = index.route_county[route[visits.first[np.searchsorted(visits.van, np.arange(visits.n_vans))]]]
        legs = legs_per_van(visits)
        noise = np.concatenate(
            [
                lognormal(1.0, cfg.travel_noise_cv, int(legs[van_county == c].sum()), self.streams.van[c])
                for c in range(self.n)
            ]
        )
        visit_county = van_county[visits.van]
        times = time_trips(
            depart,
            visits,
            index.minutes,
            index.km,
            cfg,
            noise,
            at=index.matrix_at[visit_county],
            side=index.matrix_side[visit_county],
        )
        stop_id = index.stop_ids[index.stops_at[visit_county] + visits.stop]
        van_route = route[visits.first[np.searchsorted(visits.van, np.arange(visits.n_vans))]]
        if self.bus.wants("trips"):
            self.bus.emit(
                Trips(
                    depart,
                    van_county,
                    van_route - np.searchsorted(index.route_county, van_county),
                    np.bincount(visits.van, weights=visits.parcels, minlength=visits.n_vans).astype(np.int64),
                    times.km,
                    times.minutes,
                    times.back_h,
                    visits.van,
                    stop_id,
                    times.arrive_h,
                    visits.parcels,
                )
            )
        self.vans_out = (
            np.concatenate([self.vans_out[0], van_county]),
            np.concatenate([self.vans_out[1], times.back_h]),
        )
        # Unloading is per bay: a van at a township seat drops at its express point and lockers.
        ptype = parcels.ptype
        new_drop = np.ones(len(idx), dtype=bool)
        new_drop[1:] = (visits.visit[1:] != visits.visit[:-1]) | (ptype[1:] != ptype[:-1])
        first = np.flatnonzero(new_drop)
        visit = visits.visit[first]
        bay = stop_id[visit] * BAYS_PER_STOP + ptype[first]
        drops = _Drops(
            parcels,
            np.cumsum(new_drop) - 1,
            bay,
            times.arrive_h[visit],
            self.van_seq + visits.van[visit],
            times.back_h[visits.van[visit]],
            self.capacity[bay],
        )
        self.van_seq += visits.n_vans
        self.drops = _Drops.join(self.drops, drops)
        return loaded, np.bincount(van_county, minlength=self.n)

    def _unload(self, limit: float) -> None:
        """Unload every pending drop before `limit`, in time order per bay."""
        if self.drops is None:
            return
        now, self.drops = self.drops.split(self.drops.arrive_h < limit)
        if not len(now.bay):
            return
        p = now.parcels
        pickups = self.m.pickups

        def collect(i, arrive: np.ndarray):
            return pickups.collect(arrive, p.point[i], p.ptype[i], p.u_km[i], p.e_wait[i])

        out = unload(now.bay, now.arrive_h, now.seq, now.capacity, now.drop, self.pool, collect)
        self.pool.forget_before(limit)
        arrive = now.arrive_h[now.drop]
        if out.accepted.all():
            self.bus.emit(Delivered(p, arrive, out.release, out.returned, out.km))
        elif out.accepted.any():
            a = out.accepted
            self.bus.emit(Delivered(p.take(a), arrive[a], out.release[a], out.returned[a], out.km[a]))
        if not out.accepted.all():
            r = ~out.accepted
            back = now.back_h[now.drop[r]]
            self.riding_back.append((p.take(r), back))
            self.bus.emit(Refused(p.take(r), arrive[r], back))

    # ---------------------------------------------------------------------------------- end
    def _finish(self) -> None:
        """The last day's end, and where the parcels not yet at a point are."""
        m = self.m
        self._day_end(m.total_days - 1)
        if m.date(m.total_days - 1).month != 12 or m.date(m.total_days - 1).day != 31:
            self.bus.emit(YearEnd(m.date(m.total_days - 1).year))
        inbound = [p.take(idx) for parts in self.inbound.values() for p, idx, _ in parts]
        inbound = ParcelBatch.concat([b for b in inbound if len(b)])
        arrived = inbound.hub_h < m.end_h
        trunk, warehouse, van = [inbound.take(~arrived)], [inbound.take(arrived), self.queue], []
        for parcels, back in self.riding_back:
            warehouse.append(parcels.take(back < m.end_h))
            van.append(parcels.take(back >= m.end_h))
        if self.drops is not None:
            van.append(self.drops.parcels)

        def placed(batches: list[ParcelBatch]) -> ParcelBatch:
            b = ParcelBatch.concat([x for x in batches if len(x)])
            return b.with_(dest=self.dest[b.point], ptype=self.ptype[b.point])

        self.bus.emit(RunEnd(m.end_h, placed(trunk), placed(warehouse), placed(van)))
