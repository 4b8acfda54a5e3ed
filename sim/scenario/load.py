"""Scenario files: reading YAML, `extends:`, `--set` overrides, and every problem collected.

Loading collects every problem before it fails, and each problem is one line naming the file
(or ``--set``), the dotted field path, the message and the bad value
(`sim.scenario.messages`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from geo.errors import InputError
from sim.scenario.messages import Origin, pydantic_problem, show
from sim.scenario.policy import policy_problems
from sim.scenario.schema import Scenario

#: Fields that hold file paths, relative to the scenario file that set them.
PATH_FIELDS = (
    ("region", "file"),
    ("region", "townships", "file"),
    ("region", "counties", "file"),
    ("region", "candidates", "file"),
    ("region", "roads", "file"),
)


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and where each of its fields came from."""

    scenario: Scenario
    origin: Origin

    def path(self, loc: tuple[str, ...], value: str) -> Path:
        """The file `value` of field `loc`, relative to the scenario file that set it (to the
        working directory when it came from the command line)."""
        source = self.origin.of(loc)
        base = Path(source).parent if not source.startswith("--") else Path.cwd()
        return (base / value).resolve()

    def resolved_yaml(self) -> str:
        """`Scenario.resolved_yaml` with file paths made absolute, so the copy in a run folder
        runs again from anywhere."""
        data = self.scenario.model_dump(mode="json")
        for loc in PATH_FIELDS:
            parent: dict[str, Any] | None = data
            for part in loc[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
            if isinstance(parent, dict) and parent.get(loc[-1]):
                parent[loc[-1]] = str(self.path(loc, parent[loc[-1]]))
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def load_scenario(
    path: str | os.PathLike[str], overrides: Sequence[str | tuple[str, str]] = ()
) -> LoadedScenario:
    """Read `path` (following `extends:`), apply `overrides` ("dotted.key=yaml-value", or
    `(source, "key=value")` pairs) and validate. Raises `InputError` listing every problem."""
    root = str(path)
    sources: dict[tuple[str, ...], str] = {}
    merged: dict[str, Any] = {}
    for source, raw in _read_chain(Path(root), ()):
        _merge(merged, raw, source, sources, ())
    problems = [p for p in (_apply_override(merged, sources, item) for item in overrides) if p]
    _fill_defaults(merged, Scenario)
    origin = Origin(root, sources)
    try:  # the good overrides applied, so bad ones and bad fields come in one report
        scenario = Scenario.model_validate(merged)
    except ValidationError as err:
        raise InputError([*problems, *(pydantic_problem(origin, e) for e in err.errors())]) from None
    problems += _semantic_problems(scenario, origin)
    if problems:
        raise InputError(problems)
    return LoadedScenario(scenario, origin)


def as_mapping(overrides: Sequence[str | tuple[str, str]]) -> dict[str, Any]:
    """`--set`-style overrides as the nested mapping a scenario file would hold (for files that
    `extends:` a scenario and set what the command line set); values read as the file's YAML."""
    data: dict[str, Any] = {}
    for item in overrides:
        _, text = item if isinstance(item, tuple) else ("--set", item)
        key, _, raw = text.partition("=")
        parts = key.strip().split(".")
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.load(raw, Loader=_UniqueKeyLoader)
    return data


def load_resolved(text: str, source: str) -> LoadedScenario:
    """A scenario from the text of `LoadedScenario.resolved_yaml()` (every field given, file
    paths absolute), e.g. shipped to another process; `source` names it in messages."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        raise InputError([f"{source}: not a readable resolved scenario: {err}"]) from None
    origin = Origin(source)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise InputError([pydantic_problem(origin, e) for e in err.errors()]) from None
    return LoadedScenario(scenario, origin)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last, and leaves
    dates as text for the schema to parse (PyYAML would crash on 2018-13-01)."""

    yaml_implicit_resolvers = {  # noqa: RUF012 (PyYAML's own class attribute)
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path, what: str = "scenario file", list_key: str | None = None) -> dict[str, Any]:
    """A YAML file holding a mapping (duplicate keys refused, dates left as text), or
    `InputError` with one line naming the file (and the line of a syntax error); `what` names
    the kind of file in messages; with `list_key`, a bare list stands for `{list_key: list}`."""
    if path.is_dir():
        raise InputError([f"{path}: is a folder, not a {what}"])
    if not path.is_file():
        raise InputError([f"{path}: file not found"])
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError([f"{path}{line}: YAML syntax error: {err.problem or err.context}"]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise InputError([f"{path}: not a readable YAML file: {err}"]) from None
    if data is None:
        raise InputError([f"{path}: the file is empty"])
    if list_key is not None and isinstance(data, list):
        data = {list_key: data}
    if not isinstance(data, dict):
        raise InputError([f"{path}: must hold a mapping of fields (got {type(data).__name__})"])
    return data


def _read_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml(path)
    if isinstance(data.get("region"), str):  # `region: lishui` is short for `region: {preset: lishui}`
        data["region"] = {"preset": data["region"]}
    return data


def _read_chain(path: Path, seen: tuple[Path, ...]) -> list[tuple[str, dict[str, Any]]]:
    """(source, mapping) pairs, the farthest ancestor first. `extends:` names one file or a
    list of files, merged in the order listed (a later one wins), then the file itself."""
    raw = _read_yaml(path)
    parents = raw.pop("extends", None)
    if parents is None:
        return [(str(path), raw)]
    listed = parents if isinstance(parents, list) and parents else [parents]
    chain = (*seen, path)
    out: list[tuple[str, dict[str, Any]]] = []
    for parent in listed:
        if not isinstance(parent, str) or not parent:
            raise InputError(
                [f"{path}: extends: must be a file path or a list of them (got {show(parents)})"]
            )
        parent_path = Path(os.path.normpath(path.parent / parent))
        if any(parent_path.resolve() == p.resolve() for p in chain):
            cycle = " -> ".join(str(p) for p in (*chain, parent_path))
            raise InputError([f"{path}: extends: cycle {cycle}"])
        if not parent_path.is_file():
            raise InputError([f"{path}: extends: file not found: {parent_path}"])
        out += _read_chain(parent_path, chain)
    return [*out, (str(path), raw)]


def _merge(
    base: dict[str, Any],
    top: dict[str, Any],
    source: str,
    sources: dict[tuple[str, ...], str],
    prefix: tuple[str, ...],
) -> None:
    """Deep-merge `top` into `base` (mappings merge, anything else replaces), noting sources."""
    for key, value in top.items():
        loc = (*prefix, str(key))
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            sources[loc] = source
            _merge(base[key], value, source, sources, loc)
            continue
        for stale in [p for p in sources if p[: len(loc)] == loc]:
            del sources[stale]
        base[key] = copy.deepcopy(value)
        _note(value, loc, source, sources)


def _note(value: Any, loc: tuple[str, ...], source: str, sources: dict[tuple[str, ...], str]) -> None:
    sources[loc] = source
    if isinstance(value, dict):
        for key, sub in value.items():
            _note(sub, (*loc, str(key)), source, sources)


def _apply_override(
    merged: dict[str, Any], sources: dict[tuple[str, ...], str], item: str | tuple[str, str]
) -> str:
    """Apply one ``key=value`` override in place; return a problem line, or "" when fine."""
    source, text = item if isinstance(item, tuple) else ("--set", item)
    key, sep, raw = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        return f"{source} {text}: expected KEY=VALUE with a dotted KEY, e.g. stations.rural.target=1200"
    try:
        value = yaml.load(raw, Loader=_UniqueKeyLoader)  # the file's rules: dates stay text
    except yaml.YAMLError as err:
        return f"{source} {text}: value is not valid YAML: {getattr(err, 'problem', err)}"
    if parts == ["region"] and isinstance(value, str):
        value = {"preset": value}
    node, model = merged, _Field(Scenario)
    for i, part in enumerate(parts[:-1]):
        if part not in node:  # a mapping the file leaves at its default: start from that default
            default = model.default(part)
            if isinstance(default, dict) and default:
                node[part] = to_jsonable_python(default)
        node, model = node.setdefault(part, {}), model.child(part)
        if not isinstance(node, dict):
            return f"{source}: {'.'.join(parts[: i + 1])}: is not a mapping, cannot set {key}"
    node.pop(parts[-1], None)  # a value given whole replaces the field's (a mapping too)
    _merge(node, {parts[-1]: value}, source, sources, tuple(parts[:-1]))
    return ""


@dataclass(frozen=True)
class _Field:
    """Where a dotted path stands in the schema: a section (`model`), a mapping of sections by
    name (`items`), or neither."""

    model: type[BaseModel] | None = None
    items: type[BaseModel] | None = None

    def default(self, part: str) -> Any:
        info = self.model.model_fields.get(part) if self.model is not None else None
        return None if info is None else info.get_default(call_default_factory=True)

    def child(self, part: str) -> _Field:
        if self.items is not None:
            return _Field(self.items)
        info = self.model.model_fields.get(part) if self.model is not None else None
        if info is None:
            return _Field()
        annotation = info.annotation
        if get_origin(annotation) is dict:
            return _Field(items=_section(get_args(annotation)[1]))
        return _Field(_section(annotation))


def _section(annotation: Any) -> type[BaseModel] | None:
    """The section class of a field's annotation (`X`, `X | None`), or None."""
    options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    found = [o for o in options if isinstance(o, type) and issubclass(o, BaseModel)]
    return found[0] if len(found) == 1 else None


def _fill_defaults(data: dict[str, Any], model: type[BaseModel]) -> None:
    """Where `data` gives part of a section whose default differs from its class's defaults
    (`pickup.township_point` opens 8-18, not 8-20), fill in the rest from that default, so that
    setting one field keeps the others as documented. Mappings of named sections (products,
    rules) given in a file replace the default mapping whole."""
    for name, info in model.model_fields.items():
        given = data.get(name)
        if not isinstance(given, dict):
            continue
        section = _section(info.annotation)
        if section is not None:
            default = info.get_default(call_default_factory=True)
            if isinstance(default, BaseModel):
                data[name] = given = {**default.model_dump(mode="json"), **given}
            _fill_defaults(given, section)
        elif get_origin(info.annotation) is dict and (items := _section(get_args(info.annotation)[1])):
            for item in given.values():
                if isinstance(item, dict):
                    _fill_defaults(item, items)


def _semantic_problems(s: Scenario, origin: Origin) -> list[str]:
    """Checks that span fields (pydantic checks fields one at a time)."""
    problems = []
    if s.horizon.years is not None and s.horizon.days is not None:
        problems.append(
            origin.problem(
                ("horizon",),
                "give years or days, not both (e.g. --set horizon.years=null --set horizon.days=30)",
            )
        )
    region = s.region
    if (region.preset is None) == (region.file is None):
        problems.append(
            origin.problem(
                ("region",), "give preset or file, not both" if region.preset else "give preset or file"
            )
        )
    if region.preset is not None:
        for name in ("layer", "columns", "townships", "counties", "crs"):
            if getattr(region, name) not in (None, {}):
                problems.append(origin.problem(("region", name), "only with region.file, not a preset"))
    elif region.file is not None and region.villages is not None:
        problems.append(
            origin.problem(("region", "villages"), "only with a preset; a file has its own villages")
        )
    roads = region.roads
    if roads is not None:
        if roads.synthetic == (roads.file is not None):
            message = "give synthetic or file, not both" if roads.synthetic else "give synthetic or file"
            problems.append(origin.problem(("region", "roads"), message))
        elif roads.synthetic and region.preset is None:
            problems.append(origin.problem(("region", "roads", "synthetic"), "only with a preset region"))
    rural = s.stations.rural
    plan_loc = ("stations", "rural", "build_plan")
    if rural.target is not None and rural.build_plan is not None:
        problems.append(origin.problem(("stations", "rural"), "give target or build_plan, not both"))
    if rural.build_plan is not None:
        if not rural.build_plan:
            problems.append(origin.problem(plan_loc, "must list at least one year"))
        previous: tuple[int, int] | None = None
        for year, count in sorted(rural.build_plan.items()):
            if not s.horizon.start.year <= year <= s.horizon.last_year:
                span = f"{s.horizon.start.year}-{s.horizon.last_year}"
                problems.append(origin.problem((*plan_loc, year), f"year outside the horizon {span}", year))
            if previous is not None and count < previous[1]:
                message = f"must not fall below {previous[1]} of {previous[0]} (stations are kept once built)"
                problems.append(origin.problem((*plan_loc, year), message, count))
            previous = (year, count)
    problems += [origin.problem(loc, *rest) for loc, *rest in policy_problems(s.subsidies)]
    return problems
