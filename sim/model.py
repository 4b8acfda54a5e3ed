"""What both engines share for one scenario: the clock of the run, delivery points, demand
rates, the pickup model, the route planner, random streams, and the stations' opening days.

Day 0 is the first warm-up day; the horizon starts on day `warmup` (hour `start_h`) and ends at
hour `end_h`. Parcels ordered before `start_h` are not counted (they fill warehouses, vans and
shelves so that the horizon does not start empty).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from sim.batch import ParcelBatch
from sim.courier import CountyRoutes, RouteIndex, RoutePlanner
from sim.demand import day_factors, draw_orders
from sim.events import DayEnd, YearEnd
from sim.network import Network
from sim.pickup import PickupModel
from sim.points import build_points
from sim.scenario import Scenario
from sim.station_state import StationState

#: Random streams per purpose (common random numbers: two plans with one seed see one demand).
#: Sorting and vans have one stream per county, so that counties never share draws.
STREAM_DEMAND, STREAM_TRUNK, STREAM_SORT, STREAM_VAN, STREAM_PICKUP = 11, 12, 13, 14, 15


@dataclass(frozen=True)
class Streams:
    """The random streams of one run."""

    demand: np.random.Generator
    trunk: np.random.Generator
    pickup: np.random.Generator
    sort: tuple[np.random.Generator, ...]
    van: tuple[np.random.Generator, ...]

    @property
    def orders(self) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
        return self.demand, self.trunk, self.pickup


@dataclass(frozen=True)
class DayNetwork:
    """The station network in force on a day: open village stations (`rural_open`) and
    community stations per seat (`community_open`), each demand point's stop and point type
    (`dest`, `ptype`), each bay's capacity, the route plans and their look-up tables."""

    rural_open: np.ndarray
    community_open: np.ndarray
    dest: np.ndarray
    ptype: np.ndarray
    capacity: np.ndarray
    plans: tuple[CountyRoutes, ...]
    index: RouteIndex


#: Where a run's parcels come from: (model, day, community stations open per seat, first id,
#: streams) -> the day's parcels and their trunk-wave slots (`sim.demand.orders_batch`).
OrderSource = Callable[["Model", int, np.ndarray, int, Streams], tuple[ParcelBatch, np.ndarray]]


def poisson_orders(
    model: Model, day: int, community_open: np.ndarray, first_id: int, streams: Streams
) -> tuple[ParcelBatch, np.ndarray]:
    """The demand model: Poisson orders at each point's rate of the day (`sim.demand`)."""
    sc = model.scenario
    rate = model.rates(day, community_open)
    return draw_orders(rate, model.points.county, day, first_id, sc.demand, sc.trunk, streams.orders)


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
        self.points = p = build_points(network)
        self.n_counties = len(p.county_names)
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

        counties = range(self.n_counties)
        return Streams(
            demand=rng(STREAM_DEMAND),
            trunk=rng(STREAM_TRUNK),
            pickup=rng(STREAM_PICKUP),
            sort=tuple(rng(STREAM_SORT, c) for c in counties),
            van=tuple(rng(STREAM_VAN, c) for c in counties),
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
        plans, index = self.planner.plans(dest, ptype, community, state.route_base)
        return DayNetwork(rural, community, dest, ptype, self.pickups.bay_capacity(community), plans, index)

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
