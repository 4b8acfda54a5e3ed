"""p-center: hand-checked instances, brute force on small random ones, OR-Library pmed1 (bad
arguments: test_placement_request.py)."""

from __future__ import annotations

import itertools

import numpy as np
import orlib
import pytest
from hypothesis import HealthCheck, given, settings
from instances import small_instances

from geo.pcenter import pcenter, pcenter_exact, pcenter_objective

SOLVERS = [pcenter, pcenter_exact]


def line(positions) -> np.ndarray:
    x = np.asarray(positions, dtype=float)
    return np.abs(x[:, None] - x[None, :])


def brute_force(cost, p, fixed=(), allowed=None, weights=None) -> float:
    m = cost.shape[1]
    candidates = [j for j in range(m) if allowed is None or allowed[j]]
    free = [j for j in candidates if j not in fixed]
    return min(
        pcenter_objective(cost, list(fixed) + list(extra), weights)
        for extra in itertools.combinations(free, p - len(fixed))
    )


# --- hand-checked -----------------------------------------------------------------------------


@pytest.mark.parametrize("solve", SOLVERS)
def test_one_center_of_a_line_is_its_middle(solve):
    solution = solve(line(range(11)), 1)
    assert solution.sites.tolist() == [5] and solution.objective == 5.0


@pytest.mark.parametrize("solve", SOLVERS)
def test_two_centers_split_the_line(solve):
    # 0..11: sites at 2 or 3 and 8 or 9 leave nobody further than 3 (4 would be needed by one site)
    solution = solve(line(range(12)), 2)
    assert solution.objective == 3.0 and len(solution.sites) == 2


def test_exact_is_proven_and_heuristic_is_not():
    exact = pcenter_exact(line(range(12)), 2)
    assert exact.optimal and exact.bound == exact.objective == 3.0
    heuristic = pcenter(line(range(12)), 2)
    assert heuristic.bound is None and not heuristic.optimal


@pytest.mark.parametrize("solve", SOLVERS)
def test_center_ignores_weights_but_not_zero_weight(solve):
    # a far village (at 100) with weight 0 does not count; with weight 1 it does
    cost = line([0, 1, 2, 100])
    assert solve(cost, 1, weights=np.array([1.0, 5.0, 1.0, 0.0])).objective == 1.0
    assert solve(cost, 1, weights=np.array([1.0, 5.0, 1.0, 1.0])).objective == 98.0


@pytest.mark.parametrize("solve", SOLVERS)
def test_fixed_and_allowed(solve):
    cost = line(range(12))
    allowed = np.ones(12, bool)
    allowed[[2, 3, 8, 9]] = False
    solution = solve(cost, 2, fixed=np.array([0]), allowed=allowed)
    assert 0 in solution.sites and allowed[solution.sites].all() and len(solution.sites) == 2
    assert solution.objective == brute_force(cost, 2, (0,), allowed)


@pytest.mark.parametrize("solve", SOLVERS)
def test_fewer_sites_needed_than_p_still_returns_p(solve):
    # three coincident demands: one site covers them at 0, but p = 3 sites are returned
    cost = np.array([[0.0, 0, 4, 5], [0, 0, 4, 5], [0, 0, 4, 5]])
    solution = solve(cost, 3)
    assert solution.objective == 0.0 and len(solution.sites) == 3


@pytest.mark.parametrize("solve", SOLVERS)
def test_inf_costs(solve):
    cost = np.full((5, 5), np.inf)
    cost[:3, :3] = line([0, 1, 2])
    cost[3:, 3:] = line([0, 5])
    both = solve(cost, 2)
    assert both.objective == 5.0 and both.sites[0] in (0, 1, 2) and both.sites[1] in (3, 4)
    one = solve(cost, 1)
    assert one.objective == np.inf


def test_exact_inf_objective_has_inf_bound():
    cost = np.array([[0.0, np.inf], [np.inf, 0.0]])
    solution = pcenter_exact(cost, 1)
    assert solution.objective == solution.bound == np.inf and solution.optimal


# --- random small instances against brute force -----------------------------------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances(max_weight=3, optional_weights=True))
def test_heuristic_equals_exact_equals_brute_force(instance):
    cost, weights, p, fixed, allowed = instance
    best = brute_force(cost, p, tuple(fixed.tolist()), allowed, weights)
    for solve in SOLVERS:
        solution = solve(cost, p, fixed=fixed, allowed=allowed, weights=weights)
        sites = solution.sites
        assert len(sites) == p and np.all(np.diff(sites) > 0) and sites.dtype == np.int64
        assert set(fixed.tolist()) <= set(sites.tolist()) and allowed[sites].all()
        assert solution.objective == best == pcenter_objective(cost, sites, weights)
    exact = pcenter_exact(cost, p, fixed=fixed, allowed=allowed, weights=weights)
    assert exact.optimal and exact.bound == best


def test_time_limited_exact_is_not_claimed_optimal_unless_proven():
    rng = np.random.default_rng(0)
    xy = rng.random((250, 2))
    cost = np.round(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 1000)
    solution = pcenter_exact(cost, 12, time_limit_s=0.05)
    assert len(solution.sites) == 12
    assert solution.bound <= solution.objective
    assert solution.optimal == (solution.bound == solution.objective)


# --- OR-Library pmed1 -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pmed1():
    return orlib.load("pmed1")


def test_pmed1_heuristic_within_one_unit(pmed1):
    cost, p = pmed1
    optimum = orlib.pcenter_optimum("pmed1")
    solution = pcenter(cost, p)
    assert len(solution.sites) == p
    assert optimum <= solution.objective <= optimum + 1


def test_pmed1_exact(pmed1):
    cost, p = pmed1
    solution = pcenter_exact(cost, p)
    assert solution.optimal and solution.objective == solution.bound == orlib.pcenter_optimum("pmed1") == 127
