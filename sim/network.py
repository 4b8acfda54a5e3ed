"""The station network a scenario asks for: its region and its station plan, year by year."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.distance import DistanceModel, StraightLine
from geo.errors import InputError
from geo.placement import BuildPlan, PlacementProblem, community_counts, plan_builds
from geo.presets import PRESETS
from geo.region import Region
from geo.synthetic import generate
from sim.scenario import LoadedScenario

#: Independent random streams drawn from the scenario seed, so that changing how one part draws
#: its numbers never shifts another's.
STREAM_PLACEMENT = 1


@dataclass(frozen=True)
class Network:
    """`plan` places rural stations on villages; `community` (n_townships,) counts community
    stations at each township seat (all open from the horizon's start)."""

    region: Region
    plan: BuildPlan
    community: np.ndarray
    distances: DistanceModel


def build_region(loaded: LoadedScenario) -> Region:
    """The scenario's region, with its circuity overrides checked against the county names."""
    cfg = loaded.scenario.region
    region = generate(PRESETS[cfg.preset](), seed=cfg.seed, villages=cfg.villages)
    known = list(region.counties["county"])
    problems = [
        loaded.origin.problem(("region", "circuity", county), f"unknown county; known: {', '.join(known)}")
        for county in cfg.circuity
        if county not in known
    ]
    if problems:
        raise InputError(problems)
    return region.with_circuity(cfg.circuity)


def check_targets(loaded: LoadedScenario, region: Region) -> None:
    """Station targets must fit the region: at most one rural station per village."""
    rural = loaded.scenario.stations.rural
    n = len(region.villages)
    if rural.build_plan is None:
        items = [(("stations", "rural", "target"), rural.target or 0)]
    else:
        items = [(("stations", "rural", "build_plan", year), c) for year, c in rural.build_plan.items()]
    message = f"must be <= {n}, the number of villages in region {region.name!r}"
    problems = [loaded.origin.problem(loc, message, count) for loc, count in items if count > n]
    if problems:
        raise InputError(problems)


def build_network(loaded: LoadedScenario) -> Network:
    """Region, checks and placement for a loaded scenario. Raises `InputError` on bad targets."""
    scenario = loaded.scenario
    region = build_region(loaded)
    check_targets(loaded, region)
    rng = np.random.default_rng([scenario.seed, STREAM_PLACEMENT])
    problem = PlacementProblem(weights=region.villages["population"].to_numpy(dtype=float))
    rural = scenario.stations.rural
    plan = plan_builds(problem, rural.targets(scenario.horizon.start.year), rural.placement, rng=rng)
    community = community_counts(
        region.townships["population"].to_numpy(dtype=float), scenario.stations.community.count
    )
    return Network(region=region, plan=plan, community=community, distances=StraightLine())
