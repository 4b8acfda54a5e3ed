"""The scenario schema: the pydantic models a scenario file is validated against.

Unknown keys are errors and every omitted field has the default shown here, so the smallest
valid scenario is::

    name: my-plan
    region: small

Reading files (`extends:`, `--set`) is `sim.scenario.load`; the one-line messages are
`sim.scenario.messages`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geo.placement import STRATEGIES
from geo.presets import PRESETS
from sim.scenario.delivery import Couriers, Demand, Faults, Pickups, Simulation, Trunk, Upstream, Warehouses
from sim.scenario.policy import Economics, Subsidies


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Horizon(_Section):
    """The simulated period: from `start` for `years` years or `days` days (1 year if neither)."""

    start: date = date(2018, 1, 1)
    years: int | None = Field(default=None, ge=1, le=50)
    days: int | None = Field(default=None, ge=1, le=18_262)

    @field_validator("start", mode="before")
    @classmethod
    def _date_not_number(cls, value: Any) -> Any:
        if isinstance(value, int | float):  # pydantic would read 2018 as seconds since 1970
            raise ValueError("must be a date (YYYY-MM-DD)")
        return value

    @property
    def end(self) -> date:
        """First day after the horizon."""
        if self.days is not None:
            return self.start + timedelta(days=self.days)
        years = self.years or 1
        try:
            return self.start.replace(year=self.start.year + years)
        except ValueError:  # 29 February
            return self.start.replace(year=self.start.year + years, day=28)

    @property
    def last_year(self) -> int:
        """Calendar year of the horizon's last day."""
        return (self.end - timedelta(days=1)).year


class LayerConfig(_Section):
    """A GIS layer: `file` (GeoPackage, GeoJSON, Shapefile or CSV with lon/lat; relative to the
    scenario file), `layer` (the file's first layer when omitted), and `columns` mapping ruralsim's
    column names to the file's."""

    file: str = Field(min_length=1)
    layer: str | None = None
    columns: dict[str, str] = {}


class RoadsConfig(_Section):
    """A road network: `synthetic` (presets only) or a line layer `file` (GeoPackage, Shapefile,
    GeoJSON, or an OpenStreetMap `.osm.pbf`). `columns` may map `class`, `speed_kmh` and `oneway`;
    `speeds_kmh` overrides the default speed of road classes; line ends within `snap_m` metres
    join; villages reach the nearest node at `connector_speed_kmh`."""

    synthetic: bool = False
    file: str | None = None
    layer: str | None = None
    columns: dict[str, str] = {}
    speeds_kmh: dict[str, Annotated[float, Field(gt=0, le=200)]] = {}
    snap_m: float = Field(default=5.0, ge=0, le=1000)
    connector_speed_kmh: float = Field(default=15.0, gt=0, le=130)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"synthetic": True} if value == "synthetic" else value


class RegionConfig(_Section):
    """Where: a synthetic region `preset` (`lishui`, `small`) or the user's village layer `file`.

    Preset only: `villages` overrides the village count; `seed` fixes the synthetic layout (kept
    apart from the run's `seed` so that runs with different seeds share one region). File only:
    `layer`, `columns`, optional `townships`, `counties`, `candidates` layers and `crs` (the
    projected CRS to work in; the UTM zone of the villages when omitted). Both: `circuity`
    overrides the road-km per straight-line-km factor of named counties, `roads` gives a road
    network (straight line x circuity at `speed_kmh` when omitted)."""

    preset: str | None = None
    file: str | None = None
    layer: str | None = None
    columns: dict[str, str] = {}
    townships: LayerConfig | None = None
    counties: LayerConfig | None = None
    candidates: LayerConfig | None = None
    crs: str | None = None
    villages: int | None = Field(default=None, ge=1, le=100_000)
    seed: int = Field(default=2018, ge=0)
    circuity: dict[str, Annotated[float, Field(ge=1.0, le=5.0)]] = {}
    roads: RoadsConfig | None = None
    speed_kmh: float = Field(default=30.0, gt=0, le=130)

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in PRESETS:
            raise ValueError(f"must be one of {_choices(PRESETS)}")
        return value


class RuralStations(_Section):
    """Village stations: a single `target` (built at the horizon's start) or a cumulative yearly
    `build_plan` ({year: stations}); none when both are omitted. `coverage_km` is the road
    distance within which a resident counts as covered; `coverage_minutes`, when given, adds the
    share covered within that travel time."""

    target: int | None = Field(default=None, ge=0)
    build_plan: dict[int, Annotated[int, Field(ge=0)]] | None = None
    placement: str = "population"
    coverage_km: float = Field(default=3.0, gt=0, le=100)
    coverage_minutes: float | None = Field(default=None, gt=0, le=600)

    @field_validator("placement")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"must be one of {_choices(STRATEGIES)}")
        return value

    def targets(self, first_year: int) -> dict[int, int]:
        """Cumulative stations by year; a single `target` counts from `first_year`."""
        if self.build_plan is not None:
            return dict(sorted(self.build_plan.items()))
        return {first_year: self.target or 0}


class CommunityStations(_Section):
    """Town stations with parcel lockers, `count` of them at township seats by population.
    `operator_terminals`: community smart terminals their operator runs in the city (a subsidy
    condition; default: one per community station)."""

    count: int = Field(default=0, ge=0, le=100_000)
    operator_terminals: int | None = Field(default=None, ge=0)

    @property
    def terminals(self) -> int:
        return self.count if self.operator_terminals is None else self.operator_terminals


class Centres(_Section):
    """Public e-commerce service centres: the year the `city` centre and the `county` centres
    (one per county) are built; none when null."""

    city: int | None = Field(default=None, ge=1990, le=2100)
    county: int | None = Field(default=None, ge=1990, le=2100)


class Stations(_Section):
    rural: RuralStations = RuralStations()
    community: CommunityStations = CommunityStations()
    centres: Centres = Centres()


class Outputs(_Section):
    """Optional files of a run (`metrics.json`, `scenario.resolved.yaml` and `report.html` are
    always written): maps, `villages.csv`, `region.gpkg` (GIS layers), `lead_times.png`, and
    `tables.xlsx` (per county, year, station, and the ledger). `language`: of the report and
    the maps (`zh` needs a Chinese font). `routes_day`: the day of the horizon (0: its first)
    whose van routes `map_routes.png` draws."""

    map: bool = True
    map_dpi: int = Field(default=200, ge=72, le=600)
    villages_csv: bool = True
    gpkg: bool = True
    lead_times_png: bool = True
    xlsx: bool = False
    language: Literal["en", "zh"] = "en"
    routes_day: int = Field(default=0, ge=0, le=36_600)


class Scenario(_Section):
    """One planning scenario. `name` names the run folder; `seed` drives every random choice."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    description: str = ""
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    horizon: Horizon = Horizon()
    region: RegionConfig
    stations: Stations = Stations()
    demand: Demand = Demand()
    trunk: Trunk = Trunk()
    warehouses: Warehouses = Warehouses()
    couriers: Couriers = Couriers()
    upstream: Upstream = Upstream()
    faults: Faults = Faults()
    pickup: Pickups = Pickups()
    simulation: Simulation = Simulation()
    subsidies: Subsidies = Subsidies()
    economics: Economics = Economics()
    outputs: Outputs = Outputs()

    def resolved_yaml(self) -> str:
        """The scenario with every default filled in, as YAML that loads back to an equal one."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def _choices(options: Any) -> str:
    return ", ".join(repr(o) for o in options)
