"""One scenario evaluated: its network, coverage by year and simulation runs, with every figure
of `metrics.json` unrounded. Writing files is `analysis.run`'s job; comparisons and sweeps
evaluate many scenarios with this and write their own tables."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import pandas as pd
from tqdm import tqdm

from analysis.coverage import Access, access, summarise
from sim.engine.model import simulated_days
from sim.network.build import Network, build_network
from sim.run import SimulationRun, confidence, replicate
from sim.scenario.load import LoadedScenario


@dataclass(frozen=True)
class Evaluation:
    """`metrics` (what `metrics.json` holds, unrounded), the `network`, `access` per plan year,
    the simulation `runs` (replications in seed order; none when disabled) and `timings`."""

    loaded: LoadedScenario
    network: Network
    access: dict[int, Access]
    metrics: dict[str, Any]
    runs: list[SimulationRun]
    timings: dict[str, float]


def evaluate(
    loaded: LoadedScenario, *, progress: bool | None = None, workers: int | None = None
) -> Evaluation:
    """Build the network, measure coverage per year and simulate (with replications).

    `progress` shows progress bars on stderr (None: only when stderr is a terminal); `workers`
    caps the local processes for replications."""
    scenario = loaded.scenario
    quiet = None if progress is None else not progress
    with tqdm(total=2, desc=f"{scenario.name}: network", unit="step", disable=quiet, leave=False) as bar:
        network = build_network(loaded)
        bar.update()
        by_year = {year: access(network, year) for year in network.plan.years}
        metrics = coverage_metrics(loaded, network, by_year)
        bar.update()
    runs: list[SimulationRun] = []
    timings: dict[str, float] = {}
    if scenario.simulation.enabled:
        with tqdm(
            total=sum(simulated_days(scenario)),
            desc=f"{scenario.name}: simulating",
            unit="day",
            disable=quiet,
            leave=False,
        ) as bar:
            runs = replicate(loaded, network, workers=workers, progress=bar)
        metrics |= run_metrics(metrics, runs[0], network, scenario.stations.rural.coverage_km)
        if len(runs) > 1:
            metrics["replications"] = {
                "seeds": [scenario.seed + r for r in range(len(runs))],
                "figures": confidence(runs),
            }
        timings = {
            "route_planning_s": runs[0].planning_s,
            "simulation_s": runs[0].simulation_s,
            "parcels_simulated": runs[0].parcels,
            "parcels_per_s": runs[0].parcels / max(runs[0].simulation_s, 1e-9),
        }
    return Evaluation(loaded, network, by_year, metrics, runs, timings)


def run_metrics(
    coverage: dict[str, Any], run: SimulationRun, network: Network, radius_km: float
) -> dict[str, Any]:
    """The `metrics.json` parts of a simulation run: `simulation`, `subsidies` (with yuan per
    covered resident of the final year, from `coverage`) and `stations_survival` (with the
    residents within `radius_km` of a station still open at the end: the plan's last year
    without the stations whose operators quit)."""
    summary = dict(run.summary)
    subsidies, survival = summary.pop("subsidies"), summary.pop("stations_survival")
    covered = coverage["years"][max(coverage["years"])]["total"]["population_covered"]
    stations = run.stations
    closed: frozenset[str] = frozenset()
    if len(stations):
        rural = stations[(stations["kind"] == "rural_station") & stations["closed_on"].notna()]
        closed = frozenset(rural["station"].astype(str))
    still = access(network, network.plan.years[-1], closed)
    population = network.region.villages["population"].to_numpy()
    open_covered = float(population[still.distance_km <= radius_km].sum())
    survival = {
        **survival,
        "population_covered_by_open_at_end": open_covered,
        "population_covered_by_open_at_end_share": open_covered / population.sum()
        if population.sum()
        else None,
    }
    subsidies = {
        **subsidies,
        "per_covered_resident_yuan": subsidies["total_yuan"] / covered if covered else None,
    }
    return {"simulation": summary, "subsidies": subsidies, "stations_survival": survival}


def coverage_metrics(loaded: LoadedScenario, network: Network, by_year: dict[int, Access]) -> dict[str, Any]:
    """Region counts and coverage per year, total and per county."""
    scenario = loaded.scenario
    region = network.region
    villages = region.villages
    county = villages["county"].to_numpy()
    community_by_county = (
        pd.Series(network.community, index=region.townships["county"]).groupby(level=0).sum()
    )
    years: dict[str, Any] = {}
    for year, acc in by_year.items():
        summary = summarise(
            list(region.counties["county"]),
            county,
            villages["population"].to_numpy(),
            acc,
            scenario.stations.rural.coverage_km,
            scenario.stations.rural.coverage_minutes,
        )
        for name, figures in summary["by_county"].items():
            figures["community_stations"] = int(community_by_county.get(name, 0))
        summary["total"]["community_stations"] = int(network.community.sum())
        years[str(year)] = {
            "stations": {"rural": int(acc.has_station.sum()), "community": int(network.community.sum())},
            **summary,
        }
    last = years[str(network.plan.years[-1])]
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "ruralsim_version": version("ruralsim"),
        "region": {
            "preset": scenario.region.preset,
            "crs": region.crs,
            "counties": len(region.counties),
            "townships": len(region.townships),
            "villages": len(villages),
            "population": int(region.counties["population"].sum()),
            "village_population": int(villages["population"].sum()),
            "villages_synthetic": bool(villages["synthetic"].all()),
            "county_boundaries_approximate": bool(region.counties["boundary_approximate"].all()),
        },
        "distance_model": network.distances.description,
        "roads": road_metrics(network),
        "notes": list(network.notes),
        "circuity": dict(
            zip(region.counties["county"], region.counties["circuity"].astype(float), strict=True)
        ),
        "placement": scenario.stations.rural.placement,
        "coverage_km": scenario.stations.rural.coverage_km,
        "coverage_minutes": scenario.stations.rural.coverage_minutes,
        "stations": last["stations"],
        "years": years,
    }


def road_metrics(network: Network) -> dict[str, Any] | None:
    """Length by class (km), nodes and flagged connectors of the road network (None without)."""
    roads = network.roads
    if roads is None:
        return None
    classes = sorted(set(roads.road_class.astype(str)))
    return {
        "total_km": roads.total_km(),
        "km_by_class": {c: roads.total_km(c) for c in classes},
        "nodes": roads.n_nodes,
        "roads": len(roads.road_km),
        "flagged_connectors": int(roads.road_flagged.sum()),
    }
