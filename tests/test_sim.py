"""The delivery simulation: building blocks against known answers, hand-worked traces, and the
fast engine equal to the per-parcel reference, counter for counter, under capacity pressure."""

from __future__ import annotations

import itertools
from datetime import date

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.distance import StraightLine
from geo.placement import BuildPlan
from geo.region import Region
from sim.core.batch import ParcelBatch
from sim.core.clock import DailyHours, lognormal, next_wave
from sim.core.events import Bus, DayEnd, Delivered, Refused, Trips
from sim.core.interval import t_interval
from sim.engine.model import Model
from sim.engine.registry import ENGINES
from sim.flows.demand import day_factors, orders_batch
from sim.flows.trips import Visits, assign_vans, cut_loads, legs_per_van, time_trips
from sim.flows.unload import StockPool, unload
from sim.flows.warehouse import Sorter
from sim.kpi import STATES
from sim.network.build import Network, build_network
from sim.run import confidence, kpi_observer, replicate, simulate
from sim.scenario.delivery import Couriers, Demand, Warehouses
from sim.scenario.load import load_scenario

CRS = "EPSG:32650"


def small(write, *overrides, days=20, villages=60):
    path = write(
        "s.yaml",
        "name: s\nregion: {preset: small, roads: synthetic}\nstations: {rural: {target: 25}, "
        "community: {count: 3}}\nseed: 3\n",
    )
    sets = [f"simulation.days={days}", f"region.villages={villages}", *overrides]
    return load_scenario(path, sets)


# ------------------------------------------------------------------------------- building blocks


def test_daily_hours_count_only_open_time():
    clock = DailyHours(8, 20)
    assert clock.to_open(np.array([0.0, 8, 9, 20, 32, 33])).tolist() == [0, 0, 1, 12, 12, 13]
    # 2 open hours from 19:00 run to 09:00 the next day.
    assert clock.after(np.array([19.0]), np.array([2.0])).tolist() == [33.0]
    assert clock.after(np.array([3.0]), np.array([1.5])).tolist() == [9.5]  # closed at night: waits


def test_trunk_waves_and_their_slots():
    hub, slot = next_wave(np.array([1.0, 4, 5, 14, 23, 28.5]), (4, 14))
    assert hub.tolist() == [4, 4, 14, 14, 28, 38]
    assert slot.tolist() == [0, 0, 1, 1, 2, 3]  # day x waves + wave: increasing with the time
    hub, slot = next_wave(np.array([5.5, 30.0]), ())
    assert hub.tolist() == [5.5, 30.0] and slot.tolist() == [0, 1]


def test_lognormal_mean_and_cv():
    x = lognormal(30.0, 0.4, 400_000, np.random.default_rng(0))
    assert x.mean() == pytest.approx(30.0, rel=0.01) and x.std() / x.mean() == pytest.approx(0.4, rel=0.02)


def test_season_and_weekday_factors():
    cfg = Demand(growth_per_year=1.0)
    f = day_factors(cfg, date(2018, 1, 1), 365)
    # 2018-02-16 is the Spring Festival (a Friday: weekday factor 0.95), 2018-11-11 a Sunday.
    assert f[date(2018, 2, 16).toordinal() - date(2018, 1, 1).toordinal()] == pytest.approx(
        0.3 * 0.95, rel=0.01
    )
    assert f[date(2018, 11, 11).toordinal() - date(2018, 1, 1).toordinal()] == pytest.approx(
        3.0 * 0.95, rel=0.01
    )
    assert f[date(2018, 6, 18).toordinal() - date(2018, 1, 1).toordinal()] == pytest.approx(
        1.8 * 1.1, rel=0.01
    )
    quiet = date(2018, 4, 2).toordinal() - date(2018, 1, 1).toordinal()  # a Monday far from events
    assert f[quiet] == pytest.approx(1.1, rel=0.01)
    grown = day_factors(Demand(growth_per_year=1.25, events=()), date(2019, 1, 7), 1)  # a Monday
    assert grown[0] == pytest.approx(1.25 * 1.1 * 1.25 ** (6 / 365), rel=1e-6)


@pytest.mark.parametrize(("service", "expected_w"), [("exponential", 2.0), ("deterministic", 1.5)])
def test_warehouse_reproduces_mm1_and_md1_waiting_times(service, expected_w):
    """λ = 0.5/h, μ = 1/h, open all day: M/M/1 W = 1/(μ-λ) = 2 h; M/D/1 (Pollaczek-Khinchine)
    W = 1/μ + ρ/(2μ(1-ρ)) = 1.5 h. Five seeds, within three standard errors."""
    means = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        arrivals = np.cumsum(rng.exponential(2.0, size=100_000))
        sorter = Sorter(Warehouses(sorting_rate_per_h=1.0, shift_h=(0, 24), service=service), rng)
        done = np.concatenate([sorter.sort(part) for part in np.array_split(arrivals, 7)])
        means.append((done - arrivals).mean())
    se = np.std(means, ddof=1) / np.sqrt(len(means))
    assert abs(np.mean(means) - expected_w) < 3 * se + 0.01


def test_warehouse_shift_and_backlog_hand_case():
    sorter = Sorter(Warehouses(sorting_rate_per_h=2.0, shift_h=(6, 18)), np.random.default_rng(0))
    # Three parcels at 04:00 wait for the 06:00 shift and take 30 min each; one at 17:50 is
    # finished the next morning after 10 minutes of the day's last shift.
    assert sorter.sort(np.array([4.0, 4, 4])).tolist() == [6.5, 7.0, 7.5]
    assert sorter.sort(np.array([17.9])).tolist() == pytest.approx([30.4])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 200, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.integers(0, 60), max_size=6),
    st.sampled_from(["deterministic", "exponential"]),
)
def test_sorting_times_do_not_depend_on_how_arrivals_are_grouped(gaps, cuts, service):
    """The reference sorts each trunk wave as it comes, the fast engine a day at once: the same
    times to the last bit."""
    arrivals = np.cumsum(gaps)
    cfg = Warehouses(sorting_rate_per_h=3.0, shift_h=(6, 20), service=service)
    whole = Sorter(cfg, np.random.default_rng(1)).sort(arrivals)
    pieces = Sorter(cfg, np.random.default_rng(1))
    bounds = sorted({0, len(arrivals), *(c for c in cuts if c <= len(arrivals))})
    split = np.concatenate([pieces.sort(arrivals[a:b]) for a, b in itertools.pairwise(bounds)])
    assert split.tolist() == whole.tolist()


def test_vans_planned_first_then_surge_in_route_order():
    # 7 vans: routes need 4, 1, 3 (35, 5, 25 parcels, 10 a van); planned 1 each.
    assert assign_vans(np.array([1, 1, 1]), np.array([4, 1, 3]), 7).tolist() == [4, 1, 2]  # 4 spare
    # 3 vans, the first route planned for 2 but with nothing to carry: its vans serve the others.
    assert assign_vans(np.array([2, 1, 1]), np.array([0, 3, 2]), 3).tolist() == [0, 2, 1]
    # No van at the depot: nobody leaves.
    assert assign_vans(np.array([1, 1]), np.array([1, 2]), 0).tolist() == [0, 0]


def test_loads_are_cut_into_consecutive_vans_and_a_stop_may_be_split():
    """Route 0 visits stops 1, 2 and 3, a township seat whose express point (key 2) and lockers
    (key 3) are two drops. Seven parcels, keys 0, 0, 1, 1, 1, 2, 3, in visiting order."""
    keys = np.array([0, 0, 1, 1, 1, 2, 3])
    tables = np.zeros(4, np.int64), np.array([1, 2, 3, 3]), np.array([0, 0, 1, 2], np.int8)
    # Vans of 3: van 0 takes stops 1 and 2, van 1 the rest of stop 2 and stop 3's point, van 2
    # the lockers.
    v = cut_loads(keys, *tables, np.array([3]), 3)
    assert v.n_vans == 3 and v.van.tolist() == [0, 0, 1, 1, 2] and v.stop.tolist() == [1, 2, 2, 3, 3]
    assert v.parcels.tolist() == [2, 1, 2, 1, 1] and v.visit.tolist() == [0, 0, 1, 2, 2, 3, 4]
    assert v.drop_visit.tolist() == [0, 1, 2, 3, 4] and v.drop_ptype.tolist() == [0, 0, 0, 1, 2]
    # Vans of 4: van 1's stop at the seat leaves two drops, its express point's and its lockers'.
    v = cut_loads(keys, *tables, np.array([2]), 4)
    assert v.van.tolist() == [0, 0, 1, 1] and v.stop.tolist() == [1, 2, 2, 3]
    assert v.visit.tolist() == [0, 0, 1, 1, 2, 3, 3] and v.drop.tolist() == [0, 0, 1, 1, 2, 3, 4]
    assert v.drop_visit.tolist() == [0, 1, 2, 3, 3] and v.drop_ptype.tolist() == [0, 0, 0, 1, 2]


def test_route_timing_hand_checked():
    """Depot 0 and stops 1, 2, 3 on a line, 20 minutes apart (a, b, c at 10, 20, 30 km at
    30 km/h); one van with 2, 1, 3 parcels; service 4 min + 0.2 min per parcel."""
    x = np.array([0.0, 10, 20, 30])
    km = np.abs(x[:, None] - x[None, :])
    cfg = Couriers(service_min_per_stop=4, service_min_per_parcel=0.2)
    one = np.repeat([0, 1, 2], [2, 1, 3])
    visits = Visits(one, np.zeros(3, np.int64), np.array([1, 2, 3]), np.array([0, 2, 3]), np.array([2, 1, 3]),
                    1, one, np.arange(3), np.zeros(3, np.int8))  # fmt: skip
    assert legs_per_van(visits).tolist() == [4]
    t = time_trips(8.0, visits, (km * 2).ravel(), km.ravel(), cfg, np.ones(4), side=4)
    arrive_min = [20, 20 + 4.4 + 20, 20 + 4.4 + 20 + 4.2 + 20]
    assert t.arrive_h == pytest.approx(8 + np.array(arrive_min) / 60)
    assert t.minutes == pytest.approx([arrive_min[2] + 4.6 + 60])  # 30 km home
    assert t.km.tolist() == [60.0] and t.back_h == pytest.approx(8 + t.minutes / 60)
    # With noise: each leg x its factor (van by van: legs in order, then home).
    noisy = time_trips(8.0, visits, (km * 2).ravel(), km.ravel(), cfg, np.array([2.0, 1, 1, 0.5]), side=4)
    assert noisy.arrive_h[0] == pytest.approx(8 + 40 / 60) and noisy.minutes[0] == pytest.approx(
        t.minutes[0] + 20 - 30
    )


def test_unloading_takes_drops_in_time_order_per_bay():
    """Bay 7 holds 3 parcels; 1 is there until 9:00. A drop of 4 at 8:00 gets 2 places (those
    two collected at 10:00); at 10:00 a second drop finds the bay empty (collected at 10:00
    means gone) and leaves both its parcels; a drop at bay 5 (no limit) leaves all. Listed out
    of time order on purpose; each accepted parcel is collected 2 hours after arriving."""
    pool = StockPool(np.array([7]), np.array([9.0]))

    def collect(arrive):
        from sim.flows.pickup import Collection

        n = len(arrive)
        return Collection(release=arrive + 2.0, returned=np.zeros(n, dtype=bool), km=np.zeros(n))

    out = unload(
        np.array([7, 5, 7]),
        np.array([10.0, 8.5, 8.0]),
        np.array([2, 1, 0]),
        np.array([3, np.inf, 3]),
        np.array([0, 0, 1, 2, 2, 2, 2]),
        pool,
        collect,
    )
    assert out.accepted.tolist() == [True, True, True, True, True, False, False]
    assert out.release[:5].tolist() == [12.0, 12.0, 10.5, 10.0, 10.0]
    assert np.isnan(out.release[5:]).all()


# ------------------------------------------------------------------------------ hand-worked trace


def one_village_network() -> Network:
    """One village station 10 km east of the county seat (its warehouse and township seat)."""
    villages = gpd.GeoDataFrame(
        {"village_id": ["a"], "name": ["a"], "county": "K", "township": "T", "population": [30],
         "households": [10], "x": [10_000.0], "y": [0.0], "lon": 0.0, "lat": 0.0, "synthetic": True},
        geometry=gpd.points_from_xy([10_000.0], [0.0]), crs=CRS,
    )  # fmt: skip
    townships = gpd.GeoDataFrame(
        {"township_id": ["T"], "name": ["T"], "county": ["K"], "population": [100], "x": [0.0], "y": [0.0]},
        geometry=gpd.points_from_xy([0.0], [0.0]), crs=CRS,
    )  # fmt: skip
    counties = gpd.GeoDataFrame(
        {"county": ["K"], "circuity": [1.0], "seat_x": [0.0], "seat_y": [0.0], "population": [100]},
        geometry=[shapely.box(-1000, -1000, 11_000, 1000)], crs=CRS,
    )  # fmt: skip
    region = Region("one", CRS, counties, townships, villages)
    plan = BuildPlan(year_built=np.array([2018]), years=(2018,))
    return Network(region, plan, np.zeros(1, dtype=np.int64), StraightLine(speed_kmh=30.0))


def scripted(rows):
    """An order source from (day, point, order_h, trunk delay_h[, carrier]) rows; pickup
    randomness fixed (household at the station, mean patience)."""

    def orders(model, day, community_open, first_id, streams):
        mine = [r for r in rows if r[0] == day]
        point = np.array([r[1] for r in mine], dtype=np.int32)
        n = len(mine)
        return orders_batch(
            point,
            np.array([r[2] for r in mine], dtype=float),
            np.array([r[3] for r in mine], dtype=float),
            np.zeros(n),
            np.ones(n),
            first_id,
            model.points.county,
            model.scenario.trunk.waves_h,
            np.array([r[4] if len(r) > 4 else 0 for r in mine], dtype=np.int8),
            model.fleets_per_county,
        )

    return orders


class Trace:
    """Records (what, hours) from the engine's events, SimPy-test style."""

    def __init__(self):
        self.rows = []

    def on_trips(self, e: Trips):
        for v in range(len(e.route)):
            self.rows += [("depart", e.depart_h), ("back", e.back_h[v])]
        self.rows += [(f"arrive stop {s}", t) for s, t in zip(e.visit_stop, e.visit_h, strict=True)]

    def on_delivered(self, e: Delivered):
        for i, a, r in zip(e.parcels.id, e.arrive_h, e.release_h, strict=True):
            self.rows += [(f"unload {i}", a), (f"collected {i}", r)]

    def on_refused(self, e: Refused):
        for i, a, b in zip(e.parcels.id, e.at_h, e.back_h, strict=True):
            self.rows += [(f"refused {i}", a), (f"back at warehouse {i}", b)]

    def sorted(self):
        return sorted((round(float(t), 6), what) for what, t in self.rows)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_one_van_one_station_trace_hand_worked(write, engine):
    """Shelf of 3, one van of 10, 20 minutes each way, service 4 min + 0.5 min a parcel, a
    2-hour pickup in opening hours 8-20. Day 0: five parcels reach the warehouse at 04:00 and
    are sorted by 04:05 (a minute each); the van leaves at 08:00, is at the station at 08:20,
    which takes 3 (collected 10:20) and refuses 2; 6.5 min of service and 20 min back: at
    08:46:30 the two are at the warehouse again. Day 1: they leave at 32:00 with the day's one
    parcel (sorted 28:01); the shelf is empty again, so all three stay (collected 34:20)."""
    path = write(
        "one.yaml",
        """
        name: one
        region: small
        horizon: {start: 2018-01-01, days: 2}
        stations: {rural: {target: 1}}
        trunk: {waves_h: [4]}
        warehouses: {sorting_rate_per_h: 60, shift_h: [0, 24], cutoff_h: 1}
        couriers: {van_capacity: 10, vans_per_county: 1, travel_noise_cv: 0,
                   service_min_per_stop: 4, service_min_per_parcel: 0.5}
        pickup: {station_capacity: 3, shelf_days: 0,
                 village_station: {opening_h: [8, 20], base_h: 2, per_km_h: 0, household_km: 0}}
        simulation: {warmup_days: 0}
        """,
    )
    loaded = load_scenario(path, [f"simulation.engine={engine}"])
    rows = [(0, 0, 0.5 + k / 10, 3.0) for k in range(5)] + [(1, 0, 24.5, 3.0)]
    model = Model(one_village_network(), loaded.scenario, orders=scripted(rows))
    trace = Trace()
    ENGINES[engine](model, 0, Bus([trace])).run()
    h = 1 / 60
    arrive, back = 8 + 20 * h, 8 + 46.5 * h
    expected = [
        (8.0, "depart"),
        (arrive, "arrive stop 0"),
        *[(arrive, f"unload {i}") for i in (0, 1, 2)],
        *[(arrive, f"refused {i}") for i in (3, 4)],
        *[(back, what) for what in ("back", "back at warehouse 3", "back at warehouse 4")],
        *[(arrive + 2, f"collected {i}") for i in (0, 1, 2)],
        (32.0, "depart"),
        (32 + 20 * h, "arrive stop 0"),
        *[(32 + 20 * h, f"unload {i}") for i in (3, 4, 5)],
        (32 + 45.5 * h, "back"),
        *[(34 + 20 * h, f"collected {i}") for i in (3, 4, 5)],
    ]
    assert trace.sorted() == sorted((round(t, 6), what) for t, what in expected)


# ----------------------------------------------------------------- fast engine = reference, exactly

PRESSURE = [  # about 11 parcels a village and 10 a community station a day; little room
    "stations.rural.target=15",
    "stations.community.count=3",
    "demand.parcels_per_household_day=0.02",
    "pickup.community_parcels_per_day=10",
    "pickup.station_capacity=5",
    "pickup.shelf_days=0",
    "pickup.locker_slots=3",
    "pickup.township_capacity=15",
    "pickup.locker_limit_h=6",
    "couriers.van_capacity=60",
    "couriers.vans_per_county=8",
]
NO_RANDOMNESS = [
    "trunk.delay_cv=0",
    "couriers.travel_noise_cv=0",
    *[
        f"pickup.{kind}.{field}"
        for kind in ("village_station", "township_point", "community_locker")
        for field in ("opening_h=[20, 21]", "base_h=0", "per_km_h=0")
    ],
]
LONG_TRIPS = ["couriers.shift_h=24", "couriers.service_min_per_parcel=20", "couriers.vans_per_county=40"]


class Seen:
    """What a run exercised: refusals by point type, the most vans on one route in a day,
    the longest trip."""

    def __init__(self):
        self.refused_types: set[int] = set()
        self.vans_on_a_route = 0
        self.longest_trip_h = 0.0

    def on_refused(self, e: Refused):
        self.refused_types |= set(e.parcels.ptype.tolist())

    def on_trips(self, e: Trips):
        self.vans_on_a_route = max(self.vans_on_a_route, int(np.bincount(e.county * 10_000 + e.route).max()))
        self.longest_trip_h = max(self.longest_trip_h, float((e.back_h - e.depart_h).max()))


def both(loaded, network, seed=1):
    """KPIs of the fast and the reference engine on one model, and what the fast run did."""
    model = Model(network, loaded.scenario)
    out = []
    for name in ("fast", "reference"):
        kpi, seen = kpi_observer(model), Seen()
        ENGINES[name](model, seed, Bus([kpi, seen])).run()
        out.append((kpi, seen))
    return out


def assert_same_kpis(a, b):
    """Every counter and every histogram bin equal; sums equal to rounding."""
    for name in ("available", "in_hand"):
        np.testing.assert_array_equal(getattr(a, name).hist, getattr(b, name).hist)
        np.testing.assert_allclose(getattr(a, name).total, getattr(b, name).total, rtol=1e-12)
    for name in ("ordered_by_county", "delivered", "refused", "village_picked", "warehouse_orders",
                 "point_arrivals_per_h", "point_releases_per_h", "station_day_counts"):  # fmt: skip
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for s in STATES:
        np.testing.assert_array_equal(a.state[s], b.state[s], err_msg=s)
    assert a.backlog == b.backlog and a.sojourn_n == b.sojourn_n
    for key in ("routes", "stops", "loaded", "capacity"):
        assert a.van[key] == b.van[key], key
    assert a.van["km"] == pytest.approx(b.van["km"], rel=1e-12)
    assert a.van["hours"] == pytest.approx(b.van["hours"], rel=1e-12)
    np.testing.assert_allclose(a.village_hand_sum, b.village_hand_sum, rtol=1e-12)
    np.testing.assert_allclose(a.villager_km, b.villager_km, rtol=1e-12)


@pytest.mark.parametrize(
    ("case", "extra"),
    [
        ("deterministic", NO_RANDOMNESS),
        ("random", []),
        ("long trips", [*NO_RANDOMNESS, *LONG_TRIPS]),
    ],
)
def test_fast_engine_equals_reference_under_capacity_pressure(write, case, extra):
    loaded = small(write, *PRESSURE, *extra, "simulation.warmup_days=2", days=12, villages=40)
    (fast, seen), (ref, _) = both(loaded, build_network(loaded))
    assert_same_kpis(fast, ref)
    # The case is hard: every point type turned parcels away, lockers sent parcels back, some
    # route needed extra vans, stops were due on some days only.
    assert seen.refused_types == {0, 1, 2} and fast.refused.sum() > 100
    assert fast.state["returned"].sum() > 0
    assert seen.vans_on_a_route > 1
    assert fast.delivered.sum() > 150  # and parcels did get through
    if case == "long trips":
        assert seen.longest_trip_h > 24  # trips still out at the next departure


@pytest.mark.slow
def test_fast_engine_equals_reference_over_several_counties(write):
    path = write(
        "l.yaml",
        "name: l\nregion: {preset: lishui, villages: 150}\n"
        "stations: {rural: {target: 60}, community: {count: 20}}\n",
    )
    loaded = load_scenario(path, ["simulation.days=5", "simulation.warmup_days=1", *PRESSURE[2:]])
    (fast, _), (ref, _) = both(loaded, build_network(loaded))
    assert fast.counties == 9 and (fast.ordered_by_county > 0).all()
    assert_same_kpis(fast, ref)


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    shelf=st.integers(1, 30),
    lockers=st.integers(1, 20),
    van=st.integers(10, 300),
    fleet=st.integers(1, 20),
)
def test_fast_engine_equals_reference_whatever_the_settings(write, seed, shelf, lockers, van, fleet):
    loaded = small(
        write,
        f"seed={seed}",
        f"pickup.station_capacity={shelf}",
        "pickup.shelf_days=0",
        f"pickup.locker_slots={lockers}",
        f"couriers.van_capacity={van}",
        f"couriers.vans_per_county={fleet}",
        "simulation.warmup_days=1",
        days=5,
        villages=25,
    )
    (fast, _), (ref, _) = both(loaded, build_network(loaded), seed=seed)
    assert_same_kpis(fast, ref)


@pytest.mark.slow
def test_fast_and_reference_agree_in_distribution_on_different_seeds(write):
    """The one statistical comparison: different random numbers (fast: seeds 1-3, reference:
    seeds 4-6), so only the distributions can agree: mean order-to-hand within three combined
    standard errors and 2% of the mean."""
    loaded = small(write, days=10)
    network = build_network(loaded)
    model = Model(network, loaded.scenario)
    means = {}
    for name, seeds in (("fast", (1, 2, 3)), ("reference", (4, 5, 6))):
        values = []
        for seed in seeds:
            kpi = kpi_observer(model)
            ENGINES[name](model, seed, Bus([kpi])).run()
            values.append(kpi.in_hand.total.sum() / kpi.in_hand.hist.sum())
        means[name] = np.array(values)
    f, r = means["fast"], means["reference"]
    band = 3 * np.sqrt(f.var(ddof=1) / 3 + r.var(ddof=1) / 3) + 0.02 * r.mean()
    assert abs(f.mean() - r.mean()) < band


# ---------------------------------------------------------------------------- network that changes


class CloseOnDay:
    """Closes village station `village` from day `day` (as an operator model will)."""

    def __init__(self, state, village: int, day: int):
        self.state, self.village, self.day = state, village, day
        self.open_after: list[bool] = []
        self.delivered_after = 0

    def on_day_end(self, e: DayEnd):
        if e.day == self.day - 1:
            self.state.close_rural(np.array([self.village]), self.day)
        if e.day >= self.day:
            self.open_after.append(bool(e.rural_open[self.village]))

    def on_delivered(self, e: Delivered):
        late = (e.arrive_h >= 24 * self.day) & (e.parcels.dest == self.village) & (e.parcels.ptype == 0)
        self.delivered_after += int(late.sum())


@pytest.mark.parametrize("engine", list(ENGINES))
def test_a_station_that_closes_gets_no_more_parcels_and_its_village_is_served_by_the_township(write, engine):
    loaded = small(write, "simulation.warmup_days=0", days=8, villages=30)
    network = build_network(loaded)
    village = int(network.plan.sites(2018)[0])
    model = Model(network, loaded.scenario)
    kpi, state = kpi_observer(model), model.stations()
    closing = CloseOnDay(state, village, 4)
    info = ENGINES[engine](model, 2, Bus([kpi, closing]), stations=state).run()
    assert closing.open_after and not any(closing.open_after)
    assert closing.delivered_after == 0
    assert list(info.plans) == ["2018-01-01", "2018-01-05"]  # routes planned again for the new set
    summary = kpi.summary(cost_per_km=1, cost_per_hour=1, shift_h=10)
    assert summary["parcels_at_end"]["reconciled"]


def test_route_plans_are_kept_per_set_of_open_stations(write):
    loaded = small(write, days=3, villages=30)
    model = Model(build_network(loaded), loaded.scenario)
    state = model.stations()
    dest, ptype = model.points.destinations(state.rural_open(0), state.community_open(0))
    plans = model.planner.plans(dest, ptype, state.community_open(0))
    assert model.planner.plans(dest.copy(), ptype.copy(), state.community_open(0)) is plans
    state.close_rural(np.flatnonzero(state.rural_open(0))[:1], 1)
    dest1, ptype1 = model.points.destinations(state.rural_open(1), state.community_open(1))
    assert model.planner.plans(dest1, ptype1, state.community_open(1)) is not plans


def test_build_plan_opens_stations_on_new_year_and_warm_up_runs_on_the_first_network(write):
    path = write("p.yaml", "name: p\nregion: {preset: small, villages: 40}\nhorizon: {start: 2017-01-01, "
                 "years: 2}\nstations: {rural: {build_plan: {2017: 5, 2018: 12}}}\n")  # fmt: skip
    loaded = load_scenario(path)
    model = Model(build_network(loaded), loaded.scenario)
    state = model.stations()
    new_year = (date(2018, 1, 1) - model.first_date).days
    assert state.rural_open(0).sum() == 5 and state.rural_open(new_year - 1).sum() == 5
    assert state.rural_open(new_year).sum() == 12 and state.changes_on(new_year)


# -------------------------------------------------------------------------------- KPI from events


def test_station_day_histogram_has_no_ceiling(write):
    loaded = small(write, days=2, villages=30)
    model = Model(build_network(loaded), loaded.scenario)
    kpi = kpi_observer(model)
    start = int(model.start_h)
    n = 650
    parcels = ParcelBatch.new(np.arange(n), np.zeros(n, np.int32), np.full(n, start + 1.0),
                              np.full(n, start + 2.0), np.zeros(n), np.ones(n))  # fmt: skip
    parcels = parcels.with_(dest=np.zeros(n, np.int32), ptype=np.zeros(n, np.int8))
    arrive = np.full(n, start + 10.0)
    kpi.on_delivered(Delivered(parcels, arrive, arrive + 1, np.zeros(n, bool), np.zeros(n)))
    is_open = np.zeros(model.points.n_villages, dtype=bool)
    is_open[[0, 1]] = True
    kpi.on_day_end(DayEnd(model.warmup, model.date(model.warmup), True, is_open))
    days = kpi.summary(cost_per_km=1, cost_per_hour=1, shift_h=10)["station_parcels_per_day"]
    assert days["station_days"] == 2 and days["max"] == 650 and days["mean"] == 325


# ----------------------------------------------------------------------------------- whole runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim")

    def write(name, text):
        (folder / name).write_text(text)
        return folder / name

    loaded = small(write)
    network = build_network(loaded)
    return loaded, network, simulate(network, loaded, 3)


def test_every_parcel_ends_somewhere(runs):
    _, _, run = runs
    end = run.summary["parcels_at_end"]
    assert end["reconciled"] and end["ordered"] > 10_000
    assert end["picked_up"] > 0.8 * end["ordered"]
    total = run.summary["total"]["parcels"]
    assert total["ordered"] == end["ordered"]
    assert total["pending"] == end["ordered"] - end["picked_up"] - end["returned"]
    by_type = run.summary["by_point_type"]
    assert sum(b["parcels"]["ordered"] for b in by_type.values()) == end["ordered"]


def test_same_seed_same_metrics_other_seed_other_metrics(runs):
    loaded, network, run = runs
    again = simulate(network, loaded, 3)
    assert again.summary == run.summary
    other = simulate(network, loaded, 4)
    assert other.summary["total"] != run.summary["total"]


def test_common_random_numbers_across_placements(write):
    a = small(write, "stations.rural.placement=population")
    b = small(write, "stations.rural.placement=random")
    ra = simulate(build_network(a), a, 5).summary
    rb = simulate(build_network(b), b, 5).summary
    assert ra["parcels_at_end"]["ordered"] == rb["parcels_at_end"]["ordered"]  # same demand
    assert ra["total"] != rb["total"]


def test_littles_law_for_stock_at_delivery_points(write):
    loaded = small(write, days=60)
    stock = simulate(build_network(loaded), loaded, 1).summary["points_stock"]
    assert stock["mean_parcels_waiting"] == pytest.approx(
        stock["arrivals_per_h"] * stock["mean_sojourn_h"], rel=0.03
    )


def test_stations_shorten_order_to_hand_and_villager_travel(write):
    with_stations = small(write)
    without = small(write, "stations.rural.target=0")
    a = simulate(build_network(with_stations), with_stations, 2).summary["total"]
    b = simulate(build_network(without), without, 2).summary["total"]
    assert a["order_to_hand_h"]["mean_h"] < b["order_to_hand_h"]["mean_h"]
    assert a["villager_travel"]["km_per_parcel"] < b["villager_travel"]["km_per_parcel"]
    assert b["villager_travel"]["person_km_saved"] == pytest.approx(0.0, abs=1e-6)


def test_more_shelf_space_never_means_more_refusals(write):
    refused = []
    for shelf in (2, 8, 40):
        loaded = small(write, f"pickup.station_capacity={shelf}", "pickup.shelf_days=0", days=8, villages=30)
        parcels = simulate(build_network(loaded), loaded, 1).summary["total"]["parcels"]
        refused.append(parcels["refusals_at_full_point"])
    assert refused[0] >= refused[1] >= refused[2] and refused[0] > refused[2]


def test_replications_report_confidence_intervals_and_parallel_equals_sequential(write):
    loaded = small(write, "simulation.replications=3", days=5, villages=30)
    network = build_network(loaded)
    runs = replicate(loaded, network, workers=2)
    sequential = [simulate(network, loaded, loaded.scenario.seed + r) for r in range(3)]
    assert [r.summary for r in runs] == [s.summary for s in sequential]
    ci = confidence(runs)["total.order_to_hand_h.mean_h"]
    values = np.array([r.summary["total"]["order_to_hand_h"]["mean_h"] for r in runs])
    half = 4.302652729911275 * values.std(ddof=1) / np.sqrt(3)  # t(0.975, 2)
    assert ci["mean"] == pytest.approx(values.mean(), rel=1e-9)
    assert ci["ci95_high"] - ci["mean"] == pytest.approx(half, rel=1e-9)
    # one interval for every figure: a study's t interval of the same values is this one
    assert (ci["ci95_low"], ci["ci95_high"]) == (t_interval(values).low, t_interval(values).high)


def test_a_figure_from_one_run_has_no_interval(write):
    """With one value there is no spread to estimate: no interval (null), as in a study, not an
    interval of width zero."""
    loaded = small(write, days=2, villages=30)
    network = build_network(loaded)
    one, two = (simulate(network, loaded, s) for s in (1, 2))
    two.summary["total"]["only_here"] = 5.0  # a figure the other run lacks
    figures = confidence([two, one])
    assert figures["total.only_here"] == {"mean": 5.0, "ci95_low": None, "ci95_high": None}
    single = t_interval(np.array([5.0]))
    assert (single.low, single.high) == (None, None)
    assert figures["total.parcels.ordered"]["ci95_low"] is not None
