"""GIS export: a run's villages, stations, catchments and roads as GeoPackage or GeoJSON layers.

Attribute names carry units (`dist_km`, `time_min`). GeoPackage keeps the region's projected CRS;
GeoJSON is written in WGS84 (EPSG:4326), as RFC 7946 asks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from analysis.coverage import Access, access
from geo.errors import InputError
from geo.placement import NO_STATION
from sim.network.build import Network, build_network
from sim.scenario.load import load_scenario

LAYERS = ("villages", "townships", "counties", "stations", "roads", "catchments")


def region_layers(network: Network, acc: Access, year: int) -> dict[str, gpd.GeoDataFrame]:
    """The GIS layers of `network` in `year` (roads only when the run has a road network)."""
    region = network.region
    crs = region.crs
    stations = _stations(network, year)
    v = region.villages
    built = network.plan.year_built
    villages = gpd.GeoDataFrame(
        {
            "village_id": v["village_id"].astype(str),
            "name": v["name"].astype(str),
            "county": v["county"].astype(str),
            "township": v["township"].astype(str),
            "population": v["population"].astype(np.int64),
            "households": v["households"].astype(np.int64),
            "synthetic": v["synthetic"].astype(bool),
            "has_station": acc.has_station,
            # numpy's stubs leave out None as a branch of where (an object array; Int64 makes it <NA>)
            "station_year": pd.array(
                np.where((built != NO_STATION) & (built <= year), built, None),  # type: ignore[call-overload]
                "Int64",
            ),
            "station_id": acc.station_id.astype(str),
            "station_kind": acc.station_kind.astype(str),
            "dist_km": np.round(acc.distance_km, 4),
            "time_min": np.round(acc.minutes, 3),
        },
        geometry=v.geometry.values,
        crs=crs,
    )
    layers = {
        "villages": villages,
        "townships": region.townships.drop(columns=["x", "y"]),
        "counties": region.counties.drop(columns=["seat_x", "seat_y"]),
        "stations": stations,
    }
    if network.roads is not None:
        layers["roads"] = network.roads.to_geodataframe()
    layers["catchments"] = _catchments(villages, stations)
    return layers


def _stations(network: Network, year: int) -> gpd.GeoDataFrame:
    region = network.region
    rural = network.plan.sites(year)
    seats = np.flatnonzero(network.community > 0)
    v, t = region.villages, region.townships
    table = pd.DataFrame(
        {
            "station_id": np.concatenate(
                [
                    v["village_id"].to_numpy()[rural].astype(str),
                    t["township_id"].to_numpy()[seats].astype(str),
                ]
            ),
            "kind": ["rural"] * len(rural) + ["community"] * len(seats),
            "village_id": list(v["village_id"].to_numpy()[rural].astype(str)) + [""] * len(seats),
            "township_id": list(v["township"].to_numpy()[rural].astype(str))
            + list(t["township_id"].to_numpy()[seats].astype(str)),
            "year_built": np.concatenate([network.plan.year_built[rural], np.full(len(seats), -1)]),
            "stations_here": np.concatenate([np.ones(len(rural), dtype=np.int64), network.community[seats]]),
        }
    )
    table.loc[table["kind"] == "community", "station_id"] += "/community"
    xy = np.vstack([region.village_xy[rural], region.township_xy[seats]])
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=region.crs)


def _catchments(villages: gpd.GeoDataFrame, stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A line from each village to its nearest station, with the road km and minutes."""
    at = dict(zip(stations["station_id"], stations.geometry, strict=True))
    served = villages[villages["station_id"].isin(at.keys())]
    start = shapely.get_coordinates(served.geometry.values)
    end = shapely.get_coordinates(np.array([at[s] for s in served["station_id"]], dtype=object))
    return gpd.GeoDataFrame(
        served[["village_id", "station_id", "station_kind", "dist_km", "time_min"]].reset_index(drop=True),
        geometry=shapely.linestrings(np.stack([start, end], axis=1)) if len(served) else [],
        crs=villages.crs,
    )


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """All layers in one GeoPackage, written beside `path` and renamed into place when complete."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".partial.gpkg")
    os.close(fd)
    os.unlink(tmp)  # pyogrio creates the file itself
    try:
        for i, (name, frame) in enumerate(layers.items()):
            # GeoPackage 1.2: readable by the GDAL of older QGIS releases as well.
            options = {"dataset_options": {"VERSION": "1.2"}} if i == 0 else {"append": True}
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", **options)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_geojson(layers: dict[str, gpd.GeoDataFrame], folder: Path) -> None:
    """One `<layer>.geojson` per layer in WGS84, in `folder`, which appears only when complete."""
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".partial"))
    try:
        for name, frame in layers.items():
            pyogrio.write_dataframe(frame.to_crs("EPSG:4326"), tmp / f"{name}.geojson", driver="GeoJSON")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_gpkg(path: Path) -> dict[str, gpd.GeoDataFrame]:
    """The layers of a run's `region.gpkg`, in `LAYERS` order."""
    present = {name for name, _ in pyogrio.list_layers(path)}
    return {name: pyogrio.read_dataframe(path, layer=name) for name in LAYERS if name in present}


def export_run(run_dir: Path, fmt: str) -> Path:
    """Write `run_dir`'s GIS layers as `region.gpkg` or `geojson/`; return what was written.
    Layers come from the run's `region.gpkg` when it has one, else from its resolved scenario."""
    gpkg = run_dir / "region.gpkg"
    if gpkg.is_file():
        layers = read_gpkg(gpkg)
    else:
        resolved = run_dir / "scenario.resolved.yaml"
        if not resolved.is_file():
            raise InputError([f"{run_dir}: not a run folder (no scenario.resolved.yaml)"])
        network = build_network(load_scenario(resolved))
        year = network.plan.years[-1]
        layers = region_layers(network, access(network, year), year)
    if fmt == "gpkg":
        if not gpkg.is_file():
            write_gpkg(layers, gpkg)
        return gpkg
    write_geojson(layers, run_dir / "geojson")
    return run_dir / "geojson"
