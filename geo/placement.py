"""Station placement: which villages get a station, year by year.

Strategies plug in behind one interface (`Strategy`): given the problem, how many sites are
wanted and which are already built, return the new sites in build order. `place` checks the
request and keeps built sites; `plan_builds` chains years so that plans are nested (a village
chosen in an earlier year keeps its station).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from geo.apportion import highest_averages
from geo.errors import RuralsimError

NO_STATION = -1


class PlacementError(RuralsimError):
    """A placement request that cannot be met (more sites than allowed candidates, ...)."""


@dataclass(frozen=True)
class PlacementProblem:
    """Candidate sites are the villages. `weights` (n,) is the demand (residents) per village;
    `allowed` (n,) bool marks the villages that may host a station (all when None)."""

    weights: np.ndarray
    allowed: np.ndarray | None = None

    @property
    def candidates(self) -> np.ndarray:
        """Indices of the villages that may host a station."""
        if self.allowed is None:
            return np.arange(len(self.weights))
        return np.flatnonzero(self.allowed)


class Strategy(Protocol):
    """Choose `count` new sites among `open_candidates` (allowed, not yet built), best first."""

    def __call__(
        self,
        problem: PlacementProblem,
        open_candidates: np.ndarray,
        count: int,
        rng: np.random.Generator,
    ) -> np.ndarray: ...


def by_population(
    problem: PlacementProblem, open_candidates: np.ndarray, count: int, rng: np.random.Generator
) -> np.ndarray:
    """Largest villages first; ties go to the earlier village."""
    order = np.argsort(-problem.weights[open_candidates], kind="stable")
    return open_candidates[order[:count]]


def at_random(
    problem: PlacementProblem, open_candidates: np.ndarray, count: int, rng: np.random.Generator
) -> np.ndarray:
    """Uniformly random villages (the baseline any strategy should beat)."""
    return rng.choice(open_candidates, size=count, replace=False)


STRATEGIES: dict[str, Strategy] = {"population": by_population, "random": at_random}


def place(
    problem: PlacementProblem,
    target: int,
    strategy: str,
    *,
    fixed: np.ndarray | None = None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sorted indices of `target` sites: every `fixed` site plus new ones chosen by `strategy`."""
    fixed = np.unique(np.asarray([] if fixed is None else fixed, dtype=np.int64))
    candidates = problem.candidates
    if strategy not in STRATEGIES:
        raise PlacementError(f"unknown placement strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if target < len(fixed):
        raise PlacementError(f"target {target} is below the {len(fixed)} stations already built")
    if not np.isin(fixed, candidates).all():
        raise PlacementError("a station already built is not among the allowed candidates")
    if target > len(candidates):
        raise PlacementError(f"target {target} exceeds the {len(candidates)} candidate villages")
    open_candidates = np.setdiff1d(candidates, fixed)
    new = STRATEGIES[strategy](problem, open_candidates, target - len(fixed), rng)
    return np.sort(np.concatenate([fixed, np.asarray(new, dtype=np.int64)]))


@dataclass(frozen=True)
class BuildPlan:
    """`year_built` (n,) is the year each village's station opens, or `NO_STATION`."""

    year_built: np.ndarray
    years: tuple[int, ...]

    def sites(self, year: int) -> np.ndarray:
        """Indices of the villages with a station in `year` (sorted)."""
        return np.flatnonzero((self.year_built != NO_STATION) & (self.year_built <= year))


def plan_builds(
    problem: PlacementProblem, targets: dict[int, int], strategy: str, *, rng: np.random.Generator
) -> BuildPlan:
    """Cumulative `targets` {year: stations} built year by year, each year keeping the last's."""
    year_built = np.full(len(problem.weights), NO_STATION, dtype=np.int64)
    sites = np.empty(0, dtype=np.int64)
    for year in sorted(targets):
        sites_now = place(problem, targets[year], strategy, fixed=sites, rng=rng)
        year_built[np.setdiff1d(sites_now, sites)] = year
        sites = sites_now
    return BuildPlan(year_built=year_built, years=tuple(sorted(targets)))


def community_counts(township_population: np.ndarray, count: int) -> np.ndarray:
    """Community stations per township seat, in proportion to township population (D'Hondt, so
    a larger count never moves an existing station)."""
    return highest_averages(township_population, count)
