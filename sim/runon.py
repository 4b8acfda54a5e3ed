"""Running on past the horizon, so that lead times are not censored.

A run that stopped at the horizon's end would leave out the parcels still on their way, and
they are the slow ones: a 28-day run's order-to-hand mean came out 7 hours short of the year's.
After the horizon nobody orders; both engines go on with the same rules and, at each midnight,
ask `RunOn.resolved` whether every parcel ordered has been picked up or returned. The answer
depends only on the parcels' own times (arrival at a point, release), which both engines know
alike, so they stop on the same midnight; the counters that describe operations (van km,
backlogs, station-days, subsidies) count the horizon only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy


class RunOn:
    """What has reached a point so far: parcels by day of arrival, and the latest release."""

    def __init__(self) -> None:
        self.by_day = np.zeros(0, dtype=np.int64)
        self.last_release_h = 0.0

    def delivered(self, arrive_h: np.ndarray, release_h: np.ndarray) -> None:
        """Parcels accepted at a point at `arrive_h`, leaving it (picked up or returned) at
        `release_h` (hours)."""
        if not len(arrive_h):
            return
        days = np.bincount((np.asarray(arrive_h) * (1.0 / 24.0)).astype(np.int64))
        if len(days) > len(self.by_day):
            self.by_day = np.pad(self.by_day, (0, len(days) - len(self.by_day)))
        self.by_day[: len(days)] += days
        self.last_release_h = max(self.last_release_h, float(np.max(release_h)))

    def resolved(self, day: int, parcels: int) -> bool:
        """Whether all `parcels` ordered reached a point before day `day` began and left it by
        then (nothing still in the trunk, at a warehouse, in a van or on a shelf)."""
        return int(self.by_day[:day].sum()) == parcels and self.last_release_h <= 24.0 * day


def run_on(env: simpy.Environment, model, resolved: Callable[[int], bool]) -> float:
    """Run `env` (stopped at the horizon's end) on a day at a time until `resolved(day)` holds at
    a midnight, or until `model.resolve_h`; returns the hour it stopped at."""
    day = model.total_days
    while day < model.total_days + model.run_on_days and not resolved(day):
        day += 1
        env.run(until=24.0 * day)
    return 24.0 * day
