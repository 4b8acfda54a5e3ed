"""Coverage metrics: who has a station, and how far residents travel to the nearest one."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from sim.network.build import Network


@dataclass(frozen=True)
class Access:
    """Per village, in one year: whether it has its own station, the nearest station of either
    kind (`station_id`: a village id for rural, ``<township_id>/community`` for a community
    station, "" where there is none), the road km to it, and the fewest minutes to any station."""

    has_station: np.ndarray
    station_id: np.ndarray
    station_kind: np.ndarray
    distance_km: np.ndarray
    minutes: np.ndarray


def access(network: Network, year: int, closed: frozenset[str] = frozenset()) -> Access:
    """Nearest station (rural or community) for every village in `year`, leaving out the rural
    stations in `closed` (village ids of stations whose operators quit)."""
    region = network.region
    rural = network.plan.sites(year)
    if closed:
        ids_all = region.villages["village_id"].to_numpy().astype(str)
        rural = rural[~np.isin(ids_all[rural], list(closed))]
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
        far = np.full(len(has_station), np.inf)
        return Access(has_station, nothing, nothing, far, far)
    near = network.distances.nearest(region.village_xy, station_xy, origin_circuity=region.village_circuity())
    # Residents of a station village use their own station: 0 km by road.
    return Access(
        has_station,
        ids[near.index],
        kinds[near.index],
        np.where(has_station, 0.0, near.km),
        np.where(has_station, 0.0, near.minutes),
    )


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
    acc: Access,
    coverage_km: float,
    coverage_minutes: float | None = None,
) -> dict[str, Any]:
    """Coverage in total and per county (in the order of `counties`; arrays are per village):
    villages with a station, residents within `coverage_km` (and `coverage_minutes` when given)
    of a station, and the resident-weighted mean and p95 road km and minutes to the nearest."""
    frame = pd.DataFrame(
        {
            "county": county,
            "population": population,
            "has": acc.has_station,
            "km": acc.distance_km,
            "minutes": acc.minutes,
        }
    )
    figures = partial(_figures, coverage_km=coverage_km, coverage_minutes=coverage_minutes)
    return {
        "total": figures(frame),
        "by_county": {name: figures(frame[frame["county"] == name]) for name in counties},
    }


def _figures(
    frame: pd.DataFrame, *, coverage_km: float, coverage_minutes: float | None
) -> dict[str, float | int | None]:
    pop = frame["population"].to_numpy(dtype=float)
    km = frame["km"].to_numpy(dtype=float)
    minutes = frame["minutes"].to_numpy(dtype=float)
    total = pop.sum()
    out: dict[str, float | int | None] = {
        "villages": len(frame),
        "villages_with_station": int(frame["has"].sum()),
        "villages_with_station_share": _ratio(frame["has"].sum(), len(frame)),
        "population": int(total),
        "population_covered": int(pop[km <= coverage_km].sum()),
        "population_covered_share": _ratio(pop[km <= coverage_km].sum(), total),
    }
    if coverage_minutes is not None:
        out["population_covered_minutes"] = int(pop[minutes <= coverage_minutes].sum())
        out["population_covered_minutes_share"] = _ratio(pop[minutes <= coverage_minutes].sum(), total)
    for name, values in (("distance_km", km), ("minutes", minutes)):
        known = bool(total) and bool(np.isfinite(values).all())
        out[f"mean_{name}"] = float(np.average(values, weights=pop)) if known else None
        out[f"p95_{name}"] = weighted_quantile(values, pop, 0.95) if known else None
    return out


def _ratio(part: float, whole: float) -> float | None:
    return float(part) / float(whole) if whole else None
