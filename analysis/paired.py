"""Confidence intervals for comparing alternatives run on the same seeds.

Alternatives of a comparison share their random numbers seed by seed (common random numbers),
so the difference between two of them is measured seed by seed: the paired interval is the
Student t interval of those differences. The unpaired (Welch) interval of the same runs is kept
for reference: with positively correlated runs it is wider.
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


def paired(x: np.ndarray, y: np.ndarray, confidence: float = 0.95) -> Interval:
    """Interval of the mean of x - y, seed by seed (`x[r]` and `y[r]` ran on one seed)."""
    return t_interval(np.asarray(x, dtype=float) - np.asarray(y, dtype=float), confidence)


def welch(x: np.ndarray, y: np.ndarray, confidence: float = 0.95) -> Interval:
    """Interval of mean(x) - mean(y) treating the runs as independent (Welch-Satterthwaite)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    mean = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2:
        return Interval(mean, None, None)
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    if vx + vy == 0:
        return Interval(mean, mean, mean)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df) * math.sqrt(vx + vy))
    return Interval(mean, mean - half, mean + half)
