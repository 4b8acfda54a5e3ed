"""Scenario files: schema, `extends:`, `--set` overrides and one-line error messages.

A scenario is YAML validated by the pydantic models below. Unknown keys are errors and every
omitted field has the default shown here, so the smallest valid scenario is::

    name: my-plan
    region: small

Loading collects every problem before it fails, and each problem is one line naming the file
(or ``--set``), the dotted field path, the message and the bad value::

    scenarios/x.yaml: stations.rural.target: must be >= 0 (got -5)
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from geo.errors import InputError
from geo.placement import STRATEGIES
from geo.presets import PRESETS
from sim.config import Couriers, Demand, Faults, Pickups, Simulation, Trunk, Upstream, Warehouses
from sim.policy import Economics, Subsidies, policy_problems


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


# --------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Origin:
    """Where each field came from: the scenario file, a file it extends, or the command line."""

    root: str
    sources: dict[tuple[str, ...], str] = field(default_factory=dict)

    def of(self, loc: tuple[str, ...]) -> str:
        """The source of the longest recorded prefix of `loc` (the root file if none)."""
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.sources:
                return self.sources[loc[:n]]
        return self.root

    def problem(self, loc: tuple[Any, ...], message: str, *value: Any) -> str:
        """One error line: ``source: dotted.path: message (got value)``; a key that is empty or
        holds spaces at its ends or unprintable characters is quoted, so the line stays one."""
        loc = tuple(str(p) for p in loc)
        shown = (p if p and p.isprintable() and p.strip() == p else repr(p) for p in loc)
        got = f" (got {_show(value[0])})" if value else ""
        return f"{self.of(loc)}: {'.'.join(shown)}: {message}{got}"


#: Fields that hold file paths, relative to the scenario file that set them.
PATH_FIELDS = (
    ("region", "file"),
    ("region", "townships", "file"),
    ("region", "counties", "file"),
    ("region", "candidates", "file"),
    ("region", "roads", "file"),
)


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and where each of its fields came from."""

    scenario: Scenario
    origin: Origin

    def path(self, loc: tuple[str, ...], value: str) -> Path:
        """The file `value` of field `loc`, relative to the scenario file that set it (to the
        working directory when it came from the command line)."""
        source = self.origin.of(loc)
        base = Path(source).parent if not source.startswith("--") else Path.cwd()
        return (base / value).resolve()

    def resolved_yaml(self) -> str:
        """`Scenario.resolved_yaml` with file paths made absolute, so the copy in a run folder
        runs again from anywhere."""
        data = self.scenario.model_dump(mode="json")
        for loc in PATH_FIELDS:
            parent: dict[str, Any] | None = data
            for part in loc[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
            if isinstance(parent, dict) and parent.get(loc[-1]):
                parent[loc[-1]] = str(self.path(loc, parent[loc[-1]]))
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def load_scenario(
    path: str | os.PathLike[str], overrides: Sequence[str | tuple[str, str]] = ()
) -> LoadedScenario:
    """Read `path` (following `extends:`), apply `overrides` ("dotted.key=yaml-value", or
    `(source, "key=value")` pairs) and validate. Raises `InputError` listing every problem."""
    root = str(path)
    sources: dict[tuple[str, ...], str] = {}
    merged: dict[str, Any] = {}
    for source, raw in _read_chain(Path(root), ()):
        _merge(merged, raw, source, sources, ())
    problems = [p for p in (_apply_override(merged, sources, item) for item in overrides) if p]
    origin = Origin(root, sources)
    try:  # the good overrides applied, so bad ones and bad fields come in one report
        scenario = Scenario.model_validate(merged)
    except ValidationError as err:
        raise InputError([*problems, *(_pydantic_problem(origin, e) for e in err.errors())]) from None
    problems += _semantic_problems(scenario, origin)
    if problems:
        raise InputError(problems)
    return LoadedScenario(scenario, origin)


def load_resolved(text: str, source: str) -> LoadedScenario:
    """A scenario from the text of `LoadedScenario.resolved_yaml()` (every field given, file
    paths absolute), e.g. shipped to another process; `source` names it in messages."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        raise InputError([f"{source}: not a readable resolved scenario: {err}"]) from None
    origin = Origin(source)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise InputError([_pydantic_problem(origin, e) for e in err.errors()]) from None
    return LoadedScenario(scenario, origin)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last, and leaves
    dates as text for the schema to parse (PyYAML would crash on 2018-13-01)."""

    yaml_implicit_resolvers = {  # noqa: RUF012 (PyYAML's own class attribute)
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise InputError([f"{path}: is a folder, not a scenario file"])
    if not path.is_file():
        raise InputError([f"{path}: file not found"])
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError([f"{path}{line}: YAML syntax error: {err.problem or err.context}"]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise InputError([f"{path}: not a readable YAML file: {err}"]) from None
    if data is None:
        raise InputError([f"{path}: the file is empty"])
    if not isinstance(data, dict):
        raise InputError([f"{path}: must hold a mapping of fields (got {type(data).__name__})"])
    if isinstance(data.get("region"), str):  # `region: lishui` is short for `region: {preset: lishui}`
        data["region"] = {"preset": data["region"]}
    return data


def _read_chain(path: Path, seen: tuple[Path, ...]) -> list[tuple[str, dict[str, Any]]]:
    """(source, mapping) pairs, the farthest ancestor first. `extends:` names one file or a
    list of files, merged in the order listed (a later one wins), then the file itself."""
    raw = _read_yaml(path)
    parents = raw.pop("extends", None)
    if parents is None:
        return [(str(path), raw)]
    listed = parents if isinstance(parents, list) and parents else [parents]
    chain = (*seen, path)
    out: list[tuple[str, dict[str, Any]]] = []
    for parent in listed:
        if not isinstance(parent, str) or not parent:
            raise InputError(
                [f"{path}: extends: must be a file path or a list of them (got {_show(parents)})"]
            )
        parent_path = Path(os.path.normpath(path.parent / parent))
        if any(parent_path.resolve() == p.resolve() for p in chain):
            cycle = " -> ".join(str(p) for p in (*chain, parent_path))
            raise InputError([f"{path}: extends: cycle {cycle}"])
        if not parent_path.is_file():
            raise InputError([f"{path}: extends: file not found: {parent_path}"])
        out += _read_chain(parent_path, chain)
    return [*out, (str(path), raw)]


def _merge(
    base: dict[str, Any],
    top: dict[str, Any],
    source: str,
    sources: dict[tuple[str, ...], str],
    prefix: tuple[str, ...],
) -> None:
    """Deep-merge `top` into `base` (mappings merge, anything else replaces), noting sources."""
    for key, value in top.items():
        loc = (*prefix, str(key))
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            sources[loc] = source
            _merge(base[key], value, source, sources, loc)
            continue
        for stale in [p for p in sources if p[: len(loc)] == loc]:
            del sources[stale]
        base[key] = copy.deepcopy(value)
        _note(value, loc, source, sources)


def _note(value: Any, loc: tuple[str, ...], source: str, sources: dict[tuple[str, ...], str]) -> None:
    sources[loc] = source
    if isinstance(value, dict):
        for key, sub in value.items():
            _note(sub, (*loc, str(key)), source, sources)


def _apply_override(
    merged: dict[str, Any], sources: dict[tuple[str, ...], str], item: str | tuple[str, str]
) -> str:
    """Apply one ``key=value`` override in place; return a problem line, or "" when fine."""
    source, text = item if isinstance(item, tuple) else ("--set", item)
    key, sep, raw = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        return f"{source} {text}: expected KEY=VALUE with a dotted KEY, e.g. stations.rural.target=1200"
    try:
        value = yaml.load(raw, Loader=_UniqueKeyLoader)  # the file's rules: dates stay text
    except yaml.YAMLError as err:
        return f"{source} {text}: value is not valid YAML: {getattr(err, 'problem', err)}"
    if parts == ["region"] and isinstance(value, str):
        value = {"preset": value}
    node = merged
    for i, part in enumerate(parts[:-1]):
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return f"{source}: {'.'.join(parts[: i + 1])}: is not a mapping, cannot set {key}"
    node.pop(parts[-1], None)  # a value given whole replaces the field's (a mapping too)
    _merge(node, {parts[-1]: value}, source, sources, tuple(parts[:-1]))
    return ""


# --------------------------------------------------------------------------------- messages


def _choices(options: Any) -> str:
    return ", ".join(repr(o) for o in options)


def _show(value: Any) -> str:
    """A bad value as the user would have written it, cut to a readable length."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    elif isinstance(value, dict | list):
        text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().replace("\n", "\\n")
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


_MESSAGES = {
    "missing": "required field is missing",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "must be a date (YYYY-MM-DD), not a time",
    "date_type": "must be a date (YYYY-MM-DD)",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "finite_number": "must be a finite number",
}
_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}


def _pydantic_problem(origin: Origin, err: ErrorDetails) -> str:
    loc = tuple(str(p) for p in err["loc"])
    kind = err["type"]
    ctx = err.get("ctx", {})
    is_key = bool(loc) and loc[-1] == "[key]"
    loc = tuple(p for p in loc if p != "[key]")
    if kind == "extra_forbidden":
        return origin.problem(loc, "unknown field" + _suggestion(loc))
    if kind == "missing":
        return origin.problem(loc, _MESSAGES[kind])
    if kind in _BOUNDS:
        limit = next(iter(ctx.values()))
        message = f"must be {_BOUNDS[kind]} {limit if isinstance(limit, int) else format(limit, 'g')}"
    elif kind == "string_pattern_mismatch" and loc == ("name",):
        message = (
            "must start with a letter or digit and hold only letters, digits, '.', '_', '-' (64 at most)"
        )
    elif kind == "value_error":
        message = str(ctx.get("error", err["msg"]))
    else:
        message = _MESSAGES.get(kind) or err["msg"][:1].lower() + err["msg"][1:]
    if is_key:
        message = "key " + message
    return origin.problem(loc, message, err["input"])


def _suggestion(loc: tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' for a misspelt field, from the fields of the section at `loc`."""
    model: Any = Scenario
    for part in loc[:-1]:
        info = (
            model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        )
        if info is None:
            return ""
        model = info.annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ""
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _semantic_problems(s: Scenario, origin: Origin) -> list[str]:
    """Checks that span fields (pydantic checks fields one at a time)."""
    problems = []
    if s.horizon.years is not None and s.horizon.days is not None:
        problems.append(
            origin.problem(
                ("horizon",),
                "give years or days, not both (e.g. --set horizon.years=null --set horizon.days=30)",
            )
        )
    region = s.region
    if (region.preset is None) == (region.file is None):
        problems.append(
            origin.problem(
                ("region",), "give preset or file, not both" if region.preset else "give preset or file"
            )
        )
    if region.preset is not None:
        for name in ("layer", "columns", "townships", "counties", "crs"):
            if getattr(region, name) not in (None, {}):
                problems.append(origin.problem(("region", name), "only with region.file, not a preset"))
    elif region.file is not None and region.villages is not None:
        problems.append(
            origin.problem(("region", "villages"), "only with a preset; a file has its own villages")
        )
    roads = region.roads
    if roads is not None:
        if roads.synthetic == (roads.file is not None):
            message = "give synthetic or file, not both" if roads.synthetic else "give synthetic or file"
            problems.append(origin.problem(("region", "roads"), message))
        elif roads.synthetic and region.preset is None:
            problems.append(origin.problem(("region", "roads", "synthetic"), "only with a preset region"))
    rural = s.stations.rural
    plan_loc = ("stations", "rural", "build_plan")
    if rural.target is not None and rural.build_plan is not None:
        problems.append(origin.problem(("stations", "rural"), "give target or build_plan, not both"))
    if rural.build_plan is not None:
        if not rural.build_plan:
            problems.append(origin.problem(plan_loc, "must list at least one year"))
        previous: tuple[int, int] | None = None
        for year, count in sorted(rural.build_plan.items()):
            if not s.horizon.start.year <= year <= s.horizon.last_year:
                span = f"{s.horizon.start.year}-{s.horizon.last_year}"
                problems.append(origin.problem((*plan_loc, year), f"year outside the horizon {span}", year))
            if previous is not None and count < previous[1]:
                message = f"must not fall below {previous[1]} of {previous[0]} (stations are kept once built)"
                problems.append(origin.problem((*plan_loc, year), message, count))
            previous = (year, count)
    problems += [origin.problem(loc, *rest) for loc, *rest in policy_problems(s.subsidies)]
    return problems
