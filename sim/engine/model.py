"""What both engines share for one scenario: the clock of the run, delivery points, demand
rates, the pickup model, the route planner, random streams, and the stations' opening days.

Day 0 is the first warm-up day; the horizon starts on day `warmup` (hour `start_h`) and ends at
hour `end_h`. Parcels ordered before `start_h` are not counted (they fill warehouses, vans and
shelves so that the horizon does not start empty). After `end_h` nobody orders; the run goes on
(`sim.engine.runon`) until every parcel has reached its delivery point, at the latest until `resolve_h`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from sim.core.batch import ParcelBatch
from sim.core.events import DayEnd, YearEnd
from sim.core.ids import (
    STREAM_CARRIER,
    STREAM_DEMAND,
    STREAM_FAULTS,
    STREAM_PICKUP,
    STREAM_SORT,
    STREAM_TRUNK,
    STREAM_VAN,
)
from sim.flows.demand import day_factors, draw_orders
from sim.flows.faults import FaultPlan
from sim.flows.pickup import PickupModel
from sim.flows.routes import CountyRoutes, DailyRoutes, RouteIndex, RoutePlanner
from sim.network.build import Network
from sim.network.points import build_points
from sim.network.station_state import StationState
from sim.scenario.delivery import Warehouses
from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class Streams:
    """The random streams of one run."""

    demand: np.random.Generator
    trunk: np.random.Generator
    pickup: np.random.Generator
    carrier: np.random.Generator
    sort: tuple[np.random.Generator, ...]
    van: tuple[np.random.Generator, ...]

    @property
    def orders(
        self,
    ) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator, np.random.Generator]:
        return self.demand, self.trunk, self.pickup, self.carrier


@dataclass(frozen=True)
class DayNetwork:
    """The station network in force on a day: open village stations (`rural_open`) and
    community stations per seat (`community_open`), each demand point's stop and point type
    for each fleet of a county (`fleet_dest`, `fleet_ptype`: (fleets per county, demand points),
    `sim.flows.routes.fleet_destinations`; in township mode the brands' fleets leave the village
    stations' parcels at the township points), each bay's capacity (the plan year's shelves),
    the route plans per fleet (`Model.fleet_of`; every day pattern of the period) and the
    look-up tables per fleet of a county of the day it was made for (`RoutePlanner.plans`).
    `on(day)` is the network with `plans` and `indexes` of the day's pattern: what the vans
    drive that day."""

    rural_open: np.ndarray
    community_open: np.ndarray
    fleet_dest: np.ndarray
    fleet_ptype: np.ndarray
    capacity: np.ndarray
    plans: tuple[CountyRoutes, ...]
    indexes: tuple[RouteIndex, ...]
    daily: DailyRoutes

    def on(self, day: int) -> DayNetwork:
        """The network with the routes vans drive on simulation `day`."""
        plans, indexes = self.daily.on(day)
        return replace(self, plans=plans, indexes=indexes)

    def placed(self, kind: np.ndarray | int, point: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """(stop, point type) of parcels for demand `point` carried by each county's `kind`-th
        fleet (`Model.fleet_of` % fleets per county)."""
        return self.fleet_dest[kind, point], self.fleet_ptype[kind, point]


#: Where a run's parcels come from: (model, day, community stations open per seat, first id,
#: streams) -> the day's parcels and their trunk-wave slots (`sim.flows.demand.orders_batch`).
OrderSource = Callable[["Model", int, np.ndarray, int, Streams], tuple[ParcelBatch, np.ndarray]]


def poisson_orders(
    model: Model, day: int, community_open: np.ndarray, first_id: int, streams: Streams
) -> tuple[ParcelBatch, np.ndarray]:
    """The demand model: Poisson orders at each point's rate of the day (`sim.flows.demand`)."""
    sc = model.scenario
    rate = model.rates(day, community_open)
    return draw_orders(
        rate,
        model.points.county,
        day,
        first_id,
        sc.demand,
        sc.trunk,
        streams.orders,
        shares=model.shares,
        fleets_per_county=model.fleets_per_county,
    )


def simulated_days(scenario: Scenario) -> tuple[int, int]:
    """(days counted, warm-up days) of a scenario's run."""
    horizon = (scenario.horizon.end - scenario.horizon.start).days
    sim = scenario.simulation
    return min(sim.days or horizon, horizon), sim.warmup_days


class Model:
    """One scenario on one network, ready to be run by either engine with any seed. Route plans
    are made with the scenario's seed (they are part of the plan, not of a replication) and kept
    across runs. `orders(model, day, ...)` gives each day's parcels."""

    def __init__(
        self,
        network: Network,
        scenario: Scenario,
        *,
        cache_dir: Path | None = None,
        orders: OrderSource = poisson_orders,
    ):
        """`orders` replaces the demand model (e.g. a log of real orders, or a hand-made list in
        a test)."""
        self.network, self.scenario, self.orders = network, scenario, orders
        self.days, self.warmup = simulated_days(scenario)
        self.total_days = self.warmup + self.days
        self.first_date = scenario.horizon.start - timedelta(days=self.warmup)
        self.start_h = 24.0 * self.warmup
        self.end_h = 24.0 * self.total_days
        # After the horizon: no new orders, the run goes on until every parcel is at its point.
        self.run_on_days = scenario.simulation.run_on_days
        self.resolve_h = self.end_h + 24.0 * self.run_on_days
        self.points = p = build_points(network)
        self.n_counties = len(p.county_names)
        # Fleets: each county's pooled fleet (joint mode) or one per carrier (separate and
        # township modes).
        self.shares = np.array([c.share for c in scenario.couriers.carriers.values()])
        self.fleets = scenario.couriers.fleets()
        self.fleets_per_county = len(self.fleets)
        self.n_fleets = self.n_counties * self.fleets_per_county
        self.fleet_county = np.repeat(np.arange(self.n_counties), self.fleets_per_county)
        self.fleet_vans = np.tile([vans for _, vans in self.fleets], self.n_counties)
        self.factors = day_factors(scenario.demand, self.first_date, self.total_days)
        # Per point: parcels a day at the base level, per village or per community station.
        self.rate_each = np.where(
            p.is_village,
            p.households * scenario.demand.parcels_per_household_day,
            scenario.pickup.community_parcels_per_day,
        )
        # Plans (routes, fleets, shelves) are made on 1 January of each year (the first year
        # at the run's start, warm-up included) for a busy day of that year.
        self.first_year = scenario.horizon.start.year
        self._busy: dict[int, np.ndarray] = {}
        self._pickups: dict[int, PickupModel] = {}
        self.busy_daily = self.busy_daily_of(self.first_year)
        self.pickups = self.pickups_of(self.first_year)
        self.planner = RoutePlanner(
            p,
            self.busy_daily_of,
            lambda year: self.pickups_of(year).shelf,
            network.distances,
            network.region.counties["circuity"].to_numpy(dtype=float),
            scenario.couriers,
            seed=scenario.seed,
            cache_dir=cache_dir,
            first_year=self.first_year,
        )

    def plan_year(self, day: int) -> int:
        """The year whose plans are in force on `day` (warm-up days belong to the first)."""
        return max(self.date(day).year, self.first_year)

    def replans_on(self, day: int) -> bool:
        """Whether plans are made again on `day`: 1 January of each year after the first."""
        return day > 0 and self.plan_year(day) != self.plan_year(day - 1)

    def busy_daily_of(self, year: int) -> np.ndarray:
        """Parcels per demand point on a busy day of plan `year`: its rate at the 90th
        percentile of that calendar year's day factors (growth, seasons, weekdays; the first
        year's from the run's first warm-up day), whatever part of the year is simulated."""
        if year not in self._busy:
            first = self.first_date if year == self.first_year else date(year, 1, 1)
            factors = day_factors(self.scenario.demand, first, (date(year, 12, 31) - first).days + 1)
            busy = float(np.percentile(factors, 90))
            self._busy[year] = self.rate_each * np.maximum(self.points.community, 1) * busy
        return self._busy[year]

    def pickups_of(self, year: int) -> PickupModel:
        """The pickup model whose shelves are sized for plan `year` (`busy_daily_of`)."""
        if year not in self._pickups:
            self._pickups[year] = PickupModel(self.scenario.pickup, self.points, self.busy_daily_of(year))
        return self._pickups[year]

    def streams(self, seed: int) -> Streams:
        def rng(*k: int) -> np.random.Generator:
            return np.random.default_rng([seed, *k])

        fleets = range(self.n_fleets)
        return Streams(
            demand=rng(STREAM_DEMAND),
            trunk=rng(STREAM_TRUNK),
            pickup=rng(STREAM_PICKUP),
            carrier=rng(STREAM_CARRIER),
            sort=tuple(rng(STREAM_SORT, f) for f in fleets),
            van=tuple(rng(STREAM_VAN, f) for f in fleets),
        )

    def fault_plan(self, seed: int) -> FaultPlan | None:
        """The faults of a run with `seed` (None when the scenario has none)."""
        return FaultPlan.draw(self, seed, STREAM_FAULTS)

    def fleet_of(self, parcels: ParcelBatch) -> np.ndarray:
        """The fleet carrying each parcel: county x fleets per county + its carrier's fleet."""
        county = self.points.county[parcels.point].astype(np.int64)
        if self.fleets_per_county == 1:
            return county
        return county * self.fleets_per_county + parcels.carrier

    def fleet_carrier(self, fleet: int) -> int:
        """The carrier whose own fleet `fleet` is; -1 for a county's pooled fleet (joint mode)."""
        return -1 if self.scenario.couriers.mode == "joint" else fleet % self.fleets_per_county

    def sorting(self, fleet: int) -> Warehouses:
        """A fleet's sorting line: its share of its county warehouse's sorting rate."""
        wh = self.scenario.warehouses
        share = self.fleets[fleet % self.fleets_per_county][0]
        return (
            wh
            if share == 1.0
            else wh.model_copy(update={"sorting_rate_per_h": wh.sorting_rate_per_h * share})
        )

    def stations(self) -> StationState:
        """The stations' opening days as planned (a fresh state for each run)."""
        return StationState.from_plan(
            self.network.plan, self.network.community, self.first_date, self.scenario.horizon.start.year
        )

    def date(self, day: int) -> date:
        return self.first_date + timedelta(days=day)

    def network_on(self, state: StationState, day: int) -> DayNetwork:
        """The network `state` has on `day`, with the plans of `day`'s plan year (made on first
        use, then kept; repairs after closures start from the year's own plans)."""
        rural, community = state.rural_open(day), state.community_open(day)
        dest, ptype = self.points.destinations(rural, community)
        year = self.plan_year(day)
        base = state.route_base.setdefault(year, {})
        plans, daily = self.planner.plans(dest, ptype, community, base, year=year)
        capacity = self.pickups_of(year).bay_capacity(community)
        return DayNetwork(rural, community, daily.dest, daily.ptype, capacity, plans, daily.on(day)[1], daily)

    def day_end_events(self, day: int, net: DayNetwork) -> list:
        """What to tell observers when `day` is over: its end, and the year's when it was the
        year's last counted day or the run's last day."""
        events: list[DayEnd | YearEnd] = [DayEnd(day, self.date(day), day >= self.warmup, net.rural_open)]
        last_of_year = self.date(day + 1).year != self.date(day).year
        if day >= self.warmup and (last_of_year or day == self.total_days - 1):
            events.append(YearEnd(self.date(day).year))
        return events

    def rates(self, day: int, community_open: np.ndarray) -> np.ndarray:
        """Expected orders per demand point on `day` with `community_open` stations per seat."""
        p = self.points
        each = np.where(p.is_village, 1, community_open[p.township])
        return self.rate_each * each * self.factors[day]
