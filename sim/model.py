"""What both engines share for one scenario: the clock of the run, delivery points, demand
rates, the pickup model, the route planner, random streams, and the stations' opening days.

Day 0 is the first warm-up day; the horizon starts on day `warmup` (hour `start_h`) and ends at
hour `end_h`. Parcels ordered before `start_h` are not counted (they fill warehouses, vans and
shelves so that the horizon does not start empty). After `end_h` nobody orders; the run goes on
(`sim.runon`) until every parcel is resolved, at the latest until `resolve_h`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from sim.batch import ParcelBatch
from sim.config import Warehouses
from sim.courier import CountyRoutes, RouteIndex, RoutePlanner
from sim.demand import day_factors, draw_orders
from sim.events import DayEnd, YearEnd
from sim.faults import FaultPlan
from sim.network import Network
from sim.pickup import PickupModel
from sim.points import build_points
from sim.scenario import Scenario
from sim.station_state import StationState

#: Random streams per purpose, `default_rng([seed, k])`, numbered here so that no two purposes
#: share one (common random numbers: two plans with one seed see one demand). A fleet's sorting
#: line and vans have one stream per fleet (numbered as `Model.fleet_of`), so fleets never share.
STREAM_DEMAND, STREAM_TRUNK, STREAM_SORT, STREAM_VAN, STREAM_PICKUP = 11, 12, 13, 14, 15
STREAM_EXIT = 16  # operators' exits (`sim.programme`)
STREAM_CARRIER = 17  # each parcel's carrier
STREAM_FAULTS = 18  # typhoons, breakdowns, absences, outages (`sim.faults`)
STREAM_GROWERS, STREAM_OFFERS = 21, 22  # produce (`sim.upstream`); growers from the scenario's seed
STREAM_OPERATORS = 23  # each station operator's rent and reservation wage (`sim.operators`)


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
    def orders(self) -> tuple[np.random.Generator, ...]:
        return self.demand, self.trunk, self.pickup, self.carrier


@dataclass(frozen=True)
class DayNetwork:
    """The station network in force on a day: open village stations (`rural_open`) and
    community stations per seat (`community_open`), each demand point's stop and point type
    (`dest`, `ptype`), each bay's capacity, the route plans per fleet (`Model.fleet_of`) and
    their look-up tables per fleet of a county (`RoutePlanner.plans`)."""

    rural_open: np.ndarray
    community_open: np.ndarray
    dest: np.ndarray
    ptype: np.ndarray
    capacity: np.ndarray
    plans: tuple[CountyRoutes, ...]
    indexes: tuple[RouteIndex, ...]


#: Where a run's parcels come from: (model, day, community stations open per seat, first id,
#: streams) -> the day's parcels and their trunk-wave slots (`sim.demand.orders_batch`).
OrderSource = Callable[["Model", int, np.ndarray, int, Streams], tuple[ParcelBatch, np.ndarray]]


def poisson_orders(
    model: Model, day: int, community_open: np.ndarray, first_id: int, streams: Streams
) -> tuple[ParcelBatch, np.ndarray]:
    """The demand model: Poisson orders at each point's rate of the day (`sim.demand`)."""
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
        # After the horizon: no new orders, the run goes on until every parcel is resolved.
        self.run_on_days = scenario.simulation.run_on_days
        self.resolve_h = self.end_h + 24.0 * self.run_on_days
        self.points = p = build_points(network)
        self.n_counties = len(p.county_names)
        # Fleets: each county's pooled fleet (joint mode) or one per carrier (separate mode).
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
        # Plan for a busy day (90th percentile of the season), not an average one.
        self.busy_daily = self.rate_each * np.maximum(p.community, 1) * float(np.percentile(self.factors, 90))
        self.pickups = PickupModel(scenario.pickup, p, self.busy_daily)
        self.planner = RoutePlanner(
            p,
            self.busy_daily,
            self.pickups.shelf,
            network.distances,
            network.region.counties["circuity"].to_numpy(dtype=float),
            scenario.couriers,
            seed=scenario.seed,
            cache_dir=cache_dir,
        )

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
        """The network `state` has on `day` (route plans made on first use, then kept)."""
        rural, community = state.rural_open(day), state.community_open(day)
        dest, ptype = self.points.destinations(rural, community)
        plans, indexes = self.planner.plans(dest, ptype, community, state.route_base)
        return DayNetwork(rural, community, dest, ptype, self.pickups.bay_capacity(community), plans, indexes)

    def day_end_events(self, day: int, net: DayNetwork) -> list:
        """What to tell observers when `day` is over: its end, and the year's when it was the
        year's last counted day or the run's last day."""
        events = [DayEnd(day, self.date(day), day >= self.warmup, net.rural_open)]
        last_of_year = self.date(day + 1).year != self.date(day).year
        if day >= self.warmup and (last_of_year or day == self.total_days - 1):
            events.append(YearEnd(self.date(day).year))
        return events

    def rates(self, day: int, community_open: np.ndarray) -> np.ndarray:
        """Expected orders per demand point on `day` with `community_open` stations per seat."""
        p = self.points
        each = np.where(p.is_village, 1, community_open[p.township])
        return self.rate_each * each * self.factors[day]
