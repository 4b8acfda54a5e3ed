"""The engines a scenario can choose (`simulation.engine`), in one place."""

from __future__ import annotations

from sim.config import EngineName
from sim.fast import FastEngine
from sim.protocols import EngineClass
from sim.reference import ReferenceEngine

#: name -> engine class: `Engine(model, seed, bus, progress=...)`, then `.run() -> RunInfo`
#: (`sim.protocols.EngineClass`, which mypy checks each class against).
#: Its keys are the names `sim.config.EngineName` allows (tests/test_imports.py checks).
ENGINES: dict[EngineName, EngineClass] = {
    "fast": FastEngine,  # parcels as arrays: the one to use
    "reference": ReferenceEngine,  # one process per parcel, the same rules: slow, for checking
}
