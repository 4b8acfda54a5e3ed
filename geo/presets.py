"""Region presets: the figures a synthetic region is generated from.

`lishui` carries the real Lishui figures (``geo/data/lishui.json``, sources in its README);
`small` is a made-up one-county region for tests and quick runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class CountySpec:
    """One county-level unit. `population` counts residents; `area_km2` is the official area."""

    county_id: str
    name_zh: str
    area_km2: float
    population: int
    rural_share: float
    circuity: float
    seat_lonlat: tuple[float, float]


@dataclass(frozen=True)
class TownshipSpec:
    """One township-level unit; `lonlat` is None where no real coordinate is known."""

    county_id: str
    name: str
    kind: str  # "town" | "township" | "subdistrict"
    village_weight: int
    communities: int
    lonlat: tuple[float, float] | None


@dataclass(frozen=True)
class RegionSpec:
    """Everything the generator needs. `villages` is the default number of villages;
    `road_km` and `expressway_km` (km) calibrate the synthetic road network when known."""

    name: str
    crs: str
    villages: int
    persons_per_household: float
    counties: tuple[CountySpec, ...]
    townships: tuple[TownshipSpec, ...]
    credit: str = ""
    road_km: float | None = None
    expressway_km: float | None = None


@cache
def lishui() -> RegionSpec:
    """Lishui (丽水), Zhejiang, as of 2018: 9 counties, 173 townships, 2,725 villages."""
    raw = json.loads((DATA_DIR / "lishui.json").read_text(encoding="utf-8"))
    adcode_to_id = {c["adcode"]: c["name_en"] for c in raw["counties"]}
    counties = tuple(
        CountySpec(
            county_id=c["name_en"],
            name_zh=c["name_zh"],
            area_km2=float(c["area_km2"]),
            population=int(c["population_2020"]),
            rural_share=float(c["rural_share"]),
            circuity=float(c["circuity"]),
            seat_lonlat=(float(c["seat_lon"]), float(c["seat_lat"])),
        )
        for c in raw["counties"]
    )
    townships = tuple(
        TownshipSpec(
            county_id=adcode_to_id[t["county_adcode"]],
            name=t["name_zh"],
            kind=t["kind"],
            village_weight=int(t["n_villages"]),
            communities=int(t["n_communities"]),
            lonlat=None if t["lon"] is None else (float(t["lon"]), float(t["lat"])),
        )
        for t in raw["townships"]
    )
    return RegionSpec(
        name="lishui",
        crs=raw["crs"],
        villages=int(raw["villages_2018"]),
        persons_per_household=float(raw["persons_per_household"]),
        counties=counties,
        townships=townships,
        credit="Township coordinates: GeoNames, geonames.org (CC BY 4.0).",
        road_km=float(raw["road_km_2019"]),
        expressway_km=float(raw["expressway_km"]),
    )


@cache
def small() -> RegionSpec:
    """A made-up county of 150 villages in 8 townships, 800 km², near Lishui's city seat."""
    county = CountySpec(
        county_id="Smallcounty",
        name_zh="小县",
        area_km2=800.0,
        population=90_000,
        rural_share=0.6,
        circuity=1.6,
        seat_lonlat=(119.90, 28.45),
    )
    kinds = ["subdistrict"] + ["town"] * 3 + ["township"] * 4
    weights = [6, 24, 22, 20, 22, 20, 18, 18]
    townships = tuple(
        TownshipSpec(
            county_id=county.county_id,
            name=f"Township {i + 1}",
            kind=kind,
            village_weight=w,
            communities=4 if kind == "subdistrict" else 1 if kind == "town" else 0,
            lonlat=None,
        )
        for i, (kind, w) in enumerate(zip(kinds, weights, strict=True))
    )
    return RegionSpec(
        name="small",
        crs="EPSG:32650",
        villages=150,
        persons_per_household=2.49,
        counties=(county,),
        townships=townships,
    )


PRESETS = {"lishui": lishui, "small": small}
