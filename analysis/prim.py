"""Scenario discovery: PRIM (Friedman & Fisher 1999, the Patient Rule Induction Method), peeling
only, as used to say under which ranges of the assumptions a plan loses.

Start from the box holding every draw; at each step try to peel off, on each side of each
assumption, the `alpha` share of the draws still inside (all draws at that end's value when
values repeat, as with choices), and keep the peel that raises the share of cases of interest
inside (density) most per draw peeled off (PRIM's original objective); stop when the box would
hold fewer than `min_mass` of the draws. Each box on that trajectory trades coverage (the share
of all cases of interest inside) for density; `prim` returns the densest box that still covers
`min_coverage` of the cases. Checked against EMA Workbench's `Prim` (tests/test_prim.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """A box of the assumptions' space: `limits` (name -> (low, high), the restricted ones
    only, both included), `coverage`, `density` and `mass` (the share of the draws inside);
    `inside`: which draws it holds."""

    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float
    inside: np.ndarray


def peel(
    x: np.ndarray, y: np.ndarray, *, alpha: float = 0.05, min_mass: float = 0.05
) -> list[tuple[np.ndarray, dict[int, tuple[float, float]]]]:
    """The peeling trajectory, the whole space first: per box, the mask of the draws inside and
    the bounds of the dimensions peeled so far (index -> (low, high), the values kept at each
    end). `x` (draws, dimensions), `y` (draws,) booleans: the cases of interest."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=bool)
    n = len(y)
    inside = np.ones(n, dtype=bool)
    bounds: dict[int, tuple[float, float]] = {}
    trajectory = [(inside, dict(bounds))]
    while True:
        best: tuple[float, int, np.ndarray, int] | None = None
        count, density_now = int(inside.sum()), float(y[inside].mean())
        for j in range(x.shape[1]):
            values = x[inside, j]
            low = np.quantile(values, alpha, method="lower")  # peels at least the lowest value
            high = np.quantile(values, 1 - alpha, method="higher")
            for keep in (inside & (x[:, j] > low), inside & (x[:, j] < high)):
                kept = int(keep.sum())
                if kept == 0 or kept < min_mass * n:
                    continue
                gain = (float(y[keep].mean()) - density_now) / ((count - kept) / n)
                if best is None or (gain, kept) > (best[0], best[1]):
                    best = (gain, kept, keep, j)
        if best is None:
            return trajectory
        inside, j = best[2], best[3]
        bounds[j] = (float(x[inside, j].min()), float(x[inside, j].max()))
        trajectory.append((inside, dict(bounds)))


def prim(
    x: np.ndarray,
    y: np.ndarray,
    names: list[str],
    *,
    alpha: float = 0.05,
    min_mass: float = 0.05,
    min_coverage: float = 0.5,
) -> Box | None:
    """The densest box on the peeling trajectory that covers at least `min_coverage` of the
    cases of interest (ties: the larger box), or None when there are none."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=bool)
    if not y.any():
        return None
    boxes = []
    for inside, bounds in peel(x, y, alpha=alpha, min_mass=min_mass):
        coverage = float(y[inside].sum() / y.sum())
        if coverage >= min_coverage:
            boxes.append((float(y[inside].mean()), coverage, inside, bounds))
    density, coverage, inside, bounds = max(boxes, key=lambda b: (b[0], b[1]))
    limits = {names[j]: bounds[j] for j in sorted(bounds)}
    return Box(limits, coverage, density, float(inside.mean()), inside)
