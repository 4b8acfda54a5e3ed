"""Covering models: maximal covering (MCLP) and location set covering (LSCP).

Demand point i is covered by candidate site j when `cost[i, j] <= radius` (`cost` in km or
minutes, `radius` in the same unit; `np.inf` never covers). `weights` are the demand per point
(residents).

- `mclp`: open p sites to maximise the covered weight; greedy + swap local search + iterated
  restarts, with a cheap proven upper bound (submodularity) so that it can report optimality.
- `mclp_exact`: the Church–ReVelle MILP solved by HiGHS (`geo.milp`).
- `lscp`: the fewest sites covering every demand point that needs it; greedy + redundancy
  elimination with a packing lower bound, or (`exact=True`) the set-covering MILP.

All three return `geo.solution.Solution` with sorted candidate indices, honest bounds and an
`optimal` flag that is True only when optimality is proven.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix, hstack, identity, vstack

from geo.milp import solve_milp
from geo.solution import Solution

_FIRST = 5
  # how many offending indices an error message lists


# ---------------------------------------------------------------------------------------------
# argument checks


@dataclass(frozen=True)
class _Args:
    """Checked arguments: `cost` (n_demand, n_candidates) float, `weights` (n_demand,) float,
    `fixed` sorted unique int64 candidate indices, `allowed` (n_candidates,) bool."""

    cost: np.ndarray
    weights: np.ndarray
    radius: float
    fixed: np.ndarray
    allowed: np.ndarray


def _first(indices: np.ndarray) -> str:
    return ", ".join(str(int(i)) for i in indices[:_FIRST])


def _check(
    cost: np.ndarray,
    weights: np.ndarray | None,
    radius: float,
    fixed: np.ndarray | None,
    allowed: np.ndarray | None,
    time_limit_s: float | None,
) -> _Args:
    """Validate the common arguments; raise ValueError with one clear message."""
    cost = np.asarray(cost)
    if cost.ndim != 2:
        raise ValueError(f"cost must be a 2-d (n_demand, n_candidates) array (got shape {cost.shape})")
    if not (np.issubdtype(cost.dtype, np.floating) or np.issubdtype(cost.dtype, np.integer)):
        raise ValueError(f"cost must hold numbers (got dtype {cost.dtype})")
    cost = cost.astype(float, copy=False)
    n_demand, n_cand = cost.shape
    nan = np.isnan(cost)
    if nan.any():
        i, j = np.argwhere(nan)[0]
        raise ValueError(f"cost has {int(nan.sum())} NaN entries (first at demand {i}, candidate {j})")
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.integer, np.floating)):
        raise ValueError(f"radius must be a positive finite number (got {radius!r})")
    radius = float(radius)
    if not (math.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a positive finite number (got {radius})")
    if weights is None:
        weights = np.ones(n_demand)
    else:
        weights = np.asarray(weights)
        if weights.shape != (n_demand,):
            raise ValueError(
                f"weights has shape {weights.shape}, expected ({n_demand},) to match cost {cost.shape}"
            )
        weights = weights.astype(float, copy=False)
        bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
        if len(bad):
            raise ValueError(
                f"weights must be finite and >= 0 ({len(bad)} bad entries, first: {_first(bad)})"
            )
    if allowed is None:
        allowed = np.ones(n_cand, dtype=bool)
    else:
        allowed = np.asarray(allowed)
        if allowed.shape != (n_cand,) or allowed.dtype != bool:
            raise ValueError(
                f"allowed must be a bool mask of shape ({n_cand},) (got {allowed.dtype} {allowed.shape})"
            )
    if fixed is None:
        fixed = np.empty(0, dtype=np.int64)
    else:
        fixed = np.asarray(fixed).ravel()
        if fixed.size == 0:
            fixed = np.empty(0, dtype=np.int64)
        elif not np.issubdtype(fixed.dtype, np.integer):
            raise ValueError(f"fixed must hold integer candidate indices (got dtype {fixed.dtype})")
        fixed = fixed.astype(np.int64)
        out = fixed[(fixed < 0) | (fixed >= n_cand)]
        if len(out):
            raise ValueError(f"fixed indices must lie in [0, {n_cand}) (got {_first(out)})")
        if len(np.unique(fixed)) != len(fixed):
            raise ValueError("fixed holds duplicate candidate indices")
        fixed = np.sort(fixed)
        bad = fixed[~allowed[fixed]]
        if len(bad):
            raise ValueError(f"{len(bad)} fixed sites are not allowed candidates (first: {_first(bad)})")
    if time_limit_s is not None and not (math.isfinite(time_limit_s) and time_limit_s > 0):
        raise ValueError(f"time_limit_s must be a positive finite number of seconds (got {time_limit_s})")
    return _Args(cost=cost, weights=weights, radius=radius, fixed=fixed, allowed=allowed)


def _check_p(p: int, args: _Args) -> int:
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise ValueError(f"p must be an integer (got {p!r})")
    p = int(p)
    n_allowed = int(args.allowed.sum())
    if p < 1:
        raise ValueError(f"p must be >= 1 (got {p})")
    if p < len(args.fixed):
        raise ValueError(f"p = {p} is less than the {len(args.fixed)} fixed sites")
    if p > n_allowed:
        raise ValueError(f"p = {p} exceeds the {n_allowed} allowed candidates")
    return p


# ---------------------------------------------------------------------------------------------
# sparse coverage


@dataclass(frozen=True)
class _Cover:
    """Coverage restricted to the rows that matter and to the allowed candidates.

    `a` (n_rows, n_cols) CSR of ones: row r (demand `rows[r]`, weight `w[r]`) is covered by column
    c (candidate `cols[c]`); `at` its transpose (CSR); `fixed` the column numbers of fixed sites.
    """

    a: csr_matrix
    at: csr_matrix
    w: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    fixed: np.ndarray

    @property
    def n_cols(self) -> int:
        return len(self.cols)

    def col_sums(self, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """(n_cols,) sum over the given rows of `values` for every column covering them."""
        return _gather_sums(self.a, rows, values, self.n_cols)

    def rows_of(self, col: int) -> np.ndarray:
        """Rows covered by column `col`."""
        return self.at.indices[self.at.indptr[col] : self.at.indptr[col + 1]]

    def counts(self, cols: np.ndarray) -> np.ndarray:
        """(n_rows,) how many of the columns `cols` cover each row."""
        return _gather_sums(self.at, cols, np.ones(len(cols)), len(self.w)).astype(np.int64)


def _gather_sums(m: csr_matrix, rows: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """For a CSR matrix of ones: `sum_k values[k] * m[rows[k], :]` as a dense (size,) vector,
    touching only the selected rows."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return np.zeros(size)
    starts = m.indptr[rows]
    lengths = m.indptr[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(size)
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    idx = m.indices[offsets + np.arange(total)]
    return np.bincount(idx, weights=np.repeat(values, lengths), minlength=size)


def _cover(args: _Args, keep_rows: np.ndarray) -> _Cover:
    """Sparse coverage of the demand rows in `keep_rows` (bool) by the allowed candidates."""
    cols = np.flatnonzero(args.allowed)
    rows = np.flatnonzero(keep_rows)
    within = args.cost[np.ix_(rows, cols)] <= args.radius
    a = csr_matrix(within, dtype=float)
    a.sort_indices()
    at = a.T.tocsr()
    at.sort_indices()
    fixed = np.searchsorted(cols, args.fixed)
    return _Cover(a=a, at=at, w=args.weights[rows], rows=rows, cols=cols, fixed=fixed)


def _coverable(args: _Args) -> np.ndarray:
    """(n_demand,) bool: some allowed candidate covers the point."""
    return (args.cost[:, args.allowed] <= args.radius).any(axis=1)


def covered_weight(cost: np.ndarray, weights: np.ndarray, radius: float, sites: np.ndarray) -> float:
    """Total weight of the demand points within `radius` of at least one of `sites`."""
    sites = np.asarray(sites, dtype=np.int64)
    if len(sites) == 0:
        return 0.0
    covered = (np.asarray(cost)[:, sites] <= radius).any(axis=1)
    return float(np.asarray(weights, dtype=float)[covered].sum())


# ---------------------------------------------------------------------------------------------
# MCLP heuristic


class _State:
    """An MCLP solution on a `_Cover`: open columns, per-row coverage counts, covered weight."""

    def __init__(self, cov: _Cover, open_cols: np.ndarray):
        self.cov = cov
        self.open = np.zeros(cov.n_cols, dtype=bool)
        self.open[open_cols] = True
        self.count = cov.counts(open_cols)
        self.value = float(cov.w[self.count > 0].sum())

    def sites(self) -> np.ndarray:
        return np.flatnonzero(self.open)

    def gains(self) -> np.ndarray:
        """(n_cols,) weight each column would newly cover (exact recomputation)."""
        uncovered = np.flatnonzero(self.count == 0)
        return self.cov.col_sums(uncovered, self.cov.w[uncovered])

    def add(self, col: int) -> None:
        rows = self.cov.rows_of(col)
        self.value += float(self.cov.w[rows[self.count[rows] == 0]].sum())
        self.count[rows] += 1
        self.open[col] = True

    def remove(self, col: int) -> None:
        rows = self.cov.rows_of(col)
        self.count[rows] -= 1
        self.value -= float(self.cov.w[rows[self.count[rows] == 0]].sum())
        self.open[col] = False


def _greedy(
    state: _State, k: int, forbidden: np.ndarray | None = None, rng: np.random.Generator | None = None
) -> None:
    """Add `k` columns one by one, each the one newly covering most weight (ties: lowest column).
    Gains are updated exactly and incrementally: after adding j, only the columns covering the
    rows j newly covers lose gain, by those rows' weight (total work O(nnz) over the run)."""
    cov = state.cov
    gains = state.gains()
    blocked = state.open.copy()
    if forbidden is not None:
        blocked |= forbidden
    spare = None  # columns left once every gain is zero: fill by total coverage
    for _ in range(k):
        masked = np.where(blocked, -1.0, gains)
        j = int(np.argmax(masked))
        if rng is not None and masked[j] > 0:
            prob = np.maximum(masked, 0.0)
            j = int(rng.choice(len(prob), p=prob / prob.sum()))
        if masked[j] <= 0:
            if spare is None:
                total = cov.col_sums(np.arange(len(cov.w)), cov.w)
                spare = np.argsort(-np.where(state.open, -1.0, total), kind="stable")
            j = int(next(c for c in spare if not blocked[c]))
        rows = cov.rows_of(j)
        new = rows[state.count[rows] == 0]
        gains -= cov.col_sums(new, cov.w[new])
        state.add(j)
        blocked[j] = True


def _local_search(state: _State, is_fixed: np.ndarray, tol: float, deadline: float, target: float) -> None:
    """1-swap local search: for each open non-fixed column r, find the closed column a that
    maximises value(S - r + a); accept it when it improves by more than `tol`. Repeats until a
    full pass finds no improving swap (or the deadline, or `value >= target`).

    With c the coverage counts, the swap's change is
    gain0[a] + extra_r[a] - loss[r], where gain0[a] is the weight of uncovered rows a covers,
    loss[r] the weight of rows only r covers, and extra_r[a] the weight of those rows a covers
    too; all are sparse column sums (vectorised over every a at once)."""
    cov = state.cov
    w = cov.w
    gain0 = state.gains()
    improved = True
    while improved:
        improved = False
        for r in np.flatnonzero(state.open & ~is_fixed):
            if time.perf_counter() > deadline or state.value >= target - tol:
                return
            rows = cov.rows_of(r)
            only = rows[state.count[rows] == 1]
            loss = float(w[only].sum())
            delta = gain0 + cov.col_sums(only, w[only]) - loss
            delta[state.open] = -np.inf
            a = int(np.argmax(delta))
            if delta[a] <= tol:
                continue
            # r out: rows it alone covered become uncovered; a in: rows uncovered become covered
            gain0 += cov.col_sums(only, w[only])
            state.remove(r)
            rows_a = cov.rows_of(a)
            new = rows_a[state.count[rows_a] == 0]
            gain0 -= cov.col_sums(new, w[new])
            state.add(a)
            improved = True


def _upper_bound(state: _State, free: int, ceiling: float) -> float:
    """A proven upper bound on the optimum over all p-sets holding the fixed sites, from any
    solution S holding them: by monotonicity and submodularity OPT <= f(S) + the sum of the
    `free` = p - |fixed| largest single-site gains with respect to S; also <= `ceiling`."""
    gains = np.where(state.open, 0.0, state.gains())
    top = np.partition(gains, len(gains) - free)[len(gains) - free :] if free > 0 else gains[:0]
    return min(ceiling, state.value + float(top.sum()))


def mclp(
    cost: np.ndarray,
    weights: np.ndarray,
    p: int,
    radius: float,
    *,
    fixed: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    seed: int = 0,
    time_limit_s: float | None = None,
    rounds: int = 100,
) -> Solution:
    """Maximal covering, heuristic: open `p` sites (the `fixed` ones among them, all `allowed`)
    to maximise the weight within `radius` of an open site.

    Greedy from the fixed sites, then 1-swap local search, then up to `rounds` iterated-local-
    search rounds (remove a random part of the best solution's free sites, refill greedily without
    them, local search; keep the better), stopping early at `time_limit_s` seconds or when the
    solution meets its upper bound. Deterministic for a given `seed` when no time limit stops it.

    `objective` is the covered weight; `bound` a proven upper bound (the best of the submodular
    bounds f(S) + top-(p - |fixed|) gains seen, and the total coverable weight); `optimal` is True
    only when the objective meets that bound.
    """
    args = _check(cost, weights, radius, fixed, allowed, time_limit_s)
    p = _check_p(p, args)
    start = time.perf_counter()
    deadline = math.inf if time_limit_s is None else start + time_limit_s
    cov = _cover(args, (args.weights > 0) & _coverable(args))
    ceiling = float(cov.w.sum())
    tol = 1e-9 * max(1.0, ceiling)
    free = p - len(cov.fixed)
    is_fixed = np.zeros(cov.n_cols, dtype=bool)
    is_fixed[cov.fixed] = True

    state = _State(cov, cov.fixed)
    _greedy(state, free)
    bound = _upper_bound(state, free, ceiling)
    _local_search(state, is_fixed, tol, deadline, bound)
    bound = min(bound, _upper_bound(state, free, ceiling))
    best_sites, best_value = state.sites(), state.value

    rng = np.random.default_rng(seed)
    for _ in range(rounds if free > 0 else 0):
        if best_value >= bound - tol or time.perf_counter() > deadline:
            break
        free_open = best_sites[~is_fixed[best_sites]]
        drop = rng.choice(
            free_open, size=int(rng.integers(1, max(1, len(free_open) // 2) + 1)), replace=False
        )
        keep = np.setdiff1d(best_sites, drop)
        state = _State(cov, keep)
        forbidden = np.zeros(cov.n_cols, dtype=bool)
        forbidden[drop] = True
        if (~(forbidden | state.open)).sum() < len(drop):
            forbidden[:] = False
        _greedy(state, len(drop), forbidden, rng)
        _local_search(state, is_fixed, tol, deadline, bound)
        bound = min(bound, _upper_bound(state, free, ceiling))
        if state.value > best_value + tol:
            best_sites, best_value = state.sites(), state.value

    sites = cov.cols[best_sites]
    value = covered_weight(args.cost, args.weights, args.radius, sites)
    optimal = value >= bound - tol
    return Solution(
        sites=np.sort(sites).astype(np.int64), objective=value, bound=bound, optimal=bool(optimal)
    )


# ---------------------------------------------------------------------------------------------
# MCLP exact


def _aggregate_rows(cov: _Cover, rows: np.ndarray) -> tuple[csr_matrix, np.ndarray]:
    """Merge the given rows with identical coverage sets (summing their weights)."""
    sub = cov.a[rows]
    keys = [sub.indices[sub.indptr[k] : sub.indptr[k + 1]].tobytes() for k in range(sub.shape[0])]
    first: dict[bytes, int] = {}
    group = np.array([first.setdefault(key, len(first)) for key in keys], dtype=np.int64)
    w = np.bincount(group, weights=cov.w[rows], minlength=len(first))
    reps = np.zeros(len(first), dtype=np.int64)
    reps[group[::-1]] = np.arange(len(group))[::-1]
    return sub[reps], w


def mclp_exact(
    cost: np.ndarray,
    weights: np.ndarray,
    p: int,
    radius: float,
    *,
    fixed: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    time_limit_s: float | None = None,
) -> Solution:
    """Maximal covering, exact (Church & ReVelle 1974) with HiGHS: y_j binary (site open),
    z_i in [0, 1] (point covered), z_i <= sum of y_j over the sites covering i, sum y = p,
    fixed y = 1, disallowed y absent; maximise sum w_i z_i.

    The model is reduced first: points of zero weight, points no allowed site covers and points the
    fixed sites already cover drop out (the last add a constant), and points with the same set of
    covering sites merge. `bound` is HiGHS's proven upper bound and `optimal` its proof; with a
    time limit that stops the search, the better of HiGHS's incumbent and the `mclp` heuristic is
    returned with `optimal` False.
    """
    args = _check(cost, weights, radius, fixed, allowed, time_limit_s)
    p = _check_p(p, args)
    cov = _cover(args, (args.weights > 0) & _coverable(args))
    free = p - len(cov.fixed)
    base = cov.counts(cov.fixed) > 0
    constant = float(cov.w[base].sum())
    open_cols = np.setdiff1d(np.arange(cov.n_cols), cov.fixed)
    rows = np.flatnonzero(~base)
    if free == 0 or len(rows) == 0:
        chosen = np.concatenate([cov.fixed, open_cols[:free]])
        sites = np.sort(cov.cols[chosen]).astype(np.int64)
        value = covered_weight(args.cost, args.weights, args.radius, sites)
        return Solution(sites=sites, objective=value, bound=value, optimal=True)

    a, w = _aggregate_rows(cov, rows)
    a = a[:, open_cols]
    n_rows, n_y = a.shape
    # columns: y (n_y binary) then z (n_rows continuous); rows: z - A y <= 0, then sum y = free
    link = hstack([-a, identity(n_rows, format="csr")])
    card = csr_matrix(np.concatenate([np.ones(n_y), np.zeros(n_rows)])[None, :])
    result = solve_milp(
        np.concatenate([np.zeros(n_y), w]),
        vstack([link, card]).tocsc(),
        np.concatenate([np.full(n_rows, -np.inf), [free]]),
        np.concatenate([np.zeros(n_rows), [free]]),
        col_lower=np.zeros(n_y + n_rows),
        col_upper=np.ones(n_y + n_rows),
        integer=np.concatenate([np.ones(n_y, dtype=bool), np.zeros(n_rows, dtype=bool)]),
        maximise=True,
        time_limit_s=time_limit_s,
    )
    bound = None if result.bound is None or not np.isfinite(result.bound) else constant + result.bound
    sites = None
    if result.x is not None:
        pick = np.argsort(-result.x[:n_y], kind="stable")[:free]
        sites = np.sort(cov.cols[np.concatenate([cov.fixed, open_cols[pick]])]).astype(np.int64)
        value = covered_weight(args.cost, args.weights, args.radius, sites)
    if result.optimal and sites is not None:
        return Solution(sites=sites, objective=value, bound=value, optimal=True)
    heuristic = mclp(cost, weights, p, radius, fixed=args.fixed, allowed=args.allowed, rounds=10)
    if sites is None or heuristic.objective > value:
        sites, value = heuristic.sites, heuristic.objective
    if heuristic.bound is not None:
        bound = heuristic.bound if bound is None else min(bound, heuristic.bound)
    optimal = bound is not None and value >= bound - 1e-9 * max(1.0, abs(bound))
    return Solution(sites=sites, objective=value, bound=bound, optimal=bool(optimal))


# ---------------------------------------------------------------------------------------------
# LSCP


def _lscp_cover(args: _Args) -> _Cover:
    """Coverage of the points that must be covered (weight > 0) by the allowed candidates.
    Raises ValueError when some such point cannot be reached by any allowed candidate."""
    need = args.weights > 0
    lost = np.flatnonzero(need & ~_coverable(args))
    if len(lost):
        raise ValueError(
            f"{len(lost)} demand points cannot be reached within radius {args.radius:g} by any allowed "
            f"candidate (first: {_first(lost)})"
        )
    return _cover(args, need)


def _packing_bound(cov: _Cover, todo: np.ndarray, usable: np.ndarray) -> int:
    """A lower bound on the sites needed to cover the rows `todo` with the `usable` columns:
    rows chosen so that no usable column covers two of them each need their own site. Rows with
    the fewest covering columns are tried first."""
    used = ~usable
    lengths = cov.a.indptr[todo + 1] - cov.a.indptr[todo]
    count = 0
    for r in todo[np.argsort(lengths, kind="stable")]:
        cols = cov.a.indices[cov.a.indptr[r] : cov.a.indptr[r + 1]]
        cols = cols[usable[cols]]
        if not used[cols].any():
            used[cols] = True
            count += 1
    return count


def _lscp_greedy(cov: _Cover) -> tuple[np.ndarray, int]:
    """Greedy set cover (most newly covered points, ties by newly covered weight, then lowest
    column) from the fixed columns, then redundancy elimination (drop, latest first, every
    non-fixed column whose points are all covered twice). Returns (columns, packing bound)."""
    count = cov.counts(cov.fixed)
    usable = np.ones(cov.n_cols, dtype=bool)
    usable[cov.fixed] = False
    todo = np.flatnonzero(count == 0)
    lower = len(cov.fixed) + _packing_bound(cov, todo, usable)
    n_gain = cov.col_sums(todo, np.ones(len(todo)))
    w_gain = cov.col_sums(todo, cov.w[todo])
    picked: list[int] = []
    left = len(todo)
    while left > 0:
        n_masked = np.where(usable, n_gain, -1.0)
        top = np.flatnonzero(n_masked == n_masked.max())
        j = int(top[np.argmax(w_gain[top])])
        rows = cov.rows_of(j)
        new = rows[count[rows] == 0]
        n_gain -= cov.col_sums(new, np.ones(len(new)))
        w_gain -= cov.col_sums(new, cov.w[new])
        count[rows] += 1
        usable[j] = False
        picked.append(j)
        left -= len(new)
    keep = []
    for j in reversed(picked):
        rows = cov.rows_of(j)
        if (count[rows] >= 2).all():
            count[rows] -= 1
        else:
            keep.append(j)
    return np.concatenate([cov.fixed, np.array(keep, dtype=np.int64)]), lower


def lscp(
    cost: np.ndarray,
    radius: float,
    *,
    fixed: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    exact: bool = False,
    time_limit_s: float | None = None,
    weights: np.ndarray | None = None,
) -> Solution:
    """Location set covering (Toregas et al. 1971): the fewest sites (the `fixed` ones among them,
    all `allowed`) such that every demand point with weight > 0 (every point when `weights` is
    None) is within `radius` of one. Raises ValueError naming the points no allowed candidate
    reaches.

    Heuristic (default): greedy + redundancy elimination; `bound` is a packing lower bound
    (|fixed| + points pairwise without a common free candidate), `optimal` when it is met.
    `exact=True`: set-covering MILP with HiGHS (min sum y, sum of y over the sites covering i >= 1
    for every point the fixed sites leave uncovered); `bound` HiGHS's proven lower bound, and with
    a time limit that stops the search the better of its incumbent and the heuristic.
    `objective` is the number of sites.
    """
    args = _check(cost, weights, radius, fixed, allowed, time_limit_s)
    cov = _lscp_cover(args)
    cols, lower = _lscp_greedy(cov)
    best = np.sort(cov.cols[cols]).astype(np.int64)
    if len(best) == lower or not exact:
        return Solution(
            sites=best, objective=float(len(best)), bound=float(lower), optimal=len(best) == lower
        )

    count = cov.counts(cov.fixed)
    todo = np.flatnonzero(count == 0)
    open_cols = np.setdiff1d(np.arange(cov.n_cols), cov.fixed)
    a = cov.a[todo][:, open_cols]
    n_y = len(open_cols)
    result = solve_milp(
        np.ones(n_y),
        a.tocsc(),
        np.ones(len(todo)),
        np.full(len(todo), np.inf),
        col_lower=np.zeros(n_y),
        col_upper=np.ones(n_y),
        integer=np.ones(n_y, dtype=bool),
        time_limit_s=time_limit_s,
    )
    bound = float(lower)
    if result.bound is not None and np.isfinite(result.bound):
        bound = max(bound, len(cov.fixed) + math.ceil(result.bound - 1e-6))
    if result.x is not None:
        chosen = open_cols[result.x > 0.5]
        sites = np.sort(cov.cols[np.concatenate([cov.fixed, chosen])]).astype(np.int64)
        if len(sites) < len(best) or result.optimal:
            best = sites
    optimal = bool(result.optimal) or len(best) <= bound
    if result.optimal:
        bound = float(len(best))
    return Solution(sites=best, objective=float(len(best)), bound=bound, optimal=optimal)
