"""Running the simulation: one seed, or several replications with confidence intervals.

Replication `r` of a scenario with seed `s` uses seed ``s + r``: replication 0 is the plain run,
and two scenarios compared with one seed share their random numbers (common random numbers).
Replications are independent tasks run in local processes; results are identical whatever the
number of processes, because each task's randomness comes from its own seed alone.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo.travel import default_cache_dir
from sim.core.events import Bus
from sim.core.ids import POINT_TYPES
from sim.core.interval import t_interval
from sim.engine.model import Model
from sim.engine.registry import ENGINES
from sim.flows.produce import ledger_rows, operators_share_yuan, public_cost
from sim.flows.trips import ShiftCheck
from sim.kpi import Kpi
from sim.money.programme import Programme
from sim.network.build import Network, build_network
from sim.scenario.load import LoadedScenario


@dataclass(frozen=True)
class SimulationRun:
    """The summary of one run (`metrics.json` "simulation", with "subsidies" and
    "stations_survival"; unrounded), per-village mean order-to-hand hours (NaN where no parcel
    was picked up), lead-time CDFs by point type, timings (route planning apart from
    simulation; `parcels`: all simulated, warm-up included), the subsidy `ledger`, the
    per-station-year accounts (`stations`), the van routes of the routes day (`routes`) and, per
    village, the days typhoons cut it off within the horizon (`village_days_cut_off`; None when
    the scenario has no faults)."""

    summary: dict[str, Any]
    village_hand_h: np.ndarray
    cdfs: dict[str, tuple[np.ndarray, np.ndarray]]
    planning_s: float
    simulation_s: float
    parcels: int
    ledger: pd.DataFrame
    stations: pd.DataFrame
    routes: tuple[tuple[int, np.ndarray], ...] = ()
    village_days_cut_off: np.ndarray | None = None


def routes_of_day(model: Model, plans: dict[str, tuple], day: int) -> tuple[tuple[int, np.ndarray], ...]:
    """The van routes planned for run day `day` (warm-up included): per route, its county and
    the (x, y) of depot, the stops due that day in visiting order, depot; straight legs."""
    when = model.date(day).isoformat()
    in_force = plans[max(d for d in plans if d <= when)]
    p = model.points
    out = []
    for f, plan in enumerate(in_force):
        c = int(model.fleet_county[f])
        plan = plan.on(day)  # the routes of the day's pattern
        due = plan.due(day)
        for route in plan.routes:
            stops = route[due[route]]
            if len(stops):
                xy = np.vstack([p.depot_xy[c], p.stop_xy[plan.stops[stops - 1]], p.depot_xy[c]])
                out.append((c, xy))
    return tuple(out)


def kpi_observer(model: Model) -> Kpi:
    """The KPI counters for a run of `model`."""
    sc = model.scenario
    return Kpi(
        model.points,
        start_h=model.start_h,
        end_h=model.end_h,
        resolve_h=model.resolve_h,
        warmup_days=model.warmup,
        days=model.days,
        villager_speed_kmh=sc.pickup.villager_speed_kmh,
        van_capacity=sc.couriers.van_capacity,
        carriers=tuple(sc.couriers.carriers),
    )


def simulate(
    network: Network,
    loaded: LoadedScenario,
    seed: int,
    *,
    progress=None,
    model: Model | None = None,
    observers: tuple = (),
) -> SimulationRun:
    """One run of the engine named in the scenario (on `model` when given, so that route plans
    are shared between runs), with KPIs and any extra `observers` subscribed."""
    scenario = loaded.scenario
    model = model or Model(network, scenario, cache_dir=default_cache_dir())
    if progress is not None:  # route planning takes seconds on a cold cache: say so on the bar
        model.planner.on_county = lambda done, of: progress.set_postfix_str(
            f"planning routes {done}/{of}" if done < of else ""
        )
    kpi, state = kpi_observer(model), model.stations()
    programme = Programme(model, state, seed, kpi.warehouse_orders)
    shift = ShiftCheck(scenario.couriers.shift_h, model.start_h, model.end_h)
    bus = Bus([kpi, programme, shift, *observers])
    info = ENGINES[scenario.simulation.engine](model, seed, bus, progress=progress, stations=state).run()
    c, payer = scenario.couriers, scenario.upstream.matching_payer
    summary = kpi.summary(
        cost_per_km=c.cost_per_km, cost_per_hour=c.cost_per_hour, shift_h=c.shift_h, cost_basis=c.cost_basis,
        cost_per_van_day=c.cost_per_van_day, matching_yuan=operators_share_yuan(info.upstream, payer),
    )  # fmt: skip
    summary["vans"].update(shift.summary())  # trips longer than the shift (they still run)
    delivered = summary["total"]["parcels"]["delivered"]
    result = programme.result(parcels_delivered=delivered)
    summary["subsidies"], summary["stations_survival"] = result.subsidies, result.survival
    summary["public_cost"] = public_cost(result.subsidies["total_yuan"], info.upstream, delivered)
    fourpl = ledger_rows(info.upstream, model.date(model.total_days - 1).isoformat())
    ledger = pd.concat([result.ledger, fourpl], ignore_index=True) if len(fourpl) else result.ledger
    faults = model.fault_plan(seed)
    cut_off = None if faults is None else faults.village_days_cut_off(model)
    if faults is not None:
        summary["faults"] = faults.summary(model)
        held = int(kpi.held_by_faults.sum())  # each holding costs a parcel a day: departures are daily
        summary["faults"]["parcels_held_by_faults"] = held
        summary["faults"]["extra_hours_at_warehouses_per_parcel"] = (
            24.0 * held / max(int(kpi.delivered.sum()), 1)
        )
        for i, name in enumerate(model.points.county_names):
            summary["faults"]["by_county"][name]["parcels_held_by_faults"] = int(kpi.held_by_faults[i])
    if scenario.upstream.enabled:
        summary["upstream"] = info.upstream or {
            "simulated": False,
            "note": f"the {scenario.simulation.engine} engine models the downstream flow only",
        }
    summary["run_on_days"] = info.run_on_days  # past the horizon, until every order reached its point
    summary["route_plans"] = {since: _plans_block(model, p, c.shift_h) for since, p in info.plans.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        hand = kpi.village_hand_sum / kpi.village_hand_count
    cdfs = {
        f"{kind}/{name}": lead.cdf(kpi.groups_where(point_type=i))
        for i, name in enumerate(POINT_TYPES)
        for kind, lead in (("available", kpi.available), ("hand", kpi.in_hand))
    }
    routes = routes_of_day(model, info.plans, model.warmup + min(scenario.outputs.routes_day, model.days - 1))
    return SimulationRun(
        summary,
        hand,
        cdfs,
        info.planning_s,
        info.simulation_s,
        info.parcels,
        ledger,
        result.stations,
        routes,
        cut_off,
    )


def _plans_block(model: Model, plans: tuple, shift_h: float) -> dict[str, Any]:
    """The route plans in force from a date: each fleet's busiest day of the visit period (vans,
    routes), planned km a day (the period's mean), routes longer than the shift and the longest,
    and the counties whose plan did not fit the fleet or the shift."""
    days = [p.per_day() for p in plans]  # (routes, vans, km) per day of the period
    names = model.points.county_names
    return {
        "vans": int(sum(int(vans.max(initial=0)) for _, vans, _ in days)),
        "routes": int(sum(int(routes.max(initial=0)) for routes, _, _ in days)),
        "km_per_day": float(sum(float(km.mean()) for _, _, km in days)),
        "routes_over_shift": int(sum(int((p.route_minutes > 60 * shift_h).sum()) for p in plans)),
        "longest_route_h": max((float(p.route_minutes.max(initial=0)) / 60 for p in plans), default=0.0),
        "counties_over_fleet_or_shift": sorted(
            {names[model.fleet_county[f]] for f, p in enumerate(plans) if not p.feasible}
        ),
    }


def _task(args: tuple[LoadedScenario, int]) -> SimulationRun:
    loaded, seed = args
    return simulate(build_network(loaded), loaded, seed)


def replicate(
    loaded: LoadedScenario, network: Network, *, workers: int | None = None, progress=None
) -> list[SimulationRun]:
    """Every replication of the scenario, in seed order. The first runs here (with the progress
    bar); the others in up to `workers` local processes."""
    n = loaded.scenario.simulation.replications
    seed = loaded.scenario.seed
    first = simulate(network, loaded, seed, progress=progress)
    if n == 1:
        return [first]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rest = list(pool.map(_task, [(loaded, seed + r) for r in range(1, n)]))
    return [first, *rest]


def confidence(runs: list[SimulationRun]) -> dict[str, dict[str, float | None]]:
    """Mean and 95% confidence interval (Student t, `t_interval`) of every numeric figure across
    runs, by dotted path; the interval is None (null) where only one run has the figure."""
    leaves = [dict(_numbers(r.summary)) for r in runs]
    out = {}
    for path in leaves[0]:
        ci = t_interval(np.array([leaf.get(path, np.nan) for leaf in leaves], dtype=float))
        if not math.isnan(ci.mean):
            out[path] = {"mean": ci.mean, "ci95_low": ci.low, "ci95_high": ci.high}
    return out


def _numbers(tree: Any, prefix: str = ""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _numbers(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(tree, bool):
        return
    elif isinstance(tree, int | float | np.integer | np.floating):
        yield prefix, float(tree)
