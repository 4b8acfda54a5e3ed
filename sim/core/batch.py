"""Parcels as data: a `ParcelBatch` holds any number of parcels as equal-length columns.

Both engines move parcels in batches and hand them to observers in batches; nothing is one
object per parcel except inside the reference model.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

#: `dest` and `ptype` before a parcel is loaded on a van (its point is chosen when loaded).
UNSET = -1


@dataclass(frozen=True, slots=True)
class ParcelBatch:
    """Parcels as columns, one row per parcel.

    - `id` (int64): creation order, unique in a run; the tie-breaker of first-in-first-out rules.
    - `point` (int32): the demand point (a village, or a township seat's community lockers).
    - `carrier` (int8): the express carrier (index into `couriers.carriers`).
    - `order_h`, `hub_h`, `sorted_h` (float64, hours from the run's first day): ordered, arrived
      at the county warehouse, sorted there (`inf` before).
    - `u_km`, `e_wait` (float32): the parcel's own pickup randomness, drawn when it is ordered:
      where the household lives (uniform 0-1, x the point's `household_km`) and its patience
      (exponential of mean 1, x the point's mean pickup delay). Drawing them with the order
      lets both engines, and two plans run with one seed, give a parcel the same pickup.
    - `dest` (int32): the stop it was loaded for, `ptype` (int8): the point type there
      (`sim.network.points`); both `UNSET` until loaded.
    """

    id: np.ndarray
    point: np.ndarray
    carrier: np.ndarray
    order_h: np.ndarray
    hub_h: np.ndarray
    sorted_h: np.ndarray
    u_km: np.ndarray
    e_wait: np.ndarray
    dest: np.ndarray
    ptype: np.ndarray

    def __len__(self) -> int:
        return len(self.id)

    def take(self, index: np.ndarray | slice, **columns: np.ndarray) -> ParcelBatch:
        """The parcels at `index` (integer positions, a bool mask or a slice), with `columns`
        given for them instead of taken."""
        return ParcelBatch(**{f: columns[f] if f in columns else getattr(self, f)[index] for f in FIELDS})

    def with_(self, **columns: np.ndarray) -> ParcelBatch:
        """A copy with some columns replaced."""
        return replace(self, **columns)

    @staticmethod
    def concat(batches: list[ParcelBatch]) -> ParcelBatch:
        if len(batches) == 1:
            return batches[0]
        if not batches:
            return EMPTY
        return ParcelBatch(*(np.concatenate([getattr(b, f) for b in batches]) for f in FIELDS))

    @staticmethod
    def concat_slices(parts: list[tuple[ParcelBatch, int, int]]) -> ParcelBatch:
        """The parcels of `(batch, start, stop)` slices, one after another, in new arrays."""
        if not parts:
            return EMPTY
        return ParcelBatch(*(np.concatenate([getattr(b, f)[a:c] for b, a, c in parts]) for f in FIELDS))

    @staticmethod
    def new(
        id: np.ndarray,
        point: np.ndarray,
        order_h: np.ndarray,
        hub_h: np.ndarray,
        u_km: np.ndarray,
        e_wait: np.ndarray,
    ) -> ParcelBatch:
        """Freshly ordered parcels: not sorted, not loaded, carrier 0."""
        n = len(id)
        return ParcelBatch(
            id=id.astype(np.int64, copy=False),
            point=point.astype(np.int32, copy=False),
            carrier=np.zeros(n, dtype=np.int8),
            order_h=order_h,
            hub_h=hub_h,
            sorted_h=np.full(n, np.inf),
            u_km=u_km,
            e_wait=e_wait,
            dest=np.full(n, UNSET, dtype=np.int32),
            ptype=np.full(n, UNSET, dtype=np.int8),
        )


FIELDS = tuple(f.name for f in fields(ParcelBatch))
_E, _F = np.empty(0), np.empty(0, np.float32)
EMPTY = ParcelBatch.new(np.empty(0, np.int64), np.empty(0, np.int32), _E, _E, _F, _F)
