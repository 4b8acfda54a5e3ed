"""`Region`: counties, townships and villages as GeoDataFrames in one projected CRS."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import geopandas as gpd
import numpy as np

VILLAGE_COLUMNS = (
    "village_id",
    "name",
    "county",
    "township",
    "population",
    "households",
    "x",
    "y",
    "lon",
    "lat",
    "synthetic",
)


@dataclass(frozen=True)
class Region:
    """A planning region. Coordinates `x`, `y` are metres in `crs`; `lon`, `lat` are WGS84.

    - `counties`: one row per county (`county`, `name_zh`, `area_km2`, `population`,
      `rural_population`, `circuity`, `boundary_approximate`), polygon geometry.
    - `townships`: one row per township (`township_id`, `name`, `county`, `kind`, `villages`,
      `population`, `x`, `y`, `lon`, `lat`, `synthetic`), point at the township seat.
    - `villages`: one row per administrative village, the columns of `VILLAGE_COLUMNS`, point
      geometry. Village `township` holds the township's `township_id`.
    - `credit`: attribution the data's licence asks for, printed on maps.
    - `candidates`: optional candidate sites (e.g. existing village shops), points with at least
      `candidate_id`, `x`, `y`, and `village_id` (the nearest village).
    """

    name: str
    crs: str
    counties: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    credit: str = ""
    candidates: gpd.GeoDataFrame | None = None

    @property
    def village_xy(self) -> np.ndarray:
        """Village coordinates, shape (n, 2), metres."""
        return self.villages[["x", "y"]].to_numpy(dtype=float)

    @property
    def township_xy(self) -> np.ndarray:
        """Township-seat coordinates, shape (n, 2), metres."""
        return self.townships[["x", "y"]].to_numpy(dtype=float)

    def village_circuity(self) -> np.ndarray:
        """Each village's county circuity factor (road km per straight-line km)."""
        by_county = self.counties.set_index("county")["circuity"]
        return self.villages["county"].map(by_county).to_numpy(dtype=float)

    def with_circuity(self, circuity: dict[str, float]) -> Region:
        """A copy whose counties named in `circuity` take the given factor."""
        counties = self.counties.copy()
        for county, factor in circuity.items():
            counties.loc[counties["county"] == county, "circuity"] = float(factor)
        return dataclasses.replace(self, counties=counties)
