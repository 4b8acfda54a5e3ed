"""Covering models (geo/covering.py): hand-checked instances, brute force on random small
instances, argument errors, and a few São José dos Campos cases with proven optima."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import sjc
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import covering
from geo.covering import covered_weight, lscp, mclp, mclp_exact
from geo.errors import PlacementError
from geo.request import check_inputs

# ---------------------------------------------------------------------------------------------
# helpers


def line(n: int) -> np.ndarray:
    """Distances between n points at 0, 1, ..., n-1 km on a line (demand = candidates)."""
    x = np.arange(n, dtype=float)
    return np.abs(x[:, None] - x[None, :])


def grid(k: int) -> np.ndarray:
    """Distances between the k x k points of a unit grid (demand = candidates)."""
    xy = np.array([(i, j) for i in range(k) for j in range(k)], dtype=float)
    return np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))


def check_sites(sol, p: int | None, fixed=(), allowed=None) -> None:
    sites = sol.sites
    assert sites.dtype == np.int64
    assert np.all(np.diff(sites) > 0), "sites must be sorted and unique"
    if p is not None:
        assert len(sites) == p
    assert set(fixed) <= set(sites.tolist())
    if allowed is not None:
        assert allowed[sites].all()


def brute_mclp(cost, weights, p, radius, fixed, allowed) -> float:
    pool = [j for j in np.flatnonzero(allowed) if j not in set(fixed)]
    best = 0.0
    for extra in itertools.combinations(pool, p - len(fixed)):
        best = max(best, covered_weight(cost, weights, radius, np.array([*fixed, *extra], dtype=np.int64)))
    return best


def brute_lscp(cost, radius, fixed, allowed, need) -> int:
    pool = [j for j in np.flatnonzero(allowed) if j not in set(fixed)]
    within = cost <= radius
    for k in range(len(pool) + 1):
        for extra in itertools.combinations(pool, k):
            sites = [*fixed, *extra]
            if within[np.ix_(need, sites)].any(axis=1).all():
                return len(sites)
    raise AssertionError("no cover")


@st.composite
def instances(draw, max_demand: int = 8, max_cand: int = 6):
    """Random small covering instances: integer costs 0..5 with some inf, integer weights."""
    n_d = draw(st.integers(1, max_demand))
    n_c = draw(st.integers(1, max_cand))
    values = st.one_of(st.integers(0, 5).map(float), st.just(np.inf))
    cost = np.array(draw(st.lists(values, min_size=n_d * n_c, max_size=n_d * n_c))).reshape(n_d, n_c)
    weights = np.array(draw(st.lists(st.integers(0, 9), min_size=n_d, max_size=n_d)), dtype=float)
    allowed = np.array(draw(st.lists(st.booleans(), min_size=n_c, max_size=n_c)))
    if not allowed.any():
        allowed[draw(st.integers(0, n_c - 1))] = True
    candidates = np.flatnonzero(allowed).tolist()
    fixed = sorted(draw(st.sets(st.sampled_from(candidates), max_size=len(candidates))))
    radius = float(draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])))
    return cost, weights, allowed, fixed, radius


# ---------------------------------------------------------------------------------------------
# hand-checked instances


def test_line_mclp_and_lscp():
    cost = line(10)  # points 0..9, radius 1: a site covers itself and its two neighbours
    w = np.ones(10)
    for p, want in [(1, 3), (2, 6), (3, 9), (4, 10)]:
        exact = mclp_exact(cost, w, p, 1.0)
        heur = mclp(cost, w, p, 1.0)
        assert exact.objective == want and exact.optimal and exact.bound == want
        assert heur.objective == want
        check_sites(exact, p)
        check_sites(heur, p)
    assert mclp(cost, w, 4, 1.0).optimal  # covers all coverable weight: proven by the bound
    for exact in (False, True):
        sol = lscp(cost, 1.0, exact=exact)
        assert sol.objective == 4 == len(sol.sites)
        assert covered_weight(cost, w, 1.0, sol.sites) == 10


def test_line_weights_pick_the_heavy_end():
    cost = line(7)
    w = np.array([9.0, 9, 0, 0, 1, 2, 8])
    one = mclp(cost, w, 1, 1.0)  # sites 0 and 1 cover 18; site 5 only 11
    assert one.objective == 18 and one.sites.tolist() in ([0], [1])
    two = mclp_exact(cost, w, 2, 1.0)
    assert two.objective == 29 and two.optimal and two.sites.tolist() in ([0, 5], [1, 5])
    # zero-weight points need no cover: one of sites 0, 1 (covers 0, 1) and site 5 (covers 4, 5, 6)
    for exact in (False, True):
        assert lscp(cost, 1.0, weights=w, exact=exact).sites.tolist() in ([0, 5], [1, 5])


def test_grid_3x3():
    cost = grid(3)  # radius 1: a site covers itself and its 4-neighbours
    w = np.ones(9)
    assert [mclp_exact(cost, w, p, 1.0).objective for p in (1, 2, 3)] == [5, 7, 9]
    assert [mclp(cost, w, p, 1.0).objective for p in (1, 2, 3)] == [5, 7, 9]
    assert mclp(cost, w, 1, 1.0).sites.tolist() == [4]  # the centre
    for exact in (False, True):
        assert lscp(cost, 1.0, exact=exact).objective == 3  # domination number of the 3x3 grid
    sol = lscp(cost, 1.0, exact=True)
    assert sol.optimal and sol.bound == 3


def test_grid_5x5_lscp_and_fixed_sites():
    cost = grid(5)
    exact = lscp(cost, 1.0, exact=True)
    assert exact.objective == 7 and exact.optimal  # domination number of the 5x5 grid graph
    heur = lscp(cost, 1.0)
    assert heur.objective >= 7 and heur.bound is not None and heur.bound <= 7
    # a fixed corner site stays, and the cover needs no more than one extra site for it
    fixed = lscp(cost, 1.0, exact=True, fixed=np.array([0]))
    assert 0 in fixed.sites and 7 <= fixed.objective <= 8
    assert (cost[:, fixed.sites] <= 1.0).any(axis=1).all()


def test_infinite_costs_never_cover():
    cost = np.array([[0.0, np.inf], [np.inf, np.inf], [np.inf, 0.5]])
    w = np.array([1.0, 100.0, 2.0])
    sol = mclp_exact(cost, w, 1, 1.0)
    assert sol.sites.tolist() == [1] and sol.objective == 2 and sol.optimal
    heur = mclp(cost, w, 2, 1.0)
    assert heur.objective == 3 and heur.optimal and heur.bound == 3
    with pytest.raises(PlacementError, match=re.escape("1 demand points cannot be reached within radius 1")):
        lscp(cost, 1.0)
    assert lscp(cost, 1.0, weights=np.array([1.0, 0.0, 1.0])).objective == 2


def test_allowed_and_fixed_are_honoured():
    cost = line(6)
    w = np.ones(6)
    allowed = np.array([True, False, True, True, False, True])
    for solve in (mclp, mclp_exact):
        sol = solve(cost, w, 2, 1.0, allowed=allowed, fixed=np.array([5]))
        check_sites(sol, 2, fixed=[5], allowed=allowed)
        assert sol.objective == 5  # 5 covers {4, 5}; 2 covers {1, 2, 3}
    sol = lscp(cost, 1.0, allowed=allowed, fixed=[0])
    check_sites(sol, None, fixed=[0], allowed=allowed)
    assert sol.objective == 3


def test_p_equal_to_fixed_and_zero_weights():
    cost = line(5)
    sol = mclp_exact(cost, np.ones(5), 2, 1.0, fixed=np.array([0, 4]))
    assert sol.sites.tolist() == [0, 4] and sol.objective == 4 and sol.optimal
    sol = mclp(cost, np.zeros(5), 2, 1.0)
    assert len(sol.sites) == 2 and sol.objective == 0 and sol.optimal
    assert lscp(cost, 1.0, weights=np.zeros(5)).objective == 0
    empty = np.zeros((0, 3))
    assert mclp(empty, np.zeros(0), 1, 1.0).objective == 0


def test_exact_time_limit_is_reported_honestly():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10, (250, 2))
    cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    w = rng.integers(1, 100, 250).astype(float)
    sol = mclp_exact(cost, w, 6, 1.2, time_limit_s=1e-3)
    check_sites(sol, 6)
    assert not sol.optimal and sol.bound is not None and sol.bound >= sol.objective
    assert sol.objective == covered_weight(cost, w, 1.2, sol.sites)
    full = mclp_exact(cost, w, 6, 1.2)
    assert full.optimal and sol.objective <= full.objective <= sol.bound


# ---------------------------------------------------------------------------------------------
# brute force


@settings(max_examples=150, deadline=None)
@given(instances(), st.data())
def test_mclp_matches_brute_force(instance, data):
    cost, w, allowed, fixed, radius = instance
    p = data.draw(st.integers(max(1, len(fixed)), int(allowed.sum())))
    best = brute_mclp(cost, w, p, radius, fixed, allowed)
    exact = mclp_exact(cost, w, p, radius, fixed=np.array(fixed, dtype=np.int64), allowed=allowed)
    heur = mclp(cost, w, p, radius, fixed=fixed, allowed=allowed, seed=data.draw(st.integers(0, 3)))
    for sol in (exact, heur):
        check_sites(sol, p, fixed, allowed)
        assert sol.objective == covered_weight(cost, w, radius, sol.sites)
        assert sol.bound is not None and sol.bound >= best - 1e-9
    assert exact.objective == best and exact.optimal and exact.bound == best
    assert heur.objective <= best
    if heur.optimal:
        assert heur.objective == best
    if p < allowed.sum():  # one more station never lowers the optimum
        assert mclp_exact(cost, w, p + 1, radius, fixed=fixed, allowed=allowed).objective >= best


def _weak_search(cov, free, seed, rounds, deadline):
    """A poor starting solution (the first free columns) with a useless bound, so that
    `mclp_exact` has to find and prove the optimum with the MILP."""
    cols = np.concatenate([cov.fixed, np.setdiff1d(np.arange(cov.n_cols), cov.fixed)[:free]])
    state = covering._State(cov, cols)
    return covering._Found(cols=state.sites(), value=state.value, bound=float(cov.w.sum()) + 1)


@settings(max_examples=150, deadline=None)
@given(instances(), st.data())
def test_mclp_exact_milp_from_a_poor_start(instance, data):
    cost, w, allowed, fixed, radius = instance
    p = data.draw(st.integers(max(1, len(fixed)), int(allowed.sum())))
    best = brute_mclp(cost, w, p, radius, fixed, allowed)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(covering, "_search", _weak_search)
        exact = mclp_exact(cost, w, p, radius, fixed=fixed, allowed=allowed)
    check_sites(exact, p, fixed, allowed)
    assert exact.objective == best and exact.optimal and exact.bound == best


@settings(max_examples=150, deadline=None)
@given(instances(), st.data())
def test_submodular_bound_holds_from_any_solution(instance, data):
    cost, w, allowed, fixed, radius = instance
    p = data.draw(st.integers(max(1, len(fixed)), int(allowed.sum())))
    best = brute_mclp(cost, w, p, radius, fixed, allowed)
    args = check_inputs(cost, w, p, fixed=fixed, allowed=allowed, radius=radius, needs_radius=True)
    cov = covering._cover(args, (args.weights > 0) & covering._coverable(args))
    pool = np.setdiff1d(np.arange(cov.n_cols), cov.fixed).tolist()
    extra = data.draw(st.lists(st.sampled_from(pool), unique=True, max_size=p - len(fixed))) if pool else []
    state = covering._State(cov, np.array([*cov.fixed, *extra], dtype=np.int64))
    assert covering._upper_bound(state, p - len(fixed), float(cov.w.sum())) >= best - 1e-9


@settings(max_examples=150, deadline=None)
@given(instances())
def test_lscp_matches_brute_force(instance):
    cost, w, allowed, fixed, radius = instance
    need = np.flatnonzero(w > 0)
    reachable = (cost[np.ix_(need, np.flatnonzero(allowed))] <= radius).any(axis=1)
    if not reachable.all():
        with pytest.raises(PlacementError, match="demand points cannot be reached"):
            lscp(cost, radius, weights=w, fixed=fixed, allowed=allowed)
        return
    best = brute_lscp(cost, radius, fixed, allowed, need)
    exact = lscp(cost, radius, weights=w, fixed=fixed, allowed=allowed, exact=True)
    heur = lscp(cost, radius, weights=w, fixed=fixed, allowed=allowed)
    for sol in (exact, heur):
        check_sites(sol, None, fixed, allowed)
        assert sol.objective == len(sol.sites)
        assert (cost[np.ix_(need, sol.sites)] <= radius).any(axis=1).all()
        assert sol.bound is not None and sol.bound <= best
    assert exact.objective == best and exact.optimal and exact.bound == best
    assert heur.objective >= best
    if heur.optimal:
        assert heur.objective == best
    # redundancy elimination: no free site of the heuristic can be dropped
    free = [j for j in heur.sites if j not in fixed]
    for j in free:
        rest = heur.sites[heur.sites != j]
        assert not (cost[np.ix_(need, rest)] <= radius).any(axis=1).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 8))
def test_swap_search_never_worsens_greedy(seed, p):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10, (40, 2))
    cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    w = rng.integers(0, 50, 40).astype(float)
    args = check_inputs(cost, w, radius=2.0, needs_p=False, needs_radius=True)
    cov = covering._cover(args, args.weights > 0)
    state = covering._State(cov, cov.fixed)
    covering._greedy(state, p)
    greedy = state.value
    assert greedy == covered_weight(cost, w, 2.0, cov.cols[state.sites()])
    covering._local_search(state, np.zeros(cov.n_cols, dtype=bool), 1e-9, np.inf, np.inf)
    assert state.value >= greedy
    sites = cov.cols[state.sites()]
    assert state.value == covered_weight(cost, w, 2.0, sites)
    for r in sites:  # a 1-swap local optimum: no single exchange covers more
        for a in np.setdiff1d(cov.cols, sites):
            assert covered_weight(cost, w, 2.0, np.append(sites[sites != r], a)) <= state.value + 1e-9
    assert mclp(cost, w, p, 2.0, seed=seed, rounds=10).objective >= state.value  # restarts keep the best


# ---------------------------------------------------------------------------------------------
# argument errors


COST = line(4)
W = np.ones(4)


# The rules every solver shares (cost, weights, p, fixed, allowed, radius, time limit) are tested
# for all of them at once in test_placement_request.py; these are the covering models' own.
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mclp(COST, W, 1, 1.0, rounds=-1), "rounds must be an integer >= 0 (got -1)"),
        (
            lambda: lscp(np.vstack([np.full(4, np.inf), COST[1:]]), 1.0),
            "1 demand points cannot be reached within radius 1 by any allowed candidate (first: 0)",
        ),
        (
            lambda: lscp(line(8), 1.0, allowed=np.array([False] * 7 + [True])),
            "6 demand points cannot be reached within radius 1 by any allowed candidate "
            "(first: 0, 1, 2, 3, 4)",
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(PlacementError, match=f"^{re.escape(message)}$"):
        call()


# ---------------------------------------------------------------------------------------------
# São José dos Campos cases with proven optima (tests/data/mclp/)

SJC_CASES = [("SJC324", 800.0, 3), ("SJC324", 800.0, 4), ("SJC324", 1200.0, 2), ("SJC324", 1200.0, 3)]


@pytest.mark.parametrize(("name", "radius", "p"), SJC_CASES)
def test_sjc324_against_proven_optima(name, radius, p):
    case = next(c for c in sjc.cases() if (c.instance, c.radius, c.p) == (name, radius, p))
    inst = sjc.load_instance(name)
    cost = sjc.cost_matrix(name)
    heur = mclp(cost, inst.demand, p, radius)
    check_sites(heur, p)
    assert heur.objective >= 0.995 * case.optimum
    assert heur.objective >= case.greedy  # never below the plain greedy baseline
    assert heur.bound is not None and heur.bound >= case.optimum
    exact = mclp_exact(cost, inst.demand, p, radius)
    check_sites(exact, p)
    assert exact.objective == case.optimum and exact.optimal and exact.bound == case.optimum
