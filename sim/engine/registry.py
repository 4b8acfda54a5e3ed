"""The engines a scenario can choose (`simulation.engine`), in one place."""

from __future__ import annotations

from sim.engine.base import EngineClass
from sim.engine.fast import FastEngine
from sim.engine.reference import ReferenceEngine
from sim.scenario.delivery import EngineName

#: name -> engine class: `Engine(model, seed, bus, progress=...)`, then `.run() -> RunInfo`
#: (`sim.engine.base.EngineClass`, which mypy checks each class against).
#: Its keys are the names `sim.scenario.delivery.EngineName` allows (tests/test_imports.py checks).
ENGINES: dict[EngineName, EngineClass] = {
    "fast": FastEngine,  # parcels as arrays: the one to use
    "reference": ReferenceEngine,  # one process per parcel, the same rules: slow, for checking
}
