"""`ruralsim run`: evaluate one scenario (`analysis.evaluate`) and write its run folder."""

from __future__ import annotations

from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.coverage import Access
from analysis.evaluate import Evaluation, evaluate
from analysis.export import region_layers, write_gpkg
from analysis.i18n import fonts, map_words
from analysis.maps import county_panels, planning_map, routes_map
from analysis.plots import lead_time_plot
from analysis.report import write_report
from analysis.runfolder import atomic_dir, check_free, default_run_dir, write_json
from geo.placement import NO_STATION
from geo.region import VILLAGE_COLUMNS
from sim.network.build import Network
from sim.run import SimulationRun
from sim.scenario.load import LoadedScenario


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
    resolved = loaded.resolved_yaml()
    final = out if out is not None else default_run_dir(runs_root, loaded.scenario.name, resolved)
    check_free(final)  # before the work, not after
    result = evaluate(loaded, progress=progress, workers=workers)
    with atomic_dir(final) as tmp:
        write_run(result, tmp)
    return final


def write_run(result: Evaluation, folder: Path) -> None:
    """Every file of a run folder, into `folder` (figures rounded as they are written)."""
    loaded, network, metrics = result.loaded, result.network, result.metrics
    scenario = loaded.scenario
    (folder / "scenario.resolved.yaml").write_text(loaded.resolved_yaml(), encoding="utf-8")
    write_json(folder / "metrics.json", metrics)
    write_json(folder / "run.json", {"ruralsim_version": version("ruralsim"), **result.timings})
    last = network.plan.years[-1]
    first_run = result.runs[0] if result.runs else None
    if first_run is not None:
        first_run.ledger.to_csv(folder / "ledger.csv", index=False)
        first_run.stations.round(2).to_csv(folder / "stations.csv", index=False)
        lead_time_table(first_run.cdfs).to_csv(folder / "lead_times.csv", index=False)
    if scenario.outputs.villages_csv:
        table = villages_table(network, result.access[last])
        if first_run is not None:
            table["order_to_hand_mean_h"] = np.round(first_run.village_hand_h, 2)
            if first_run.village_days_cut_off is not None:  # village-days cut off by typhoons
                table["days_cut_off"] = first_run.village_days_cut_off
        table.to_csv(folder / "villages.csv", index=False)
    if scenario.outputs.gpkg:
        write_gpkg(region_layers(network, result.access[last], last), folder / "region.gpkg")
    lang = scenario.outputs.language
    with fonts(lang):
        if scenario.outputs.map:
            closed = closed_sites(network, first_run)
            for year in network.plan.years:
                name = "map.png" if year == last else f"map_{year}.png"
                draw_map(
                    loaded,
                    network,
                    result.access[year],
                    year,
                    metrics["years"][str(year)],
                    folder / name,
                    closed if year == last else None,
                )
            draw_access_map(
                loaded, network, result.access[last], last, metrics, folder / "map_access_time.png"
            )
            draw_county_panels(
                loaded, network, result.access[last], last, closed, folder / "map_counties.png"
            )
            if first_run is not None:
                draw_lead_time_map(loaded, network, first_run, last, folder / "map_lead_time.png")
                day = scenario.horizon.start + timedelta(days=scenario.outputs.routes_day)
                routes_table(network, first_run).to_csv(folder / "routes.csv", index=False)
                routes_map(
                    network.region,
                    first_run.routes,
                    network.plan.sites(min(day.year, last)),
                    title=map_words(lang)["routes_title"].format(name=scenario.name, date=day.isoformat()),
                    path=folder / "map_routes.png",
                    dpi=scenario.outputs.map_dpi,
                    lang=lang,
                )
        if first_run is not None and scenario.outputs.lead_times_png:
            lead_time_plot(
                first_run.cdfs,
                title=map_words(lang)["lead_times"].format(name=scenario.name),
                path=folder / "lead_times.png",
                lang=lang,
            )
    if scenario.outputs.xlsx:
        write_tables(result, folder / "tables.xlsx")
    write_report(folder)


def lead_time_table(cdfs: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """`lead_times.csv`: hours (each bin's upper edge) and, per `available_<point>` and
    `hand_<point>`, the share of that point's parcels (0-1) available or in hand by then."""
    hours = next(iter(cdfs.values()))[0]
    table = {"hours": hours}
    for key, (_, share) in cdfs.items():
        kind, point = key.split("/")
        table[f"{kind}_{point}"] = np.round(share, 5)
    return pd.DataFrame(table)


def write_tables(result: Evaluation, path: Path) -> None:
    """`tables.xlsx` for spreadsheet users: per county and per year (final plan year's coverage,
    simulation figures), per station and year, and the ledger."""
    m = result.metrics
    last = m["years"][max(m["years"])]
    sim = m.get("simulation")
    county = pd.DataFrame.from_dict(last["by_county"], orient="index").rename_axis("county")
    if sim:
        for c, figures in sim["by_county"].items():
            hand = figures["order_to_hand_h"]
            county.loc[c, ["parcels_ordered", "order_to_hand_p50_h", "order_to_hand_p90_h"]] = (
                figures["parcels"]["ordered"],
                hand["p50_h"],
                hand["p90_h"],
            )
    years = pd.DataFrame(
        {y: {"rural_stations": f["stations"]["rural"], **f["total"]} for y, f in m["years"].items()}
    ).T.rename_axis("year")
    if m.get("subsidies"):
        years["subsidies_yuan"] = pd.Series(m["subsidies"]["by_year"])
    sheets = {"per county": county, "per year": years}
    if result.runs:
        sheets |= {"per station": result.runs[0].stations, "ledger": result.runs[0].ledger}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in sheets.items():
            table.to_excel(writer, sheet_name=name, index=name in ("per county", "per year"))


def villages_table(network: Network, acc: Access) -> pd.DataFrame:
    """`villages.csv`: the village columns, station year, and access to the nearest station."""
    table = pd.DataFrame(network.region.villages[list(VILLAGE_COLUMNS)])
    table = table.round({"x": 1, "y": 1, "lon": 6, "lat": 6})
    built = network.plan.year_built
    # numpy's stubs leave out None as a branch of where (an object array; Int64 makes it <NA>)
    station_year = np.where(built == NO_STATION, None, built)  # type: ignore[call-overload]
    table["station_year"] = pd.array(station_year, dtype="Int64")
    table["nearest_station"] = acc.station_id
    table["nearest_station_kind"] = acc.station_kind
    table["distance_to_station_km"] = np.round(acc.distance_km, 4)
    table["time_to_station_min"] = np.round(acc.minutes, 3)
    return table


def routes_table(network: Network, run: SimulationRun) -> pd.DataFrame:
    """`routes.csv`: the van routes that `map_routes.png` draws, one row per point in visiting
    order (route, county, x, y; the depot first and last), for the report's interactive map."""
    counties = network.region.counties["county"].astype(str).to_numpy()
    rows = [
        pd.DataFrame({"route": k, "county": counties[c], "x": xy[:, 0].round(1), "y": xy[:, 1].round(1)})
        for k, (c, xy) in enumerate(run.routes)
    ]
    return pd.concat(rows) if rows else pd.DataFrame(columns=["route", "county", "x", "y"])


def closed_sites(network: Network, run: SimulationRun | None) -> np.ndarray:
    """Villages whose station closed during the run (empty without a simulation)."""
    if run is None or not len(run.stations):
        return np.empty(0, dtype=np.int64)
    rural = run.stations[(run.stations["kind"] == "rural_station") & run.stations["closed_on"].notna()]
    ids = network.region.villages["village_id"].to_numpy()
    return np.flatnonzero(np.isin(ids, rural["station"].unique()))


def _roads(network: Network):
    return None if network.roads is None else network.roads.to_geodataframe()


def draw_lead_time_map(
    loaded: LoadedScenario, network: Network, sim: SimulationRun, year: int, path: Path
) -> None:
    """The planning map coloured by each village's mean order-to-hand time."""
    total = sim.summary["total"]["order_to_hand_h"]
    lang = loaded.scenario.outputs.language
    w = map_words(lang)
    subtitle = (
        w["lead_none"]
        if not total["parcels"]
        else w["lead_subtitle"].format(mean=total["mean_h"], p90=total["p90_h"], n=total["parcels"])
    )
    planning_map(
        network.region,
        sim.village_hand_h,
        network.plan.sites(year),
        network.community,
        title=w["lead_title"].format(name=loaded.scenario.name, year=year),
        subtitle=subtitle,
        path=path,
        dpi=loaded.scenario.outputs.map_dpi,
        roads=_roads(network),
        value_label=w["hand"],
        lang=lang,
    )


def draw_map(
    loaded: LoadedScenario,
    network: Network,
    acc: Access,
    year: int,
    figures: dict[str, Any],
    path: Path,
    closed: np.ndarray | None = None,
) -> None:
    """The planning map of `year`: villages by road km to the nearest station (stations that
    closed during the run marked, when given)."""
    scenario = loaded.scenario
    total = figures["total"]
    lang = scenario.outputs.language
    w = map_words(lang)
    planning_map(
        network.region,
        acc.distance_km,
        network.plan.sites(year),
        network.community,
        title=w["title"].format(
            name=scenario.name,
            year=year,
            rural=figures["stations"]["rural"],
            community=figures["stations"]["community"],
        ),
        subtitle=w["subtitle"].format(
            share=total["population_covered_share"],
            km=scenario.stations.rural.coverage_km,
            with_station=total["villages_with_station"],
            villages=total["villages"],
        ),
        roads=_roads(network),
        path=path,
        dpi=scenario.outputs.map_dpi,
        value_label=w["distance"] if network.roads is not None else w["distance_estimated"],
        closed_sites=closed,
        lang=lang,
    )


def draw_access_map(
    loaded: LoadedScenario, network: Network, acc: Access, year: int, metrics: dict[str, Any], path: Path
) -> None:
    """Villages coloured by travel time (minutes) to the nearest station."""
    scenario = loaded.scenario
    lang = scenario.outputs.language
    w = map_words(lang)
    total = metrics["years"][str(year)]["total"]
    subtitle = (
        w["access_none"]
        if total["mean_minutes"] is None
        else w["access_subtitle"].format(mean=total["mean_minutes"], p95=total["p95_minutes"])
    )
    planning_map(
        network.region,
        acc.minutes,
        network.plan.sites(year),
        network.community,
        title=w["access_title"].format(name=scenario.name, year=year),
        subtitle=subtitle,
        roads=_roads(network),
        path=path,
        dpi=scenario.outputs.map_dpi,
        value_label=w["minutes"],
        lang=lang,
    )


def draw_county_panels(
    loaded: LoadedScenario, network: Network, acc: Access, year: int, closed: np.ndarray, path: Path
) -> None:
    """One panel per county: villages by road km, joined to their nearest station."""
    region = network.region
    lang = loaded.scenario.outputs.language
    w = map_words(lang)
    at = {vid: xy for vid, xy in zip(region.villages["village_id"], region.village_xy, strict=True)}
    at |= {
        f"{tid}/community": xy
        for tid, xy in zip(region.townships["township_id"], region.township_xy, strict=True)
    }
    nan = np.array([np.nan, np.nan])
    station_xy = np.array([at.get(s, nan) for s in acc.station_id], dtype=float).reshape(-1, 2)
    county_panels(
        region,
        acc.distance_km,
        station_xy,
        network.plan.sites(year),
        network.community,
        title=w["counties_title"].format(name=loaded.scenario.name, year=year),
        path=path,
        dpi=loaded.scenario.outputs.map_dpi,
        value_label=w["distance"] if network.roads is not None else w["distance_estimated"],
        closed_sites=closed,
        lang=lang,
    )
