"""Delivery points: how much they hold, and when villagers collect their parcels.

A parcel's pickup follows from its arrival and its own randomness (`ParcelBatch.u_km`,
`e_wait`, drawn when it was ordered): the household lives `u_km` x `household_km` from a village
station or locker (a township point's distance is the village's road km to it), and collects
after `e_wait` x (`base_h` + `per_km_h` x km) hours counted in opening hours only. Lockers
return a parcel left longer than `locker_limit_h`.

Capacity is per "bay": stop x point type (a township seat holds its express point and its
lockers apart), bay = 3 x stop + point type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core import kernels
from sim.core.clock import DailyHours
from sim.core.ids import COMMUNITY_LOCKER, POINT_TYPES, TOWNSHIP_POINT, VILLAGE_STATION
from sim.network.points import Points
from sim.scenario.delivery import Pickup, Pickups

BAYS_PER_STOP = len(POINT_TYPES)


@dataclass(frozen=True)
class Collection:
    """Pickups of parcels: `release` (collected or returned, hours), `returned` flags, and the
    household's one-way `km` to the point."""

    release: np.ndarray
    returned: np.ndarray
    km: np.ndarray


class PickupModel:
    def __init__(self, cfg: Pickups, points: Points, busy_daily: np.ndarray):
        """`busy_daily`: parcels per day per demand point on a busy day (sizes station shelves)."""
        self.cfg = cfg
        self.points = points
        self.shelf = np.maximum(
            cfg.station_capacity, np.ceil(cfg.shelf_days * busy_daily[: points.n_villages])
        )
        self.by_type: tuple[Pickup, ...] = (cfg.village_station, cfg.township_point, cfg.community_locker)
        self.clocks = tuple(DailyHours(*p.opening_h) for p in self.by_type)
        self.open_start = np.array([c.start for c in self.clocks])
        self.open_per_day = np.array([c.per_day for c in self.clocks])
        self.household_km = np.array([p.household_km for p in self.by_type])
        self.base_h = np.array([p.base_h for p in self.by_type])
        self.per_km_h = np.array([p.per_km_h for p in self.by_type])

    def bay_capacity(self, community_open: np.ndarray) -> np.ndarray:
        """Parcels each bay holds (n_stops x 3): a village station's shelf, `locker_slots` per
        open community station at a seat, a township point's `township_capacity` (or no limit)."""
        p = self.points
        cap = np.zeros((len(p.stop_xy), BAYS_PER_STOP))
        cap[: p.n_villages, VILLAGE_STATION] = self.shelf
        township = self.cfg.township_capacity
        cap[p.n_villages :, TOWNSHIP_POINT] = np.inf if township is None else township
        cap[p.n_villages :, COMMUNITY_LOCKER] = community_open * self.cfg.locker_slots
        return cap.ravel()

    def collect(
        self, arrive: np.ndarray, point: np.ndarray, ptype: np.ndarray, u_km: np.ndarray, e_wait: np.ndarray
    ) -> Collection:
        """When parcels arriving at `arrive` are collected (one compiled pass, `sim.core.kernels`)."""
        release, returned, km = kernels.collect(
            arrive,
            point,
            ptype,
            u_km,
            e_wait,
            self.points.km_to_township,
            self.household_km,
            self.base_h,
            self.per_km_h,
            self.open_start,
            self.open_per_day,
            float(self.cfg.locker_limit_h),
        )
        return Collection(release=release, returned=returned, km=km)
