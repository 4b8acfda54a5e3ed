"""One check of a placement request (geo/request.py) for every solver: the same bad request gets
the same `PlacementError`, word for word, from each algorithm's own entry point and from `solve`
with each strategy; and what the rules allow (inf costs, a fixed site given twice, p = 0) works
everywhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from geo.covering import lscp, mclp, mclp_exact
from geo.errors import PlacementError, RuralsimError
from geo.pcenter import pcenter, pcenter_exact
from geo.placement import STRATEGIES, solve
from geo.pmedian import pmedian, pmedian_exact, pmedian_greedy, pmedian_swap


@dataclass(frozen=True)
class Solver:
    """An entry point called as `call(cost, weights, p, fixed, allowed, radius, time_limit_s)`,
    which of those it takes (it leaves the others out), and its objective with no sites."""

    name: str
    call: Callable[..., Any]
    takes_p: bool = True
    takes_radius: bool = False
    takes_time_limit: bool = True
    no_sites: float = np.inf
    """The objective of no sites: nothing covered, every distance infinite."""

    def __repr__(self) -> str:
        return self.name


def _solve(strategy: str, exact: bool = False) -> Callable[..., Any]:
    def call(cost, weights, p, fixed, allowed, radius, time_limit_s):
        return solve(
            cost,
            weights,
            p,
            strategy,
            radius=radius,
            fixed=fixed,
            candidates=allowed,
            exact=exact,
            time_limit_s=time_limit_s,
            groups=np.arange(len(weights)) % 2,
        )

    return call


SOLVERS = [
    Solver(
        "mclp",
        lambda c, w, p, f, a, r, t: mclp(c, w, p, r, fixed=f, allowed=a, time_limit_s=t),
        takes_radius=True,
        no_sites=0.0,
    ),
    Solver(
        "mclp_exact",
        lambda c, w, p, f, a, r, t: mclp_exact(c, w, p, r, fixed=f, allowed=a, time_limit_s=t),
        takes_radius=True,
        no_sites=0.0,
    ),
    Solver(
        "lscp",
        lambda c, w, p, f, a, r, t: lscp(c, r, weights=w, fixed=f, allowed=a, time_limit_s=t),
        takes_p=False,
        takes_radius=True,
    ),
    Solver(
        "lscp exact",
        lambda c, w, p, f, a, r, t: lscp(c, r, weights=w, fixed=f, allowed=a, exact=True, time_limit_s=t),
        takes_p=False,
        takes_radius=True,
    ),
    Solver("pmedian", lambda c, w, p, f, a, r, t: pmedian(c, w, p, fixed=f, allowed=a, time_limit_s=t)),
    Solver(
        "pmedian_exact",
        lambda c, w, p, f, a, r, t: pmedian_exact(c, w, p, fixed=f, allowed=a, time_limit_s=t),
    ),
    Solver(
        "pmedian_greedy",
        lambda c, w, p, f, a, r, t: pmedian_greedy(c, w, p, fixed=f, allowed=a),
        takes_time_limit=False,
    ),
    Solver(  # p is the number of starting sites, 0 and 1 (which include the fixed site of the cases)
        "pmedian_swap",
        lambda c, w, p, f, a, r, t: pmedian_swap(c, w, np.array([0, 1]), fixed=f, allowed=a),
        takes_p=False,
        takes_time_limit=False,
    ),
    Solver(
        "pcenter", lambda c, w, p, f, a, r, t: pcenter(c, p, weights=w, fixed=f, allowed=a, time_limit_s=t)
    ),
    Solver(
        "pcenter_exact",
        lambda c, w, p, f, a, r, t: pcenter_exact(c, p, weights=w, fixed=f, allowed=a, time_limit_s=t),
    ),
] + [
    Solver(
        f"solve {name}{' exact' if exact else ''}",
        _solve(name, exact),
        takes_p=not strategy.chooses_count,
        takes_radius=strategy.needs_radius,
        no_sites=0.0 if strategy.maximises else np.inf,
    )
    for name, strategy in STRATEGIES.items()
    for exact in ([False, True] if strategy.has_exact else [False])
]

#: A good request: four villages 1 km apart on a line, the last one not a candidate.
BASE: dict[str, Any] = {
    "cost": np.abs(np.arange(4.0)[:, None] - np.arange(4.0)[None, :]),
    "weights": np.ones(4),
    "p": 2,
    "fixed": None,
    "allowed": np.array([True, True, True, False]),
    "radius": 1.5,
    "time_limit_s": None,
}


def _with(cost_at: tuple[int, int], value: float) -> np.ndarray:
    cost = BASE["cost"].copy()
    cost[cost_at] = value
    return cost


def _call(solver: Solver, **change: Any) -> Any:
    args = BASE | change
    return solver.call(
        *(args[k] for k in ("cost", "weights", "p", "fixed", "allowed", "radius", "time_limit_s"))
    )


#: (change to BASE, the message, what a solver must take for the change to count)
BAD = [
    (
        {"cost": _with((1, 2), np.nan)},
        "cost has 1 NaN entries (first at demand 1, candidate 2); inf marks an unreachable pair",
        None,
    ),
    (
        {"cost": _with((2, 0), -1.0)},
        "cost has 1 negative entries (first at demand 2, candidate 0); costs must be >= 0",
        None,
    ),
    (
        {"cost": _with((0, 3), -np.inf)},
        "cost has 1 negative entries (first at demand 0, candidate 3); costs must be >= 0",
        None,
    ),
    ({"cost": np.ones(4)}, "cost must be a 2-D (demands x candidates) array (got shape (4,))", None),
    ({"cost": np.full((4, 4), "1")}, "cost must hold numbers (got dtype <U1)", None),
    (
        {"weights": np.array([1.0, -1, 1, 1])},
        "weights must be finite and >= 0 (1 bad entries, first: 1)",
        None,
    ),
    (
        {"weights": np.array([np.nan, 1, np.inf, 1])},
        "weights must be finite and >= 0 (2 bad entries, first: 0, 2)",
        None,
    ),
    ({"weights": np.ones(3)}, "weights has shape (3,), expected (4,): one per demand (row of cost)", None),
    (
        {"allowed": np.ones(4)},
        "allowed must be a bool mask of shape (4,), one per candidate (got float64 (4,))",
        None,
    ),
    (
        {"allowed": np.ones(3, bool)},
        "allowed must be a bool mask of shape (4,), one per candidate (got bool (3,))",
        None,
    ),
    ({"fixed": np.array([7])}, "fixed indices must lie in [0, 4) (got 7)", None),
    ({"fixed": np.array([-1, 0])}, "fixed indices must lie in [0, 4) (got -1)", None),
    ({"fixed": np.array([3])}, "1 fixed sites are not allowed candidates (first: 3)", None),
    ({"fixed": np.array([0.5])}, "fixed must hold integer candidate indices (got dtype float64)", None),
    ({"p": 4}, "p = 4 exceeds the 3 allowed candidates", "takes_p"),
    ({"p": 1, "fixed": np.array([0, 2])}, "p = 1 is less than the 2 fixed sites", "takes_p"),
    ({"p": -1}, "p must be an integer >= 0 (got -1)", "takes_p"),
    ({"p": 1.5}, "p must be an integer >= 0 (got 1.5)", "takes_p"),
    ({"p": None}, "p must be an integer >= 0 (got None)", "takes_p"),
    ({"p": True}, "p must be an integer >= 0 (got True)", "takes_p"),
    ({"radius": 0}, "radius must be a positive finite number (got 0)", "takes_radius"),
    ({"radius": -2.0}, "radius must be a positive finite number (got -2.0)", "takes_radius"),
    ({"radius": np.inf}, "radius must be a positive finite number (got inf)", "takes_radius"),
    ({"radius": np.nan}, "radius must be a positive finite number (got nan)", "takes_radius"),
    ({"radius": None}, "radius must be a positive finite number (got None)", "takes_radius"),
    ({"time_limit_s": 0}, "time_limit_s must be None or a number of seconds > 0 (got 0)", "takes_time_limit"),
    (
        {"time_limit_s": np.nan},
        "time_limit_s must be None or a number of seconds > 0 (got nan)",
        "takes_time_limit",
    ),
]


@pytest.mark.parametrize("solver", SOLVERS, ids=repr)
def test_the_base_request_is_good(solver):
    _call(solver)


@pytest.mark.parametrize(("change", "message", "needs"), BAD, ids=[message for _, message, _ in BAD])
def test_the_same_bad_request_gets_the_same_error_from_every_solver(change, message, needs):
    solvers = [s for s in SOLVERS if needs is None or getattr(s, needs)]
    assert len(solvers) >= 4
    for solver in solvers:
        with pytest.raises(PlacementError) as err:
            _call(solver, **change)
        assert str(err.value) == message, solver.name


def test_placement_errors_are_the_projects_and_value_errors():
    assert issubclass(PlacementError, RuralsimError) and issubclass(PlacementError, ValueError)


@pytest.mark.parametrize("solver", SOLVERS, ids=repr)
def test_inf_costs_mark_unreachable_pairs(solver):
    cost = BASE["cost"].copy()
    cost[0, 2] = cost[3, 0] = np.inf
    assert len(_call(solver, cost=cost).sites) >= 1


@pytest.mark.parametrize("solver", SOLVERS, ids=repr)
def test_a_fixed_site_given_twice_counts_once(solver):
    once, twice = _call(solver, fixed=np.array([1])), _call(solver, fixed=np.array([1, 1]))
    assert once.sites.tolist() == twice.sites.tolist() and 1 in once.sites
    assert once.objective == twice.objective


@pytest.mark.parametrize("solver", [s for s in SOLVERS if s.takes_p], ids=repr)
def test_no_sites_when_p_is_0(solver):
    found = _call(solver, p=0)
    assert len(found.sites) == 0 and found.objective == solver.no_sites
