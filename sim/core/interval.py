"""The Student t interval of a mean: the one interval every figure of ruralsim uses (replications
of a run, `sim.run.confidence`; alternatives of a study, paired seed by seed, `analysis.paired`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Interval:
    """`mean` with a two-sided interval [`low`, `high`] (None with a single run: no spread to
    estimate; equal to the mean when every run gave the same figure)."""

    mean: float
    low: float | None
    high: float | None

    @property
    def half_width(self) -> float | None:
        return None if self.low is None or self.high is None else (self.high - self.low) / 2

    def contains(self, value: float) -> bool:
        """Whether `value` lies within (with one run: equals the mean)."""
        if self.low is None or self.high is None:
            return self.mean == value
        return self.low <= value <= self.high


def t_interval(x: np.ndarray, confidence: float = 0.95) -> Interval:
    """The Student t interval of the mean of `x` (NaN values dropped)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return Interval(math.nan, None, None)
    mean = float(x.mean())
    if len(x) == 1:
        return Interval(mean, None, None)
    if (x == x[0]).all():  # no spread (a deterministic figure): exactly the mean
        return Interval(mean, mean, mean)
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return Interval(mean, mean - half, mean + half)
