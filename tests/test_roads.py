import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import floyd_warshall

from geo import presets
from geo.errors import InputError
from geo.files import LayerSource
from geo.roads import components, from_lines, read_roads
from geo.synroads import synthetic_roads
from geo.travel import RoadTravel, connect_villages

CRS = "EPSG:32650"
A, B = (0.0, 0.0), (4000.0, 0.0)


def two_roads(oneway="no") -> gpd.GeoDataFrame:
    """A -> B: a 4 km residential road (25 km/h) and a 7.211 km motorway (90 km/h) bending
    through (2000, 3000)."""
    return gpd.GeoDataFrame(
        {"highway": ["residential", "motorway"], "oneway": [oneway, "no"]},
        geometry=[shapely.LineString([A, B]), shapely.LineString([A, (2000, 3000), B])],
        crs=CRS,
    )


def network_of(frame, **kw):
    return from_lines(frame, road_class=frame["highway"].to_numpy(), oneway=frame["oneway"].to_numpy(), **kw)


MOTORWAY_KM = 2 * np.hypot(2000, 3000) / 1000


def test_shortest_km_and_fastest_minutes_use_different_roads():
    travel = RoadTravel(network_of(two_roads()))
    t = travel.matrix(np.array([A]), np.array([B]))
    assert t.km[0, 0] == pytest.approx(4.0)  # the residential road
    assert t.minutes[0, 0] == pytest.approx(MOTORWAY_KM / 90 * 60)  # the motorway


def test_one_way_road_is_only_driven_forward():
    travel = RoadTravel(network_of(two_roads(oneway="yes")))
    t = travel.matrix(np.array([A, B]), np.array([B, A]))
    assert t.km[0, 0] == pytest.approx(4.0)
    assert t.km[1, 1] == pytest.approx(MOTORWAY_KM)  # back only by the motorway


def test_connector_length_counts_and_cutoff_drops_far_pairs():
    travel = RoadTravel(network_of(two_roads()), connector_speed_kmh=15)
    p = np.array([[0.0, -300.0]])
    t = travel.matrix(p, np.array([B]))
    assert t.km[0, 0] == pytest.approx(0.3 + 4.0)
    assert t.minutes[0, 0] == pytest.approx(0.3 / 15 * 60 + MOTORWAY_KM / 90 * 60)
    cut = travel.matrix(np.vstack([p, [A]]), np.array([B]), cutoff_km=4.2)
    assert np.isinf(cut.km[0, 0]) and np.isinf(cut.minutes[0, 0])
    assert cut.km[1, 0] == pytest.approx(4.0)


def test_points_sharing_a_node_use_the_straight_line_between_them():
    travel = RoadTravel(network_of(two_roads()))
    t = travel.matrix(np.array([[0.0, -300.0], [10.0, 10.0]]), np.array([[0.0, -300.0], [0.0, -200.0]]))
    assert t.km[0, 0] == 0.0 and t.km[0, 1] == pytest.approx(0.1)


def test_lines_split_at_shared_vertices_and_ends_snap_within_tolerance():
    cross = gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([(-1000, 0), (0, 0), (1000, 0)]),
            shapely.LineString([(0, -1000), (0, 0), (0, 1000)]),
            shapely.LineString([(1003, 0), (2000, 0)]),
        ],
        crs=CRS,
    )
    snapped = from_lines(cross, snap_m=5)
    assert snapped.n_nodes == 6 and len(snapped.road_km) == 5
    assert components(snapped).count == 1
    assert components(from_lines(cross, snap_m=1)).count == 2
    t = RoadTravel(snapped).matrix(np.array([[0.0, -1000.0]]), np.array([[2000.0, 0.0]]))
    assert t.km[0, 0] == pytest.approx(1 + 1 + 0.997, abs=1e-3)


def test_disconnected_part_is_joined_by_a_flagged_connector_and_reported():
    frame = two_roads()
    island = gpd.GeoDataFrame(
        {"highway": ["track"], "oneway": ["no"]},
        geometry=[shapely.LineString([(20_000, 0), (21_000, 0)])],
        crs=CRS,
    )
    network = network_of(
        gpd.GeoDataFrame(
            np.concatenate([frame.values, island.values]), columns=frame.columns, geometry="geometry", crs=CRS
        )
    )
    assert components(network).count == 2
    villages = np.array([[0.0, 10.0], [21_000.0, 10.0], [20_000.0, -10.0]])
    joined, notes = connect_villages(network, villages, np.array(["V1", "V2", "V3"]), circuity=1.5)
    assert components(joined).count == 1
    assert notes == [
        "1 disconnected part(s) joined to the main network by flagged connectors",
        "2 village(s) reach the main network only by a flagged connector (V2, V3)",
    ]
    layer = joined.to_geodataframe()
    assert layer["flagged"].sum() == 1 and layer.loc[layer["flagged"], "dist_km"].item() == pytest.approx(
        24.0
    )
    t = RoadTravel(joined).matrix(villages[:1], villages[1:2])
    assert np.isfinite(t.km[0, 0]) and t.km[0, 0] == pytest.approx(0.01 + 4 + 24 + 1 + 0.01)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(4, 25))
def test_travel_matrix_equals_floyd_warshall(seed, n):
    """Random road networks: every node-to-node km and minute equals the all-pairs optimum."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10_000, size=(n, 2)).round()
    xy = np.unique(xy, axis=0)
    pairs = rng.integers(0, len(xy), size=(2 * len(xy), 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if len(pairs) == 0:
        return
    classes = rng.choice(["primary", "residential", "track"], size=len(pairs))
    lines = gpd.GeoDataFrame(
        {"highway": classes, "oneway": rng.choice(["no", "yes"], len(pairs))},
        geometry=shapely.linestrings(np.stack([xy[pairs[:, 0]], xy[pairs[:, 1]]], 1)),
        crs=CRS,
    )
    network = network_of(lines, snap_m=0)
    travel = RoadTravel(network)
    nodes = network.node_xy
    got = travel.matrix(nodes, nodes)
    for weight, values in (("km", got.km), ("minutes", got.minutes)):
        expected = floyd_warshall(network.graph(weight), directed=True)
        finite = np.isfinite(expected)
        assert np.array_equal(finite, np.isfinite(values))
        assert np.allclose(values[finite], expected[finite])


def test_cache_returns_the_same_matrix_and_is_keyed_by_network(tmp_path):
    network = network_of(two_roads())
    points = np.array([A, B, (100.0, 50.0)])
    first = RoadTravel(network, cache_dir=tmp_path).matrix(points, points)
    files = list(tmp_path.glob("travel-*.npz"))
    assert len(files) == 1
    again = RoadTravel(network, cache_dir=tmp_path).matrix(points, points)
    assert np.array_equal(first.km, again.km) and np.array_equal(first.minutes, again.minutes)
    RoadTravel(network_of(two_roads(oneway="yes")), cache_dir=tmp_path).matrix(points, points)
    assert len(list(tmp_path.glob("travel-*.npz"))) == 2


def test_synthetic_lishui_roads_are_calibrated_to_the_sourced_facts(lishui_region):
    roads = synthetic_roads(lishui_region, total_km=15_680, expressway_km=419)
    assert roads.total_km() == pytest.approx(15_680, rel=0.01)
    assert roads.total_km("expressway") == pytest.approx(419, rel=1e-6)
    assert components(roads).count == 1
    travel = RoadTravel(roads)
    seats = lishui_region.counties[["seat_x", "seat_y"]].to_numpy()
    km = travel.matrix(seats, seats).km
    straight = np.hypot(*(seats[:, None] - seats[None]).transpose(2, 0, 1)) / 1000
    iu = np.triu_indices(len(seats), 1)
    assert 1.3 <= np.median(km[iu] / straight[iu]) <= 1.8  # between county seats
    v, t = lishui_region.villages, lishui_region.townships
    town = v["township"].map({tid: i for i, tid in enumerate(t["township_id"])}).to_numpy()
    leg = travel.matrix(lishui_region.township_xy, lishui_region.village_xy).km[town, np.arange(len(v))]
    direct = np.hypot(*(lishui_region.township_xy[town] - lishui_region.village_xy).T) / 1000
    assert 2.0 <= np.median(leg[direct > 1] / direct[direct > 1]) <= 3.0  # township -> village legs


def test_small_preset_roads_without_calibration(small_region):
    roads = synthetic_roads(small_region)
    assert components(roads).count == 1
    assert set(roads.road_class) == {"main", "village"}  # one county: no expressway
    assert presets.small().road_km is None


def test_read_roads_from_a_geopackage_with_mapped_columns(tmp_path):
    frame = two_roads(oneway="yes").rename(columns={"highway": "kind", "oneway": "dir"})
    frame["vmax"] = ["30 mph", None]
    frame.to_crs("EPSG:4326").to_file(tmp_path / "roads.gpkg", layer="roads", engine="pyogrio")
    src = LayerSource(
        tmp_path / "roads.gpkg",
        "roads.gpkg",
        "roads",
        {"class": "kind", "oneway": "dir", "speed_kmh": "vmax"},
    )
    network = read_roads(src, crs=CRS)
    assert network.total_km() == pytest.approx(4 + MOTORWAY_KM, rel=1e-4)
    layer = network.to_geodataframe()
    assert layer["oneway"].tolist() == [True, False]
    assert layer["time_min"].iloc[0] == pytest.approx(4 / (30 * 1.609344) * 60, rel=1e-3)


def test_bad_road_layers(tmp_path):
    two_roads().to_file(tmp_path / "roads.gpkg", layer="roads", engine="pyogrio")
    with pytest.raises(InputError) as err:
        read_roads(
            LayerSource(tmp_path / "roads.gpkg", "roads.gpkg", None, {"speed_kmh": "vmax", "lanes": "x"}),
            crs=CRS,
        )
    assert err.value.problems == (
        "roads.gpkg: columns.lanes: not a road column; use class, speed_kmh, oneway",
        "roads.gpkg: columns.speed_kmh: column 'vmax' not found; columns: highway, oneway",
    )
    gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=CRS).to_file(tmp_path / "pts.gpkg", engine="pyogrio")
    with pytest.raises(InputError) as err:
        read_roads(LayerSource(tmp_path / "pts.gpkg", "pts.gpkg"), crs=CRS)
    assert err.value.problems == ("pts.gpkg: geometry: no lines in the layer (got Point)",)
    with pytest.raises(InputError, match=r"missing\.gpkg: file not found"):
        read_roads(LayerSource(tmp_path / "missing.gpkg", "missing.gpkg"), crs=CRS)


def test_openstreetmap_extract():
    pyrosm = pytest.importorskip("pyrosm")
    path = pyrosm.get_data("test_pbf")
    from pathlib import Path

    network = read_roads(LayerSource(Path(path), "test.osm.pbf"), crs="EPSG:32635")
    assert network.n_nodes > 50 and network.total_km() > 10
    assert {"secondary", "residential"} <= set(network.road_class)
    assert network.to_geodataframe()["oneway"].any()
