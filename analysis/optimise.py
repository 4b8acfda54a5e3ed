"""`ruralsim optimise`: which plan to fund. A multi-objective search over decisions (build
targets, placement strategy, visit frequencies, subsidy amounts: any field `--set` changes),
with the KPIs of compare as objectives and constraints, by Optuna: multi-objective TPE
(default), NSGA-II, or random search as the yardstick.

Every candidate plan is run on the same seeds (common random numbers), each (plan, seed) a
content-addressed task of the kind compare runs (local processes or Dask, resumable: the
sampler is seeded and told the results in trial order, so a rerun asks the same plans and finds
their tasks done). The search runs in batches of `population` new plans (a plan asked again is
told its figures at once, so `evaluations` counts distinct plans simulated); then the plans of the
first two non-dominated fronts get more seeds, up to `max_replications` (an OCBA-style rule:
replications go where a wrong ranking would change the front), and the front is worked out
again on the means. Outputs: ``front.csv``, ``front.json`` (the non-dominated plans with their
intervals, and every plan evaluated), ``front.png``/``front.svg``, ``plans/plan-NN.yaml`` (each
front plan as a scenario file that `ruralsim run` reproduces), ``front_maps.json`` (each front
plan's stations and villages' km to them, from its first seed's task, for the report's map of
the plan clicked), ``report.html``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from analysis.paired import t_interval
from analysis.report import write_report
from analysis.runfolder import rounded, write_file
from analysis.study import HIGHER, KPIS
from analysis.tasks import Task, open_folder, run_all
from analysis.vary import yaml_value
from geo.errors import InputError
from sim.scenario.load import LoadedScenario, as_mapping, load_scenario

SAMPLERS = ("tpe", "nsga2", "random")
MAX_ASKED = 10  # asks per distinct plan evaluated, at most (a small space runs out of new plans)
OPERATORS = ("<=", ">=")


@dataclass(frozen=True)
class Decision:
    """A field to choose: `choices` (a list), or a range `low`..`high` (integers when both are
    and `step` is whole), stepped by `step` when given."""

    key: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None

    @property
    def integer(self) -> bool:
        ends = (self.low, self.high, self.step if self.step is not None else 1)
        return all(isinstance(v, int) and not isinstance(v, bool) for v in ends)

    def suggest(self, trial: Any) -> Any:
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.integer:
            return trial.suggest_int(
                self.key, int(self.low or 0), int(self.high or 0), step=int(self.step or 1)
            )
        return trial.suggest_float(self.key, float(self.low or 0), float(self.high or 0), step=self.step)


@dataclass(frozen=True)
class Limit:
    """A constraint: KPI `name` `op` (<= or >=) `value`."""

    name: str
    op: str
    value: float

    def violation(self, x: float) -> float:
        """How far `x` is outside (> 0), or <= 0 when it holds (NaN counts as far outside)."""
        if math.isnan(x):
            return math.inf
        return x - self.value if self.op == "<=" else self.value - x


def parse_decision(text: str) -> Decision:
    """``KEY=LOW:HIGH``, ``KEY=LOW:HIGH:STEP`` or ``KEY=A,B,C`` (values read as YAML)."""
    key, sep, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key or not spec:
        raise InputError([f"--decide {text}: expected KEY=LOW:HIGH[:STEP] or KEY=A,B,..."])
    try:
        if ":" in spec and "," not in spec:
            parts = [yaml.safe_load(p) for p in spec.split(":")]
            if len(parts) not in (2, 3) or not all(
                isinstance(p, int | float) and not isinstance(p, bool) for p in parts
            ):
                raise ValueError
            step = parts[2] if len(parts) == 3 else None
            if not parts[0] < parts[1] or (step is not None and not step > 0):
                raise InputError([f"--decide {text}: needs LOW < HIGH and STEP > 0"])
            return Decision(key, low=parts[0], high=parts[1], step=step)
        choices = tuple(yaml.safe_load(p.strip()) for p in spec.split(","))
    except (ValueError, yaml.YAMLError):
        raise InputError([f"--decide {text}: expected numbers LOW:HIGH[:STEP] or a list A,B,..."]) from None
    if len(choices) < 2 or len(set(map(str, choices))) != len(choices):
        raise InputError([f"--decide {text}: give at least two different choices"])
    return Decision(key, choices=choices)


def parse_limit(text: str) -> Limit:
    """``KPI<=VALUE`` or ``KPI>=VALUE``."""
    for op in OPERATORS:
        name, sep, value = text.partition(op)
        if sep:
            try:
                return Limit(name.strip(), op, float(value))
            except ValueError:
                break
    raise InputError([f"--budget {text}: expected KPI<=VALUE or KPI>=VALUE, e.g. subsidy_total_yuan<=5e6"])


@dataclass(frozen=True)
class Optimisation:
    """What `optimise` runs: the base scenario (its file and the command line's overrides), the
    decisions, objectives (KPI names) and limits, the search's size and seed, the seeds."""

    path: Path
    given: tuple[Any, ...]
    base: LoadedScenario
    decisions: tuple[Decision, ...]
    objectives: tuple[str, ...]
    limits: tuple[Limit, ...]
    evaluations: int
    population: int
    sampler: str
    search_seed: int
    replications: int
    max_replications: int
    folder: Path

    @property
    def seeds(self) -> list[int]:
        return [self.base.scenario.seed + r for r in range(self.max_replications)]

    def overrides(self, params: dict[str, Any]) -> list[tuple[str, str]]:
        return [("--decide", f"{d.key}={yaml_value(params[d.key])}") for d in self.decisions]

    def scenario(self, params: dict[str, Any]) -> LoadedScenario:
        one = ("--optimise", "simulation.replications=1")
        return load_scenario(self.path, [*self.given, *self.overrides(params), one])


def plan(
    path: Path,
    *,
    given: list[Any],
    decide: list[str],
    objectives: list[str],
    budgets: list[str],
    evaluations: int,
    population: int | None,
    sampler: str,
    search_seed: int,
    replications: int,
    max_replications: int | None,
    runs_root: Path,
    out: Path | None,
) -> Optimisation:
    """Check the request (one line per problem) and name the folder."""
    problems: list[str] = []
    decisions = _parsed(parse_decision, decide, problems)
    limits = _parsed(parse_limit, budgets, problems)
    if not decide:
        problems.append("optimise: give at least one --decide KEY=RANGE")
    if not objectives:
        problems.append("optimise: give at least one --objective KPI")
    known = ", ".join(KPIS)
    problems += [f"--objective: unknown KPI {o!r}; known: {known}" for o in objectives if o not in KPIS]
    problems += [
        f"--budget: unknown KPI {lim.name!r}; known: {known}" for lim in limits if lim.name not in KPIS
    ]
    if len(set(objectives)) != len(objectives):
        problems.append("--objective: a KPI given twice")
    if sampler not in SAMPLERS:
        problems.append(f"--sampler: must be one of {', '.join(SAMPLERS)} (got {sampler!r})")
    pop = population if population is not None else min(20, max(4, evaluations // 5))
    if evaluations < 2:
        problems.append(f"--evaluations: must be >= 2 (got {evaluations})")
    if pop < 2:
        problems.append(f"--population: must be >= 2 (got {pop})")
    top = max_replications if max_replications is not None else replications
    if replications < 1 or top < replications:
        problems.append(f"--replications {replications} and --max-replications {top}: need 1 <= N <= MAX")
    keys = [d.key for d in decisions]
    problems += [f"--decide {k}: given twice" for k in sorted({k for k in keys if keys.count(k) > 1})]
    if problems:
        raise InputError(problems)
    base = load_scenario(path, given)
    for d in decisions:  # every end of every decision makes a valid scenario (one line per problem)
        for value in d.choices if d.choices is not None else (d.low, d.high):
            try:
                load_scenario(path, [*given, ("--decide", f"{d.key}={yaml_value(value)}")])
            except InputError as err:
                problems += err.problems
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    spec = json.dumps(
        [
            str(path),
            given,
            decide,
            objectives,
            budgets,
            evaluations,
            pop,
            sampler,
            search_seed,
            replications,
            top,
        ],
        default=str,
    )
    digest = hashlib.sha256(spec.encode()).hexdigest()[:10]
    folder = out or runs_root / base.scenario.name / f"optimise-{digest}"
    return Optimisation(
        Path(path),
        tuple(given),
        base,
        tuple(decisions),
        tuple(objectives),
        tuple(limits),
        evaluations,
        pop,
        sampler,
        search_seed,
        replications,
        top,
        folder,
    )


def _parsed(parse: Callable[[str], Any], texts: list[str], problems: list[str]) -> list[Any]:
    """`parse` of every text that parses; the others' one-line problems added to `problems`."""
    out = []
    for text in texts:
        try:
            out.append(parse(text))
        except InputError as err:
            problems += err.problems
    return out


# ------------------------------------------------------------------------------------ search


@dataclass
class _Plan:
    """One candidate plan: its decisions, resolved scenario and results by seed."""

    number: int
    params: dict[str, Any]
    resolved: str
    results: dict[int, dict[str, Any]]

    def values(self, kpi: str) -> np.ndarray:
        return np.array([KPIS[kpi].of(self.results[s]["metrics"]) for s in sorted(self.results)])


def run(
    o: Optimisation, *, executor: str, workers: int | None, scheduler: str | None, progress: bool | None
) -> dict[str, Any]:
    """Search, give the plans near the front more seeds, write the folder's files; returns the
    report (what front.json holds)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = {
        "command": "optimise",
        "scenario": o.base.scenario.name,
        "decisions": [d.key for d in o.decisions],
        "objectives": list(o.objectives),
        "budgets": [f"{lim.name}{lim.op}{lim.value:g}" for lim in o.limits],
        "evaluations": o.evaluations,
        "population": o.population,
        "sampler": o.sampler,
        "search_seed": o.search_seed,
    }
    open_folder(o.folder, spec, ())
    up, down = optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE
    directions = [up if KPIS[k].better == HIGHER else down for k in o.objectives]
    if o.sampler == "nsga2":
        sampler: Any = optuna.samplers.NSGAIISampler(population_size=o.population, seed=o.search_seed)
    elif o.sampler == "tpe":  # multi-objective TPE (MOTPE): a model of the good plans, for small budgets
        sampler = optuna.samplers.TPESampler(
            seed=o.search_seed, multivariate=True, n_startup_trials=o.population, constant_liar=True
        )
    else:
        sampler = optuna.samplers.RandomSampler(seed=o.search_seed)
    search = optuna.create_study(directions=directions, sampler=sampler)
    plans: list[_Plan] = []
    counts = {"tasks": 0, "run_now": 0, "reused": 0}
    seeds = o.seeds[: o.replications]

    def evaluate(batch: list[_Plan], seeds: list[int], desc: str) -> None:
        tasks = [
            Task(p.resolved, s, p.number, s - o.base.scenario.seed, map_data=s == o.seeds[0])
            for p in batch
            for s in seeds
            if s not in p.results
        ]
        results, done = run_all(
            o.folder,
            tasks,
            desc=desc,
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
        for key in counts:
            counts[key] += done[key]
        by_number = {p.number: p for p in batch}
        for task, result in zip(tasks, results, strict=True):
            by_number[task.alternative].results[task.seed] = result

    def tell(trial: Any, p: _Plan) -> None:
        values = [float(np.mean(p.values(k))) for k in o.objectives]
        for lim in o.limits:  # NSGA-II prefers plans within the budgets
            trial.set_constraint(
                f"{lim.name}{lim.op}{lim.value:g}", lim.violation(float(np.mean(p.values(lim.name))))
            )
        if any(math.isnan(v) for v in values):
            search.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            search.tell(trial, values)

    # `evaluations` distinct plans are simulated: a plan asked again is told its known figures at
    # once (no simulation), so the sampler's repeats cost nothing; at most MAX_ASKED x asks in all.
    by_scenario: dict[str, _Plan] = {}
    asked = 0
    cap = MAX_ASKED * o.evaluations
    while len(plans) < o.evaluations and asked < cap:
        batch: list[_Plan] = []
        waiting: list[tuple[Any, _Plan]] = []
        while (
            len(batch) < min(o.population, o.evaluations - len(plans) + len(batch))
            and asked < MAX_ASKED * o.evaluations
        ):
            trial = search.ask()
            asked += 1
            params = {d.key: d.suggest(trial) for d in o.decisions}
            resolved = o.scenario(params).resolved_yaml()
            p = by_scenario.get(resolved)
            if p is None:
                p = by_scenario[resolved] = _Plan(trial.number, params, resolved, {})
                plans.append(p)
                batch.append(p)
            if p.results:
                tell(trial, p)
            else:
                waiting.append((trial, p))
        evaluate(
            batch,
            seeds,
            f"{o.base.scenario.name}: optimise, plans {len(plans) - len(batch) + 1}-{len(plans)}",
        )
        for trial, p in waiting:
            tell(trial, p)
    if o.max_replications > o.replications:  # more seeds where the front is decided
        near = [plans[i] for i in _near_front(plans, o)]
        evaluate(near, o.seeds, f"{o.base.scenario.name}: optimise, more seeds near the front")
    return report(o, plans, counts, asked)


def _means(plans: list[_Plan], o: Optimisation) -> np.ndarray:
    """(plans, objectives) means, every objective turned into one to minimise."""
    return np.array([[-KPIS[k].better * float(np.mean(p.values(k))) for k in o.objectives] for p in plans])


def _feasible(p: _Plan, o: Optimisation) -> bool:
    return all(lim.violation(float(np.mean(p.values(lim.name)))) <= 0 for lim in o.limits)


def fronts(points: np.ndarray) -> list[list[int]]:
    """Non-dominated sorting (all objectives minimised; NaN rows left out): the indices of the
    first front, then the second, ..."""
    left = [i for i in range(len(points)) if np.isfinite(points[i]).all()]
    out = []
    while left:
        front = [
            i
            for i in left
            if not any(
                np.all(points[j] <= points[i]) and np.any(points[j] < points[i]) for j in left if j != i
            )
        ]
        out.append(front)
        left = [i for i in left if i not in front]
    return out


def _near_front(plans: list[_Plan], o: Optimisation) -> list[int]:
    feasible = [i for i, p in enumerate(plans) if _feasible(p, o)]
    points = _means([plans[i] for i in feasible], o)
    return [feasible[i] for f in fronts(points)[:2] for i in f]


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """The volume dominated by `points` (all objectives minimised) and bounded by `reference`,
    exactly (slicing along the first objective; for the few objectives of a plan's front)."""
    pts = np.asarray([p for p in np.asarray(points, float) if np.all(p < reference)])
    if not len(pts):
        return 0.0
    if pts.shape[1] == 1:
        return float(reference[0] - pts[:, 0].min())
    order = np.argsort(pts[:, 0])
    pts = pts[order]
    volume = 0.0
    for k in range(len(pts)):
        upper = pts[k + 1, 0] if k + 1 < len(pts) else reference[0]
        if upper > pts[k, 0]:
            volume += (upper - pts[k, 0]) * hypervolume(pts[: k + 1, 1:], reference[1:])
    return volume


# ------------------------------------------------------------------------------------ report


def report(o: Optimisation, plans: list[_Plan], counts: dict[str, int], asked: int) -> dict[str, Any]:
    """The front with intervals, every plan, the plan files and charts."""
    feasible = [i for i, p in enumerate(plans) if _feasible(p, o)]
    points = _means([plans[i] for i in feasible], o)
    first = sorted(feasible[i] for i in (fronts(points)[0] if len(feasible) else []))
    rows = []
    for i, p in enumerate(plans):
        row: dict[str, Any] = {
            "plan": p.number,
            **p.params,
            "seeds": len(p.results),
            "feasible": i in feasible,
            "on_front": i in first,
        }
        for k in (*o.objectives, *(lim.name for lim in o.limits if lim.name not in o.objectives)):
            ci = t_interval(p.values(k))
            row |= {k: ci.mean, f"{k}_ci_low": ci.low, f"{k}_ci_high": ci.high}
        rows.append(row)
    table = pd.DataFrame(rows)
    (o.folder / "plans").mkdir(exist_ok=True)
    front_rows = []
    first_seed = {}  # plan file -> its result on the first seed (with the plan's map figures)
    for rank, i in enumerate(sorted(first, key=lambda i: _means([plans[i]], o)[0].tolist()), start=1):
        name = f"plan-{rank:02d}.yaml"
        write_file(o.folder / "plans" / name, plan_file(o, plans[i].params, name))
        front_rows.append({**rows[i], "file": f"plans/{name}"})
        first_seed[f"plans/{name}"] = plans[i].results.get(o.seeds[0], {})
    maps = front_maps(first_seed)
    if maps is not None:
        write_file(o.folder / "front_maps.json", json.dumps(maps, separators=(",", ":")) + "\n")
    minimised = _means([plans[i] for i in first], o) if first else np.zeros((0, len(o.objectives)))
    all_points = _means([plans[i] for i in feasible], o)
    reference = (
        all_points.max(axis=0) + 1e-9 * (1 + np.abs(all_points.max(axis=0))) if len(all_points) else None
    )
    out = {
        "command": "optimise",
        "scenario": o.base.scenario.name,
        "decisions": {
            d.key: (list(d.choices) if d.choices is not None else [d.low, d.high, d.step])
            for d in o.decisions
        },
        "objectives": {
            k: {"label": KPIS[k].label, "better": "higher" if KPIS[k].better == HIGHER else "lower"}
            for k in o.objectives
        },
        "budgets": [f"{lim.name}{lim.op}{lim.value:g}" for lim in o.limits],
        "sampler": o.sampler,
        "search_seed": o.search_seed,
        "evaluations": len(plans),
        "asked": asked,
        "population": o.population,
        "replications": o.replications,
        "max_replications": o.max_replications,
        "seeds": o.seeds,
        **counts,
        "feasible": len(feasible),
        "hypervolume": None if reference is None else hypervolume(minimised, reference),
        "hypervolume_reference": None
        if reference is None
        else {  # in each KPI's own unit
            k: -KPIS[k].better * float(reference[j]) for j, k in enumerate(o.objectives)
        },
        "front": front_rows,
        "plans": rows,
    }
    write_file(o.folder / "front.csv", pd.DataFrame(front_rows).to_csv(index=False, float_format="%.7g"))
    write_file(o.folder / "plans.csv", table.to_csv(index=False, float_format="%.7g"))
    png, svg = front_figure(table, o)
    write_file(o.folder / "front.png", png)
    write_file(o.folder / "front.svg", svg)
    out = rounded(out)
    write_report(o.folder, "optimise", out)
    write_file(o.folder / "front.json", json.dumps(out, indent=2, ensure_ascii=False, default=str) + "\n")
    return out


def front_maps(results: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """`front_maps.json`: the villages (km, residents) once and, per front plan's file, its
    stations (village indices) and each village's km to the nearest, from the tasks' `map`
    figures; None when no front plan has them. Plans whose villages differ from the first's (a
    decision on the region) are left out."""
    maps = {file: r["map"] for file, r in results.items() if r.get("map")}
    if not maps:
        return None
    first = next(iter(maps.values()))
    maps = {f: m for f, m in maps.items() if m["x_km"] == first["x_km"] and m["y_km"] == first["y_km"]}
    return {
        "x_km": first["x_km"],
        "y_km": first["y_km"],
        "population": first["population"],
        "plans": {f: {"sites": m["sites"], "distance_km": m["distance_km"]} for f, m in maps.items()},
    }


def plan_file(o: Optimisation, params: dict[str, Any], name: str) -> str:
    """A scenario file for one plan: it extends the optimised scenario and sets the command
    line's overrides and the plan's decisions, so `ruralsim run` reproduces the plan's runs."""
    data = {"extends": str(o.path.resolve()), **as_mapping([*o.given, *o.overrides(params)])}
    head = f"# {name}: a plan on the front of `ruralsim optimise` ({o.folder.name}); `ruralsim run` it\n"
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def front_figure(table: pd.DataFrame, o: Optimisation) -> tuple[bytes, bytes]:
    """Every plan evaluated (grey; infeasible hollow) and the front (its intervals), for each pair
    of objectives (one panel with two objectives)."""
    from matplotlib.figure import Figure

    pairs = [(a, b) for i, a in enumerate(o.objectives) for b in o.objectives[i + 1 :]] or [
        (o.objectives[0],) * 2
    ]
    fig = Figure(figsize=(6.2 * len(pairs), 4.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(pairs)))
    front = table[table["on_front"]]
    for ax, (a, b) in zip(axes, pairs, strict=True):
        ok = table[table["feasible"]]
        ax.scatter(ok[a], ok[b], s=12, color="#bbbbbb", label="plans evaluated")
        bad = table[~table["feasible"]]
        if len(bad):
            ax.scatter(bad[a], bad[b], s=12, facecolors="none", edgecolors="#bbbbbb", label="over a budget")
        order = front.sort_values(a)
        xerr = _err(order, a)
        yerr = _err(order, b)
        ax.errorbar(
            order[a],
            order[b],
            xerr=xerr,
            yerr=yerr,
            fmt="o-",
            color="#d62728",
            ms=5,
            lw=1,
            label="front (95% CI over seeds)",
        )
        for _, r in order.iterrows():
            ax.annotate(
                str(int(r["plan"])), (r[a], r[b]), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        ax.set_xlabel(KPIS[a].label, fontsize=8)
        ax.set_ylabel(KPIS[b].label, fontsize=8)
        ax.legend(fontsize=7)
    fig.suptitle(f"{o.base.scenario.name}: plans found by {o.sampler} ({len(table)} evaluated)", fontsize=10)
    png, svg = BytesIO(), BytesIO()
    fig.savefig(png, format="png", dpi=120)
    fig.savefig(svg, format="svg")
    return png.getvalue(), svg.getvalue()


def _err(rows: pd.DataFrame, k: str) -> np.ndarray | None:
    low, high = rows[f"{k}_ci_low"], rows[f"{k}_ci_high"]
    if low.isna().all():
        return None
    return np.vstack([(rows[k] - low).fillna(0).to_numpy(float), (high - rows[k]).fillna(0).to_numpy(float)])


def lines(r: dict[str, Any]) -> list[str]:
    """What the command prints: the front, plan by plan."""
    names = list(r["objectives"])
    out = [
        f"{r['scenario']}: {r['evaluations']} plans evaluated ({r['sampler']}, {r['asked']} asked), "
        f"{r['feasible']} within the budgets; {len(r['front'])} on the front; hypervolume "
        f"{_fmt(r['hypervolume'])}",
    ]
    for row in r["front"]:
        decided = ", ".join(f"{k}={row[k]}" for k in r["decisions"])
        figures = "  ".join(f"{k} {_fmt(row[k])}" for k in names)
        out.append(f"  {row['file']}: {decided}  ->  {figures}  ({row['seeds']} seeds)")
    return out


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"
