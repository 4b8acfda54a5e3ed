"""Confidence intervals for comparing alternatives run on the same seeds.

Alternatives of a comparison share their random numbers seed by seed (common random numbers),
so the difference between two of them is measured seed by seed: the paired interval is the
Student t interval of those differences (`sim.core.interval.t_interval`, the one every figure
uses). The unpaired (Welch) interval of the same runs is kept
for reference: with positively correlated runs it is wider.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from sim.core.interval import Interval, t_interval


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
