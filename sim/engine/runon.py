"""Running on past the horizon, so that lead times are not censored.

A run that stopped at the horizon's end would leave out the parcels still on their way, and
they are the slow ones: a 28-day run's order-to-hand mean came out 2 hours short. After the
horizon nobody orders; both engines go on with the same rules and, at each midnight, ask
`RunOn.resolved` whether every parcel ordered has reached a delivery point. From there on its
collection (or return) follows from the pickup rules alone, drawn when it arrives, and nothing
later can change it, so there is no need to wait for the slowest villagers (a few parcels of a
year wait longer than two months). The answer depends only on the parcels' arrival times,
which both engines know alike, so they stop on the same midnight. The counters that describe
operations (van km, backlogs, station-days, subsidies) count the horizon only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy


class RunOn:
    """Parcels that reached a delivery point so far, by day of arrival."""

    def __init__(self) -> None:
        self.by_day = np.zeros(0, dtype=np.int64)

    def delivered(self, arrive_h: np.ndarray) -> None:
        """Parcels accepted at a point at `arrive_h` (hours)."""
        if not len(arrive_h):
            return
        days = np.bincount((np.asarray(arrive_h) * (1.0 / 24.0)).astype(np.int64))
        if len(days) > len(self.by_day):
            self.by_day = np.pad(self.by_day, (0, len(days) - len(self.by_day)))
        self.by_day[: len(days)] += days

    def resolved(self, day: int, parcels: int) -> bool:
        """Whether all `parcels` ordered reached a point before day `day` began (nothing still
        in the trunk, at a warehouse or in a van)."""
        return int(self.by_day[:day].sum()) == parcels


def run_on(env: simpy.Environment, model, resolved: Callable[[int], bool]) -> float:
    """Run `env` (stopped at the horizon's end) on a day at a time until `resolved(day)` holds at
    a midnight, or until `model.resolve_h`; returns the hour it stopped at."""
    day = model.total_days
    while day < model.total_days + model.run_on_days and not resolved(day):
        day += 1
        env.run(until=24.0 * day)
    return 24.0 * day
