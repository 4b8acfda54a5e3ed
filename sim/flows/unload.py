"""Unloading at delivery points: which parcels a point accepts, drop by drop in time order.

Rule: when a van arrives at a point, its parcels for that bay (a drop) are accepted
first-in-first-out while the bay's stock (parcels accepted there and not yet collected or
returned: release later than the arrival) is below its capacity; the rest are refused and stay
in the van. Drops at one bay are taken in order of arrival (ties: in order of van), since each
drop's stock depends on the ones before. A bay's capacity is as it was when the van left
(community stations may close).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.core import kernels
from sim.flows.pickup import Collection


@dataclass
class StockPool:
    """Parcels waiting at the points of one county: `bay` and `release` time of each."""

    bay: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    release: np.ndarray = field(default_factory=lambda: np.empty(0))

    def add(self, bay: np.ndarray, release: np.ndarray) -> None:
        self.bay = np.concatenate([self.bay, bay])
        self.release = np.concatenate([self.release, release])

    def forget_before(self, t: float) -> None:
        """Drop parcels gone by `t` (no later drop can count them)."""
        keep = self.release > t
        self.bay, self.release = self.bay[keep], self.release[keep]


@dataclass(frozen=True)
class Unloaded:
    """Per parcel: `accepted`; for accepted ones (others NaN/False/0): `release`, `returned`, `km`."""

    accepted: np.ndarray
    release: np.ndarray
    returned: np.ndarray
    km: np.ndarray


def unload(
    drop_bay: np.ndarray,
    drop_h: np.ndarray,
    drop_seq: np.ndarray,
    drop_capacity: np.ndarray,
    parcel_drop: np.ndarray,
    pool: StockPool,
    collect: Callable[[np.ndarray], Collection],
) -> Unloaded:
    """Accept or refuse the parcels of drops at `drop_bay` arriving at `drop_h` (`drop_seq`:
    van order, for ties; `drop_capacity`: the bay's capacity when the van left).
    `parcel_drop` gives each parcel's drop (non-decreasing, first-in-first-out within a drop);
    `pool` holds the stock and receives the accepted parcels; `collect(arrive_h)` tells when
    each parcel would leave its point, arriving at `arrive_h`."""
    n_drops, n = len(drop_bay), len(parcel_drop)
    first = np.searchsorted(parcel_drop, np.arange(n_drops))
    size = np.concatenate((first[1:], [n])) - first
    # When each parcel would leave its point if accepted (refused ones' are simply not used).
    got = collect(drop_h[parcel_drop])
    order = np.lexsort((drop_seq, drop_h, drop_bay))  # bay by bay, in time order
    capacity = drop_capacity.astype(float)
    taken = kernels.drops_taken(
        order, drop_bay, drop_h, capacity, size, first, got.release, pool.bay, pool.release
    )
    if (taken == size).all():  # everything fits: no index arrays
        pool.add(drop_bay[parcel_drop], got.release)
        return Unloaded(np.ones(n, dtype=bool), got.release, got.returned, got.km)
    accepted = (np.arange(n) - first[parcel_drop]) < taken[parcel_drop]
    pool.add(drop_bay[parcel_drop[accepted]], got.release[accepted])
    release = np.where(accepted, got.release, np.nan)
    return Unloaded(accepted, release, got.returned & accepted, got.km * accepted)
