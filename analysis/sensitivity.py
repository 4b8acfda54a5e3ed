"""`ruralsim sensitivity`: which assumptions drive the answer (global sensitivity with SALib).

The assumptions (`analysis.assumptions`: a range for every unsourced figure) are sampled in the
unit cube by SALib, Morris's trajectories (screening: `mu_star`, the mean absolute elementary
effect over a full range, and `sigma`, its spread: interactions or curvature) or Saltelli's
extension of Sobol's sequence (first-order `S1` and total `ST` indices, with bootstrap intervals);
each row of the sample, mapped through the assumptions' inverse CDFs, is one scenario, run as a
content-addressed task on the seeds of the scenario (common random numbers: every row sees the
same demand draws) by the executors of compare and sweep, so a killed study resumes. A
one-at-a-time tornado rides along: every assumption at its low and high end (each choice), the
others at the scenario's values.

The folder holds ``study.json``, ``tasks/``, then ``sensitivity.csv``, ``tornado.png``,
``indices.png``, ``report.html`` and ``sensitivity.json`` last (a folder whose JSON is there is
complete).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.assumptions import Assumptions, check_against, load_assumptions, overrides
from analysis.report import write_report
from analysis.runfolder import rounded, write_file
from analysis.study import KPIS, kpi_table
from analysis.tasks import Task, open_folder, run_all
from geo.errors import InputError
from sim.scenario.load import LoadedScenario, load_scenario

METHODS = ("morris", "sobol")
#: what sensitivity reports by default (names of `analysis.study.KPIS`)
OUTPUTS = (
    "coverage_share",
    "order_to_hand_p90_h",
    "courier_cost_per_parcel_yuan",
    "public_cost_yuan",
    "stations_open_last_year",
)
DEFAULT_SAMPLES = {"morris": 10, "sobol": 64}  # trajectories; base samples (a power of 2)
MORRIS_LEVELS = 4


@dataclass(frozen=True)
class Design:
    """A SALib sample in the unit cube: `problem` (SALib's dict), `unit` (rows, assumptions)."""

    method: str
    problem: dict[str, Any]
    unit: np.ndarray


def design(names: list[str], method: str, samples: int, seed: int) -> Design:
    """The SALib sample for `method`: Morris, `samples` trajectories of len(names) + 1 rows;
    Sobol (Saltelli, first and total order), `samples` x (len(names) + 2) rows."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    if method == "morris":
        unit = morris_sample.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
    else:
        unit = sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
    return Design(method, problem, np.asarray(unit, dtype=float))


def analyse(d: Design, y: np.ndarray, seed: int) -> pd.DataFrame:
    """SALib's indices of output `y` (one value per row of the design), one row per assumption:
    Morris `mu_star`, `mu_star_conf`, `sigma`, `mu` (per full range of the assumption); Sobol
    `S1`, `S1_conf`, `ST`, `ST_conf` (half-widths of 95% bootstrap intervals)."""
    from SALib.analyze import morris, sobol

    y = np.asarray(y, dtype=float)
    if d.method == "morris":
        res = morris.analyze(d.problem, d.unit, y, num_levels=MORRIS_LEVELS, seed=seed)
        columns = ("mu_star", "mu_star_conf", "sigma", "mu")
    else:
        res = sobol.analyze(d.problem, y, calc_second_order=False, seed=seed)
        columns = ("S1", "S1_conf", "ST", "ST_conf")
    return pd.DataFrame({"parameter": d.problem["names"], **{c: np.asarray(res[c], float) for c in columns}})


@dataclass(frozen=True)
class Sensitivity:
    """What a sensitivity study runs: the base scenario, the assumptions, the design and its
    tasks (design rows first, then the tornado's: base, then each assumption's ends)."""

    base: LoadedScenario
    assumptions: Assumptions
    source: str
    design: Design
    outputs: tuple[str, ...]
    replications: int
    tornado: tuple[tuple[int, Any], ...]  # (assumption index or -1 for the base, value) per point
    tasks: tuple[Task, ...]
    folder: Path
    seed: int

    @property
    def points(self) -> int:
        return len(self.design.unit) + len(self.tornado)


def plan(
    path: Path,
    *,
    given: list[Any],
    assumptions_file: Path | None,
    method: str,
    samples: int | None,
    outputs: list[str] | None,
    replications: int,
    design_seed: int,
    runs_root: Path,
    out: Path | None,
) -> Sensitivity:
    """Check the request (one line per problem), draw the design and name every task."""
    problems = []
    if method not in METHODS:
        problems.append(f"--method: must be one of {', '.join(METHODS)} (got {method!r})")
    n = samples if samples is not None else DEFAULT_SAMPLES.get(method, 0)
    if n < 2:
        problems.append(f"--samples: must be >= 2 (got {n})")
    elif method == "sobol" and n & (n - 1):
        problems.append(f"--samples: Sobol's sequence needs a power of 2 (got {n})")
    chosen = tuple(outputs) if outputs else OUTPUTS
    problems += [f"--output: unknown figure {o!r}; known: {', '.join(KPIS)}" for o in chosen if o not in KPIS]
    if replications < 1:
        problems.append(f"--replications: must be >= 1 (got {replications})")
    if problems:
        raise InputError(problems)
    assumptions, where = load_assumptions(assumptions_file)
    base = check_against(assumptions, where, path, given)
    d = design(assumptions.keys, method, n, design_seed)
    tornado: list[tuple[int, Any]] = [(-1, None)]
    for i, a in enumerate(assumptions.assumptions):
        tornado += [(i, v) for v in a.extremes()]
    seed = base.scenario.seed
    one = ("--replications", "simulation.replications=1")
    scenarios = [
        load_scenario(path, [*given, *overrides(where, assumptions.values(row)), one]) for row in d.unit
    ] + [
        load_scenario(path, [*given, *([] if i < 0 else overrides(where, [(assumptions.keys[i], v)])), one])
        for i, v in tornado
    ]
    tasks = tuple(
        Task(s.resolved_yaml(), seed + r, k, r) for k, s in enumerate(scenarios) for r in range(replications)
    )
    digest = hashlib.sha256("\n".join(["sensitivity", method, *(t.key for t in tasks)]).encode())
    folder = (
        out if out is not None else runs_root / base.scenario.name / f"sensitivity-{digest.hexdigest()[:10]}"
    )
    return Sensitivity(
        base, assumptions, where, d, chosen, replications, tuple(tornado), tasks, folder, design_seed
    )


def run(
    s: Sensitivity, *, executor: str, workers: int | None, scheduler: str | None, progress: bool | None
) -> dict[str, Any]:
    """Run the unfinished tasks, work out the indices and write the folder's files; returns the
    report (what sensitivity.json holds)."""
    spec = {
        "command": "sensitivity",
        "scenario": s.base.scenario.name,
        "method": s.design.method,
        "keys": s.assumptions.keys,
        "design_rows": len(s.design.unit),
        "replications": s.replications,
    }
    open_folder(s.folder, spec, s.tasks)
    results, counts = run_all(
        s.folder,
        s.tasks,
        desc=f"{s.base.scenario.name}: sensitivity ({s.design.method})",
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    return report(s, results, counts)


def values(s: Sensitivity, results: list[dict[str, Any]], output: str) -> np.ndarray:
    """An output's value at every point (design rows, then the tornado's), mean over seeds."""
    return kpi_table(s.tasks, results, output, s.points, s.replications).mean(axis=1)


def report(s: Sensitivity, results: list[dict[str, Any]], counts: dict[str, int]) -> dict[str, Any]:
    """Indices and tornado per output, written as the folder's files."""
    rows = len(s.design.unit)
    labels = {a.key: a.label for a in s.assumptions.assumptions}
    tables, by_output, skipped = [], {}, {}
    for output in s.outputs:
        y = values(s, results, output)
        if not np.isfinite(y).all():
            skipped[output] = "not produced by every run (e.g. no produce simulated)"
            continue
        table = analyse(s.design, y[:rows], s.seed)
        base = float(y[rows])
        ends = y[rows + 1 :]
        low, high, swing = [], [], []
        k = 0
        for a in s.assumptions.assumptions:
            at = ends[k : k + len(a.extremes())]
            k += len(a.extremes())
            low.append(float(at[0]))
            high.append(float(at[-1]))
            swing.append(float(at.max() - at.min()))
        table["label"] = table["parameter"].map(labels)
        table["tornado_low"], table["tornado_high"], table["swing"] = low, high, swing
        rank_by = "mu_star" if s.design.method == "morris" else "ST"
        table = table.sort_values(rank_by, ascending=False, kind="stable").reset_index(drop=True)
        table.insert(0, "output", output)
        tables.append(table)
        by_output[output] = {
            "label": KPIS[output].label,
            "base": base,
            "ranked_by": rank_by,
            "spread_over_design": {"min": float(y[:rows].min()), "max": float(y[:rows].max())},
            "parameters": table.drop(columns=["output"]).to_dict(orient="records"),
        }
    if not tables:
        raise InputError([f"sensitivity: no output could be analysed ({'; '.join(skipped.values())})"])
    data = pd.concat(tables, ignore_index=True)
    out = {
        "command": "sensitivity",
        "scenario": s.base.scenario.name,
        "method": s.design.method,
        "assumptions_file": s.source,
        "assumptions": [a.model_dump(mode="json") for a in s.assumptions.assumptions],
        "design_rows": rows,
        "samples": _samples(s),
        "design_seed": s.seed,
        "replications": s.replications,
        "seeds": [s.base.scenario.seed + r for r in range(s.replications)],
        **counts,
        "outputs": by_output,
        "skipped_outputs": skipped,
    }
    folder = s.folder
    write_file(folder / "sensitivity.csv", data.to_csv(index=False, float_format="%.7g"))
    write_file(folder / "tornado.png", tornado_png(by_output, s.base.scenario.name))
    write_file(folder / "indices.png", indices_png(by_output, s.design.method, s.base.scenario.name))
    out = rounded(out)
    write_report(folder, "sensitivity", out)
    write_file(folder / "sensitivity.json", json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return out


def _samples(s: Sensitivity) -> int:
    k = s.design.problem["num_vars"]
    return len(s.design.unit) // (k + 1 if s.design.method == "morris" else k + 2)


def lines(report: dict[str, Any], top: int = 5) -> list[str]:
    """What the command prints: per output, the assumptions that move it most."""
    method = report["method"]
    out = [
        f"{report['scenario']}: {method} sensitivity over {len(report['assumptions'])} assumptions "
        f"({report['design_rows']} design runs + tornado, {report['replications']} seed(s))"
    ]
    for o in report["outputs"].values():
        out.append(f"  {o['label']} (base {_num(o['base'])}):")
        for p in o["parameters"][:top]:
            if method == "morris":
                index = f"mu* {_num(p['mu_star'])} ±{_num(p['mu_star_conf'])}  sigma {_num(p['sigma'])}"
            else:
                index = f"ST {p['ST']:.2f} ±{p['ST_conf']:.2f}  S1 {p['S1']:.2f} ±{p['S1_conf']:.2f}"
            swing = f"{_num(p['tornado_low'])} .. {_num(p['tornado_high'])}"
            out.append(f"    {p['parameter']:<48} {index}  low..high {swing}")
    for name, why in report["skipped_outputs"].items():
        out.append(f"  {name}: skipped, {why}")
    return out


def _num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


# ----------------------------------------------------------------------------------- charts


def tornado_png(by_output: dict[str, Any], name: str, top: int = 12) -> bytes:
    """One panel per output: each assumption's bar from its low end to its high end (the others
    at the scenario's values), widest swing on top, the base as a line."""
    from matplotlib.figure import Figure

    n = len(by_output)
    fig = Figure(figsize=(7.5 * min(n, 2), 4.2 * math.ceil(n / 2)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(math.ceil(n / 2), min(n, 2))).ravel()
    for ax, o in zip(axes, by_output.values(), strict=False):
        params = sorted(o["parameters"], key=lambda p: p["swing"], reverse=True)[:top][::-1]
        base = o["base"]
        for i, p in enumerate(params):
            lo, hi = p["tornado_low"], p["tornado_high"]
            ax.barh(i, lo - base, left=base, color="#4c78a8", height=0.6)
            ax.barh(i, hi - base, left=base, color="#f58518", height=0.6)
        ax.axvline(base, color="black", lw=0.8)
        ax.set_yticks(range(len(params)), [p["parameter"] for p in params], fontsize=7)
        ax.set_title(f"{o['label']}\n(blue: assumption at its low end, orange: high end)", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(f"{name}: one assumption at a time, the others at the scenario's values", fontsize=10)
    return _png(fig)


def indices_png(by_output: dict[str, Any], method: str, name: str, top: int = 12) -> bytes:
    """Morris: mu* with its interval (bars) per output; Sobol: S1 and ST with their intervals."""
    from matplotlib.figure import Figure

    n = len(by_output)
    fig = Figure(figsize=(7.5 * min(n, 2), 4.2 * math.ceil(n / 2)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(math.ceil(n / 2), min(n, 2))).ravel()
    for ax, o in zip(axes, by_output.values(), strict=False):
        params = o["parameters"][:top][::-1]
        y = np.arange(len(params))
        labels = [p["parameter"] for p in params]
        if method == "morris":
            ax.barh(y, [p["mu_star"] for p in params], xerr=[p["mu_star_conf"] for p in params],
                    color="#4c78a8", height=0.6)  # fmt: skip
            ax.set_xlabel("mu* (mean |elementary effect| over the full range)", fontsize=7)
        else:
            ax.barh(y + 0.18, [p["ST"] for p in params], xerr=[p["ST_conf"] for p in params],
                    height=0.35, color="#f58518", label="total (ST)")  # fmt: skip
            ax.barh(y - 0.18, [p["S1"] for p in params], xerr=[p["S1_conf"] for p in params],
                    height=0.35, color="#4c78a8", label="first order (S1)")  # fmt: skip
            ax.set_xlabel("Sobol index (share of the output's variance)", fontsize=7)
            ax.legend(fontsize=7)
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_title(o["label"], fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    title = "Morris screening" if method == "morris" else "Sobol indices (95% bootstrap intervals)"
    fig.suptitle(f"{name}: {title}", fontsize=10)
    return _png(fig)


def _png(fig) -> bytes:
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()
