"""`ruralsim compare` and `ruralsim sweep`: one scenario under several alternatives, each run on
the same seeds, as resumable tasks (`analysis.tasks`).

A study's folder holds ``study.json`` (what it runs), ``tasks/`` (one finished task per folder)
and, once every task is done, its report: for a comparison ``compare.csv``, ``compare.json``,
``compare.png``, ``maps.png`` and ``report.html``; for a sweep ``sweep.csv``, ``sweep.json``,
``frontier.png``, ``frontier.svg`` and ``report.html``. Each report file appears in one
rename, the JSON last, so a study whose JSON is there is complete. Running the same command again resumes it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from analysis.assumptions import check_against, load_assumptions
from analysis.assumptions import overrides as assumption_overrides
from analysis.paired import paired, t_interval, welch
from analysis.prim import prim
from analysis.report import write_report
from analysis.runfolder import rounded, write_file
from analysis.tasks import Task, open_folder, run_all
from analysis.vary import Alternative, Vary, alternatives, parse_vary
from geo.errors import InputError
from sim.scenario.load import LoadedScenario, load_scenario

HIGHER, LOWER = 1, -1


@dataclass(frozen=True)
class Kpi:
    """A figure read from a task's metrics at `path` ("LAST": the final plan year);
    `better` is HIGHER or LOWER; `label` with its unit."""

    name: str
    path: tuple[str, ...]
    better: int
    label: str
    absent: float = math.nan  # its value where a run has no such figure (a run without faults: 0)

    def of(self, metrics: dict[str, Any]) -> float:
        node: Any = metrics
        for part in self.path:
            if part == "LAST":
                part = max(node)
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                return self.absent
        return float(node)


KPIS = {
    k.name: k
    for k in (
        Kpi("coverage_share", ("years", "LAST", "total", "population_covered_share"), HIGHER,
            "residents within coverage_km of a station (share)"),
        Kpi("population_covered", ("years", "LAST", "total", "population_covered"), HIGHER,
            "residents within coverage_km of a station"),
        Kpi("order_to_hand_mean_h", ("simulation", "total", "order_to_hand_h", "mean_h"), LOWER,
            "order to parcel in hand, mean (h)"),
        Kpi("order_to_hand_p50_h", ("simulation", "total", "order_to_hand_h", "p50_h"), LOWER,
            "order to parcel in hand, median (h)"),
        Kpi("order_to_hand_p90_h", ("simulation", "total", "order_to_hand_h", "p90_h"), LOWER,
            "order to parcel in hand, p90 (h)"),
        Kpi("orders_pending_share", ("simulation", "total", "parcels", "pending_share"), LOWER,
            "orders pending when the run stopped (share)"),
        Kpi("villager_km_per_parcel", ("simulation", "total", "villager_travel", "km_per_parcel"), LOWER,
            "villager travel per parcel collected (km)"),
        Kpi("van_cost_yuan", ("simulation", "vans", "courier_cost_yuan"), LOWER, "courier van cost (yuan)"),
        Kpi("van_km", ("simulation", "vans", "km"), LOWER, "courier van km"),
        Kpi("courier_cost_per_parcel_yuan", ("simulation", "vans", "courier_cost_per_parcel_yuan"), LOWER,
            "courier van cost per parcel (yuan)"),
        Kpi("produce_spoiled_share", ("simulation", "upstream", "spoiled_share"), LOWER,
            "produce spoiled before the city (share)"),
        Kpi("produce_to_city_p90_h", ("simulation", "upstream", "offer_to_city_h", "p90_h"), LOWER,
            "produce offer to city, p90 (h)"),
        Kpi("parcels_held_by_faults", ("simulation", "faults", "parcels_held_by_faults"), LOWER,
            "parcel-departures held at warehouses by faults", absent=0.0),
        Kpi("village_days_cut_off", ("simulation", "faults", "village_days_cut_off"), LOWER,
            "village-days cut off by typhoons", absent=0.0),
        Kpi("subsidy_total_yuan", ("subsidies", "total_yuan"), LOWER, "subsidies paid (yuan)"),
        Kpi("public_cost_yuan", ("simulation", "public_cost", "total_yuan"), LOWER,
            "public cost: subsidies + county-paid 4PL (yuan)"),
        Kpi("produce_spoiled_share_without_4pl",
            ("simulation", "upstream", "spoiled_share_without_4pl"), LOWER,
            "produce that would spoil with backhaul only (share)"),
        Kpi("matching_cost_yuan", ("simulation", "upstream", "matching", "cost_yuan"), LOWER,
            "4PL cost, whoever pays (yuan)"),
        Kpi("subsidy_per_covered_resident_yuan", ("subsidies", "per_covered_resident_yuan"), LOWER,
            "subsidies per covered resident (yuan)"),
        Kpi("stations_open_last_year", ("stations_survival", "rural_open_at_end"), HIGHER,
            "rural stations open at the end"),
        Kpi("covered_by_open_at_end", ("stations_survival", "population_covered_by_open_at_end"), HIGHER,
            "residents within coverage_km of a station still open at the end"),
    )
}  # fmt: skip
COMPARE_KPIS = ("coverage_share", "order_to_hand_mean_h", "order_to_hand_p90_h", "orders_pending_share",
                "villager_km_per_parcel", "van_km", "van_cost_yuan", "courier_cost_per_parcel_yuan",
                "subsidy_total_yuan", "public_cost_yuan", "stations_open_last_year")  # fmt: skip
#: Compared too when an alternative simulates produce going up, or faults.
PRODUCE_KPIS = ("produce_spoiled_share", "produce_spoiled_share_without_4pl", "matching_cost_yuan",
                "produce_to_city_p90_h")  # fmt: skip
FAULT_KPIS = ("parcels_held_by_faults", "village_days_cut_off")
SWEEP_KPIS = ("coverage_share", "population_covered", "order_to_hand_p50_h", "order_to_hand_p90_h",
              "orders_pending_share",
              "subsidy_total_yuan", "subsidy_per_covered_resident_yuan",
              "stations_open_last_year")  # fmt: skip


@dataclass(frozen=True)
class Study:
    """What a `compare` or `sweep` runs: the base scenario, its `alternatives` (one loaded
    scenario each), `replications` seeds from the scenario's, and the `tasks` (alternative by
    alternative, replication by replication)."""

    command: str
    base: LoadedScenario
    varies: tuple[Vary, ...]
    alternatives: tuple[Alternative, ...]
    replications: int
    tasks: tuple[Task, ...]
    folder: Path
    baseline: int = 0
    confidence: float = 0.95
    #: with --uncertain: the assumptions file, and each draw's (key, value) pairs (draw r runs on seed r)
    assumptions_source: str = ""
    draws: tuple[tuple[tuple[str, Any], ...], ...] = ()

    @property
    def seeds(self) -> list[int]:
        return [self.base.scenario.seed + r for r in range(self.replications)]

    def values(self, results: list[dict[str, Any]], kpi: str) -> np.ndarray:
        """(alternatives, replications) array of a KPI."""
        return kpi_table(self.tasks, results, kpi, len(self.alternatives), self.replications)


def kpi_table(
    tasks: tuple[Task, ...] | list[Task], results: list[dict[str, Any]], kpi: str, rows: int, columns: int
) -> np.ndarray:
    """(rows, columns) array of a KPI from the tasks' results, a task at (its alternative, its
    replication); NaN where no task is."""
    out = np.full((rows, columns), math.nan)
    for task, result in zip(tasks, results, strict=True):
        out[task.alternative, task.replication] = KPIS[kpi].of(result["metrics"])
    return out


def plan(
    command: str,
    path: Path,
    *,
    vary: list[str],
    overrides: list[Any],
    replications: int | None,
    runs_root: Path,
    out: Path | None,
    baseline: str | None = None,
    confidence: float = 0.95,
    uncertain: int | None = None,
    assumptions_file: Path | None = None,
    design_seed: int = 0,
) -> Study:
    """Read the scenario and the `--vary` options, check every alternative (one line per
    problem, all at once) and name the tasks and the study's folder. `baseline`: the
    alternative the others are compared with, by value (one --vary) or label (default: the
    first). `uncertain`: draw the assumptions that many times (Latin hypercube from
    `design_seed`, the same draws for every alternative), draw r on seed + r, instead of
    replications on the assumptions' values of the scenario."""
    from sim.network.build import build_region, check_region

    if not vary:
        raise InputError([f"{command}: give at least one --vary KEY=VALUES"])
    if uncertain is not None:
        if replications is not None:
            raise InputError(["--uncertain N runs N draws, each on its own seed: leave out --replications"])
        if uncertain < 2:
            raise InputError([f"--uncertain: must be >= 2 draws (got {uncertain})"])
    varies = [parse_vary(v) for v in vary]
    if command == "sweep" and len(varies) != 1:
        raise InputError(["sweep: give exactly one --vary (compare takes several)"])
    base = load_scenario(path, overrides)
    draws: list[tuple[tuple[str, Any], ...]] = []
    source = ""
    if uncertain is not None:
        varied = {v.key for v in varies}
        assumptions, source = load_assumptions(assumptions_file)
        check_against(assumptions, source, path, overrides)
        unit = qmc.LatinHypercube(d=len(assumptions.keys), seed=design_seed).random(uncertain)
        # a field the alternatives set is theirs, not drawn
        draws = [tuple((k, v) for k, v in assumptions.values(row) if k not in varied) for row in unit]
    n = uncertain or (replications if replications is not None else base.scenario.simulation.replications)
    if n < 1:
        raise InputError([f"--replications: must be >= 1 (got {n})"])
    if not 0 < confidence < 1:
        raise InputError([f"--confidence: must be between 0 and 1 (got {confidence:g})"])
    alts = alternatives(varies)
    base_index = 0
    if baseline is not None:
        names = [[a.label] + ([str(a.values[0][1])] if len(varies) == 1 else []) for a in alts]
        found = [i for i, n_ in enumerate(names) if baseline in n_]
        if not found:
            choices = ", ".join(repr(a.label) for a in alts[:8]) + (", ..." if len(alts) > 8 else "")
            raise InputError([f"--baseline {baseline}: not one of the alternatives ({choices})"])
        base_index = found[0]
    problems: list[str] = []
    for v in varies:  # each value alone first: a bad value is one line, not one per combination
        for value in v.values:
            try:
                load_scenario(path, [*overrides, *Alternative(((v.key, value),)).overrides()])
            except InputError as err:
                problems += err.problems
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    loaded: list[LoadedScenario] = []
    regions: dict[str, Any] = {}
    for alt in alts:
        try:
            one = load_scenario(
                path, [*overrides, *alt.overrides(), ("--replications", "simulation.replications=1")]
            )
            key = json.dumps(one.scenario.region.model_dump(mode="json"), sort_keys=True)
            if key not in regions:
                regions[key] = build_region(one)
            check_region(one, regions[key])
            loaded.append(one)
        except InputError as err:
            problems += [f"{line} [{alt.label}]" for line in err.problems]
    if problems:
        raise InputError(list(dict.fromkeys(problems)))

    def resolved(a: int, r: int) -> str:
        """Alternative `a`'s scenario for replication (or draw) `r`: under a draw, the
        alternative's own fields win over the drawn ones."""
        if not draws:
            return loaded[a].resolved_yaml()
        drawn = assumption_overrides(source, list(draws[r]))
        one = ("--uncertain", "simulation.replications=1")
        return load_scenario(path, [*overrides, *drawn, *alts[a].overrides(), one]).resolved_yaml()

    tasks = tuple(
        Task(resolved(a, r), base.scenario.seed + r, a, r, map_data=(r == 0 and command == "compare"))
        for a in range(len(alts))
        for r in range(n)
    )
    digest = hashlib.sha256("\n".join([command, *(t.key for t in tasks)]).encode()).hexdigest()[:10]
    folder = out if out is not None else runs_root / base.scenario.name / f"{command}-{digest}"
    return Study(
        command,
        base,
        tuple(varies),
        tuple(alts),
        n,
        tasks,
        folder,
        base_index,
        confidence,
        source,
        tuple(draws),
    )


def run(
    study: Study, *, executor: str, workers: int | None, scheduler: str | None, progress: bool | None
) -> dict:
    """Run the study's unfinished tasks and write its report; return the report (also in the
    folder's JSON). Prints nothing; `progress` shows a bar over tasks (None: on a terminal)."""
    spec = {
        "command": study.command,
        "scenario": study.base.scenario.name,
        "vary": [{"key": v.key, "values": list(v.values)} for v in study.varies],
        "alternatives": [a.label for a in study.alternatives],
        "replications": study.replications,
        "seeds": study.seeds,
    }
    if study.draws:
        spec["uncertain"] = {"draws": [dict(d) for d in study.draws]}
    open_folder(study.folder, spec, study.tasks)
    ordered, counts = run_all(
        study.folder,
        study.tasks,
        desc=f"{study.base.scenario.name}: {study.command}",
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    if study.command == "compare":
        return _compare_report(study, ordered, counts)
    return _sweep_report(study, ordered, counts)


# ----------------------------------------------------------------------------------- compare


def compare_table(
    study: Study, results: list[dict[str, Any]], baseline: int, confidence: float
) -> pd.DataFrame:
    """One row per KPI and alternative: mean and CI over replications; the paired difference
    against the `baseline` alternative with its CI (and the unpaired Welch CI of the same runs,
    for reference); the rank; whether it cannot be told apart from the best (the paired CI of
    its difference from the best holds 0)."""
    rows = []
    sims = [r["metrics"].get("simulation", {}) for r in results]
    kpis: tuple[str, ...] = COMPARE_KPIS
    if any("spoiled_share" in sim.get("upstream", {}) for sim in sims):
        kpis += PRODUCE_KPIS
    if any("faults" in sim for sim in sims):
        kpis += FAULT_KPIS
    for kpi in kpis:
        k = KPIS[kpi]
        values = study.values(results, kpi)
        means = np.array([t_interval(v, confidence).mean for v in values])
        order = sorted(range(len(means)), key=lambda a: (math.isnan(means[a]), -k.better * means[a], a))
        best = order[0]
        for rank, a in enumerate(order, start=1):
            own = t_interval(values[a], confidence)
            diff = paired(values[a], values[baseline], confidence)
            unpaired = welch(values[a], values[baseline], confidence)
            vs_best = paired(values[a], values[best], confidence)
            rows.append(
                {
                    "kpi": kpi,
                    "better": "higher" if k.better == HIGHER else "lower",
                    "alternative": study.alternatives[a].label,
                    **dict(study.alternatives[a].values),
                    "rank": rank,
                    "mean": own.mean,
                    "ci_low": own.low,
                    "ci_high": own.high,
                    "diff_vs_baseline": diff.mean,
                    "diff_ci_low": diff.low,
                    "diff_ci_high": diff.high,
                    "unpaired_diff_ci_low": unpaired.low,
                    "unpaired_diff_ci_high": unpaired.high,
                    "tied_with_best": bool(a == best or vs_best.contains(0.0)),
                }
            )
    return pd.DataFrame(rows)


def _compare_report(study: Study, results: list[dict[str, Any]], counts: dict[str, int]) -> dict:
    baseline, confidence = study.baseline, study.confidence
    table = compare_table(study, results, baseline, confidence)
    kpis = {}
    for kpi, rows in table.groupby("kpi", sort=False):
        k = KPIS[kpi]
        best, worst = rows.iloc[0], rows.iloc[-1]
        kpis[kpi] = {
            "label": k.label,
            "better": rows["better"].iat[0],
            "best": {"alternative": best["alternative"], "mean": best["mean"]},
            "worst": {"alternative": worst["alternative"], "mean": worst["mean"]},
            "mean_of_alternatives": float(rows["mean"].mean()),
            "indistinguishable_from_best": list(rows.loc[rows["tied_with_best"], "alternative"]),
            "ranking": rows.drop(columns=["kpi", "better"]).to_dict(orient="records"),
        }
    report = {
        **_header(study, counts),
        "baseline": study.alternatives[baseline].label,
        "confidence": confidence,
        "kpis": kpis,
    }
    if study.draws:
        report["uncertain"] = robust(study, results, list(kpis))
    folder = study.folder
    write_file(folder / "compare.csv", table.to_csv(index=False, float_format="%.7g"))
    write_file(
        folder / "compare.png", _differences_png(table, study.alternatives[baseline].label, confidence)
    )
    maps = [r.get("map") for r, t in zip(results, study.tasks, strict=True) if t.replication == 0]
    write_file(folder / "maps.png", _maps_png([a.label for a in study.alternatives], maps))
    report = rounded(report)
    write_report(folder, "compare", report)
    write_file(folder / "compare.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report


def robust(study: Study, results: list[dict[str, Any]], kpis: list[str]) -> dict[str, Any]:
    """Over the draws of the assumptions (`compare --uncertain`), per KPI: how often each
    alternative is the best (ties share the draw), its regret (how far from the best of each
    draw, in the KPI's unit: mean and worst), the leader (first most often; ties: least mean
    regret), and where the leader loses: PRIM's box over the drawn values (`analysis.prim`)."""
    keys = [k for k, _ in study.draws[0]]
    x, codes = _encoded([[d[j][1] for d in study.draws] for j in range(len(keys))])
    out: dict[str, Any] = {
        "assumptions_file": study.assumptions_source,
        "design": "latin hypercube",
        "draws": len(study.draws),
        "assumptions": keys,
        "kpis": {},
    }
    for kpi in kpis:
        values = study.values(results, kpi)
        if not np.isfinite(values).all():
            continue
        better = KPIS[kpi].better
        best = values.max(axis=0) if better == HIGHER else values.min(axis=0)
        regret = (best - values) * better + 0.0  # + 0.0: no negative zeros
        first = regret <= 1e-9 * np.maximum(1.0, np.abs(best))
        share = (first / first.sum(axis=0)).mean(axis=1)
        leader = min(range(len(share)), key=lambda a: (-share[a], regret[a].mean(), a))
        loses = ~first[leader]
        box = prim(x, loses, keys) if keys and 0 < loses.sum() < len(loses) else None
        where = None
        if box is not None:
            limits = {k: _decoded(lo, hi, codes[keys.index(k)]) for k, (lo, hi) in box.limits.items()}
            where = {"limits": limits, "coverage": box.coverage, "density": box.density, "mass": box.mass}
        out["kpis"][kpi] = {
            "label": KPIS[kpi].label,
            "leader": study.alternatives[leader].label,
            "leader_loses_in_draws": int(loses.sum()),
            "alternatives": [
                {
                    "alternative": alt.label,
                    "first_share": float(share[a]),
                    "regret_mean": float(regret[a].mean()),
                    "regret_max": float(regret[a].max()),
                }
                for a, alt in enumerate(study.alternatives)
            ],
            "leader_loses_when": where,
        }
    return out


def _encoded(columns: list[list[Any]]) -> tuple[np.ndarray, list[list[Any] | None]]:
    """The draws as numbers, (draws, assumptions): a choice by its index among the values drawn
    (its codes), a number as itself (codes None)."""
    codes = [sorted(set(c), key=str) if any(isinstance(v, str) for v in c) else None for c in columns]
    numbers = [
        np.array([cs.index(v) for v in c] if cs else c, dtype=float)
        for c, cs in zip(columns, codes, strict=True)
    ]
    return (np.column_stack(numbers) if numbers else np.zeros((0, 0))), codes


def _decoded(low: float, high: float, codes: list[Any] | None) -> list[Any]:
    """A box's limits of one assumption: [low, high], or the choices inside."""
    return [low, high] if codes is None else codes[int(low) : int(high) + 1]


def _header(study: Study, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "command": study.command,
        "scenario": study.base.scenario.name,
        "vary": {v.key: list(v.values) for v in study.varies},
        "alternatives": [a.label for a in study.alternatives],
        "replications": study.replications,
        "seeds": study.seeds,
        **counts,
    }


def compare_lines(report: dict[str, Any]) -> list[str]:
    """The comparison as a readable text table, KPI by KPI."""
    pct = round(100 * report["confidence"])
    lines = [
        f"{report['scenario']}: {len(report['alternatives'])} alternatives x {report['replications']} "
        f"replication(s), seeds {report['seeds'][0]}..{report['seeds'][-1]}; differences against "
        f"{report['baseline']!r}, paired, {pct}% CI; '=' cannot be told apart from the best",
    ]
    width = max(len(a) for a in report["alternatives"])
    for kpi, block in report["kpis"].items():
        share = kpi.endswith("_share")  # shown in %, differences in percentage points

        def num(x: float | None, sign: bool = False, share: bool = share) -> str:
            return _num(x, sign) if not share or x is None else f"{100 * x:{'+' if sign else ''}.2f}"

        unit = " (%, differences in points)" if share else ""
        lines += ["", f"{block['label']}{unit} ({block['better']} is better)"]
        for row in block["ranking"]:
            ci = f"[{num(row['ci_low'])}, {num(row['ci_high'])}]" if row["ci_low"] is not None else ""
            if row["alternative"] == report["baseline"]:
                diff = "(baseline)"
            elif row["diff_ci_low"] is None:
                diff = num(row["diff_vs_baseline"], sign=True)
            else:
                diff = (
                    f"{num(row['diff_vs_baseline'], True)} "
                    f"[{num(row['diff_ci_low'], True)}, {num(row['diff_ci_high'], True)}]"
                )
            mark = "best" if row["rank"] == 1 else "=" if row["tied_with_best"] else ""
            name = f"{row['alternative']:<{width}}"
            lines.append(f"  {row['rank']:>2}  {name}  {num(row['mean']):>12} {ci:<28} {diff:<36} {mark}")
    if "uncertain" in report:
        lines += robust_lines(report["uncertain"], width)
    return lines


def robust_lines(u: dict[str, Any], width: int) -> list[str]:
    """The robust comparison as text: per KPI, each alternative's share of draws won and regret,
    and where the leader loses."""
    lines = ["", f"Under uncertainty: {u['draws']} draws (Latin hypercube) of {len(u['assumptions'])} "
             f"assumptions from {u['assumptions_file']}, each on its own seed"]  # fmt: skip
    same = [b["label"] for b in u["kpis"].values() if not any(a["regret_max"] for a in b["alternatives"])]
    if same:
        lines.append(f"  the same for every alternative in every draw: {', '.join(same)}")
    for block in u["kpis"].values():
        if block["label"] in same:
            continue
        lines.append(f"  {block['label']}: first in share of draws, regret mean / worst")
        for a in block["alternatives"]:
            lines.append(
                f"    {a['alternative']:<{width}}  {a['first_share']:>6.0%}  "
                f"{_num(a['regret_mean'])} / {_num(a['regret_max'])}"
            )
        where = block["leader_loses_when"]
        if block["leader_loses_in_draws"] == 0:
            lines.append(f"    {block['leader']} is best in every draw")
        elif where is not None:
            ranges = (
                "; ".join(
                    f"{k} in {' | '.join(map(str, v))}"
                    if isinstance(v[0], str)
                    else f"{k} {_num(v[0])}..{_num(v[1])}"
                    for k, v in where["limits"].items()
                )
                or "anywhere"
            )
            lines.append(
                f"    {block['leader']} loses in {block['leader_loses_in_draws']} draws, mostly when "
                f"{ranges} ({where['coverage']:.0%} of its losses, {where['density']:.0%} of the draws there)"
            )
    return lines


def _num(x: float | None, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:+,.0f}" if sign else f"{x:,.0f}"
    return f"{x:+.4g}" if sign else f"{x:.4g}"


def _differences_png(table: pd.DataFrame, baseline: str, confidence: float) -> bytes:
    from io import BytesIO

    from matplotlib.figure import Figure

    kpis = list(dict.fromkeys(table["kpi"]))
    cols = 2
    rows_n = math.ceil(len(kpis) / cols)
    alts = list(dict.fromkeys(table["alternative"]))
    fig = Figure(figsize=(11, 1.2 + rows_n * (0.35 * len(alts) + 1.0)), layout="constrained")
    axes = fig.subplots(rows_n, cols, squeeze=False).ravel()
    for ax, kpi in zip(axes, kpis, strict=False):
        rows = table[table["kpi"] == kpi].set_index("alternative").loc[alts]
        y = np.arange(len(alts))[::-1]
        d = rows["diff_vs_baseline"].to_numpy(dtype=float)
        lo = rows["diff_ci_low"].to_numpy(dtype=float)
        hi = rows["diff_ci_high"].to_numpy(dtype=float)
        err = np.vstack([np.nan_to_num(d - lo), np.nan_to_num(hi - d)])
        colours = ["tab:green" if t else "tab:grey" for t in rows["tied_with_best"]]
        ax.errorbar(d, y, xerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
        ax.scatter(d, y, c=colours, zorder=3)
        ax.axvline(0, color="tab:red", lw=0.8)
        ax.set_yticks(y, alts, fontsize=8)
        ax.set_title(f"{KPIS[kpi].label} ({rows['better'].iat[0]} is better)", fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
    for ax in axes[len(kpis) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"difference from {baseline}, paired over seeds, {round(100 * confidence)}% CI "
        "(green: cannot be told apart from the best)",
        fontsize=10,
    )
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _maps_png(labels: list[str], maps: list[dict[str, Any] | None]) -> bytes:
    """Small multiples: villages by distance to the nearest station, stations, per alternative."""
    from io import BytesIO

    from matplotlib.figure import Figure

    n = len(labels)
    cols = min(n, 4)
    rows_n = math.ceil(n / cols)
    fig = Figure(figsize=(3.2 * cols, 3.0 * rows_n + 0.6), layout="constrained")
    axes = fig.subplots(rows_n, cols, squeeze=False).ravel()
    scatter = None
    finite = [np.array(m["distance_km"], dtype=float) for m in maps if m]
    top = max([float(np.nanmax(np.where(np.isfinite(f), f, np.nan))) for f in finite if np.isfinite(f).any()],
              default=1.0)  # fmt: skip
    for ax, label, m in zip(axes, labels, maps, strict=False):
        ax.set_title(label, fontsize=8)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        if not m:
            continue
        x, y = np.array(m["x_km"]), np.array(m["y_km"])
        dist = np.array(m["distance_km"], dtype=float)
        size = 2 + 18 * np.sqrt(np.array(m["population"]) / max(max(m["population"]), 1))
        scatter = ax.scatter(x, y, s=size, c=dist, cmap="viridis_r", vmin=0, vmax=top, lw=0)
        sites = np.array(m["sites"], dtype=int)
        if len(sites):
            ax.scatter(x[sites], y[sites], s=5, marker="^", c="tab:red", lw=0)
    for ax in axes[n:]:
        ax.set_visible(False)
    if scatter is not None:
        fig.colorbar(scatter, ax=axes[:n].tolist(), shrink=0.6, label="km to the nearest station")
    fig.suptitle("final year: villages by distance to the nearest station; red: rural stations", fontsize=10)
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------- sweep


def sweep_table(study: Study, results: list[dict[str, Any]], confidence: float) -> pd.DataFrame:
    """One row per value: mean and CI of each sweep KPI over replications; the subsidy per
    newly covered resident between a value and the one before; and the knee of coverage against
    subsidy (against the value itself when no subsidy is paid)."""
    vary = study.varies[0]
    rows = []
    for a, alt in enumerate(study.alternatives):
        row: dict[str, Any] = {vary.key: alt.values[0][1], "replications": study.replications}
        for kpi in SWEEP_KPIS:
            ci = t_interval(study.values(results, kpi)[a], confidence)
            row |= {kpi: ci.mean, f"{kpi}_ci_low": ci.low, f"{kpi}_ci_high": ci.high}
        rows.append(row)
    table = pd.DataFrame(rows)
    d_cost = table["subsidy_total_yuan"].diff()
    d_covered = table["population_covered"].diff()
    table["marginal_subsidy_per_new_resident_yuan"] = np.where(d_covered > 0, d_cost / d_covered, np.nan)
    table["knee"] = False
    cost = table["subsidy_total_yuan"].to_numpy(float)
    if np.nanmax(cost, initial=0) == np.nanmin(cost, initial=0) and pd.api.types.is_numeric_dtype(
        table[vary.key]
    ):
        cost = table[vary.key].to_numpy(float)  # no subsidy rules: the knee of coverage by value
    knee = knee_index(cost, table["coverage_share"].to_numpy(float))
    if knee is not None:
        table.loc[knee, "knee"] = True
    return table


def knee_index(x: np.ndarray, y: np.ndarray) -> int | None:
    """The point of the curve (x, y), in the order given, farthest from the chord joining its
    ends, both axes scaled to [0, 1] (the Kneedle idea); None with fewer than 3 finite points
    or a flat curve."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return None
    idx = np.flatnonzero(ok)
    xs, ys = x[idx], y[idx]
    span_x, span_y = np.ptp(xs), np.ptp(ys)
    if span_x == 0 or span_y == 0:
        return None
    u, v = (xs - xs[0]) / span_x, (ys - ys[0]) / span_y
    du, dv = u[-1], v[-1]
    distance = np.abs(du * v - dv * u) / max(math.hypot(du, dv), 1e-12)
    k = int(np.argmax(distance))
    return int(idx[k]) if 0 < k < len(idx) - 1 else None


def _sweep_report(study: Study, results: list[dict[str, Any]], counts: dict[str, int]) -> dict:
    table = sweep_table(study, results, study.confidence)
    key = study.varies[0].key
    knee = table.index[table["knee"]]
    report = {
        **_header(study, counts),
        "confidence": study.confidence,
        "knee": None if not len(knee) else {
            c: table.at[knee[0], c] for c in (key, "coverage_share", "subsidy_total_yuan")
        },
        "rows": table.to_dict(orient="records"),
    }  # fmt: skip
    folder = study.folder
    write_file(folder / "sweep.csv", table.to_csv(index=False, float_format="%.7g"))
    png, svg = _frontier(table, key, study.base.scenario.name, study.confidence)
    write_file(folder / "frontier.png", png)
    write_file(folder / "frontier.svg", svg)
    report = rounded(report)
    write_report(folder, "sweep", report)
    write_file(folder / "sweep.json", json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    return report


def sweep_lines(report: dict[str, Any]) -> list[str]:
    key = next(iter(report["vary"]))
    pct = round(100 * report["confidence"])
    lines = [
        f"{report['scenario']}: sweep of {key} over {len(report['rows'])} values x {report['replications']} "
        f"replication(s); mean [{pct}% CI]",
        f"  {key.rsplit('.', 1)[-1]:>12}  {'covered':>18}  {'hand p50 h':>10}  {'hand p90 h':>10}  "
        f"{'subsidy yuan':>14}  {'per resident':>12}  {'open at end':>11}  {'marginal/resident':>17}",
    ]
    for row in report["rows"]:
        share = row["coverage_share"]
        cov = f"{share:.1%}" if share is not None else "n/a"
        if (
            row["coverage_share_ci_low"] is not None
            and row["coverage_share_ci_high"] != row["coverage_share_ci_low"]
        ):
            cov += f" ±{(row['coverage_share_ci_high'] - row['coverage_share_ci_low']) / 2:.1%}"
        lines.append(
            f"  {row[key]!s:>12}  {cov:>18}  {_num(row['order_to_hand_p50_h']):>10}  "
            f"{_num(row['order_to_hand_p90_h']):>10}  {_num(row['subsidy_total_yuan']):>14}  "
            f"{_num(row['subsidy_per_covered_resident_yuan']):>12}  "
            f"{_num(row['stations_open_last_year']):>11}  "
            f"{_num(row['marginal_subsidy_per_new_resident_yuan']):>17}{'  <- knee' if row['knee'] else ''}"
        )
    return lines


def _frontier(table: pd.DataFrame, key: str, name: str, confidence: float) -> tuple[bytes, bytes]:
    from matplotlib.figure import Figure

    x = table[key]
    numeric = pd.api.types.is_numeric_dtype(x)
    xs = x.to_numpy(float) if numeric else np.arange(len(x))
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)

    def band(ax, column, label, scale=1.0):
        mean = table[column].to_numpy(float) * scale
        lo = table[f"{column}_ci_low"].to_numpy(float) * scale
        hi = table[f"{column}_ci_high"].to_numpy(float) * scale
        ax.plot(xs, mean, marker="o", ms=3, label=label)
        if np.isfinite(lo).any():
            ax.fill_between(xs, lo, hi, alpha=0.25)

    band(ax1, "coverage_share", "covered", 100)
    ax1.set_ylabel("residents covered (%)")
    band(ax2, "order_to_hand_p50_h", "median")
    band(ax2, "order_to_hand_p90_h", "p90")
    ax2.set_ylabel("order to parcel in hand (h)")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.set_xlabel(key)
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in x], rotation=45, fontsize=8)
    cost = table["subsidy_total_yuan"].to_numpy(float) / 1e6
    cover = table["coverage_share"].to_numpy(float) * 100
    knee = np.flatnonzero(table["knee"].to_numpy())
    if len(knee):
        ax1.scatter(
            [xs[knee[0]]], [cover[knee[0]]], s=80, facecolors="none", edgecolors="tab:red", label="knee"
        )
        ax1.legend(fontsize=8)
    if np.nanmax(cost, initial=0) == np.nanmin(cost, initial=0):
        ax3.text(0.5, 0.5, "the same subsidy for every value\n(no subsidy rules apply?)", ha="center",
                 va="center", transform=ax3.transAxes, fontsize=9)  # fmt: skip
        ax3.set_axis_off()
        return _figure_bytes(fig, name, key, confidence)
    ax3.plot(cost, cover, marker="o", ms=3)
    for cx, cy, v in zip(cost, cover, x, strict=True):
        ax3.annotate(str(v), (cx, cy), fontsize=7, xytext=(3, -8), textcoords="offset points")
    if len(knee):
        ax3.scatter(
            [cost[knee[0]]], [cover[knee[0]]], s=80, facecolors="none", edgecolors="tab:red", label="knee"
        )
        ax3.legend(fontsize=8)
    ax3.set_xlabel("subsidies paid over the horizon (million yuan)")
    ax3.set_ylabel("residents covered (%)")
    ax3.set_title("coverage-cost frontier", fontsize=9)
    return _figure_bytes(fig, name, key, confidence)


def _figure_bytes(fig, name: str, key: str, confidence: float) -> tuple[bytes, bytes]:
    from io import BytesIO

    fig.suptitle(f"{name}: sweep of {key} (bands: {round(100 * confidence)}% CI over seeds)", fontsize=10)
    png, svg = BytesIO(), BytesIO()
    fig.savefig(png, format="png", dpi=130)
    fig.savefig(svg, format="svg")
    return png.getvalue(), svg.getvalue()
