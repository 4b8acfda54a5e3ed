"""What p-median and p-center share: the checked problem, candidate lists and the swap search.

`check_problem` checks a request (`geo.request`) and keeps the demands that matter;
`CandidateLists` holds each demand's candidates in ascending cost (all of them, or above
`LIST_ABOVE` candidates the `LIST_K` nearest, with a fall-back to the dense row when a list runs
out); `SwapSearch` is the swap local search with the gain / loss / extra bookkeeping of Whitaker
(1983) as refined by Resende & Werneck (2007): on costs in km or minutes it minimises the
weighted cost (`geo.pmedian`), on 0/1 costs the weighted number of uncovered demands
(`geo.pcenter`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from geo.request import check_inputs

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


def check_problem(
    cost: np.ndarray,
    weights: np.ndarray | None,
    p: int,
    fixed: np.ndarray | None,
    allowed: np.ndarray | None,
    time_limit_s: float | None = None,
) -> Problem:
    """Check a request (`geo.request.check_inputs`: raises `PlacementError` with one line naming
    the first problem) and restrict it to what matters. `weights` None means 1 each."""
    inputs = check_inputs(cost, weights, p, fixed=fixed, allowed=allowed, time_limit_s=time_limit_s)
    matrix, candidates = inputs.matrix, inputs.candidates
    positive = inputs.weights > 0
    reach = np.isfinite(matrix)[:, candidates].any(axis=1)
    rows = np.flatnonzero(positive & reach).astype(np.int64)
    return Problem(
        cost=matrix,
        weights=inputs.weights,
        p=inputs.target,
        fixed=inputs.fixed,
        candidates=candidates,
        rows=rows,
        unreachable=bool((positive & ~reach).any()),
    )


def trivial_columns(problem: Problem) -> np.ndarray | None:
    """Columns of the answer when there is nothing to choose, else None."""
    if problem.p == len(problem.candidates):
        return np.arange(len(problem.candidates))
    if problem.p == len(problem.fixed):
        return problem.fixed_columns
    if len(problem.rows) == 0:  # no demand counts: any sites will do
        free = np.setdiff1d(np.arange(len(problem.candidates)), problem.fixed_columns)
        return np.concatenate([problem.fixed_columns, free[: problem.p - len(problem.fixed)]])
    return None


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
            for part in chunks(n, m):
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


def chunks(count: int, width: int):
    """Slices over `count` rows of `width` elements, CHUNK_ELEMENTS at a time."""
    step = max(1, CHUNK_ELEMENTS // max(1, width))
    for lo in range(0, count, step):
        yield slice(lo, min(count, lo + step))


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
        for part in chunks(len(rows), self.p):
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
        for part in chunks(len(dense), m):
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
