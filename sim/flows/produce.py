"""Produce going up: offers at village stations by a harvest calendar, collected by the vans
that delivered (backhaul, in the room their drops left), or, when no backhaul can reach them
within their shelf life, by 4PL matching (车源货源撮合): first the spare room of a van already on
the road that day (any fleet's, calling on its way home), then a dedicated truck, each only when
the produce it saves is worth more than the call costs; consolidated at the county warehouse
and sent on the trunk to the cities, in the cold chain for perishables when the scenario has
one. With matching on, a second flow with backhaul only runs beside it on the same offers and
trips (the counterfactual: what would spoil without 4PL).

Produce parcels are data (arrays per item), never processes. What happens to an item is
settled when it is collected: its times to the warehouse, onto the trunk and into the city are
then known, and so is whether it spoiled. Shelf life is used up in proportion to time: an item
spoils when ambient hours / `ambient_shelf_h` + cold hours / `cold_shelf_h` reaches 1 (at a
station, when its ambient shelf life runs out before a van takes it).

Only the fast engine moves produce; the per-parcel reference models the downstream flow only.
Loading produce adds no time to a van's trip (its stops and times are those of its deliveries);
the minutes it would take are reported as van hours added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.core import kernels
from sim.core.clock import in_window, next_wave
from sim.core.ids import STREAM_GROWERS, STREAM_OFFERS
from sim.scenario.delivery import Upstream

STATION_HOUSEHOLDS = 150  # a grower village of this size offers `parcels_per_grower_day`
BACKHAUL, MATCHED, ON_VAN = 0, 1, 2  # how an item was collected: backhaul, 4PL truck, 4PL on a van


def in_season(cfg: Upstream, dates: list) -> np.ndarray:
    """(days, products) bool: each product is offered on each date (MM-DD windows, inclusive;
    a window whose end comes before its start runs over the new year)."""
    out = np.zeros((len(dates), len(cfg.products)), dtype=bool)
    for j, product in enumerate(cfg.products.values()):
        for start, end in product.seasons:
            out[:, j] |= in_window(dates, start, end)
    return out


def grower_rates(cfg: Upstream, households: np.ndarray, seed: int) -> np.ndarray:
    """(villages, products) parcels a day in season: a `growers_share` of villages grows each
    product, each grower with a log-normal volume of mean 1 (`volume_sigma`), "Taobao villages"
    (`taobao_share`, drawn once) selling `taobao_factor` times more; scaled by households."""
    rng = np.random.default_rng([seed, STREAM_GROWERS])
    n, k = len(households), len(cfg.products)
    share = np.array([p.growers_share for p in cfg.products.values()])
    per_day = np.array([p.parcels_per_grower_day for p in cfg.products.values()])
    grows = rng.random((n, k)) < share
    s = cfg.volume_sigma
    volume = rng.lognormal(-0.5 * s * s, s, size=(n, k)) if s > 0 else np.ones((n, k))
    taobao = np.where(rng.random(n) < cfg.taobao_share, cfg.taobao_factor, 1.0)
    return grows * volume * (taobao * households / STATION_HOUSEHOLDS)[:, None] * per_day


@dataclass
class _Items:
    """Produce items as columns: `station` (village index), `product`, `offer_h`, `spoil_h`
    (when its ambient shelf life runs out; inf: it does not spoil)."""

    station: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    product: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    offer_h: np.ndarray = field(default_factory=lambda: np.empty(0))
    spoil_h: np.ndarray = field(default_factory=lambda: np.empty(0))

    def take(self, index) -> _Items:
        return _Items(self.station[index], self.product[index], self.offer_h[index], self.spoil_h[index])

    @staticmethod
    def concat(parts: list[_Items]) -> _Items:
        return _Items(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("station", "product", "offer_h", "spoil_h")
            )
        )

    def __len__(self) -> int:
        return len(self.station)


class ProduceFlow:
    """Produce of one run in the fast engine: `offer` each day, `collect` at each county's
    departure with the trips its fleets drove, `summary` at the end. `matching` overrides
    `upstream.matching` (the counterfactual flow runs with "none")."""

    def __init__(self, model, seed: int, *, matching: str | None = None):
        sc = model.scenario
        self.cfg = cfg = sc.upstream
        self.mode = cfg.matching if matching is None else matching
        self.couriers = sc.couriers
        self.m = model
        p = model.points
        self.nv = p.n_villages
        self.n_stops = len(p.stop_xy)
        self.county = p.county[: self.nv]
        # Produce waits sorted by station in county order (then by offer), so that a county's
        # produce is one range: `rank` is each station's place in that order.
        by_county = np.argsort(self.county, kind="stable")
        self.rank = np.empty(self.nv, dtype=np.int64)
        self.rank[by_county] = np.arange(self.nv)
        self.county_ranks = np.searchsorted(self.county[by_county], np.arange(len(p.county_names) + 1))
        self._deadline_day = -1
        self.rates = grower_rates(cfg, p.households[: self.nv], sc.seed)
        self.season = in_season(cfg, [model.date(d) for d in range(model.total_days)])
        products = list(cfg.products.values())
        self.ambient = np.array([x.ambient_shelf_h or np.inf for x in products])
        self.cold = np.array([(x.cold_shelf_h or np.inf) if cfg.cold_chain else np.nan for x in products])
        self.value = np.array([x.value_yuan for x in products])
        self.rng = np.random.default_rng([seed, STREAM_OFFERS])
        self.waiting = _Items()
        self.spoiled_waiting: list[_Items] = []
        # Collected items: their product, county, offer, how, and city arrival and freshness.
        self.collected: list[tuple[np.ndarray, ...]] = []
        self.capacity = sc.couriers.van_capacity
        self.vans_counted = 0
        self.backhaul_counted = 0
        self.matched = {"trips": 0, "km": 0.0, "cost": 0.0}  # dedicated trucks
        self.on_vans = {"calls": 0, "km": 0.0, "hours": 0.0, "cost": 0.0}  # matched to vans on the road
        self.declined = {"calls": 0, "value": 0.0}  # truck calls not worth their cost
        self.by_county_year: dict[tuple[int, int], np.ndarray] = {}  # trucks, van calls, km, yuan
        # Backhaul only, on the same offers (same stream) and trips: spoilage without 4PL.
        self.shadow = ProduceFlow(model, seed, matching="none") if self.mode != "none" else None

    # ------------------------------------------------------------------------------ network
    def on_network(self, plans, fleets_per_county: int) -> None:
        """Visit frequencies of every fleet at each station, and the travel matrices of each
        county (for the 4PL rule)."""
        g = fleets_per_county
        self.every = np.zeros((g, self.nv), dtype=np.int64)  # 0: no fleet of the kind visits it
        self.phase = np.zeros((g, self.nv), dtype=np.int64)
        self.depot_min = np.zeros(self.nv)
        self.matrix = np.zeros(self.nv, dtype=np.int64)  # each station's index in its county's matrices
        self.stop_matrix = np.zeros(self.n_stops, dtype=np.int64)  # every stop's (township points too)
        # Per county, the plan of its fleet with the most stops: every fleet's stops are among
        # them (in township mode the brands' fleets call at township points only).
        self.plans = tuple(max(plans[c : c + g], key=lambda p: len(p.stops)) for c in range(0, len(plans), g))
        for plan in self.plans:
            self.stop_matrix[plan.stops] = 1 + np.arange(len(plan.stops))
        for f, plan in enumerate(plans):
            village = plan.stops < self.nv
            s = plan.stops[village]
            m = 1 + np.flatnonzero(village)  # matrix indices
            self.every[f % g, s], self.phase[f % g, s] = plan.every_days[m], plan.phase[m]
            self.depot_min[s], self.matrix[s] = plan.minutes[0, m], m
        self._deadline_day = -1
        if self.shadow is not None:
            self.shadow.on_network(plans, fleets_per_county)

    # ------------------------------------------------------------------------------- offers
    def offer(self, day: int, rural_open: np.ndarray) -> None:
        """The day's offers at open stations (Poisson, uniform in the offer hours); produce
        whose shelf life ran out by the day's start counts as spoiled where it waited."""
        w = self.waiting
        gone = w.spoil_h <= 24.0 * day
        if gone.any():
            self.spoiled_waiting.append(w.take(gone))
            w = w.take(~gone)
        rate = self.rates * (self.season[day] & rural_open[:, None])
        counts = self.rng.poisson(rate.ravel())
        cell = np.repeat(np.arange(counts.size), counts)
        station, product = np.divmod(cell, len(self.ambient))
        low, high = self.cfg.offer_hours
        offer_h = 24.0 * day + self.rng.uniform(low, high, size=len(cell))
        new = _Items(station, product, offer_h, offer_h + self.ambient[product])
        both = _Items.concat([w, new])
        self.waiting = both.take(np.lexsort((both.offer_h, self.rank[both.station])))
        if self.shadow is not None:
            self.shadow.offer(day, rural_open)

    # ------------------------------------------------------------------------------ collect
    def collect(self, c: int, day: int, trips: list[tuple], *, counted: bool) -> None:
        """Backhaul on county `c`'s vans that left on `day` (`trips`: per fleet, per visit
        its van, stop, arrival and parcels dropped, and per van its return), then 4PL matching
        for what no backhaul will reach in time: the spare room of those vans on their way
        home (`matching` vans or 4pl), then dedicated trucks (4pl)."""
        if self.shadow is not None:
            self.shadow.collect(c, day, trips, counted=counted)
        everything = self.waiting
        r0, r1 = self.county_ranks[c], self.county_ranks[c + 1]
        rank = self.rank[everything.station]
        a, b = np.searchsorted(rank, [r0, r1])
        w = everything.take(slice(a, b))  # the county's produce
        if trips:
            van, stop, arrive, dropped, back = _join(trips)
            if counted:
                self.vans_counted += len(back)
            taken_by_van = np.zeros(len(back), dtype=np.int64)
            if len(w):
                room = self.capacity - _aboard_after(van, dropped, len(back))
                station = np.where(stop < self.nv, self.rank[np.minimum(stop, self.nv - 1)] - r0, -1)
                start = np.searchsorted(rank[a:b] - r0, np.arange(r1 - r0 + 1))
                state, by_van = kernels.backhaul(
                    np.argsort(arrive, kind="stable"), van, station, arrive, room, len(back),
                    start, w.offer_h, w.spoil_h,
                )  # fmt: skip
                taken = state == 1
                taken_by_van = np.bincount(by_van[taken], minlength=len(back))
                if counted:
                    self.backhaul_counted += int(taken.sum())
                self._settled(w.take(taken), back[by_van[taken]], BACKHAUL)
                if (state == 2).any():
                    self.spoiled_waiting.append(w.take(state == 2))
                w = w.take(state == 0)
            if self.mode != "none" and len(w):
                w = self._on_vans(c, day, w, (van, stop, arrive, back), taken_by_van, counted)
        if self.mode == "4pl" and len(w):
            w = self._matched(c, day, w, counted)
        self.waiting = _Items.concat([everything.take(slice(0, a)), w, everything.take(slice(b, None))])

    def _on_vans(
        self,
        c: int,
        day: int,
        w: _Items,
        trips: tuple[np.ndarray, ...],
        taken_by_van: np.ndarray,
        counted: bool,
    ) -> _Items:
        """4PL matching to the vans of county `c` already on the road (any fleet's): a station
        whose produce would spoil before its next backhaul reaches the warehouse is called at by
        the van with the cheapest detour from its last stop on its way home (one call a van;
        within `couriers.shift_h`; room: `van_capacity` less the produce it took). It takes
        what is offered there by then, first offered first, if the produce it saves (arriving
        fresh) is worth at least the detour (its km and hours at the couriers' rates, with a
        stop's and the parcels' service time). The van's own trip is left as it was (the detour
        is reported and charged, like loading time)."""
        van, stop, arrive, back = trips
        co = self.couriers
        plan = self.plans[c]
        deadline = self._next_backhaul_h(day)
        urgent = w.spoil_h <= deadline[w.station]
        if not urgent.any():
            return w
        n = len(back)
        order = np.lexsort((arrive, van))
        last = order[np.r_[van[order][1:] != van[order][:-1], True]]  # each van's last visit
        at = np.zeros(n, dtype=np.int64)
        at[van[last]] = self.stop_matrix[stop[last]]
        leave = back - plan.minutes[at, 0] / 60.0  # when it left its last stop
        out_h = back - (24.0 * day + co.departure_h)
        room = self.capacity - taken_by_van
        free = room > 0
        stop_h, parcel_h = co.service_min_per_stop / 60.0, co.service_min_per_parcel / 60.0
        take = np.zeros(len(w), dtype=bool)
        home = np.zeros(len(w))
        stations, first = np.unique(w.station, return_index=True)
        ends = np.r_[first[1:], len(w)]
        calls = np.add.reduceat(urgent, first) > 0  # only stations with produce at risk
        # Every van's detour to every such station at once (vans x stations).
        ms_all = self.matrix[stations[calls]]
        to_station = plan.minutes[np.ix_(at, ms_all)]
        detour_min = to_station + plan.minutes[ms_all, 0][None, :] - plan.minutes[at, 0][:, None]
        detour_km = plan.km[np.ix_(at, ms_all)] + plan.km[ms_all, 0][None, :] - plan.km[at, 0][:, None]
        reach = leave[:, None] + to_station / 60.0
        first_offer = np.minimum.reduceat(np.where(urgent, w.offer_h, np.inf), first)[calls]
        last_spoil = np.maximum.reduceat(np.where(urgent, w.spoil_h, -np.inf), first)[calls]
        can = (
            (reach >= first_offer[None, :])
            & (reach < last_spoil[None, :])
            & (out_h[:, None] + detour_min / 60.0 + stop_h <= co.shift_h)
        )
        cost = detour_km * co.cost_per_km + (detour_min / 60.0 + stop_h) * co.cost_per_hour
        for j, (i0, i1) in enumerate(zip(first[calls].tolist(), ends[calls].tolist(), strict=True)):
            if not free.any():
                break
            ok = free & can[:, j]
            if not ok.any():
                continue
            v = int(np.argmin(np.where(ok, cost[:, j], np.inf)))
            t = reach[v, j]
            mine = slice(i0, i1)
            ready = np.flatnonzero((w.offer_h[mine] <= t) & (w.spoil_h[mine] > t))[: room[v]] + i0
            k = len(ready)
            if not k:
                continue
            ms = int(ms_all[j])
            back_h = t + stop_h + k * parcel_h + plan.minutes[ms, 0] / 60.0
            cost_v = float(cost[v, j] + k * parcel_h * co.cost_per_hour)
            items = w.take(ready)
            at_risk = urgent[ready]
            if float(self.value[items.product[at_risk]].sum()) < cost_v:  # not even if all arrive
                continue
            saves = at_risk & (self._arrival(items, np.full(k, back_h))[1] < 1.0)
            if float(self.value[items.product[saves]].sum()) < cost_v:
                continue
            take[ready], home[ready], free[v] = True, back_h, False
            if counted:
                o = self.on_vans
                o["calls"] += 1
                o["km"] += float(detour_km[v, j])
                o["hours"] += float(detour_min[v, j]) / 60.0 + stop_h + k * parcel_h
                o["cost"] += cost_v
                self._book(c, day, 0, 1, float(detour_km[v, j]), cost_v)
        if take.any():
            self._settled(w.take(take), home[take], ON_VAN)
            return w.take(~take)
        return w

    def _matched(self, c: int, day: int, w: _Items, counted: bool) -> _Items:
        """Dedicated 4PL trucks in county `c`: at each station holding produce whose shelf life
        would run out before the next backhaul brings it to the warehouse, a pickup takes
        everything offered there by `matching_pickup_h`. The county's calls are one
        nearest-neighbour tour from the warehouse, cut into trips (`_cut`); each trip reaches
        its first station at the pickup hour. A trip is driven only when the produce it saves
        (the urgent produce that reaches the city fresh when driven straight home) is worth at
        least its cost and `matching_min_value_yuan`; a trip that is not worth it is tried
        station by station, each alone."""
        cfg = self.cfg
        t = 24.0 * day + cfg.matching_pickup_h
        ready = (w.offer_h <= t) & (w.spoil_h > t)
        urgent = ready & (w.spoil_h <= self._next_backhaul_h(day)[w.station])
        if not urgent.any():
            return w
        stations = np.unique(w.station[urgent])
        take = ready & np.isin(w.station, stations)
        items = w.take(take)
        saves = urgent[take] & (self._arrival(items, t + self.depot_min[items.station] / 60.0)[1] < 1.0)
        worth = np.bincount(items.station[saves], self.value[items.product[saves]], minlength=self.nv)
        load = np.bincount(items.station, minlength=self.nv)[stations]
        plan = self.plans[c]
        order = _nearest_tour(plan.km, self.matrix[stations])
        tour, m, load = stations[order], self.matrix[stations[order]], load[order]
        trips: list[np.ndarray] = []
        for r in _cut(m, load, plan.minutes, cfg):
            value = float(worth[tour[r]].sum())
            if value >= max(self._trip(plan, m[r], load[r])[3], cfg.matching_min_value_yuan):
                trips.append(r)
                continue
            for k in r.tolist():  # each station alone
                if worth[tour[k]] >= max(
                    self._trip(plan, m[k : k + 1], load[k : k + 1])[3], cfg.matching_min_value_yuan
                ):
                    trips.append(np.array([k]))
                elif counted:
                    self.declined["calls"] += 1
                    self.declined["value"] += float(worth[tour[k]])
        if not trips:
            return w
        back = np.zeros(self.nv)
        served = np.zeros(self.nv, dtype=bool)
        for r in trips:
            trucks, km, minutes, cost = self._trip(plan, m[r], load[r])
            back[tour[r]] = t + minutes / 60.0
            served[tour[r]] = True
            if counted:
                self.matched["trips"] += trucks
                self.matched["km"] += km
                self.matched["cost"] += cost
                self._book(c, day, trucks, 0, km, cost)
        take &= served[w.station]
        self._settled(w.take(take), back[w.station[take]], MATCHED)
        return w.take(~take)

    def _trip(self, plan, m: np.ndarray, load: np.ndarray) -> tuple[int, float, float, float]:
        """A dedicated trip over matrix indices `m` of `plan` (in order) with their `load`:
        trucks (more than one when over a truckload), km of all its trucks (depot, stops,
        depot), minutes from the first stop home, cost of all its trucks (yuan)."""
        cfg = self.cfg
        km = float(plan.km[0, m[0]] + plan.km[m[:-1], m[1:]].sum() + plan.km[m[-1], 0])
        minutes = float(plan.minutes[m[:-1], m[1:]].sum() + plan.minutes[m[-1], 0])
        trucks = -(-int(load.sum()) // cfg.matching_capacity)
        return (
            trucks,
            trucks * km,
            minutes,
            trucks * (km * cfg.matching_cost_per_km + cfg.matching_cost_per_trip),
        )

    def _book(self, c: int, day: int, trucks: int, calls: int, km: float, cost: float) -> None:
        """4PL cost of county `c` in the calendar year of `day`."""
        key = (c, self.m.date(day).year)
        row = self.by_county_year.setdefault(key, np.zeros(4))
        row += (trucks, calls, km, cost)

    def _next_backhaul_h(self, day: int) -> np.ndarray:
        """Per station, after `day`: when the next backhaul could have its produce at the
        warehouse, at the earliest: its van out on the next day a fleet visits it, at the
        station after the drive out, home after the rest of its route (`matching_margin_h`)
        and the drive back. Worked out once a day."""
        if self._deadline_day != day:
            e, step = self.every, np.maximum(self.every, 1)
            nxt = np.where(
                e > 0, day + 1 + (e - (day + 1 + self.phase) % step) % step, np.iinfo(np.int64).max // 48
            )
            self._deadline = 24.0 * nxt.min(axis=0) + self.m.scenario.couriers.departure_h
            self._deadline += 2 * self.depot_min / 60 + self.cfg.matching_margin_h
            self._deadline_day = day
        return self._deadline

    def _arrival(self, items: _Items, warehouse_h: np.ndarray) -> tuple[np.ndarray, ...]:
        """Items at the county warehouse at `warehouse_h`: consolidation, the next trunk out,
        the city. (city hour, share of shelf life used on arrival (>= 1: spoiled), cold chain)."""
        cfg = self.cfg
        trunk_h, _ = next_wave(warehouse_h + cfg.consolidation_h, cfg.trunk_out_h)
        city_h = trunk_h + cfg.trunk_to_city_h
        ambient, cold = self.ambient[items.product], self.cold[items.product]
        chain = np.isfinite(ambient) & ~np.isnan(cold)  # perishables in the cold chain from the warehouse
        used = np.where(
            chain,
            (warehouse_h - items.offer_h) / ambient + (city_h - warehouse_h) / np.where(chain, cold, 1.0),
            (city_h - items.offer_h) / ambient,
        )
        return city_h, used, chain

    def _settled(self, items: _Items, warehouse_h: np.ndarray, how: int) -> None:
        """Collected items' way on (`_arrival`): spoiled or fresh in the city."""
        if not len(items):
            return
        city_h, used, chain = self._arrival(items, warehouse_h)
        # Kept until the summary, a year's produce (millions of items, twice with the
        # counterfactual flow): small integer types for the small numbers.
        self.collected.append(
            (
                items.product.astype(np.int8),
                self.county[items.station].astype(np.int16),
                items.offer_h,
                city_h,
                used < 1.0,
                np.full(len(items), how, dtype=np.int8),
                np.asarray(chain, dtype=bool),
            )
        )

    # ------------------------------------------------------------------------------ summary
    def summary(self, county_names: Sequence[str]) -> dict[str, Any]:
        """Counts, times (hours) and costs (yuan) of the produce offered within the horizon:
        offered = arrived fresh + spoiled + waiting + in transit at the end."""
        # The counterfactual first, so that its item arrays are gone before this flow's are made.
        alone = None if self.shadow is None else self.shadow.summary(county_names)  # without 4PL
        m, cfg = self.m, self.cfg
        start, end = m.start_h, m.end_h
        w = self.waiting
        late = w.spoil_h <= end
        spoiled_at = _Items.concat([*self.spoiled_waiting, w.take(late)])
        waiting = w.take(~late)
        names = list(cfg.products)
        # The items offered within the horizon, column by column (a year holds millions).
        mine = [piece[2] >= start for piece in self.collected]
        cols: list[np.ndarray] = [
            np.concatenate([piece[k][m] for piece, m in zip(self.collected, mine, strict=True)])
            if self.collected
            else np.empty(0)
            for k in range(7)
        ]
        product, county, offer, city, fresh, how, chain = cols
        product, county, how = (x.astype(np.int64) for x in (product, county, how))
        fresh, chain = fresh.astype(bool), chain.astype(bool)
        there = city < end
        arrived, spoiled_transit = there & fresh, there & ~fresh
        s_mine, w_mine = spoiled_at.offer_h >= start, waiting.offer_h >= start
        k, nc = len(names), len(county_names)

        def count(where: np.ndarray, of: np.ndarray, n: int) -> np.ndarray:
            return np.bincount(of[where], minlength=n)

        offered_p = (
            count(there, product, k) + count(~there, product, k)
            + count(s_mine, spoiled_at.product, k) + count(w_mine, waiting.product, k)
        )  # fmt: skip
        spoiled_p = count(spoiled_transit, product, k) + count(s_mine, spoiled_at.product, k)
        arrived_p = count(arrived, product, k)
        hours = city[arrived] - offer[arrived]
        block: dict[str, Any] = {
            "offered": int(offered_p.sum()),
            "arrived_fresh": int(arrived_p.sum()),
            "spoiled_at_station": int(s_mine.sum()),
            "spoiled_in_transit": int(spoiled_transit.sum()),
            "waiting_at_station_at_end": int(w_mine.sum()),
            "in_transit_at_end": int((~there).sum()),
        }
        block["reconciled"] = block["offered"] == sum(v for key, v in block.items() if key != "offered")
        block["spoiled_share"] = _share(int(spoiled_p.sum()), block["offered"])
        block["offer_to_city_h"] = _times(hours)
        block["cold_chain_share"] = _share(int(chain[there].sum()), int(there.sum()))
        block["by_product"] = {
            name: {
                "offered": int(offered_p[j]),
                "arrived_fresh": int(arrived_p[j]),
                "spoiled": int(spoiled_p[j]),
                "spoiled_share": _share(int(spoiled_p[j]), int(offered_p[j])),
                "offer_to_city_h": _times(hours[product[arrived] == j]),
            }
            for j, name in enumerate(names)
        }
        offered_c = (
            count(np.ones(len(county), bool), county, nc)
            + count(s_mine, self.county[spoiled_at.station], nc)
            + count(w_mine, self.county[waiting.station], nc)
        )
        spoiled_c = count(spoiled_transit, county, nc) + count(s_mine, self.county[spoiled_at.station], nc)
        block["by_county"] = {
            name: {
                "offered": int(offered_c[i]),
                "arrived_fresh": int(count(arrived, county, nc)[i]),
                "spoiled_share": _share(int(spoiled_c[i]), int(offered_c[i])),
            }
            for i, name in enumerate(county_names)
        }
        service_h = self.m.scenario.couriers.service_min_per_parcel / 60.0
        block["backhaul"] = {
            "parcels": self.backhaul_counted,
            "load_factor": _share(self.backhaul_counted, self.vans_counted * self.capacity),
            "van_hours_added_loading": self.backhaul_counted * service_h,
            "van_km_added": 0.0,
        }
        block["value_offered_yuan"] = float(offered_p @ self.value)
        block["value_spoiled_yuan"] = float(spoiled_p @ self.value)
        alone = block if alone is None else alone
        block["without_4pl"] = {
            "spoiled": alone["spoiled_at_station"] + alone["spoiled_in_transit"],
            "spoiled_share": alone["spoiled_share"],
            "arrived_fresh": alone["arrived_fresh"],
            "value_spoiled_yuan": alone["value_spoiled_yuan"],
        }
        block["spoiled_share_without_4pl"] = alone["spoiled_share"]
        trucks, vans = self.matched, self.on_vans
        cost = trucks["cost"] + vans["cost"]
        names_c = list(county_names)
        block["matching"] = {
            "mode": self.mode,
            "payer": cfg.matching_payer,
            "trips": trucks["trips"],
            "parcels": int(np.isin(how, (MATCHED, ON_VAN)).sum()),
            "van_km_added": trucks["km"] + vans["km"],
            "cost_yuan": cost,
            "public_cost_yuan": cost if cfg.matching_payer == "county" else 0.0,
            "cost_per_parcel_yuan": _share(cost, int(np.isin(how, (MATCHED, ON_VAN)).sum())),
            "value_saved_yuan": alone["value_spoiled_yuan"] - block["value_spoiled_yuan"],
            "dedicated": {
                "trips": trucks["trips"],
                "parcels": int((how == MATCHED).sum()),
                "km": trucks["km"],
                "cost_yuan": trucks["cost"],
                "calls_declined": self.declined["calls"],
                "value_declined_yuan": self.declined["value"],
            },
            "on_vans": {
                "calls": vans["calls"],
                "parcels": int((how == ON_VAN).sum()),
                "km": vans["km"],
                "hours": vans["hours"],
                "cost_yuan": vans["cost"],
            },
            "by_county_year": {
                names_c[c]: {
                    str(y): {
                        "trips": int(r[0]),
                        "van_calls": int(r[1]),
                        "km": float(r[2]),
                        "cost_yuan": float(r[3]),
                    }
                    for (cc, y), r in sorted(self.by_county_year.items())
                    if cc == c
                }
                for c in sorted({c for c, _ in self.by_county_year})
            },
        }
        return block


def operators_share_yuan(upstream: dict | None, payer: str) -> float:
    """The 4PL cost the express operators pay (`matching_payer: operator`; in their courier
    cost), yuan; 0 otherwise."""
    if not upstream or "matching" not in upstream or payer != "operator":
        return 0.0
    return float(upstream["matching"]["cost_yuan"])


def ledger_rows(upstream: dict | None, last_day: str) -> pd.DataFrame:
    """The 4PL cost as ledger rows (`sim.money.subsidies.LEDGER_COLUMNS`): one per county and year,
    rule "4pl-matching", paid by `matching.payer` on 31 December (or `last_day`, ISO, when the
    run ends first), with the trips, van calls and km it paid for. Empty without 4PL costs."""
    columns = ("date", "payer", "rule", "recipient_kind", "recipient", "county", "amount_yuan", "basis")
    rows = []
    matching = (upstream or {}).get("matching") or {}
    for county, years in matching.get("by_county_year", {}).items():
        for year, r in years.items():
            rows.append(
                (
                    min(f"{year}-12-31", last_day), matching["payer"], "4pl-matching", "4pl",
                    f"4pl/{county}", county, r["cost_yuan"],
                    f"trucks={r['trips']}; van calls={r['van_calls']}; km={r['km']:.1f}",
                )
            )  # fmt: skip
    return pd.DataFrame(rows, columns=list(columns))


def public_cost(
    subsidies_yuan: float, upstream: dict | None, parcels_delivered: int
) -> dict[str, float | None]:
    """Public money (yuan): the subsidies paid and the 4PL cost when the county pays it
    (`matching_payer: county`), in all and per parcel delivered."""
    matching = (upstream or {}).get("matching") or {}
    public_4pl = float(matching.get("public_cost_yuan", 0.0))
    total = float(subsidies_yuan) + public_4pl
    return {
        "subsidies_yuan": float(subsidies_yuan),
        "matching_4pl_yuan": public_4pl,
        "total_yuan": total,
        "per_parcel_yuan": total / parcels_delivered if parcels_delivered else None,
    }


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _times(hours: np.ndarray) -> dict[str, float | int | None]:
    """Count, mean, p50 and p90 of lead times (hours)."""
    if not len(hours):
        return {"parcels": 0, "mean_h": None, "p50_h": None, "p90_h": None}
    p50, p90 = np.percentile(hours, [50, 90])
    return {"parcels": len(hours), "mean_h": float(hours.mean()), "p50_h": float(p50), "p90_h": float(p90)}


def _join(trips: list[tuple]) -> tuple[np.ndarray, ...]:
    """One county's trips of one departure, fleets together: vans numbered one after another."""
    vans = np.cumsum([0] + [len(t[4]) for t in trips])
    van = np.concatenate([t[0] + vans[i] for i, t in enumerate(trips)])
    return (van, *(np.concatenate([t[j] for t in trips]) for j in range(1, 5)))


def _aboard_after(van: np.ndarray, dropped: np.ndarray, n_vans: int) -> np.ndarray:
    """Per visit (van by van, in visiting order): parcels still aboard after its drop."""
    total = np.bincount(van, weights=dropped, minlength=n_vans)
    done = np.cumsum(dropped)
    first = np.searchsorted(van, np.arange(n_vans))
    before = (done - dropped)[first]  # dropped by earlier vans
    return total[van] - (done - before[van])


def _nearest_tour(km: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Positions into `stops` (matrix indices) in nearest-neighbour order from the depot (0)."""
    left = np.ones(len(stops), dtype=bool)
    order = np.empty(len(stops), dtype=np.int64)
    here = 0
    for k in range(len(stops)):
        j = int(np.argmin(np.where(left, km[here, stops], np.inf)))
        order[k], left[j], here = j, False, stops[j]
    return order


def _cut(stops: np.ndarray, load: np.ndarray, minutes: np.ndarray, cfg: Upstream) -> list[np.ndarray]:
    """A pickup tour over `stops` (matrix indices, in order, with their `load`) cut into trips:
    consecutive runs within `matching_capacity` parcels and `matching_trip_h` hours from the
    first stop back to the warehouse (a stop over either runs alone)."""
    runs, start, parcels, hours = [], 0, 0, 0.0
    for k in range(len(stops)):
        leg = minutes[stops[k - 1], stops[k]] / 60.0 if k > start else 0.0
        home = minutes[stops[k], 0] / 60.0
        if k > start and (
            parcels + load[k] > cfg.matching_capacity or hours + leg + home > cfg.matching_trip_h
        ):
            runs.append(np.arange(start, k))
            start, parcels, hours, leg = k, 0, 0.0, 0.0
        parcels += int(load[k])
        hours += leg
    runs.append(np.arange(start, len(stops)))
    return runs
