"""Running on past the horizon (`sim.engine.runon`): lead times of a short run are not censored, the
operations counted are the horizon's, and both engines stop on the same midnight."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.events import Bus
from sim.engine.model import Model
from sim.engine.registry import ENGINES
from sim.engine.runon import RunOn
from sim.network.build import build_network
from sim.run import kpi_observer
from tests.test_sim import PRESSURE, assert_same_kpis, small


def test_resolved_once_every_parcel_reached_a_point_before_the_day():
    r = RunOn()
    r.delivered(np.array([10.0, 30.0]))  # days 0 and 1
    assert not r.resolved(1, 2)  # the second parcel reached its point on day 1
    assert r.resolved(2, 2)  # its collection follows from the pickup rules: no need to wait
    assert not r.resolved(2, 3)  # a third parcel never arrived
    r.delivered(np.array([47.0]))
    assert r.resolved(2, 3)
    r.delivered(np.array([]))  # nothing: nothing changes
    assert r.resolved(2, 3) and not r.resolved(2, 4)


def _run(loaded, engine="fast"):
    model = Model(build_network(loaded), loaded.scenario)
    kpi = kpi_observer(model)
    info = ENGINES[engine](model, 1, Bus([kpi])).run()
    return model, kpi, info


@pytest.fixture(scope="module")
def censored_and_not(tmp_path_factory):
    """The same 10 days stopped at the horizon's end, and run on until resolved."""
    folder = tmp_path_factory.mktemp("runon")

    def write(name, text):
        path = folder / name
        path.write_text(text)
        return path

    out = {}
    for days in (0, 60):
        loaded = small(write, f"simulation.run_on_days={days}", "simulation.warmup_days=3", days=10)
        out[days] = _run(loaded)
    return out


def test_a_short_run_counts_its_slowest_parcels_when_it_runs_on(censored_and_not):
    (_, cut, cut_info), (_, full, info) = censored_and_not[0], censored_and_not[60]
    assert cut_info.run_on_days == 0 and 0 < info.run_on_days < 60
    unresolved = ("waiting_at_point", "in_van", "at_warehouse", "in_trunk")
    pending = {k: sum(int(k_.state[s].sum()) for s in unresolved)
               for k, k_ in (("cut", cut), ("full", full))}  # fmt: skip
    assert pending["cut"] > 0 and pending["full"] == 0  # censored at the horizon; every order resolved
    assert int(full.state["picked_up"].sum()) + int(full.state["returned"].sum()) == int(
        full.ordered_by_county.sum()
    )
    # Same orders; every parcel picked up before the horizon's end has the same lead time in both,
    # so the run-on histogram holds the censored one bin by bin, plus the slow parcels it left out.
    assert int(cut.ordered_by_county.sum()) == int(full.ordered_by_county.sum())
    assert (full.in_hand.hist >= cut.in_hand.hist).all()
    groups = full.groups_where()
    assert full.in_hand.summary(groups)["mean_h"] > cut.in_hand.summary(groups)["mean_h"]
    assert full.in_hand.summary(groups)["p90_h"] > cut.in_hand.summary(groups)["p90_h"]


def test_operations_are_counted_over_the_horizon_only(censored_and_not):
    (_, cut, _), (_, full, _) = censored_and_not[0], censored_and_not[60]
    assert full.van == cut.van  # vans that left after the horizon are not the horizon's cost
    assert full.backlog == cut.backlog
    np.testing.assert_array_equal(full.warehouse_orders, cut.warehouse_orders)
    np.testing.assert_array_equal(full.station_day_counts, cut.station_day_counts)


def test_run_on_stops_at_its_limit_and_still_reconciles(write):
    # Stations visited once a week with shelves for it: one day past the horizon is not enough
    # for every parcel to reach its point.
    loaded = small(write, "couriers.frequency=[{every_days: 7}]", "pickup.station_capacity=5000",
                   "simulation.run_on_days=1", "simulation.warmup_days=2", days=6)  # fmt: skip
    _, kpi, info = _run(loaded)
    assert info.run_on_days == 1
    states = {s: int(v.sum()) for s, v in kpi.state.items()}
    assert states["at_warehouse"] > 0
    assert sum(states.values()) == int(kpi.ordered_by_county.sum())


def test_slow_collections_do_not_keep_the_run_going(write):
    # Villagers who take weeks to come to the township point: the run stops once their parcels
    # are there (their collection is known then), and counts as pending only those collected
    # later than `run_on_days` after the horizon.
    loaded = small(write, "stations.rural.target=0", "pickup.township_point.base_h=300",
                   "simulation.warmup_days=2", days=6)  # fmt: skip
    _, kpi, info = _run(loaded)
    assert 0 < info.run_on_days < 10
    states = {s: int(v.sum()) for s, v in kpi.state.items()}
    assert states["in_van"] == states["at_warehouse"] == states["in_trunk"] == 0
    assert int(kpi.in_hand.hist.sum()) == states["picked_up"] > 0
    assert sum(states.values()) == int(kpi.ordered_by_county.sum())


def test_both_engines_run_on_to_the_same_midnight_with_the_same_counts(write):
    loaded = small(write, *PRESSURE, "simulation.warmup_days=2", days=8, villages=40)
    network = build_network(loaded)
    model = Model(network, loaded.scenario)
    runs = []
    for name in ("fast", "reference"):
        kpi = kpi_observer(model)
        runs.append((kpi, ENGINES[name](model, 1, Bus([kpi])).run()))
    (fast, fast_info), (ref, ref_info) = runs
    assert fast_info.run_on_days == ref_info.run_on_days > 0
    assert_same_kpis(fast, ref)
