"""p-median: open p sites so that the demand-weighted cost to each demand's nearest site is least.

`pmedian` is the fast heuristic: greedy construction, swap local search (`geo.swap.SwapSearch`),
restarts from randomised greedy solutions and path relinking among an elite pool (Resende &
Werneck 2004). `pmedian_exact` solves the strong formulation with HiGHS. Both take a dense
(demands x candidates) cost matrix in km or minutes, where ``np.inf`` marks unreachable pairs;
above `geo.swap.LIST_ABOVE` candidates the heuristic keeps only each demand's `geo.swap.LIST_K`
nearest candidates and falls back to the dense row when a list runs out. Arguments are checked by
`geo.request.check_inputs`, which raises `PlacementError`.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.sparse import coo_matrix

from geo.errors import PlacementError
from geo.milp import solve_milp
from geo.solution import Solution
from geo.swap import (
    CandidateLists,
    Problem,
    SwapSearch,
    check_problem,
    chunks,
    trivial_columns,
)

# --------------------------------------------------------------------------------------------
# Objective


def pmedian_objective(cost: np.ndarray, weights: np.ndarray, sites: np.ndarray) -> float:
    """sum_i w_i min_{j in sites} c_ij over the demands with w_i > 0 (cost units x weight units);
    inf when one of them reaches no site, and with no sites (every cost infinite)."""
    sites = np.asarray(sites, dtype=np.int64)
    if len(sites) == 0:
        return np.inf
    weights = np.asarray(weights, dtype=np.float64)
    keep = weights > 0
    if not keep.any():
        return 0.0
    nearest = np.asarray(cost, dtype=np.float64)[np.ix_(keep, sites)].min(axis=1)
    return float(weights[keep] @ nearest)


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
    for part in chunks(len(dense), m):
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
            for part in chunks(len(dense), m):
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
    problem = check_problem(cost, weights, p, fixed, allowed, time_limit_s)
    if starts is not None and (isinstance(starts, bool) or not isinstance(starts, int) or starts < 1):
        raise PlacementError(f"starts must be an integer >= 1 (got {starts!r})")
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    trivial = trivial_columns(problem)
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
    trivial = trivial_columns(problem)
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
    problem = check_problem(cost, weights, len(sites), fixed, allowed)
    if not np.isin(sites, problem.candidates).all():
        raise PlacementError("sites must be allowed candidates")
    if not np.isin(problem.fixed, sites).all():
        raise PlacementError("sites must include every fixed site")
    trivial = trivial_columns(problem)
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
    problem = check_problem(cost, weights, p, fixed, allowed, time_limit_s)
    trivial = trivial_columns(problem)
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
