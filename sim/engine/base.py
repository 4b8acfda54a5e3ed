"""What both engines share: the lifecycle of a run, what a run returns, and what the engines and
their callers agree on as `typing.Protocol`s (checked by mypy, no run-time cost; observers' is
`sim.core.events.Observer`).

`EngineRun` holds what the engines set up alike (random streams, sorting lines, the stations'
opening days, faults, the run-on rule), times the run, drives the day clock (the day's end
events, a new station network or plan year, the day's orders) and runs on past the horizon
(`sim.engine.runon`). The rules parcels follow are not here: each engine writes them its own way,
on purpose, so that one checks the other (`sim.engine.fast`, `sim.engine.reference`).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import simpy

from sim.core.batch import ParcelBatch
from sim.core.events import Bus, NetworkChanged, Ordered
from sim.engine.model import Model
from sim.engine.runon import RunOn, run_on
from sim.flows.warehouse import Sorter
from sim.network.station_state import StationState


class Progress(Protocol):
    """A progress bar an engine ticks once per simulated day (a `tqdm` bar is one)."""

    def update(self) -> object: ...


class Engine(Protocol):
    """One run of an engine: call `run()` once."""

    def run(self) -> RunInfo: ...


class EngineClass(Protocol):
    """`Engine(model, seed, bus, *, progress=None, stations=None)`: a run of `model` with random
    `seed`, telling `bus` what happens; `stations`: the stations' opening days, which observers
    may change during the run (default: as planned)."""

    def __call__(
        self,
        model: Model,
        seed: int,
        bus: Bus,
        *,
        progress: Progress | None = None,
        stations: StationState | None = None,
    ) -> Engine: ...


@dataclass(frozen=True)
class RunInfo:
    """How a run went: route plans by the date they came into force, seconds spent planning
    routes and simulating (planning excluded), parcels ordered in all (warm-up included), the
    days it ran on past the horizon (`sim.engine.runon`), and the produce that went up
    (`ProduceFlow.summary`; None when not simulated)."""

    plans: dict[str, tuple]
    planning_s: float
    simulation_s: float
    parcels: int
    run_on_days: int
    upstream: dict | None = None


class EngineRun:
    """One run of an engine: call `run()` once. An engine adds its processes (`_start`), takes
    each day's orders (`_take`) and closes its books at the end (`_finish`)."""

    def __init__(
        self,
        model: Model,
        seed: int,
        bus: Bus,
        *,
        progress: Progress | None = None,
        stations: StationState | None = None,
    ):
        """`stations`: the stations' opening days, which observers may change during the run
        (default: as planned)."""
        self.m, self.bus, self.progress = model, bus, progress
        self.streams = model.streams(seed)
        self.sorters = [Sorter(model.sorting(f), self.streams.sort[f]) for f in range(model.n_fleets)]
        self.state = stations if stations is not None else model.stations()
        self.faults = model.fault_plan(seed)
        self.plans_in_force: dict[str, tuple] = {}
        self.ordered = 0  # parcels ordered so far; the next one's id
        self.run_on = RunOn()

    def run(self) -> RunInfo:
        started, planned = time.perf_counter(), self.m.planner.planning_s
        env = self.env = simpy.Environment()
        env.process(self._days(env))
        self._start(env)
        env.run(until=self.m.end_h)
        self._day_end(self.m.total_days - 1)
        stop = run_on(env, self.m, lambda day: self.run_on.resolved(day, self.ordered))
        self._finish(stop)
        planning = self.m.planner.planning_s - planned
        return RunInfo(
            self.plans_in_force,
            planning,
            time.perf_counter() - started - planning,
            self.ordered,
            round((stop - self.m.end_h) / 24.0),
            self._upstream(),
        )

    def _days(self, env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        """The day clock, at 00:00: yesterday's end, the station network of the day (when it or
        the plan year changes), then the day's orders."""
        m = self.m
        for day in range(m.total_days):
            if day:
                self._day_end(day - 1)
            if day == 0 or self.state.changes_on(day) or m.replans_on(day):
                self._network(day)
            self._day_start(day)
            parcels, slot = m.orders(m, day, self.net.community_open, self.ordered, self.streams)
            self.ordered += len(parcels)
            self.bus.emit(Ordered(day, parcels))
            self._take(parcels, slot)
            if self.progress is not None:
                self.progress.update()
            yield env.timeout(24.0)

    def _day_end(self, day: int) -> None:
        for event in self.m.day_end_events(day, self.net):
            self.bus.emit(event)

    def _network(self, day: int) -> None:
        """The stations open from `day`: destinations, capacities and route plans."""
        self.net = net = self.m.network_on(self.state, day)
        self.plans_in_force.setdefault(self.m.date(day).isoformat(), net.plans)
        self._on_network()
        self.bus.emit(NetworkChanged(day, net.rural_open, net.community_open))

    # ------------------------------------------------------------ what each engine writes
    def _start(self, env: simpy.Environment) -> None:
        """Add the engine's processes besides the day clock."""
        raise NotImplementedError

    def _on_network(self) -> None:
        """After `self.net` changed, before observers hear of it."""

    def _day_start(self, day: int) -> None:
        """At 00:00 of `day`, before its orders are drawn."""

    def _take(self, parcels: ParcelBatch, slot: np.ndarray) -> None:
        """The day's orders (`slot`: each parcel's trunk wave slot)."""
        raise NotImplementedError

    def _finish(self, stop_h: float) -> None:
        """Close the books at `stop_h`, the end of the run on."""
        raise NotImplementedError

    def _upstream(self) -> dict | None:
        """The produce summary for `RunInfo.upstream` (None: no produce simulated)."""
        return None
