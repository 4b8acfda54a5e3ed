"""Faults: typhoon road closures, van breakdowns, operators away and warehouse outages.

A run's faults are drawn before it starts (`FaultPlan.draw`, from the run's seed and a stream
of their own), day by day, and both engines read them the same way:
- a stop that no van can reach that day (a village cut off by a typhoon, a township point on a
  closed road, a station whose operator is away) is not called at: its parcels wait at the
  warehouse, in their place, for the next visit it can have;
- a route whose van broke down (per route and day) is not driven that day: its parcels wait;
- on a day of warehouse outage no van leaves the county warehouse;
- villagers of a cut-off village cannot collect (at their station or township point), nor can
  anyone collect at a station whose operator is away: a pickup that falls on such a day moves
  to the same hour of the next day they can (parcels stay on the shelf meanwhile).
Faults start and end at midnight; a van already on the road finishes its trip. Nothing is lost:
every parcel still ends picked up, waiting, in a van, at the warehouse, in the trunk or
returned. Without a `faults` section (or with every rate zero) nothing is drawn and a run is
exactly the run without faults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from sim.core.clock import in_window
from sim.core.ids import COMMUNITY_LOCKER, VILLAGE_STATION
from sim.scenario.delivery import Faults


@dataclass
class FaultPlan:
    """Per day: `blocked` (stops no van can reach), `cut_off` and `away` (villages whose people
    cannot travel; village stations whose operator is away), `outage` (counties whose warehouse
    sends no van). `events`: each typhoon's day, villages and points cut, and days to recovery."""

    blocked: np.ndarray
    cut_off: np.ndarray
    away: np.ndarray
    outage: np.ndarray
    breakdown_per_van_day: float
    seed: int
    stream: int
    events: list[dict]

    @classmethod
    def draw(cls, model, seed: int, stream: int) -> FaultPlan | None:
        """The faults of one run of `model` (None when the scenario has none)."""
        cfg: Faults = model.scenario.faults
        if not cfg.any:
            return None
        p, days = model.points, model.total_days
        nv, n_stops, nc = p.n_villages, len(p.stop_xy), model.n_counties
        rng = np.random.default_rng([seed, stream])
        cut_off = np.zeros((days, nv), dtype=bool)
        blocked = np.zeros((days, n_stops), dtype=bool)
        events = []
        t = cfg.typhoon
        circuity = model.network.region.counties["circuity"].to_numpy(dtype=float)
        mountain = circuity[p.county[:nv]] >= t.min_circuity  # villages in mountain counties
        seat_mountain = circuity[p.stop_county[nv:]] >= t.min_circuity
        dates = [model.date(d) for d in range(days)]
        season, years = in_window(dates, *t.season), np.array([x.year for x in dates])
        year_2001 = [date(2001, 1, 1) + timedelta(days=d) for d in range(365)]
        season_days = int(in_window(year_2001, *t.season).sum())
        for year in sorted({d.year for d in dates}):
            window = np.flatnonzero(season & (years == year)).tolist()
            if not window or not t.rate_per_year:
                continue
            for day in sorted(
                rng.choice(window, size=rng.poisson(t.rate_per_year * len(window) / season_days)).tolist()
            ):
                hit = mountain & (rng.random(nv) < t.cut_share)
                seats = seat_mountain & (rng.random(len(seat_mountain)) < t.township_cut_share)
                length = _days(rng, t.median_days, t.sigma, t.max_days, int(hit.sum()) + int(seats.sum()))
                for village, n in zip(
                    np.flatnonzero(hit).tolist(), length[: hit.sum()].tolist(), strict=True
                ):
                    cut_off[day : day + n, village] = True
                for seat, n in zip(np.flatnonzero(seats).tolist(), length[hit.sum() :].tolist(), strict=True):
                    blocked[day : day + n, nv + seat] = True
                events.append({
                    "date": dates[day].isoformat(),
                    "villages_cut_off": int(hit.sum()),
                    "township_points_cut_off": int(seats.sum()),
                    "recovery_days": int(length.max(initial=0)),
                    "counties": sorted({p.county_names[c] for c in p.county[:nv][hit]}),
                })  # fmt: skip
        away = rng.random((days, nv)) < cfg.operator_absence.per_station_day
        outage = np.zeros((days, nc), dtype=bool)
        o = cfg.warehouse_outage
        for c in range(nc):
            for day in rng.integers(0, days, size=rng.poisson(o.rate_per_year * days / 365.0)).tolist():
                outage[day : day + int(_days(rng, o.median_days, o.sigma, o.max_days, 1)[0]), c] = True
        blocked[:, :nv] |= cut_off | away
        # On the days the run goes on past the horizon (`sim.engine.runon`) roads are open, operators in
        # and warehouses working (breakdowns go on: they belong to driving).
        blocked, cut_off, away, outage = (
            np.pad(x, ((0, model.run_on_days), (0, 0))) for x in (blocked, cut_off, away, outage)
        )
        return cls(blocked, cut_off, away, outage, cfg.breakdowns.per_van_day, seed, stream, events)

    # ----------------------------------------------------------------------------- engines
    def broken(self, fleet: int, day: int, routes: int) -> np.ndarray:
        """Bool per route of `fleet`'s plan: its van broke down on `day` (a draw of its own per
        fleet and day, so the engines need not draw in the same order)."""
        if not self.breakdown_per_van_day or not routes:
            return np.zeros(routes, dtype=bool)
        rng = np.random.default_rng([self.seed, self.stream, 1, fleet, day])
        return rng.random(routes) < self.breakdown_per_van_day

    def pickup_blocked(self, day: np.ndarray, point: np.ndarray, ptype: np.ndarray) -> np.ndarray:
        """Per parcel: nobody can collect it on `day` at its point (see the module)."""
        inside = (day < len(self.cut_off)) & (ptype != COMMUNITY_LOCKER)
        out = np.zeros(len(day), dtype=bool)
        d, v, t = day[inside], point[inside], ptype[inside]
        out[inside] = self.cut_off[d, v] | ((t == VILLAGE_STATION) & self.away[d, v])
        return out

    def delay_pickups(self, release: np.ndarray, point: np.ndarray, ptype: np.ndarray) -> np.ndarray:
        """Pickup times moved a day at a time past the days nobody can collect."""
        out = np.array(release, dtype=float)
        todo = np.flatnonzero(self.pickup_blocked(np.floor(out / 24.0).astype(np.int64), point, ptype))
        while len(todo):
            out[todo] += 24.0
            day = np.floor(out[todo] / 24.0).astype(np.int64)
            todo = todo[self.pickup_blocked(day, point[todo], ptype[todo])]
        return out

    def delay_pickup(self, release: float, point: int, ptype: int) -> float:
        """`delay_pickups` for one parcel, in plain floats (the same operations)."""
        while self.pickup_blocked(
            np.array([math.floor(release / 24.0)]), np.array([point]), np.array([ptype])
        )[0]:
            release += 24.0
        return release

    def village_days_cut_off(self, model) -> np.ndarray:
        """Per village (int64, points' village order): the days it was cut off by typhoons
        within the horizon (warm-up and the days run on past it left out)."""
        return self.cut_off[model.warmup : model.total_days].sum(axis=0, dtype=np.int64)

    def summary(self, model) -> dict[str, Any]:
        """What the faults were, within the horizon: typhoons (each with its recovery days),
        village-days cut off (the sum of `village_days_cut_off`), station-days with the operator
        away and warehouse outage days, by county."""
        p, w = model.points, model.warmup
        names = p.county_names
        cut = np.bincount(
            p.county[: p.n_villages], weights=self.village_days_cut_off(model), minlength=len(names)
        )
        away = np.bincount(p.county[: p.n_villages], weights=self.away[w:].sum(axis=0), minlength=len(names))
        start = model.first_date.toordinal() + w
        return {
            "typhoons": [e for e in self.events if _ordinal(e["date"]) >= start],
            "village_days_cut_off": int(cut.sum()),
            "by_county": {
                name: {
                    "village_days_cut_off": int(cut[i]),
                    "station_days_operator_away": int(away[i]),
                    "warehouse_outage_days": int(self.outage[w:, i].sum()),
                }
                for i, name in enumerate(names)
            },
        }


def _days(rng: np.random.Generator, median: float, sigma: float, cap: int, n: int) -> np.ndarray:
    """Whole days a fault lasts (at least one): log-normal with `median` days, a long tail."""
    return np.clip(np.ceil(median * rng.lognormal(0.0, sigma, size=n)), 1, cap).astype(np.int64)


def _ordinal(iso: str) -> int:
    return date.fromisoformat(iso).toordinal()
