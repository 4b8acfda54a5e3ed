"""Simulation benchmarks (issue 5), on one core (`make bench` pins the process).

- lishui-2018, one simulated year, 2,500 rural + 300 community stations: target 60 s wall and
  4 GB peak memory; reports parcels simulated per second. Route planning (PyVRP, cached on disk)
  is timed apart from the simulation, as the issue asks.
- The same scenario over 14 days, fast engine vs the per-parcel reference model in the same
  process: target at least 50x faster, with lead times that agree.

Each benchmark asserts the work it did (parcels, van stops).
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from sim.network import build_network
from sim.replicate import simulate
from sim.scenario import load_scenario

LISHUI = Path(__file__).resolve().parents[2] / "scenarios" / "lishui-2018.yaml"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one_year(seed: int) -> dict:
    """Run in a fresh process, so that its peak RSS is the simulation's own (route plans first,
    from the disk cache when present, timed apart)."""
    loaded = load_scenario(LISHUI)
    network = build_network(loaded)
    simulate(network, load_scenario(LISHUI, ["simulation.days=1"]), seed)
    run = simulate(network, loaded, seed)
    return {
        "summary": run.summary,
        "parcels": run.parcels,
        "simulation_s": run.simulation_s,
        "planning_s": run.planning_s,
        "peak_mb": _peak_rss_mb(),
    }


def test_lishui_one_year(benchmark):
    seed = load_scenario(LISHUI).scenario.seed
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        run = benchmark.pedantic(lambda: pool.submit(_one_year, seed).result(), rounds=1, iterations=1)
    s, peak = run["summary"], run["peak_mb"]
    assert s["parcels_at_end"]["reconciled"] and run["parcels"] > 30_000_000
    assert s["vans"]["stops_visited"] > 500_000
    rate = run["parcels"] / run["simulation_s"]
    benchmark.extra_info.update(
        parcels=run["parcels"], parcels_per_s=rate, peak_rss_mb=peak, route_planning_s=run["planning_s"]
    )
    print(
        f"\nlishui-2018, one year: simulation {run['simulation_s']:.1f} s for {run['parcels']:,} parcels "
        f"({rate:,.0f} parcels/s), {s['vans']['stops_visited']:,} van stops; route planning "
        f"{run['planning_s']:.1f} s (cached); peak RSS of the simulating process {peak:,.0f} MB "
        "(targets 60 s, 4 GB)"
    )
    assert run["simulation_s"] < 60 and peak < 4096


def test_fast_vs_reference_14_days(benchmark):
    fast = load_scenario(LISHUI, ["simulation.days=14"])
    ref = load_scenario(LISHUI, ["simulation.days=14", "simulation.engine=reference"])
    network = build_network(fast)
    simulate(network, fast, 1)  # plans routes
    start = time.perf_counter()
    reference = simulate(network, ref, 1)
    reference_s = time.perf_counter() - start
    run = benchmark.pedantic(simulate, args=(network, fast, 1), rounds=1, iterations=1)
    ratio = reference_s / benchmark.stats.stats.min
    a, b = run.summary["total"], reference.summary["total"]
    print(
        f"\nlishui-2018, 14 days: fast {benchmark.stats.stats.min:.2f} s, reference {reference_s:.1f} s: "
        f"{ratio:.0f}x faster (target 50x)"
    )
    for key in ("order_to_available_h", "order_to_hand_h"):
        print(
            f"  {key}: mean {a[key]['mean_h']} vs {b[key]['mean_h']}, p50 {a[key]['p50_h']} vs "
            f"{b[key]['p50_h']}, p90 {a[key]['p90_h']} vs {b[key]['p90_h']} (fast vs reference)"
        )
        assert a[key]["p50_h"] == pytest.approx(b[key]["p50_h"], rel=0.02)
        assert a[key]["p90_h"] == pytest.approx(b[key]["p90_h"], rel=0.02)
    assert run.summary["parcels_at_end"]["ordered"] > 1_000_000
    benchmark.extra_info.update(reference_s=reference_s, speedup=ratio)
    assert ratio >= 50
