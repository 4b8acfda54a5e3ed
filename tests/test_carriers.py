"""Carriers and joint distribution: parcels drawn by market share, each carrier's own fleet
(separate mode) against one pooled fleet per county (joint mode), with hand cases, the fast
engine equal to the reference in both modes, and joint never driving more than separate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geo.errors import InputError
from sim.core.events import Bus, Delivered, Trips
from sim.engine.model import Model
from sim.engine.registry import ENGINES
from sim.network.build import build_network
from sim.run import kpi_observer
from sim.scenario.load import load_scenario
from tests.test_sim import (
    NO_RANDOMNESS,
    PRESSURE,
    assert_same_kpis,
    both,
    one_village_network,
    scripted,
    small,
)


def carriers(**shares: float) -> str:
    """A `--set` of `couriers.carriers` with these market shares."""
    return "couriers.carriers={" + ", ".join(f"{c}: {{share: {s}}}" for c, s in shares.items()) + "}"


THREE = carriers(postal=0.5, zto=0.3, yunda=0.2)
FIVE = carriers(a=0.2, b=0.2, c=0.2, d=0.2, e=0.2)


def kpis_by_mode(write, shares: str, modes: tuple[str, ...], seed: int) -> dict:
    """KPIs of six days of the small region in each of `modes`, the same demand and stations."""
    out = {}
    for mode in modes:
        loaded = small(write, shares, f"couriers.mode={mode}", f"seed={seed}", days=6)
        model = Model(build_network(loaded), loaded.scenario)
        kpi = kpi_observer(model)
        ENGINES["fast"](model, seed, Bus([kpi])).run()
        out[mode] = kpi
    return out


class Record:
    def __init__(self):
        self.km, self.vans, self.carrier, self.sorted = 0.0, 0, [], {}

    def on_trips(self, e: Trips):
        self.km += float(e.km.sum())
        self.vans += len(e.km)
        self.carrier += e.carrier.tolist()

    def on_delivered(self, e: Delivered):
        self.sorted |= dict(zip(e.parcels.id.tolist(), e.parcels.sorted_h.tolist(), strict=True))


def one_station(write, mode: str, engine: str):
    path = write(
        "one.yaml",
        f"""
        name: one
        region: small
        horizon: {{start: 2018-01-01, days: 1}}
        stations: {{rural: {{target: 1}}}}
        trunk: {{waves_h: [4]}}
        warehouses: {{sorting_rate_per_h: 60, shift_h: [0, 24], cutoff_h: 1}}
        couriers: {{van_capacity: 10, vans_per_county: 2, travel_noise_cv: 0, mode: {mode},
                   carriers: {{postal: {{share: 0.5}}, zto: {{share: 0.5}}}}}}
        simulation: {{warmup_days: 0, engine: {engine}}}
        """,
    )
    return load_scenario(path).scenario


@pytest.mark.parametrize("engine", list(ENGINES))
def test_hand_case_two_carriers_one_station(write, engine):
    """Two parcels of each carrier reach the warehouse at 04:00 for a station 10 km away.
    Separate: each carrier sorts its own two on its half of the line (30 an hour: 04:02 and
    04:04) and sends its own van: two round trips of 20 km. Joint: one line sorts all four at
    60 an hour (04:01 ... 04:04) and one van drives 20 km."""
    rows = [(0, 0, 0.5 + i / 10, 3.0, carrier) for i, carrier in enumerate((0, 1, 0, 1))]
    out = {}
    for mode in ("separate", "joint"):
        model = Model(one_village_network(), one_station(write, mode, engine), orders=scripted(rows))
        record = Record()
        ENGINES[engine](model, 0, Bus([record])).run()
        out[mode] = record
    sep, joint = out["separate"], out["joint"]
    assert sep.vans == 2 and sorted(sep.carrier) == [0, 1] and sep.km == pytest.approx(40.0)
    assert joint.vans == 1 and joint.carrier == [-1] and joint.km == pytest.approx(20.0)
    minute = 1 / 60
    assert [sep.sorted[i] for i in range(4)] == pytest.approx(
        [4 + 2 * minute, 4 + 2 * minute, 4 + 4 * minute, 4 + 4 * minute]
    )
    assert [joint.sorted[i] for i in range(4)] == pytest.approx([4 + k * minute for k in (1, 2, 3, 4)])


def fast_and_reference_agree(write, mode: str, extra: list[str]):
    """KPIs of both engines on a hard case with three carriers in `mode`, checked equal, counter
    by counter and per carrier; returns them."""
    loaded = small(
        write,
        *PRESSURE,
        *extra,
        THREE,
        f"couriers.mode={mode}",
        "simulation.warmup_days=2",
        days=10,
        villages=40,
    )
    (fast, _), (ref, _) = both(loaded, build_network(loaded))
    assert_same_kpis(fast, ref)
    np.testing.assert_array_equal(fast.carrier_delivered, ref.carrier_delivered)
    np.testing.assert_array_equal(fast.carrier_hand.hist, ref.carrier_hand.hist)
    np.testing.assert_allclose(fast.carrier_vans, ref.carrier_vans, rtol=1e-12)
    return fast, ref


@pytest.mark.parametrize("mode", ["separate", "joint"])
@pytest.mark.parametrize("randomness", ["deterministic", "random"])
def test_fast_engine_equals_reference_with_carriers(write, mode, randomness):
    extra = NO_RANDOMNESS if randomness == "deterministic" else []
    fast, _ = fast_and_reference_agree(write, mode, extra)
    assert fast.refused.sum() > 50 and fast.delivered.sum() > 150  # a hard case, and parcels got through
    own = fast.carrier_vans[:3, 2]  # routes driven by each carrier's own fleets
    assert (own > 0).all() if mode == "separate" else (own == 0).all()


def test_joint_mode_with_carriers_changes_nothing_but_who_carries(write):
    """Carriers are drawn from a stream of their own: one pooled fleet carrying five brands runs
    exactly as one carrying a single brand."""
    runs = []
    for sets in ([], [FIVE]):
        loaded = small(write, *PRESSURE, *sets, days=8, villages=40)
        (fast, _), _ = both(loaded, build_network(loaded))
        runs.append(fast)
    assert_same_kpis(*runs)
    assert runs[1].carrier_delivered.sum() == runs[0].delivered.sum()


def test_parcels_are_drawn_by_market_share(write):
    loaded = small(write, THREE, "couriers.mode=separate", days=15)
    model = Model(build_network(loaded), loaded.scenario)
    kpi = kpi_observer(model)
    ENGINES["fast"](model, 4, Bus([kpi])).run()
    n = kpi.carrier_delivered.sum()
    share = kpi.carrier_delivered / n
    assert n > 5000
    sd = np.sqrt(np.array([0.5, 0.3, 0.2]) * (1 - np.array([0.5, 0.3, 0.2])) / n)
    assert np.all(np.abs(share - [0.5, 0.3, 0.2]) < 4 * sd)
    summary = kpi.summary(cost_per_km=1.5, cost_per_hour=40.0, shift_h=10.0)["carriers"]
    assert list(summary) == ["postal", "zto", "yunda"]
    assert all(c["fleet"] == "own" and c["van_km"] > 0 for c in summary.values())
    assert sum(c["van_km"] for c in summary.values()) == pytest.approx(kpi.van["km"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_joint_never_drives_more_than_separate(write, seed):
    """Same demand (common random numbers), same stations: pooling the carriers' parcels on
    one fleet per county drives fewer km, in fewer van hours, for the same parcels."""
    five = carriers(a=0.3, b=0.25, c=0.2, d=0.15, e=0.1)
    out = kpis_by_mode(write, five, ("separate", "joint"), seed)
    sep, joint = out["separate"], out["joint"]
    np.testing.assert_array_equal(sep.ordered_by_county, joint.ordered_by_county)
    assert joint.van["km"] < sep.van["km"] and joint.van["hours"] < sep.van["hours"]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "couriers.carriers={a: {share: 0.5}, b: {share: 0.4}}",
            "market shares must add up to 1 (they add up to 0.9)",
        ),
        ("couriers.mode=shared", "'joint', 'separate' or 'township'"),
        ("couriers.carriers={a: {share: 0}}", "couriers.carriers.a.share: must be > 0 (got 0)"),
        ("couriers.carriers={a: {share: 1, vans: 3}}", "couriers.carriers.a.vans: unknown field"),
    ],
)
def test_bad_carriers_are_named(write, setting, message):
    path = write("c.yaml", "name: c\nregion: small\n")
    with pytest.raises(InputError) as err:
        load_scenario(path, [setting])
    assert message in str(err.value) and "couriers" in str(err.value)


@pytest.mark.slow
def test_run_reports_van_km_and_cost_per_parcel_for_each_mode(tmp_path, capsys):
    """As a new user would: `ruralsim run small --set couriers.mode=...` says what the vans drove
    and cost a parcel (per carrier when each runs its own fleet), and what produce reached the
    city; standard output is the run folder alone."""
    from analysis.cli import main

    km = {}
    for mode in ("separate", "joint", "township"):
        out = tmp_path / mode
        args = [
            "run",
            "small",
            "--out",
            str(out),
            "--days",
            "5",
            "--quiet",
            "--set",
            THREE,
            "--set",
            f"couriers.mode={mode}",
        ]
        assert main(args) == 0
        captured = capsys.readouterr()
        assert captured.out.strip() == str(out)
        head = captured.err
        assert f"vans ({mode}:" in head and "yuan a parcel" in head and "produce:" in head
        assert ("  postal:" in head) == (mode != "joint")
        metrics = json.loads((out / "metrics.json").read_text())
        km[mode] = metrics["simulation"]["vans"]["km"]
        assert f"{km[mode]:,.0f} km" in head
        assert list(metrics["simulation"]["carriers"]) == ["postal", "zto", "yunda"]
        assert (out / "report.html").exists()
    assert km["joint"] < km["township"] < km["separate"]


def test_every_random_stream_has_its_own_number():
    from sim.core import ids

    numbers = [v for k, v in vars(ids).items() if k.startswith("STREAM_")]
    assert len(numbers) == len(set(numbers)) >= 9
