"""p-median: hand-checked instances, brute force on small random ones, bad arguments, OR-Library pmed1."""

from __future__ import annotations

import itertools

import numpy as np
import orlib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from instances import small_instances

from geo import swap
from geo.errors import PlacementError
from geo.pmedian import pmedian, pmedian_exact, pmedian_greedy, pmedian_objective, pmedian_swap

SOLVERS = [pmedian, pmedian_exact]


def line(positions) -> np.ndarray:
    """Cost matrix of points on a line (every point a demand and a candidate)."""
    x = np.asarray(positions, dtype=float)
    return np.abs(x[:, None] - x[None, :])


def brute_force(cost, weights, p, fixed=(), allowed=None) -> float:
    """The least objective over every allowed p-subset holding the fixed sites."""
    m = cost.shape[1]
    candidates = [j for j in range(m) if allowed is None or allowed[j]]
    free = [j for j in candidates if j not in fixed]
    best = np.inf
    for extra in itertools.combinations(free, p - len(fixed)):
        best = min(best, pmedian_objective(cost, weights, list(fixed) + list(extra)))
    return best


# --- hand-checked -----------------------------------------------------------------------------


@pytest.mark.parametrize("solve", SOLVERS)
def test_two_clusters_on_a_line_get_their_middles(solve):
    # clusters {0, 1, 2} and {10, 11, 12}: their middles serve each at total cost 1 + 1 + 1 + 1
    solution = solve(line([0, 1, 2, 10, 11, 12]), np.ones(6), 2)
    assert solution.sites.tolist() == [1, 4]
    assert solution.objective == 4.0
    assert solution.sites.dtype == np.int64


def test_exact_reports_a_proven_bound_heuristic_none():
    cost, w = line([0, 1, 2, 10, 11, 12]), np.ones(6)
    exact = pmedian_exact(cost, w, 2)
    assert exact.optimal and exact.bound == exact.objective == 4.0
    heuristic = pmedian(cost, w, 2)
    assert heuristic.bound is None and not heuristic.optimal


@pytest.mark.parametrize("solve", SOLVERS)
def test_weight_pulls_the_site(solve):
    # points 0, 4, 10; a heavy village at 10 draws the single site to it: 1*10 + 1*6 = 16
    solution = solve(line([0, 4, 10]), np.array([1.0, 1.0, 100.0]), 1)
    assert solution.sites.tolist() == [2] and solution.objective == 16.0


@pytest.mark.parametrize("solve", SOLVERS)
def test_fixed_sites_are_kept_and_count_towards_p(solve):
    # fixing the far end 12 leaves one free site, best at 1 (cost 1 + 0 + 1 + 2 + 1 + 0 = 5)
    solution = solve(line([0, 1, 2, 10, 11, 12]), np.ones(6), 2, fixed=np.array([5]))
    assert solution.sites.tolist() == [1, 5] and solution.objective == 5.0


@pytest.mark.parametrize("solve", SOLVERS)
def test_only_allowed_candidates_are_used(solve):
    allowed = np.array([True, False, True, True, False, True])
    solution = solve(line([0, 1, 2, 10, 11, 12]), np.ones(6), 2, allowed=allowed)
    assert set(solution.sites.tolist()) <= {0, 2, 3, 5}
    assert solution.objective == brute_force(line([0, 1, 2, 10, 11, 12]), np.ones(6), 2, allowed=allowed)


@pytest.mark.parametrize("solve", SOLVERS)
def test_rectangular_costs_and_zero_weight_demands(solve):
    # 3 demands x 2 candidates; the zero-weight demand may be unreachable without harm
    cost = np.array([[1.0, 5.0], [4.0, 2.0], [np.inf, np.inf]])
    solution = solve(cost, np.array([2.0, 1.0, 0.0]), 1)
    assert solution.sites.tolist() == [0] and solution.objective == 6.0


@pytest.mark.parametrize("solve", SOLVERS)
def test_p_equal_to_the_candidates_opens_them_all(solve):
    solution = solve(line([0, 3, 7]), np.ones(3), 3)
    assert solution.sites.tolist() == [0, 1, 2] and solution.objective == 0.0


# --- unreachable pairs (inf) ------------------------------------------------------------------


def two_islands() -> np.ndarray:
    """Two road networks that do not connect: {0, 1, 2} and {3, 4}."""
    cost = np.full((5, 5), np.inf)
    cost[:3, :3] = line([0, 1, 2])
    cost[3:, 3:] = line([0, 5])
    return cost


@pytest.mark.parametrize("solve", SOLVERS)
def test_inf_costs_one_site_per_island(solve):
    weights = np.array([1.0, 1.0, 1.0, 3.0, 1.0])
    solution = solve(two_islands(), weights, 2)
    assert solution.sites.tolist() == [1, 3] and solution.objective == 1 + 1 + 5.0


@pytest.mark.parametrize("solve", SOLVERS)
def test_inf_costs_too_few_sites_give_inf(solve):
    solution = solve(two_islands(), np.ones(5), 1)
    assert solution.objective == np.inf and len(solution.sites) == 1


def test_exact_inf_objective_has_inf_bound():
    solution = pmedian_exact(two_islands(), np.ones(5), 1)
    assert solution.optimal and solution.bound == np.inf


@pytest.mark.parametrize("solve", SOLVERS)
def test_demand_reaching_no_allowed_candidate_makes_inf(solve):
    allowed = np.array([True, True, True, False, False])
    solution = solve(two_islands(), np.ones(5), 2, allowed=allowed)
    assert solution.objective == np.inf
    assert set(solution.sites.tolist()) <= {0, 1, 2}


def test_heuristic_reaches_every_demand_when_it_can():
    # a 30-village region split into 3 islands: 3 sites must take one island each
    rng = np.random.default_rng(5)
    x = rng.random(30) * 10
    island = np.repeat([0, 1, 2], 10)
    cost = np.where(island[:, None] == island[None, :], np.abs(x[:, None] - x[None, :]), np.inf)
    solution = pmedian(cost, rng.integers(1, 100, 30).astype(float), 3)
    assert np.isfinite(solution.objective)
    assert sorted(island[solution.sites].tolist()) == [0, 1, 2]


# --- random small instances against brute force -----------------------------------------------


def check_shape(solution, p, fixed, allowed):
    sites = solution.sites
    assert len(sites) == p and len(set(sites.tolist())) == p
    assert np.all(np.diff(sites) > 0)
    assert set(fixed.tolist()) <= set(sites.tolist())
    assert allowed[sites].all()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances())
def test_heuristic_equals_exact_equals_brute_force(instance):
    cost, weights, p, fixed, allowed = instance
    best = brute_force(cost, weights, p, tuple(fixed.tolist()), allowed)
    heuristic = pmedian(cost, weights, p, fixed=fixed, allowed=allowed)
    exact = pmedian_exact(cost, weights, p, fixed=fixed, allowed=allowed)
    for solution in (heuristic, exact):
        check_shape(solution, p, fixed, allowed)
        assert solution.objective == pytest.approx(best, rel=1e-12)
        assert solution.objective == pmedian_objective(cost, weights, solution.sites)
    assert exact.optimal
    assert exact.bound == pytest.approx(best, rel=1e-9) or (exact.bound == np.inf and best == np.inf)


@settings(max_examples=60, deadline=None)
@given(small_instances(), st.integers(0, 2**32 - 1))
def test_swaps_never_worsen_their_start(instance, seed):
    cost, weights, p, fixed, allowed = instance
    greedy = pmedian_greedy(cost, weights, p, fixed=fixed, allowed=allowed)
    check_shape(greedy, p, fixed, allowed)
    swapped = pmedian_swap(cost, weights, greedy.sites, fixed=fixed, allowed=allowed)
    check_shape(swapped, p, fixed, allowed)
    assert swapped.objective <= greedy.objective
    # from a random start too
    rng = np.random.default_rng(seed)
    free = np.setdiff1d(np.flatnonzero(allowed), fixed)
    start = np.concatenate([fixed, rng.choice(free, p - len(fixed), replace=False)])
    before = pmedian_objective(cost, weights, start)
    after = pmedian_swap(cost, weights, start, fixed=fixed, allowed=allowed)
    check_shape(after, p, fixed, allowed)
    assert after.objective <= before
    assert pmedian(cost, weights, p, fixed=fixed, allowed=allowed, starts=1).objective <= greedy.objective


def test_swap_bookkeeping_matches_a_rebuild():
    """After swaps, the incremental gain / loss / extra equal those built from scratch, and the
    best move's profit is the real change of objective (complete and 3-nearest lists)."""
    rng = np.random.default_rng(3)
    matrix = rng.integers(0, 40, (50, 30)).astype(float)
    w = rng.integers(1, 6, 50).astype(float)
    for k in (None, 3):
        lists = swap.CandidateLists.build(matrix, k)
        search = swap.SwapSearch(matrix, w.copy(), lists, rng.choice(30, 6, replace=False), 1)
        for _ in range(10):
            search.swap(int(rng.choice(np.flatnonzero(~search.is_open))), int(rng.integers(1, 6)))
            fresh = swap.SwapSearch(matrix, w.copy(), lists, search.sites, 1)
            for name in ("d1", "d2", "gain", "loss", "extra"):
                assert np.allclose(getattr(search, name), getattr(fresh, name)), name
            new, slot, profit = search.best_move()
            after = search.sites.copy()
            after[slot] = new
            assert profit == pytest.approx(search.objective - w @ matrix[:, after].min(axis=1))
            profits = [  # every swap of a closed candidate for a movable slot: none is better
                search.objective - w @ matrix[:, np.where(np.arange(6) == r, i, search.sites)].min(axis=1)
                for i in np.flatnonzero(~search.is_open)
                for r in range(1, 6)
            ]
            assert profit == pytest.approx(max(profits))


def test_k_nearest_lists_give_the_same_answer(monkeypatch):
    """Above LIST_ABOVE candidates each demand keeps only its LIST_K nearest; demands whose list
    runs out fall back to the dense matrix, so the search is unchanged."""
    rng = np.random.default_rng(11)
    xy = rng.random((120, 2)) * 50
    cost = np.round(np.hypot(*(xy[:, None, :] - xy[None, :80, :]).transpose(2, 0, 1)))
    weights = rng.integers(1, 50, 120).astype(float)
    complete = pmedian(cost, weights, 6, fixed=np.array([3]), starts=3)
    monkeypatch.setattr(swap, "LIST_ABOVE", 10)
    monkeypatch.setattr(swap, "LIST_K", 4)
    listed = pmedian(cost, weights, 6, fixed=np.array([3]), starts=3)
    assert listed.sites.tolist() == complete.sites.tolist()
    assert listed.objective == complete.objective


def test_same_seed_same_answer():
    rng = np.random.default_rng(1)
    cost = rng.random((60, 60)) * 100
    weights = rng.random(60)
    a, b = pmedian(cost, weights, 7, seed=4), pmedian(cost, weights, 7, seed=4)
    assert a.sites.tolist() == b.sites.tolist() and a.objective == b.objective


def test_time_limited_exact_is_not_claimed_optimal():
    rng = np.random.default_rng(2)
    xy = rng.random((150, 2))
    cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    solution = pmedian_exact(cost, rng.random(150), 8, time_limit_s=0.05)
    assert not solution.optimal
    assert len(solution.sites) == 8
    assert solution.bound is None or solution.bound <= solution.objective


# --- bad arguments (the rules every solver shares: test_placement_request.py) -----------------


def test_bad_starts_and_sites():
    cost, w = np.ones((3, 4)), np.ones(3)
    with pytest.raises(PlacementError, match=r"^starts must be an integer >= 1 \(got 0\)$"):
        pmedian(cost, w, 2, starts=0)
    with pytest.raises(PlacementError, match=r"^sites must include every fixed site$"):
        pmedian_swap(cost, w, np.array([1, 2]), fixed=np.array([0]))
    with pytest.raises(PlacementError, match=r"^sites must be allowed candidates$"):
        pmedian_swap(cost, w, np.array([1, 9]))


# --- OR-Library pmed1 -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pmed1():
    return orlib.load("pmed1")


def test_pmed1_cost_matrix_follows_the_last_duplicate_edge(pmed1):
    cost, p = pmed1
    assert cost.shape == (100, 100) and p == 5
    assert np.isfinite(cost).all() and (cost == cost.T).all() and (np.diag(cost) == 0).all()


def test_pmed1_heuristic_within_half_a_percent(pmed1):
    cost, p = pmed1
    optimum = orlib.published_optimum("pmed1")
    solution = pmedian(cost, np.ones(100), p)
    assert len(solution.sites) == 5
    assert optimum <= solution.objective <= optimum * 1.005


def test_pmed1_exact_is_the_published_optimum(pmed1):
    cost, p = pmed1
    solution = pmedian_exact(cost, np.ones(100), p)
    assert solution.optimal
    assert solution.objective == solution.bound == orlib.published_optimum("pmed1") == 5819
