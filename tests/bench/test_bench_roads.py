"""Road-network benchmarks (issue 3): build the Lishui network and its travel-time matrices.

Targets: network + full 2,725 x 2,725 village matrix (km and minutes) within 10 s and 1 GB peak
on one core. Each benchmark asserts the work it did. Memory is the tracemalloc peak (numpy and
scipy allocate through it).
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
from scipy.sparse.csgraph import shortest_path

from geo.synroads import synthetic_roads
from geo.travel import RoadTravel


def _network_and_matrix(region):
    roads = synthetic_roads(region, total_km=15_680, expressway_km=419)
    return roads, RoadTravel(roads).matrix(region.village_xy, region.village_xy)


def test_lishui_network_and_full_village_matrix(benchmark, lishui_region):
    tracemalloc.start()
    roads, travel = _network_and_matrix(lishui_region)
    peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert travel.km.shape == (2725, 2725) and np.isfinite(travel.km).all()
    assert np.isfinite(travel.minutes).all()

    roads, travel = benchmark.pedantic(_network_and_matrix, args=(lishui_region,), rounds=3, iterations=1)
    seconds = benchmark.stats.stats.min
    start = time.perf_counter()
    shortest_path(roads.graph("km"), method="D", directed=True)  # naive: from every node
    all_nodes_s = time.perf_counter() - start
    benchmark.extra_info.update(peak_mb=peak_mb, all_nodes_dijkstra_s=all_nodes_s)
    print(
        f"\nlishui roads ({roads.total_km():,.0f} km, {roads.n_nodes} nodes) + 2,725 x 2,725 km and minutes: "
        f"{seconds:.2f} s, peak {peak_mb:.0f} MB (targets 10 s, 1 GB); one all-nodes Dijkstra (km only) "
        f"{all_nodes_s:.2f} s"
    )
    assert seconds < 10 and peak_mb < 1024


def test_lishui_villages_to_2800_stations_within_30_km(benchmark, lishui_region):
    roads = synthetic_roads(lishui_region, total_km=15_680, expressway_km=419)
    travel = RoadTravel(roads)
    rng = np.random.default_rng(0)
    stations = np.vstack(
        [
            lishui_region.village_xy[rng.choice(2725, 2500, replace=False)],
            lishui_region.township_xy[rng.integers(0, 173, 300)],
        ]
    )
    result = benchmark(travel.matrix, lishui_region.village_xy, stations, cutoff_km=30.0)
    reachable = np.isfinite(result.km)
    assert result.km.shape == (2725, 2800) and reachable.any() and (result.km[reachable] <= 30).all()
    print(
        f"\nlishui villages x 2,800 stations, 30 km cut-off: {benchmark.stats.stats.min:.2f} s, "
        f"{reachable.mean():.1%} of pairs within 30 km"
    )
