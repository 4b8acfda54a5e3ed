"""Distances between points: the interface the road-network model will implement too.

For now road distance is estimated as straight-line distance times a circuity factor (road km per
straight-line km) that depends on the terrain of the origin's county.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy.spatial import cKDTree


class DistanceModel(Protocol):
    """Road distances in km from origins to destinations (coordinates in metres).

    `origin_circuity` (n,) is the terrain factor of each origin; models that route on a real
    network ignore it.
    """

    description: str

    def matrix_km(
        self, origins: np.ndarray, destinations: np.ndarray, *, origin_circuity: np.ndarray
    ) -> np.ndarray:
        """Full (n, m) matrix of road km."""
        ...

    def nearest_km(
        self, origins: np.ndarray, destinations: np.ndarray, *, origin_circuity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each origin, the index of the nearest destination and the road km to it.

        With no destinations the index is -1 and the distance infinite.
        """
        ...


class StraightLine:
    """Road km = straight-line km x the origin's circuity factor."""

    description = "straight line x county circuity"

    def matrix_km(
        self, origins: np.ndarray, destinations: np.ndarray, *, origin_circuity: np.ndarray
    ) -> np.ndarray:
        diff = origins[:, None, :] - destinations[None, :, :]
        return np.hypot(diff[..., 0], diff[..., 1]) / 1000.0 * origin_circuity[:, None]

    def nearest_km(
        self, origins: np.ndarray, destinations: np.ndarray, *, origin_circuity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if len(destinations) == 0:
            return np.full(len(origins), -1, dtype=np.int64), np.full(len(origins), np.inf)
        # The factor is constant per origin, so the straight-line nearest is the road nearest.
        dist_m, index = cKDTree(destinations).query(origins)
        return index.astype(np.int64), dist_m / 1000.0 * origin_circuity
