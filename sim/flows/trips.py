"""Van trips: how many vans each route gets, which parcels each van carries, and when it is
where. Pure functions of their arguments (both engines follow the same rules; the fast engine
calls these, the reference works them out parcel by parcel).

Rules:
- The fleet is `vans_per_county` vans; a van still on an earlier trip is not at the depot.
  A route needs ceil(parcels / capacity) vans today (none without parcels). In route order,
  each route first gets up to its planned vans while the depot has any, then routes that need
  more get extra vans (surge), in route order, from those left.
- A route's parcels, in visiting order (stop by stop, first-in-first-out within a stop), are cut
  into consecutive loads of `van_capacity`: van k carries the k-th load and visits its stops in
  route order (a stop may be split between two vans).
- A van drives each leg in the road time x its noise factor; at a stop it spends
  `service_min_per_stop` + `service_min_per_parcel` x the parcels it carries for that stop
  (those the point refuses included: the courier handles them too), then drives on; after the
  last stop it drives home. Times are summed leg, service, leg, ... in that order.
- A trip longer than `shift_h` still runs to its end; `ShiftCheck` counts such trips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core import kernels
from sim.core.events import Trips
from sim.scenario.delivery import Couriers


def assign_vans(planned: np.ndarray, needed: np.ndarray, available: int) -> np.ndarray:
    """Vans per route today: `needed` per route, at most `planned` first (in route order, while
    the `available` vans last), then the extra ones in route order from what is left."""
    base = np.minimum(planned, needed)
    base = np.minimum(base, np.maximum(available - (np.cumsum(base) - base), 0))
    left = max(available - int(base.sum()), 0)
    extra = needed - base
    return base + np.minimum(extra, np.maximum(left - (np.cumsum(extra) - extra), 0))


@dataclass(frozen=True)
class Visits:
    """Loads cut into vans, van stops and drops. Per parcel (in visiting order): `visit` and
    `drop`. Per visit (a van at a stop, in van then route order): `van`, `stop` (matrix index in
    the county plan), `first` parcel, `parcels`. Per drop (a visit's parcels for one point
    type: a township seat's express point and lockers are two drops): `drop_visit`,
    `drop_ptype`. `n_vans` vans, each with at least one visit."""

    visit: np.ndarray
    van: np.ndarray
    stop: np.ndarray
    first: np.ndarray
    parcels: np.ndarray
    n_vans: int
    drop: np.ndarray
    drop_visit: np.ndarray
    drop_ptype: np.ndarray


def cut_loads(
    keys: np.ndarray,
    key_route: np.ndarray,
    key_stop: np.ndarray,
    key_ptype: np.ndarray,
    vans: np.ndarray,
    capacity: int,
    *,
    first_route: int = 0,
) -> Visits:
    """Vans, visits and drops for parcels already in visiting order, given their visit `keys`
    (`RouteIndex.visit_key`) and what each key stands for (`key_route`, numbered from
    `first_route`; `key_stop`; `key_ptype`), and `vans` per route (each van gets parcels: no
    more vans than loads). One compiled pass (`sim.core.kernels.cut`)."""
    visit, drop, van, stop, first, drop_visit, drop_ptype = kernels.cut(
        keys, key_route, key_stop, key_ptype, first_route, vans, capacity
    )
    return Visits(
        visit=visit,
        van=van,
        stop=stop,
        first=first,
        parcels=np.concatenate((first[1:], [len(keys)])) - first,
        n_vans=int(vans.sum()),
        drop=drop,
        drop_visit=drop_visit,
        drop_ptype=drop_ptype,
    )


@dataclass(frozen=True)
class TripTimes:
    """Per visit: `arrive_h`. Per van: `minutes` (depot to depot), `km`, `back_h`."""

    arrive_h: np.ndarray
    minutes: np.ndarray
    km: np.ndarray
    back_h: np.ndarray


def legs_per_van(visits: Visits) -> np.ndarray:
    """Legs each van drives (one to each of its stops, one home): the noise factors it needs."""
    return np.bincount(visits.van, minlength=visits.n_vans) + 1


def time_trips(
    depart_h: float,
    visits: Visits,
    minutes: np.ndarray,
    km: np.ndarray,
    cfg: Couriers,
    noise: np.ndarray,
    *,
    at: np.ndarray | int = 0,
    side: np.ndarray | int,
) -> TripTimes:
    """When each van is at each of its stops and back. `minutes`, `km`: travel matrices (depot
    at index 0), flattened; a visit's matrix starts at `at` and has `side` rows (per visit, when
    vans of several counties go together). `noise`: a factor per leg, van by van (its legs in
    order, then the leg home), `legs_per_van(visits)` in all."""
    van, stop = visits.van, visits.stop
    k = np.bincount(van, minlength=visits.n_vans)
    first_of_van = np.cumsum(k) - k
    j = np.arange(len(van)) - first_of_van[van]  # visit number within its van
    prev = np.concatenate([[0], stop[:-1]])
    prev[j == 0] = 0
    noise_at = (np.cumsum(k + 1) - (k + 1))[van] + j
    home_at = np.cumsum(k + 1) - 1
    last = first_of_van + k - 1
    leg_at = at + prev * side + stop
    home_at_matrix = (at + stop * side)[last]  # from its last stop back to the depot
    leg = minutes[leg_at] * noise[noise_at]
    home = minutes[home_at_matrix] * noise[home_at]
    service = cfg.service_min_per_stop + cfg.service_min_per_parcel * visits.parcels
    # Leg, service, leg, service, ..., home, summed one after another for each van.
    arrive, total = kernels.trip_times(depart_h, van, leg, service, home, visits.n_vans)
    # Distance summed leg by leg in order (bincount adds in order), then home.
    driven = np.bincount(van, weights=km[leg_at], minlength=visits.n_vans) + km[home_at_matrix]
    return TripTimes(
        arrive_h=arrive,
        minutes=total,
        km=driven,
        back_h=depart_h + total / 60.0,
    )


class ShiftCheck:
    """Observer of the engines' `Trips`: van trips (depot to depot) longer than the shift,
    `shift_h`, among those that left in the horizon [`start_h`, `end_h`). Such trips still run
    to the end (nothing is cut short); they are counted and their hours past the shift summed."""

    def __init__(self, shift_h: float, start_h: float, end_h: float):
        self.shift_min, self.start_h, self.end_h = 60.0 * shift_h, start_h, end_h
        self.trips = self.over = 0
        self.minutes_over = self.longest_min = 0.0

    def on_trips(self, e: Trips) -> None:
        if not self.start_h <= e.depart_h < self.end_h:
            return
        over = e.minutes > self.shift_min
        self.trips += len(e.minutes)
        self.over += int(over.sum())
        self.minutes_over += float((e.minutes[over] - self.shift_min).sum())
        self.longest_min = max(self.longest_min, float(e.minutes.max(initial=0.0)))

    def summary(self) -> dict[str, float | int]:
        """`trips_over_shift` (count and share of the trips), `hours_over_shift` (summed past
        the shift) and `longest_trip_h`."""
        return {
            "trips_over_shift": self.over,
            "trips_over_shift_share": self.over / self.trips if self.trips else 0.0,
            "hours_over_shift": self.minutes_over / 60.0,
            "longest_trip_h": self.longest_min / 60.0,
        }
