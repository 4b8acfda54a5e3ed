"""Faults: hand cases for each kind (a village cut off, a van broken down, an operator away, a
warehouse down, a pickup moved past a cut-off day), the fast engine equal to the reference with
every fault on, conservation, no faults = no change, same seed same faults, and typhoons drawn
as the scenario asks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim.core.events import Bus
from sim.core.ids import STREAM_FAULTS
from sim.engine.model import Model
from sim.engine.registry import ENGINES
from sim.flows.faults import FaultPlan
from sim.network.build import build_network
from sim.run import kpi_observer, simulate
from sim.scenario.load import load_scenario
from tests.test_sim import PRESSURE, Trace, assert_same_kpis, both, one_village_network, scripted, small

H = 1 / 60
ALL = [
    "faults.typhoon.rate_per_year=40", "faults.typhoon.season=[01-01, 12-31]",
    "faults.typhoon.min_circuity=1",
    "faults.typhoon.cut_share=0.3", "faults.typhoon.township_cut_share=0.3",
    "faults.operator_absence.per_station_day=0.05", "faults.breakdowns.per_van_day=0.1",
    "faults.warehouse_outage.rate_per_year=30",
]  # fmt: skip


def one_station(write, engine: str, days: int = 4, base_h: float = 2.0):
    """One station 20 minutes from its warehouse; the van leaves at 08:00, is there at 08:20;
    villagers collect `base_h` opening hours later (opening 8-20)."""
    path = write(
        "one.yaml",
        f"""
        name: one
        region: small
        horizon: {{start: 2018-01-01, days: {days}}}
        stations: {{rural: {{target: 1}}}}
        trunk: {{waves_h: [4]}}
        warehouses: {{sorting_rate_per_h: 60, shift_h: [0, 24], cutoff_h: 1}}
        couriers: {{van_capacity: 10, vans_per_county: 1, travel_noise_cv: 0,
                   service_min_per_stop: 4, service_min_per_parcel: 0.5}}
        pickup: {{station_capacity: 10, shelf_days: 0,
                 village_station: {{opening_h: [8, 20], base_h: {base_h}, per_km_h: 0, household_km: 0}}}}
        simulation: {{warmup_days: 0, engine: {engine}}}
        """,
    )
    return load_scenario(path).scenario


def planned(days: int, **faults) -> FaultPlan:
    """A hand-made plan for the one-station network (stops: the station 0, the township point 1)."""
    plan = FaultPlan(
        blocked=np.zeros((days, 2), dtype=bool), cut_off=np.zeros((days, 1), dtype=bool),
        away=np.zeros((days, 1), dtype=bool), outage=np.zeros((days, 1), dtype=bool),
        breakdown_per_van_day=faults.pop("breakdowns", 0.0), seed=0, stream=STREAM_FAULTS, events=[],
    )  # fmt: skip
    for name, days_hit in faults.items():
        getattr(plan, name)[days_hit] = True
    plan.blocked[:, :1] |= plan.cut_off | plan.away
    return plan


def trace_of(write, engine, plan, rows, days=4, base_h=2.0):
    model = Model(one_village_network(), one_station(write, engine, days, base_h), orders=scripted(rows))
    for name in ("blocked", "cut_off", "away", "outage"):  # no closures on the days it runs on
        setattr(plan, name, np.pad(getattr(plan, name), ((0, model.run_on_days), (0, 0))))
    model.fault_plan = lambda seed: plan
    trace, kpi = Trace(), kpi_observer(model)
    ENGINES[engine](model, 0, Bus([trace, kpi])).run()
    return dict((what, t) for t, what in trace.sorted()), kpi


@pytest.mark.parametrize("engine", list(ENGINES))
def test_a_cut_off_village_waits_for_its_road(write, engine):
    """A parcel ready at 04:01 on day 0; the village is cut off on days 0 and 1: the van does
    not call (the parcel is held at two departures) and brings it on day 2 at 56:20; its
    villager collects two opening hours later."""
    plan = planned(4, cut_off=slice(0, 2))
    seen, kpi = trace_of(write, engine, plan, [(0, 0, 0.5, 3.0)])
    assert seen["unload 0"] == pytest.approx(48 + 8 + 20 * H)
    assert seen["collected 0"] == pytest.approx(48 + 10 + 20 * H)
    assert kpi.held_by_faults.sum() == 2


@pytest.mark.parametrize("engine", list(ENGINES))
def test_a_pickup_that_falls_on_a_cut_off_day_moves_to_the_next(write, engine):
    """Delivered on day 0 at 08:20 with a 20-opening-hour pickup: due on day 1 at 16:20; the
    village is cut off on day 1 (the shelf keeps the parcel), so it is collected on day 2 at
    16:20."""
    plan = planned(4, cut_off=slice(1, 2))
    seen, _ = trace_of(write, engine, plan, [(0, 0, 0.5, 3.0)], base_h=20.0)
    assert seen["unload 0"] == pytest.approx(8 + 20 * H)
    assert seen["collected 0"] == pytest.approx(48 + 16 + 20 * H)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_an_operator_away_and_a_warehouse_down_each_cost_a_day(write, engine):
    for fault in ({"away": slice(0, 1)}, {"outage": slice(0, 1)}):
        seen, kpi = trace_of(write, engine, planned(4, **fault), [(0, 0, 0.5, 3.0)])
        assert seen["unload 0"] == pytest.approx(24 + 8 + 20 * H), fault
        assert kpi.held_by_faults.sum() == 1


@pytest.mark.parametrize("engine", list(ENGINES))
def test_a_van_that_always_breaks_down_delivers_nothing_and_loses_nothing(write, engine):
    seen, kpi = trace_of(write, engine, planned(4, breakdowns=1.0), [(0, 0, 0.5, 3.0), (1, 0, 24.5, 3.0)])
    assert not [k for k in seen if k.startswith("unload")]
    assert kpi.state["at_warehouse"].sum() == 2 and kpi.held_by_faults.sum() == 4 + 3  # day by day


def test_fast_engine_equals_reference_with_every_fault(write):
    loaded = small(write, *PRESSURE, *ALL, "simulation.warmup_days=2", days=12, villages=40)
    (fast, _), (ref, _) = both(loaded, build_network(loaded))
    assert_same_kpis(fast, ref)
    np.testing.assert_array_equal(fast.held_by_faults, ref.held_by_faults)
    assert fast.held_by_faults.sum() > 100 and fast.delivered.sum() > 100
    ordered = fast.ordered_by_county.sum()
    assert ordered == sum(int(v.sum()) for v in fast.state.values())  # every parcel ends somewhere


@pytest.mark.parametrize("kind", [0, 1, 2, 3])
def test_every_parcel_ends_somewhere_under_each_fault(write, kind):
    sets = [
        [*ALL[:5], "faults.typhoon.rate_per_year=150"],
        ALL[5:6],
        ALL[6:7],
        ["faults.warehouse_outage.rate_per_year=200"],
    ][kind]
    loaded = small(write, *sets, days=10)
    run = simulate(build_network(loaded), loaded, 2)
    assert run.summary["parcels_at_end"]["reconciled"]
    assert run.summary["faults"]["parcels_held_by_faults"] > 0


def test_no_faults_is_exactly_no_change(write):
    """A `faults` section with every rate zero draws nothing: the run is the run without it."""
    runs = []
    for sets in ([], ["faults.typhoon.cut_share=0.5", "faults.breakdowns.per_van_day=0"]):
        loaded = small(write, *PRESSURE, *sets, days=6, villages=40)
        (fast, _), _ = both(loaded, build_network(loaded))
        runs.append(fast)
    assert_same_kpis(*runs)


def test_village_days_cut_off_are_the_summary_per_village(write):
    """Per village, the days cut off within the horizon (warm-up and run-on days left out): they
    sum to the summary's village-days, county by county, and a run carries them (None without
    faults)."""
    loaded = small(write, *ALL[:5], "simulation.warmup_days=3", days=12)
    model = Model(build_network(loaded), loaded.scenario)
    plan = model.fault_plan(1)
    per = plan.village_days_cut_off(model)
    p = model.points
    assert per.shape == (p.n_villages,) and per.dtype == np.int64
    np.testing.assert_array_equal(per, plan.cut_off[3 : model.total_days].sum(axis=0))
    summary = plan.summary(model)
    assert per.sum() == summary["village_days_cut_off"] > 0
    by_county = np.bincount(p.county[: p.n_villages], weights=per, minlength=len(p.county_names))
    assert by_county.tolist() == [summary["by_county"][c]["village_days_cut_off"] for c in p.county_names]
    run = simulate(model.network, loaded, 1, model=model)
    assert run.village_days_cut_off is not None
    np.testing.assert_array_equal(run.village_days_cut_off, per)
    plain = small(write, days=4)
    assert simulate(build_network(plain), plain, 1).village_days_cut_off is None


def test_same_seed_same_faults_other_seed_other_faults(write):
    loaded = small(write, *ALL, days=20)
    model = Model(build_network(loaded), loaded.scenario)
    a, b, c = model.fault_plan(1), model.fault_plan(1), model.fault_plan(2)
    assert (a.blocked == b.blocked).all() and a.events == b.events
    assert (a.blocked != c.blocked).any()
    np.testing.assert_array_equal(a.broken(0, 3, 50), b.broken(0, 3, 50))


def test_typhoons_come_as_often_as_asked_in_season_in_mountain_counties(write):
    """Ten years of Lishui with three typhoons a year (Jul-Sep): about 30 events, every one in
    season, only the mountain counties (circuity >= 1.8) cut off, closures of whole days with a
    long tail."""
    path = write(
        "t.yaml",
        "name: t\nregion: lishui\nstations: {rural: {target: 100}}\n"
        "horizon: {start: 2010-01-01, years: 10}\n",
    )
    loaded = load_scenario(path, ["faults.typhoon.rate_per_year=3"])
    model = Model(build_network(loaded), loaded.scenario)
    plan = model.fault_plan(7)
    events = plan.events
    assert 18 <= len(events) <= 45  # Poisson(30): within about 2.2 sd
    assert all(e["date"][5:7] in ("07", "08", "09") for e in events)
    mountain = {"Qingtian", "Suichang", "Yunhe", "Longquan", "Qingyuan", "Jingning"}
    assert set().union(*(e["counties"] for e in events)) <= mountain
    assert max(e["recovery_days"] for e in events) >= 5 and min(e["recovery_days"] for e in events) >= 1
    cut_per_event = np.mean([e["villages_cut_off"] for e in events])
    n_mountain = int(
        np.isin(
            np.array(model.points.county_names)[model.points.county[: model.points.n_villages]],
            list(mountain),
        ).sum()
    )
    assert cut_per_event == pytest.approx(0.15 * n_mountain, rel=0.15)


def test_run_reports_faults_by_county(tmp_path, capsys):
    """As a new user would: a run with typhoons reconciles and says what they cost by county."""
    from analysis.cli import main

    out = tmp_path / "run"
    sets = [
        "faults.typhoon.rate_per_year=30",
        "faults.typhoon.season=[01-01, 12-31]",
        "faults.typhoon.min_circuity=1",
    ]
    args = ["run", "small", "--out", str(out), "--days", "10", "--quiet"]
    assert main([*args, *(x for s in sets for x in ("--set", s))]) == 0
    err = capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    faults = metrics["simulation"]["faults"]
    assert metrics["simulation"]["parcels_at_end"]["reconciled"] and faults["typhoons"]
    assert "typhoons (longest recovery" in err and "  Smallcounty:" in err and "village-days cut off" in err


def test_kill_9_during_a_run_leaves_no_folder_that_looks_complete(tmp_path):
    """`kill -9` while the run writes its folder: only a hidden `.run.*.partial` folder is left,
    never `run/`; the same command then writes the whole run."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    exe = Path(sys.executable).with_name("ruralsim")
    out = tmp_path / "run"
    args = [str(exe), "run", "small", "--out", str(out), "--days", "30", "--quiet"]
    proc = subprocess.Popen(
        args, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    partial = []
    while time.monotonic() < deadline and proc.poll() is None:
        partial = [p for p in tmp_path.glob(".run.*.partial") if any(p.iterdir())]
        if partial:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert partial, "the run should have been killed while writing its folder"
    assert not out.exists()
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and (out / "metrics.json").is_file()


def test_compare_counts_no_faults_as_none_held():
    """In a resilience comparison the alternative without faults holds nothing (0, not n/a),
    while a figure a run really lacks stays unknown."""
    from analysis.study import KPIS

    assert KPIS["parcels_held_by_faults"].of({"simulation": {}}) == 0.0
    assert KPIS["parcels_held_by_faults"].of({"simulation": {"faults": {"parcels_held_by_faults": 7}}}) == 7.0
    assert np.isnan(KPIS["produce_spoiled_share"].of({"simulation": {}}))
