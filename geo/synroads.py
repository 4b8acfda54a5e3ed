"""Synthetic road networks for the region presets (schematic lines, calibrated lengths).

- expressways: a minimum spanning tree over the county seats;
- main roads: per county, a minimum spanning tree over the seat and its township seats;
- village roads: per township, a minimum spanning tree over the township seat and its villages,
  then loops (the shortest Delaunay links not yet built) until the total road length reaches the
  sourced figure.

Main roads also join neighbouring county seats (Delaunay neighbours).

Each road is drawn as a straight line; its length is the straight length x a circuity factor:
expressways `expressway_km / tree length` (or 1.4), main roads the county's circuity within
[1.3, 1.8], village roads 1.15 x the county's circuity within [1.6, 2.4]. Routes wind through
the village trees, so for Lishui (15,680 km, 419 km of expressway) the route circuity comes out
at a median of 1.5 between county seats (sourced: 1.3-1.8) and 2.5 from a township seat to its
villages (sourced: 2-3 on mountain legs; one measured case is 57 km by road for 18.1 km straight).
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay
from scipy.spatial.distance import cdist

from geo.region import Region
from geo.roads import RoadNetwork, assemble, class_speeds

MAIN_CIRCUITY = (1.3, 1.8)
VILLAGE_CIRCUITY = (1.6, 2.4)
VILLAGE_FACTOR = 1.15
DEFAULT_EXPRESSWAY_CIRCUITY = 1.4


def synthetic_roads(
    region: Region,
    *,
    total_km: float | None = None,
    expressway_km: float | None = None,
    speeds_kmh: dict[str, float] | None = None,
) -> RoadNetwork:
    """Road network over the region's county seats, township seats and villages (nodes in that
    order). `total_km` and `expressway_km` calibrate the lengths when given."""
    counties, townships, villages = region.counties, region.townships, region.villages
    seats = counties[["seat_x", "seat_y"]].to_numpy(dtype=float)
    node_xy = np.vstack([seats, region.township_xy, region.village_xy])
    n_seat, n_town = len(seats), len(townships)
    county_index = {c: i for i, c in enumerate(counties["county"])}
    circuity = counties["circuity"].to_numpy(dtype=float)
    town_county = townships["county"].map(county_index).to_numpy()
    town_index = {t: i for i, t in enumerate(townships["township_id"])}
    village_town = villages["township"].map(town_index).to_numpy()

    roads: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []  # (a, b, factor, class)
    a, b = _tree(np.arange(n_seat), node_xy)
    tree_km = np.hypot(*(node_xy[a] - node_xy[b]).T).sum() / 1000.0
    factor = expressway_km / tree_km if expressway_km and tree_km else DEFAULT_EXPRESSWAY_CIRCUITY
    roads.append((a, b, np.full(len(a), factor), "expressway"))
    a, b = _delaunay_pairs(seats).T  # national/provincial roads between neighbouring seats
    roads.append((a, b, np.clip(circuity[a], *MAIN_CIRCUITY), "main"))
    for c in range(n_seat):
        a, b = _tree(np.concatenate([[c], n_seat + np.flatnonzero(town_county == c)]), node_xy)
        roads.append((a, b, np.full(len(a), np.clip(circuity[c], *MAIN_CIRCUITY)), "main"))
    village_factor = np.clip(VILLAGE_FACTOR * circuity, *VILLAGE_CIRCUITY)
    for t in range(n_town):
        mine = n_seat + n_town + np.flatnonzero(village_town == t)
        if len(mine):
            a, b = _tree(np.concatenate([[n_seat + t], mine]), node_xy)
            roads.append((a, b, np.full(len(a), village_factor[town_county[t]]), "village"))

    a = np.concatenate([r[0] for r in roads])
    b = np.concatenate([r[1] for r in roads])
    factor = np.concatenate([r[2] for r in roads])
    classes = np.concatenate([np.full(len(r[0]), r[3], dtype=object) for r in roads])
    if total_km is not None:
        node_county = np.concatenate([np.arange(n_seat), town_county, town_county[village_town]])
        loops = _loops(
            node_xy,
            node_county,
            a,
            b,
            village_factor,
            total_km - float((np.hypot(*(node_xy[a] - node_xy[b]).T) / 1000.0 * factor).sum()),
        )
        a, b = np.concatenate([a, loops[0]]), np.concatenate([b, loops[1]])
        factor = np.concatenate([factor, loops[2]])
        classes = np.concatenate([classes, np.full(len(loops[0]), "village", dtype=object)])
    km = np.hypot(*(node_xy[a] - node_xy[b]).T) / 1000.0 * factor
    geometry = shapely.linestrings(np.stack([node_xy[a], node_xy[b]], axis=1))
    return assemble(region.crs, node_xy, a, b, geometry, classes, km, class_speeds(classes, speeds_kmh))


def _tree(nodes: np.ndarray, node_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges (as node pairs) of the Euclidean minimum spanning tree over `nodes`."""
    if len(nodes) < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    d = cdist(node_xy[nodes], node_xy[nodes]) + 1e-3  # +1 mm: a zero would read as "no edge"
    np.fill_diagonal(d, 0.0)
    tree = minimum_spanning_tree(d).tocoo()
    return nodes[tree.row], nodes[tree.col]


def _delaunay_pairs(xy: np.ndarray) -> np.ndarray:
    """(k, 2) node pairs of the Delaunay triangulation's edges, lower index first."""
    if len(xy) < 3:
        return np.array([[0, 1]]) if len(xy) == 2 else np.empty((0, 2), dtype=np.int64)
    tri = Delaunay(xy).simplices
    pairs = np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]])
    return np.unique(np.sort(pairs, axis=1), axis=0)


def _loops(
    node_xy: np.ndarray,
    node_county: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    village_factor: np.ndarray,
    missing_km: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shortest Delaunay links within a county that are not roads yet, until they add
    `missing_km` of road."""
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    if missing_km <= 0:
        return empty
    pairs = _delaunay_pairs(node_xy)
    built = {(min(x, y), max(x, y)) for x, y in zip(a.tolist(), b.tolist(), strict=True)}
    fresh = np.array([(x, y) not in built for x, y in pairs.tolist()], dtype=bool)
    pairs = pairs[fresh & (node_county[pairs[:, 0]] == node_county[pairs[:, 1]])]
    factor = village_factor[node_county[pairs[:, 0]]]
    km = np.hypot(*(node_xy[pairs[:, 0]] - node_xy[pairs[:, 1]]).T) / 1000.0 * factor
    order = np.argsort(km, kind="stable")
    take = order[: int(np.searchsorted(np.cumsum(km[order]), missing_km)) + 1]
    return pairs[take, 0], pairs[take, 1], factor[take]
