"""Routes are planned with the stated van capacity (issue 20, item 9): only a stop larger than a
van is split, every other route's planned load fits one van."""

import numpy as np

from geo.distance import StraightLine
from sim.flows.routes import plan_county
from sim.scenario.delivery import Couriers


def test_a_stop_larger_than_a_van_does_not_relax_the_other_routes():
    rng = np.random.default_rng(3)
    n = 24
    xy = rng.uniform(-8000, 8000, size=(n, 2))
    daily = np.full(n, 60.0)
    daily[0] = 1300.0  # one township point needs three vans
    cfg = Couriers(van_capacity=200, frequency=[{"every_days": 1}], route_search_iterations=300)
    plan = plan_county(
        np.zeros(2), np.arange(n), xy, np.zeros(n, dtype=bool), daily, StraightLine(), 1.3, cfg,
        shelf=np.zeros(0),
    )  # fmt: skip
    loads = [daily[r - 1].sum() for r in plan.routes]
    big = [i for i, r in enumerate(plan.routes) if 1 in r]
    assert len(big) == 1 and list(plan.routes[big[0]]) == [1]  # the large stop rides alone ...
    assert plan.vans[big[0]] == 7  # ... on ceil(1300 / 200) vans
    others = [load for i, load in enumerate(loads) if i != big[0]]
    assert max(others) <= cfg.van_capacity  # every other route fits one van
    assert sum(plan.vans) == 7 + len(others)
    assert sorted(np.concatenate(plan.routes)) == list(range(1, n + 1))  # every stop planned once
