"""The delivery simulation: known answers, hand-checked timings, invariants, both engines."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.distance import StraightLine
from geo.placement import BuildPlan
from geo.region import Region
from sim.clock import DailyHours, lognormal, next_wave
from sim.config import Demand, Warehouses
from sim.demand import day_factors
from sim.engine import Engine, surge
from sim.network import Network, build_network
from sim.replicate import confidence, replicate, simulate
from sim.scenario import load_scenario
from sim.warehouse import Sorter

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


def test_trunk_waves():
    assert next_wave(np.array([1.0, 4, 5, 14, 23]), (4, 14)).tolist() == [4, 4, 14, 14, 28]
    assert next_wave(np.array([5.5]), ()).tolist() == [5.5]


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
        done = np.concatenate(
            [sorter.sort(part) for part in np.array_split(arrivals, 7)]
        )  # batches carry over
        means.append((done - arrivals).mean())
    se = np.std(means, ddof=1) / np.sqrt(len(means))
    assert abs(np.mean(means) - expected_w) < 3 * se + 0.01


def test_warehouse_shift_and_backlog_hand_case():
    sorter = Sorter(Warehouses(sorting_rate_per_h=2.0, shift_h=(6, 18)), np.random.default_rng(0))
    # Three parcels at 04:00 wait for the 06:00 shift and take 30 min each; one at 17:50 is
    # finished the next morning after 10 minutes of the day's last shift.
    assert sorter.sort(np.array([4.0, 4, 4])).tolist() == [6.5, 7.0, 7.5]
    assert sorter.sort(np.array([17.9])).tolist() == pytest.approx([30.4])


def test_surge_uses_spare_vans_in_route_order():
    from sim.config import Couriers

    cfg = Couriers(van_capacity=10, vans_per_county=7)
    got = surge(np.array([1, 1, 1]), np.array([35, 5, 25]), cfg)
    assert got.tolist() == [4, 1, 2]  # 4 spare vans: route 0 needs 3 more, route 2 gets the last one


# ---------------------------------------------------------------------------- hand-checked van


def line_network(scenario_loader) -> tuple[Network, object]:
    """Three villages at 10, 20 and 30 km east of the county seat, all with stations."""
    x = np.array([10_000.0, 20_000, 30_000])
    villages = gpd.GeoDataFrame(
        {
            "village_id": ["a", "b", "c"],
            "name": ["a", "b", "c"],
            "county": "K",
            "township": "T",
            "population": [249, 249, 249],
            "households": [100, 100, 100],
            "x": x,
            "y": 0.0,
            "lon": 0.0,
            "lat": 0.0,
            "synthetic": True,
        },
        geometry=gpd.points_from_xy(x, np.zeros(3)),
        crs=CRS,
    )
    townships = gpd.GeoDataFrame(
        {"township_id": ["T"], "name": ["T"], "county": ["K"], "population": [1000], "x": [0.0], "y": [0.0]},
        geometry=gpd.points_from_xy([0.0], [0.0]),
        crs=CRS,
    )
    counties = gpd.GeoDataFrame(
        {"county": ["K"], "circuity": [1.0], "seat_x": [0.0], "seat_y": [0.0], "population": [1000]},
        geometry=[shapely.box(-1000, -1000, 31_000, 1000)],
        crs=CRS,
    )
    region = Region("line", CRS, counties, townships, villages)
    plan = BuildPlan(year_built=np.array([2018, 2018, 2018]), years=(2018,))
    return Network(region, plan, np.zeros(1, dtype=np.int64), StraightLine(speed_kmh=30.0))


def test_one_van_run_on_a_three_stop_route_hand_checked(write, monkeypatch):
    loaded = small(
        write,
        "couriers.travel_noise_cv=0",
        "couriers.service_min_per_stop=4",
        "couriers.service_min_per_parcel=0.2",
    )
    engine = Engine(line_network(None), loaded.scenario, seed=0)
    plan = engine.routes(2018)[0]
    [route] = [r for r in plan.routes if plan.stops[r[0] - 1] < 3]  # the township point may ride apart
    order = [int(plan.stops[m - 1]) for m in route]
    assert order in ([0, 1, 2], [2, 1, 0])  # along the line, either way round (same length)
    seen = []
    monkeypatch.setattr(engine.kpi.available, "add", lambda group, hours: seen.extend(hours.tolist()))
    n = np.array([2, 1, 3])[order]  # parcels for villages a, b, c in visiting order
    dest = np.repeat(order, n)
    parcels = {
        "order": np.zeros(6) + engine.start_h,
        "point": dest,
        "dest": dest,
        "ptype": np.zeros(6, dtype=np.int8),
        "hub": np.zeros(6),
        "sorted": np.zeros(6),
    }
    m = np.repeat(route, n)
    position = np.zeros(len(plan.stops) + 1, dtype=np.int64)
    position[route] = [0, 1, 2]
    depart = engine.start_h + 8.0
    refused, vans = engine._deliver(
        0, plan, parcels, m, np.zeros(6, dtype=np.int64), position, depart, np.array([1])
    )
    assert len(refused["order"]) == 0
    # 1 km = 2 min at 30 km/h; service 4 + 0.2 per parcel minutes.
    if order == [0, 1, 2]:  # a (2 parcels), b (1), c (3), then 30 km home
        first, second, third, home = 20.0, 20 + 4.4 + 20, 20 + 4.4 + 20 + 4.2 + 20, 4.6 + 60
    else:  # c (3 parcels) at 30 km, b (1), a (2), then 10 km home
        first, second, third, home = 60.0, 60 + 4.6 + 20, 60 + 4.6 + 20 + 4.2 + 20, 4.4 + 20
    expected = np.repeat(np.array([first, second, third]) / 60 + 8.0, n)
    assert seen == pytest.approx(expected.tolist())
    assert engine.kpi.van["km"] == pytest.approx(60.0)
    assert engine.kpi.van["hours"] == pytest.approx((third + home) / 60)
    assert len(vans) == 1


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


def test_fast_engine_agrees_with_the_per_parcel_reference(write):
    """Three seeds each: mean lead times within the combined confidence band, pooled p50 and p90
    within 2%, same conservation."""
    fast = small(write, days=14)
    ref = small(write, "simulation.engine=reference", days=14)
    network = build_network(fast)
    stats = {}
    for name, loaded in (("fast", fast), ("reference", ref)):
        runs = [simulate(network, loaded, seed) for seed in (1, 2, 3)]
        assert all(r.summary["parcels_at_end"]["reconciled"] for r in runs)
        stats[name] = runs
    for key in ("order_to_available_h", "order_to_hand_h"):
        f = np.array([r.summary["total"][key]["mean_h"] for r in stats["fast"]])
        r = np.array([r.summary["total"][key]["mean_h"] for r in stats["reference"]])
        band = 3 * np.sqrt(f.var(ddof=1) / 3 + r.var(ddof=1) / 3) + 0.01 * r.mean()
        assert abs(f.mean() - r.mean()) < band
        for q in ("p50_h", "p90_h"):
            fq = np.mean([x.summary["total"][key][q] for x in stats["fast"]])
            rq = np.mean([x.summary["total"][key][q] for x in stats["reference"]])
            assert fq == pytest.approx(rq, rel=0.02)


def test_replications_report_confidence_intervals_and_parallel_equals_sequential(write):
    loaded = small(write, "simulation.replications=3", days=5, villages=30)
    network = build_network(loaded)
    runs = replicate(loaded, network, workers=2)
    sequential = [simulate(network, loaded, loaded.scenario.seed + r) for r in range(3)]
    assert [r.summary for r in runs] == [s.summary for s in sequential]
    ci = confidence(runs)["total.order_to_hand_h.mean_h"]
    values = np.array([r.summary["total"]["order_to_hand_h"]["mean_h"] for r in runs])
    half = 4.302652729911275 * values.std(ddof=1) / np.sqrt(3)  # t(0.975, 2)
    assert ci["mean"] == pytest.approx(values.mean(), abs=1e-3)
    assert ci["ci95_high"] - ci["mean"] == pytest.approx(half, abs=1e-3)
