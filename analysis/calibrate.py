"""`ruralsim calibrate`: fit chosen scenario fields to observed figures (Optuna, weighted least
squares), and say which figures the model cannot meet.

A targets file is YAML, a list under ``targets:`` (or a bare list); each entry names a figure of
a run's ``metrics.json`` by its dotted path and what was observed::

    targets:
      - name: station_parcels_per_day
        metric: simulation.station_parcels_per_day.mean   # "LAST" stands for the last year key;
                                       # or a compare KPI's name, e.g. courier_cost_per_parcel_yuan
        range: [10, 50]                # observed bounds, or `value: 30`
        sigma: 5                       # optional scale; weight: optional importance (default 1)
        source: "docs/sources.md: ..."

A target's residual is (model - value) / sigma for a value (sigma defaults to 10% of the value;
met when within one sigma), and for a range 0 inside it, else the distance to the nearer bound
over sigma (default: the range's half-width; met when inside). The objective is the sum of
weight x residual² (a target of weight 0 is reported, not fitted). The model's figure of a trial
is the mean over its replications. Metric paths are checked against the first trial's metrics.

Each `--fit KEY` takes its range from the assumptions file (`analysis.assumptions`: uniform and
triangular search low..high, loguniform on a log scale, choice among the choices, integer
rounded) or from ``--fit KEY=LOW:HIGH`` (an integer field searches integers). Optuna's TPE sampler,
seeded with the scenario's seed, asks `batch` trials at a time (constant liar), each one scenario
run on the scenario's seeds as content-addressed tasks (`analysis.tasks`) stored under
``<folder>/tasks/``. The trials are a function of the seed, the batch size and the results, so
running the same command again replays the same trials, reusing every stored task: a killed
calibration resumes, and more ``--trials`` extend it (a run of N trials is the first N of a longer
one). The number of workers and the executor change nothing but the time (each batch is one
`analysis.tasks.execute` call: its process pool or Dask cluster starts afresh, so workers beyond
batch x replications stay idle).

The folder holds ``study.json`` (what it fits), ``tasks/``, then ``calibration.csv`` (every
trial), ``fitted.yaml`` (a scenario that extends the input and sets the fitted values and the
command line's settings: ``ruralsim run fitted.yaml`` gives the best trial's figures) and
``calibration.json`` last, each written in one rename.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from tqdm import tqdm

from analysis.assumptions import Assumption, load_assumptions
from analysis.runfolder import rounded, write_file
from analysis.study import KPIS
from analysis.tasks import Task, code_version, done, execute, open_folder, store
from analysis.vary import yaml_value
from geo.errors import InputError
from sim.scenario.load import LoadedScenario, as_mapping, load_scenario, read_yaml
from sim.scenario.messages import Origin, pydantic_problem

Scalar = float | int | str | bool

#: A value target's sigma when none is given: this share of the value (an assumption of ours).
DEFAULT_RELATIVE_SIGMA = 0.1
DEFAULT_TRIALS = 30
DEFAULT_BATCH = 4
_DIGITS = 6  # significant digits of a trial's float values (what the scenario gets and reports)


# ------------------------------------------------------------------------------------- targets


class Target(BaseModel):
    """One observed figure (see the module's docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str
    metric: str
    value: float | None = None
    bounds: tuple[float, float] | None = Field(None, alias="range")
    sigma: float | None = Field(None, gt=0)
    weight: float = Field(1.0, ge=0)
    source: str = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", v):
            raise ValueError("must start with a letter or digit and hold only letters, digits, '.', '_', '-'")
        return v

    @field_validator("metric")
    @classmethod
    def _dotted(cls, v: str) -> str:
        if not re.fullmatch(r"[^.\s]+(\.[^.\s]+)*", v):
            raise ValueError("must be a dotted path into metrics.json, e.g. simulation.vans.km")
        return v

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not v[0] < v[1]:
            raise ValueError("must be [low, high] with low below high")
        return v

    @model_validator(mode="after")
    def _one_observation(self) -> Target:
        if (self.value is None) == (self.bounds is None):
            raise ValueError("give either value or range" + (" (not both)" if self.value is not None else ""))
        if self.value == 0 and self.sigma is None:
            raise ValueError("a value of 0 needs a sigma (the default is 10% of the value)")
        return self

    @property
    def scale(self) -> float:
        """What one unit of residual is: sigma, else 10% of the value or the range's half-width."""
        if self.sigma is not None:
            return self.sigma
        if self.bounds is not None:
            return (self.bounds[1] - self.bounds[0]) / 2
        assert self.value is not None
        return DEFAULT_RELATIVE_SIGMA * abs(self.value)

    def residual(self, model: float | None) -> float:
        """(model - observed) / scale; for a range 0 inside, else signed distance to the nearer
        bound; NaN when the model gives no figure."""
        if model is None or not math.isfinite(model):
            return math.nan
        if self.bounds is not None:
            low, high = self.bounds
            gap = model - high if model > high else model - low if model < low else 0.0
            return gap / self.scale
        assert self.value is not None
        return (model - self.value) / self.scale

    def met(self, model: float | None) -> bool:
        r = self.residual(model)
        if math.isnan(r):
            return False
        return r == 0.0 if self.bounds is not None else abs(r) <= 1.0

    @property
    def observed(self) -> str:
        if self.bounds is not None:
            return f"{_fmt(self.bounds[0])}-{_fmt(self.bounds[1])}"
        return f"{_fmt(self.value)} ± {_fmt(self.scale)}"


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: tuple[Target, ...]

    @model_validator(mode="after")
    def _unique(self) -> Targets:
        names = [t.name for t in self.targets]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"names given twice: {', '.join(twice)}")
        if not names:
            raise ValueError("list at least one target")
        return self


def load_targets(path: str | Path) -> tuple[Targets, str]:
    """Read and check a targets file; returns it and the name errors give it. Raises
    `InputError`, one line per problem (file, field, bad value)."""
    where = str(path)
    data = read_yaml(Path(path), "targets file", list_key="targets")
    try:
        return Targets.model_validate(data), where
    except ValidationError as err:
        origin = Origin(where)
        lines = [
            origin.problem(e["loc"] or ("targets",), str(e.get("ctx", {}).get("error", e["msg"])))
            if e["type"] == "value_error" and len(e["loc"]) <= 2
            else pydantic_problem(origin, e)
            for e in err.errors()
        ]
        raise InputError(list(dict.fromkeys(lines))) from None


class _Missing(Exception):
    """A metric path that names no figure; the message says why."""


def figure(metrics: dict[str, Any], path: str) -> float | None:
    """The number at dotted `path` of a run's metrics ("LAST": the largest key there, the last
    year), or of the compare KPI of that name (`analysis.study.KPIS`); None where the run has the
    figure as null. Raises `_Missing` when the path names no figure."""
    if "." not in path and path in KPIS:
        value = KPIS[path].of(metrics)
        return None if math.isnan(value) else value
    node: Any = metrics
    for i, part in enumerate(path.split(".")):
        if not isinstance(node, dict):
            raise _Missing(f"{'.'.join(path.split('.')[:i])} is a figure, not a section")
        if part == "LAST" and node:
            part = max(node)
        if part not in node:
            raise _Missing("not a figure of the model's metrics.json")
        node = node[part]
    if node is None:
        return None
    if isinstance(node, dict):
        raise _Missing("a section of metrics.json, not a figure")
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise _Missing(f"not a number (the model gives {node!r})")
    return float(node)


def check_metrics(targets: Targets, where: str, metrics: dict[str, Any]) -> list[str]:
    """One line per target whose metric path names no number in `metrics` (a run's)."""
    origin = Origin(where)
    problems = []
    leaves = [*_leaves(metrics), *KPIS]
    for i, t in enumerate(targets.targets):
        try:
            figure(metrics, t.metric)
        except _Missing as why:
            close = difflib.get_close_matches(t.metric, leaves, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(origin.problem(("targets", str(i), "metric"), f"{why}{hint}", t.metric))
    return problems


def _leaves(tree: Any, prefix: str = ""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(tree, int | float) and not isinstance(tree, bool):
        yield prefix


# ---------------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Param:
    """One field to fit and where the search may go: `low`..`high` (on a log scale with `log`;
    integers with `integer`), or one of `choices`; `source` says where the range came from."""

    key: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Scalar, ...] | None = None
    source: str = "--fit"

    def suggest(self, trial: Any) -> Scalar:
        """The trial's value (asked of Optuna); floats to 6 significant digits."""
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        assert self.low is not None and self.high is not None
        if self.integer:
            return trial.suggest_int(self.key, math.ceil(self.low), math.floor(self.high), log=self.log)
        x = float(trial.suggest_float(self.key, self.low, self.high, log=self.log))
        return min(max(float(f"{x:.{_DIGITS}g}"), self.low), self.high)

    def extremes(self) -> tuple[Scalar, ...]:
        if self.choices is not None:
            return self.choices
        assert self.low is not None and self.high is not None
        if self.integer:
            return (math.ceil(self.low), math.floor(self.high))
        return (self.low, self.high)

    @property
    def range_text(self) -> str:
        if self.choices is not None:
            return ", ".join(str(c) for c in self.choices)
        scale = ", log scale" if self.log else ""
        return f"{_fmt(self.low)}-{_fmt(self.high)}{scale}"

    def spec(self) -> dict[str, Any]:
        return {"key": self.key, "low": self.low, "high": self.high, "log": self.log,
                "integer": self.integer, "choices": None if self.choices is None else list(self.choices),
                "source": self.source}  # fmt: skip


_FIT = re.compile(r"^(?P<key>[^=\s]+)(=(?P<low>[^:]*):(?P<high>[^:]*))?$")


def parse_fit(texts: list[str], base: LoadedScenario, assumptions: str | Path | None) -> list[Param]:
    """The `--fit` options as parameters: `KEY=LOW:HIGH`, or `KEY` with its range from the
    assumptions file (default: the bundled one, read only when a `--fit` needs it). Raises
    `InputError`, one line per problem."""
    if not texts:
        raise InputError(["calibrate: give at least one --fit KEY or --fit KEY=LOW:HIGH"])
    dumped = base.scenario.model_dump(mode="json")
    leaves = [p for p, _ in _scalar_leaves(dumped)]
    problems: list[str] = []
    parsed: list[tuple[str, str, float | None, float | None]] = []
    for text in texts:
        m = _FIT.match(text.strip())
        if m is None:
            problems.append(f"--fit {text}: expected KEY or KEY=LOW:HIGH, e.g. couriers.cost_per_km=1:3")
            continue
        key = m["key"]
        found, current = _lookup(dumped, key)
        if not found:
            close = difflib.get_close_matches(key, leaves, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"--fit {text}: {key}: not a field of the scenario{hint}")
            continue
        if isinstance(current, dict | list):
            problems.append(
                f"--fit {text}: {key}: a section or a list, not one number; fit one of its fields"
            )
            continue
        low = high = None
        if m["low"] is not None:
            try:
                low, high = float(m["low"]), float(m["high"])
            except ValueError:
                bad = m["low"] if not _is_number(m["low"]) else m["high"]
                problems.append(f"--fit {text}: LOW and HIGH must be numbers (got {bad!r})")
                continue
            if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
                problems.append(f"--fit {text}: LOW must be below HIGH (got {low:g} and {high:g})")
                continue
        parsed.append((text, key, low, high))
    keys = [k for _, k, _, _ in parsed]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    problems += [f"--fit {k}: given twice" for k in twice]
    if problems:
        raise InputError(problems)
    book: dict[str, Assumption] = {}
    where = "the assumptions file"
    if assumptions is not None or any(low is None for _, _, low, _ in parsed):
        loaded, where = load_assumptions(assumptions)
        book = {a.key: a for a in loaded.assumptions}
    params: list[Param] = []
    for text, key, low, high in parsed:
        _, current = _lookup(dumped, key)
        integer = isinstance(current, int) and not isinstance(current, bool)
        if low is not None and high is not None:
            if integer and math.ceil(low) > math.floor(high):
                problems.append(
                    f"--fit {text}: {key} is a whole number: no integer between {low:g} and {high:g}"
                )
            params.append(Param(key, low, high, integer=integer, source="--fit"))
            continue
        a = book.get(key)
        if a is None:
            problems.append(f"--fit {text}: not in {where}; give a range: --fit {key}=LOW:HIGH")
            continue
        if a.choices is not None:
            params.append(Param(key, choices=a.choices, source=where))
        else:
            params.append(Param(key, a.low, a.high, log=a.distribution == "loguniform",
                                integer=a.integer or integer, source=where))  # fmt: skip
    if problems:
        raise InputError(problems)
    return params


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _lookup(tree: Any, key: str) -> tuple[bool, Any]:
    node = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _scalar_leaves(tree: Any, prefix: str = ""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _scalar_leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, tree


# ---------------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Calibration:
    """What a calibration fits: the scenario (`path` with the command line's `overrides`,
    loaded as `base`), its `params`, the `targets`, `replications` seeds from the scenario's,
    trials asked `batch` at a time, and its `folder`."""

    path: Path
    overrides: tuple[Any, ...]
    base: LoadedScenario
    params: tuple[Param, ...]
    targets: Targets
    targets_where: str
    replications: int
    batch: int
    folder: Path
    digest: str
    spec: dict[str, Any] = field(repr=False)

    @property
    def seed(self) -> int:
        return self.base.scenario.seed

    @property
    def seeds(self) -> list[int]:
        return [self.seed + r for r in range(self.replications)]

    def scenario(self, values: dict[str, Scalar]) -> LoadedScenario:
        """The scenario of one trial, one replication (the seeds are the tasks')."""
        fits = [("--fit", f"{key}={yaml_value(v)}") for key, v in values.items()]
        return load_scenario(
            self.path, [*self.overrides, *fits, ("--replications", "simulation.replications=1")]
        )


def plan(
    path: Path,
    *,
    targets: Path,
    fit: list[str],
    overrides: list[Any],
    assumptions: Path | None = None,
    replications: int | None = None,
    batch: int = DEFAULT_BATCH,
    runs_root: Path,
    out: Path | None,
) -> Calibration:
    """Read the scenario, the targets and the `--fit` options, check that each parameter at each
    end of its range gives a valid scenario for the region (one line per problem, all at once),
    and name the folder."""
    from sim.network.build import build_region, check_region

    problems: list[str] = []
    parsed_targets: Targets | None = None
    where = str(targets)
    try:
        parsed_targets, where = load_targets(targets)
    except InputError as err:
        problems += err.problems
    base = load_scenario(path, overrides)
    try:
        params = parse_fit(fit, base, assumptions)
    except InputError as err:
        raise InputError([*problems, *err.problems]) from None
    n = replications if replications is not None else base.scenario.simulation.replications
    if n < 1:
        problems.append(f"--replications: must be >= 1 (got {n})")
    if batch < 1:
        problems.append(f"--batch: must be >= 1 (got {batch})")
    if problems:
        raise InputError(problems)
    assert parsed_targets is not None
    regions: dict[str, Any] = {}
    for p in params:
        for value in p.extremes():
            source = "--fit" if p.source == "--fit" else f"--fit, range from {p.source}"
            try:
                one = load_scenario(path, [*overrides, (source, f"{p.key}={yaml_value(value)}")])
                key = json.dumps(one.scenario.region.model_dump(mode="json"), sort_keys=True)
                if key not in regions:
                    regions[key] = build_region(one)
                check_region(one, regions[key])
            except InputError as err:
                problems += err.problems
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    resolved = load_scenario(path, [*overrides, ("--replications", "simulation.replications=1")])
    spec = {
        "command": "calibrate",
        "scenario": base.scenario.name,
        "resolved": resolved.resolved_yaml(),
        "code_version": code_version(),
        "parameters": [p.spec() for p in params],
        "targets": [t.model_dump(mode="json", by_alias=True) for t in parsed_targets.targets],
        "replications": n,
        "seed": base.scenario.seed,
        "batch": batch,
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
    folder = out if out is not None else runs_root / base.scenario.name / f"calibrate-{digest}"
    return Calibration(path, tuple(overrides), base, tuple(params), parsed_targets, where, n, batch,
                       folder, digest, spec)  # fmt: skip


@dataclass
class _Trial:
    number: int
    values: dict[str, Scalar]
    tasks: list[Task]
    results: list[dict[str, Any] | None]

    @property
    def complete(self) -> bool:
        return all(r is not None for r in self.results)


def run(
    cal: Calibration,
    *,
    trials: int = DEFAULT_TRIALS,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run (or resume) the calibration to `trials` trials and write its files; returns the
    report (also ``calibration.json``). Prints nothing; `progress` shows a bar over trials
    (None: on a terminal)."""
    import optuna

    if trials < 1:
        raise InputError([f"--trials: must be >= 1 (got {trials})"])
    open_folder(cal.folder, cal.spec, (), "calibration")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=cal.seed, constant_liar=True)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    finished: list[_Trial] = []
    counts = {"tasks": 0, "run_now": 0, "reused": 0}
    checked = False
    quiet = None if progress is None else not progress
    desc = f"{cal.base.scenario.name}: calibrate"
    with tqdm(total=trials, desc=desc, unit="trial", disable=quiet, leave=False) as bar:
        while len(finished) < trials:
            asked = [study.ask() for _ in range(min(cal.batch, trials - len(finished)))]
            batch: list[_Trial] = []
            for t in asked:
                values = {p.key: p.suggest(t) for p in cal.params}
                resolved = cal.scenario(values).resolved_yaml()
                tasks = [Task(resolved, s, t.number, r) for r, s in enumerate(cal.seeds)]
                batch.append(_Trial(t.number, values, tasks, [done(cal.folder, task) for task in tasks]))
            by_key: dict[str, list[tuple[_Trial, int]]] = {}
            for trial in batch:
                for i, task in enumerate(trial.tasks):
                    by_key.setdefault(task.key, []).append((trial, i))
            pending = {
                t.tasks[i].key: t.tasks[i] for t in batch for i, r in enumerate(t.results) if r is None
            }
            n_tasks = sum(len(t.tasks) for t in batch)
            missing = sum(r is None for t in batch for r in t.results)
            counts["tasks"] += n_tasks
            counts["run_now"] += len(pending)  # a task asked twice in a batch runs once
            counts["reused"] += n_tasks - missing
            bar.update(sum(t.complete for t in batch))

            def on_result(task: Task, result: dict[str, Any], by_key=by_key) -> None:
                store(cal.folder, task, result)
                for trial, i in by_key[task.key]:
                    was = trial.complete
                    trial.results[i] = result
                    if trial.complete and not was:
                        bar.update()

            execute(list(pending.values()), on_result, executor=executor, workers=workers,
                    scheduler=scheduler)  # fmt: skip
            if not checked:
                first = batch[0].results[0]
                assert first is not None
                problems = check_metrics(cal.targets, cal.targets_where, first["metrics"])
                if problems:
                    raise InputError(problems)
                checked = True
            for t, trial in zip(asked, batch, strict=True):
                study.tell(t, _objective(cal, trial))
                finished.append(trial)
    return _report(cal, finished, counts)


def _model_values(cal: Calibration, trial: _Trial) -> dict[str, float | None]:
    """Each target's figure for a trial: the mean over its replications that have it."""
    out: dict[str, float | None] = {}
    for t in cal.targets.targets:
        got = []
        for result in trial.results:
            assert result is not None
            try:
                v = figure(result["metrics"], t.metric)
            except _Missing:
                v = None
            if v is not None and math.isfinite(v):
                got.append(v)
        out[t.name] = float(np.mean(got)) if got else None
    return out


def _objective(cal: Calibration, trial: _Trial) -> float:
    """Sum of weight x residual² (infinite when a fitted target's figure is missing)."""
    model = _model_values(cal, trial)
    total = 0.0
    for t in cal.targets.targets:
        if t.weight == 0:  # reported, not fitted
            continue
        r = t.residual(model[t.name])
        if math.isnan(r):
            return math.inf
        total += t.weight * r * r
    return total


# -------------------------------------------------------------------------------------- report


def _report(cal: Calibration, trials: list[_Trial], counts: dict[str, int]) -> dict[str, Any]:
    targets = cal.targets.targets
    models = [_model_values(cal, t) for t in trials]
    objectives = [_objective(cal, t) for t in trials]
    best = min(range(len(trials)), key=lambda i: (objectives[i], trials[i].number))
    fitted = trials[best].values
    rows = []
    for t in targets:
        model = models[best][t.name]
        r = t.residual(model)
        met = t.met(model)
        met_by = [i for i, m in enumerate(models) if t.met(m[t.name])]
        finite = [i for i, m in enumerate(models) if not math.isnan(t.residual(m[t.name]))]
        closest = min(finite, key=lambda i: (abs(t.residual(models[i][t.name])), i)) if finite else None
        rows.append({
            "name": t.name,
            "metric": t.metric,
            "observed": {"value": t.value} if t.bounds is None else {"low": t.bounds[0], "high": t.bounds[1]},
            "scale": t.scale,
            "weight": t.weight,
            "model": model,
            "residual": None if math.isnan(r) else r,
            "contribution": None if math.isnan(r) else t.weight * r * r,
            "met": met,
            "why": _why(t, model, met, len(met_by), len(trials),
                        None if closest is None else (trials[closest].number, models[closest][t.name])),
            "trials_meeting_it": len(met_by),
            "source": t.source,
        })  # fmt: skip
    table = _trials_table(cal, trials, models, objectives)
    fitted_text, note = _fitted_yaml(cal, trials[best], objectives[best])
    report = {
        "command": "calibrate",
        "scenario": cal.base.scenario.name,
        "scenario_file": str(cal.path),
        "targets_file": cal.targets_where,
        "seed": cal.seed,
        "seeds": cal.seeds,
        "replications": cal.replications,
        "batch": cal.batch,
        "sampler": "optuna TPESampler(seed=<seed>, constant_liar=True), ask/tell in batches",
        "trials_run": len(trials),
        **counts,
        "parameters": [p.spec() for p in cal.params],
        "best_trial": trials[best].number,
        "tied_with_best": [
            t.number for t, o in zip(trials, objectives, strict=True) if o == objectives[best]
        ],
        "objective": objectives[best],
        "objective_is": "sum over targets of weight x residual²",
        "fitted": fitted,
        "targets": rows,
        "not_met": [r["name"] for r in rows if not r["met"]],
        "fitted_yaml": "fitted.yaml",
        "fitted_yaml_note": note,
        "trials": table.to_dict(orient="records"),
    }
    report = rounded(report, digits=None)
    folder = cal.folder
    write_file(folder / "calibration.csv", table.to_csv(index=False, float_format="%.10g"))
    write_file(folder / "fitted.yaml", fitted_text)
    write_file(folder / "calibration.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report


def _why(
    t: Target, model: float | None, met: bool, n_met: int, n: int, closest: tuple[int, float | None] | None
) -> str:
    if model is None:
        return "not met: at the fitted values the model gives no figure (null)"
    vs = f"{_fmt(model)} vs {t.observed}"
    if met:
        return f"met: at the fitted values the model gives {vs}"
    text = f"not met: at the fitted values the model gives {vs}"
    if n_met:
        return text + (
            f"; {n_met} of {n} trials met it, each at a higher objective (it pulls against other "
            "targets, or more trials would find a point that meets it too)"
        )
    if closest is not None:
        return text + f"; no trial met it within the ranges (closest {_fmt(closest[1])}, trial {closest[0]})"
    return text + "; no trial met it"


def _trials_table(
    cal: Calibration, trials: list[_Trial], models: list[dict[str, float | None]], objectives: list[float]
) -> pd.DataFrame:
    rows = []
    for trial, model, objective in zip(trials, models, objectives, strict=True):
        row: dict[str, Any] = {"trial": trial.number, **trial.values, "objective": objective}
        for t in cal.targets.targets:
            r = t.residual(model[t.name])
            row[f"{t.name}.model"] = model[t.name]
            row[f"{t.name}.residual"] = None if math.isnan(r) else r
        rows.append(row)
    return pd.DataFrame(rows)


def _fitted_yaml(cal: Calibration, best: _Trial, objective: float) -> tuple[str, str | None]:
    """fitted.yaml: extends the input scenario, sets the command line's settings and the fitted
    values; and a note if loading it does not give the best trial's scenario."""
    settings = list(cal.overrides)
    if cal.replications != cal.base.scenario.simulation.replications:
        settings.append(("--replications", f"simulation.replications={cal.replications}"))
    data = as_mapping([*settings, *(("fit", f"{k}={yaml_value(v)}") for k, v in best.values.items())])
    name = f"{cal.base.scenario.name[:57]}-fitted"
    head = {
        "extends": str(cal.path.resolve()),
        "name": name,
        "description": f"{cal.base.scenario.name} calibrated to {Path(cal.targets_where).name} (trial "
        f"{best.number}, objective {_fmt(objective)})",
    }
    body = {k: v for k, v in data.items() if k not in head}
    lines = [
        f"# Written by `ruralsim calibrate`: {cal.path} with the values fitted to {cal.targets_where}",
        f"# (best of the trials: {best.number}). `ruralsim run` on this file gives that trial's figures"
        + (f" (with {cal.replications} replications, their means)." if cal.replications > 1 else "."),
    ]
    text = "\n".join(lines) + "\n" + yaml.safe_dump(head, sort_keys=False, allow_unicode=True)
    if body:
        text += yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    note = None
    try:
        probe = cal.folder / ".fitted.probe.yaml"
        write_file(probe, text)
        try:
            again = load_scenario(probe).scenario.model_dump(mode="json")
        finally:
            probe.unlink(missing_ok=True)
        want = cal.scenario(best.values).scenario.model_dump(mode="json")
        want["simulation"]["replications"] = cal.replications
        diff = [
            p
            for p, v in _scalar_leaves(want)
            if p not in ("name", "description") and _lookup(again, p) != (True, v)
        ]
        if diff:
            note = "fitted.yaml differs from the best trial's scenario at " + ", ".join(diff[:5])
    except InputError as err:
        note = "fitted.yaml does not load: " + "; ".join(err.problems[:3])
    return text, note


# -------------------------------------------------------------------------------- printed lines


def lines(report: dict[str, Any]) -> list[str]:
    """What `ruralsim calibrate` prints: the fitted values, the residual table, the targets not
    met."""
    params = report["parameters"]
    reps = report["replications"]
    out = [
        f"{report['scenario']}: {len(params)} parameter(s) fitted to {len(report['targets'])} target(s) "
        f"({report['targets_file']}), {report['trials_run']} trials, seed {report['seed']}, "
        f"{reps} replication(s); best trial {report['best_trial']}, objective {_fmt(report['objective'])} "
        "(sum of weight x residual²)",
        "",
        "fitted values:",
    ]
    ties = report.get("tied_with_best") or []
    if len(ties) > 1:
        shown = ", ".join(str(n) for n in ties[:10]) + (", ..." if len(ties) > 10 else "")
        out.insert(-2, f"({len(ties)} trials reach this objective, the first taken: {shown}; "
                   "ranges are met by a region, not a point)")  # fmt: skip
    width = max(len(p["key"]) for p in params)
    for p in params:
        value = report["fitted"][p["key"]]
        shown = _fmt(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
        rng = Param(p["key"], p["low"], p["high"], p["log"], p["integer"],
                    None if p["choices"] is None else tuple(p["choices"])).range_text  # fmt: skip
        out.append(f"  {p['key']:<{width}}  {shown:>12}   (searched {rng}; {p['source']})")
    out += ["", "residuals at the fitted values ((model - observed) / scale; 0 inside a range):"]
    nw = max(4, *(len(t["name"]) for t in report["targets"]))
    out.append(f"  {'target':<{nw}}  {'observed':>22}  {'model':>12}  {'residual':>9}  {'weight':>6}")
    for t in report["targets"]:
        obs = t["observed"]
        observed = (
            f"{_fmt(obs['value'])} ± {_fmt(t['scale'])}"
            if "value" in obs
            else f"{_fmt(obs['low'])}-{_fmt(obs['high'])}"
        )
        r = "n/a" if t["residual"] is None else f"{t['residual']:+.3f}"
        out.append(
            f"  {t['name']:<{nw}}  {observed:>22}  {_fmt(t['model']):>12}  {r:>9}  {_fmt(t['weight']):>6}  "
            + ("met" if t["met"] else "NOT MET")
        )
    missed = [t for t in report["targets"] if not t["met"]]
    out += ["", "targets not met:" if missed else "every target is met at the fitted values"]
    out += [f"  {t['name']}: {t['why']}" for t in missed]
    if report.get("fitted_yaml_note"):
        out += ["", f"note: {report['fitted_yaml_note']}"]
    return out


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if abs(x) >= 1e6:
        return f"{x / 1e6:.4g} M"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"
