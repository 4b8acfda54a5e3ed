import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from analysis.coverage import access, summarise, weighted_quantile
from geo.distance import StraightLine
from geo.placement import BuildPlan
from geo.region import Region
from sim.network.build import Network

CRS = "EPSG:32650"


def line_network(rural_year_built, community) -> Network:
    """Four villages on a line at x = 0, 1, 3, 7 km with 100, 200, 300, 400 residents; county A
    holds the first two, B the last two; circuity 1.5 in both. One township seat at x = 7.5 km."""
    x = np.array([0.0, 1000, 3000, 7000])
    villages = gpd.GeoDataFrame(
        {
            "village_id": ["v1", "v2", "v3", "v4"],
            "county": ["A", "A", "B", "B"],
            "population": [100, 200, 300, 400],
            "x": x,
            "y": 0.0,
        },
        geometry=gpd.points_from_xy(x, np.zeros(4)),
        crs=CRS,
    )
    townships = gpd.GeoDataFrame(
        {"township_id": ["t1"], "county": ["B"], "population": [1000], "x": [7500.0], "y": [0.0]},
        geometry=gpd.points_from_xy([7500.0], [0.0]),
        crs=CRS,
    )
    counties = gpd.GeoDataFrame(
        {"county": ["A", "B"], "circuity": [1.5, 1.5]},
        geometry=[shapely.box(-1, -1, 2000, 1), shapely.box(2000, -1, 8000, 1)],
        crs=CRS,
    )
    region = Region("line", CRS, counties, townships, villages)
    plan = BuildPlan(year_built=np.array(rural_year_built), years=(2018,))
    return Network(region, plan, np.array(community), StraightLine())


def test_hand_worked_case_rural_station_only():
    net = line_network([2018, -1, -1, -1], [0])
    acc = access(net, 2018)
    # Road km = straight km x 1.5 from the station at x = 0.
    assert acc.distance_km.tolist() == pytest.approx([0.0, 1.5, 4.5, 10.5])
    assert acc.station_id.tolist() == ["v1"] * 4
    s = summarise(
        ["A", "B"],
        np.array(["A", "A", "B", "B"]),
        np.array([100, 200, 300, 400]),
        acc,
        3.0,
    )
    total = s["total"]
    assert total["villages_with_station"] == 1 and total["villages_with_station_share"] == 0.25
    assert total["population_covered"] == 300 and total["population_covered_share"] == 0.3
    assert total["mean_distance_km"] == pytest.approx((0 * 100 + 1.5 * 200 + 4.5 * 300 + 10.5 * 400) / 1000)
    assert total["p95_distance_km"] == 10.5  # cumulative residents 100, 300, 600, 1000: 950 falls in v4
    a, b = s["by_county"]["A"], s["by_county"]["B"]
    assert a["population_covered_share"] == 1.0 and a["mean_distance_km"] == pytest.approx(1.0)
    assert b["population_covered_share"] == 0.0 and b["p95_distance_km"] == 10.5


def test_community_station_serves_its_neighbours_and_years_matter():
    net = line_network([2017, -1, 2018, -1], [2])
    acc = access(net, 2017)
    # v3 at 3 km is nearer v1 (3 km) than the seat at 7.5 km (4.5 km).
    assert acc.station_kind.tolist() == ["rural", "rural", "rural", "community"]
    assert acc.station_id.tolist() == ["v1", "v1", "v1", "t1/community"]
    assert acc.distance_km.tolist() == pytest.approx([0.0, 1.5, 4.5, 0.75])
    later = access(net, 2018)
    assert later.has_station.tolist() == [True, False, True, False]
    assert later.distance_km.tolist() == pytest.approx([0.0, 1.5, 0.0, 0.75])


def test_no_station_means_no_coverage_and_unknown_distance():
    net = line_network([-1, -1, -1, -1], [0])
    acc = access(net, 2018)
    assert np.isinf(acc.distance_km).all()
    total = summarise(
        ["A", "B"],
        np.array(["A", "A", "B", "B"]),
        np.array([100, 200, 300, 400]),
        acc,
        3.0,
    )["total"]
    assert total["population_covered_share"] == 0.0
    assert total["mean_distance_km"] is None and total["p95_distance_km"] is None


@given(st.lists(st.floats(0, 1000), min_size=1, max_size=50), st.floats(0.01, 1.0))
def test_weighted_quantile_with_unit_weights_is_the_inverted_cdf(values, q):
    v = np.array(values)
    expected = np.quantile(v, q, method="inverted_cdf")
    assert weighted_quantile(v, np.ones(len(v)), q) == pytest.approx(expected)


@given(
    st.lists(st.tuples(st.floats(0, 100), st.integers(1, 20)), min_size=1, max_size=30), st.floats(0.01, 1)
)
def test_weighted_quantile_equals_quantile_of_repeated_values(pairs, q):
    values = np.array([p[0] for p in pairs])
    weights = np.array([p[1] for p in pairs])
    expected = np.quantile(np.repeat(values, weights), q, method="inverted_cdf")
    assert weighted_quantile(values, weights, q) == pytest.approx(expected)


def test_more_stations_never_lower_coverage(small_region):
    from geo.placement import plan_builds

    weights = small_region.villages["population"].to_numpy(float)
    plan, _ = plan_builds({2016: 10, 2017: 40, 2018: 90}, "random", weights=weights, seed=3)
    net = Network(small_region, plan, np.zeros(len(small_region.townships), int), StraightLine())
    shares = []
    for year in plan.years:
        acc = access(net, year)
        total = summarise(
            ["Smallcounty"],
            small_region.villages["county"].to_numpy(),
            small_region.villages["population"].to_numpy(),
            acc,
            3.0,
        )["total"]
        shares.append((total["population_covered_share"], -total["mean_distance_km"]))
    assert shares == sorted(shares)
    assert pd.Series([s[0] for s in shares]).is_monotonic_increasing
