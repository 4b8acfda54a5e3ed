"""Distances between points: the interface every travel model implements.

Two models implement it: `StraightLine` here (straight-line km x a circuity factor for the
origin's county's terrain, at an assumed average speed) and `geo.travel.RoadTravel` (sparse
Dijkstra on a road network).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class Travel:
    """(n, m) road km and minutes from each origin to each destination (inf: out of reach)."""

    km: np.ndarray
    minutes: np.ndarray


@dataclass(frozen=True)
class Nearest:
    """Per origin: `index` of the nearest destination by road km (-1 if none), `km` to it, and
    the fewest `minutes` to any destination."""

    index: np.ndarray
    km: np.ndarray
    minutes: np.ndarray

    @classmethod
    def none(cls, n: int) -> Nearest:
        return cls(np.full(n, -1, dtype=np.int64), np.full(n, np.inf), np.full(n, np.inf))


class DistanceModel(Protocol):
    """Road km and minutes between points given in metres of the region's CRS.

    `origin_circuity` (n,) is the terrain factor of each origin; network models ignore it.
    """

    description: str

    def matrix(
        self,
        origins: np.ndarray,
        destinations: np.ndarray,
        *,
        origin_circuity: np.ndarray,
        cutoff_km: float | None = None,
    ) -> Travel: ...

    def nearest(
        self, origins: np.ndarray, destinations: np.ndarray, *, origin_circuity: np.ndarray
    ) -> Nearest: ...


class StraightLine:
    """Road km = straight-line km x the origin's circuity; minutes at `speed_kmh` on average."""

    def __init__(self, speed_kmh: float = 30.0):
        self.speed_kmh = speed_kmh
        self.description = f"straight line x county circuity, {speed_kmh:g} km/h"

    def matrix(
        self,
        origins: np.ndarray,
        destinations: np.ndarray,
        *,
        origin_circuity: np.ndarray,
        cutoff_km: float | None = None,
    ) -> Travel:
        diff = origins[:, None, :] - destinations[None, :, :]
        km = np.hypot(diff[..., 0], diff[..., 1]) / 1000.0 * origin_circuity[:, None]
        if cutoff_km is not None:
            km[km > cutoff_km] = np.inf
        return Travel(km=km, minutes=km / self.speed_kmh * 60.0)

    def nearest(
        self, origins: np.ndarray, destinations: np.ndarray, *, origin_circuity: np.ndarray
    ) -> Nearest:
        if len(destinations) == 0:
            return Nearest.none(len(origins))
        # The factor is constant per origin, so the straight-line nearest is the road nearest.
        dist_m, index = cKDTree(destinations).query(origins)
        km = dist_m / 1000.0 * origin_circuity
        return Nearest(index=index.astype(np.int64), km=km, minutes=km / self.speed_kmh * 60.0)
