"""Road networks: a graph of road segments with lengths (km) and travel times (minutes).

Nodes are line ends, snapped together within a tolerance; each line is an edge (both ways unless
it is one-way). Villages and facilities attach to their nearest node by a straight connector
whose length counts. Parts of the network that do not reach the largest part are joined to it by
a flagged connector (and reported) rather than left at an infinite distance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo.errors import InputError
from geo.files import LayerSource, read_layer

#: Default speeds by road class, km/h: OpenStreetMap `highway` classes and the synthetic classes.
DEFAULT_SPEEDS_KMH: dict[str, float] = {
    "motorway": 90.0,
    "expressway": 90.0,
    "trunk": 70.0,
    "primary": 60.0,
    "secondary": 50.0,
    "main": 45.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "village": 25.0,
    "service": 20.0,
    "track": 15.0,
    "connector": 15.0,
}
#: Speed of a road whose class has no default and no speed value, km/h.
FALLBACK_SPEED_KMH = 30.0
ONEWAY_FORWARD = frozenset({"yes", "true", "1", "t", "y"})
ONEWAY_BACKWARD = frozenset({"-1", "reverse"})


@dataclass(frozen=True)
class RoadNetwork:
    """A directed road graph in a projected CRS.

    Roads (one per drawn line): `road_geometry`, `road_class`, `road_km`, `road_flagged` (a
    made-up connector joining a disconnected part). Edges (one per direction a road may be
    driven): `src`, `dst` node indices, `road` (index of the road), `minutes`. `node_xy` (n, 2)
    in metres. `notes` says what was repaired.
    """

    crs: str
    node_xy: np.ndarray
    road_geometry: np.ndarray
    road_class: np.ndarray
    road_km: np.ndarray
    road_flagged: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    road: np.ndarray
    minutes: np.ndarray
    notes: tuple[str, ...] = ()

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def km(self) -> np.ndarray:
        """Length of each edge, km."""
        return self.road_km[self.road]

    def graph(self, weight: str) -> csr_matrix:
        """Sparse adjacency matrix weighted by `km` or `minutes`; parallel edges keep the least."""
        w = self.km if weight == "km" else self.minutes
        order = np.lexsort((w, self.dst, self.src))
        s, d, w = self.src[order], self.dst[order], w[order]
        first = np.ones(len(s), dtype=bool)
        first[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
        # A zero weight would read as "no edge" in a sparse matrix: floor it at 1 mm / 0.06 ms.
        return csr_matrix((np.maximum(w[first], 1e-6), (s[first], d[first])), shape=(self.n_nodes,) * 2)

    @cached_property
    def fingerprint(self) -> str:
        """Hash of everything that determines travel times (for caches)."""
        h = hashlib.sha256(self.crs.encode())
        for a in (self.node_xy, self.src, self.dst, self.km, self.minutes):
            h.update(np.ascontiguousarray(a, dtype=float).tobytes())
        return h.hexdigest()

    def total_km(self, road_class: str | None = None) -> float:
        """Length of road, km (a two-way road counts once)."""
        keep = slice(None) if road_class is None else self.road_class == road_class
        return float(self.road_km[keep].sum())

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """One row per road: `road_class`, `dist_km`, `time_min` (fastest direction), `oneway`,
        `flagged`."""
        ways = np.bincount(self.road, minlength=len(self.road_km))
        fastest = np.full(len(self.road_km), np.inf)
        np.minimum.at(fastest, self.road, self.minutes)
        return gpd.GeoDataFrame(
            {
                "road_class": self.road_class.astype(str),
                "dist_km": np.round(self.road_km, 4),
                "time_min": np.round(fastest, 3),
                "oneway": ways == 1,
                "flagged": self.road_flagged,
            },
            geometry=list(self.road_geometry),
            crs=self.crs,
        )


def from_lines(
    lines: gpd.GeoDataFrame,
    *,
    road_class: np.ndarray | None = None,
    speed_kmh: np.ndarray | None = None,
    oneway: np.ndarray | None = None,
    km: np.ndarray | None = None,
    speeds_kmh: dict[str, float] | None = None,
    snap_m: float = 5.0,
) -> RoadNetwork:
    """Build a network from a line layer in a projected CRS (metres).

    Per line (optional): `road_class`, `speed_kmh` (used where > 0, else the class default from
    `speeds_kmh` over `DEFAULT_SPEEDS_KMH`), `oneway` ("yes"/"true"/"1" forward, "-1" backward),
    and `km` (the road length where the drawn line is schematic; else the line's length).
    Lines are split where they share a vertex with another line (a junction), and multi-part
    lines into their parts; line ends within `snap_m` metres become one node.
    """
    parts, row = shapely.get_parts(np.asarray(lines.geometry.values), return_index=True)
    keep = (shapely.get_type_id(parts) == 1) & ~shapely.is_empty(parts)  # LineString
    parts, of_part = _split_at_junctions(parts[keep])
    owner = row[keep][of_part]  # the input row of each piece
    n = len(parts)
    if n == 0:
        raise InputError(["road layer: no line geometries"])
    start = shapely.get_coordinates(shapely.get_point(parts, 0))
    end = shapely.get_coordinates(shapely.get_point(parts, -1))
    node_of, node_xy = _snap(np.vstack([start, end]), snap_m)
    a, b = node_of[:n], node_of[n:]

    if road_class is None:
        classes = np.full(n, "unclassified", dtype=object)
    else:
        classes = np.asarray(road_class, dtype=object)[owner]
    speed = class_speeds(classes, speeds_kmh)
    if speed_kmh is not None:
        given = np.asarray(speed_kmh, dtype=float)[owner]
        speed = np.where(np.isfinite(given) & (given > 0), given, speed)
    length_km = shapely.length(parts) / 1000.0
    if km is not None:  # a schematic line: its part of the given road length
        whole = np.bincount(owner, weights=length_km, minlength=len(lines))
        length_km = np.asarray(km, dtype=float)[owner] * length_km / np.maximum(whole[owner], 1e-12)
    direction = np.zeros(n, dtype=np.int8)  # 0 both ways, 1 forward only, -1 backward only
    if oneway is not None:
        text = np.char.lower(np.asarray(oneway, dtype=str)[owner])
        direction[np.isin(text, list(ONEWAY_FORWARD))] = 1
        direction[np.isin(text, list(ONEWAY_BACKWARD))] = -1
    return assemble(str(lines.crs), node_xy, a, b, parts, classes, length_km, speed, direction)


def class_speeds(classes: np.ndarray, speeds_kmh: dict[str, float] | None = None) -> np.ndarray:
    """Speed of each road class, km/h: `speeds_kmh` over `DEFAULT_SPEEDS_KMH`, else the fallback."""
    speeds = {**DEFAULT_SPEEDS_KMH, **(speeds_kmh or {})}
    return np.array([speeds.get(str(c), FALLBACK_SPEED_KMH) for c in classes], dtype=float)


def assemble(
    crs: str,
    node_xy: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    geometry: np.ndarray,
    road_class: np.ndarray,
    km: np.ndarray,
    speed_kmh: np.ndarray,
    direction: np.ndarray | None = None,
) -> RoadNetwork:
    """A network from roads given by end nodes `a` -> `b` (per road: geometry, class, km, speed
    km/h, and `direction` 0 both ways, 1 a->b only, -1 b->a only)."""
    direction = np.zeros(len(a), dtype=np.int8) if direction is None else direction
    fwd, bwd = np.flatnonzero(direction >= 0), np.flatnonzero(direction <= 0)
    road = np.concatenate([fwd, bwd])
    return RoadNetwork(
        crs=crs,
        node_xy=node_xy,
        road_geometry=np.asarray(geometry),
        road_class=np.asarray(road_class, dtype=object),
        road_km=np.asarray(km, dtype=float),
        road_flagged=np.zeros(len(a), dtype=bool),
        src=np.concatenate([a[fwd], b[bwd]]),
        dst=np.concatenate([b[fwd], a[bwd]]),
        road=road,
        minutes=(np.asarray(km, dtype=float) / speed_kmh * 60.0)[road],
    )


def _split_at_junctions(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split lines at every vertex they share with another line (junctions drawn in the middle
    of a line, as in OpenStreetMap ways). Returns the pieces and the index of their line."""
    coords, line = shapely.get_coordinates(lines, return_index=True)
    if len(coords) == 0:
        return lines, np.arange(len(lines))
    first = np.r_[True, line[1:] != line[:-1]]
    last = np.r_[line[1:] != line[:-1], True]
    _, where = np.unique(coords, axis=0, return_inverse=True)
    where = where.ravel()
    lines_at = np.bincount(np.unique(np.column_stack([where, line]), axis=0)[:, 0], minlength=where.max() + 1)
    node = np.flatnonzero(first | last | (lines_at[where] >= 2))
    start, stop = node[:-1], node[1:]
    same = line[start] == line[stop]
    start, stop = start[same], stop[same]
    size = stop - start + 1
    piece = np.repeat(np.arange(len(start)), size)
    offset = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
    pieces = shapely.linestrings(coords[np.repeat(start, size) + offset], indices=piece)
    return pieces, line[start]


def _snap(points: np.ndarray, tolerance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge points within `tolerance_m` (transitively): node index per point, node coordinates."""
    pairs = cKDTree(points).query_pairs(tolerance_m, output_type="ndarray") if tolerance_m > 0 else None
    if pairs is None or len(pairs) == 0:
        _, node_of, _ = np.unique(points, axis=0, return_inverse=True, return_counts=True)
    else:
        m = len(points)
        g = csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
        _, node_of = connected_components(g, directed=False)
    node_of = np.asarray(node_of).ravel()
    count = np.bincount(node_of)
    xy = np.column_stack([np.bincount(node_of, weights=points[:, i]) / count for i in (0, 1)])
    return node_of, xy


@dataclass(frozen=True)
class Components:
    """Weakly connected parts of a network: `label` per node, `main` the largest part's label."""

    label: np.ndarray
    main: int
    count: int


def components(network: RoadNetwork) -> Components:
    n, label = connected_components(network.graph("km"), directed=True, connection="weak")
    main = int(np.argmax(np.bincount(label)))
    return Components(label=label, main=main, count=int(n))


def join_components(network: RoadNetwork, *, circuity: float = 1.5, speed_kmh: float = 15.0) -> RoadNetwork:
    """Join every part that does not reach the largest part to it, by a flagged two-way connector
    between the closest pair of nodes (length: straight line x `circuity`). Notes say how many."""
    parts = components(network)
    if parts.count == 1:
        return network
    main_nodes = np.flatnonzero(parts.label == parts.main)
    tree = cKDTree(network.node_xy[main_nodes])
    ends = []
    for label in np.unique(parts.label):
        if label != parts.main:
            nodes = np.flatnonzero(parts.label == label)
            dist, nearest = tree.query(network.node_xy[nodes])
            k = int(np.argmin(dist))
            ends.append((nodes[k], main_nodes[nearest[k]], dist[k] / 1000.0 * circuity))
    s, d = np.array([e[0] for e in ends]), np.array([e[1] for e in ends])
    km = np.array([e[2] for e in ends])
    first_new = len(network.road_km)
    new_roads = np.arange(first_new, first_new + len(ends))
    return RoadNetwork(
        crs=network.crs,
        node_xy=network.node_xy,
        road_geometry=np.concatenate(
            [
                network.road_geometry,
                shapely.linestrings(np.stack([network.node_xy[s], network.node_xy[d]], 1)),
            ]
        ),
        road_class=np.concatenate([network.road_class, np.full(len(ends), "connector", dtype=object)]),
        road_km=np.concatenate([network.road_km, km]),
        road_flagged=np.concatenate([network.road_flagged, np.ones(len(ends), dtype=bool)]),
        src=np.concatenate([network.src, s, d]),
        dst=np.concatenate([network.dst, d, s]),
        road=np.concatenate([network.road, new_roads, new_roads]),
        minutes=np.concatenate([network.minutes, km / speed_kmh * 60.0, km / speed_kmh * 60.0]),
        notes=(
            *network.notes,
            f"{len(ends)} disconnected part(s) joined to the main network by flagged connectors",
        ),
    )


#: Road-layer column names ruralsim understands, and the OpenStreetMap tags they default to.
ROAD_COLUMNS = {"class": "highway", "speed_kmh": "maxspeed", "oneway": "oneway"}


def read_roads(
    src: LayerSource, *, crs: str, speeds_kmh: dict[str, float] | None = None, snap_m: float = 5.0
) -> RoadNetwork:
    """A road network from a line layer (GeoPackage, Shapefile, GeoJSON) or an OpenStreetMap
    `.osm.pbf` (driving network, via pyrosm), reprojected to `crs`. `src.columns` may map `class`,
    `speed_kmh` and `oneway`; they default to the OpenStreetMap names. Raises `InputError`."""
    problems: list[str] = []
    frame = _read_osm(src, problems) if src.path.name.endswith(".osm.pbf") else read_layer(src, problems)
    if frame is None:
        raise InputError(problems)
    problems += [
        f"{src.display}: columns.{key}: not a road column; use {', '.join(ROAD_COLUMNS)}"
        for key in src.columns
        if key not in ROAD_COLUMNS
    ]
    values: dict[str, np.ndarray | None] = {}
    for key, default in ROAD_COLUMNS.items():
        column = src.columns.get(key, default)
        if column in frame.columns:
            values[key] = frame[column].to_numpy()
        elif key in src.columns:
            problems.append(
                f"{src.display}: columns.{key}: column '{column}' not found; columns: "
                + ", ".join(c for c in frame.columns if c != frame.geometry.name)
            )
        else:
            values[key] = None
    lines = frame.geometry.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
    if not lines.any():
        got = frame.geometry.geom_type.iloc[0]
        problems.append(f"{src.display}: geometry: no lines in the layer (got {got})")
    if problems:
        raise InputError(problems)
    frame = frame[lines].to_crs(crs)
    speed = values["speed_kmh"]
    return from_lines(
        frame,
        road_class=None if values["class"] is None else values["class"][lines],
        speed_kmh=None if speed is None else _parse_speed(speed[lines]),
        oneway=None if values["oneway"] is None else values["oneway"][lines],
        speeds_kmh=speeds_kmh,
        snap_m=snap_m,
    )


def _parse_speed(raw: np.ndarray) -> np.ndarray:
    """Speeds in km/h from numbers or OpenStreetMap text ("50", "30 mph"); NaN where unreadable."""
    text = pd.Series(raw, dtype=object).astype(str)
    value = pd.to_numeric(text.str.extract(r"(\d+(?:\.\d+)?)")[0], errors="coerce").to_numpy(dtype=float)
    return np.where(text.str.contains("mph", case=False).to_numpy(), value * 1.609344, value)


def _read_osm(src: LayerSource, problems: list[str]) -> gpd.GeoDataFrame | None:
    """The driving network of an OpenStreetMap extract, split at junctions (pyrosm edges)."""
    if not src.path.is_file():
        problems.append(f"{src.display}: file not found")
        return None
    try:
        from pyrosm import OSM
    except ImportError:
        problems.append(f"{src.display}: reading .osm.pbf needs pyrosm: pip install 'ruralsim[osm]'")
        return None
    edges = OSM(str(src.path)).get_network(network_type="driving")
    if edges is None or len(edges) == 0:
        problems.append(f"{src.display}: no drivable roads in the extract")
        return None
    return edges
