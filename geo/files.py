"""Load a `Region` from the user's own files: GeoPackage, GeoJSON, Shapefile or CSV (lon/lat).

Villages are required; townships, county outlines and candidate sites are optional and derived
where missing (see `load_region`). Every layer is reprojected to one projected CRS in metres.
Bad input is collected across all layers and raised once as an `InputError`, one line per
problem naming the file, the column and the rows (by id, or by row number counted from 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from scipy.spatial import cKDTree

from geo.errors import InputError
from geo.region import Region

GIS_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp")
#: county outlines made up from villages: their convex hull buffered by this distance (metres).
HULL_BUFFER_M = 2_000.0
CANDIDATE_MAX_M = 5_000.0  # a candidate site farther than this from every village matches none
#: ids (or row numbers) shown in one message before "...".
MAX_SHOWN = 5
_READ_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError)


@dataclass(frozen=True)
class LayerSource:
    """One input layer. `path` is the resolved file path, `display` the path as the user wrote it
    (used in messages), `layer` the layer name (None: the file's first/only layer), `columns` maps
    ruralsim's column names to the file's column names (names not mapped are looked up as is)."""

    path: Path
    display: str
    layer: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Kind:
    """The ruralsim columns of one kind of layer and the geometry it needs."""

    id: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    polygons: bool = False


_KINDS = {
    "villages": _Kind(
        "village_id",
        ("population",),
        ("name", "county", "township", "households"),
        ("population", "households"),
    ),
    "townships": _Kind("township_id", (), ("name", "county")),
    "counties": _Kind("county", (), ("name_zh",), polygons=True),
    "candidates": _Kind("candidate_id"),
}


class _Layer(NamedTuple):
    """A checked layer: ruralsim columns (ids as str) and shapely geometries in `crs`."""

    source: LayerSource
    kind: _Kind
    data: pd.DataFrame
    crs: CRS
    geometry: np.ndarray


class _Placed(NamedTuple):
    """A layer's geometry in the target CRS; for points also `xy` (metres) and `lonlat` (WGS84)."""

    geometry: np.ndarray
    xy: np.ndarray | None
    lonlat: np.ndarray | None


def utm_crs(lon: float, lat: float) -> str:
    """EPSG code of the UTM zone holding (lon, lat) in degrees, e.g. 'EPSG:32650' for Lishui.

    Northern hemisphere (lat >= 0) gives EPSG:326xx, southern EPSG:327xx; the Norway and
    Svalbard exceptions to the zone grid are ignored."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def load_region(
    villages: LayerSource,
    *,
    townships: LayerSource | None = None,
    counties: LayerSource | None = None,
    candidates: LayerSource | None = None,
    crs: str | None = None,
    circuity: float = 1.5,
    persons_per_household: float = 2.49,
    name: str = "file",
) -> Region:
    """The region in the given files, in `crs` (default: the UTM zone of the villages' centroid).

    Villages (points) need `village_id` and `population` (persons); `name`, `county`, `township`
    and `households` are optional. Villages belong to their `township` column, else to the
    nearest seat in `townships`, else to one derived township per county ("T1", ...) at the
    population-weighted centroid. A village's county is its `county` column, else its
    township's county, else the `counties` polygon holding it (the nearest one if none does),
    else `name`. Without county polygons a county's outline is the convex hull of its villages
    buffered by `HULL_BUFFER_M` metres. `circuity` (road km per straight-line km) applies to
    every county. Raises `InputError` listing every problem found in every layer."""
    problems: list[str] = []
    given = {"villages": villages, "townships": townships, "counties": counties, "candidates": candidates}
    layers = {role: _load(src, _KINDS[role], problems) for role, src in given.items() if src is not None}
    for role, col, other in (
        ("villages", "township", "townships"),
        ("villages", "county", "counties"),
        ("townships", "county", "counties"),
    ):
        mine, theirs = layers.get(role), layers.get(other)
        if mine is not None and theirs is not None and col in mine.data:
            unknown = ~mine.data[col].isin(theirs.data[theirs.kind.id]).to_numpy()
            if unknown.any():
                problems.append(
                    f"{_where(mine.source)}{col}: not in the {other} layer ({theirs.source.display}) "
                    f"{_rows(unknown, mine.data[mine.kind.id])}"
                )
    target = _target_crs(crs, layers["villages"], problems)
    placed = {
        role: _place(layer, target, problems)
        for role, layer in layers.items()
        if layer is not None and target is not None
    }
    _check_candidates(layers, placed, problems)
    if problems:
        raise InputError(problems)
    assert target is not None
    return _assemble(layers, placed, target.to_string(), circuity, persons_per_household, name)


def _check_candidates(layers: dict, placed: dict, problems: list[str]) -> None:
    """Candidate sites must lie near a village (each is taken as a site in its nearest one)."""
    cand, vil = placed.get("candidates"), placed.get("villages")
    if (
        cand is None
        or vil is None
        or cand.xy is None
        or vil.xy is None
        or not len(cand.xy)
        or not len(vil.xy)
    ):
        return
    far = cKDTree(vil.xy).query(cand.xy)[0] > CANDIDATE_MAX_M
    if far.any():
        layer = layers["candidates"]
        problems.append(
            f"{_where(layer.source)}geometry: more than {CANDIDATE_MAX_M / 1000:g} km from every village "
            f"{_rows(far, layer.data[layer.kind.id])}"
        )


def _where(src: LayerSource) -> str:
    """The start of a message about `src`: its path as the user wrote it, and the layer if named."""
    return f"{src.display}: " + (f"layer {src.layer}: " if src.layer else "")


def _rows(rows: np.ndarray, labels: pd.Series | None) -> str:
    """'in N rows (ids A, B, ...)' for a boolean mask or index array; row numbers without labels."""
    idx = np.flatnonzero(rows) if rows.dtype == bool else rows
    count = f"{len(idx)} row" + ("" if len(idx) == 1 else "s")
    shown = [str(i + 1) if labels is None else str(labels.iloc[i]) for i in idx[:MAX_SHOWN]]
    head = "ids" if labels is not None else ("row" if len(idx) == 1 else "rows")
    return f"in {count} ({head} {', '.join(shown)}{', ...' if len(idx) > MAX_SHOWN else ''})"


def _text(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Values as stripped str (integral floats without '.0') and a mask of missing or blank ones."""
    if pd.api.types.is_float_dtype(raw) and np.all(np.mod(raw.dropna(), 1) == 0):
        raw = raw.astype("Int64")
    missing = raw.isna().to_numpy()
    text = raw.astype(object).where(~missing, "").astype(str).str.strip()
    return text, missing | (text == "").to_numpy()


def read_layer(src: LayerSource, problems: list[str]) -> gpd.GeoDataFrame | None:
    """One layer of a GIS file (.gpkg, .geojson/.json, .shp) as stored, in its own CRS; None, with
    a line in `problems`, where the file is missing, unreadable, CSV or empty, the layer is not
    found, or it has no CRS."""
    before = len(problems)
    frame = _read(src, problems, csv=False)
    return frame if isinstance(frame, gpd.GeoDataFrame) and len(problems) == before else None


def _read(src: LayerSource, problems: list[str], *, csv: bool) -> pd.DataFrame | None:
    """The layer as stored: a GeoDataFrame (its CRS may be None: a line in `problems` says so) or,
    for CSV where `csv` allows it, a DataFrame of text; None, with a line in `problems`, if unread."""
    suffix, layer = src.path.suffix.lower(), src.layer
    if suffix not in (*GIS_SUFFIXES, ".csv"):
        formats = ".gpkg, .geojson, .shp or .csv" if csv else ".gpkg, .geojson or .shp"
        problems.append(f"{src.display}: unsupported format '{suffix}'; use {formats}")
        return None
    if not src.path.exists():
        problems.append(f"{src.display}: file not found")
        return None
    if suffix == ".csv" and not csv:
        problems.append(f"{src.display}: CSV holds points only; use .gpkg, .geojson or .shp")
        return None
    try:
        if suffix == ".csv":
            frame = pd.read_csv(
                src.path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
            )
        else:
            names = [str(n) for n in pyogrio.list_layers(src.path)[:, 0]]
            if not names:
                problems.append(f"{src.display}: no layers in the file")
                return None
            if src.layer not in (None, *names):
                problems.append(f"{src.display}: layer '{src.layer}' not found; layers: {', '.join(names)}")
                return None
            layer = src.layer or names[0]
            frame = pyogrio.read_dataframe(src.path, layer=layer)
    except UnicodeDecodeError:
        problems.append(f"{src.display}: not a readable CSV file (not UTF-8 text)")
        return None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, *_READ_ERRORS) as exc:
        reason = str(exc).strip().split(";")[0].splitlines()[0]  # GDAL: "'<path>' not recognized as ..."
        reason = reason.replace(f"'{src.path}'", "").replace(str(src.path), "").strip(" :.")
        problems.append(
            f"{src.display}: not a readable {'CSV' if suffix == '.csv' else 'GIS'} file ({reason})"
        )
        return None
    if len(frame) == 0:
        problems.append(f"{_where(src)}no rows")
        return None
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None:
        problems.append(
            f"{src.display}: layer {layer}: no CRS; set one in the file (a .prj for shapefiles) "
            "or use CSV with lon/lat"
        )
    return frame


def _load(src: LayerSource, kind: _Kind, problems: list[str]) -> _Layer | None:
    """The layer's ruralsim columns and geometry, checked; None (and lines in `problems`) if bad."""
    before = len(problems)
    frame = _read(src, problems, csv=not kind.polygons)
    if frame is None:
        return None
    geometry, crs = None, CRS.from_epsg(4326)  # CSV: lon/lat columns
    if isinstance(frame, gpd.GeoDataFrame):
        geometry, crs = frame.geometry.to_numpy(), frame.crs
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    data, labels = _values(frame, src, kind, geometry is None, problems)
    if geometry is None and "lon" in data and "lat" in data:
        geometry = shapely.points(data.pop("lon").to_numpy(), data.pop("lat").to_numpy())
    elif geometry is not None:
        broken = shapely.is_missing(geometry) | shapely.is_empty(geometry) | ~shapely.is_valid(geometry)
        wrong = ~broken & ~np.isin(shapely.get_type_id(geometry), (3, 6) if kind.polygons else (0,))
        checks = {"empty or invalid": broken, "not a polygon" if kind.polygons else "not a point": wrong}
        problems += [
            f"{_where(src)}geometry: {what} {_rows(bad, labels)}" for what, bad in checks.items() if bad.any()
        ]
    if geometry is not None and crs is not None and crs.is_geographic:
        bounds = shapely.bounds(geometry)  # NaN for empty geometries: never out of range
        for col, lo, hi, limit in (("lon", 0, 2, 180), ("lat", 1, 3, 90)):
            bad = (bounds[:, lo] < -limit) | (bounds[:, hi] > limit)
            if bad.any():
                problems.append(
                    f"{_where(src)}{col}: values out of range [-{limit}, {limit}] {_rows(bad, labels)}"
                )
    if len(problems) > before or geometry is None or crs is None:
        return None
    return _Layer(src, kind, data, crs, geometry)


def _values(
    frame: pd.DataFrame, src: LayerSource, kind: _Kind, csv: bool, problems: list[str]
) -> tuple[pd.DataFrame, pd.Series | None]:
    """The ruralsim columns found in `frame` (numbers as float, the rest as str), checked, and the
    ids to name rows by in messages (None where the ids themselves are missing)."""
    where = _where(src)
    names = (kind.id, *kind.required, *kind.optional, *(("lon", "lat") if csv else ()))
    needed = (kind.id, *kind.required, "lon", "lat")
    problems += [
        f"{where}columns.{key}: not a ruralsim column; use {', '.join(names)}"
        for key in src.columns
        if key not in names
    ]
    data, labels = pd.DataFrame(index=pd.RangeIndex(len(frame))), None
    for col in names:
        file_col = src.columns.get(col, col)
        if file_col not in frame.columns:
            if col in src.columns or col in needed:
                columns = ", ".join(map(str, frame.columns))
                problems.append(f"{where}columns.{col}: column '{file_col}' not found; columns: {columns}")
            continue
        text, missing = _text(frame[file_col].reset_index(drop=True))
        data[col] = text
        if col == kind.id:  # first in `names`: the labels of every later message
            labels = None if missing.any() else text
            dup = text.duplicated(keep=False).to_numpy() & ~missing
            if missing.any():
                problems.append(f"{where}{col}: missing or empty {_rows(missing, None)}")
            if dup.any():
                order = np.flatnonzero(dup)[np.argsort(text.to_numpy()[dup], kind="stable")]
                problems.append(f"{where}{col}: duplicate ids {_rows(order, text)}")
            continue
        if col in (*kind.numeric, "lon", "lat"):
            values = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=float)
            checks = {
                "missing or NaN": missing & (col in needed),
                "not a number": ~missing & ~np.isfinite(values),
                "zero or negative": (values <= 0) & (col not in ("lon", "lat")),
            }
            data[col] = values
        else:
            checks = {"missing or empty": missing & (col in ("county", "township"))}
        problems += [
            f"{where}{col}: {what} {_rows(bad, labels)}" for what, bad in checks.items() if bad.any()
        ]
    if "name" in data and kind.id in data:
        data["name"] = data["name"].where(data["name"] != "", data[kind.id])
    return data, labels


def _target_crs(crs: str | None, villages: _Layer | None, problems: list[str]) -> CRS | None:
    """`crs` checked to be projected in metres, or the UTM zone of the villages' WGS84 centroid."""
    if crs is None:
        if villages is None:
            return None
        lonlat = gpd.GeoSeries(villages.geometry, crs=villages.crs).to_crs(4326).get_coordinates().to_numpy()
        if not np.isfinite(lonlat).all():
            bad = ~np.isfinite(lonlat).all(axis=1)
            ids = villages.data[villages.kind.id]
            problems.append(
                f"{_where(villages.source)}geometry: cannot be reprojected to EPSG:4326 {_rows(bad, ids)}"
            )
            return None
        rad = np.radians(lonlat[:, 0])  # circular mean: right across the antimeridian too
        lon = np.degrees(np.arctan2(np.sin(rad).mean(), np.cos(rad).mean()))
        return CRS.from_user_input(utm_crs(float(lon), float(lonlat[:, 1].mean())))
    try:
        target = CRS.from_user_input(crs)
    except CRSError:
        problems.append(f"crs: unknown CRS '{crs}'")
        return None
    if not target.is_projected or target.axis_info[0].unit_name != "metre":
        problems.append(f"crs: '{crs}' is not a projected CRS in metres (e.g. a UTM zone such as EPSG:32650)")
        return None
    return target


def _place(layer: _Layer, target: CRS, problems: list[str]) -> _Placed:
    """The layer's geometry in `target` (points also in WGS84); rows that fail go to `problems`."""
    series = gpd.GeoSeries(layer.geometry, crs=layer.crs)
    geometry = series.to_crs(target).to_numpy()
    bad = ~np.isfinite(shapely.bounds(geometry)).all(axis=1)
    xy = lonlat = None
    if not layer.kind.polygons:
        xy, lonlat = shapely.get_coordinates(geometry), series.to_crs(4326).get_coordinates().to_numpy()
        bad |= ~np.isfinite(lonlat).all(axis=1)
    if bad.any():
        problems.append(
            f"{_where(layer.source)}geometry: cannot be reprojected to {target.to_string()} "
            f"{_rows(bad, layer.data[layer.kind.id])}"
        )
    return _Placed(geometry, xy, lonlat)


def _assemble(
    layers: dict[str, _Layer | None],
    placed: dict[str, _Placed],
    crs: str,
    circuity: float,
    persons_per_household: float,
    name: str,
) -> Region:
    """Counties, townships, villages and candidates from checked, reprojected layers."""
    v, vp, tw = layers["villages"], placed["villages"], layers.get("townships")
    assert v is not None and vp.xy is not None
    pop = np.maximum(1, np.rint(v.data["population"].to_numpy())).astype(np.int64)
    households = v.data["households"].to_numpy() if "households" in v.data else np.full(len(pop), np.nan)
    households = np.where(np.isnan(households), pop / persons_per_household, households)
    index, tw_ids, v_county = _membership(layers, placed, name)
    m = len(tw_ids)
    tw_pop = np.bincount(index, weights=pop, minlength=m)
    if tw is not None:
        tw_xy, tw_lonlat = placed["townships"].xy, placed["townships"].lonlat
    else:  # at the population-weighted centroid of its villages
        tw_xy = np.column_stack([np.bincount(index, weights=pop * vp.xy[:, k], minlength=m) for k in (0, 1)])
        tw_xy, tw_lonlat = tw_xy / tw_pop[:, None], None
    assert tw_xy is not None
    if tw is not None and "county" in tw.data:
        tw_county = tw.data["county"].to_numpy()
    else:  # the county most of its villages lie in, else the nearest village's county
        counts = pd.DataFrame({"t": index, "c": v_county}).groupby(["t", "c"]).size()
        best = counts.sort_values(ascending=False, kind="stable").reset_index().drop_duplicates("t")
        tw_county = best.set_index("t")["c"].reindex(range(m)).to_numpy(dtype=object)
        empty = pd.isna(tw_county)
        tw_county[empty] = v_county[_nearest(vp.xy, tw_xy[empty])]
    townships = _points(
        {
            "township_id": tw_ids,
            "name": tw.data["name"].to_numpy() if tw is not None and "name" in tw.data else tw_ids,
            "county": tw_county,
            "kind": "derived" if tw is None else "given",
            "villages": np.bincount(index, minlength=m),
            "population": tw_pop.astype(np.int64),
        },
        tw_xy,
        tw_lonlat,
        crs,
        synthetic=tw is None,
    )
    villages = _points(
        {
            "village_id": v.data["village_id"],
            "name": v.data["name"] if "name" in v.data else v.data["village_id"],
            "county": v_county,
            "township": tw_ids[index],
            "population": pop,
            "households": np.maximum(1, np.rint(households)).astype(np.int64),
        },
        vp.xy,
        vp.lonlat,
        crs,
        synthetic=False,
    )
    candidates, given, cp = None, layers.get("candidates"), placed.get("candidates")
    if given is not None and cp is not None and cp.xy is not None:
        near = villages["village_id"].to_numpy()[_nearest(vp.xy, cp.xy)]
        candidates = _points(
            {"candidate_id": given.data["candidate_id"]}, cp.xy, cp.lonlat, crs, village_id=near
        )
    return Region(
        name=name,
        crs=crs,
        counties=_counties(
            layers.get("counties"), placed.get("counties"), villages, townships, circuity, crs
        ),
        townships=townships,
        villages=villages,
        candidates=candidates,
    )


def _membership(
    layers: dict[str, _Layer | None], placed: dict[str, _Placed], name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each village's township (index into the township ids, the second value) and county."""
    v, vp, tw, co = layers["villages"], placed["villages"], layers.get("townships"), layers.get("counties")
    assert v is not None and vp.xy is not None
    index, tw_ids = None, None
    if tw is not None:
        tw_ids = tw.data["township_id"].to_numpy()
        if "township" in v.data:
            index = pd.Index(tw_ids).get_indexer(v.data["township"])
        else:
            tw_xy = placed["townships"].xy
            assert tw_xy is not None  # townships are points, so placed with xy
            index = _nearest(tw_xy, vp.xy)
    elif "township" in v.data:
        index, tw_ids = pd.factorize(v.data["township"])
    if "county" in v.data:
        county = v.data["county"].to_numpy()
    elif tw is not None and "county" in tw.data:
        county = tw.data["county"].to_numpy()[index]
    elif co is not None:
        county = co.data["county"].to_numpy()[_containing(placed["counties"].geometry, vp.xy)]
    else:
        county = np.full(len(v.data), name, dtype=object)
    if index is None:  # one township per county
        index, per_county = pd.factorize(county)
        tw_ids = [f"T{k + 1}" for k in range(len(per_county))]
    return index, np.asarray(tw_ids, dtype=object), county


def _points(
    columns: dict, xy: np.ndarray, lonlat: np.ndarray | None, crs: str, **after: object
) -> gpd.GeoDataFrame:
    """Points at `xy` (metres in `crs`): `columns`, then `x`, `y`, `lon`, `lat` (WGS84, computed
    from `xy` when None), then `after`."""
    geometry = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)
    if lonlat is None:
        lonlat = geometry.to_crs(4326).get_coordinates().to_numpy()
    where = {"x": xy[:, 0], "y": xy[:, 1], "lon": lonlat[:, 0], "lat": lonlat[:, 1]}
    return gpd.GeoDataFrame({**columns, **where, **after}, geometry=geometry.array, crs=crs)


def _counties(
    layer: _Layer | None,
    placed: _Placed | None,
    villages: pd.DataFrame,
    townships: pd.DataFrame,
    circuity: float,
    crs: str,
) -> gpd.GeoDataFrame:
    """Counties from their polygons, or outlined by the buffered hull of their villages and seats."""
    if layer is not None and placed is not None:
        ids, polygons = layer.data["county"].to_numpy(), placed.geometry
        name_zh = layer.data["name_zh"].to_numpy() if "name_zh" in layer.data else ""
    else:
        points = pd.concat([villages[["county", "x", "y"]], townships[["county", "x", "y"]]])
        ids, name_zh = pd.unique(points["county"]), ""
        code = pd.Index(ids).get_indexer(points["county"])
        order = np.argsort(code, kind="stable")
        hulls = shapely.convex_hull(
            shapely.multipoints(points[["x", "y"]].to_numpy()[order], indices=code[order])
        )
        polygons = shapely.buffer(hulls, HULL_BUFFER_M)
    population = villages.groupby("county")["population"].sum().reindex(ids, fill_value=0).to_numpy(np.int64)
    top = townships.sort_values("population", ascending=False, kind="stable").drop_duplicates("county")
    seats = top.set_index("county")[["x", "y"]].reindex(ids).to_numpy(dtype=float, copy=True)
    none = np.isnan(seats[:, 0])  # a county without townships: a point inside its outline
    seats[none] = shapely.get_coordinates(shapely.point_on_surface(polygons[none]))
    frame = pd.DataFrame(
        {
            "county": ids,
            "name_zh": name_zh,
            "area_km2": shapely.area(polygons) / 1e6,
            "population": population,
            "rural_population": population,
            "circuity": float(circuity),
            "seat_x": seats[:, 0],
            "seat_y": seats[:, 1],
            "boundary_approximate": layer is None,
        }
    )
    return gpd.GeoDataFrame(frame, geometry=np.asarray(polygons), crs=crs)


def _nearest(sites: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Index of the nearest of `sites` (n, 2) to each point of `xy` (k, 2), metres."""
    return cKDTree(sites).query(xy)[1] if len(xy) else np.zeros(0, dtype=np.int64)


def _containing(polygons: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Index of the polygon holding each point (the first listed), else of the nearest polygon."""
    tree, points = shapely.STRtree(polygons), shapely.points(xy)
    out = np.full(len(xy), -1)
    rows, hits = _first_hit(*tree.query(points, predicate="within"))
    out[rows] = hits
    rest = np.flatnonzero(out < 0)
    rows, hits = _first_hit(*tree.query_nearest(points[rest]))
    out[rest[rows]] = hits
    return out


def _first_hit(rows: np.ndarray, hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct row of an STRtree answer with its lowest-numbered hit."""
    order = np.lexsort((hits, rows))
    keep = order[np.unique(rows[order], return_index=True)[1]]
    return rows[keep], hits[keep]
