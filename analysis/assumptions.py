"""The model's unsourced figures as data: a range (or a list of choices) for each, with the source
or the reasoning behind it.

An assumptions file is YAML, a list under ``assumptions:``; each entry names a scenario field by
its dotted path (anything ``--set`` can change) and how it may vary::

    assumptions:
      - key: demand.parcels_per_household_day
        label: parcels a day per household in the base year
        unit: parcels/household-day
        distribution: uniform          # uniform | loguniform | triangular | choice
        low: 0.12
        high: 0.30
        source: "..."                  # where the range comes from, or the reasoning

``triangular`` also takes ``mode``; ``choice`` takes ``choices`` (no low, high); ``integer: true``
rounds a drawn value. Draws are made in the unit interval (one column per assumption) and mapped
through each one's inverse CDF (`Assumption.value`), so every sampler (Morris, Sobol, Latin
hypercube) and every analysis works in one space. The bundled file (`DEFAULT`) holds the Lishui
ranges; `sensitivity`, `compare --uncertain` and `calibrate` take another with ``--assumptions``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from scipy import stats

from analysis.vary import yaml_value
from geo.errors import InputError
from sim.scenario.load import LoadedScenario, load_scenario, read_yaml
from sim.scenario.messages import Origin, pydantic_problem

#: The Lishui ranges, shipped with the package.
DEFAULT = Path(__file__).resolve().parent / "data" / "assumptions.yaml"

Scalar = float | int | str | bool


class Assumption(BaseModel):
    """One unsourced figure and how it may vary (see the module's docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    key: str
    label: str
    unit: str = ""
    distribution: Literal["uniform", "loguniform", "triangular", "choice"] = "uniform"
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    choices: tuple[Scalar, ...] | None = None
    integer: bool = False
    source: str

    @model_validator(mode="after")
    def _check(self) -> Assumption:
        if self.distribution == "choice":
            if self.choices is None or len(self.choices) < 2:
                raise ValueError("choice needs at least two choices")
            if self.low is not None or self.high is not None or self.mode is not None:
                raise ValueError("choice takes choices, not low, high or mode")
            return self
        if self.choices is not None:
            raise ValueError(f"{self.distribution} takes low and high, not choices")
        if self.low is None or self.high is None:
            raise ValueError(f"{self.distribution} needs low and high")
        if not self.low < self.high:
            raise ValueError(f"low must be below high (got {self.low:g} and {self.high:g})")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError(f"loguniform needs low > 0 (got {self.low:g})")
        if self.distribution == "triangular":
            if self.mode is None or not self.low <= self.mode <= self.high:
                raise ValueError("triangular needs a mode between low and high")
        elif self.mode is not None:
            raise ValueError("mode is for triangular only")
        return self

    def value(self, u: float) -> Scalar:
        """The value at quantile `u` (0 <= u <= 1) of this assumption's distribution."""
        u = min(max(float(u), 0.0), 1.0)
        if self.choices is not None:
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        assert self.low is not None and self.high is not None
        lo, hi = self.low, self.high
        if u in (0.0, 1.0):  # the ends exactly as written (the log-uniform's would be rounded)
            x = lo if u == 0.0 else hi
        elif self.distribution == "uniform":
            x = lo + u * (hi - lo)
        elif self.distribution == "loguniform":
            x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        else:
            assert self.mode is not None
            x = float(stats.triang.ppf(u, (self.mode - lo) / (hi - lo), loc=lo, scale=hi - lo))
        return round(x) if self.integer else x

    def extremes(self) -> tuple[Scalar, ...]:
        """The values a check tries: low and high, or every choice."""
        return self.choices if self.choices is not None else (self.value(0.0), self.value(1.0))


class Assumptions(BaseModel):
    """An assumptions file: its entries, keys unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assumptions: tuple[Assumption, ...]

    @field_validator("assumptions")
    @classmethod
    def _some(cls, value: tuple[Assumption, ...]) -> tuple[Assumption, ...]:
        if not value:
            raise ValueError("list at least one assumption")
        return value

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.assumptions]

    def values(self, unit_row: np.ndarray) -> list[tuple[str, Scalar]]:
        """(key, value) of each assumption at the quantiles of one row of a unit-interval sample."""
        return [(a.key, a.value(u)) for a, u in zip(self.assumptions, unit_row, strict=True)]


def overrides(source: str, values: list[tuple[str, Scalar]]) -> list[tuple[str, str]]:
    """`--set`-style overrides for `load_scenario`, each named by `source`."""
    return [(source, f"{key}={yaml_value(value)}") for key, value in values]


def load_assumptions(path: str | Path | None = None) -> tuple[Assumptions, str]:
    """Read and check an assumptions file (default: the bundled Lishui one); returns it and the
    name errors should give it. Raises `InputError`, one line per problem."""
    path = Path(path) if path is not None else DEFAULT
    where = str(path)
    data = read_yaml(path, "assumptions file")
    entries = data.get("assumptions")
    keys = [e.get("key") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    twice = sorted({k for k in keys if isinstance(k, str) and keys.count(k) > 1})
    if twice:
        raise InputError([f"{where}: assumptions: key given twice: {k}" for k in twice])
    try:
        return Assumptions.model_validate(data), where
    except ValidationError as err:
        origin = Origin(where)
        raise InputError([pydantic_problem(origin, e) for e in err.errors()]) from None


def check_against(assumptions: Assumptions, where: str, scenario: Path, given: list[Any]) -> LoadedScenario:
    """Load `scenario` (with the command line's `given` overrides) and check that each assumption
    at each of its extremes still makes a valid scenario; returns the loaded base. Raises
    `InputError` with one line per problem, naming the assumptions file and the key."""
    base = load_scenario(scenario, given)
    problems: list[str] = []
    for i, a in enumerate(assumptions.assumptions):
        for value in a.extremes():
            try:
                load_scenario(scenario, [*given, *overrides(f"{where}: assumptions.{i}", [(a.key, value)])])
            except InputError as err:
                problems += err.problems
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    return base
