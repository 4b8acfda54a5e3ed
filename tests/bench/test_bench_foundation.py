"""Foundation benchmarks: the Lishui preset end to end, and nearest-station search.

Each benchmark asserts the work it did, so it cannot silently time a model that stopped working.
Run with `make bench`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from analysis.coverage import access, summarise
from geo import presets
from geo.distance import StraightLine
from geo.synthetic import generate
from sim.network.build import build_network
from sim.scenario.load import load_scenario

LISHUI = Path(__file__).resolve().parents[2] / "scenarios" / "lishui-2018.yaml"


def test_generate_lishui_region(benchmark):
    region = benchmark(generate, presets.lishui(), seed=2018)
    assert (len(region.counties), len(region.townships), len(region.villages)) == (9, 173, 2725)


def test_lishui_network_and_coverage(benchmark):
    loaded = load_scenario(LISHUI)

    def work():
        network = build_network(loaded)
        acc = access(network, 2018)
        v = network.region.villages
        return summarise(
            list(network.region.counties["county"]),
            v["county"].to_numpy(),
            v["population"].to_numpy(),
            acc,
            3.0,
        )

    summary = benchmark(work)
    assert summary["total"]["villages"] == 2725 and summary["total"]["villages_with_station"] == 2500
    assert len(summary["by_county"]) == 9


def test_nearest_station_kdtree_vs_full_matrix(benchmark, lishui_region):
    """Nearest of 2,800 stations for 2,725 villages: KD-tree against the full-matrix baseline."""
    xy = lishui_region.village_xy
    rng = np.random.default_rng(0)
    stations = xy[rng.choice(len(xy), 2500, replace=False)]
    stations = np.vstack([stations, lishui_region.township_xy[rng.integers(0, 173, 300)]])
    circuity = lishui_region.village_circuity()
    model = StraightLine()

    start = time.perf_counter()
    baseline = model.matrix(xy, stations, origin_circuity=circuity).km.min(axis=1)
    baseline_s = time.perf_counter() - start

    near = benchmark(model.nearest, xy, stations, origin_circuity=circuity)
    assert len(near.index) == 2725 and np.allclose(near.km, baseline)
    benchmark.extra_info["full_matrix_baseline_s"] = baseline_s
    benchmark.extra_info["speedup_vs_full_matrix"] = ratio = baseline_s / benchmark.stats.stats.min
    print(
        f"\nnearest station, 2,725 villages x 2,800 stations: full matrix {baseline_s * 1e3:.1f} ms, "
        f"KD-tree {benchmark.stats.stats.min * 1e3:.2f} ms ({ratio:.0f}x faster)"
    )
