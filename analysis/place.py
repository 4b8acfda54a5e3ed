"""`ruralsim place`: solve one placement for a scenario's region and write it as a GeoPackage."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from analysis.coverage import weighted_quantile
from analysis.export import write_gpkg
from geo.placement import STRATEGIES, Placement, PlacementError, solve
from sim.network.build import build_distances, build_region, check_region, shop_villages, village_cost_km
from sim.scenario.load import LoadedScenario


def place(
    loaded: LoadedScenario,
    *,
    strategy: str,
    exact: bool = False,
    radius_km: float | None = None,
    p: int | None = None,
    time_limit_s: float | None = None,
    out: Path,
) -> tuple[Placement, list[str]]:
    """Place stations on the scenario's villages with `strategy` (p: the final year's target
    unless given; radius: `coverage_km` unless given), write `out`, and return the placement
    with the report lines the CLI prints."""
    scenario = loaded.scenario
    rural = scenario.stations.rural
    region = build_region(loaded)
    check_region(loaded, region)
    distances, _, _ = build_distances(loaded, region)
    targets = rural.targets(scenario.horizon.start.year)
    count = p if p is not None else targets[max(targets)]
    radius = radius_km if radius_km is not None else rural.coverage_km
    weights = region.villages["population"].to_numpy(dtype=float)
    cost = village_cost_km(region, distances)
    try:
        placed = solve(
            cost if STRATEGIES[strategy].needs_cost else None,
            weights,
            count,
            strategy,
            radius=radius,
            exact=exact,
            time_limit_s=time_limit_s,
            candidates=shop_villages(region),
            groups=region.villages["township"].to_numpy(),
            seed=scenario.seed,
        )
    except PlacementError as err:
        raise PlacementError(f"{strategy}: {err}") from None
    nearest = cost[:, placed.sites].min(axis=1) if len(placed.sites) else np.full(len(weights), np.inf)
    covered = weights[nearest <= radius].sum()
    lines = report(placed, strategy, count, len(weights), radius, weights, nearest, covered)
    write_gpkg(plan_layers(region, placed, cost), out)
    lines.append(f"plan written to {out}")
    return placed, lines


def report(placed: Placement, strategy, count, n, radius, weights, nearest, covered) -> list[str]:
    """What `ruralsim place` prints: stations, coverage, distances, objective, bound, time."""
    lines = []
    if STRATEGIES[strategy].chooses_count:
        bound = "" if placed.lower_bound is None else f" (lower bound {placed.lower_bound:,.0f})"
        lines.append(f"full coverage within {radius:g} km takes {len(placed.sites):,} stations{bound}")
    else:
        lines.append(f"{strategy}: {len(placed.sites):,} stations among {n:,} villages")
    total = weights.sum()
    lines.append(
        f"covered population within {radius:g} km: {covered:,.0f} of {total:,.0f} ({covered / total:.2%})"
    )
    if np.isfinite(nearest).all():
        lines.append(
            f"distance to the nearest station: mean {np.average(nearest, weights=weights):.2f} km, "
            f"p95 {weighted_quantile(nearest, weights, 0.95):.2f} km (residents)"
        )
    kind = "upper" if STRATEGIES[strategy].maximises else "lower"
    bound = "unknown" if placed.lower_bound is None else f"{placed.lower_bound:,.4g}"
    gap = "" if placed.gap is None else f", gap {placed.gap:.3%}"
    status = "proven optimal" if placed.optimal else f"{kind} bound {bound}{gap}"
    lines.append(f"objective {placed.objective:,.6g} ({status}); runtime {placed.runtime_s:.2f} s")
    return lines


def plan_layers(region, placed: Placement, cost: np.ndarray) -> dict[str, gpd.GeoDataFrame]:
    """`stations` (the chosen villages) and `villages` (with their nearest chosen station)."""
    v = region.villages
    stations = v.iloc[placed.sites][["village_id", "name", "county", "township", "population", "geometry"]]
    villages = v[["village_id", "name", "county", "township", "population", "geometry"]].copy()
    if len(placed.sites):
        nearest = np.argmin(cost[:, placed.sites], axis=1)
        villages["station_id"] = v["village_id"].to_numpy()[placed.sites][nearest]
        villages["dist_km"] = np.round(cost[np.arange(len(v)), placed.sites[nearest]], 4)
    villages["has_station"] = np.isin(np.arange(len(v)), placed.sites)
    return {
        "stations": gpd.GeoDataFrame(stations, crs=region.crs),
        "villages": gpd.GeoDataFrame(villages, crs=region.crs),
    }
