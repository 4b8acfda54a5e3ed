"""Splitting a whole number among parties in proportion to weights."""

from __future__ import annotations

import numpy as np


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to `weights` that sum exactly to `total` (Hamilton's method).

    Ties in the remainders go to the earlier index.
    """
    w = np.asarray(weights, dtype=float)
    if total == 0 or w.sum() == 0:
        return np.zeros(len(w), dtype=np.int64)
    quota = w * (total / w.sum())
    base = np.floor(quota).astype(np.int64)
    short = total - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:short]] += 1
    return base


def highest_averages(weights: np.ndarray, seats: int) -> np.ndarray:
    """Seats per party by D'Hondt's method: house-monotone, so one more seat never takes a seat
    away from anyone (nested plans stay nested). Ties go to the earlier index."""
    w = np.asarray(weights, dtype=float)
    if seats == 0 or w.sum() == 0:
        return np.zeros(len(w), dtype=np.int64)
    quotients = w[:, None] / np.arange(1, seats + 1)[None, :]
    flat = np.argsort(-quotients.ravel(), kind="stable")[:seats]
    return np.bincount(flat // seats, minlength=len(w)).astype(np.int64)
