import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.placement import (
    NO_STATION,
    STRATEGIES,
    PlacementError,
    PlacementProblem,
    community_counts,
    place,
    plan_builds,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_population_takes_largest_villages_first():
    problem = PlacementProblem(weights=np.array([10.0, 50, 30, 50, 5]))
    assert place(problem, 3, "population", rng=rng()).tolist() == [1, 2, 3]


def test_allowed_mask_is_honoured():
    problem = PlacementProblem(
        weights=np.array([10.0, 50, 30, 50, 5]), allowed=np.array([1, 0, 1, 0, 1], bool)
    )
    assert place(problem, 2, "population", rng=rng()).tolist() == [0, 2]
    sites = place(problem, 3, "random", rng=rng())
    assert sites.tolist() == [0, 2, 4]


def test_fixed_sites_are_kept_even_when_not_the_best():
    problem = PlacementProblem(weights=np.array([1.0, 2, 3, 4]))
    assert place(problem, 2, "population", fixed=np.array([0]), rng=rng()).tolist() == [0, 3]


def test_random_is_reproducible_by_seed_and_differs_across_seeds():
    problem = PlacementProblem(weights=np.ones(500))
    a, b = place(problem, 50, "random", rng=rng(1)), place(problem, 50, "random", rng=rng(1))
    assert a.tolist() == b.tolist()
    assert a.tolist() != place(problem, 50, "random", rng=rng(2)).tolist()


@pytest.mark.parametrize(
    ("target", "fixed", "strategy", "message"),
    [
        (6, None, "population", "target 6 exceeds the 5 candidate villages"),
        (1, [0, 1], "population", "target 1 is below the 2 stations already built"),
        (2, None, "best", "unknown placement strategy 'best'"),
    ],
)
def test_bad_requests_raise_clear_errors(target, fixed, strategy, message):
    with pytest.raises(PlacementError, match=message):
        place(PlacementProblem(weights=np.ones(5)), target, strategy, fixed=fixed, rng=rng())


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@given(
    weights=st.lists(st.integers(1, 1000), min_size=1, max_size=80),
    steps=st.lists(st.integers(0, 30), min_size=1, max_size=4),
    seed=st.integers(0, 2**32),
)
def test_build_plans_are_nested_and_honour_targets(strategy, weights, steps, seed):
    problem = PlacementProblem(weights=np.array(weights, dtype=float))
    cumulative = np.minimum(np.cumsum(steps), len(weights))
    targets = {2016 + i: int(c) for i, c in enumerate(cumulative)}
    plan = plan_builds(problem, targets, strategy, rng=rng(seed))
    previous = np.empty(0, dtype=int)
    for year, count in targets.items():
        sites = plan.sites(year)
        assert len(sites) == count == len(np.unique(sites))  # target honoured, no duplicates
        assert np.isin(previous, sites).all()  # a station built earlier keeps its place
        previous = sites
    assert set(plan.year_built[plan.year_built != NO_STATION]) <= set(targets)


def test_community_stations_follow_township_population():
    counts = community_counts(np.array([50_000.0, 10_000, 40_000]), 10)
    assert counts.tolist() == [5, 1, 4]
