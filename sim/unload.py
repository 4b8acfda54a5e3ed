"""Unloading at delivery points: which parcels a point accepts, visit by visit in time order.

Rule: when a van arrives at a point, its parcels for that bay are accepted first-in-first-out
while the bay's stock (parcels accepted there and not yet collected or returned: release later
than the arrival) is below its capacity; the rest are refused and stay in the van. Visits to one
bay are taken in order of arrival (ties: in order of van), since each visit's stock depends on
the ones before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.pickup import Collection


@dataclass
class StockPool:
    """Parcels waiting at the points of one county: `bay` and `release` time of each."""

    bay: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    release: np.ndarray = field(default_factory=lambda: np.empty(0))

    def add(self, bay: np.ndarray, release: np.ndarray) -> None:
        self.bay = np.concatenate([self.bay, bay])
        self.release = np.concatenate([self.release, release])

    def forget_before(self, t: float) -> None:
        """Drop parcels gone by `t` (no later visit can count them)."""
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
    visit_bay: np.ndarray,
    visit_h: np.ndarray,
    visit_seq: np.ndarray,
    visit_capacity: np.ndarray,
    parcel_visit: np.ndarray,
    pool: StockPool,
    collect: Callable[[np.ndarray | slice, np.ndarray], Collection],
) -> Unloaded:
    """Accept or refuse the parcels of `visit_bay`/`visit_h` visits (`visit_seq`: van order, for
    ties; `visit_capacity`: the bay's capacity when the van left). `parcel_visit` gives each
    parcel's visit (non-decreasing, first-in-first-out within a visit); `pool` holds the stock
    and receives the accepted parcels;
    `collect(parcels, arrive_h)` tells when accepted parcels (indices, or a slice) leave their
    point."""
    n_visits, n = len(visit_bay), len(parcel_visit)
    order = np.lexsort((visit_seq, visit_h, visit_bay))
    bays = visit_bay[order]
    starts = np.flatnonzero(np.r_[True, bays[1:] != bays[:-1]])
    rank = np.empty(n_visits, dtype=np.int64)
    rank[order] = np.arange(n_visits) - np.repeat(starts, np.diff(np.append(starts, n_visits)))
    visit_first = np.searchsorted(parcel_visit, np.arange(n_visits))
    n_bays = int(max(visit_bay.max(initial=0), pool.bay.max(initial=0))) + 1
    t_at = np.full(n_bays, np.inf)

    def room(visits: np.ndarray) -> np.ndarray:
        """Free places at the bays of `visits` (one visit per bay) at their arrival."""
        b = visit_bay[visits]
        t_at[b] = visit_h[visits]
        there = pool.release > t_at[pool.bay]
        t_at[b] = np.inf
        stock = np.bincount(pool.bay[there], minlength=n_bays)[b]
        return np.maximum(visit_capacity[visits] - stock, 0)

    if len(starts) == n_visits:  # one visit per bay, the usual case
        free = room(np.arange(n_visits))
        if (np.diff(np.append(visit_first, n)) <= free).all():  # all fit: no index arrays
            got = collect(slice(None), visit_h[parcel_visit])
            pool.add(visit_bay[parcel_visit], got.release)
            return Unloaded(np.ones(n, dtype=bool), got.release, got.returned, got.km)
    in_visit = np.arange(n) - visit_first[parcel_visit]
    out = Unloaded(np.zeros(n, dtype=bool), np.full(n, np.nan), np.zeros(n, dtype=bool), np.zeros(n))
    for r in range(int(rank.max(initial=-1)) + 1):  # a bay's second visit waits for its first
        visits = np.flatnonzero(rank == r)
        free = np.zeros(n_visits)
        free[visits] = room(visits)
        take = np.flatnonzero((rank[parcel_visit] == r) & (in_visit < free[parcel_visit]))
        if not len(take):
            continue
        got = collect(take, visit_h[parcel_visit[take]])
        pool.add(visit_bay[parcel_visit[take]], got.release)
        out.accepted[take] = True
        out.release[take] = got.release
        out.returned[take] = got.returned
        out.km[take] = got.km
    return out
