"""One scenario run: network, coverage by year, and the run folder's files."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis.coverage import Access, access, summarise
from analysis.export import read_gpkg, region_layers, write_geojson, write_gpkg
from analysis.maps import planning_map
from analysis.plots import lead_time_plot
from analysis.runfolder import atomic_dir, default_run_dir
from geo.errors import RuralsimError
from geo.placement import NO_STATION
from geo.region import VILLAGE_COLUMNS
from sim.network import Network, build_network
from sim.replicate import SimulationRun, confidence, replicate
from sim.scenario import LoadedScenario, Scenario, load_scenario


def run(
    loaded: LoadedScenario,
    *,
    out: Path | None = None,
    runs_root: Path = Path("runs"),
    progress: bool | None = None,
    workers: int | None = None,
) -> Path:
    """Run `loaded` and write its folder (`out`, or a new one under `runs_root`); return it.

    `progress` shows progress bars on stderr (None: only when stderr is a terminal); `workers`
    caps the local processes for replications.
    """
    scenario = loaded.scenario
    resolved = loaded.resolved_yaml()
    final = out if out is not None else default_run_dir(runs_root, scenario.name, resolved)
    quiet = None if progress is None else not progress
    with tqdm(total=2, desc=f"{scenario.name}: network", unit="step", disable=quiet, leave=False) as bar:
        network = build_network(loaded)
        bar.update()
        by_year = {year: access(network, year) for year in network.plan.years}
        metrics = coverage_metrics(loaded, network, by_year)
        bar.update()
    timings: dict[str, Any] = {}
    runs: list[SimulationRun] = []
    if scenario.simulation.enabled:
        days = simulated_days(scenario)
        with tqdm(
            total=days, desc=f"{scenario.name}: simulating", unit="day", disable=quiet, leave=False
        ) as bar:
            runs = replicate(loaded, network, workers=workers, progress=bar)
        metrics["simulation"] = runs[0].summary
        if len(runs) > 1:
            metrics["replications"] = {
                "seeds": [scenario.seed + r for r in range(len(runs))],
                "figures": confidence(runs),
            }
        timings = {
            "route_planning_s": round(runs[0].planning_s, 3),
            "simulation_s": round(runs[0].simulation_s, 3),
            "parcels_simulated": runs[0].parcels,
            "parcels_per_s": round(runs[0].parcels / max(runs[0].simulation_s, 1e-9)),
        }
    with atomic_dir(final) as tmp:
        (tmp / "scenario.resolved.yaml").write_text(resolved, encoding="utf-8")
        _write_json(tmp / "metrics.json", metrics)
        _write_json(tmp / "run.json", {"ruralsim_version": version("ruralsim"), **timings})
        last = network.plan.years[-1]
        if scenario.outputs.villages_csv:
            table = villages_table(network, by_year[last])
            if runs:
                table["order_to_hand_mean_h"] = np.round(runs[0].village_hand_h, 2)
            table.to_csv(tmp / "villages.csv", index=False)
        if scenario.outputs.gpkg:
            write_gpkg(region_layers(network, by_year[last], last), tmp / "region.gpkg")
        if scenario.outputs.map:
            for year in network.plan.years:
                name = "map.png" if year == last else f"map_{year}.png"
                draw_map(loaded, network, by_year[year], year, metrics["years"][str(year)], tmp / name)
            if runs:
                draw_lead_time_map(loaded, network, runs[0], last, tmp / "map_lead_time.png")
        if runs and scenario.outputs.lead_times_png:
            lead_time_plot(
                runs[0].cdfs,
                title=f"{scenario.name}: lead times by delivery point",
                path=tmp / "lead_times.png",
            )
    return final


def simulated_days(scenario: Scenario) -> int:
    """Days the simulation runs, warm-up included."""
    horizon = (scenario.horizon.end - scenario.horizon.start).days
    return min(scenario.simulation.days or horizon, horizon) + scenario.simulation.warmup_days


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def coverage_metrics(loaded: LoadedScenario, network: Network, by_year: dict[int, Access]) -> dict[str, Any]:
    """The content of `metrics.json`: region counts and coverage per year, total and per county."""
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
        "total_km": round(roads.total_km(), 1),
        "km_by_class": {c: round(roads.total_km(c), 1) for c in classes},
        "nodes": roads.n_nodes,
        "roads": len(roads.road_km),
        "flagged_connectors": int(roads.road_flagged.sum()),
    }


def villages_table(network: Network, acc: Access) -> pd.DataFrame:
    """`villages.csv`: the village columns, station year, and access to the nearest station."""
    table = pd.DataFrame(network.region.villages[list(VILLAGE_COLUMNS)])
    table = table.round({"x": 1, "y": 1, "lon": 6, "lat": 6})
    built = network.plan.year_built
    table["station_year"] = pd.array(np.where(built == NO_STATION, None, built), dtype="Int64")
    table["nearest_station"] = acc.station_id
    table["nearest_station_kind"] = acc.station_kind
    table["distance_to_station_km"] = np.round(acc.distance_km, 4)
    table["time_to_station_min"] = np.round(acc.minutes, 3)
    return table


def draw_lead_time_map(
    loaded: LoadedScenario, network: Network, sim: SimulationRun, year: int, path: Path
) -> None:
    """The planning map coloured by each village's mean order-to-hand time."""
    total = sim.summary["total"]["order_to_hand_h"]
    planning_map(
        network.region,
        sim.village_hand_h,
        network.plan.sites(year),
        network.community,
        title=f"{loaded.scenario.name} — {year}: order to parcel in hand",
        subtitle=f"mean {total['mean_h']} h, p90 {total['p90_h']} h, {total['parcels']:,} parcels picked up",
        path=path,
        dpi=loaded.scenario.outputs.map_dpi,
        roads=None if network.roads is None else network.roads.to_geodataframe(),
        value_label="mean hours from order to parcel in hand",
    )


def draw_map(
    loaded: LoadedScenario, network: Network, acc: Access, year: int, figures: dict[str, Any], path: Path
) -> None:
    scenario = loaded.scenario
    total = figures["total"]
    radius = scenario.stations.rural.coverage_km
    subtitle = (
        f"{total['population_covered_share']:.1%} of village residents within {radius:g} km of a station; "
        f"{total['villages_with_station']:,} of {total['villages']:,} villages have one"
    )
    label = "road distance to nearest station, km" + ("" if network.roads is not None else " (estimated)")
    planning_map(
        network.region,
        acc.distance_km,
        network.plan.sites(year),
        network.community,
        title=f"{scenario.name} — {year}: {figures['stations']['rural']:,} rural + "
        f"{figures['stations']['community']:,} community stations",
        subtitle=subtitle,
        roads=None if network.roads is None else network.roads.to_geodataframe(),
        path=path,
        dpi=scenario.outputs.map_dpi,
        value_label=label,
    )


def export_run(run_dir: Path, fmt: str) -> Path:
    """Write `run_dir`'s GIS layers as `region.gpkg` or `geojson/`; return what was written.
    Layers come from the run's `region.gpkg` when it has one, else from its resolved scenario."""
    gpkg = run_dir / "region.gpkg"
    if gpkg.is_file():
        layers = read_gpkg(gpkg)
    else:
        resolved = run_dir / "scenario.resolved.yaml"
        if not resolved.is_file():
            raise RuralsimError(f"{run_dir}: not a run folder (no scenario.resolved.yaml)")
        network = build_network(load_scenario(resolved))
        year = network.plan.years[-1]
        layers = region_layers(network, access(network, year), year)
    if fmt == "gpkg":
        if not gpkg.is_file():
            write_gpkg(layers, gpkg)
        return gpkg
    write_geojson(layers, run_dir / "geojson")
    return run_dir / "geojson"
