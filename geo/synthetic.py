"""Synthetic regions: villages placed around real (or plausible) township seats.

Seeded: the same spec, seed and village count give an identical region. What is real and what
is made up is recorded per row (`synthetic` columns) and in `geo/data/README.md`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo.apportion import largest_remainder
from geo.presets import RegionSpec
from geo.region import VILLAGE_COLUMNS, Region
from geo.territory import Territory, build_territory

MIN_VILLAGE_POPULATION = 50
#: sigma of the log-normal village-size weights: the largest of ~300 villages is ~8x the median.
POPULATION_SIGMA = 0.8
#: subdistricts (urban 街道) without coordinates are placed within this distance of the seat.
SUBDISTRICT_RADIUS_M = 8_000.0


def generate(spec: RegionSpec, *, seed: int, villages: int | None = None) -> Region:
    """Generate the region of `spec` with `villages` villages (the spec's count by default)."""
    n_villages = spec.villages if villages is None else int(villages)
    rng = np.random.default_rng(seed)
    to_xy = Transformer.from_crs("EPSG:4326", spec.crs, always_xy=True)
    to_lonlat = Transformer.from_crs(spec.crs, "EPSG:4326", always_xy=True)

    county_ids = [c.county_id for c in spec.counties]
    seats = np.column_stack(to_xy.transform(*np.array([c.seat_lonlat for c in spec.counties]).T))
    tw_county = np.array([county_ids.index(t.county_id) for t in spec.townships])
    known = np.array([t.lonlat is not None for t in spec.townships])
    tw_xy = np.full((len(spec.townships), 2), np.nan)
    if known.any():
        lonlat = np.array([t.lonlat for t in spec.townships if t.lonlat is not None])
        tw_xy[known] = np.column_stack(to_xy.transform(lonlat[:, 0], lonlat[:, 1]))

    territory = build_territory(
        np.vstack([seats, tw_xy[known]]),
        np.concatenate([np.arange(len(seats)), tw_county[known]]),
        np.array([c.area_km2 for c in spec.counties]),
    )
    _place_townships(spec, territory, seats, tw_county, tw_xy, rng)

    per_township = largest_remainder(np.array([t.village_weight for t in spec.townships]), n_villages)
    v_township = np.repeat(np.arange(len(spec.townships)), per_township)
    v_xy = _place_villages(territory, tw_county, tw_xy, per_township, rng)
    v_county = tw_county[v_township]
    rural_target = np.array([round(c.population * c.rural_share) for c in spec.counties])
    v_pop = _populations(v_county, rural_target, rng)
    households = np.maximum(1, np.rint(v_pop / spec.persons_per_household)).astype(np.int64)

    tw_ids = np.array([f"{t.county_id}-T{j + 1:03d}" for j, t in enumerate(spec.townships)])
    v_lon, v_lat = to_lonlat.transform(v_xy[:, 0], v_xy[:, 1])
    villages = pd.DataFrame(
        {
            "village_id": [
                f"{county_ids[c]}-{i + 1:04d}" for c, i in zip(v_county, _serial(v_county), strict=True)
            ],
            "name": [
                f"{spec.townships[t].name} #{s + 1}"
                for t, s in zip(v_township, _serial(v_township), strict=True)
            ],
            "county": np.array(county_ids)[v_county],
            "township": tw_ids[v_township],
            "population": v_pop,
            "households": households,
            "x": v_xy[:, 0],
            "y": v_xy[:, 1],
            "lon": v_lon,
            "lat": v_lat,
            "synthetic": True,
        },
        columns=list(VILLAGE_COLUMNS),
    )
    village_pop_by_township = np.bincount(v_township, weights=v_pop, minlength=len(spec.townships))
    urban = np.array([c.population for c in spec.counties]) - np.bincount(
        v_county, weights=v_pop, minlength=len(county_ids)
    )
    tw_lon, tw_lat = to_lonlat.transform(tw_xy[:, 0], tw_xy[:, 1])
    townships = pd.DataFrame(
        {
            "township_id": tw_ids,
            "name": [t.name for t in spec.townships],
            "county": np.array(county_ids)[tw_county],
            "kind": [t.kind for t in spec.townships],
            "villages": per_township,
            "population": village_pop_by_township.astype(np.int64) + _urban_share(spec, tw_county, urban),
            "x": tw_xy[:, 0],
            "y": tw_xy[:, 1],
            "lon": tw_lon,
            "lat": tw_lat,
            "synthetic": ~known,
        }
    )
    polygons = territory.polygons(len(county_ids))
    counties = pd.DataFrame(
        {
            "county": county_ids,
            "name_zh": [c.name_zh for c in spec.counties],
            "area_km2": [c.area_km2 for c in spec.counties],
            "population": [c.population for c in spec.counties],
            "rural_population": np.bincount(v_county, weights=v_pop, minlength=len(county_ids)).astype(
                np.int64
            ),
            "circuity": [c.circuity for c in spec.counties],
            "seat_x": seats[:, 0],
            "seat_y": seats[:, 1],
            "boundary_approximate": True,
        }
    )
    return Region(
        name=spec.name,
        crs=spec.crs,
        counties=gpd.GeoDataFrame(counties, geometry=polygons, crs=spec.crs),
        townships=gpd.GeoDataFrame(
            townships, geometry=gpd.points_from_xy(tw_xy[:, 0], tw_xy[:, 1]), crs=spec.crs
        ),
        villages=gpd.GeoDataFrame(
            villages, geometry=gpd.points_from_xy(v_xy[:, 0], v_xy[:, 1]), crs=spec.crs
        ),
        credit=spec.credit,
    )


def _place_townships(
    spec: RegionSpec,
    territory: Territory,
    seats: np.ndarray,
    tw_county: np.ndarray,
    tw_xy: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Fill the NaN rows of `tw_xy`: each unknown township goes to a cell of its county chosen
    with probability rising steeply with the distance to the points placed so far, so that
    townships spread out; urban subdistricts stay near the county seat."""
    for c in range(len(spec.counties)):
        cells = territory.xy[territory.county == c]
        mine = np.flatnonzero(tw_county == c)
        placed = np.vstack([seats[c : c + 1], tw_xy[mine][~np.isnan(tw_xy[mine, 0])]])
        nearest = cKDTree(placed).query(cells)[0]
        near_seat = np.hypot(*(cells - seats[c]).T) <= SUBDISTRICT_RADIUS_M
        for t in mine[np.isnan(tw_xy[mine, 0])]:
            pool = near_seat if spec.townships[t].kind == "subdistrict" and near_seat.any() else None
            p = nearest**3 if pool is None else np.where(pool, nearest**3 + 1e-9, 0.0)
            pick = rng.choice(len(cells), p=p / p.sum())
            tw_xy[t] = cells[pick]
            nearest = np.minimum(nearest, np.hypot(*(cells - cells[pick]).T))


def _place_villages(
    territory: Territory,
    tw_county: np.ndarray,
    tw_xy: np.ndarray,
    per_township: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Villages spread uniformly over their township's area: the county's cells nearest to the
    township seat (a Voronoi split of the county), jittered within the cell."""
    out = np.empty((int(per_township.sum()), 2))
    offsets = np.cumsum(per_township) - per_township
    for c in np.unique(tw_county):
        cells = territory.xy[territory.county == c]
        mine = np.flatnonzero(tw_county == c)
        owner = mine[cKDTree(tw_xy[mine]).query(cells)[1]]
        for t in mine:
            n = int(per_township[t])
            if n == 0:
                continue
            pool = cells[owner == t]
            if len(pool) == 0:  # a seat surrounded by others' cells: its nearest cells instead
                pool = cells[cKDTree(cells).query(tw_xy[t], k=min(25, len(cells)))[1]]
            jitter = rng.uniform(-0.5, 0.5, size=(n, 2)) * territory.cell_m
            out[offsets[t] : offsets[t] + n] = pool[rng.integers(0, len(pool), size=n)] + jitter
    return out


def _serial(group: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each value of `group`, in order of appearance."""
    return pd.Series(group).groupby(group).cumcount().to_numpy()


def _populations(v_county: np.ndarray, rural_target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Heavy-tailed (log-normal) village populations summing exactly to each county's target."""
    pop = np.zeros(len(v_county), dtype=np.int64)
    weights = rng.lognormal(0.0, POPULATION_SIGMA, size=len(v_county))
    for c, target in enumerate(rural_target):
        idx = np.flatnonzero(v_county == c)
        if len(idx) == 0:
            continue
        floor = min(MIN_VILLAGE_POPULATION, int(target) // (2 * len(idx)))
        pop[idx] = floor + largest_remainder(weights[idx], int(target) - floor * len(idx))
    return pop


def _urban_share(spec: RegionSpec, tw_county: np.ndarray, urban: np.ndarray) -> np.ndarray:
    """Each county's non-village residents split over its townships by number of communities
    (the county's first township takes them all where the county lists no communities)."""
    out = np.zeros(len(spec.townships), dtype=np.int64)
    communities = np.array([t.communities for t in spec.townships], dtype=float)
    for c in range(len(spec.counties)):
        mine = np.flatnonzero(tw_county == c)
        w = communities[mine] if communities[mine].sum() > 0 else (np.arange(len(mine)) == 0) * 1.0
        out[mine] = largest_remainder(w, max(0, int(urban[c])))
    return out
