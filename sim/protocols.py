"""What the engines and their callers agree on, as `typing.Protocol`s (checked by mypy, no
run-time cost): an engine class (`Engine(model, seed, bus, *, progress=None, stations=None)`,
what `sim.engines.ENGINES` holds), the engine it makes (`.run() -> RunInfo`) and the progress
bar it ticks.

Observers get no Protocol: each implements `on_<kind>(event)` for any subset of the kinds in
`sim.events`, which a Protocol cannot ask for, and `Bus` looks those methods up when it is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sim.events import Bus
    from sim.fast import RunInfo
    from sim.model import Model
    from sim.station_state import StationState


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
