"""p-center: open p sites so that the worst cost from a demand to its nearest site is least.

Both functions search the radius r over the sorted distinct costs: r is feasible when p sites
(the fixed ones included) cover every demand within r, i.e. a set cover of size <= p exists.
`pcenter` decides that heuristically (greedy cover, then swaps that reduce the weighted number of
uncovered demands, the weights of those left uncovered rising when the swaps stall);
`pcenter_exact` by solving the set-cover MILP with HiGHS at each radius.
Costs are km or minutes in a dense (demands x candidates) matrix; ``np.inf`` marks unreachable
pairs. Demands of zero weight (when `weights` is given) are ignored. Arguments are checked by
`geo.request.check_inputs`, which raises `PlacementError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from scipy.sparse import csr_matrix

from geo.milp import solve_milp
from geo.solution import Solution
from geo.swap import CandidateLists, Problem, SwapSearch, check_problem, trivial_columns

BREAKOUTS = 100
"""Rounds of raising the weight of uncovered demands before a radius is given up."""


def pcenter_objective(cost: np.ndarray, sites: np.ndarray, weights: np.ndarray | None = None) -> float:
    """max over demands (with weight > 0 when `weights` is given) of min_{j in sites} c_ij, in cost
    units; inf when one of them reaches no site and with no sites (every cost infinite), else 0
    when no demand counts."""
    sites = np.asarray(sites, dtype=np.int64)
    if len(sites) == 0:
        return np.inf
    cost = np.asarray(cost, dtype=np.float64)
    keep = np.ones(len(cost), dtype=bool) if weights is None else np.asarray(weights) > 0
    if not keep.any():
        return 0.0
    return float(cost[np.ix_(keep, sites)].min(axis=1).max())


class _Radii:
    """What both searches share: the model's cost submatrix, its candidate lists (built on first
    use), and the candidate radii."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.matrix = problem.submatrix()
        self.fixed = problem.fixed_columns
        # no radius below the largest distance from a demand to its nearest allowed candidate
        self.lower = float(self.matrix.min(axis=1, initial=np.inf).max(initial=0.0))
        self._lists: CandidateLists | None = None

    @property
    def lists(self) -> CandidateLists:
        if self._lists is None:
            self._lists = CandidateLists.build(self.matrix)
        return self._lists

    def radius(self, columns: np.ndarray) -> float:
        """Worst cost from a model demand to the nearest of `columns`."""
        return float(self.matrix[:, columns].min(axis=1).max(initial=0.0))

    def levels(self, upper: float) -> np.ndarray:
        """Sorted distinct costs in [lower, upper], with inf appended when `upper` is inf."""
        m = self.matrix
        inside = (m >= self.lower) & (m <= upper) & np.isfinite(m)
        values = np.unique(m[inside])
        return np.append(values, np.inf) if np.isinf(upper) else values

    def single(self) -> np.ndarray:
        """The best single site when p == 1 and none is fixed (exact)."""
        return np.array([int(np.argmin(self.matrix.max(axis=0)))])

    def farthest_first(self, start: np.ndarray) -> np.ndarray:
        """Add to `start` (or to the best single site) the candidate nearest to the demand farthest
        from the sites so far, until there are p (Gonzalez-style)."""
        p = self.problem.p
        if len(start) >= p:
            return np.asarray(start, dtype=np.int64)
        sites = [int(j) for j in (start if len(start) else self.single())]
        nearest = self.matrix[:, sites].min(axis=1)
        is_open = np.zeros(self.matrix.shape[1], dtype=bool)
        is_open[sites] = True
        while len(sites) < p:
            far = int(np.argmax(nearest))
            closed = np.flatnonzero(~is_open)
            j = int(closed[np.argmin(self.matrix[far, closed])])
            sites.append(j)
            is_open[j] = True
            np.minimum(nearest, self.matrix[:, j], out=nearest)
        return np.asarray(sites, dtype=np.int64)

    def solution(self, columns: np.ndarray, bound: float | None, optimal: bool) -> Solution:
        """The Solution for `columns` padded to p sites, objective on the original cost."""
        columns = self.farthest_first(np.asarray(columns, dtype=np.int64))
        sites = self.problem.sites(columns)
        objective = pcenter_objective(self.problem.cost, sites, self.problem.weights)
        if self.problem.unreachable:  # every choice leaves a demand unreached
            bound, optimal = np.inf, True
        elif bound is not None:
            bound = min(float(bound), objective)
        return Solution(sites=sites, objective=objective, bound=bound, optimal=optimal)

    def greedy_cover(self, cover: np.ndarray) -> tuple[np.ndarray, bool]:
        """Fixed sites, then the candidate covering most uncovered demands, until all are covered
        or there are p sites: (sites, covers all)."""
        p = self.problem.p
        uncovered = ~cover[:, self.fixed].any(axis=1)
        counts = cover[uncovered].sum(axis=0, dtype=np.int64)
        sites = [int(j) for j in self.fixed]
        counts[self.fixed] = -1
        while uncovered.any() and len(sites) < p:
            j = int(np.argmax(counts))
            if counts[j] <= 0:
                break
            sites.append(j)
            newly = uncovered & cover[:, j]
            uncovered &= ~newly
            counts -= cover[newly].sum(axis=0, dtype=np.int64)
            counts[j] = -1
        return np.asarray(sites, dtype=np.int64), not uncovered.any()

    def heuristic_cover(
        self, r: float, deadline: float | None = None, start: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Sites (at most p) covering every demand within r, found by a greedy cover and, if that
        needs more than p, swaps minimising the number of uncovered demands, from `start` (sites,
        fixed first, e.g. a cover at a larger radius) or else from the greedy sites; None if not
        found."""
        cover = self.matrix <= r
        sites, ok = self.greedy_cover(cover)
        if ok:
            return sites
        p = self.problem.p
        if p < 2 or not cover.any(axis=1).all():
            return None
        sites = self.farthest_first(sites if start is None else start)
        # 0/1 costs: a demand costs 1 when no site covers it; lists keep the cost order. When the
        # swaps stall, the uncovered demands weigh more (breakout) and the swaps go on.
        missing = ~cover  # a covering candidate's class starts at 0, the others' after them
        first = np.multiply(missing, cover.sum(axis=1)[:, None], dtype=self.lists.order.dtype)
        lists = self.lists.with_costs((self.lists.ordered_cost > r).astype(np.float64), first)
        weights = np.ones(len(cover))
        search = SwapSearch(missing.astype(np.float32), weights, lists, sites, len(self.fixed))
        for _ in range(BREAKOUTS):
            search.descend(deadline)
            uncovered = np.flatnonzero(search.d1 > 0)
            if not len(uncovered):
                return search.sites
            if deadline is not None and time.perf_counter() >= deadline:
                break
            search.reweight(uncovered, search.w[uncovered] + 1.0)
        return None


def _search(
    levels: np.ndarray,
    hi_columns: np.ndarray,
    decide: Callable[[float], tuple[np.ndarray | None, bool]],
    deadline: float | None,
    gallop: bool,
) -> tuple[np.ndarray, int, int]:
    """Smallest feasible level: levels[-1] is feasible with `hi_columns`; `decide(r)` returns
    (columns or None, proven): columns when r is feasible, `proven` whether a None proves it is
    not. With `gallop`, first steps down from the top by 1, 2, 4, ... levels until a radius fails,
    then bisects (good when the top is near the answer). Returns (columns, index of their level,
    smallest index not proven infeasible)."""
    lo, hi, proven_lo = 0, len(levels) - 1, 0
    best, step = hi_columns, 1

    def test(index: int) -> bool:
        nonlocal lo, hi, proven_lo, best
        columns, proven = decide(float(levels[index]))
        if columns is not None:
            hi, best = index, columns
            return True
        lo = index + 1
        if proven:  # a smaller radius cannot be feasible either
            proven_lo = max(proven_lo, index + 1)
        return False

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() >= deadline

    while gallop and lo < hi and not out_of_time() and test(max(lo, hi - step)):
        step *= 2
    while lo < hi and not out_of_time():
        test((lo + hi) // 2)
    return best, hi, proven_lo


def pcenter(
    cost: np.ndarray,
    p: int,
    *,
    fixed: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    seed: int = 0,
    time_limit_s: float | None = None,
    weights: np.ndarray | None = None,
) -> Solution:
    """Heuristic p-center: `p` sites (fixed ones included) among the allowed candidates,
    minimising max_i min_{j in sites} c_ij over the demands (those with weight > 0 when `weights`
    is given), in cost units.

    The radius runs over the sorted distinct costs between a lower bound (the largest
    nearest-candidate cost) and a farthest-first solution's radius: first a bisection where a
    radius counts as feasible when a greedy set cover needs at most p sites, then a search down
    from the radius found (steps of 1, 2, 4, ... levels, then bisection) where a radius is tested
    by the greedy cover and, if that needs more than p sites, swap local search (`geo.swap`
    on 0/1 costs) minimising the weighted number of uncovered demands; when the swaps stall
    the demands left uncovered weigh one more (breakout), for up to `BREAKOUTS` rounds. Stops at
    `time_limit_s` seconds with the best radius so far. `seed` is accepted for a uniform
    interface; the search is deterministic. Returns bound=None, optimal=False.
    """
    problem = check_problem(cost, weights, p, fixed, allowed, time_limit_s)
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    del seed
    trivial = trivial_columns(problem)
    radii = _Radii(problem)
    if trivial is not None:
        return radii.solution(trivial, None, False)
    if problem.p == 1:
        return radii.solution(radii.single(), None, False)
    columns = radii.farthest_first(radii.fixed)
    levels = radii.levels(radii.radius(columns))

    def greedy(r: float) -> tuple[np.ndarray | None, bool]:
        sites, ok = radii.greedy_cover(radii.matrix <= r)
        return (sites if ok else None), False

    # a quick upper radius by greedy covers alone, then the swap search down from it, each radius
    # starting from the cover found at the last (larger) feasible radius
    columns, top, _ = _search(levels, columns, greedy, deadline, gallop=False)
    last = [columns]

    def swaps(r: float) -> tuple[np.ndarray | None, bool]:
        sites = radii.heuristic_cover(r, deadline, last[0])
        if sites is not None:
            last[0] = sites
        return sites, False

    best, _, _ = _search(levels[: top + 1], columns, swaps, deadline, gallop=True)
    return radii.solution(best, None, False)


def pcenter_exact(
    cost: np.ndarray,
    p: int,
    *,
    fixed: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    time_limit_s: float | None = None,
    weights: np.ndarray | None = None,
) -> Solution:
    """Exact p-center: bisection over the distinct costs between the lower bound (largest
    nearest-candidate cost) and the heuristic's radius; at each radius r HiGHS solves the set
    cover  min sum_j y_j  s.t.  sum_{j: c_ij <= r} y_j >= 1 for every demand, y binary (1 for fixed
    sites); r is feasible when the minimum is <= p. The answer is the smallest feasible r.

    `bound` is the smallest radius not proven infeasible; `optimal` is True when it equals the
    objective. With `time_limit_s` (seconds, shared by the heuristic and the MILPs) an undecided
    radius leaves the search unproven (optimal False). If some demand reaches no allowed
    candidate every objective is inf (objective and bound inf).
    """
    problem = check_problem(cost, weights, p, fixed, allowed, time_limit_s)
    start = time.perf_counter()
    deadline = None if time_limit_s is None else start + time_limit_s
    trivial = trivial_columns(problem)
    radii = _Radii(problem)
    if trivial is not None:
        solution = radii.solution(trivial, None, True)
        return Solution(solution.sites, solution.objective, solution.objective, True)
    if problem.p == 1:
        solution = radii.solution(radii.single(), None, True)
        return Solution(solution.sites, solution.objective, solution.objective, True)
    guess = pcenter(cost, p, fixed=fixed, allowed=allowed, weights=weights, time_limit_s=time_limit_s)
    columns = np.searchsorted(problem.candidates, guess.sites)
    levels = radii.levels(radii.radius(columns))

    def decide(r: float) -> tuple[np.ndarray | None, bool]:
        remaining = None if deadline is None else max(deadline - time.perf_counter(), 1e-3)
        return _min_cover(radii, r, remaining)

    best, hi, proven_lo = _search(levels, columns, decide, deadline, gallop=True)
    bound = float(levels[proven_lo]) if proven_lo < len(levels) else np.inf
    return radii.solution(best, bound, proven_lo == hi)


def _min_cover(radii: _Radii, r: float, time_limit_s: float | None) -> tuple[np.ndarray | None, bool]:
    """Minimum set cover within r by HiGHS: (columns if it needs <= p sites, else None; proven)."""
    problem = radii.problem
    cover = radii.matrix <= r
    m = cover.shape[1]
    if len(radii.fixed):
        cover = cover[~cover[:, radii.fixed].any(axis=1)]  # rows the fixed sites cover are met
    if not cover.any(axis=1).all():
        return None, True
    n = len(cover)
    col_lower = np.zeros(m)
    col_lower[radii.fixed] = 1.0
    result = solve_milp(
        np.ones(m),
        csr_matrix(cover.astype(np.float64)),
        np.ones(n),
        np.full(n, np.inf),
        col_lower=col_lower,
        col_upper=np.ones(m),
        integer=np.ones(m, dtype=bool),
        time_limit_s=time_limit_s,
    )
    p = problem.p
    if result.x is not None and result.objective is not None and result.objective <= p + 0.5:
        return np.flatnonzero(result.x > 0.5), True
    proven = result.optimal or (result.bound is not None and result.bound > p + 1e-6)
    return None, proven
