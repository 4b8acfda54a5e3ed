"""Station placement: which villages get a station, year by year.

`solve` is the one entry point: a demand x candidate cost matrix (km or minutes), the demand
weights (population), how many sites, a strategy, and the sites already built. Strategies:

- `population`: largest villages first; `random`: uniformly random (the baseline to beat);
- `quota`: per township (`groups`), at least one each first, the rest in proportion to
  population, largest villages within a township first;
- `shops`: only candidates flagged as existing village shops (`candidates`), largest first;
- `mclp`: maximal covering (population within `radius`), `pmedian`: least population-weighted
  distance, `pcenter`: least worst distance, `lscp`: the fewest sites covering everyone within
  `radius` (p is an output). These four have an exact mode (HiGHS) with an honest bound;
- `viable`: maximal covering among the candidates whose station would make a profit. Which
  those are is the caller's (`viable`, a mask: geo knows no economics; `sim.network.economics`
  computes it from the operators' accounts); fewer sites than asked when too few are viable.

`plan_builds` chains yearly targets so that plans are nested (a village chosen in an earlier year
keeps its station).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from geo.apportion import highest_averages
from geo.errors import PlacementError
from geo.request import Inputs, check_inputs
from geo.solution import Solution

NO_STATION = -1


@dataclass(frozen=True)
class Placement:
    """Chosen `sites` (sorted candidate indices) and how good they are: `objective` in the
    strategy's own terms (weighted cost for `pmedian`, worst cost for `pcenter`, covered weight
    for `mclp`, number of sites for `lscp`, weight at the sites for the ranking strategies);
    `lower_bound` a proven bound on the optimum (an upper bound when maximising), None when
    unknown; `gap` relative to the objective (0 when proven optimal); `runtime_s` seconds."""

    sites: np.ndarray
    objective: float
    lower_bound: float | None
    gap: float | None
    strategy: str
    runtime_s: float
    optimal: bool = False


@dataclass(frozen=True)
class Request(Inputs):
    """A checked placement request (see `solve`): its numbers (`geo.request.Inputs`), whether
    to solve exactly, the random seed and `groups` (the township of each demand point)."""

    exact: bool
    seed: int
    groups: np.ndarray | None

    @property
    def open_candidates(self) -> np.ndarray:
        return np.setdiff1d(np.flatnonzero(self.allowed), self.fixed)


@dataclass(frozen=True)
class Strategy:
    """A placement strategy: `run(request) -> Solution`; what it needs (`needs_cost`: a cost
    matrix; `needs_radius`; `needs_groups`: townships; `needs_candidates`: a candidate layer);
    whether it has an exact mode (HiGHS) and whether its objective is maximised;
    `chooses_count`: the number of sites is its answer (p is not asked for, and ignored);
    `needs_economics`: its new sites must be viable, which the caller knows and says with
    `solve`'s `viable` mask (`sim.network.build` computes it from the operators' economics);
    `evaluate(request, sites)`: its objective for given sites (with no sites: nothing covered,
    every distance infinite), None for the ranking strategies, which run even when there is
    nothing to choose."""

    name: str
    summary: str
    run: Callable[[Request], Solution]
    needs_cost: bool = False
    needs_radius: bool = False
    needs_groups: bool = False
    needs_candidates: bool = False
    has_exact: bool = False
    maximises: bool = False
    chooses_count: bool = False
    needs_economics: bool = False
    evaluate: Callable[[Request, np.ndarray], float] | None = None


def _ranked(r: Request, new: np.ndarray) -> Solution:
    sites = np.concatenate([r.fixed, np.asarray(new, dtype=np.int64)])
    return Solution(sites=sites, objective=float(r.weights[sites].sum()))


def _largest(r: Request) -> Solution:
    """Largest villages first among the allowed; ties to the earlier village."""
    candidates = r.open_candidates
    new = candidates[np.argsort(-r.weights[candidates], kind="stable")[: r.target - len(r.fixed)]]
    return _ranked(r, new)


def _random(r: Request) -> Solution:
    candidates = r.open_candidates
    return _ranked(
        r, np.random.default_rng(r.seed).choice(candidates, size=r.target - len(r.fixed), replace=False)
    )


def _quota_strategy(r: Request) -> Solution:
    return _ranked(
        r, _quota(r.weights, r.open_candidates, r.fixed, r.target - len(r.fixed), np.asarray(r.groups))
    )


# The optimisation algorithms import SciPy and HiGHS; they load when first used, so that the
# command line lists strategies at once.
def _mclp(r: Request) -> Solution:
    from geo.covering import mclp, mclp_exact

    if r.exact:
        return mclp_exact(
            r.matrix,
            r.weights,
            r.target,
            r.within,
            fixed=r.fixed,
            allowed=r.allowed,
            time_limit_s=r.time_limit_s,
        )
    return mclp(
        r.matrix,
        r.weights,
        r.target,
        r.within,
        fixed=r.fixed,
        allowed=r.allowed,
        time_limit_s=r.time_limit_s,
        seed=r.seed,
    )


def _pmedian(r: Request) -> Solution:
    from geo.pmedian import pmedian, pmedian_exact

    if r.exact:
        return pmedian_exact(
            r.matrix, r.weights, r.target, fixed=r.fixed, allowed=r.allowed, time_limit_s=r.time_limit_s
        )
    return pmedian(
        r.matrix,
        r.weights,
        r.target,
        fixed=r.fixed,
        allowed=r.allowed,
        seed=r.seed,
        time_limit_s=r.time_limit_s,
    )


def _pcenter(r: Request) -> Solution:
    from geo.pcenter import pcenter, pcenter_exact

    kw: dict[str, Any] = {
        "fixed": r.fixed,
        "allowed": r.allowed,
        "time_limit_s": r.time_limit_s,
        "weights": r.weights,
    }
    return (
        pcenter_exact(r.matrix, r.target, **kw) if r.exact else pcenter(r.matrix, r.target, seed=r.seed, **kw)
    )


def _lscp(r: Request) -> Solution:
    from geo.covering import lscp

    return lscp(
        r.matrix,
        r.within,
        fixed=r.fixed,
        allowed=r.allowed,
        exact=r.exact,
        time_limit_s=r.time_limit_s,
        weights=r.weights,
    )


def _covered_weight(r: Request, sites: np.ndarray) -> float:
    """Residents within the radius of one of `sites`."""
    from geo.covering import covered_weight

    return covered_weight(r.matrix, r.weights, r.within, sites)


def _weighted_cost(r: Request, sites: np.ndarray) -> float:
    """Residents x km (or minutes) to the nearest of `sites`."""
    from geo.pmedian import pmedian_objective

    return pmedian_objective(r.matrix, r.weights, sites)


def _worst_cost(r: Request, sites: np.ndarray) -> float:
    """The most km (or minutes) from a village with residents to the nearest of `sites`."""
    from geo.pcenter import pcenter_objective

    return pcenter_objective(r.matrix, sites, r.weights)


#: Every placement strategy, in the order the command line lists them. Add one here.
STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("population", "largest villages first", _largest, maximises=True),
        Strategy("random", "uniformly at random (the baseline to beat)", _random, maximises=True),
        Strategy(
            "quota",
            "one per township first, the rest by township population",
            _quota_strategy,
            needs_groups=True,
            maximises=True,
        ),
        Strategy(
            "shops",
            "largest villages among the candidate shops",
            _largest,
            needs_candidates=True,
            maximises=True,
        ),
        Strategy(
            "mclp",
            "maximal covering: most residents within the radius",
            _mclp,
            needs_cost=True,
            needs_radius=True,
            has_exact=True,
            maximises=True,
            evaluate=_covered_weight,
        ),
        Strategy(
            "pmedian",
            "least population-weighted distance",
            _pmedian,
            needs_cost=True,
            has_exact=True,
            evaluate=_weighted_cost,
        ),
        Strategy(
            "pcenter", "least worst distance", _pcenter, needs_cost=True, has_exact=True, evaluate=_worst_cost
        ),
        Strategy(
            "lscp",
            "fewest stations covering everyone within the radius (the number is the answer)",
            _lscp,
            needs_cost=True,
            needs_radius=True,
            has_exact=True,
            chooses_count=True,
        ),
        Strategy(
            "viable",
            "maximal covering among the villages whose station would make a profit after its subsidies",
            _mclp,
            needs_cost=True,
            needs_radius=True,
            has_exact=True,
            maximises=True,
            needs_economics=True,
            evaluate=_covered_weight,
        ),
    )
}


def solve(
    cost: np.ndarray | None,
    weights: np.ndarray,
    p: int | None,
    strategy: str,
    *,
    radius: float | None = None,
    fixed: np.ndarray | tuple[int, ...] = (),
    candidates: np.ndarray | None = None,
    exact: bool = False,
    time_limit_s: float | None = None,
    seed: int = 0,
    groups: np.ndarray | None = None,
    viable: np.ndarray | None = None,
) -> Placement:
    """Place `p` sites (fixed ones included; ignored by a strategy that `chooses_count`, `lscp`)
    with `strategy`.

    `cost` (n_demand, n_candidates), needed by the optimisation strategies; the ranking ones
    treat demand point i as candidate i. `candidates` is a bool mask of allowed candidates.
    `viable` (a strategy that `needs_economics` only): a bool mask of the candidates whose new
    site would make a profit; new sites are chosen among them (the fixed sites stay, viable or
    not), and when fewer than `p` fit, the fixed sites and every viable allowed candidate are
    the answer (fewer than `p`). None: every candidate counts as viable (geo knows no
    economics; without the mask `viable` is `mclp`).
    Raises `PlacementError` with a clear message for impossible requests.
    """
    start = time.perf_counter()
    chosen, request = check_request(
        strategy,
        cost,
        weights,
        p,
        radius=radius,
        fixed=fixed,
        candidates=candidates,
        exact=exact,
        time_limit_s=time_limit_s,
        seed=seed,
        groups=groups,
        viable=viable,
    )
    if chosen.evaluate is not None and not chosen.chooses_count and request.p == len(request.fixed):
        # nothing to choose: the fixed sites and their objective (no sites: proven optimal)
        solution = Solution(
            request.fixed, chosen.evaluate(request, request.fixed), optimal=not len(request.fixed)
        )
    else:
        solution = chosen.run(request)
    gap = None
    if solution.optimal:
        gap = 0.0
    elif solution.bound is not None and np.isfinite(solution.bound) and solution.objective:
        gap = abs(solution.objective - solution.bound) / abs(solution.objective)
    return Placement(
        sites=np.sort(solution.sites.astype(np.int64)),
        objective=float(solution.objective),
        lower_bound=solution.bound,
        gap=gap,
        strategy=strategy,
        runtime_s=time.perf_counter() - start,
        optimal=solution.optimal,
    )


def check_request(
    strategy: str,
    cost: np.ndarray | None,
    weights: np.ndarray,
    p: int | None,
    *,
    radius: float | None = None,
    fixed: np.ndarray | tuple[int, ...] = (),
    candidates: np.ndarray | None = None,
    exact: bool = False,
    time_limit_s: float | None = None,
    seed: int = 0,
    groups: np.ndarray | None = None,
    viable: np.ndarray | None = None,
) -> tuple[Strategy, Request]:
    """The one check of a placement request (the arguments of `solve`): the strategy exists and
    has what it needs, and the numbers pass `geo.request.check_inputs`, the check every placement
    algorithm makes. Returns the strategy and the checked request (for a strategy that
    `needs_economics`, its allowed candidates are those also `viable`, the fixed sites kept, and
    p at most their number); raises `PlacementError` with a one-line reason."""
    chosen = STRATEGIES.get(strategy)
    if chosen is None:
        raise PlacementError(f"unknown placement strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if chosen.needs_cost and cost is None:
        raise PlacementError(f"strategy {strategy} needs a cost matrix")
    if exact and not chosen.has_exact:
        with_exact = ", ".join(s.name for s in STRATEGIES.values() if s.has_exact)
        raise PlacementError(f"strategy {strategy} has no exact mode; exact works with {with_exact}")
    if chosen.needs_groups and groups is None:
        raise PlacementError(f"strategy {strategy} needs groups (the township of each village)")
    if viable is not None and not chosen.needs_economics:
        with_economics = ", ".join(s.name for s in STRATEGIES.values() if s.needs_economics)
        raise PlacementError(f"strategy {strategy} takes no viable mask; only {with_economics} does")
    inputs = check_inputs(
        cost,
        weights,
        p,
        fixed=fixed,
        allowed=candidates,
        radius=radius,
        time_limit_s=time_limit_s,
        needs_p=not chosen.chooses_count,
        needs_radius=chosen.needs_radius,
    )
    if not chosen.needs_cost and len(inputs.allowed) != len(inputs.weights):
        raise PlacementError(
            f"strategy {strategy} ranks the demand points: it needs one candidate per demand point "
            f"(got {len(inputs.allowed)} candidates for {len(inputs.weights)} demand points)"
        )
    if chosen.needs_candidates and inputs.allowed.all():
        raise PlacementError(f"strategy {strategy} needs candidate shops (a region `candidates` layer)")
    if viable is not None:
        inputs = _only_viable(inputs, viable)
    return chosen, Request(**vars(inputs), exact=exact, seed=seed, groups=groups)


def _only_viable(inputs: Inputs, viable: np.ndarray) -> Inputs:
    """`inputs` with new sites allowed only where `viable` (the fixed sites stay allowed) and p
    cut to the fixed sites plus the viable allowed candidates when fewer."""
    mask = np.asarray(viable)
    n = len(inputs.allowed)
    if mask.dtype != bool or mask.shape != (n,):
        raise PlacementError(
            f"viable must be a bool mask of shape ({n},), one per candidate (got {mask.dtype} {mask.shape})"
        )
    allowed = inputs.allowed & mask
    allowed[inputs.fixed] = True
    p = inputs.p if inputs.p is None else min(inputs.p, int(allowed.sum()))
    return replace(inputs, allowed=allowed, p=p)


def _quota(
    weights: np.ndarray, open_candidates: np.ndarray, fixed: np.ndarray, count: int, groups: np.ndarray
):
    """New sites per group: one for each group without a station first (most populous groups
    first), then by D'Hondt on group population, never more than a group's open candidates;
    within a group the largest villages."""
    labels, group = np.unique(groups, return_inverse=True)
    size = np.bincount(group[open_candidates], minlength=len(labels))
    population = np.bincount(group, weights=weights, minlength=len(labels))
    have = np.bincount(group[fixed], minlength=len(labels))
    take = np.zeros(len(labels), dtype=np.int64)
    first = np.flatnonzero((have == 0) & (size > 0))
    first = first[np.argsort(-population[first], kind="stable")][:count]
    take[first] = 1
    left = count - len(first)
    while left > 0 and (take < size).any():  # D'Hondt seat by seat, over a few hundred townships
        quotient = np.where(take < size, population / (have + take + 1), -1.0)
        take[int(np.argmax(quotient))] += 1
        left -= 1
    chosen = []
    for g in np.flatnonzero(take):
        mine = open_candidates[group[open_candidates] == g]
        chosen.append(mine[np.argsort(-weights[mine], kind="stable")[: take[g]]])
    return np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class BuildPlan:
    """`year_built` (n,) is the year each village's station opens, or `NO_STATION`."""

    year_built: np.ndarray
    years: tuple[int, ...]

    def sites(self, year: int) -> np.ndarray:
        """Indices of the villages with a station in `year` (sorted)."""
        return np.flatnonzero((self.year_built != NO_STATION) & (self.year_built <= year))


def plan_builds(
    targets: dict[int, int],
    strategy: str,
    *,
    weights: np.ndarray,
    cost: np.ndarray | None = None,
    radius: float | None = None,
    candidates: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    seed: int = 0,
    viable: Mapping[int, np.ndarray] | None = None,
) -> tuple[BuildPlan, list[Placement]]:
    """Cumulative `targets` {year: stations} built year by year, each year keeping the last's
    sites. For a strategy that `chooses_count` (`lscp`) the count is its own answer (the targets'
    years are kept). `viable` {year: mask} (a strategy that `needs_economics`): the candidates
    whose station, built that year, would make a profit (see `solve`); a year with too few
    places fewer stations and a later year may catch up (its target counts the stations in all)."""
    year_built = np.full(len(weights), NO_STATION, dtype=np.int64)
    sites = np.empty(0, dtype=np.int64)
    placements = []
    for k, year in enumerate(sorted(targets)):
        placed = solve(
            cost,
            weights,
            targets[year],
            strategy,
            radius=radius,
            fixed=sites,
            candidates=candidates,
            seed=seed + k,
            groups=groups,
            viable=None if viable is None else viable[year],
        )
        year_built[np.setdiff1d(placed.sites, sites)] = year
        sites = placed.sites
        placements.append(placed)
    return BuildPlan(year_built=year_built, years=tuple(sorted(targets))), placements


def community_counts(township_population: np.ndarray, count: int) -> np.ndarray:
    """Community stations per township seat, in proportion to township population (D'Hondt, so
    a larger count never moves an existing station)."""
    return highest_averages(township_population, count)
