"""Streaming KPIs of a simulation: fixed-bin histograms and counters, no per-parcel tables.

Lead times go into histograms of `BIN_H` hours up to `MAX_H` (the last bin holds the overflow);
means are exact (running sums), percentiles are read from the histograms (within one bin).
Groups are (county, delivery-point type) pairs, so totals and per-county and per-type figures
all come from the same counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.points import COMMUNITY_LOCKER, POINT_TYPES

BIN_H = 0.05
MAX_H = 1500.0
N_BINS = int(MAX_H / BIN_H) + 1
QUANTILES = (0.5, 0.9, 0.95, 0.99)
STATES = ("picked_up", "waiting_at_point", "in_van", "at_warehouse", "in_trunk", "returned")


@dataclass
class LeadTimes:
    """Histogram, sum and count of a lead time (hours) per group."""

    groups: int
    hist: np.ndarray = field(init=False)
    total: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.hist = np.zeros((self.groups, N_BINS), dtype=np.int64)
        self.total = np.zeros(self.groups)

    def add(self, group: np.ndarray, hours: np.ndarray) -> None:
        b = np.minimum((np.maximum(hours, 0.0) / BIN_H).astype(np.int64), N_BINS - 1)
        np.add.at(self.hist, (group, b), 1)
        np.add.at(self.total, group, hours)

    def summary(self, groups: np.ndarray) -> dict[str, float | int | None]:
        """Count, mean and percentiles (hours) over the chosen groups."""
        hist = self.hist[groups].sum(axis=0)
        n = int(hist.sum())
        out: dict[str, float | int | None] = {"parcels": n, "mean_h": None}
        out |= {f"p{round(q * 100)}_h": None for q in QUANTILES}
        if n == 0:
            return out
        out["mean_h"] = round(float(self.total[groups].sum()) / n, 3)
        cum = np.cumsum(hist)
        for q in QUANTILES:
            k = int(np.searchsorted(cum, q * n))
            below = cum[k - 1] if k else 0
            frac = (q * n - below) / max(hist[k], 1)  # interpolate within the bin
            out[f"p{round(q * 100)}_h"] = round(float((k + frac) * BIN_H), 3)
        return out

    def cdf(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hours, share of parcels at or below) over the chosen groups, for plots."""
        hist = self.hist[groups].sum(axis=0)
        n = max(int(hist.sum()), 1)
        return (np.arange(N_BINS) + 1) * BIN_H, np.cumsum(hist) / n


@dataclass
class Kpi:
    """All counters of one run. Parcels count only when ordered within the horizon."""

    counties: int
    villages: int
    horizon_days: int
    start_h: float
    end_h: float
    available: LeadTimes = field(init=False)
    in_hand: LeadTimes = field(init=False)

    def __post_init__(self) -> None:
        g = self.counties * len(POINT_TYPES)
        self.available = LeadTimes(g)
        self.in_hand = LeadTimes(g)
        self.ordered = np.zeros(g, dtype=np.int64)
        self.delivered = np.zeros(g, dtype=np.int64)
        self.state = {s: np.zeros(g, dtype=np.int64) for s in STATES}
        self.refused = np.zeros(g, dtype=np.int64)
        self.villager_km = np.zeros(g)
        self.villager_km_no_station = np.zeros(g)
        self.village_hand_sum = np.zeros(self.villages)
        self.village_hand_count = np.zeros(self.villages, dtype=np.int64)
        hours = round(self.end_h) + 2
        self.point_arrivals_per_h = np.zeros(hours, dtype=np.int64)
        self.point_releases_per_h = np.zeros(hours, dtype=np.int64)
        self.sojourn_h = 0.0
        self.sojourn_n = 0
        self.warehouse_orders = np.zeros((self.counties, self.horizon_days), dtype=np.int64)
        self.backlog = [[] for _ in range(self.counties)]
        self.station_day_counts = np.zeros(501, dtype=np.int64)  # station-days by parcels arrived
        self.van = {"routes": 0, "stops": 0, "km": 0.0, "hours": 0.0, "loaded": 0, "capacity": 0}
        self.van_by_county = np.zeros((self.counties, 3))  # km, hours, routes

    def group(self, county: np.ndarray, point_type: np.ndarray) -> np.ndarray:
        return county * len(POINT_TYPES) + point_type

    def groups_where(self, *, county: int | None = None, point_type: int | None = None) -> np.ndarray:
        c = np.arange(self.counties) if county is None else np.array([county])
        t = np.arange(len(POINT_TYPES)) if point_type is None else np.array([point_type])
        return (c[:, None] * len(POINT_TYPES) + t[None, :]).ravel()

    # ------------------------------------------------------------------------------ summary
    def summary(
        self, county_names: tuple[str, ...], *, cost_per_km: float, cost_per_hour: float, shift_h: float
    ) -> dict[str, object]:
        """The simulation part of `metrics.json` (hours, km, yuan)."""
        every = self.groups_where()
        out: dict[str, object] = {
            "total": self._block(every),
            "by_county": {
                name: self._block(self.groups_where(county=i)) for i, name in enumerate(county_names)
            },
            "by_point_type": {
                name: self._block(self.groups_where(point_type=i)) for i, name in enumerate(POINT_TYPES)
            },
        }
        states = {s: int(v.sum()) for s, v in self.state.items()}
        ordered = int(self.ordered.sum())
        out["parcels_at_end"] = {**states, "ordered": ordered, "reconciled": ordered == sum(states.values())}
        v = self.van
        parcels = max(int(self.delivered.sum()), 1)
        cost = v["km"] * cost_per_km + v["hours"] * cost_per_hour
        out["vans"] = {
            "routes_driven": v["routes"],
            "stops_visited": v["stops"],
            "km": round(v["km"], 1),
            "hours": round(v["hours"], 1),
            "load_utilisation": round(v["loaded"] / v["capacity"], 4) if v["capacity"] else None,
            "time_utilisation": round(v["hours"] / (v["routes"] * shift_h), 4) if v["routes"] else None,
            "courier_cost_yuan": round(cost, 0),
            "courier_cost_per_parcel_yuan": round(cost / parcels, 3),
        }
        out["warehouses"] = {
            name: {
                "orders_per_day_mean": round(float(self.warehouse_orders[i].mean()), 1),
                "orders_per_day_max": int(self.warehouse_orders[i].max(initial=0)),
                "backlog_at_departure_mean": round(float(np.mean(self.backlog[i])), 1)
                if self.backlog[i]
                else 0.0,
                "backlog_at_departure_max": int(max(self.backlog[i], default=0)),
            }
            for i, name in enumerate(county_names)
        }
        days = self.station_day_counts
        out["station_parcels_per_day"] = _distribution(days)
        hours = slice(round(self.start_h), round(self.end_h))
        stock = np.cumsum(self.point_arrivals_per_h - self.point_releases_per_h)[hours]
        out["points_stock"] = {
            "mean_parcels_waiting": round(float(stock.mean()), 2) if stock.size else 0.0,
            "arrivals_per_h": round(float(self.point_arrivals_per_h[hours].sum()) / max(stock.size, 1), 3),
            "mean_sojourn_h": round(self.sojourn_h / self.sojourn_n, 3) if self.sojourn_n else None,
        }
        return out

    def _block(self, groups: np.ndarray) -> dict[str, object]:
        ordered = int(self.ordered[groups].sum())
        picked = int(self.state["picked_up"][groups].sum())
        returned = int(self.state["returned"][groups].sum())
        km = float(self.villager_km[groups].sum())
        km_none = float(self.villager_km_no_station[groups].sum())
        villages = groups[groups % len(POINT_TYPES) != COMMUNITY_LOCKER]
        km_villages = float(self.villager_km[villages].sum())
        return {
            "parcels": {
                "ordered": ordered,
                "delivered": int(self.delivered[groups].sum()),
                "picked_up": picked,
                "returned": returned,
                "pending": ordered - picked - returned,
                "refusals_at_full_point": int(self.refused[groups].sum()),
            },
            "order_to_available_h": self.available.summary(groups),
            "order_to_hand_h": self.in_hand.summary(groups),
            "villager_travel": {
                "km_per_parcel": round(km / picked, 3) if picked else None,
                "person_km": round(km, 1),
                "person_km_without_stations": round(km_none, 1),
                "person_km_saved": round(km_none - km_villages, 1),
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
        "mean": round(float((values * counts).sum() / n), 2),
        **pct,
        "max": int(values[counts > 0].max()),
    }
