"""Time helpers. Simulation time is in hours from the start of the first simulated day."""

from __future__ import annotations

import math
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


def next_wave(t: np.ndarray, waves_h: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The first wave at or after each `t` (waves at the given hours every day): its time, and
    its slot number ``day x len(waves) + wave index`` (increasing with the time). Without waves,
    parcels arrive as they come: `t` itself, and the slot is the day."""
    t = np.asarray(t, dtype=float)
    day = np.floor(t / 24.0)
    if not waves_h:
        return t, day.astype(np.int64)
    waves = np.sort(np.asarray(waves_h, dtype=float))
    hour = t - day * 24.0
    k = np.zeros(len(t), dtype=np.int8)
    for w in waves:  # the number of waves before the hour; all of them: the next day's first
        k += hour > w
    later = np.append(waves, 24.0 + waves[0])
    return day * 24.0 + later[k], day.astype(np.int64) * len(waves) + k


def last_slot(t: float, waves: np.ndarray) -> int:
    """The last wave slot at or before time `t` (`waves` sorted; without waves, the day)."""
    day = math.floor(t / 24.0)
    if not len(waves):
        return day
    return day * len(waves) + int((waves <= t - day * 24.0).sum()) - 1


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """(mu, sigma) of the log-normal with this mean and coefficient of variation."""
    sigma2 = math.log1p(cv**2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def lognormal(
    mean: float, cv: float, size: int, rng: np.random.Generator, *, single: bool = False
) -> np.ndarray:
    """Log-normal draws with the given mean and coefficient of variation (all `mean`, and no
    draw, if cv = 0). `single`: from single-precision normal draws (about twice as fast;
    plenty for a trunk delay of hours), returned as float64."""
    if cv == 0:
        return np.full(size, float(mean))
    mu, sigma = lognormal_params(mean, cv)
    if not single:
        return rng.lognormal(mu, sigma, size=size)
    z = rng.standard_normal(size, dtype=np.float32)
    return np.exp(np.float32(mu) + np.float32(sigma) * z).astype(np.float64)


def in_window(dates: list, start: str, end: str) -> np.ndarray:
    """Bool per date: within the "MM-DD" window [start, end], both included (a window whose end
    comes before its start runs over the new year)."""
    md = np.array([d.month * 100 + d.day for d in dates], dtype=np.int64)
    a, b = int(start.replace("-", "")), int(end.replace("-", ""))
    return ((md >= a) & (md <= b)) if a <= b else ((md >= a) | (md <= b))
