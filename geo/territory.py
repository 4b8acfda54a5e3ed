"""Approximate county territories when no boundary data is at hand.

The region's outline is the convex hull of the known points (county seats, township seats),
buffered until its area equals the official total. A grid of about `cells` square cells covers
it; each cell goes to the county whose known points are nearest after an additive weight, and
the weights are balanced until every county holds its official share of the area (an
additively weighted Voronoi diagram). The result looks like a map and has the right areas; it is
not a boundary, and maps say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class Territory:
    """A grid of square cells of side `cell_m` metres, centres `xy` (n, 2), owner `county` (n,)."""

    xy: np.ndarray
    county: np.ndarray
    cell_m: float

    def polygons(self, n_counties: int) -> list[shapely.Geometry]:
        """One (multi)polygon per county: the union of its cells, lightly simplified."""
        half = self.cell_m / 2
        out = []
        for k in range(n_counties):
            c = self.xy[self.county == k]
            boxes = shapely.box(c[:, 0] - half, c[:, 1] - half, c[:, 0] + half, c[:, 1] + half)
            out.append(shapely.union_all(boxes).simplify(self.cell_m * 0.75))
        return out


def _outline(anchors: np.ndarray, area_m2: float) -> shapely.Geometry:
    """The anchors' convex hull, buffered so that its area is `area_m2` (bisection on the buffer)."""
    hull = shapely.MultiPoint(anchors).convex_hull
    lo, hi = 0.0, np.sqrt(area_m2)
    for _ in range(60):
        mid = (lo + hi) / 2
        if hull.buffer(mid, quad_segs=16).area < area_m2:
            lo = mid
        else:
            hi = mid
    return hull.buffer(hi, quad_segs=16)


def build_territory(
    anchors: np.ndarray,
    anchor_county: np.ndarray,
    area_km2: np.ndarray,
    *,
    cells: int = 20_000,
    iterations: int = 400,
) -> Territory:
    """Split the outline of `anchors` among counties in proportion to `area_km2`.

    `anchors` (m, 2) are known points in metres, `anchor_county` (m,) their county index,
    `area_km2` (k,) the official county areas.
    """
    area_m2 = float(area_km2.sum()) * 1e6
    outline = _outline(anchors, area_m2)
    cell = float(np.sqrt(area_m2 / cells))
    x0, y0, x1, y1 = outline.bounds
    gx, gy = np.meshgrid(np.arange(x0 + cell / 2, x1, cell), np.arange(y0 + cell / 2, y1, cell))
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    xy = xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])]

    k = len(area_km2)
    # Distance from every cell to the nearest known point of each county.
    dist = np.empty((len(xy), k))
    for c in range(k):
        dist[:, c] = cKDTree(anchors[anchor_county == c]).query(xy)[0]
    share = area_km2 / area_km2.sum()
    weight = np.zeros(k)
    step = cell * 20
    for _ in range(iterations):
        owner = np.argmin(dist - weight, axis=1)
        got = np.bincount(owner, minlength=k) / len(xy)
        weight += step * (share - got) / share
        step *= 0.99
    owner = np.argmin(dist - weight, axis=1)
    return Territory(xy=xy, county=owner, cell_m=cell)
