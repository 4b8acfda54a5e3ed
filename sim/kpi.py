"""Streaming KPIs of a simulation: an observer of the engine's events (`sim.core.events`), keeping
fixed-bin histograms and counters, no per-parcel tables.

Lead times go into histograms with bins of 0.1 h up to 120 h, 1 h up to 480 h and 6 h up to
`MAX_H` (parcels beyond are counted and reported); means are exact (running sums), percentiles
are read from the histograms, interpolated within a bin. The histograms are small (int32, about
200 kB each) because every parcel updates them at a random place: larger ones fall out of the
processor's cache and slowed the whole engine by a third. Groups are (county, delivery-point
type) pairs, so totals and per-county and per-type figures all come from the same counters. A
parcel counts when ordered within the horizon; its group is the point it was delivered to (or,
still on its way at the end, the point serving it then). Figures are kept unrounded: rounding
is for whoever writes them.

Parcels are followed until the run stops, past the horizon when it runs on (`sim.engine.runon`), so
lead times are not censored; what describes operations (vans, backlogs, warehouse orders,
station-days, stock at points) counts the horizon only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from sim.core import kernels
from sim.core.batch import ParcelBatch
from sim.core.events import DayEnd, Delivered, Dispatched, Ordered, Refused, RunEnd, Trips
from sim.core.ids import COMMUNITY_LOCKER, POINT_TYPES
from sim.network.points import Points

LEVELS = ((0.1, 120.0), (1.0, 480.0), (6.0, 2400.0))  # (bin width, up to) in hours
FINE_H, FINE_UNTIL_H = LEVELS[0]
MAX_H = LEVELS[-1][1]
#: Lower edge of each bin (hours); the last bin holds everything from `MAX_H` on.
EDGES_H = np.concatenate(
    [
        lo + np.arange(round((hi - lo) / w)) * w
        for (w, hi), lo in zip(LEVELS, (0.0, *(h for _, h in LEVELS)), strict=False)
    ]
    + [[MAX_H]]
)
N_BINS = len(EDGES_H)
QUANTILES = (0.5, 0.9, 0.95, 0.99)
STATES = ("picked_up", "waiting_at_point", "in_van", "at_warehouse", "in_trunk", "returned")
TYPES = len(POINT_TYPES)


@dataclass
class LeadTimes:
    """Histogram, sum and count of a lead time (hours) per group."""

    groups: int
    hist: np.ndarray = field(init=False)
    total: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.hist = np.zeros((self.groups, N_BINS), dtype=np.int32)
        self.total = np.zeros(self.groups)

    def add(self, group: np.ndarray, hours: np.ndarray) -> None:
        """Count lead times (hours, >= 0) in their groups' histograms."""
        kernels.add_lead_times(self.hist, self.total, group, hours, EDGES_H, FINE_H, FINE_UNTIL_H)

    def summary(self, groups: np.ndarray) -> dict[str, float | int | None]:
        """Count, mean and percentiles (hours) over the chosen groups; `over_max` parcels took
        longer than the histogram holds (`MAX_H`), so percentiles there are lower bounds."""
        hist = self.hist[groups].sum(axis=0, dtype=np.int64)
        n = int(hist.sum())
        out: dict[str, float | int | None] = {"parcels": n, "mean_h": None}
        out |= {f"p{round(q * 100)}_h": None for q in QUANTILES}
        out["over_max"] = int(hist[-1])
        if n == 0:
            return out
        out["mean_h"] = float(self.total[groups].sum()) / n
        cum = np.cumsum(hist)
        for q in QUANTILES:
            k = int(np.searchsorted(cum, q * n))
            below = cum[k - 1] if k else 0
            frac = (q * n - below) / max(hist[k], 1)  # interpolate within the bin
            width = EDGES_H[k + 1] - EDGES_H[k] if k + 1 < N_BINS else 0.0
            out[f"p{round(q * 100)}_h"] = float(EDGES_H[k] + frac * width)
        return out

    def cdf(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hours, share of parcels below) at each bin's upper edge, over the chosen groups."""
        hist = self.hist[groups].sum(axis=0, dtype=np.int64)
        n = max(int(hist.sum()), 1)
        return np.append(EDGES_H[1:], MAX_H), np.cumsum(hist) / n  # the overflow drawn at MAX_H


class Kpi:
    """All counters of one run, filled from the engine's events."""

    def __init__(
        self,
        points: Points,
        *,
        start_h: float,
        end_h: float,
        resolve_h: float | None = None,
        warmup_days: int,
        days: int,
        villager_speed_kmh: float,
        van_capacity: int,
        carriers: tuple[str, ...] = ("all",),
    ):
        """Parcels ordered from `start_h` to `end_h` are counted, and followed until `resolve_h`
        (default `end_h`), the latest the run may stop at; `carriers`: names of the carriers
        (`ParcelBatch.carrier` indexes them)."""
        self.points = points
        self.counties = len(points.county_names)
        self.start_h, self.end_h, self.warmup, self.days = start_h, end_h, warmup_days, days
        self.resolve_h = end_h if resolve_h is None else resolve_h
        self.speed = villager_speed_kmh
        g = self.counties * TYPES
        self.available = LeadTimes(g)
        self.in_hand = LeadTimes(g)
        self.ordered_by_county = np.zeros(self.counties, dtype=np.int64)
        self.delivered = np.zeros(g, dtype=np.int64)
        self.state = {s: np.zeros(g, dtype=np.int64) for s in STATES}
        self.refused = np.zeros(g, dtype=np.int64)
        self.villager_km = np.zeros(g)
        self.village_hand_sum = np.zeros(points.n_villages)  # order to hand, hours
        self.village_picked = np.zeros((TYPES, points.n_villages), dtype=np.int64)  # by point type
        hours = int(np.ceil(self.resolve_h)) + 1
        self.point_arrivals_per_h = np.zeros(hours, dtype=np.int64)
        self.point_releases_per_h = np.zeros(hours, dtype=np.int64)
        self.sojourn_h = 0.0
        self.sojourn_n = 0
        self.warehouse_orders = np.zeros((self.counties, days), dtype=np.int64)
        self.backlog: list[list[int]] = [[] for _ in range(self.counties)]  # all fleets, per departure
        self.backlog_at = np.full(self.counties, -np.inf)
        self.held_by_faults = np.zeros(
            self.counties, dtype=np.int64
        )  # parcel-departures kept back  # the departure backlog[c][-1] is of
        self.station_day: dict[int, np.ndarray] = {}  # parcels per village station, by day
        self.station_day_counts = np.zeros(1, dtype=np.int64)  # station-days by parcels received
        self.tallied_to_day = -1  # station tallies are closed up to this day
        self.van = {"routes": 0, "stops": 0, "km": 0.0, "hours": 0.0, "loaded": 0, "capacity": 0}
        self.van_by_county = np.zeros((self.counties, 3))  # km, hours, routes
        self.van_capacity = van_capacity
        # Per carrier: parcels picked up and their order-to-hand times; the vans of its own
        # fleets (separate mode): km, hours, routes, stops; the pooled fleets' in the last row.
        self.carriers = carriers
        self.carrier_hand = LeadTimes(len(carriers))
        self.carrier_delivered = np.zeros(len(carriers), dtype=np.int64)
        self.carrier_vans = np.zeros((len(carriers) + 1, 4))

    def group(self, parcels: ParcelBatch) -> np.ndarray:
        return self.points.county[parcels.point] * TYPES + parcels.ptype

    def groups_where(self, *, county: int | None = None, point_type: int | None = None) -> np.ndarray:
        c = np.arange(self.counties) if county is None else np.array([county])
        t = np.arange(TYPES) if point_type is None else np.array([point_type])
        return (c[:, None] * TYPES + t[None, :]).ravel()

    # ------------------------------------------------------------------------------- events
    def on_ordered(self, e: Ordered) -> None:
        p = e.parcels
        county = self.points.county[p.point]
        counted = p.order_h >= self.start_h
        self.ordered_by_county += np.bincount(county[counted], minlength=self.counties)
        day = np.floor(p.hub_h / 24.0).astype(np.int64) - self.warmup
        inside = (day >= 0) & (day < self.days)
        np.add.at(self.warehouse_orders.ravel(), county[inside] * self.days + day[inside], 1)

    def on_dispatched(self, e: Dispatched) -> None:
        if not self.start_h <= e.depart_h < self.end_h:
            return
        self.held_by_faults[e.county] += e.held
        if self.backlog_at[e.county] == e.depart_h:  # another fleet of the county, same departure
            self.backlog[e.county][-1] += e.waiting
        else:
            self.backlog[e.county].append(e.waiting)
            self.backlog_at[e.county] = e.depart_h

    def on_trips(self, e: Trips) -> None:
        if not self.start_h <= e.depart_h < self.end_h:
            return
        v = self.van
        vans = len(e.route)
        v["routes"] += vans
        v["stops"] += len(e.visit_van)
        v["km"] += float(e.km.sum())
        v["hours"] += float(e.minutes.sum()) / 60.0
        v["loaded"] += int(e.parcels.sum())
        v["capacity"] += vans * self.van_capacity
        for col, x in enumerate((e.km, e.minutes / 60.0, np.ones(vans))):
            self.van_by_county[:, col] += np.bincount(e.county, weights=x, minlength=self.counties)
        stops = np.bincount(e.visit_van, minlength=vans)
        fleet = np.where(e.carrier < 0, len(self.carriers), e.carrier)
        for col, x in enumerate((e.km, e.minutes / 60.0, np.ones(vans), stops)):
            self.carrier_vans[:, col] += np.bincount(fleet, weights=x, minlength=len(self.carrier_vans))

    def on_refused(self, e: Refused) -> None:
        counted = e.parcels.order_h >= self.start_h
        np.add.at(self.refused, self.group(e.parcels)[counted], 1)

    def on_delivered(self, e: Delivered) -> None:
        p, arrive, release, end = e.parcels, e.arrive_h, e.release_h, self.resolve_h
        # Stock at points, over every parcel (warm-up ones too), for Little's law. (Masks are
        # made only when needed: most batches lie wholly within the horizon.)
        np.add.at(self.point_arrivals_per_h, arrive.astype(np.int64), 1)
        gone = release if release.max(initial=0) < end else release[release < end]
        np.add.at(self.point_releases_per_h, gone.astype(np.int64), 1)
        if arrive.min(initial=end) >= self.start_h and arrive.max(initial=0) < self.end_h:
            self.sojourn_h += float((release - arrive).sum())
            self.sojourn_n += len(arrive)
        else:
            within = (arrive >= self.start_h) & (arrive < self.end_h)
            self.sojourn_h += float((release[within] - arrive[within]).sum())
            self.sojourn_n += int(within.sum())
        self._station_days(p, arrive)
        if len(self.carriers) > 1:
            self._by_carrier(p, release, e.returned)
        group = self.points.county[p.point] * TYPES + p.ptype
        kernels.tally_delivered(
            group, p.point, p.order_h, arrive, release, e.returned, e.km, p.ptype,
            self.start_h, end, self.speed, self.points.n_villages,
            self.delivered, self.available.hist, self.available.total, self.in_hand.hist, self.in_hand.total,
            self.state["returned"], self.state["waiting_at_point"], self.state["picked_up"],
            self.villager_km, self.village_picked, self.village_hand_sum,
            EDGES_H, FINE_H, FINE_UNTIL_H,
        )  # fmt: skip

    def _by_carrier(self, p: ParcelBatch, release: np.ndarray, returned: np.ndarray) -> None:
        kernels.tally_carriers(
            p.carrier, p.order_h, release, returned, self.start_h, self.resolve_h, self.carrier_delivered,
            self.carrier_hand.hist, self.carrier_hand.total, EDGES_H, FINE_H, FINE_UNTIL_H,
        )  # fmt: skip

    def _station_days(self, p: ParcelBatch, arrive: np.ndarray) -> None:
        """Parcels received per village station and day (a village's stop is its station)."""
        if not len(arrive):
            return
        day = (arrive * (1.0 / 24.0)).astype(np.int64)
        first, last = int(day.min()), int(day.max())
        if first <= self.tallied_to_day:
            raise RuntimeError(f"parcels delivered on day {first} after its end was reported")
        stops, nv = len(self.points.stop_xy), self.points.n_villages
        counts = np.bincount((day - first) * stops + p.dest, minlength=(last - first + 1) * stops)
        for k, row in enumerate(counts.reshape(-1, stops)[:, :nv]):
            self.station_day.setdefault(first + k, np.zeros(nv, np.int64))[:] += row

    def on_day_end(self, e: DayEnd) -> None:
        counts = self.station_day.pop(e.day, np.zeros(self.points.n_villages, np.int64))
        self.tallied_to_day = e.day
        if not e.counted:
            return
        per_station = counts[e.rural_open]
        if len(per_station):
            tally = np.bincount(per_station)
            if len(tally) > len(self.station_day_counts):
                self.station_day_counts = np.pad(
                    self.station_day_counts, (0, len(tally) - len(self.station_day_counts))
                )
            self.station_day_counts[: len(tally)] += tally

    def on_run_end(self, e: RunEnd) -> None:
        for state, parcels in (
            ("in_trunk", e.in_trunk),
            ("at_warehouse", e.at_warehouse),
            ("in_van", e.in_van),
        ):
            counted = parcels.order_h >= self.start_h
            np.add.at(self.state[state], self.group(parcels)[counted], 1)

    # ------------------------------------------------------------------------------ summary
    def summary(
        self,
        *,
        cost_per_km: float,
        cost_per_hour: float,
        shift_h: float,
        cost_basis: str = "road_hours",
        cost_per_van_day: float = 0.0,
        matching_yuan: float = 0.0,
    ) -> dict[str, Any]:
        """The simulation part of `metrics.json` (hours, km, yuan), unrounded. Van cost: km x
        `cost_per_km`, plus `cost_per_hour` x the hours on the road (`cost_basis` road_hours) or
        x `shift_h` for every van that left (van_days: a van-day is paid whole), plus
        `cost_per_van_day` per van that left; `matching_yuan`: the 4PL cost the express
        operators pay (`upstream.matching_payer: operator`), part of the courier cost."""
        self._rates = (cost_per_km, cost_per_hour, shift_h, cost_basis, cost_per_van_day)
        names = self.points.county_names
        every = self.groups_where()
        out: dict[str, Any] = {
            "total": self._block(every),
            "by_county": {name: self._block(self.groups_where(county=i)) for i, name in enumerate(names)},
            "by_point_type": {
                name: self._block(self.groups_where(point_type=i)) for i, name in enumerate(POINT_TYPES)
            },
        }
        states = {s: int(v.sum()) for s, v in self.state.items()}
        ordered = int(self.ordered_by_county.sum())
        # cast: a sum of the (never empty) state arrays is an array, not sum()'s start value 0
        by_county = cast(np.ndarray, sum(self.state.values())).reshape(self.counties, TYPES).sum(axis=1)
        out["parcels_at_end"] = {
            **states,
            "ordered": ordered,
            "reconciled": bool(
                ordered == sum(states.values()) and (by_county == self.ordered_by_county).all()
            ),
        }
        v = self.van
        parcels = max(int(self.delivered.sum()), 1)
        cost = self._van_cost(v["km"], v["hours"], v["routes"]) + matching_yuan
        vans = {
            "routes_driven": v["routes"],
            "stops_visited": v["stops"],
            "km": v["km"],
            "hours": v["hours"],
            "load_utilisation": v["loaded"] / v["capacity"] if v["capacity"] else None,
            "time_utilisation": v["hours"] / (v["routes"] * shift_h) if v["routes"] else None,
            "cost_basis": cost_basis,
            "van_days": v["routes"],
            "matching_cost_yuan": matching_yuan,
            "courier_cost_yuan": cost,
            "courier_cost_per_parcel_yuan": cost / parcels,
        }
        out["vans"] = vans
        out["carriers"] = self._carrier_block(cost_per_km, cost_per_hour, vans)
        out["warehouses"] = {
            name: {
                "orders_per_day_mean": float(self.warehouse_orders[i].mean()) if self.days else 0.0,
                "orders_per_day_max": int(self.warehouse_orders[i].max(initial=0)),
                "backlog_at_departure_mean": float(np.mean(self.backlog[i])) if self.backlog[i] else 0.0,
                "backlog_at_departure_max": int(max(self.backlog[i], default=0)),
            }
            for i, name in enumerate(names)
        }
        out["station_parcels_per_day"] = _distribution(self.station_day_counts)
        hours = slice(round(self.start_h), round(self.end_h))
        stock = np.cumsum(self.point_arrivals_per_h - self.point_releases_per_h)[hours]
        out["points_stock"] = {
            "mean_parcels_waiting": float(stock.mean()) if stock.size else 0.0,
            "arrivals_per_h": float(self.point_arrivals_per_h[hours].sum()) / max(stock.size, 1),
            "mean_sojourn_h": self.sojourn_h / self.sojourn_n if self.sojourn_n else None,
        }
        return out

    def _van_cost(self, km: float, hours: float, van_days: float) -> float:
        """Yuan of vans that drove `km` in `hours`, `van_days` vans leaving (see `summary`)."""
        per_km, per_hour, shift_h, basis, per_day = self._rates
        paid_h = hours if basis == "road_hours" else van_days * shift_h
        return km * per_km + paid_h * per_hour + van_days * per_day

    def _carrier_block(self, cost_per_km: float, cost_per_hour: float, vans: dict) -> dict[str, dict]:
        """Per carrier: its share of the parcels delivered, order-to-hand times, and its vans (its
        own fleets in separate mode; in joint mode the pooled fleets' cost shared by parcels)."""
        k = len(self.carriers)
        delivered = self.carrier_delivered if k > 1 else np.array([int(self.delivered.sum())])
        pooled = self.carrier_vans[k]
        out = {}
        for i, name in enumerate(self.carriers):
            n = int(delivered[i])
            own = self.carrier_vans[i]
            hand = (
                self.carrier_hand.summary(np.array([i]))
                if k > 1
                else self.in_hand.summary(self.groups_where())
            )
            block = {"parcels_delivered": n, "order_to_hand_h": hand}
            if own[2] or not pooled[2]:  # its own fleets
                share = n / max(int(delivered.sum()), 1)  # of the 4PL cost the operators pay
                cost = self._van_cost(own[0], own[1], own[2]) + vans["matching_cost_yuan"] * share
                block["fleet"] = "own"
                block |= {
                    "van_km": float(own[0]),
                    "van_hours": float(own[1]),
                    "routes_driven": int(own[2]),
                    "stations_visited_per_day": float(own[3]) / max(self.days, 1),
                    "courier_cost_yuan": cost,
                    "courier_cost_per_parcel_yuan": cost / max(n, 1),
                }
            else:
                share = n / max(int(delivered.sum()), 1)
                block["fleet"] = "pooled"
                block |= {
                    "van_km": float(pooled[0]) * share,
                    "van_hours": float(pooled[1]) * share,
                    "courier_cost_yuan": vans["courier_cost_yuan"] * share,
                    "courier_cost_per_parcel_yuan": vans["courier_cost_per_parcel_yuan"],
                }
            out[name] = block
        return out

    @property
    def village_hand_count(self) -> np.ndarray:
        """Parcels picked up per village."""
        return self.village_picked.sum(axis=0)

    def _km_without_stations(self) -> np.ndarray:
        """Per group: villager km (there and back) had each village parcel picked up been
        collected at the village's township point instead."""
        p, nv = self.points, self.points.n_villages
        group = p.county[:nv][None, :] * TYPES + np.arange(TYPES)[:, None]
        km = 2.0 * self.village_picked * p.km_to_township[:nv][None, :]
        return np.bincount(group.ravel(), weights=km.ravel(), minlength=self.counties * TYPES)

    def _block(self, groups: np.ndarray) -> dict[str, object]:
        ordered = int(sum(self.state[s][groups].sum() for s in STATES))
        picked = int(self.state["picked_up"][groups].sum())
        returned = int(self.state["returned"][groups].sum())
        km = float(self.villager_km[groups].sum())
        km_none = float(self._km_without_stations()[groups].sum())
        villages = groups[groups % TYPES != COMMUNITY_LOCKER]
        km_villages = float(self.villager_km[villages].sum())
        return {
            "parcels": {
                "ordered": ordered,
                "delivered": int(self.delivered[groups].sum()),
                "picked_up": picked,
                "returned": returned,
                "pending": ordered - picked - returned,
                "pending_share": (ordered - picked - returned) / ordered if ordered else 0.0,
                "refusals_at_full_point": int(self.refused[groups].sum()),
            },
            "order_to_available_h": self.available.summary(groups),
            "order_to_hand_h": self.in_hand.summary(groups),
            "villager_travel": {
                "km_per_parcel": km / picked if picked else None,
                "person_km": km,
                "person_km_without_stations": km_none,
                "person_km_saved": km_none - km_villages,
            },
        }


def _distribution(counts: np.ndarray) -> dict[str, float | int | None]:
    """Mean and percentiles of a histogram of whole numbers (index = value)."""
    n = int(counts.sum())
    if n == 0:
        return {"station_days": 0, "mean": None, "p10": None, "p50": None, "p90": None, "max": None}
    values = np.arange(len(counts))
    cum = np.cumsum(counts)
    pct = {f"p{q}": int(np.searchsorted(cum, q / 100 * n)) for q in (10, 50, 90)}
    return {
        "station_days": n,
        "mean": float((values * counts).sum() / n),
        **pct,
        "max": int(values[counts > 0].max()),
    }
