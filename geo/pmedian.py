"""p-median: open p sites so that the demand-weighted cost to each demand's nearest site is least.

`pmedian` is the fast heuristic: greedy construction, swap local search with the gain / loss /
extra bookkeeping of Whitaker (1983) as refined by Resende & Werneck (2007), restarts from
randomised greedy solutions and path relinking among an elite pool (Resende & Werneck 2004).
`pmedian_exact` solves the strong formulation with HiGHS. Both take a dense (demands x
candidates) cost matrix in km or minutes, where ``np.inf`` marks unreachable pairs; above
`LIST_ABOVE` candidates the heuristic keeps only each demand's `LIST_K` nearest candidates and
falls back to the dense row when a list runs out.

The module also holds what `geo.pcenter` shares: argument checks (`check_problem`), the candidate
lists and the swap engine, which with 0/1 costs minimises the number of uncovered demands.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix

from geo.milp import solve_milp
from geo.solution import Solution

LIST_ABOVE = 1500
"""Above this many candidates, each demand keeps only its `LIST_K` nearest candidates in memory."""
LIST_K = 200
CHUNK_ELEMENTS = 1 << 21
"""Dense fall-back work is done this many matrix elements at a time, to bound memory."""
MOVE_BLOCK = 64
"""The best swap is searched this many candidates (in decreasing order of gain) at a time."""


# --------------------------------------------------------------------------------------------
# Arguments


@dataclass(frozen=True)
class Problem:
    """A checked request. `cost` (n_demand, n_candidates) float, `weights` (n_demand,), `p` sites in
    all, `fixed` sorted candidate indices that must be open, `candidates` the sorted allowed
    candidate indices, `rows` the demands the models work on (positive weight and at least one
    finite cost to an allowed candidate), `unreachable` whether some positive-weight demand has no
    finite cost to any allowed candidate (then every objective is inf)."""

    cost: np.ndarray
    weights: np.ndarray
    p: int
    fixed: np.ndarray
    candidates: np.ndarray
    rows: np.ndarray
    unreachable: bool

    @property
    def fixed_columns(self) -> np.ndarray:
        """Positions of the fixed sites among `candidates`."""
        return np.searchsorted(self.candidates, self.fixed)

    def submatrix(self) -> np.ndarray:
        """Costs of the model's demands (`rows`) to the allowed `candidates`, a new array."""
        return self.cost[np.ix_(self.rows, self.candidates)]

    def sites(self, columns: np.ndarray) -> np.ndarray:
        """Sorted candidate indices (int64) of positions among `candidates`."""
        return np.sort(self.candidates[np.asarray(columns, dtype=np.int64)]).astype(np.int64)


def _first(mask: np.ndarray) -> str:
    """'row i, column j' of the first True entry of a 2-D mask."""
    i, j = np.argwhere(mask)[0]
    return f"row {i}, column {j}"


def check_problem(
    cost: np.ndarray,
    weights: np.ndarray | None,
    p: int,
    fixed: np.ndarray | None,
    allowed: np.ndarray | None,
) -> Problem:
    """Check the arguments shared by the placement models and restrict them to what matters.

    Raises ValueError with one line naming the first problem found. `weights` None means 1 each.
    """
    cost = np.asarray(cost)
    if cost.ndim != 2:
        raise ValueError(f"cost must be a 2-D (demands x candidates) array (got shape {cost.shape})")
    if not (np.issubdtype(cost.dtype, np.floating) or np.issubdtype(cost.dtype, np.integer)):
        raise ValueError(f"cost must be numeric (got dtype {cost.dtype})")
    cost = cost.astype(np.float64, copy=False)
    n, m = cost.shape
    if np.isnan(cost).any():
        bad = np.isnan(cost)
        raise ValueError(f"cost contains NaN ({int(bad.sum())} entries, first at {_first(bad)})")
    if (cost < 0).any():
        bad = cost < 0
        raise ValueError(
            f"cost must be non-negative ({int(bad.sum())} negative entries, first at {_first(bad)})"
        )
    if weights is None:
        weights = np.ones(n)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n,):
        raise ValueError(f"weights has shape {weights.shape}, expected ({n},): one per row of cost")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("weights must be finite and non-negative")
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        raise ValueError(f"p must be an integer (got {p!r})")
    p = int(p)
    if p < 1:
        raise ValueError(f"p must be >= 1 (got {p})")
    if allowed is None:
        candidates = np.arange(m, dtype=np.int64)
    else:
        allowed = np.asarray(allowed)
        if allowed.dtype != bool:
            raise ValueError(f"allowed must be a bool mask over the candidates (got dtype {allowed.dtype})")
        if allowed.shape != (m,):
            raise ValueError(f"allowed has shape {allowed.shape}, expected ({m},): one per column of cost")
        candidates = np.flatnonzero(allowed).astype(np.int64)
    fixed_arr = np.asarray([] if fixed is None else fixed)
    if fixed_arr.size and not np.issubdtype(fixed_arr.dtype, np.integer):
        raise ValueError(f"fixed must hold candidate indices (integers), got dtype {fixed_arr.dtype}")
    fixed_arr = np.unique(fixed_arr.astype(np.int64).ravel())
    out = fixed_arr[(fixed_arr < 0) | (fixed_arr >= m)]
    if out.size:
        raise ValueError(f"fixed candidate {out[0]} is out of range (there are {m} candidates)")
    not_allowed = np.setdiff1d(fixed_arr, candidates)
    if not_allowed.size:
        raise ValueError(f"fixed candidate {not_allowed[0]} is not an allowed candidate")
    if p < len(fixed_arr):
        raise ValueError(f"p={p} is less than the {len(fixed_arr)} fixed sites")
    if p > len(candidates):
        raise ValueError(f"p={p} exceeds the {len(candidates)} allowed candidates")
    positive = weights > 0
    reach = np.isfinite(cost)[:, candidates].any(axis=1)
    rows = np.flatnonzero(positive & reach).astype(np.int64)
    return Problem(
        cost=cost,
        weights=weights,
        p=p,
        fixed=fixed_arr,
        candidates=candidates,
        rows=rows,
        unreachable=bool((positive & ~reach).any()),
    )


def _check_options(time_limit_s: float | None, starts: int | None = None) -> None:
    if time_limit_s is not None and not time_limit_s > 0:
        raise ValueError(f"time_limit_s must be > 0 (got {time_limit_s})")
    if starts is not None and (isinstance(starts, bool) or not isinstance(starts, int) or starts < 1):
        raise ValueError(f"starts must be an integer >= 1 (got {starts!r})")


def pmedian_objective(cost: np.ndarray, weights: np.ndarray, sites: np.ndarray) -> float:
    """sum_i w_i min_{j in sites} c_ij over the demands with w_i > 0 (cost units x weight units);
    inf when one of them reaches no site."""
    weights = np.asarray(weights, dtype=np.float64)
    keep = weights > 0
    if not keep.any():
        return 0.0
    nearest = np.asarray(cost, dtype=np.float64)[np.ix_(keep, np.asarray(sites, dtype=np.int64))].min(axis=1)
    return float(weights[keep] @ nearest)


# --------------------------------------------------------------------------------------------
# Candidate lists


class CandidateLists:
    """For each demand row, candidates in ascending cost: all of them, or the `k` nearest.

    `below(rows, limit)` returns every (row, candidate, cost) with cost < limit[row]; rows whose
    list runs out before the limit (candidates beyond it may qualify), or that qualify for a large
    share of the candidates, are returned apart, to be handled on the dense matrix (the fall-back
    that keeps the k-nearest lists exact). `first[u, j]` (optional) is the position in row u's
    full order of the first candidate as cheap as j, so a limit that is the cost of a known
    candidate needs no search (a position at or past the end of a k-nearest list: the dense
    fall-back).
    """

    def __init__(self, order: np.ndarray, ordered_cost: np.ndarray, n_candidates: int, first=None):
        self.order = order
        self.ordered_cost = ordered_cost
        self.n_candidates = n_candidates
        self.complete = order.shape[1] == n_candidates
        self.first = first

    @classmethod
    def build(cls, matrix: np.ndarray, k: int | None = None) -> CandidateLists:
        """Lists for `matrix` (n, m): complete when m <= LIST_ABOVE (or k >= m), else `k` nearest."""
        n, m = matrix.shape
        if k is None:
            k = m if m <= LIST_ABOVE else LIST_K
        k = max(1, min(k, m))
        index: type[np.signedinteger[Any]] = np.int32 if m < 2**31 else np.int64
        if k == m:
            order = np.argsort(matrix, axis=1, kind="stable").astype(index)
        else:
            order = np.empty((n, k), dtype=index)
            for part in _chunks(n, m):
                block = matrix[part]
                near = np.argpartition(block, k - 1, axis=1)[:, :k]
                by_cost = np.argsort(np.take_along_axis(block, near, axis=1), axis=1, kind="stable")
                order[part] = np.take_along_axis(near, by_cost, axis=1)
        ordered = np.take_along_axis(matrix, order, axis=1)
        first = None
        if k == m:
            positions = np.arange(m, dtype=index)
            starts = np.empty(ordered.shape, dtype=bool)
            starts[:, 0] = True
            np.not_equal(ordered[:, 1:], ordered[:, :-1], out=starts[:, 1:])
            first_ordered = np.maximum.accumulate(np.where(starts, positions, 0), axis=1).astype(index)
            first = np.empty_like(first_ordered)
            np.put_along_axis(first, order, first_ordered, axis=1)
        return cls(order, ordered, m, first)

    def with_costs(self, ordered_cost: np.ndarray, first: np.ndarray | None = None) -> CandidateLists:
        """The same order with other (still ascending) costs, e.g. 0/1 coverage costs, and
        optionally their `first` positions."""
        return CandidateLists(self.order, ordered_cost, self.n_candidates, first)

    def below(
        self, rows: np.ndarray, limit: np.ndarray, at: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pos, cand, cost, dense): listed entries with cost < limit, `pos` indexing `rows`;
        `dense` the positions in `rows` to handle on the dense matrix. `at` (optional): for each
        row a candidate whose cost is exactly its limit."""
        k = self.order.shape[1]
        if at is not None and self.first is not None:
            lo = self.first[rows, at].astype(np.int64)
        else:
            lo = np.zeros(len(rows), dtype=np.int64)
            hi = np.full(len(rows), k, dtype=np.int64)
            for _ in range(k.bit_length()):  # vectorised lower_bound over each row's sorted costs
                mid = (lo + hi) >> 1
                less = self.ordered_cost[rows, np.minimum(mid, k - 1)] < limit
                active = lo < hi
                lo = np.where(active & less, mid + 1, lo)
                hi = np.where(active & ~less, mid, hi)
        heavy = lo * 4 > self.n_candidates
        if not self.complete:
            heavy |= lo >= k
        dense = np.flatnonzero(heavy)
        counts = np.where(heavy, 0, lo) if len(dense) else lo
        total = int(counts.sum())
        pos = np.repeat(np.arange(len(rows)), counts)
        offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        r = rows[pos]
        return pos, self.order[r, offset].astype(np.int64), self.ordered_cost[r, offset], dense


def _chunks(count: int, width: int):
    """Slices over `count` rows of `width` elements, CHUNK_ELEMENTS at a time."""
    step = max(1, CHUNK_ELEMENTS // max(1, width))
    for lo in range(0, count, step):
        yield slice(lo, min(count, lo + step))


# --------------------------------------------------------------------------------------------
# Greedy construction


def _greedy(
    matrix: np.ndarray,
    w: np.ndarray,
    lists: CandidateLists,
    fixed_cols: np.ndarray,
    p: int,
    rng: np.random.Generator | None,
    choices: int,
) -> np.ndarray:
    """Add sites one at a time, each with the largest saving of weighted cost (vectorised, savings
    updated only for demands whose nearest site changed). With `rng`, each site is drawn among
    the `choices` best. Returns the positions of the p sites (fixed first)."""
    n, m = matrix.shape
    closed = np.ones(m, dtype=bool)
    sites = [int(j) for j in fixed_cols]
    closed[fixed_cols] = False

    def pick(score: np.ndarray) -> int:
        score = np.where(closed, score, -np.inf)
        if rng is None or choices <= 1:
            return int(np.argmax(score))
        k = min(choices, int(closed.sum()))
        top = np.argpartition(score, len(score) - k)[len(score) - k :]
        return int(top[rng.integers(k)])

    if sites:
        nearest_site = fixed_cols[np.argmin(matrix[:, fixed_cols], axis=1)]
    else:
        nearest_site = np.full(n, pick(-(w @ matrix)))
        sites.append(int(nearest_site[0]))
        closed[sites[-1]] = False
    nearest = matrix[np.arange(n), nearest_site]
    saving = np.zeros(m)
    rows = np.arange(n)
    pos, cand, c, dense = lists.below(rows, nearest, nearest_site)
    saving += np.bincount(cand, w[pos] * (nearest[pos] - c), minlength=m)
    for part in _chunks(len(dense), m):
        r = dense[part]
        saving += w[r] @ np.maximum(nearest[r, None] - matrix[r], 0.0)
    while len(sites) < p:
        j = pick(saving)
        sites.append(j)
        closed[j] = False
        rows = np.flatnonzero(matrix[:, j] < nearest)
        if len(rows):
            old, new = nearest[rows], matrix[rows, j]
            pos, cand, c, dense = lists.below(rows, old, nearest_site[rows])
            delta = w[rows[pos]] * ((old[pos] - c) - np.maximum(new[pos] - c, 0.0))
            saving -= np.bincount(cand, delta, minlength=m)
            for part in _chunks(len(dense), m):
                r = rows[dense[part]]
                block = matrix[r]
                lost = np.maximum(old[dense[part], None] - block, 0.0) - np.maximum(
                    new[dense[part], None] - block, 0.0
                )
                saving -= w[r] @ lost
            nearest[rows] = new
            nearest_site[rows] = j
    return np.asarray(sites, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Swap local search


class SwapSearch:
    """Best-improvement swap local search (one site out, one in) with incremental bookkeeping.

    For each demand: nearest and second-nearest open site (`near1`, `near2` as slots of `sites`)
    and their costs `d1`, `d2`. With them (Resende & Werneck 2007):
    gain[i]  = sum_u w_u max(0, d1_u - c_ui)             saving from opening i alone,
    loss[r]  = sum_{u: near1=r} w_u (d2_u - d1_u)         cost of closing slot r alone,
    extra[i, r] = sum_{u: near1=r, c_ui<d2_u} w_u (d2_u - max(c_ui, d1_u)),
    and the profit of swapping i in for r is gain[i] - loss[r] + extra[i, r]. After a swap only the
    demands whose nearest or second-nearest site changed are updated. Needs p >= 2.
    """

    def __init__(
        self, matrix: np.ndarray, w: np.ndarray, lists: CandidateLists, sites: np.ndarray, n_fixed: int
    ):
        self.matrix, self.w, self.lists = matrix, w, lists
        n, m = matrix.shape
        self.sites = np.asarray(sites, dtype=np.int64).copy()
        self.p = len(self.sites)
        self.is_open = np.zeros(m, dtype=bool)
        self.is_open[self.sites] = True
        self.movable = np.arange(self.p) >= n_fixed
        self.near1 = np.empty(n, dtype=np.int64)
        self.near2 = np.empty(n, dtype=np.int64)
        self.d1 = np.empty(n)
        self.d2 = np.empty(n)
        self._nearest_two(np.arange(n))
        self.gain = np.zeros(m)
        self.extra = np.zeros((m, self.p))
        self._account(np.arange(n), 1.0)
        self._loss()

    @property
    def objective(self) -> float:
        return float(self.w @ self.d1)

    def _nearest_two(self, rows: np.ndarray) -> None:
        for part in _chunks(len(rows), self.p):
            r = rows[part]
            block = self.matrix[np.ix_(r, self.sites)]
            at = np.arange(len(r))
            a = np.argmin(block, axis=1)  # ties go to the lower slot
            self.near1[r], self.d1[r] = a, block[at, a]
            block[at, a] = np.inf
            b = np.argmin(block, axis=1)
            self.near2[r], self.d2[r] = b, block[at, b]

    def _account(self, rows: np.ndarray, sign: float) -> None:
        """Add (sign +1) or remove (-1) the contributions of `rows` to gain and extra."""
        m, p = self.extra.shape
        pos, cand, c, dense = self.lists.below(rows, self.d2[rows], self.sites[self.near2[rows]])
        r = rows[pos]
        d1, d2, w = self.d1[r], self.d2[r], self.w[r]
        self.gain += sign * np.bincount(cand, w * np.maximum(d1 - c, 0.0), minlength=m)
        np.add.at(self.extra.reshape(-1), cand * p + self.near1[r], sign * w * (d2 - np.maximum(c, d1)))
        for part in _chunks(len(dense), m):
            r = rows[dense[part]]
            block = self.matrix[r]
            d1, d2, w = self.d1[r, None], self.d2[r, None], self.w[r, None]
            self.gain += sign * (w * np.maximum(d1 - block, 0.0)).sum(axis=0)
            contrib = np.where(block < d2, w * (d2 - np.maximum(block, d1)), 0.0)
            order = np.argsort(self.near1[r], kind="stable")
            slots, starts = np.unique(self.near1[r][order], return_index=True)
            self.extra[:, slots] += sign * np.add.reduceat(contrib[order], starts, axis=0).T

    def _loss(self) -> None:
        self.loss = np.bincount(self.near1, self.w * (self.d2 - self.d1), minlength=self.p)

    def best_move(self) -> tuple[int, int, float]:
        """(candidate in, slot out, profit) of the most profitable swap (profit may be <= 0).

        Since extra[i, r] <= loss[r], no swap bringing in i profits more than gain[i]: candidates
        are scored in blocks in decreasing order of gain, stopping once the next gain cannot beat
        the best profit found (ties go to the higher gain, then the lower candidate and slot)."""
        if self.is_open.all() or not self.movable.any():
            return -1, -1, 0.0
        loss = np.where(self.movable, self.loss, np.inf)
        closed = np.flatnonzero(~self.is_open)
        order = closed[np.argsort(-self.gain[closed], kind="stable")]
        best = (-1, -1, -np.inf)
        for start in range(0, len(order), MOVE_BLOCK):
            rows = order[start : start + MOVE_BLOCK]
            if self.gain[rows[0]] <= best[2]:
                break
            profit = self.extra[rows] - loss
            profit += self.gain[rows, None]
            k = int(np.argmax(profit))
            if profit.flat[k] > best[2]:
                i, r = divmod(k, self.p)
                best = (int(rows[i]), r, float(profit.flat[k]))
        return best

    def swap(self, new: int, slot: int) -> None:
        """Open candidate `new` in place of the site in `slot` and update the bookkeeping."""
        column = self.matrix[:, new]
        lost = (self.near1 == slot) | (self.near2 == slot)
        closer = column < self.d2
        rows = np.flatnonzero(lost | closer)
        self._account(rows, -1.0)
        self.is_open[self.sites[slot]] = False
        self.sites[slot] = new
        self.is_open[new] = True
        self._nearest_two(np.flatnonzero(lost))
        # rows that kept both sites: the new one becomes their nearest or second nearest
        kept = np.flatnonzero(closer & ~lost)
        c = column[kept]
        first = c < self.d1[kept]
        self.near2[kept] = np.where(first, self.near1[kept], slot)
        self.d2[kept] = np.where(first, self.d1[kept], c)
        self.near1[kept] = np.where(first, slot, self.near1[kept])
        self.d1[kept] = np.where(first, c, self.d1[kept])
        self._account(rows, 1.0)
        self._loss()

    def reweight(self, rows: np.ndarray, weights: np.ndarray) -> None:
        """Give `rows` new demand weights, keeping the bookkeeping exact."""
        self._account(rows, -1.0)
        self.w[rows] = weights
        self._account(rows, 1.0)
        self._loss()

    def relink(self, target: np.ndarray, deadline: float | None = None) -> tuple[float, np.ndarray]:
        """Path relinking: walk to the sites `target` by the best swaps that bring in one of its
        sites for one of ours not in it; returns the best (objective, sites) strictly between."""
        wanted = np.zeros(len(self.is_open), dtype=bool)
        wanted[target] = True
        best, best_sites = np.inf, self.sites.copy()
        while deadline is None or time.perf_counter() < deadline:
            ins = np.flatnonzero(wanted & ~self.is_open)
            outs = np.flatnonzero(self.movable & ~wanted[self.sites])
            if len(ins) <= 1 or not len(outs):  # the last step would reach `target` itself
                break
            profit = self.extra[np.ix_(ins, outs)] - self.loss[outs]
            profit += self.gain[ins, None]
            i, r = divmod(int(np.argmax(profit)), len(outs))
            i, r = int(ins[i]), int(outs[r])
            self.swap(i, r)
            if self.objective < best:
                best, best_sites = self.objective, self.sites.copy()
        return best, best_sites

    def descend(self, deadline: float | None = None) -> int:
        """Apply best swaps while they lower the objective; returns the number of swaps made."""
        objective = self.objective
        moves = 0
        while deadline is None or time.perf_counter() < deadline:
            new, slot, profit = self.best_move()
            tol = 1e-12 * max(abs(objective), 1.0)
            if new < 0 or profit <= tol:
                break
            old = int(self.sites[slot])
            self.swap(new, slot)
            after = self.objective
            if after >= objective - tol:  # rounding in the bookkeeping: not a real improvement
                self.swap(old, slot)
                break
            objective = after
            moves += 1
        return moves


# --------------------------------------------------------------------------------------------
# Public heuristic


def _model_matrix(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, w) of the model's demands and allowed candidates; inf costs become a penalty so
    large that reaching one more demand always beats any saving on the others."""
    matrix = problem.submatrix()
    w = problem.weights[problem.rows]
    inf = ~np.isfinite(matrix)
    if inf.any():
        finite_max = float(matrix[~inf].max()) if (~inf).any() else 0.0
        penalty = (finite_max + 1.0) * (2.0 * w.sum() / w.min() + 1.0)
        matrix[inf] = penalty
    return matrix, w


def _trivial(problem: Problem) -> np.ndarray | None:
    """Columns of the answer when there is nothing to choose, else None."""
    if problem.p == len(problem.candidates):
        return np.arange(len(problem.candidates))
    if problem.p == len(problem.fixed):
        return problem.fixed_columns
    if len(problem.rows) == 0:  # no demand counts: any sites will do
        free = np.setdiff1d(np.arange(len(problem.candidates)), problem.fixed_columns)
        return np.concatenate([problem.fixed_columns, free[: problem.p - len(problem.fixed)]])
    return None


def _heuristic_solution(problem: Problem, columns: np.ndarray) -> Solution:
    sites = problem.sites(columns)
    return Solution(sites=sites, objective=pmedian_objective(problem.cost, problem.weights, sites))


STARTS = 12
"""Default number of starts on instances up to about n x m x p = 1e8 (OR-Library pmed40 is 7e7)."""
GREEDY_CHOICES = 10
"""A randomised greedy start draws each site among this many with the largest savings."""
ELITE = 10
"""Size of the pool of good local optima that path relinking draws on."""
ELITE_DIFFERENCE = 4
"""A solution joins the pool only if it differs from each member by this many sites (or is the best)."""
POST_ROUNDS = 2
"""Rounds of relinking the best solution with the rest of the pool at the end."""


def default_starts(n_demand: int, n_candidates: int, p: int) -> int:
    """Starts when `starts` is None: `STARTS`, fewer (at least 3) above n x m x p = 1e8."""
    work = n_demand * n_candidates * p / 1e8
    return int(np.clip(STARTS / max(work, 1.0), 3, STARTS))


def pmedian(
    cost: np.ndarray,
    weights: np.ndarray,
    p: int,
    *,
    fixed: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    seed: int = 0,
    time_limit_s: float | None = None,
    starts: int | None = None,
) -> Solution:
    """Heuristic p-median: `p` sites (fixed ones included) among the allowed candidates, minimising
    sum_i w_i min_{j in sites} c_ij (cost units x weight units) over the demands with w_i > 0.

    Multistart swap local search with path relinking (see `_search`); `starts` (default
    `default_starts`) bounds the starts, `seed` drives the randomised ones, `time_limit_s` the wall
    time in seconds (checked between swaps; the first greedy always completes). Returns bound=None,
    optimal=False. If some demand cannot reach any p sites the objective is inf; the sites then
    still reach as much of the demand as the search could.
    """
    problem = check_problem(cost, weights, p, fixed, allowed)
    _check_options(time_limit_s, starts)
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    trivial = _trivial(problem)
    if trivial is not None:
        return _heuristic_solution(problem, trivial)
    matrix, w = _model_matrix(problem)
    if problem.p == 1:  # one site, none fixed: try them all
        return _heuristic_solution(problem, np.array([int(np.argmin(w @ matrix))]))
    lists = CandidateLists.build(matrix)
    n_demand, n_candidates = matrix.shape
    n_starts = starts if starts is not None else default_starts(n_demand, n_candidates, problem.p)
    columns = _search(matrix, w, lists, problem.fixed_columns, problem.p, n_starts, seed, deadline)
    return _heuristic_solution(problem, columns)


def _search(
    matrix: np.ndarray,
    w: np.ndarray,
    lists: CandidateLists,
    fixed_cols: np.ndarray,
    p: int,
    n_starts: int,
    seed: int,
    deadline: float | None,
) -> np.ndarray:
    """Multistart local search with path relinking (after Resende & Werneck 2004).

    Each start builds a greedy solution (the first plain, the others randomised), descends by
    swaps to a local optimum, relinks it with a member of the elite pool (drawn with probability
    in proportion to how much it differs) and descends again from the best solution on that path;
    both results are offered to the pool, which keeps only solutions that differ from each other.
    At the end the best is relinked both ways with every other pool member, in rounds while it
    improves. Returns the best sites (positions among the model's candidates)."""
    rng = np.random.default_rng(seed)
    n_fixed = len(fixed_cols)
    elite: list[tuple[float, np.ndarray]] = []  # (objective, sorted sites), best first

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() >= deadline

    def differences(sites: np.ndarray) -> np.ndarray:
        return np.array([len(np.setdiff1d(sites, other)) for _, other in elite])

    def offer(objective: float, sites: np.ndarray) -> None:
        key = np.sort(sites)
        if elite:
            closest = differences(key).min()
            if closest == 0 or (closest < ELITE_DIFFERENCE and objective >= elite[0][0]):
                return
        if len(elite) < ELITE:
            elite.append((objective, key))
        elif objective < elite[-1][0]:
            elite[-1] = (objective, key)
        elite.sort(key=lambda item: item[0])

    def descended(sites: np.ndarray) -> SwapSearch:
        search = SwapSearch(matrix, w, lists, _slots(sites, fixed_cols), n_fixed)
        search.descend(deadline)
        return search

    def relink(search: SwapSearch, target: np.ndarray) -> None:
        objective, sites = search.relink(target, deadline)
        if np.isfinite(objective):
            better = descended(sites)
            offer(better.objective, better.sites)

    for start in range(n_starts):
        if start and out_of_time():
            break
        search = descended(_greedy(matrix, w, lists, fixed_cols, p, rng if start else None, GREEDY_CHOICES))
        found = (search.objective, search.sites.copy())
        if elite:  # the guide: an elite solution, more likely the more it differs
            weight = differences(found[1]).astype(np.float64)
            guide = int(rng.choice(len(elite), p=weight / weight.sum())) if weight.sum() else 0
            relink(search, elite[guide][1])
        offer(*found)
    for _ in range(POST_ROUNDS):
        best_objective, best_sites = elite[0]
        for _, other in list(elite[1:]):
            for origin, target in ((best_sites, other), (other, best_sites)):
                if out_of_time():
                    return elite[0][1]
                relink(SwapSearch(matrix, w, lists, _slots(origin, fixed_cols), n_fixed), target)
        if elite[0][0] >= best_objective:
            break
    return elite[0][1]


def _slots(sites: np.ndarray, fixed_cols: np.ndarray) -> np.ndarray:
    """`sites` ordered fixed first (the slots SwapSearch may not move)."""
    return np.concatenate([fixed_cols, np.setdiff1d(sites, fixed_cols)])


def pmedian_greedy(
    cost: np.ndarray,
    weights: np.ndarray,
    p: int,
    *,
    fixed: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> Solution:
    """The plain greedy construction alone (the first start of `pmedian`, before its swaps)."""
    problem = check_problem(cost, weights, p, fixed, allowed)
    trivial = _trivial(problem)
    if trivial is not None:
        return _heuristic_solution(problem, trivial)
    matrix, w = _model_matrix(problem)
    lists = CandidateLists.build(matrix)
    return _heuristic_solution(problem, _greedy(matrix, w, lists, problem.fixed_columns, problem.p, None, 1))


def pmedian_swap(
    cost: np.ndarray,
    weights: np.ndarray,
    sites: np.ndarray,
    *,
    fixed: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> Solution:
    """Swap local search from the given `sites` (distinct allowed candidates, every fixed one among
    them) to a local optimum: never worse than where it started."""
    sites = np.unique(np.asarray(sites, dtype=np.int64))
    problem = check_problem(cost, weights, max(len(sites), 1), fixed, allowed)
    if len(sites) == 0 or not np.isin(sites, problem.candidates).all():
        raise ValueError("sites must be allowed candidates")
    if not np.isin(problem.fixed, sites).all():
        raise ValueError("sites must include every fixed site")
    trivial = _trivial(problem)
    if trivial is not None or problem.p == 1:
        if problem.p == 1 and trivial is None:
            matrix, w = _model_matrix(problem)
            return _heuristic_solution(problem, np.array([int(np.argmin(w @ matrix))]))
        return _heuristic_solution(problem, np.searchsorted(problem.candidates, sites))
    matrix, w = _model_matrix(problem)
    fixed_cols = problem.fixed_columns
    columns = _slots(np.searchsorted(problem.candidates, sites), fixed_cols)
    search = SwapSearch(matrix, w, CandidateLists.build(matrix), columns, len(fixed_cols))
    search.descend()
    return _heuristic_solution(problem, search.sites)


# --------------------------------------------------------------------------------------------
# Exact


def pmedian_exact(
    cost: np.ndarray,
    weights: np.ndarray,
    p: int,
    *,
    fixed: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    time_limit_s: float | None = None,
) -> Solution:
    """Exact p-median by HiGHS on the strong formulation:

        min sum_ij w_i c_ij x_ij  s.t.  sum_j x_ij = 1,  x_ij <= y_j,  sum_j y_j = p,
        y_j binary (1 for fixed sites), 0 <= x_ij <= 1,

    with y over the allowed candidates and x only for finite costs. Assignments that no optimal
    solution uses are left out: a demand never goes past its (m - p + 1)-th nearest allowed
    candidate (p open sites cannot all lie beyond it), nor past its nearest fixed site.

    Returns HiGHS's proven lower `bound` and `optimal` (False after `time_limit_s` seconds, with the
    best sites found; the heuristic's sites if HiGHS found none). If some demand cannot reach any p
    sites every objective is inf: objective and bound are inf.
    """
    problem = check_problem(cost, weights, p, fixed, allowed)
    _check_options(time_limit_s)
    trivial = _trivial(problem)
    if trivial is not None:
        solution = _heuristic_solution(problem, trivial)
        return Solution(solution.sites, solution.objective, solution.objective, True)
    matrix = problem.submatrix()
    w = problem.weights[problem.rows]
    n, m = matrix.shape
    p = problem.p
    reach = np.partition(matrix, m - p, axis=1)[:, m - p]
    if len(problem.fixed):
        reach = np.minimum(reach, matrix[:, problem.fixed_columns].min(axis=1))
    rows, cols = np.nonzero(np.isfinite(matrix) & (matrix <= reach[:, None]))
    k = len(rows)
    # columns: y (m) then x (k); rows: assignment (n), x <= y (k), cardinality (1)
    x = m + np.arange(k)
    a = coo_matrix(
        (
            np.concatenate([np.ones(k), np.ones(k), -np.ones(k), np.ones(m)]),
            (
                np.concatenate([rows, n + np.arange(k), n + np.arange(k), np.full(m, n + k)]),
                np.concatenate([x, x, cols, np.arange(m)]),
            ),
        ),
        shape=(n + k + 1, m + k),
    )
    lower = np.concatenate([np.ones(n), np.full(k, -np.inf), [p]])
    upper = np.concatenate([np.ones(n), np.zeros(k), [p]])
    col_lower = np.zeros(m + k)
    col_lower[problem.fixed_columns] = 1.0
    result = solve_milp(
        np.concatenate([np.zeros(m), w[rows] * matrix[rows, cols]]),
        a,
        lower,
        upper,
        col_lower=col_lower,
        col_upper=np.ones(m + k),
        integer=np.arange(m + k) < m,
        time_limit_s=time_limit_s,
    )
    if result.status == "Infeasible":  # no p sites reach every demand: all objectives are inf
        guess = pmedian(cost, weights, p, fixed=fixed, allowed=allowed, starts=1)
        return Solution(guess.sites, np.inf, np.inf, True)
    if result.x is None:
        guess = pmedian(cost, weights, p, fixed=fixed, allowed=allowed, time_limit_s=time_limit_s)
        return Solution(
            guess.sites, guess.objective, _honest_bound(result.bound, guess.objective, problem), False
        )
    columns = np.flatnonzero(result.x[:m] > 0.5)
    sites = problem.sites(columns)
    objective = pmedian_objective(problem.cost, problem.weights, sites)
    return Solution(sites, objective, _honest_bound(result.bound, objective, problem), result.optimal)


def _honest_bound(bound: float | None, objective: float, problem: Problem) -> float | None:
    """HiGHS's lower bound, as a float no higher than the objective (within rounding it is the
    objective), None when HiGHS has none; inf when some demand reaches no candidate."""
    if problem.unreachable:
        return np.inf
    if bound is None or not np.isfinite(bound):
        return None
    if abs(bound - objective) <= 1e-9 * max(1.0, abs(objective)):
        return objective
    return min(float(bound), objective)
