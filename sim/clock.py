"""Time helpers. Simulation time is in hours from the start of the first simulated day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DailyHours:
    """Daily opening (or working) hours [`start`, `end`), hours of the day.

    `to_open(t)` counts the open hours before time `t`; `from_open(w)` is the time at which `w`
    open hours have passed. Work that needs `d` open hours from `t` ends at
    ``from_open(to_open(t) + d)``: outside opening hours the clock stands still.
    """

    start: float
    end: float

    @property
    def per_day(self) -> float:
        return self.end - self.start

    def to_open(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        day = np.floor(t / 24.0)
        return day * self.per_day + np.clip(t - day * 24.0 - self.start, 0.0, self.per_day)

    def from_open(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        day = np.floor(w / self.per_day)
        return day * 24.0 + self.start + (w - day * self.per_day)

    def after(self, t: np.ndarray, open_hours: np.ndarray) -> np.ndarray:
        """The time `open_hours` of opening time after `t`."""
        return self.from_open(self.to_open(t) + open_hours)


def next_wave(t: np.ndarray, waves_h: tuple[float, ...]) -> np.ndarray:
    """The first wave time at or after each `t` (waves at the given hours every day); `t` itself
    when there are no waves."""
    t = np.asarray(t, dtype=float)
    if not waves_h:
        return t
    waves = np.sort(np.asarray(waves_h, dtype=float))
    day = np.floor(t / 24.0)
    k = np.searchsorted(waves, t - day * 24.0, side="left")
    later_day = k == len(waves)
    return np.where(later_day, (day + 1) * 24.0 + waves[0], day * 24.0 + waves[np.minimum(k, len(waves) - 1)])


def lognormal(mean: float, cv: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Log-normal draws with the given mean and coefficient of variation (all `mean` if cv = 0)."""
    if cv == 0:
        return np.full(size, float(mean))
    sigma2 = np.log1p(cv**2)
    return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), size=size)
