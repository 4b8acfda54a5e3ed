"""`--vary KEY=VALUES`: the alternatives of a comparison or a sweep.

VALUES is a comma-separated list of YAML values (``population,mclp``, ``1.1,1.25``) or a range
``START:STOP:STEP`` of numbers from START to STOP in steps of STEP, STOP always included
(``0:150:25`` is 0, 25, ..., 150; ``0:2725:250`` is 0, 250, ..., 2500, 2725). Several `--vary`
give their Cartesian product, the first varying slowest.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import yaml

from geo.errors import InputError

MAX_ALTERNATIVES = 10_000


@dataclass(frozen=True)
class Vary:
    """One `--vary`: a dotted field `key` and its `values` (as YAML would read them)."""

    key: str
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        """The field's last part (``placement`` for ``stations.rural.placement``)."""
        return self.key.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Alternative:
    """One combination of values: `values` by key, in `--vary` order."""

    values: tuple[tuple[str, Any], ...]

    @property
    def label(self) -> str:
        """E.g. ``placement=mclp`` or ``target=250, placement=mclp``."""
        return ", ".join(f"{key.rsplit('.', 1)[-1]}={_text(v)}" for key, v in self.values)

    def overrides(self) -> list[tuple[str, str]]:
        """`load_scenario` overrides, attributed to ``--vary``."""
        return [("--vary", f"{key}={yaml_value(v)}") for key, v in self.values]


def parse_vary(text: str) -> Vary:
    """One ``KEY=VALUES``; raises `InputError` (one line) when it cannot be read."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    parts = key.split(".")
    if not sep or not key or not all(parts):
        raise InputError(
            [f"--vary {text}: expected KEY=VALUES with a dotted KEY, e.g. stations.rural.target=0:150:25"]
        )
    if not raw:
        raise InputError([f"--vary {text}: no values after '='"])
    if raw.count(":") == 2 and "," not in raw and not raw.startswith(("[", "{", "'", '"')):
        return Vary(key, _range(text, *raw.split(":")))
    values = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            raise InputError([f"--vary {text}: empty value in the list"])
        try:
            values.append(yaml.safe_load(item))
        except yaml.YAMLError:
            raise InputError([f"--vary {text}: {item!r} is not a valid YAML value"]) from None
    if len(set(map(yaml_value, values))) != len(values):
        raise InputError([f"--vary {text}: a value is listed twice"])
    return Vary(key, tuple(values))


def _range(text: str, *parts: str) -> tuple[Any, ...]:
    numbers = []
    for p in parts:
        try:
            numbers.append(int(p) if p.strip().lstrip("+-").isdigit() else float(p))
        except ValueError:
            raise InputError(
                [f"--vary {text}: START:STOP:STEP must be numbers (got {p.strip()!r})"]
            ) from None
    start, stop, step = numbers
    if not all(math.isfinite(x) for x in numbers):
        raise InputError([f"--vary {text}: START:STOP:STEP must be finite numbers"])
    if step <= 0:
        raise InputError([f"--vary {text}: STEP must be > 0 (got {step:g})"])
    if stop < start:
        raise InputError([f"--vary {text}: STOP must be >= START (got {stop:g} < {start:g})"])
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_ALTERNATIVES:
        raise InputError([f"--vary {text}: {count:,} values, more than {MAX_ALTERNATIVES:,}"])
    whole = all(isinstance(x, int) for x in numbers)
    values = [start + k * step if whole else round(start + k * step, 10) for k in range(count)]
    if values[-1] != stop:
        values.append(stop)
    return tuple(values)


def alternatives(varies: list[Vary]) -> list[Alternative]:
    """The Cartesian product of the `varies` (one alternative per combination)."""
    keys = [v.key for v in varies]
    if len(set(keys)) != len(keys):
        raise InputError(
            [f"--vary: {k}: given twice" for k in sorted({k for k in keys if keys.count(k) > 1})]
        )
    total = math.prod(len(v.values) for v in varies)
    if total > MAX_ALTERNATIVES:
        raise InputError([f"--vary: {total:,} alternatives, more than {MAX_ALTERNATIVES:,}"])
    return [
        Alternative(tuple(zip(keys, combo, strict=True)))
        for combo in itertools.product(*(v.values for v in varies))
    ]


def yaml_value(value: Any) -> str:
    """`value` as one line of YAML (what `--set` reads)."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else yaml_value(value)
