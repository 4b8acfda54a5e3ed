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
`optimal` flag that is True only when optimality is proven. Their arguments are checked by
`geo.request.check_inputs`, which raises `PlacementError`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix, hstack, identity, vstack

from geo.errors import PlacementError
from geo.milp import solve_milp
from geo.request import Inputs, check_inputs, listed
from geo.solution import Solution

# ---------------------------------------------------------------------------------------------
# sparse coverage


@dataclass(frozen=True)
class _Cover:
    """Coverage restricted to the rows that matter and to the allowed candidates.

    `a` (n_rows, n_cols) CSR of ones: row r (a demand point of weight `w[r]`) is covered by column
    c (candidate `cols[c]`); `at` its transpose (CSR); `fixed` the column numbers of fixed sites.
    """

    a: csr_matrix
    at: csr_matrix
    w: np.ndarray
    cols: np.ndarray
    fixed: np.ndarray

    @property
    def n_cols(self) -> int:
        return len(self.cols)

    def col_sums(self, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """(n_cols,) sum over the given rows of `values` for every column covering them."""
        return _gather_sums(self.a, self.at, rows, values)

    def rows_of(self, col: int) -> np.ndarray:
        """Rows covered by column `col`."""
        return self.at.indices[self.at.indptr[col] : self.at.indptr[col + 1]]

    def counts(self, cols: np.ndarray) -> np.ndarray:
        """(n_rows,) how many of the columns `cols` cover each row."""
        return _gather_sums(self.at, self.a, cols, np.ones(len(cols))).astype(np.int64)


def _gather_sums(m: csr_matrix, mt: csr_matrix, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For a CSR matrix `m` of ones (and `mt`, its transpose in CSR): the dense vector
    `sum_k values[k] * m[rows[k], :]` for distinct `rows`. A few rows are gathered directly
    (work in proportion to their entries); many rows use one sparse product `mt @ v`."""
    size = m.shape[1]
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return np.zeros(size)
    lengths = m.indptr[rows + 1] - m.indptr[rows]
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(size)
    if 6 * total > m.nnz:
        v = np.zeros(m.shape[0])
        v[rows] = values
        return mt @ v
    return np.bincount(_row_entries(m, rows), weights=np.repeat(values, lengths), minlength=size)


def _row_entries(m: csr_matrix, rows: np.ndarray) -> np.ndarray:
    """The column indices of the entries of CSR `m` in `rows`, row after row."""
    starts = m.indptr[rows]
    lengths = m.indptr[rows + 1] - starts
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return m.indices[offsets + np.arange(int(lengths.sum()))]


def _cover(args: Inputs, keep_rows: np.ndarray) -> _Cover:
    """Sparse coverage of the demand rows in `keep_rows` (bool) by the allowed candidates."""
    cols = np.flatnonzero(args.allowed)
    rows = np.flatnonzero(keep_rows)
    within = args.matrix[np.ix_(rows, cols)] <= args.within
    a = csr_matrix(within, dtype=float)
    a.sort_indices()
    at = a.T.tocsr()
    at.sort_indices()
    fixed = np.searchsorted(cols, args.fixed)
    return _Cover(a=a, at=at, w=args.weights[rows], cols=cols, fixed=fixed)


def _coverable(args: Inputs) -> np.ndarray:
    """(n_demand,) bool: some allowed candidate covers the point."""
    return np.asarray((args.matrix[:, args.allowed] <= args.within).any(axis=1))


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


def _improvable(state: _State, gain0: np.ndarray, movable: np.ndarray, tol: float) -> np.ndarray:
    """Open movable columns r (ascending) with a 1-swap (r out, a closed column in) that raises
    the covered weight by more than `tol`. All pairs are scored at once, and an empty answer
    proves a 1-swap local optimum.

    With c the coverage counts, a swap changes the covered weight by
    gain0[a] + extra[r, a] - loss[r], where gain0[a] is the weight of uncovered rows a covers,
    loss[r] the weight of rows only r covers and extra[r, a] the weight of those rows a covers
    too: one sparse product of the rows covered once (grouped by their owner r) with the
    coverage matrix (`gain0` is `state.gains()`, kept up to date by the caller). Every pair
    without extra scores gain0[a] - loss[r] <= max(gain0) - min(loss), which bounds the true
    change of one pair from below: that r is returned when it improves."""
    cov = state.cov
    n = cov.n_cols
    closed = ~state.open
    cols = np.flatnonzero(state.open & movable)
    if len(cols) == 0 or not closed.any():
        return cols[:0]
    rows = _row_entries(cov.at, cols)
    owner = np.repeat(cols, cov.at.indptr[cols + 1] - cov.at.indptr[cols])
    single = state.count[rows] == 1
    once, owner = rows[single], owner[single]
    loss = np.bincount(owner, weights=cov.w[once], minlength=n)
    pairs = (
        csr_matrix((cov.w[once], (owner, np.arange(len(once)))), shape=(n, len(once))) @ cov.a[once]
    ).tocoo()
    near = closed[pairs.col]
    best = np.full(n, -math.inf)
    np.maximum.at(best, pairs.row[near], gain0[pairs.col[near]] + pairs.data[near])
    flagged = best - loss > tol
    far = cols[int(np.argmin(loss[cols]))]  # the pair scoring max(gain0) - min(loss)
    flagged[far] |= float(gain0[closed].max()) - loss[far] > tol
    return np.flatnonzero(flagged)


def _local_search(state: _State, is_fixed: np.ndarray, tol: float, deadline: float, target: float) -> None:
    """1-swap local search, first improvement: score every swap at once (`_improvable`),
    then for each open column r that has an improving swap, in column order, swap it for the
    closed column that now improves most, if any still improves by more than `tol`. Repeats until
    no swap improves (a 1-swap local optimum), or the deadline, or `value >= target`."""
    cov = state.cov
    w = cov.w
    movable = ~is_fixed
    gain0 = state.gains()  # kept exact through the swaps below
    while time.perf_counter() <= deadline and state.value < target - tol:
        outs = _improvable(state, gain0, movable, tol)
        if len(outs) == 0:
            return
        for r in outs.tolist():
            rows = cov.rows_of(r)
            only = rows[state.count[rows] == 1]
            extra = cov.col_sums(only, w[only])
            delta = gain0 + extra - float(w[only].sum())
            delta[state.open] = -np.inf
            a = int(np.argmax(delta))
            if delta[a] <= tol:
                continue
            gain0 += extra  # r out: rows it alone covered become uncovered
            state.remove(r)
            rows_a = cov.rows_of(a)
            new = rows_a[state.count[rows_a] == 0]
            gain0 -= cov.col_sums(new, w[new])  # a in: those rows are covered again
            state.add(a)


def _upper_bound(state: _State, free: int, ceiling: float) -> float:
    """A proven upper bound on the optimum over all p-sets holding the fixed sites, from any
    solution S holding them: by monotonicity and submodularity OPT <= f(S) + the sum of the
    `free` = p - |fixed| largest single-site gains with respect to S; also <= `ceiling`."""
    gains = np.where(state.open, 0.0, state.gains())
    top = np.partition(gains, len(gains) - free)[len(gains) - free :] if free > 0 else gains[:0]
    return min(ceiling, state.value + float(top.sum()))


@dataclass(frozen=True)
class _Found:
    """A heuristic result on a `_Cover`: open columns, covered weight, proven upper bound."""

    cols: np.ndarray
    value: float
    bound: float


_MAX_DROP = 20  # sites dropped by one iterated-local-search round, at most


def _search(cov: _Cover, free: int, seed: int, rounds: int, deadline: float) -> _Found:
    """Greedy + 1-swap local search + iterated local search (see `mclp`)."""
    ceiling = float(cov.w.sum())
    tol = 1e-9 * max(1.0, ceiling)
    is_fixed = np.zeros(cov.n_cols, dtype=bool)
    is_fixed[cov.fixed] = True

    state = _State(cov, cov.fixed)
    _greedy(state, free)
    bound = _upper_bound(state, free, ceiling)
    _local_search(state, is_fixed, tol, deadline, bound)
    bound = min(bound, _upper_bound(state, free, ceiling))
    best_cols, best_value = state.sites(), state.value

    rng = np.random.default_rng(seed)
    for _ in range(rounds if free > 0 else 0):
        if best_value >= bound - tol or time.perf_counter() > deadline:
            break
        free_open = best_cols[~is_fixed[best_cols]]
        size = int(rng.integers(1, max(1, min(_MAX_DROP, len(free_open) // 2)) + 1))
        drop = rng.choice(free_open, size=size, replace=False)
        state = _State(cov, np.setdiff1d(best_cols, drop))
        forbidden = np.zeros(cov.n_cols, dtype=bool)
        forbidden[drop] = True
        if (~(forbidden | state.open)).sum() < len(drop):
            forbidden[:] = False
        _greedy(state, len(drop), forbidden, rng)
        _local_search(state, is_fixed, tol, deadline, bound)
        bound = min(bound, _upper_bound(state, free, ceiling))
        if state.value > best_value + tol:
            best_cols, best_value = state.sites(), state.value
    return _Found(cols=best_cols, value=best_value, bound=bound)


def _solution(args: Inputs, sites: np.ndarray, bound: float | None) -> Solution:
    """Solution for the given candidate indices, its covered weight recomputed from `cost`;
    optimal when it meets the proven upper `bound`."""
    sites = np.sort(np.asarray(sites, dtype=np.int64))
    value = covered_weight(args.matrix, args.weights, args.within, sites)
    optimal = bound is not None and value >= bound - 1e-9 * max(1.0, abs(bound))
    if optimal:
        bound = value
    return Solution(sites=sites, objective=value, bound=bound, optimal=bool(optimal))


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

    Greedy from the fixed sites (exact incremental gains on sparse coverage sets), then 1-swap
    local search, then up to `rounds` iterated-local-search rounds: drop a random part of the best
    solution's free sites, refill them one by one drawing each with probability proportional to
    its gain (the dropped ones excluded), local search, keep the result if better. Stops early at
    `time_limit_s` seconds or when the solution meets its upper bound. Deterministic for a given
    `seed` unless the time limit stops it.

    `objective` is the covered weight; `bound` a proven upper bound (the least of the submodular
    bounds f(S) + top-(p - |fixed|) gains over the solutions S seen, and the total coverable
    weight); `optimal` is True only when the objective meets that bound.
    """
    args = check_inputs(
        cost,
        weights,
        p,
        fixed=fixed,
        allowed=allowed,
        radius=radius,
        time_limit_s=time_limit_s,
        needs_radius=True,
    )
    p = args.target
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 0:
        raise PlacementError(f"rounds must be an integer >= 0 (got {rounds!r})")
    deadline = math.inf if time_limit_s is None else time.perf_counter() + time_limit_s
    cov = _cover(args, (args.weights > 0) & _coverable(args))
    found = _search(cov, p - len(cov.fixed), seed, int(rounds), deadline)
    return _solution(args, cov.cols[found.cols], found.bound)


# ---------------------------------------------------------------------------------------------
# MCLP exact


def _aggregate_rows(a: csr_matrix, w: np.ndarray) -> tuple[csr_matrix, np.ndarray]:
    """Merge rows with identical coverage sets (summing their weights); `a` has sorted indices."""
    keys = [a.indices[a.indptr[k] : a.indptr[k + 1]].tobytes() for k in range(a.shape[0])]
    first: dict[bytes, int] = {}
    group = np.array([first.setdefault(key, len(first)) for key in keys], dtype=np.int64)
    merged = np.bincount(group, weights=w, minlength=len(first)) if len(group) else np.zeros(0)
    reps = np.zeros(len(first), dtype=np.int64)
    reps[group[::-1]] = np.arange(len(group))[::-1]
    return a[reps], merged


def _screen_columns(a: csr_matrix, w: np.ndarray, free: int, lower: float) -> tuple[np.ndarray, float]:
    """Columns worth keeping in the MILP (with `sum y <= free`), and a bound for the others.

    A column is dropped when (a) its coverage set is empty or inside another kept column's (an
    optimal solution never needs it: the larger column does at least as well; among equal sets
    the lowest index stays), or (b) even the best solution holding it cannot reach `lower`, the
    value of a known solution: by submodularity such a solution is worth at most
    f({j}) + the `free - 1` largest gains of other columns given j. Returns (kept mask, the largest
    bound (b) among the columns dropped by (b), -inf if none)."""
    n_cols = a.shape[1]
    ac = a.tocsc()
    aw = csr_matrix(a.multiply(w[:, None])).tocsc()
    size = np.diff(ac.indptr)
    total = np.asarray(aw.sum(axis=0)).ravel()
    idx = np.arange(n_cols)
    dominated = size == 0
    bound = np.full(n_cols, np.inf)
    block = max(1, 4_000_000 // max(1, n_cols))
    for lo in range(0, n_cols, block):
        cols = idx[lo : lo + block]
        overlap = (ac[:, cols].T @ ac).toarray()
        inside = (overlap == size[cols, None]) & (
            (size[None, :] > size[cols, None])
            | ((size[None, :] == size[cols, None]) & (idx[None, :] < cols[:, None]))
        )
        inside[np.arange(len(cols)), cols] = False
        dominated[cols] |= inside.any(axis=1)
        gains = total[None, :] - (ac[:, cols].T @ aw).toarray()
        gains[np.arange(len(cols)), cols] = 0.0
        k = free - 1
        top = np.partition(gains, n_cols - k, axis=1)[:, n_cols - k :].sum(axis=1) if k > 0 else 0.0
        bound[cols] = total[cols] + top
    weak = bound < lower - 1e-9 * max(1.0, abs(lower))
    keep = ~dominated & ~weak
    dropped = bound[weak & ~dominated]
    return keep, float(dropped.max()) if len(dropped) else -math.inf


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
    z_i in [0, 1] (point covered), z_i <= sum of y_j over the sites covering i, sum y <= p - |fixed|
    (the solution is then filled up to p sites, which cannot lower coverage), maximise sum w_i z_i.

    Before the MILP: the `mclp` heuristic gives a solution (returned at once if it meets its own
    proven bound, e.g. when it covers every coverable point); points of zero weight, points no
    allowed site covers and points the fixed sites cover drop out (the last as a constant); sites
    whose coverage is inside another site's, and sites whose submodular bound cannot reach the
    heuristic's value, drop out; points with the same covering sites merge, and a point only one
    site covers becomes part of that site's objective coefficient.

    `bound` is proven (HiGHS's dual bound, combined with the bounds of the screened-out sites) and
    `optimal` is True only when the objective meets it; under `time_limit_s` (seconds, for the whole
    call) a search that HiGHS does not finish returns the better of its incumbent and the heuristic.
    """
    args = check_inputs(
        cost,
        weights,
        p,
        fixed=fixed,
        allowed=allowed,
        radius=radius,
        time_limit_s=time_limit_s,
        needs_radius=True,
    )
    p = args.target
    start = time.perf_counter()
    cov = _cover(args, (args.weights > 0) & _coverable(args))
    free = p - len(cov.fixed)
    deadline = math.inf if time_limit_s is None else start + 0.25 * time_limit_s
    found = _search(cov, free, 0, _EXACT_ROUNDS, deadline)
    if found.value >= found.bound - 1e-9 * max(1.0, found.bound):
        return _solution(args, cov.cols[found.cols], found.bound)

    # the reduced problem: points the fixed sites leave uncovered, free (allowed, non-fixed) sites
    base = cov.counts(cov.fixed) > 0
    constant = float(cov.w[base].sum())
    rows = np.flatnonzero(~base)
    free_cols = np.setdiff1d(np.arange(cov.n_cols), cov.fixed)
    a = cov.a[rows][:, free_cols].tocsr()
    w = cov.w[rows]
    keep, dropped_bound = _screen_columns(a, w, free, found.value - constant)
    kept = free_cols[keep]
    a = a[:, keep].tocsr()
    a.sort_indices()
    a, w = _aggregate_rows(a, w)
    degree = np.diff(a.indptr)
    single = degree == 1
    y_cost = np.bincount(a.indices[a.indptr[:-1][single]], weights=w[single], minlength=a.shape[1])
    a, w = a[degree > 1], w[degree > 1]
    n_rows, n_y = a.shape

    limit = None
    if time_limit_s is not None:
        limit = time_limit_s - (time.perf_counter() - start)
    result = None
    if n_y == 0:  # nothing left worth opening: the restricted optimum is 0
        bound = min(found.bound, max(found.value, constant + dropped_bound))
        return _solution(args, cov.cols[found.cols], bound)
    if limit is None or limit > 0:
        link = hstack([-a, identity(n_rows, format="csr")])
        card = csr_matrix(np.concatenate([np.ones(n_y), np.zeros(n_rows)])[None, :])
        result = solve_milp(
            np.concatenate([y_cost, w]),
            vstack([link, card]).tocsc(),
            np.concatenate([np.full(n_rows, -np.inf), [0.0]]),
            np.concatenate([np.zeros(n_rows), [float(free)]]),
            col_lower=np.zeros(n_y + n_rows),
            col_upper=np.ones(n_y + n_rows),
            integer=np.concatenate([np.ones(n_y, dtype=bool), np.zeros(n_rows, dtype=bool)]),
            maximise=True,
            time_limit_s=limit,
        )

    bound = found.bound
    best_cols, best_value = found.cols, found.value
    if result is not None and result.bound is not None and np.isfinite(result.bound):
        bound = min(bound, constant + max(result.bound, dropped_bound))
    if result is not None and result.x is not None:
        chosen = kept[result.x[:n_y] > 0.5]
        cols = _fill(cov, np.concatenate([cov.fixed, chosen]), free_cols, p)
        value = _State(cov, cols).value
        if value > best_value:
            best_cols, best_value = cols, value
    if result is not None and result.optimal:
        bound = min(bound, max(best_value, constant + dropped_bound))
    return _solution(args, cov.cols[best_cols], bound)


_EXACT_ROUNDS = 20  # heuristic rounds for the starting solution of `mclp_exact`


def _fill(cov: _Cover, cols: np.ndarray, pool: np.ndarray, p: int) -> np.ndarray:
    """`cols` filled up to `p` columns from `pool`, largest total coverage first."""
    cols = np.unique(cols)
    spare = np.setdiff1d(pool, cols)
    if len(cols) >= p or len(spare) == 0:
        return cols
    total = cov.col_sums(np.arange(len(cov.w)), cov.w)[spare]
    return np.sort(np.concatenate([cols, spare[np.argsort(-total, kind="stable")[: p - len(cols)]]]))


# ---------------------------------------------------------------------------------------------
# LSCP


def _lscp_cover(args: Inputs) -> _Cover:
    """Coverage of the points that must be covered (weight > 0) by the allowed candidates.
    Raises `PlacementError` when some such point cannot be reached by any allowed candidate."""
    need = args.weights > 0
    lost = np.flatnonzero(need & ~_coverable(args))
    if len(lost):
        raise PlacementError(
            f"{len(lost)} demand points cannot be reached within radius {args.within:g} by any allowed "
            f"candidate (first: {listed(lost)})"
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
    None) is within `radius` of one. Raises `PlacementError` naming the points no allowed candidate
    reaches.

    Heuristic (default): greedy + redundancy elimination; `bound` is a packing lower bound
    (|fixed| + points pairwise without a common free candidate), `optimal` when it is met.
    `exact=True`: set-covering MILP with HiGHS (min sum y, sum of y over the sites covering i >= 1
    for every point the fixed sites leave uncovered); `bound` HiGHS's proven lower bound, and with
    a time limit that stops the search the better of its incumbent and the heuristic.
    `objective` is the number of sites.
    """
    args = check_inputs(
        cost,
        weights,
        fixed=fixed,
        allowed=allowed,
        radius=radius,
        time_limit_s=time_limit_s,
        needs_p=False,
        needs_radius=True,
    )
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
        bound = max(bound, float(len(cov.fixed) + math.ceil(result.bound - 1e-6)))
    if result.x is not None:
        chosen = open_cols[result.x > 0.5]
        sites = np.sort(cov.cols[np.concatenate([cov.fixed, chosen])]).astype(np.int64)
        if len(sites) < len(best) or result.optimal:
            best = sites
    optimal = bool(result.optimal) or len(best) <= bound
    if result.optimal:
        bound = float(len(best))
    return Solution(sites=best, objective=float(len(best)), bound=bound, optimal=optimal)
