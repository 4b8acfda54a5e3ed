"""Coverage metrics: who has a station, and how far residents travel to the nearest one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.network import Network


@dataclass(frozen=True)
class Access:
    """Per village, in one year: whether it has its own station, the nearest station of either
    kind (`station_id`: a village id for rural, ``<township_id>/community`` for a community
    station, "" where there is none) and the road km to it."""

    has_station: np.ndarray
    station_id: np.ndarray
    station_kind: np.ndarray
    distance_km: np.ndarray


def access(network: Network, year: int) -> Access:
    """Nearest station (rural or community) for every village in `year`."""
    region = network.region
    rural = network.plan.sites(year)
    seats = np.flatnonzero(network.community > 0)
    station_xy = np.vstack([region.village_xy[rural], region.township_xy[seats]])
    ids = np.concatenate(
        [
            region.villages["village_id"].to_numpy()[rural].astype(str),
            np.char.add(region.townships["township_id"].to_numpy()[seats].astype(str), "/community"),
        ]
    )
    kinds = np.array(["rural"] * len(rural) + ["community"] * len(seats))
    has_station = np.zeros(len(region.villages), dtype=bool)
    has_station[rural] = True
    if len(station_xy) == 0:
        nothing = np.full(len(has_station), "", dtype=object)
        return Access(has_station, nothing, nothing, np.full(len(has_station), np.inf))
    index, km = network.distances.nearest_km(
        region.village_xy, station_xy, origin_circuity=region.village_circuity()
    )
    # Residents of a station village use their own station: 0 km by road.
    return Access(has_station, ids[index], kinds[index], np.where(has_station, 0.0, km))


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value v such that at least a share `q` of the weight lies at or below v."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(np.asarray(weights, dtype=float)[order])
    if len(cum) == 0 or cum[-1] <= 0:
        return float("nan")
    return float(np.asarray(values)[order][np.searchsorted(cum, q * cum[-1] * (1 - 1e-12))])


def summarise(
    counties: list[str],
    county: np.ndarray,
    population: np.ndarray,
    has_station: np.ndarray,
    distance_km: np.ndarray,
    coverage_km: float,
) -> dict[str, object]:
    """Coverage in total and per county (in the order of `counties`; arrays are per village):
    villages with a station, residents within `coverage_km` of a station, and the
    resident-weighted mean and p95 distance (km)."""
    frame = pd.DataFrame({"county": county, "population": population, "has": has_station, "km": distance_km})
    by_county = {name: _figures(frame[frame["county"] == name], coverage_km) for name in counties}
    return {"total": _figures(frame, coverage_km), "by_county": by_county}


def _figures(frame: pd.DataFrame, coverage_km: float) -> dict[str, float | int | None]:
    pop = frame["population"].to_numpy(dtype=float)
    km = frame["km"].to_numpy(dtype=float)
    total = pop.sum()
    covered = pop[km <= coverage_km].sum()
    reachable = np.isfinite(km)
    return {
        "villages": len(frame),
        "villages_with_station": int(frame["has"].sum()),
        "villages_with_station_share": _ratio(frame["has"].sum(), len(frame)),
        "population": int(total),
        "population_covered": int(covered),
        "population_covered_share": _ratio(covered, total),
        "mean_distance_km": _round(np.average(km, weights=pop)) if reachable.all() and total else None,
        "p95_distance_km": _round(weighted_quantile(km, pop, 0.95)) if reachable.all() and total else None,
    }


def _ratio(part: float, whole: float) -> float | None:
    return round(float(part) / float(whole), 6) if whole else None


def _round(value: float) -> float:
    return round(float(value), 4)
