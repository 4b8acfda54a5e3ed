"""GIS export, user data files end to end, and the region -> GeoPackage -> region round trip."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from conftest import require

from analysis.cli import main
from analysis.export import LAYERS
from geo.files import LayerSource, load_region
from geo.synroads import synthetic_roads


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "small"
    assert main(["run", "small", "--out", str(out), "--days", "7", "--quiet"]) == 0
    return out


def test_region_gpkg_has_every_layer_with_units_and_crs(run_dir):
    gpkg = run_dir / "region.gpkg"
    assert [name for name, _ in pyogrio.list_layers(gpkg)] == list(LAYERS)
    villages = pyogrio.read_dataframe(gpkg, layer="villages")
    assert villages.crs.to_epsg() == 32650 and len(villages) == 150
    assert {"dist_km", "time_min", "station_id", "has_station", "station_year"} <= set(villages.columns)
    csv = pd.read_csv(run_dir / "villages.csv")
    assert np.allclose(villages["dist_km"], csv["distance_to_station_km"])
    stations = pyogrio.read_dataframe(gpkg, layer="stations")
    assert (stations["kind"] == "rural").sum() == 60
    assert stations.loc[stations["kind"] == "community", "stations_here"].sum() == 6
    roads = pyogrio.read_dataframe(gpkg, layer="roads")
    assert {"road_class", "dist_km", "time_min", "oneway", "flagged"} <= set(roads.columns)
    catchments = pyogrio.read_dataframe(gpkg, layer="catchments")
    assert len(catchments) == 150 and set(catchments["station_id"]) <= set(stations["station_id"])
    # A catchment line runs from its village to its station.
    first = catchments.iloc[0]
    village = villages.set_index("village_id").geometry[first["village_id"]]
    station = stations.set_index("station_id").geometry[first["station_id"]]
    assert list(first.geometry.coords) == [village.coords[0], station.coords[0]]


def test_region_gpkg_opens_in_ogrinfo(run_dir):
    require(shutil.which("ogrinfo"), "GDAL's ogrinfo (Debian gdal-bin)")
    result = subprocess.run(["ogrinfo", "-so", str(run_dir / "region.gpkg")], capture_output=True, text=True)
    assert result.returncode == 0
    assert all(f": {name} (" in result.stdout for name in LAYERS)


def test_export_geojson_in_wgs84_and_gpkg_recomputed(run_dir, tmp_path, capsys):
    assert main(["export", str(run_dir), "--format", "geojson"]) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.geojson" for n in LAYERS)
    stations = gpd.read_file(folder / "stations.geojson", engine="pyogrio")
    assert stations.crs.to_epsg() == 4326
    assert stations.geometry.x.between(119, 121).all() and stations.geometry.y.between(27, 29).all()

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "region.gpkg").unlink()
    assert main(["export", str(copy)]) == 0
    for name in LAYERS:
        a = pyogrio.read_dataframe(run_dir / "region.gpkg", layer=name)
        b = pyogrio.read_dataframe(copy / "region.gpkg", layer=name)
        pd.testing.assert_frame_equal(
            pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
        )


def test_export_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert "not a run folder (no scenario.resolved.yaml)" in capsys.readouterr().err


def test_region_geopackage_region_round_trip(small_region, tmp_path):
    path = tmp_path / "region.gpkg"
    villages = small_region.villages.rename(columns={"village_id": "code", "population": "pop2020"})
    villages.drop(columns=["x", "y", "lon", "lat"]).to_file(path, layer="villages", engine="pyogrio")
    small_region.townships.drop(columns=["x", "y"]).to_file(path, layer="townships", engine="pyogrio")
    small_region.counties.to_file(path, layer="counties", engine="pyogrio")
    back = load_region(
        LayerSource(path, "region.gpkg", "villages", {"village_id": "code", "population": "pop2020"}),
        townships=LayerSource(path, "region.gpkg", "townships"),
        counties=LayerSource(path, "region.gpkg", "counties"),
        crs="EPSG:32650",
    )
    v = back.villages
    assert v["village_id"].tolist() == small_region.villages["village_id"].tolist()
    assert v["population"].tolist() == small_region.villages["population"].tolist()
    assert v["township"].tolist() == small_region.villages["township"].tolist()
    assert np.allclose(v[["x", "y"]], small_region.villages[["x", "y"]])
    assert back.counties["area_km2"].iloc[0] == pytest.approx(
        small_region.counties.geometry.area.iloc[0] / 1e6
    )


def test_scenario_on_user_geopackages_runs_end_to_end(small_region, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    villages = small_region.villages.rename(
        columns={"village_id": "code", "name": "cun_name", "population": "pop"}
    )
    villages[["code", "cun_name", "pop", "geometry"]].to_crs("EPSG:4326").to_file(
        data / "villages.gpkg", layer="villages", engine="pyogrio"
    )
    roads = synthetic_roads(small_region).to_geodataframe()[["road_class", "geometry"]]
    roads.to_file(data / "roads.gpkg", layer="roads", engine="pyogrio")
    scenario = tmp_path / "mine.yaml"
    scenario.write_text(
        "name: mine\n"
        "region:\n"
        "  file: data/villages.gpkg\n"
        "  layer: villages\n"
        "  columns: {village_id: code, name: cun_name, population: pop}\n"
        "  roads: {file: data/roads.gpkg, layer: roads, columns: {class: road_class}}\n"
        "stations: {rural: {target: 40, coverage_minutes: 10}}\n"
    )
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--days", "7", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["region"]["villages"] == 150 and metrics["region"]["crs"] == "EPSG:32650"
    assert metrics["distance_model"].startswith("road network")
    assert metrics["roads"]["total_km"] == pytest.approx(roads.geometry.length.sum() / 1000, rel=1e-3)
    assert metrics["years"]["2018"]["total"]["population_covered_minutes_share"] > 0
    resolved = (out / "scenario.resolved.yaml").read_text()
    assert str(data / "villages.gpkg") in resolved  # absolute: the run folder's copy runs anywhere
    assert main(["validate", str(out / "scenario.resolved.yaml")]) == 0


def test_bad_village_file_gives_three_lines_and_exit_2(tmp_path):
    frame = gpd.GeoDataFrame(
        {"village_id": ["A", "B", "B"], "population": [10.0, np.nan, 5.0]},
        geometry=gpd.points_from_xy([119.9, 119.91, 119.92], [28.4, 28.41, 28.42]),
        crs=None,
    )
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        frame.to_file(tmp_path / "villages.gpkg", layer="villages", engine="pyogrio")
    (tmp_path / "s.yaml").write_text("name: bad\nregion: {file: villages.gpkg}\n")
    exe = Path(sys.executable).with_name("ruralsim")
    result = subprocess.run([str(exe), "validate", str(tmp_path / "s.yaml")], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "villages.gpkg: layer villages: no CRS; set one in the file (a .prj for shapefiles) "
        "or use CSV with lon/lat",
        "villages.gpkg: village_id: duplicate ids in 2 rows (ids B, B)",
        "villages.gpkg: population: missing or NaN in 1 row (ids B)",
    ]
