"""The fast engine: SimPy processes for the clocks, parcels as numpy batches.

Two processes: the day clock (00:00: the station network of the day, the day's orders, day and
year ends) and the departures (daily at `departure_h`, county by county: sort what has reached
the warehouse, load the vans, work out their trips, unload). Parcels never become objects: a
county holds its inbound parcels by trunk wave, its warehouse queue in sorted-time order,
refused parcels riding back, its vans' drops not unloaded yet and the stock at its points, all
as arrays. (Counties go one at a time because a county's arrays stay in the processor's cache;
all counties at once was slower.)

A van's trip is worked out when it leaves (its times do not depend on what happens at the
stops). Unloading is done in time order per point (`sim.flows.unload`) for every drop that comes
before the next departure, when no later trip can reach a point first; a longer trip's later
drops wait for the next departure. So the engine follows the same rules, event for event, as
the per-parcel reference model (`sim.engine.reference`), with a few dozen array operations per county
and day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import simpy

from sim.core import kernels
from sim.core.batch import EMPTY, FIELDS, ParcelBatch
from sim.core.clock import last_slot, lognormal
from sim.core.events import (
    Bus,
    Delivered,
    Dispatched,
    Refused,
    RunEnd,
    Trips,
)
from sim.engine.base import EngineRun
from sim.engine.model import Model
from sim.flows.pickup import BAYS_PER_STOP
from sim.flows.produce import ProduceFlow
from sim.flows.trips import assign_vans, cut_loads, legs_per_van, time_trips
from sim.flows.unload import StockPool, unload
from sim.network.station_state import StationState


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
            *(
                np.concatenate([getattr(a, f), getattr(b, f)])
                for f in ("bay", "arrive_h", "seq", "back_h", "capacity")
            ),
        )


class FastEngine(EngineRun):
    """One run of the fast engine. Call `run()` once."""

    def __init__(
        self, model: Model, seed: int, bus: Bus, *, progress=None, stations: StationState | None = None
    ):
        """`stations`: the stations' opening days, which observers may change during the run
        (default: as planned)."""
        super().__init__(model, seed, bus, progress=progress, stations=stations)
        sc = model.scenario
        self.n, self.g = model.n_counties, model.fleets_per_county
        n = model.n_fleets
        self.waves = np.sort(np.asarray(sc.trunk.waves_h, dtype=float))
        # Per fleet (`Model.fleet_of`). In the trunk, by wave slot: (a day's parcels, their range).
        self.inbound: list[dict[int, list[tuple[ParcelBatch, int, int]]]] = [{} for _ in range(n)]
        self.queue: list[ParcelBatch] = [EMPTY] * n  # at the warehouse, in sorted-time order
        self.riding_back: list[list[tuple[ParcelBatch, np.ndarray]]] = [[] for _ in range(n)]
        self.vans_back = [np.empty(0) for _ in range(n)]  # when the vans out return
        # Per county: the drops of all its fleets, unloaded together at the shared points.
        self.drops: list[_Drops | None] = [None] * self.n
        self.pool = [StockPool() for _ in range(self.n)]
        self.van_seq = 0
        self.produce = ProduceFlow(model, seed) if sc.upstream.enabled else None
        self.trips_out: list[tuple] = []  # the county's trips of this departure, for backhaul

    # ---------------------------------------------------------------------------------- run
    def _start(self, env: simpy.Environment) -> None:
        env.process(self._departures(env))

    def _upstream(self) -> dict | None:
        return None if self.produce is None else self.produce.summary(self.m.points.county_names)

    def _day_start(self, day: int) -> None:
        if self.produce is not None:
            self.produce.offer(day, self.net.rural_open)

    def _on_network(self) -> None:
        net = self.net
        self.first_route = [np.searchsorted(i.route_county, np.arange(self.n + 1)) for i in net.indexes]
        if self.produce is not None:
            self.produce.on_network(net.plans, self.g)

    def _take(self, parcels: ParcelBatch, slot: np.ndarray) -> None:
        """File the day's parcels (grouped by trunk wave, then fleet, ids in order within) by
        fleet and wave slot, as ranges of the day's batch."""
        if not len(parcels):
            return
        fleet = self.m.fleet_of(parcels)
        starts = np.flatnonzero(np.concatenate(([True], (slot[1:] != slot[:-1]) | (fleet[1:] != fleet[:-1]))))
        ends = np.append(starts[1:], len(slot))
        for a, b, f, s in zip(
            starts.tolist(), ends.tolist(), fleet[starts].tolist(), slot[starts].tolist(), strict=True
        ):
            self.inbound[f].setdefault(s, []).append((parcels, a, b))

    # ---------------------------------------------------------------------------- departures
    def _departures(self, env: simpy.Environment):
        sc = self.m.scenario
        yield env.timeout(sc.couriers.departure_h)
        day = 0
        while True:
            depart = env.now
            cutoff = depart - sc.warehouses.cutoff_h
            limit = min(depart + 24.0, self.m.resolve_h)  # no later trip reaches a point before
            self.net = self.net.on(day)  # the routes of the day's pattern
            counties = np.arange(self.n + 1)
            self.first_route = [np.searchsorted(i.route_county, counties) for i in self.net.indexes]
            due = normal = [index.due(day) for index in self.net.indexes]
            if self.faults is not None:
                due = [self._fault_due(k, day, d) for k, d in enumerate(normal)]
            for c in range(self.n):
                self.trips_out = []
                for k in range(self.g):
                    f = c * self.g + k
                    self._sort_arrivals(f, cutoff)
                    self._take_back(f, cutoff)
                    back = self.vans_back[f]
                    self.vans_back[f] = back = back[back > depart]
                    held = 0
                    if self.faults is not None:  # ready for a stop due today, kept back by a fault
                        q = self.queue[f]
                        held = int(np.count_nonzero((normal[k] & ~due[k])[q.point] & (q.sorted_h <= cutoff)))
                    loaded, vans = self._load(f, due[k], depart, cutoff, len(back))
                    waiting = len(self.queue[f]) + sum(
                        b - a for _, a, b in self._arrived(f, depart, take=False)
                    )
                    waiting += sum(int((b <= depart).sum()) for _, b in self.riding_back[f])
                    self.bus.emit(Dispatched(c, depart, loaded, vans, len(back), waiting, held))
                self._unload(c, limit)
                if self.produce is not None and depart < self.m.end_h:  # produce: the horizon only
                    self.produce.collect(c, day, self.trips_out, counted=depart >= self.m.start_h)
            day += 1
            yield env.timeout(24.0)

    def _fault_due(self, k: int, day: int, due: np.ndarray) -> np.ndarray:
        """`due` (per demand point, for the `k`-th fleet of each county) less the stops no van
        can reach today, the counties whose warehouse is down and the routes whose van broke."""
        fp, net, index = self.faults, self.net, self.net.indexes[k]
        assert fp is not None  # called only when the run has faults
        ok = ~fp.blocked[day][net.fleet_dest[k]] & ~fp.outage[day][self.m.points.county]
        per_fleet = [fp.broken(f, day, len(net.plans[f].routes)) for f in range(k, self.m.n_fleets, self.g)]
        broken = np.concatenate([*per_fleet, np.zeros(0, dtype=bool)])
        if broken.any():
            ok &= ~(index.routed & broken[np.maximum(index.key_route[index.visit_key], 0)])
        return due & ok

    def _arrived(self, f: int, t: float, *, take: bool) -> list[tuple[ParcelBatch, int, int]]:
        """Fleet `f`'s inbound parcels at the warehouse by `t` as (batch, start, stop) ranges,
        in arrival order (slot by slot, ids in order); removed from the inbound when `take`."""
        last = last_slot(t, self.waves)
        out = []
        for slot in sorted(s for s in self.inbound[f] if s <= last):
            pieces = self.inbound[f][slot]
            if slot == last and not len(self.waves):  # a day of arrivals, split at t
                batch = ParcelBatch.concat_slices(pieces)
                now = batch.hub_h <= t
                out.append((batch.take(now), 0, int(now.sum())))
                if take:
                    rest = batch.take(~now)
                    self.inbound[f][slot] = [(rest, 0, len(rest))]
                continue
            out.extend(pieces)
            if take:
                del self.inbound[f][slot]
        return out

    def _sort_arrivals(self, f: int, cutoff: float) -> None:
        """Fleet `f`'s parcels that reached the warehouse by the cutoff go through its sorting
        line and join its queue (sorted times only grow, so the queue stays in order)."""
        parts = self._arrived(f, cutoff, take=True)
        if not parts:
            return
        q = self.queue[f]
        if not len(self.waves):  # arrivals as they come: first come first served, ties by id
            arrived = ParcelBatch.concat_slices(parts)
            arrived = arrived.take(np.argsort(arrived.hub_h, kind="stable"))
            parts = [(arrived, 0, len(arrived))]
        queue = ParcelBatch.concat_slices([(q, 0, len(q)), *parts])  # new arrays
        hub = np.array([p.hub_h[a] for p, a, _ in parts])
        if len(self.waves):  # each piece one trunk wave
            sorted_h = self.sorters[f].sort(hub, counts=np.array([b - a for _, a, b in parts]))
        else:
            sorted_h = self.sorters[f].sort(queue.hub_h[len(q) :])
        queue.sorted_h[len(q) :] = sorted_h
        self.queue[f] = queue

    def _take_back(self, f: int, cutoff: float) -> None:
        """Refused parcels back at the warehouse by the cutoff rejoin the queue in their place."""
        if not self.riding_back[f]:
            return
        parcels = ParcelBatch.concat([p for p, _ in self.riding_back[f]])
        back = np.concatenate([b for _, b in self.riding_back[f]])
        home = back <= cutoff
        self.riding_back[f] = [(parcels.take(~home), back[~home])] if not home.all() else []
        if not home.any():
            return
        ret = parcels.take(home)
        ret = ret.take(np.lexsort((ret.id, ret.sorted_h)))
        q = self.queue[f]
        at = np.searchsorted(q.sorted_h, ret.sorted_h) + np.arange(len(ret))  # places in the merge
        mine = np.zeros(len(q) + len(ret), dtype=bool)
        mine[at] = True
        merged = {}
        for name in FIELDS:
            column = np.empty(len(mine), dtype=getattr(q, name).dtype)
            column[mine], column[~mine] = getattr(ret, name), getattr(q, name)
            merged[name] = column
        self.queue[f] = ParcelBatch(**merged)

    def _load(self, f: int, due: np.ndarray, depart: float, cutoff: float, vans_out: int) -> tuple[int, int]:
        """Load fleet `f`'s vans first-in-first-out per route and send them off; (parcels,
        vans). `due`: per demand point, whether its stop is visited today by the fleet."""
        c, k = divmod(f, self.g)
        cfg, index, plan = self.m.scenario.couriers, self.net.indexes[k], self.net.plans[f]
        q = self.queue[f]
        r0, r1 = self.first_route[k][c], self.first_route[k][c + 1]
        waiting, key = kernels.due_parcels(
            q.sorted_h, q.point, cutoff, due, index.visit_key, index.key_route, r0, r1 - r0
        )
        if not waiting.any():
            return 0, 0
        fleet_vans = int(self.m.fleet_vans[f])
        vans = assign_vans(plan.vans, -(-waiting // cfg.van_capacity), max(fleet_vans - vans_out, 0))
        # First-in-first-out per route up to its vans' room, in visiting order; at a seat its
        # express point's parcels, then its lockers'.
        room = np.minimum(waiting, vans * cfg.van_capacity)
        idx, keys = kernels.load_order(key, index.key_route, r0, room, len(index.key_route))
        if not len(idx):
            return 0, 0
        keep = np.ones(len(q), dtype=bool)
        keep[idx] = False
        self.queue[f] = q.take(keep)
        parcels = q.take(idx, dest=index.key_dest[keys], ptype=index.key_ptype[keys])
        visits = cut_loads(
            keys, index.key_route, index.key_stop, index.key_ptype, vans, cfg.van_capacity, first_route=r0
        )
        noise = lognormal(1.0, cfg.travel_noise_cv, int(legs_per_van(visits).sum()), self.streams.van[f])
        at, side = index.matrix_at[c], index.matrix_side[c]
        times = time_trips(depart, visits, index.minutes, index.km, cfg, noise, at=at, side=side)
        stop_id = plan.stops[visits.stop - 1]
        if self.bus.wants("trips"):
            van_first = visits.first[np.searchsorted(visits.van, np.arange(visits.n_vans))]
            van_route = index.key_route[keys[van_first]] - r0
            self.bus.emit(
                Trips(
                    depart,
                    np.full(visits.n_vans, c),
                    np.full(visits.n_vans, self.m.fleet_carrier(f)),
                    van_route,
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
        self.vans_back[f] = np.concatenate([self.vans_back[f], times.back_h])
        if self.produce is not None:
            self.trips_out.append((visits.van, stop_id, times.arrive_h, visits.parcels, times.back_h))
        # Unloading is per bay: a van at a township seat drops at its express point and lockers.
        visit = visits.drop_visit
        bay = stop_id[visit] * BAYS_PER_STOP + visits.drop_ptype
        drops = _Drops(
            parcels,
            visits.drop,
            bay,
            times.arrive_h[visit],
            self.van_seq + visits.van[visit],
            times.back_h[visits.van[visit]],
            self.net.capacity[bay],
        )
        self.van_seq += visits.n_vans
        self.drops[c] = _Drops.join(self.drops[c], drops)
        return len(idx), visits.n_vans

    def _unload(self, c: int, limit: float) -> None:
        """Unload county `c`'s pending drops before `limit`, in time order per bay."""
        pending = self.drops[c]
        if pending is None:
            return
        now, self.drops[c] = pending.split(pending.arrive_h < limit)
        if not len(now.bay):
            return
        p = now.parcels
        pickups = self.m.pickups

        def collect(arrive: np.ndarray):
            out = pickups.collect(arrive, p.point, p.ptype, p.u_km, p.e_wait)
            if self.faults is None:
                return out
            return replace(out, release=self.faults.delay_pickups(out.release, p.point, p.ptype))

        out = unload(now.bay, now.arrive_h, now.seq, now.capacity, now.drop, self.pool[c], collect)
        self.pool[c].forget_before(limit)
        arrive = now.arrive_h[now.drop]
        if out.accepted.all():
            self.run_on.delivered(arrive)
            self.bus.emit(Delivered(p, arrive, out.release, out.returned, out.km))
            return
        a, r = out.accepted, ~out.accepted
        if a.any():
            self.run_on.delivered(arrive[a])
            self.bus.emit(Delivered(p.take(a), arrive[a], out.release[a], out.returned[a], out.km[a]))
        refused, back = p.take(r), now.back_h[now.drop[r]]
        self.bus.emit(Refused(refused, arrive[r], back))
        fleet = self.m.fleet_of(refused)
        for f in np.unique(fleet).tolist():
            mine = fleet == f
            self.riding_back[f].append((refused.take(mine), back[mine]))

    # ---------------------------------------------------------------------------------- end
    def _finish(self, stop_h: float) -> None:
        """Where the parcels not yet at a point are when the run stops at `stop_h`."""
        m = self.m
        trunk, warehouse, van = [], [], []
        for f in range(m.n_fleets):
            inbound = ParcelBatch.concat_slices([x for pieces in self.inbound[f].values() for x in pieces])
            arrived = inbound.hub_h < stop_h
            trunk.append(inbound.take(~arrived))
            warehouse += [inbound.take(arrived), self.queue[f]]
            for parcels, back in self.riding_back[f]:
                warehouse.append(parcels.take(back < stop_h))
                van.append(parcels.take(back >= stop_h))
        van += [d.parcels for d in self.drops if d is not None]

        def placed(batches: list[ParcelBatch]) -> ParcelBatch:
            b = ParcelBatch.concat([x for x in batches if len(x)])
            dest, ptype = self.net.placed(m.fleet_of(b) % self.g, b.point)  # its fleet's stop
            return b.with_(dest=dest, ptype=ptype)

        self.bus.emit(RunEnd(stop_h, placed(trunk), placed(warehouse), placed(van)))
