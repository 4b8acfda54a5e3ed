"""Produce going up: offers at village stations by a harvest calendar, collected by the vans
that delivered (backhaul, in the room their drops left), or by a dedicated 4PL pickup when no
backhaul can reach them within their shelf life; consolidated at the county warehouse and sent
on the trunk to the cities, in the cold chain for perishables when the scenario has one.

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

from dataclasses import dataclass, field

import numpy as np

from sim import kernels
from sim.clock import in_window, next_wave
from sim.config import Upstream
from sim.model import STREAM_GROWERS, STREAM_OFFERS

STATION_HOUSEHOLDS = 150  # a grower village of this size offers `parcels_per_grower_day`
BACKHAUL, MATCHED = 0, 1  # how an item was collected


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
    departure with the trips its fleets drove, `summary` at the end."""

    def __init__(self, model, seed: int):
        sc = model.scenario
        self.cfg = cfg = sc.upstream
        self.m = model
        p = model.points
        self.nv = p.n_villages
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
        self.rng = np.random.default_rng([seed, STREAM_OFFERS])
        self.waiting = _Items()
        self.spoiled_waiting: list[_Items] = []
        # Collected items: their product, county, offer, how, and city arrival and freshness.
        self.collected: list[tuple[np.ndarray, ...]] = []
        self.capacity = sc.couriers.van_capacity
        self.vans_counted = 0
        self.backhaul_counted = 0
        self.matched = {"trips": 0, "km": 0.0}

    # ------------------------------------------------------------------------------ network
    def on_network(self, plans, fleets_per_county: int) -> None:
        """Visit frequencies of every fleet at each station, and the travel matrices of each
        county (for the 4PL rule)."""
        g = fleets_per_county
        self.every = np.zeros((g, self.nv), dtype=np.int64)  # 0: no fleet of the kind visits it
        self.phase = np.zeros((g, self.nv), dtype=np.int64)
        self.depot_min = np.zeros(self.nv)
        self.matrix = np.zeros(self.nv, dtype=np.int64)  # each station's index in its county's matrices
        self.plans = plans[::g]  # a county's fleets share its stops and travel matrices
        for f, plan in enumerate(plans):
            village = plan.stops < self.nv
            s = plan.stops[village]
            m = 1 + np.flatnonzero(village)  # matrix indices
            self.every[f % g, s], self.phase[f % g, s] = plan.every_days[m], plan.phase[m]
            self.depot_min[s], self.matrix[s] = plan.minutes[0, m], m
        self._deadline_day = -1

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
        offer_h = 24.0 * day + self.rng.uniform(*self.cfg.offer_hours, size=len(cell))
        new = _Items(station, product, offer_h, offer_h + self.ambient[product])
        both = _Items.concat([w, new])
        self.waiting = both.take(np.lexsort((both.offer_h, self.rank[both.station])))

    # ------------------------------------------------------------------------------ collect
    def collect(self, c: int, day: int, trips: list[tuple], *, counted: bool) -> None:
        """Backhaul on county `c`'s vans that left on `day` (`trips`: per fleet, per visit
        its van, stop, arrival and parcels dropped, and per van its return), then dedicated
        pickups (4PL matching) for what no backhaul will reach in time."""
        everything = self.waiting
        r0, r1 = self.county_ranks[c], self.county_ranks[c + 1]
        rank = self.rank[everything.station]
        a, b = np.searchsorted(rank, [r0, r1])
        w = everything.take(slice(a, b))  # the county's produce
        if trips:
            van, stop, arrive, dropped, back = _join(trips)
            if counted:
                self.vans_counted += len(back)
            if len(w):
                room = self.capacity - _aboard_after(van, dropped, len(back))
                station = np.where(stop < self.nv, self.rank[np.minimum(stop, self.nv - 1)] - r0, -1)
                start = np.searchsorted(rank[a:b] - r0, np.arange(r1 - r0 + 1))
                state, by_van = kernels.backhaul(
                    np.argsort(arrive, kind="stable"), van, station, arrive, room, len(back),
                    start, w.offer_h, w.spoil_h,
                )  # fmt: skip
                taken = state == 1
                if counted:
                    self.backhaul_counted += int(taken.sum())
                self._settled(w.take(taken), back[by_van[taken]], BACKHAUL)
                if (state == 2).any():
                    self.spoiled_waiting.append(w.take(state == 2))
                w = w.take(state == 0)
        if self.cfg.matching == "4pl" and len(w):
            w = self._matched(c, day, w)
        self.waiting = _Items.concat([everything.take(slice(0, a)), w, everything.take(slice(b, None))])

    def _matched(self, c: int, day: int, w: _Items) -> _Items:
        """4PL matching in county `c`: at each station holding produce whose shelf life would run
        out before the next backhaul brings it to the warehouse, a dedicated pickup takes
        everything offered there by `matching_pickup_h`. The county's
        calls are one nearest-neighbour tour from the warehouse, cut into trips (`_cut`); each
        trip reaches its first station at the pickup hour."""
        cfg = self.cfg
        t = 24.0 * day + cfg.matching_pickup_h
        ready = (w.offer_h <= t) & (w.spoil_h > t)
        urgent = ready & (w.spoil_h <= self._next_backhaul_h(day)[w.station])
        if not urgent.any():
            return w
        stations = np.unique(w.station[urgent])
        take = ready & np.isin(w.station, stations)
        items = w.take(take)
        load = np.bincount(items.station, minlength=self.nv)[stations]
        plan = self.plans[c]
        order = _nearest_tour(plan.km, self.matrix[stations])
        tour, m, load = stations[order], self.matrix[stations[order]], load[order]
        run = np.zeros(len(tour), dtype=np.int64)
        for k, r in enumerate(_cut(m, load, plan.minutes, cfg)):
            run[r] = k
        first = np.r_[True, run[1:] != run[:-1]]
        last = np.r_[run[1:] != run[:-1], True]
        inner = ~first  # legs from the previous stop of the same trip
        n = int(run[-1]) + 1
        minutes = (
            np.bincount(run[inner], plan.minutes[m[:-1], m[1:]][inner[1:]], n) + plan.minutes[m[last], 0]
        )
        km = (
            np.bincount(run[inner], plan.km[m[:-1], m[1:]][inner[1:]], n)
            + plan.km[m[last], 0]
            + plan.km[0, m[first]]
        )
        trucks = -(-np.bincount(run, load, n) // cfg.matching_capacity)  # > 1: a station over a truckload
        back = np.zeros(self.nv)
        back[tour] = t + (minutes / 60.0)[run]
        trips, km = int(trucks.sum()), float((trucks * km).sum())
        if t >= self.m.start_h:
            self.matched["trips"] += trips
            self.matched["km"] += float(km)
        self._settled(items, back[items.station], MATCHED)
        return w.take(~take)

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

    def _settled(self, items: _Items, warehouse_h: np.ndarray, how: int) -> None:
        """Collected items' way on: consolidation at the warehouse, the next trunk out, the
        city; spoiled or fresh on arrival."""
        if not len(items):
            return
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
        self.collected.append(
            (
                items.product,
                self.county[items.station],
                items.offer_h,
                city_h,
                used < 1.0,
                np.full(len(items), how),
                chain,
            )
        )

    # ------------------------------------------------------------------------------ summary
    def summary(self, county_names: list[str]) -> dict[str, object]:
        """Counts, times (hours) and costs (yuan) of the produce offered within the horizon:
        offered = arrived fresh + spoiled + waiting + in transit at the end."""
        m, cfg = self.m, self.cfg
        start, end = m.start_h, m.end_h
        w = self.waiting
        late = w.spoil_h <= end
        spoiled_at = _Items.concat([*self.spoiled_waiting, w.take(late)])
        waiting = w.take(~late)
        names = list(cfg.products)
        cols = (
            [np.concatenate(c) for c in zip(*self.collected, strict=True)]
            if self.collected
            else [np.empty(0)] * 7
        )
        product, county, offer, city, fresh, how, chain = cols
        product, county, how = (x.astype(np.int64) for x in (product, county, how))
        fresh, chain = fresh.astype(bool), chain.astype(bool)
        mine = offer >= start
        product, county, offer, city, fresh, how, chain = (
            x[mine] for x in (product, county, offer, city, fresh, how, chain)
        )
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
        block = {
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
        matched = int((how == MATCHED).sum())
        block["matching"] = {
            "mode": cfg.matching,
            "trips": self.matched["trips"],
            "parcels": matched,
            "van_km_added": self.matched["km"],
            "cost_yuan": self.matched["km"] * cfg.matching_cost_per_km
            + self.matched["trips"] * cfg.matching_cost_per_trip,
        }
        return block


def _share(part: int, whole: int) -> float | None:
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
