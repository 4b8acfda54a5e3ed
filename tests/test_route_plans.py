"""Route plans: sized and re-planned each year for that year's demand (issue 20, item 3), and
visits planned as a periodic VRP, each day's routes for the stops due that day (item 2)."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import shapely

from geo.distance import StraightLine
from geo.placement import BuildPlan
from geo.region import Region
from sim.core.events import Bus, Delivered, Trips
from sim.engine.model import Model
from sim.engine.registry import ENGINES
from sim.network.build import Network, build_network
from sim.run import kpi_observer, simulate
from sim.scenario.load import load_scenario
from tests.test_sim import assert_same_kpis, both, small

CRS = "EPSG:32650"

# --------------------------------------------------------------------------- item 3: plan years


class Year:
    """What happened in one calendar year: the trips that left in it (van km, vans, parcels
    carried) and the parcels delivered in it (their order-to-arrival hours)."""

    def __init__(self, model: Model, year: int):
        self.start = 24.0 * (date(year, 1, 1) - model.first_date).days
        self.end = 24.0 * (date(year + 1, 1, 1) - model.first_date).days
        self.km, self.vans, self.carried, self.lead = 0.0, 0, [], []

    def on_trips(self, e: Trips):
        if self.start <= e.depart_h < self.end:
            self.km += float(e.km.sum())
            self.vans += len(e.km)
            self.carried += e.parcels.tolist()

    def on_delivered(self, e: Delivered):
        mine = (e.arrive_h >= self.start) & (e.arrive_h < self.end)
        self.lead += (e.arrive_h - e.parcels.order_h)[mine].tolist()


def first_year(write, years: int):
    """2016 (a leap year) of a run whose horizon has `years` years from 1 January 2016, with
    demand growing 60% a year: its plans (by the date they came into force) and its trips."""
    loaded = small(
        write,
        "horizon.start=2016-01-01",
        f"horizon.years={years}",
        "simulation.days=null",
        "simulation.warmup_days=3",
        "demand.growth_per_year=1.6",
        "demand.parcels_per_household_day=0.3",
        "couriers.van_capacity=120",
        villages=30,
    )
    model = Model(build_network(loaded), loaded.scenario)
    seen = Year(model, 2016)
    info = ENGINES["fast"](model, 5, Bus([seen])).run()
    plans = {
        since: [(p.routes, p.vans) for p in plans]
        for since, plans in info.plans.items()
        if since < "2017-01-01"
    }
    return plans, seen, info


def test_a_years_plans_and_figures_do_not_depend_on_the_later_years_of_the_horizon(write):
    alone, seen_alone, _ = first_year(write, 1)
    longer, seen_longer, info = first_year(write, 3)
    assert list(alone) == list(longer) == ["2015-12-29"]  # the warm-up runs on the first year's plans
    for (routes_a, vans_a), (routes_b, vans_b) in zip(alone["2015-12-29"], longer["2015-12-29"], strict=True):
        assert [r.tolist() for r in routes_a] == [r.tolist() for r in routes_b]
        assert vans_a.tolist() == vans_b.tolist()
    # 2016's van km, vans, loads and lead times are the same whether 2017-2018 follow or not.
    assert seen_alone.vans > 300 and seen_alone.vans == seen_longer.vans
    assert seen_alone.km == seen_longer.km and seen_alone.carried == seen_longer.carried
    assert seen_alone.lead == seen_longer.lead
    # ... and the later years are planned on their own 1 January, for their larger demand.
    assert sorted(info.plans) == ["2015-12-29", "2017-01-01", "2018-01-01"]
    vans = [sum(int(p.per_day()[1].max()) for p in info.plans[d]) for d in sorted(info.plans)]
    assert vans[0] < vans[1] < vans[2]


def test_busy_day_is_the_plan_years_own(write):
    """The busy day of 2017 is the 90th percentile of 2017's day factors, whether the run
    simulates 28 days of it or the whole year."""
    loaded = small(write, "horizon.start=2017-01-01", "horizon.years=2", villages=30, days=28)
    model = Model(build_network(loaded), loaded.scenario)
    whole = small(write, "horizon.start=2017-01-01", "horizon.years=2", villages=30, days=730)
    other = Model(build_network(whole), whole.scenario)
    for year in (2017, 2018):
        np.testing.assert_array_equal(model.busy_daily_of(year), other.busy_daily_of(year))
    assert (model.busy_daily_of(2018) > model.busy_daily_of(2017) * 1.2).all()  # growth 1.25 a year
    assert model.replans_on((date(2018, 1, 1) - model.first_date).days)
    assert not model.replans_on(model.warmup)  # the warm-up belongs to the first year


def test_fast_engine_equals_reference_across_a_new_plan_year(write):
    """Plans (routes, vans, shelves) change on 1 January; both engines change with them."""
    loaded = small(
        write,
        "horizon.start=2017-12-24",
        "horizon.years=2",
        "simulation.warmup_days=2",
        "demand.growth_per_year=2.5",
        "demand.parcels_per_household_day=0.05",
        "pickup.station_capacity=5",
        "couriers.van_capacity=40",
        "couriers.vans_per_county=10",
        days=16,
        villages=40,
    )
    network = build_network(loaded)
    model = Model(network, loaded.scenario)
    new_year = (date(2018, 1, 1) - model.first_date).days
    state = model.stations()
    before, after = model.network_on(state, new_year - 1), model.network_on(state, new_year)
    assert (after.capacity > before.capacity).any()  # shelves sized for 2018
    assert sum(p.per_day()[1].max() for p in after.plans) > sum(p.per_day()[1].max() for p in before.plans)
    (fast, _), (ref, _) = both(loaded, network)
    assert_same_kpis(fast, ref)
    assert fast.delivered.sum() > 500


# ------------------------------------------------------------------- item 2: periodic visits


def county(clusters: list[tuple[float, float, int]], seed: int = 0) -> Network:
    """One county, its warehouse and township seat at (0, 0); a station in every village; each
    cluster (km from the warehouse, bearing in degrees, villages) of 40-household villages
    within 2 km of its centre. Straight-line roads at 30 km/h."""
    rng = np.random.default_rng(seed)
    x, y = [], []
    for km, bearing, n in clusters:
        cx, cy = 1000 * km * np.cos(np.radians(bearing)), 1000 * km * np.sin(np.radians(bearing))
        x += (cx + rng.uniform(-2000, 2000, n)).tolist()
        y += (cy + rng.uniform(-2000, 2000, n)).tolist()
    n = len(x)
    villages = gpd.GeoDataFrame(
        {"village_id": [f"v{i}" for i in range(n)], "name": [f"v{i}" for i in range(n)], "county": "K",
         "township": "T", "population": 120, "households": 40, "x": x, "y": y, "lon": 0.0, "lat": 0.0,
         "synthetic": True},
        geometry=gpd.points_from_xy(x, y), crs=CRS,
    )  # fmt: skip
    townships = gpd.GeoDataFrame(
        {"township_id": ["T"], "name": ["T"], "county": ["K"], "population": [1000], "x": [0.0], "y": [0.0]},
        geometry=gpd.points_from_xy([0.0], [0.0]), crs=CRS,
    )  # fmt: skip
    counties = gpd.GeoDataFrame(
        {"county": ["K"], "circuity": [1.0], "seat_x": [0.0], "seat_y": [0.0], "population": [n * 120]},
        geometry=[shapely.box(-100_000, -100_000, 100_000, 100_000)], crs=CRS,
    )  # fmt: skip
    region = Region("k", CRS, counties, townships, villages)
    plan = BuildPlan(year_built=np.full(n, 2018), years=(2018,))
    return Network(region, plan, np.zeros(1, dtype=np.int64), StraightLine(speed_kmh=30.0))


#: Ten villages near the warehouse (daily), two clusters 60 km out (120 minutes: every 2 days)
#: and seven remote clusters 85 km out (170 minutes: every 7 days) around it.
MOUNTAINS = [(12, 30, 10), (60, 10, 4), (60, 190, 4), *[(85, 360 / 7 * k, 5) for k in range(7)]]


def fortnight(write, network: Network, *sets: str):
    path = write("k.yaml", "name: k\nregion: small\nhorizon: {start: 2018-01-01, days: 14}\n")
    loaded = load_scenario(path, ["simulation.warmup_days=0", "couriers.travel_noise_cv=0", *sets])
    model = Model(network, loaded.scenario)
    kpi = kpi_observer(model)
    ENGINES["fast"](model, 1, Bus([kpi])).run()
    return model, kpi


def test_visiting_remote_stations_less_often_drives_fewer_van_km(write):
    network = county(MOUNTAINS)
    _, daily = fortnight(write, network, "couriers.frequency=[{every_days: 1}]")
    model, rules = fortnight(write, network)  # every 1 / 2 / 7 days by minutes from the warehouse
    plan = model.network_on(model.stations(), 0).plans[0]
    assert sorted(set(plan.every_days[1:].tolist())) == [1, 2, 7]
    assert rules.delivered.sum() > 3000 and daily.delivered.sum() > 3000
    # Cutting visits to the remote stations cuts van km (a week's remote round trips are one
    # cluster a day instead of seven) ...
    assert rules.van["km"] < 0.6 * daily.van["km"]
    # ... and the vans drove no more than the plan's days say (here no day needs extra vans).
    routes, _, km = plan.per_day()
    assert len(km) == plan.period == 14 and rules.van["routes"] <= routes.sum()
    assert rules.van["km"] <= km.sum() + 1e-6


def test_each_stop_is_due_once_every_few_days_and_the_days_carry_about_the_same_load(write):
    network = county(MOUNTAINS, seed=4)
    path = write("k.yaml", "name: k\nregion: small\nhorizon: {start: 2018-01-01, days: 14}\n")
    model = Model(network, load_scenario(path).scenario)
    plan = model.network_on(model.stations(), 0).plans[0]
    every = plan.every_days
    days = np.array([plan.due(d) for d in range(3 * plan.period)])  # (day, matrix index)
    for m in range(1, len(every)):  # each stop due exactly once in any every_days days running
        windows = np.convolve(days[:, m], np.ones(every[m], dtype=int), mode="valid")
        assert (windows == 1).all()
    # The stops due on a day are exactly those the day's routes visit, each once.
    for d in range(plan.period):
        visited = np.sort(np.concatenate(plan.on(d).routes))
        assert visited.tolist() == (np.flatnonzero(plan.due(d)[1:]) + 1).tolist()
    # Loads per day (a stop's parcels since its last visit) are balanced across the period.
    village = plan.stops < model.points.n_villages
    per_visit = np.zeros(len(plan.stops))
    per_visit[village] = model.busy_daily[plan.stops[village]] * every[1:][village]
    load = np.array([per_visit[plan.due(d)[1:]].sum() for d in range(plan.period)])
    assert load.max() / load.mean() < 1.25
    # Neighbours share their day: the remote villages due on a day are one cluster.
    remote = every[1:] == 7
    for d in range(7):
        xy = model.points.stop_xy[plan.stops[plan.due(d)[1:] & remote]]
        assert len(xy) == 5 and np.ptp(xy, axis=0).max() < 5000


# ------------------------------------------------------------------- item 8: the shift limit


def test_routes_and_trips_longer_than_the_shift_are_reported(write):
    """Three villages 160 km out (320 minutes each way at 30 km/h): no route reaches them within
    a 10-hour shift. Their route is planned anyway and reported, and every day's trip to them
    runs and is counted as over the shift."""
    network = county([(12, 30, 6), (160, 90, 3)])
    path = write("k.yaml", "name: k\nregion: small\nhorizon: {start: 2018-01-01, days: 7}\n")
    sets = ["simulation.warmup_days=2", "couriers.travel_noise_cv=0", "couriers.frequency=[{every_days: 1}]"]
    run = simulate(network, load_scenario(path, sets), 1)
    plans = run.summary["route_plans"]["2017-12-30"]
    assert plans["routes_over_shift"] == 1 and plans["longest_route_h"] > 640 / 60
    assert plans["counties_over_fleet_or_shift"] == ["K"]
    vans = run.summary["vans"]
    assert vans["trips_over_shift"] == 7  # one a day, to the far villages
    assert vans["trips_over_shift_share"] == 7 / vans["routes_driven"]
    assert vans["longest_trip_h"] > 640 / 60 and vans["hours_over_shift"] > 7 * (640 / 60 - 10)


def test_plans_of_runs_that_differ_only_in_van_cost_rates_come_from_the_cache(write, tmp_path):
    """A sensitivity study varies van cost rates: they do not change a route, so the plans are
    the same objects, planned once (and the cost does change)."""
    loaded = small(write, days=3, villages=40)
    network = build_network(loaded)
    dearer = small(write, "couriers.cost_per_km=3.0", "couriers.cost_basis=van_days", days=3, villages=40)
    cache = tmp_path / "routes"
    first = Model(network, loaded.scenario, cache_dir=cache)
    first_run = simulate(network, loaded, 1, model=first)
    files = sorted(cache.glob("routes-*.pkl"))
    second = Model(network, dearer.scenario, cache_dir=cache)
    second_run = simulate(network, dearer, 1, model=second)
    assert sorted(cache.glob("routes-*.pkl")) == files and files
    assert second.planner.planning_s < first.planner.planning_s
    vans = first_run.summary["vans"], second_run.summary["vans"]
    assert vans[0]["km"] == vans[1]["km"] and vans[1]["courier_cost_yuan"] > vans[0]["courier_cost_yuan"]
