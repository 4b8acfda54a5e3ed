"""geo/files.py: regions from the user's GeoPackage, GeoJSON, Shapefile and CSV files.

Fixture files are written into `tmp_path` by each test; messages name them as `data/<file>`.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geo.errors import InputError
from geo.files import HULL_BUFFER_M, LayerSource, load_region, read_layer, utm_crs
from geo.region import VILLAGE_COLUMNS

# Five villages around Lishui: two near (119.9, 28.4), three near (119.6, 28.1).
IDS = ["V1", "V2", "V3", "V4", "V5"]
LON = [119.90, 119.92, 119.60, 119.62, 119.64]
LAT = [28.40, 28.42, 28.10, 28.12, 28.08]
POP = [1000, 600, 250, 400, 120]


NO_CRS = "no CRS; set one in the file (a .prj for shapefiles) or use CSV with lon/lat"
TOWNSHIP_COLUMNS = ["township_id", "name", "county", "kind", "villages", "population", "x", "y", "lon", "lat"]
COUNTY_COLUMNS = [
    "county",
    "name_zh",
    "area_km2",
    "population",
    "rural_population",
    "circuity",
    "seat_x",
    "seat_y",
]


def source(path: Path, **kwargs) -> LayerSource:
    return LayerSource(path, f"data/{path.name}", **kwargs)


def village_frame(**columns) -> gpd.GeoDataFrame:
    data = {"village_id": IDS, "name": [f"village {i}" for i in IDS], "population": POP, **columns}
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(LON, LAT), crs="EPSG:4326")


def write(frame: gpd.GeoDataFrame | pd.DataFrame, path: Path, **kwargs) -> LayerSource:
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_file(path, engine="pyogrio", **kwargs)
    else:
        frame.to_csv(path, index=False)
    return source(path)


def village_csv(tmp_path: Path, filename: str = "v.csv", **columns) -> LayerSource:
    data = {"village_id": IDS, "population": POP, "lon": LON, "lat": LAT, **columns}
    return write(pd.DataFrame(data), tmp_path / filename)


def problems(*args, **kwargs) -> list[str]:
    with pytest.raises(InputError) as info:
        load_region(*args, **kwargs)
    return list(info.value.problems)


def to_utm(lon, lat, crs: str = "EPSG:32650") -> tuple[np.ndarray, np.ndarray]:
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(np.asarray(lon), np.asarray(lat))


# --- loading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".json", ".shp", ".csv"])
def test_each_format_loads_villages(tmp_path, suffix):
    path = tmp_path / f"villages{suffix}"
    if suffix == ".csv":
        village_csv(tmp_path, path.name, name=[f"village {i}" for i in IDS])
    else:
        write(village_frame(), path, **({"driver": "GeoJSON"} if suffix == ".json" else {}))
    region = load_region(source(path))
    v = region.villages
    assert list(v.columns) == [*VILLAGE_COLUMNS, "geometry"]
    assert region.crs == "EPSG:32650" and v.crs == "EPSG:32650"
    assert v["village_id"].tolist() == IDS and v["name"].tolist() == [f"village {i}" for i in IDS]
    assert v["population"].tolist() == POP and v["population"].dtype == np.int64
    assert v["households"].tolist() == [max(1, round(p / 2.49)) for p in POP]
    x, y = to_utm(LON, LAT)
    assert np.allclose(v["x"], x, atol=0.01) and np.allclose(v["y"], y, atol=0.01)
    assert np.allclose(v["lon"], LON) and np.allclose(v["lat"], LAT)
    assert np.allclose(shapely.get_x(v.geometry.array), x, atol=0.01)
    assert not v["synthetic"].any()
    assert region.name == "file" and region.credit == "" and region.candidates is None


def test_same_dtypes_as_the_synthetic_regions(tmp_path, small_region):
    region = load_region(
        village_csv(tmp_path, township=["A", "A", "B", "B", "B"]),
        candidates=village_csv(tmp_path, "s.csv", candidate_id=["S1", "S2", "S3", "S4", "S5"]),
    )
    for mine, theirs in (
        (region.villages, small_region.villages),
        (region.townships, small_region.townships),
        (region.counties, small_region.counties),
    ):
        assert mine.dtypes.astype(str).to_dict() == theirs.dtypes.astype(str).to_dict()
    assert region.candidates is not None and region.candidates["village_id"].tolist() == IDS


def test_households_from_the_file_where_given(tmp_path):
    v = load_region(village_csv(tmp_path, households=[400, "", 100, "", 50])).villages
    assert v["households"].tolist() == [400, round(600 / 2.49), 100, round(400 / 2.49), 50]
    v = load_region(village_csv(tmp_path, households=["", "", "", "", ""]), persons_per_household=4).villages
    assert v["households"].tolist() == [250, 150, 62, 100, 30]
    assert problems(village_csv(tmp_path, households=[1, 0, "two", 3, 4])) == [
        "data/v.csv: households: not a number in 1 row (ids V3)",
        "data/v.csv: households: zero or negative in 1 row (ids V2)",
    ]


def test_ids_stay_text_and_name_defaults_to_the_id(tmp_path):
    src = village_csv(tmp_path, village_id=["001", "002", "003", "004", "005"])
    v = load_region(src).villages
    assert v["village_id"].tolist() == ["001", "002", "003", "004", "005"]
    assert v["name"].tolist() == v["village_id"].tolist()
    numeric = write(village_frame(village_id=[11, 12, 13, 14, 15]), tmp_path / "n.gpkg")
    assert load_region(numeric).villages["village_id"].tolist() == ["11", "12", "13", "14", "15"]


def test_projected_input_is_reprojected(tmp_path):
    src = write(village_frame().to_crs("EPSG:3857"), tmp_path / "v.gpkg")
    region = load_region(src)
    assert region.crs == "EPSG:32650"
    x, y = to_utm(LON, LAT)
    assert np.allclose(region.villages["x"], x, atol=0.01) and np.allclose(region.villages["y"], y, atol=0.01)
    assert np.allclose(region.villages["lon"], LON, atol=1e-9)
    assert np.allclose(region.villages["lat"], LAT, atol=1e-9)


def test_explicit_crs(tmp_path):
    src = write(village_frame().to_crs("EPSG:32650"), tmp_path / "v.shp")
    region = load_region(src, crs="EPSG:32651")
    assert region.crs == "EPSG:32651" and region.villages.crs == "EPSG:32651"
    assert region.counties.crs == "EPSG:32651" and region.townships.crs == "EPSG:32651"
    x, y = to_utm(LON, LAT, "EPSG:32651")
    assert np.allclose(region.villages["x"], x, atol=0.01) and np.allclose(region.villages["y"], y, atol=0.01)


def test_utm_zone_of_a_point():
    assert utm_crs(119.9, 28.4) == "EPSG:32650"  # Lishui
    assert utm_crs(151.2, -33.9) == "EPSG:32756"  # Sydney
    assert utm_crs(-180.0, 10.0) == "EPSG:32601" and utm_crs(180.0, 10.0) == "EPSG:32660"
    assert utm_crs(0.0, 0.0) == "EPSG:32631"


def test_southern_hemisphere_villages_get_a_southern_utm_zone(tmp_path):
    frame = pd.DataFrame(
        {"village_id": ["A", "B"], "population": [10, 20], "lon": [36.8, 36.9], "lat": [-1.3, -1.2]}
    )
    region = load_region(write(frame, tmp_path / "kenya.csv"))
    assert region.crs == "EPSG:32737"
    x, y = to_utm([36.8, 36.9], [-1.3, -1.2], "EPSG:32737")
    assert np.allclose(region.villages["x"], x, atol=0.01) and np.allclose(region.villages["y"], y, atol=0.01)


def test_column_mapping(tmp_path):
    frame = pd.DataFrame(
        {
            "code": IDS,
            "名称": list("abcde"),
            "pop2020": POP,
            "hh": [300, 200, 100, 150, 40],
            "lng": LON,
            "lat": LAT,
        }
    )
    mapping = {
        "village_id": "code",
        "name": "名称",
        "population": "pop2020",
        "households": "hh",
        "lon": "lng",
    }
    v = load_region(source(write(frame, tmp_path / "v.csv").path, columns=mapping)).villages
    assert v["village_id"].tolist() == IDS and v["name"].tolist() == list("abcde")
    assert v["population"].tolist() == POP and v["households"].tolist() == [300, 200, 100, 150, 40]
    assert np.allclose(v["lon"], LON)


def test_single_township_and_county_fallback(tmp_path):
    region = load_region(village_csv(tmp_path), name="Lishui", circuity=1.8)
    t, c, v = region.townships, region.counties, region.villages
    assert t["township_id"].tolist() == ["T1"] and t["kind"].tolist() == ["derived"] and t["synthetic"].all()
    assert t["villages"].tolist() == [5] and t["population"].tolist() == [sum(POP)]
    weights = np.array(POP) / sum(POP)
    assert t["x"].iloc[0] == pytest.approx(np.dot(weights, v["x"]))
    assert t["y"].iloc[0] == pytest.approx(np.dot(weights, v["y"]))
    assert (v["county"] == "Lishui").all() and (v["township"] == "T1").all()
    assert c["county"].tolist() == ["Lishui"] and c["name_zh"].tolist() == [""]
    assert c["population"].tolist() == [sum(POP)] and c["rural_population"].tolist() == [sum(POP)]
    assert c["circuity"].tolist() == [1.8] and c["boundary_approximate"].all()
    assert (c["seat_x"].iloc[0], c["seat_y"].iloc[0]) == (t["x"].iloc[0], t["y"].iloc[0])
    hull = shapely.convex_hull(shapely.multipoints(region.village_xy))
    outline = c.geometry.iloc[0]
    assert outline.contains(hull.buffer(HULL_BUFFER_M * 0.95)) and not outline.contains(
        hull.buffer(HULL_BUFFER_M * 1.05)
    )
    assert c["area_km2"].iloc[0] == pytest.approx(outline.area / 1e6)
    assert list(t.columns) == [*TOWNSHIP_COLUMNS, "synthetic", "geometry"]
    assert list(c.columns) == [*COUNTY_COLUMNS, "boundary_approximate", "geometry"]


def test_township_column_without_layer_derives_townships(tmp_path):
    region = load_region(
        village_csv(tmp_path, township=["A", "A", "B", "B", "B"], county=["N", "N", "S", "S", "S"])
    )
    t = region.townships.set_index("township_id")
    assert t.index.tolist() == ["A", "B"] and t["county"].tolist() == ["N", "S"]
    assert t["population"].tolist() == [1600, 770] and t["villages"].tolist() == [2, 3]
    assert (t["kind"] == "derived").all() and t["synthetic"].all()
    c = region.counties.set_index("county")
    assert c.index.tolist() == ["N", "S"] and c["population"].tolist() == [1600, 770]
    assert (c.loc["S", "seat_x"], c.loc["S", "seat_y"]) == (t.loc["B", "x"], t.loc["B", "y"])


def test_villages_group_by_nearest_township_seat_and_take_its_county(tmp_path):
    seats = gpd.GeoDataFrame(
        {
            "township_id": ["north", "south", "far"],
            "name": ["北镇", "南镇", "远乡"],
            "county": ["Liandu", "Jinyun", "Jinyun"],
        },
        geometry=gpd.points_from_xy([119.91, 119.63, 120.5], [28.41, 28.11, 28.9]),
        crs="EPSG:4326",
    )
    region = load_region(village_csv(tmp_path), townships=write(seats, tmp_path / "t.geojson"))
    v, t = region.villages, region.townships
    assert v["township"].tolist() == ["north", "north", "south", "south", "south"]
    assert v["county"].tolist() == ["Liandu", "Liandu", "Jinyun", "Jinyun", "Jinyun"]
    assert t["kind"].tolist() == ["given"] * 3 and not t["synthetic"].any()
    assert t["name"].tolist() == ["北镇", "南镇", "远乡"]
    assert t["villages"].tolist() == [2, 3, 0] and t["population"].tolist() == [1600, 770, 0]
    x, y = to_utm([119.91, 119.63, 120.5], [28.41, 28.11, 28.9])
    assert np.allclose(t["x"], x, atol=0.01) and np.allclose(t["y"], y, atol=0.01)
    c = region.counties.set_index("county")
    assert c["population"].to_dict() == {"Liandu": 1600, "Jinyun": 770}
    assert c.loc["Jinyun", "seat_x"] == pytest.approx(x[1])  # the more populous of its townships


def test_village_township_column_refers_to_the_townships_layer(tmp_path):
    seats = gpd.GeoDataFrame(
        {"township_id": ["north", "south"]},
        geometry=gpd.points_from_xy([119.91, 119.63], [28.41, 28.11]),
        crs=4326,
    )
    villages = village_csv(tmp_path, township=["south", "north", "north", "south", "south"])
    region = load_region(villages, townships=write(seats, tmp_path / "t.gpkg"), name="Lishui")
    assert region.villages["township"].tolist() == ["south", "north", "north", "south", "south"]
    assert region.townships["villages"].tolist() == [2, 3] and region.townships["name"].tolist() == [
        "north",
        "south",
    ]
    assert (region.townships["county"] == "Lishui").all()


def two_counties(tmp_path: Path, name: str = "c.gpkg") -> LayerSource:
    north = shapely.box(119.8, 28.3, 120.0, 28.5)
    south = shapely.box(119.5, 28.0, 119.7, 28.115)  # V5 (28.08) inside, V4 (28.12) just outside
    frame = gpd.GeoDataFrame(
        {"county": ["Liandu", "Jinyun"], "name_zh": ["莲都区", "缙云县"]},
        geometry=[north, south],
        crs="EPSG:4326",
    )
    return write(frame, tmp_path / name)


def test_county_from_polygons(tmp_path):
    region = load_region(village_csv(tmp_path), counties=two_counties(tmp_path))
    v, c = region.villages, region.counties.set_index("county")
    assert v["county"].tolist() == ["Liandu", "Liandu", "Jinyun", "Jinyun", "Jinyun"]  # V4: nearest polygon
    assert v["township"].tolist() == ["T1", "T1", "T2", "T2", "T2"]
    assert c["name_zh"].tolist() == ["莲都区", "缙云县"] and not c["boundary_approximate"].any()
    box = gpd.GeoSeries([shapely.box(119.8, 28.3, 120.0, 28.5)], crs=4326).to_crs("EPSG:32650").iloc[0]
    assert c.loc["Liandu", "area_km2"] == pytest.approx(box.area / 1e6)
    assert 400 < c.loc["Liandu", "area_km2"] < 500  # about 0.2 deg x 0.2 deg at 28 N
    assert c["population"].tolist() == [1600, 770]
    assert shapely.equals_exact(region.counties.geometry.iloc[0], box, tolerance=1e-6)


def test_county_polygon_without_villages_still_listed(tmp_path):
    villages = village_csv(tmp_path, county=["Liandu"] * 5)
    c = load_region(villages, counties=two_counties(tmp_path)).counties.set_index("county")
    assert c["population"].to_dict() == {"Liandu": sum(POP), "Jinyun": 0}
    seat = shapely.Point(c.loc["Jinyun", "seat_x"], c.loc["Jinyun", "seat_y"])
    assert c.loc["Jinyun", "geometry"].contains(seat)


def test_candidates_take_their_nearest_village(tmp_path):
    shops = gpd.GeoDataFrame(
        {"candidate_id": ["S1", "S2"]},
        geometry=gpd.points_from_xy([119.921, 119.641], [28.419, 28.081]),
        crs=4326,
    )
    region = load_region(
        village_csv(tmp_path), candidates=write(shops.to_crs("EPSG:3857"), tmp_path / "s.gpkg")
    )
    c = region.candidates
    assert c is not None and c.crs == "EPSG:32650"
    assert c["candidate_id"].tolist() == ["S1", "S2"] and c["village_id"].tolist() == ["V2", "V5"]
    assert list(c.columns) == ["candidate_id", "x", "y", "lon", "lat", "village_id", "geometry"]
    x, y = to_utm([119.921, 119.641], [28.419, 28.081])
    assert np.allclose(c["x"], x, atol=0.01) and np.allclose(c["y"], y, atol=0.01)
    assert np.allclose(c["lon"], [119.921, 119.641]) and np.allclose(c["lat"], [28.419, 28.081])


# --- bad input ----------------------------------------------------------------------------------


def test_file_not_found_and_unsupported_format(tmp_path):
    assert problems(source(tmp_path / "v.gpkg"), townships=source(tmp_path / "t.xls")) == [
        "data/v.gpkg: file not found",
        "data/t.xls: unsupported format '.xls'; use .gpkg, .geojson, .shp or .csv",
    ]


def test_layer_not_found_lists_the_layers(tmp_path):
    path = tmp_path / "v.gpkg"
    village_frame().to_file(path, layer="villages", engine="pyogrio")
    village_frame().to_file(path, layer="roads", engine="pyogrio")
    assert problems(source(path, layer="vilages")) == [
        "data/v.gpkg: layer 'vilages' not found; layers: villages, roads"
    ]
    assert len(load_region(source(path, layer="roads")).villages) == 5


def test_unreadable_files(tmp_path):
    (tmp_path / "v.gpkg").write_text("not a database", encoding="utf-8")
    (tmp_path / "t.csv").write_bytes("village_id,name\nV1,丽水\n".encode("gbk"))
    assert problems(source(tmp_path / "v.gpkg"), townships=source(tmp_path / "t.csv")) == [
        "data/v.gpkg: not a readable GIS file (not recognized as being in a supported file format)",
        "data/t.csv: not a readable CSV file (not UTF-8 text)",
    ]


def write_without_crs(frame: gpd.GeoDataFrame, path: Path, **kwargs) -> LayerSource:
    """pyogrio writes a layer without a CRS but warns that it is doing so."""
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        frame.set_crs(None, allow_override=True).to_file(path, engine="pyogrio", **kwargs)
    return source(path)


@pytest.mark.parametrize(("name", "layer"), [("v.gpkg", "villages"), ("v.shp", "v")])
def test_layer_without_crs(tmp_path, name, layer):
    src = write_without_crs(village_frame(), tmp_path / name, layer=layer)
    assert problems(src) == [f"data/{name}: layer {layer}: {NO_CRS}"]


def test_coordinates_out_of_range(tmp_path):
    ids = ["A1", "A7", "B2", "B9", "C1", "C2"]
    frame = pd.DataFrame(
        {"village_id": ids, "population": [1] * 6, "lon": [120, 181, 120, -200.5, 120, 120], "lat": [28] * 6}
    )
    geo = gpd.GeoDataFrame(
        {"village_id": ids, "population": [1] * 6},
        geometry=gpd.points_from_xy([120] * 6, [28, 28, 95, -91, 28, 28]),
        crs="EPSG:4326",
    )
    assert problems(
        write(frame, tmp_path / "v.csv"), candidates=source(write(geo, tmp_path / "c.gpkg").path)
    ) == [
        "data/v.csv: lon: values out of range [-180, 180] in 2 rows (ids A7, B9)",
        "data/c.gpkg: columns.candidate_id: column 'candidate_id' not found; columns: village_id, population",
        "data/c.gpkg: lat: values out of range [-90, 90] in 2 rows (rows 3, 4)",
    ]


def test_bad_geometries(tmp_path):
    geometry = [
        shapely.Point(119.9, 28.4),
        None,
        shapely.LineString([(119.9, 28.4), (120, 28.5)]),
        shapely.Point(),
        shapely.box(119.9, 28.4, 120, 28.5),
        shapely.Point(119.8, 28.3),
    ]
    ids = ["V1", "V2", "V3", "V4", "V5", "V6"]
    frame = gpd.GeoDataFrame({"village_id": ids, "population": [1] * 6}, geometry=geometry, crs=4326)
    bowtie = shapely.Polygon([(119, 28), (120, 29), (120, 28), (119, 29)])
    counties = gpd.GeoDataFrame({"county": ["A", "B"]}, geometry=[bowtie, shapely.Point(119, 28)], crs=4326)
    assert problems(
        write(frame, tmp_path / "v.geojson"), counties=write(counties, tmp_path / "c.geojson")
    ) == [
        "data/v.geojson: geometry: empty or invalid in 2 rows (ids V2, V4)",
        "data/v.geojson: geometry: not a point in 2 rows (ids V3, V5)",
        "data/c.geojson: geometry: empty or invalid in 1 row (ids A)",
        "data/c.geojson: geometry: not a polygon in 1 row (ids B)",
    ]


def test_duplicate_ids(tmp_path):
    villages = village_csv(tmp_path, village_id=["V1", "V2", "V1", "V3", "V2"])
    seats = pd.DataFrame({"township_id": ["T", "T"], "lon": [119.9, 119.6], "lat": [28.4, 28.1]})
    shops = pd.DataFrame({"candidate_id": [7, 7, 8], "lon": [119.9] * 3, "lat": [28.4] * 3})
    assert problems(
        villages, townships=write(seats, tmp_path / "t.csv"), candidates=write(shops, tmp_path / "s.csv")
    ) == [
        "data/v.csv: village_id: duplicate ids in 4 rows (ids V1, V1, V2, V2)",
        "data/t.csv: township_id: duplicate ids in 2 rows (ids T, T)",
        "data/s.csv: candidate_id: duplicate ids in 2 rows (ids 7, 7)",
    ]


def test_bad_populations(tmp_path):
    ids = [f"V{i}" for i in range(1, 11)]
    population = [10, "", 10, "0", "", "10", "10", "many", "", "-3"]
    frame = pd.DataFrame({"village_id": ids, "population": population, "lon": 119.9, "lat": 28.4})
    assert problems(write(frame, tmp_path / "v.csv")) == [
        "data/v.csv: population: missing or NaN in 3 rows (ids V2, V5, V9)",
        "data/v.csv: population: not a number in 1 row (ids V8)",
        "data/v.csv: population: zero or negative in 2 rows (ids V4, V10)",
    ]
    geo = gpd.GeoDataFrame(
        {"village_id": ids, "population": [np.nan, 1, 0, -1, np.nan] * 2},
        geometry=gpd.points_from_xy([119.9] * 10, [28.4] * 10),
        crs=4326,
    )
    assert problems(write(geo, tmp_path / "v.gpkg")) == [
        "data/v.gpkg: population: missing or NaN in 4 rows (ids V1, V5, V6, V10)",
        "data/v.gpkg: population: zero or negative in 4 rows (ids V3, V4, V8, V9)",
    ]


def test_more_than_five_rows_are_cut_short(tmp_path):
    frame = pd.DataFrame(
        {"village_id": [f"V{i}" for i in range(1, 9)], "population": 0, "lon": 119.9, "lat": 28.4}
    )
    assert problems(write(frame, tmp_path / "v.csv")) == [
        "data/v.csv: population: zero or negative in 8 rows (ids V1, V2, V3, V4, V5, ...)"
    ]


def test_missing_columns_and_bad_ids_use_row_numbers(tmp_path):
    frame = pd.DataFrame({"code": IDS, "name": IDS, "pop": [1, 2, 3, 0, 5]})
    geo = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(LON, LAT), crs=4326)
    src = source(write(geo, tmp_path / "v.gpkg").path, columns={"population": "pop2020"})
    assert problems(src) == [
        "data/v.gpkg: columns.village_id: column 'village_id' not found; columns: code, name, pop",
        "data/v.gpkg: columns.population: column 'pop2020' not found; columns: code, name, pop",
    ]
    src = source(src.path, columns={"village_id": "code", "population": "pop", "popul": "pop"})
    assert problems(src) == [
        "data/v.gpkg: columns.popul: not a ruralsim column; "
        "use village_id, population, name, county, township, households",
        "data/v.gpkg: population: zero or negative in 1 row (ids V4)",
    ]
    blank = village_csv(tmp_path, village_id=["V1", "", "V3", "V4", ""], population=[1, 2, 0, 4, 5])
    assert problems(blank) == [
        "data/v.csv: village_id: missing or empty in 2 rows (rows 2, 5)",
        "data/v.csv: population: zero or negative in 1 row (row 3)",
    ]
    assert problems(village_csv(tmp_path, "c.csv", lat=["28", "28", "x", "", "28"])) == [
        "data/c.csv: lat: missing or NaN in 1 row (ids V4)",
        "data/c.csv: lat: not a number in 1 row (ids V3)",
    ]


def test_explicit_layer_is_named_in_column_messages(tmp_path):
    path = tmp_path / "all.gpkg"
    village_frame(population=[1, 2, 3, 4, -5]).to_file(path, layer="villages", engine="pyogrio")
    assert problems(source(path, layer="villages")) == [
        "data/all.gpkg: layer villages: population: zero or negative in 1 row (ids V5)"
    ]


def test_references_to_other_layers_must_exist(tmp_path):
    seats = pd.DataFrame(
        {
            "township_id": ["A", "B"],
            "county": ["Liandu", "Qingtian"],
            "lon": [119.9, 119.6],
            "lat": [28.4, 28.1],
        }
    )
    villages = village_csv(tmp_path, township=["A", "A", "C", "B", "C"], county=["Liandu"] * 4 + ["Yunhe"])
    assert problems(
        villages, townships=write(seats, tmp_path / "t.csv"), counties=two_counties(tmp_path)
    ) == [
        "data/v.csv: township: not in the townships layer (data/t.csv) in 2 rows (ids V3, V5)",
        "data/v.csv: county: not in the counties layer (data/c.gpkg) in 1 row (ids V5)",
        "data/t.csv: county: not in the counties layer (data/c.gpkg) in 1 row (ids B)",
    ]


def test_empty_layers_and_blank_groups(tmp_path):
    empty = pd.DataFrame({"village_id": [], "population": [], "lon": [], "lat": []})
    assert problems(write(empty, tmp_path / "v.csv")) == ["data/v.csv: no rows"]
    villages = village_csv(tmp_path, township=["A", "", "B", "B", "B"], county=["N", "N", "S", " ", "S"])
    assert problems(villages) == [
        "data/v.csv: county: missing or empty in 1 row (ids V4)",
        "data/v.csv: township: missing or empty in 1 row (ids V2)",
    ]


def test_bad_target_crs_and_csv_counties(tmp_path):
    assert problems(village_csv(tmp_path), crs="EPSG:4326") == [
        "crs: 'EPSG:4326' is not a projected CRS in metres (e.g. a UTM zone such as EPSG:32650)"
    ]
    assert problems(village_csv(tmp_path), crs="EPSG:999999") == ["crs: unknown CRS 'EPSG:999999'"]
    assert problems(village_csv(tmp_path), counties=village_csv(tmp_path, "c.csv")) == [
        "data/c.csv: CSV holds points only; use .gpkg, .geojson or .shp"
    ]


def test_every_problem_in_one_error(tmp_path):
    frame = village_frame(village_id=["V1", "V2", "V1", "V4", "V5"], population=[1, np.nan, 3, 4, 5])
    src = write_without_crs(frame, tmp_path / "v.gpkg", layer="villages")
    assert problems(src) == [
        f"data/v.gpkg: layer villages: {NO_CRS}",
        "data/v.gpkg: village_id: duplicate ids in 2 rows (ids V1, V1)",
        "data/v.gpkg: population: missing or NaN in 1 row (ids V2)",
    ]


def test_read_layer_gives_the_layer_as_stored_or_problems(tmp_path):
    lines = gpd.GeoDataFrame(
        {"highway": ["primary"]}, geometry=[shapely.LineString([(119.9, 28.4), (120, 28.5)])], crs=4326
    )
    problems: list[str] = []
    frame = read_layer(write(lines, tmp_path / "roads.gpkg"), problems)
    assert problems == [] and frame is not None
    assert frame.crs == "EPSG:4326" and frame["highway"].tolist() == ["primary"]
    write_without_crs(lines, tmp_path / "bare.shp")
    for src in (source(tmp_path / "bare.shp"), village_csv(tmp_path), source(tmp_path / "r.txt")):
        assert read_layer(src, problems) is None
    assert problems == [
        f"data/bare.shp: layer bare: {NO_CRS}",
        "data/v.csv: CSV holds points only; use .gpkg, .geojson or .shp",
        "data/r.txt: unsupported format '.txt'; use .gpkg, .geojson or .shp",
    ]
