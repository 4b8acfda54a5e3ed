"""County warehouse: first-come-first-served sorting during shifts, with backlog carried over."""

from __future__ import annotations

import numpy as np

from sim.clock import DailyHours
from sim.config import Warehouses


class Sorter:
    """One county warehouse's sorting line: a single first-come-first-served server working
    during `shift_h`, each parcel taking 1/rate hours (deterministic) or an exponential time of
    that mean. State: the working-clock time at which the line is next free (backlog carries
    over from batch to batch and day to day)."""

    def __init__(self, cfg: Warehouses, rng: np.random.Generator):
        self.clock = DailyHours(*cfg.shift_h)
        self.mean_service_h = 1.0 / cfg.sorting_rate_per_h
        self.exponential = cfg.service == "exponential"
        self.rng = rng
        self.free_at = 0.0  # working-clock hours

    def sort(self, arrivals: np.ndarray) -> np.ndarray:
        """Sorted-by times (simulation hours) of parcels arriving at `arrivals` (non-decreasing,
        and not before any earlier batch's arrivals)."""
        if len(arrivals) == 0:
            return np.empty(0)
        a = self.clock.to_open(arrivals)
        n = len(a)
        if self.exponential:
            s = self.rng.exponential(self.mean_service_h, size=n)
        else:
            s = np.full(n, self.mean_service_h)
        done = np.cumsum(s)
        # Lindley's recursion in closed form: c_k = S_k + max(free, max_{j<=k} (a_j - S_{j-1})).
        start_slack = np.maximum.accumulate(a - (done - s))
        finish = done + np.maximum(self.free_at, start_slack)
        self.free_at = float(finish[-1])
        return self.clock.from_open(finish)

    def backlog(self, t: float, sorted_at: np.ndarray) -> int:
        """Parcels that arrived but are not sorted at time `t`."""
        return int(np.count_nonzero(sorted_at > t))
