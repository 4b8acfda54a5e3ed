"""The station network a scenario asks for: its region, roads and station plan, year by year."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.distance import DistanceModel, StraightLine
from geo.errors import InputError
from geo.files import LayerSource, load_region
from geo.placement import STRATEGIES, BuildPlan, PlacementError, community_counts, plan_builds
from geo.presets import PRESETS
from geo.region import Region
from geo.roads import RoadNetwork, read_roads
from geo.synroads import synthetic_roads
from geo.synthetic import generate
from geo.travel import RoadTravel, connect_villages, default_cache_dir
from sim.network.economics import Expected, expected_accounts
from sim.scenario.load import LoadedScenario
from sim.scenario.schema import LayerConfig

#: Independent random streams drawn from the scenario seed, so that changing how one part draws
#: its numbers never shifts another's.
STREAM_PLACEMENT = 1


@dataclass(frozen=True)
class Network:
    """`plan` places rural stations on villages; `community` (n_townships,) counts community
    stations at each township seat (all open from the horizon's start). `roads` is None when
    distances are straight-line estimates; `notes` say what was repaired or assumed."""

    region: Region
    plan: BuildPlan
    community: np.ndarray
    distances: DistanceModel
    roads: RoadNetwork | None = None
    notes: tuple[str, ...] = ()


def build_region(loaded: LoadedScenario) -> Region:
    """The scenario's region (a preset or the user's files) with its circuity overrides
    (`check_region` names those of counties it has not)."""
    cfg = loaded.scenario.region
    if cfg.preset is not None:
        region = generate(PRESETS[cfg.preset](), seed=cfg.seed, villages=cfg.villages)
    else:
        assert cfg.file is not None  # the scenario check asks for a preset or a file
        villages = _layer(loaded, ("region",), cfg.file, cfg.layer, cfg.columns)
        layers = {
            "villages": villages,
            **{
                name: _optional_layer(loaded, name, getattr(cfg, name))
                for name in ("townships", "counties", "candidates")
            },
        }
        missing = [
            loaded.origin.problem((*loc, "file"), "file not found", src.display)
            for loc, src in (
                (("region",) if n == "villages" else ("region", n), src) for n, src in layers.items()
            )
            if src is not None and not src.path.exists()
        ]
        if missing:
            raise InputError(missing)
        region = load_region(
            villages,
            townships=layers["townships"],
            counties=layers["counties"],
            candidates=layers["candidates"],
            crs=cfg.crs,
            name=loaded.scenario.name,
        )
    return region.with_circuity(cfg.circuity)


def _layer(
    loaded: LoadedScenario, loc: tuple[str, ...], file: str, layer: str | None, columns: dict[str, str]
) -> LayerSource:
    return LayerSource(path=loaded.path((*loc, "file"), file), display=file, layer=layer, columns=columns)


def _optional_layer(loaded: LoadedScenario, name: str, cfg: LayerConfig | None) -> LayerSource | None:
    return None if cfg is None else _layer(loaded, ("region", name), cfg.file, cfg.layer, cfg.columns)


def build_roads(loaded: LoadedScenario, region: Region) -> tuple[RoadNetwork | None, list[str]]:
    """The scenario's road network joined into one piece, and notes on what was joined."""
    cfg = loaded.scenario.region
    roads = cfg.roads
    if roads is None:
        return None, []
    if roads.synthetic:
        assert cfg.preset is not None  # the scenario check: synthetic roads only with a preset
        spec = PRESETS[cfg.preset]()
        network = synthetic_roads(
            region, total_km=spec.road_km, expressway_km=spec.expressway_km, speeds_kmh=roads.speeds_kmh
        )
    else:
        assert roads.file is not None  # the scenario check asks for synthetic or a file
        network = read_roads(
            _layer(loaded, ("region", "roads"), roads.file, roads.layer, roads.columns),
            crs=region.crs,
            speeds_kmh=roads.speeds_kmh,
            snap_m=roads.snap_m,
        )
    circuity = float(np.median(region.counties["circuity"]))
    return connect_villages(
        network, region.village_xy, region.villages["village_id"].to_numpy(), circuity=circuity
    )


def build_distances(
    loaded: LoadedScenario, region: Region
) -> tuple[DistanceModel, RoadNetwork | None, list[str]]:
    """The travel model: the road network when the scenario has one, else straight line x
    circuity; with the road network and notes on its repairs."""
    roads, notes = build_roads(loaded, region)
    cfg = loaded.scenario.region
    if roads is None:
        return StraightLine(cfg.speed_kmh), None, notes
    assert cfg.roads is not None  # the network was built from it
    travel = RoadTravel(
        roads, connector_speed_kmh=cfg.roads.connector_speed_kmh, cache_dir=default_cache_dir()
    )
    return travel, roads, notes


def check_region(loaded: LoadedScenario, region: Region) -> None:
    """What can only be checked against the region, all in one report: circuity overrides name
    its counties, and station targets fit it (at most one rural station per village)."""
    known = list(region.counties["county"])
    problems = [
        loaded.origin.problem(("region", "circuity", county), f"unknown county; known: {', '.join(known)}")
        for county in loaded.scenario.region.circuity
        if county not in known
    ]
    orders = loaded.scenario.warehouses.seller_orders_per_day  # by county name, or one number
    problems += [
        loaded.origin.problem(
            ("warehouses", "seller_orders_per_day", county), f"unknown county; known: {', '.join(known)}"
        )
        for county in (orders if isinstance(orders, dict) else ())
        if county not in known
    ]
    rural = loaded.scenario.stations.rural
    n = len(region.villages)
    items: list[tuple[tuple[str | int, ...], int]]
    if rural.build_plan is None:
        items = [(("stations", "rural", "target"), rural.target or 0)]
    else:
        items = [(("stations", "rural", "build_plan", year), c) for year, c in rural.build_plan.items()]
    message = f"must be <= {n}, the number of villages in region {region.name!r}"
    problems += [loaded.origin.problem(loc, message, count) for loc, count in items if count > n]
    if problems:
        raise InputError(problems)


def village_cost_km(region: Region, distances: DistanceModel) -> np.ndarray:
    """Road km from every village (demand) to every village (candidate site)."""
    xy = region.village_xy
    return distances.matrix(xy, xy, origin_circuity=region.village_circuity()).km


def shop_villages(region: Region) -> np.ndarray | None:
    """Villages holding a candidate site (e.g. an existing shop), or None without candidates."""
    if region.candidates is None:
        return None
    return region.villages["village_id"].isin(region.candidates["village_id"]).to_numpy()


def build_network(loaded: LoadedScenario) -> Network:
    """Region, roads, checks and placement for a loaded scenario. Raises `InputError` on bad
    targets or data files."""
    scenario = loaded.scenario
    region = build_region(loaded)
    check_region(loaded, region)
    distances, roads, notes = build_distances(loaded, region)
    rural = scenario.stations.rural
    strategy = STRATEGIES[rural.placement]
    targets = rural.targets(scenario.horizon.start.year)
    seed = int(np.random.default_rng([scenario.seed, STREAM_PLACEMENT]).integers(2**31))
    expected = None
    if strategy.needs_economics:  # each year's stations by the profit they would expect
        households = region.villages["households"].to_numpy(dtype=float)
        expected = {year: expected_accounts(scenario, households, year) for year in targets}
    try:
        plan, _ = plan_builds(
            targets,
            rural.placement,
            weights=region.villages["population"].to_numpy(dtype=float),
            cost=village_cost_km(region, distances) if strategy.needs_cost else None,
            radius=rural.coverage_km,
            candidates=shop_villages(region),
            groups=region.villages["township"].to_numpy(),
            seed=seed,
            viable=None if expected is None else {year: e.viable for year, e in expected.items()},
        )
    except PlacementError as err:
        raise InputError(
            [loaded.origin.problem(("stations", "rural", "placement"), str(err), rural.placement)]
        ) from None
    if expected is not None:
        notes += viable_notes(targets, plan, expected)
    community = community_counts(
        region.townships["population"].to_numpy(dtype=float), scenario.stations.community.count
    )
    return Network(region, plan, community, distances, roads, tuple(notes))


def viable_notes(targets: dict[int, int], plan: BuildPlan, expected: dict[int, Expected]) -> list[str]:
    """What the `viable` strategy could not do: each year it placed fewer stations than its
    target, because no other candidate would make a profit once its subsidies end."""
    notes = []
    for year, target in targets.items():
        placed = len(plan.sites(year))
        if expected[year].year is None:
            notes.append(
                f"viable: stations built in {year} are subsidised for ever (a yearly village-station "
                "rule without years): no operator would face the exit rule, every candidate counts as viable"
            )
        if placed < target:
            when = f" by {year}" if len(targets) > 1 else ""
            notes.append(
                f"viable: {placed:,} of {target:,} stations placed{when}; no other candidate would make "
                f"a profit in its first year without subsidies ({expected[year].year})"
            )
    return notes
