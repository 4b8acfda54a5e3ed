"""Running the simulation: one seed, or several replications with confidence intervals.

Replication `r` of a scenario with seed `s` uses seed ``s + r``: replication 0 is the plain run,
and two scenarios compared with one seed share their random numbers (common random numbers).
Replications are independent tasks run in local processes; results are identical whatever the
number of processes, because each task's randomness comes from its own seed alone.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from geo.travel import default_cache_dir
from sim.engine import Engine
from sim.network import Network, build_network
from sim.points import POINT_TYPES
from sim.reference import ReferenceEngine
from sim.scenario import LoadedScenario


@dataclass(frozen=True)
class SimulationRun:
    """The summary of one run (`metrics.json` "simulation"), per-village mean order-to-hand
    hours (NaN where no parcel was picked up), lead-time CDFs by point type, and timings."""

    summary: dict[str, Any]
    village_hand_h: np.ndarray
    cdfs: dict[str, tuple[np.ndarray, np.ndarray]]
    planning_s: float
    simulation_s: float
    parcels: int


def simulate(network: Network, loaded: LoadedScenario, seed: int, *, progress=None) -> SimulationRun:
    """One run of the engine named in the scenario."""
    scenario = loaded.scenario
    chosen = ReferenceEngine if scenario.simulation.engine == "reference" else Engine
    engine = chosen(network, scenario, seed, cache_dir=default_cache_dir(), progress=progress)
    result = engine.run()
    kpi = result.kpi
    c = scenario.couriers
    summary = kpi.summary(
        result.points.county_names,
        cost_per_km=c.cost_per_km,
        cost_per_hour=c.cost_per_hour,
        shift_h=c.shift_h,
    )
    summary["route_plans"] = {
        str(year): {
            "vans": int(sum(int(p.vans.sum()) for p in plans)),
            "routes": int(sum(len(p.routes) for p in plans)),
            "counties_over_fleet_or_shift": [
                name for name, p in zip(result.points.county_names, plans, strict=True) if not p.feasible
            ],
        }
        for year, plans in result.plans.items()
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        hand = kpi.village_hand_sum / kpi.village_hand_count

    cdfs = {
        f"{kind}/{name}": lead.cdf(kpi.groups_where(point_type=i))
        for i, name in enumerate(POINT_TYPES)
        for kind, lead in (("available", kpi.available), ("hand", kpi.in_hand))
    }
    return SimulationRun(summary, hand, cdfs, result.planning_s, result.simulation_s, int(kpi.ordered.sum()))


def _task(args: tuple[LoadedScenario, int]) -> SimulationRun:
    loaded, seed = args
    return simulate(build_network(loaded), loaded, seed)


def replicate(
    loaded: LoadedScenario, network: Network, *, workers: int | None = None, progress=None
) -> list[SimulationRun]:
    """Every replication of the scenario, in seed order. The first runs here (with the progress
    bar); the others in up to `workers` local processes."""
    n = loaded.scenario.simulation.replications
    seed = loaded.scenario.seed
    first = simulate(network, loaded, seed, progress=progress)
    if n == 1:
        return [first]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rest = list(pool.map(_task, [(loaded, seed + r) for r in range(1, n)]))
    return [first, *rest]


def confidence(runs: list[SimulationRun]) -> dict[str, dict[str, float]]:
    """Mean and 95% confidence interval (Student t) of every numeric figure across runs, by
    dotted path."""
    leaves = [dict(_numbers(r.summary)) for r in runs]
    out = {}
    for path in leaves[0]:
        values = np.array([leaf.get(path, np.nan) for leaf in leaves], dtype=float)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            continue
        mean = float(values.mean())
        half = 0.0
        if len(values) > 1:
            half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
        out[path] = {
            "mean": round(mean, 4),
            "ci95_low": round(mean - half, 4),
            "ci95_high": round(mean + half, 4),
        }
    return out


def _numbers(tree: Any, prefix: str = ""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _numbers(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(tree, bool):
        return
    elif isinstance(tree, int | float | np.integer | np.floating):
        yield prefix, float(tree)
