"""One-line problems of a scenario: where each field came from, and pydantic's errors said as
``source: dotted.path: message (got value)``::

    scenarios/x.yaml: stations.rural.target: must be >= 0 (got -5)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails

from sim.scenario.schema import Scenario


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
        got = f" (got {show(value[0])})" if value else ""
        return f"{self.of(loc)}: {'.'.join(shown)}: {message}{got}"


def show(value: Any) -> str:
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


def pydantic_problem(origin: Origin, err: ErrorDetails) -> str:
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
