"""A placement request's numbers, checked one way for every placement algorithm.

`check_inputs` is the one check of what the algorithms share: the (demands x candidates) cost
matrix in km or minutes, the demand weights (residents), `p` the number of sites, the sites
already built (`fixed`), the allowed candidates, the covering radius and the time limit.
`geo.placement.check_request` (every strategy) and the algorithms' own entry points
(`geo.covering`, `geo.pmedian`, `geo.pcenter`) all call it, so a bad request gets the same
`PlacementError` whichever way it comes in. The rules, in the order they are checked:

- `cost`: 2-D, numbers, no NaN, none negative; ``np.inf`` is allowed and marks an unreachable
  pair. Only the strategies that rank the demand points themselves go without one;
- `weights`: numbers, one per demand, finite and >= 0 (None: 1 each);
- `allowed`: a bool mask, one per candidate (None: every candidate);
- `fixed`: integer candidate indices, in range and allowed; a set: an index given twice counts
  once;
- `p` (sites in all, fixed ones included): an integer from the number of fixed sites to the
  number of allowed candidates; 0 (no sites) when none is fixed. Not asked for where the number
  of sites is the answer (set covering);
- `radius` (covering models only): a positive finite number, in cost units;
- `time_limit_s`: None (no limit) or a number of seconds > 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from geo.errors import PlacementError

_FIRST = 5
"""How many offending indices a message lists."""


@dataclass(frozen=True)
class Inputs:
    """A checked request: `cost` (n_demand, n_candidates) float64, None when not given (the
    candidates are then the demand points); `weights` (n_demand,) float64; `p` sites in all
    (None when not asked for); `fixed` sorted distinct int64 candidate indices; `allowed`
    (n_candidates,) bool; `radius` in cost units (None when not asked for); `time_limit_s`
    seconds (None: no limit)."""

    cost: np.ndarray | None
    weights: np.ndarray
    p: int | None
    fixed: np.ndarray
    allowed: np.ndarray
    radius: float | None
    time_limit_s: float | None

    @property
    def candidates(self) -> np.ndarray:
        """Sorted indices (int64) of the allowed candidates."""
        return np.flatnonzero(self.allowed).astype(np.int64)

    # The fields below are checked only where the caller asked for them; these give them their
    # narrow types there (casts: no run-time work).
    @property
    def matrix(self) -> np.ndarray:
        """`cost`, where a cost matrix was given."""
        return cast(np.ndarray, self.cost)

    @property
    def target(self) -> int:
        """`p`, where it was asked for (`needs_p`)."""
        return cast(int, self.p)

    @property
    def within(self) -> float:
        """`radius`, where it was asked for (`needs_radius`)."""
        return cast(float, self.radius)


def check_inputs(
    cost: np.ndarray | None,
    weights: np.ndarray | None,
    p: int | None = None,
    *,
    fixed: np.ndarray | Sequence[int] | None = None,
    allowed: np.ndarray | None = None,
    radius: float | None = None,
    time_limit_s: float | None = None,
    needs_p: bool = True,
    needs_radius: bool = False,
) -> Inputs:
    """Check a placement request by the rules of this module and return it in checked form;
    raise `PlacementError` naming the first problem found, in one line. `p` is checked when
    `needs_p` and `radius` when `needs_radius` (otherwise they come back as None)."""
    checked_cost = None if cost is None else _check_cost(cost)
    checked_weights = _check_weights(weights, None if checked_cost is None else checked_cost.shape[0])
    n_candidates = len(checked_weights) if checked_cost is None else checked_cost.shape[1]
    checked_allowed = _check_allowed(allowed, n_candidates)
    checked_fixed = _check_fixed(fixed, checked_allowed)
    return Inputs(
        cost=checked_cost,
        weights=checked_weights,
        p=_check_p(p, len(checked_fixed), int(checked_allowed.sum())) if needs_p else None,
        fixed=checked_fixed,
        allowed=checked_allowed,
        radius=_check_radius(radius) if needs_radius else None,
        time_limit_s=_check_time_limit(time_limit_s),
    )


def listed(indices: np.ndarray) -> str:
    """The first `_FIRST` of `indices`, comma-separated (for messages)."""
    return ", ".join(str(int(i)) for i in indices[:_FIRST])


def _plain(value: object) -> object:
    """A NumPy scalar as the Python number it holds (for type checks and messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_cost(cost: np.ndarray) -> np.ndarray:
    cost = np.asarray(cost)
    if cost.ndim != 2:
        raise PlacementError(f"cost must be a 2-D (demands x candidates) array (got shape {cost.shape})")
    if cost.dtype.kind not in "iuf":
        raise PlacementError(f"cost must hold numbers (got dtype {cost.dtype})")
    cost = cost.astype(np.float64, copy=False)
    for bad, what, rule in (
        (np.isnan(cost), "NaN", "inf marks an unreachable pair"),
        (cost < 0, "negative", "costs must be >= 0"),
    ):
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise PlacementError(
                f"cost has {int(bad.sum())} {what} entries (first at demand {i}, candidate {j}); {rule}"
            )
    return cost


def _check_weights(weights: np.ndarray | None, n_demand: int | None) -> np.ndarray:
    """`n_demand` None (no cost matrix): the weights say how many demand points there are."""
    if weights is None and n_demand is not None:
        return np.ones(n_demand)
    array = np.asarray(weights)
    if array.dtype.kind not in "biuf":
        raise PlacementError(f"weights must hold numbers (got dtype {array.dtype})")
    if n_demand is None and array.ndim != 1:
        raise PlacementError(f"weights must be 1-D, one per demand (got shape {array.shape})")
    if n_demand is not None and array.shape != (n_demand,):
        raise PlacementError(
            f"weights has shape {array.shape}, expected ({n_demand},): one per demand (row of cost)"
        )
    array = array.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(array) | (array < 0))
    if len(bad):
        raise PlacementError(
            f"weights must be finite and >= 0 ({len(bad)} bad entries, first: {listed(bad)})"
        )
    return array


def _check_allowed(allowed: np.ndarray | None, n_candidates: int) -> np.ndarray:
    if allowed is None:
        return np.ones(n_candidates, dtype=bool)
    mask = np.asarray(allowed)
    if mask.dtype != bool or mask.shape != (n_candidates,):
        raise PlacementError(
            f"allowed must be a bool mask of shape ({n_candidates},), one per candidate "
            f"(got {mask.dtype} {mask.shape})"
        )
    return mask


def _check_fixed(fixed: np.ndarray | Sequence[int] | None, allowed: np.ndarray) -> np.ndarray:
    sites = np.asarray([] if fixed is None else fixed).ravel()
    if sites.size == 0:
        return np.empty(0, dtype=np.int64)
    if sites.dtype.kind not in "iu":
        raise PlacementError(f"fixed must hold integer candidate indices (got dtype {sites.dtype})")
    sites = np.unique(sites.astype(np.int64))
    m = len(allowed)
    out = sites[(sites < 0) | (sites >= m)]
    if len(out):
        raise PlacementError(f"fixed indices must lie in [0, {m}) (got {listed(out)})")
    banned = sites[~allowed[sites]]
    if len(banned):
        raise PlacementError(
            f"{len(banned)} fixed sites are not allowed candidates (first: {listed(banned)})"
        )
    return sites


def _check_p(p: object, n_fixed: int, n_allowed: int) -> int:
    p = _plain(p)
    if isinstance(p, bool) or not isinstance(p, int) or p < 0:
        raise PlacementError(f"p must be an integer >= 0 (got {p!r})")
    if p < n_fixed:
        raise PlacementError(f"p = {p} is less than the {n_fixed} fixed sites")
    if p > n_allowed:
        raise PlacementError(f"p = {p} exceeds the {n_allowed} allowed candidates")
    return p


def _check_radius(radius: object) -> float:
    radius = _plain(radius)
    if (
        isinstance(radius, bool)
        or not isinstance(radius, int | float)
        or not (math.isfinite(radius) and radius > 0)
    ):
        raise PlacementError(f"radius must be a positive finite number (got {radius!r})")
    return float(radius)


def _check_time_limit(time_limit_s: object) -> float | None:
    if time_limit_s is None:
        return None
    limit = _plain(time_limit_s)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0:
        raise PlacementError(f"time_limit_s must be None or a number of seconds > 0 (got {limit!r})")
    return float(limit)
