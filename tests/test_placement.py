"""The placement interface: ranking strategies, quotas, checks, nested yearly plans."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.placement import NO_STATION, STRATEGIES, PlacementError, community_counts, plan_builds, solve


def line_cost(n: int) -> np.ndarray:
    """Villages at 0, 1, ..., n-1 km on a line: the km between them."""
    x = np.arange(n, dtype=float)
    return np.abs(x[:, None] - x[None, :])


def test_population_takes_largest_villages_first():
    placed = solve(None, np.array([10.0, 50, 30, 50, 5]), 3, "population")
    assert (
        placed.sites.tolist() == [1, 2, 3] and placed.objective == 130.0 and placed.strategy == "population"
    )


def test_candidate_mask_and_shops():
    w = np.array([10.0, 50, 30, 50, 5])
    shops = np.array([1, 0, 1, 0, 1], bool)
    assert solve(None, w, 2, "population", candidates=shops).sites.tolist() == [0, 2]
    assert solve(None, w, 2, "shops", candidates=shops).sites.tolist() == [0, 2]
    assert solve(None, w, 3, "random", candidates=shops).sites.tolist() == [0, 2, 4]


def test_fixed_sites_are_kept_even_when_not_the_best():
    assert solve(None, np.array([1.0, 2, 3, 4]), 2, "population", fixed=[0]).sites.tolist() == [0, 3]


def test_random_is_reproducible_by_seed_and_differs_across_seeds():
    w = np.ones(500)
    a, b = solve(None, w, 50, "random", seed=1), solve(None, w, 50, "random", seed=1)
    assert a.sites.tolist() == b.sites.tolist()
    assert a.sites.tolist() != solve(None, w, 50, "random", seed=2).sites.tolist()


def test_quota_gives_every_township_one_then_follows_population():
    w = np.array([100.0, 90, 80, 5, 4, 1])
    groups = np.array(["A", "A", "A", "B", "B", "C"])
    assert solve(None, w, 3, "quota", groups=groups).sites.tolist() == [0, 3, 5]  # one each
    # A has 270 of 280 residents: the next ones go to A.
    assert solve(None, w, 5, "quota", groups=groups).sites.tolist() == [0, 1, 2, 3, 5]
    # Fewer stations than townships: the most populous townships first.
    assert solve(None, w, 2, "quota", groups=groups).sites.tolist() == [0, 3]


def test_optimisation_strategies_on_a_hand_case():
    """Five villages on a line, 1 km apart, equal weights: the 1-median and 1-center is the
    middle one; one station covers three villages within 1 km; covering all within 1 km takes 2."""
    cost, w = line_cost(5), np.ones(5)
    assert solve(cost, w, 1, "pmedian").sites.tolist() == [2]
    assert solve(cost, w, 1, "pmedian", exact=True).objective == pytest.approx(6.0)
    assert solve(cost, w, 1, "pcenter").objective == pytest.approx(2.0)
    covered = solve(cost, w, 1, "mclp", radius=1.0)
    assert covered.objective == pytest.approx(3.0) and covered.sites.tolist() in ([1], [2], [3])
    exact = solve(cost, w, None, "lscp", radius=1.0, exact=True)
    assert len(exact.sites) == 2 and exact.objective == 2 and exact.gap == 0.0 and exact.optimal


# The strategy's own needs; the rules of the numbers, which every solver shares, are tested in
# test_placement_request.py.
@pytest.mark.parametrize(
    ("cost", "kwargs", "message"),
    [
        (line_cost(5), {"strategy": "best"}, "unknown placement strategy 'best'"),
        (None, {"strategy": "pmedian"}, "strategy pmedian needs a cost matrix"),
        (line_cost(5), {"strategy": "population", "exact": True}, "strategy population has no exact mode"),
        (line_cost(5), {"strategy": "shops"}, "strategy shops needs candidate shops"),
        (line_cost(5), {"strategy": "quota"}, "strategy quota needs groups"),
        (
            line_cost(5)[:, :4],
            {"strategy": "population"},
            "strategy population ranks the demand points: it needs one candidate per demand point "
            "(got 4 candidates for 5 demand points)",
        ),
    ],
)
def test_bad_requests_raise_clear_errors(cost, kwargs, message):
    with pytest.raises(PlacementError) as err:
        solve(cost, np.ones(5), 2, **kwargs)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("strategy", ["population", "random", "quota", "mclp", "pmedian", "pcenter"])
@settings(max_examples=25, deadline=None)
@given(
    weights=st.lists(st.integers(1, 1000), min_size=2, max_size=40),
    steps=st.lists(st.integers(0, 12), min_size=1, max_size=3),
    seed=st.integers(0, 2**31),
)
def test_build_plans_are_nested_and_honour_targets(strategy, weights, steps, seed):
    n = len(weights)
    cumulative = np.minimum(np.cumsum(steps), n)
    targets = {2016 + i: int(c) for i, c in enumerate(cumulative)}
    plan, placements = plan_builds(
        targets,
        strategy,
        weights=np.array(weights, dtype=float),
        cost=line_cost(n),
        radius=2.0,
        groups=np.arange(n) % 3,
        seed=seed,
    )
    previous = np.empty(0, dtype=int)
    for year, count in targets.items():
        sites = plan.sites(year)
        assert len(sites) == count == len(np.unique(sites))  # target honoured, no duplicates
        assert np.isin(previous, sites).all()  # a station built earlier keeps its place
        previous = sites
    assert set(plan.year_built[plan.year_built != NO_STATION]) <= set(targets)
    assert len(placements) == len(targets)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 100), min_size=3, max_size=25), st.integers(1, 5), st.integers(0, 2**31))
def test_more_stations_never_lower_coverage(weights, p, seed):
    cost, w = line_cost(len(weights)), np.array(weights, dtype=float)
    p = min(p, len(weights) - 1)
    fewer = solve(cost, w, p, "mclp", radius=1.5, seed=seed)
    more = solve(cost, w, p + 1, "mclp", radius=1.5, fixed=fewer.sites, seed=seed)
    assert more.objective >= fewer.objective


def test_every_strategy_is_listed():
    assert set(STRATEGIES) == {
        "population", "random", "quota", "shops", "mclp", "pmedian", "pcenter", "lscp", "viable"
    }  # fmt: skip


def villages() -> tuple[np.ndarray, np.ndarray, dict]:
    """Fifteen villages in a 10 km square (cost: km between them), ten of them candidate shops;
    and the keyword arguments every strategy accepts."""
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 10, (15, 2))
    cost = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    shops = np.arange(15) % 3 != 0
    return (
        cost,
        rng.integers(1, 100, 15).astype(float),
        {"radius": 4.0, "candidates": shops, "groups": np.arange(15) % 4},
    )


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_a_strategy_that_chooses_its_count_ignores_p_and_the_others_honour_it(name):
    cost, w, kw = villages()
    if STRATEGIES[name].chooses_count:
        answers = {tuple(solve(cost, w, p, name, **kw).sites.tolist()) for p in (None, -1, 0, 1, 10, 99)}
        assert len(answers) == 1
        return
    for p in (0, 1, 4):
        assert len(solve(cost, w, p, name, **kw).sites) == p
    with pytest.raises(PlacementError, match=r"^p must be an integer >= 0 \(got None\)$"):
        solve(cost, w, None, name, **kw)


@pytest.mark.parametrize("name", [name for name, s in STRATEGIES.items() if s.evaluate is not None])
def test_evaluate_scores_sites_as_the_strategy_does(name):
    """With nothing left to choose, `solve` scores the fixed sites with the strategy's `evaluate`:
    the objective the strategy itself reports for them; and more sites score better in the sense
    `maximises` gives."""
    cost, w, kw = villages()
    placed = solve(cost, w, 3, name, **kw)
    scored = solve(cost, w, 3, name, fixed=placed.sites, **kw)
    assert scored.sites.tolist() == placed.sites.tolist() and scored.objective == placed.objective
    fewer = solve(cost, w, 1, name, fixed=placed.sites[:1], **kw).objective
    assert scored.objective > fewer if STRATEGIES[name].maximises else scored.objective < fewer


def test_community_stations_follow_township_population():
    counts = community_counts(np.array([50_000.0, 10_000, 40_000]), 10)
    assert counts.tolist() == [5, 1, 4]
