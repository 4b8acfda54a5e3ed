"""Delivery points: capacity, and when villagers pick their parcels up.

Each parcel's pickup is sampled, vectorised, when it reaches its point: an exponential delay of
mean `base_h` + `per_km_h` x the household's km to the point, counted in opening hours only.
Lockers return a parcel that waits longer than the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.clock import DailyHours
from sim.config import Pickup, Pickups
from sim.points import COMMUNITY_LOCKER, TOWNSHIP_POINT, VILLAGE_STATION, Points


@dataclass(frozen=True)
class Collection:
    """Sampled pickups: `release` (pickup or return time, hours), `returned` flags, and the
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

    def capacity(self, stop: np.ndarray, point_type: np.ndarray) -> np.ndarray:
        """Parcels a point can hold: station shelf, locker slots x stations, township points
        unlimited."""
        lockers = self.points.community[self.points.n_villages :]
        seat_slots = np.zeros(len(self.points.stop_xy) - self.points.n_villages)
        seat_slots[self.points.township[self.points.n_villages :]] = lockers * self.cfg.locker_slots
        cap = np.full(len(stop), np.inf)
        station = point_type == VILLAGE_STATION
        cap[station] = self.shelf[stop[station]]
        is_locker = point_type == COMMUNITY_LOCKER
        cap[is_locker] = seat_slots[stop[is_locker] - self.points.n_villages]
        return cap

    def sample(
        self, arrival: np.ndarray, point: np.ndarray, point_type: np.ndarray, rng: np.random.Generator
    ) -> Collection:
        km = np.where(
            point_type == TOWNSHIP_POINT,
            self.points.km_to_township[point],
            rng.uniform(0.0, 1.0, size=len(point))
            * np.array([p.household_km for p in self.by_type])[point_type],
        )
        base = np.array([p.base_h for p in self.by_type])[point_type]
        per_km = np.array([p.per_km_h for p in self.by_type])[point_type]
        delay = rng.exponential(1.0, size=len(point)) * (base + per_km * km)
        release = np.empty(len(point))
        for kind, clock in enumerate(self.clocks):
            mine = point_type == kind
            release[mine] = clock.after(arrival[mine], delay[mine])
        returned = (point_type == COMMUNITY_LOCKER) & (release - arrival > self.cfg.locker_limit_h)
        release = np.where(returned, arrival + self.cfg.locker_limit_h, release)
        return Collection(release=release, returned=returned, km=km)
