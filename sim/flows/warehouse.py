"""County warehouse: first-come-first-served sorting during shifts, with backlog carried over."""

from __future__ import annotations

import numpy as np

from sim.core import kernels
from sim.core.clock import DailyHours
from sim.scenario.delivery import Warehouses


class Sorter:
    """One county warehouse's sorting line: a single first-come-first-served server working
    during `shift_h`, each parcel taking 1/rate hours (deterministic) or an exponential time of
    that mean, drawn in service order.

    Lindley's recursion in closed form, on the working clock (shift hours only): with S_k the
    total service of parcels 1..k, the k-th finishes at S_k + max(0, max_{j<=k} (a_j - S_{j-1})).
    The state is S and the running maximum, carried from call to call, and S is summed one
    parcel after another (`sim.core.kernels.sorting_line`), so the finishing times do not depend on
    how the arrivals are split into calls: the fast engine sorts a day's arrivals at once, the
    reference one wave at a time, and both get the same times to the last bit."""

    def __init__(self, cfg: Warehouses, rng: np.random.Generator):
        self.clock = DailyHours(*cfg.shift_h)
        self.mean_service_h = 1.0 / cfg.sorting_rate_per_h
        self.exponential = cfg.service == "exponential"
        self.rng = rng
        self.served_h = 0.0  # S: total service so far (working hours)
        self.slack_h = 0.0  # max over parcels so far of (arrival - service before it)

    def sort(self, arrivals: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
        """Sorted-by times (simulation hours) of parcels arriving at `arrivals`, in service
        order (non-decreasing, and not before any earlier call's arrivals); with `counts`,
        `counts[i]` parcels arrive at `arrivals[i]` (trunk waves: fewer times to convert)."""
        a = self.clock.to_open(arrivals)
        if counts is not None:
            a = np.repeat(a, counts)
        n = len(a)
        if n == 0:
            return np.empty(0)
        if self.exponential:
            s = self.rng.exponential(self.mean_service_h, size=n)
        else:
            s = np.full(n, self.mean_service_h)
        finish, self.served_h, self.slack_h = kernels.sorting_line(a, s, self.served_h, self.slack_h)
        return self.clock.from_open(finish)
