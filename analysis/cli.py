"""The `ruralsim` command line. Errors are caught here, once, and printed as one line each."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from geo.errors import InputError, RuralsimError
from geo.placement import STRATEGIES  # light: the algorithms load when a strategy runs

# The commands import the model (geopandas, SimPy, PyVRP, HiGHS, matplotlib) when they run, so
# that `--help` and `--version` answer at once.

BUNDLED = Path(__file__).resolve().parent.parent / "scenarios"

STUDY_EPILOG = """\
Tasks (one per alternative and seed) are named by their content and saved as they finish: run
the same command again after an interruption and it resumes where it stopped. Results are the
same whatever the executor and the number of workers."""

EPILOG = """\
SCENARIO is a YAML file, or the name of a bundled scenario (see `ruralsim scenarios`).
Exit status: 0 done, 2 bad input (one line per problem on stderr), 1 other failure."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args)
    except InputError as err:
        for line in err.problems:
            print(line, file=sys.stderr)
        return 2
    except RuralsimError as err:
        print(f"ruralsim: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ruralsim: interrupted; no run folder was written", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ruralsim",
        description="Plan rural e-commerce service-station networks: coverage, delivery times and "
        "subsidy costs under different station-build targets.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('ruralsim')}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "run",
        help="run a scenario and write its run folder",
        description=textwrap.fill(
            "Run a scenario: build the region and roads, place the stations year by year, "
            "measure coverage, simulate parcel delivery day by day, and draw the maps. Writes "
            "runs/<name>/<UTC time>-<hash>/ (or --out) with report.html (the planning report, "
            "self-contained), scenario.resolved.yaml, metrics.json (coverage, delivery times, subsidies, "
            "station survival), run.json, ledger.csv (every subsidy payment), stations.csv (per station "
            "and year), villages.csv, "
            "region.gpkg, the maps (map.png, map_<year>.png, map_counties.png, map_access_time.png, "
            "map_lead_time.png, map_routes.png), lead_times.png, lead_times.csv, routes.csv and, with "
            "outputs.xlsx, tables.xlsx; the "
            "folder appears only once complete. Prints its path.",
            96,
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file or bundled scenario name")
    p.add_argument("--out", type=Path, metavar="DIR", help="write the run here (must not hold files)")
    p.add_argument(
        "--runs-dir",
        type=Path,
        default=Path("runs"),
        metavar="DIR",
        help="where new run folders go when --out is not given (default: runs)",
    )
    p.add_argument("--seed", type=int, metavar="N", help="override the scenario's seed")
    p.add_argument(
        "--replications",
        type=int,
        metavar="N",
        help="simulate N seeds (seed, seed+1, ...) and report mean and 95%% CI per figure",
    )
    p.add_argument(
        "--workers", type=int, metavar="N", help="local processes for replications (default: all cores)"
    )
    p.add_argument("--days", type=int, metavar="N", help="simulate only the first N days of the horizon")
    p.add_argument(
        "--no-sim",
        action="store_true",
        help="coverage, map and GIS layers only; skip the delivery simulation",
    )
    _add_set(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(command=_run)

    for name, summary, description in (
        (
            "compare",
            "compare alternatives (placement strategies, targets, ...) on the same seeds",
            "Run the scenario under every combination of the --vary values, each on the same "
            "seeds (common random numbers), and rank the alternatives per KPI (coverage, order to "
            "hand mean and p90, villager km, van cost, subsidies, stations open at the end) with "
            "paired differences against the baseline and their confidence intervals. Prints the "
            "ranking; writes compare.csv, compare.json, compare.png (differences with CIs) and "
            "maps.png (one small map per alternative) to the study folder, and prints its path.",
        ),
        (
            "sweep",
            "sweep one field (a build target, demand growth, ...) and draw the frontier",
            "Run the scenario for each value of one --vary field on the same seeds and report, per "
            "value, coverage, median and p90 order to hand, total and per-resident subsidy and the "
            "stations open at the end, with CIs across replications; the subsidy per newly covered "
            "resident between steps; the knee of the coverage-cost curve. Prints the table; writes "
            "sweep.csv, sweep.json, frontier.png and frontier.svg, and prints the folder's path.",
        ),
    ):
        p = sub.add_parser(
            name,
            help=summary,
            description=textwrap.fill(description, 96) + "\n\n" + STUDY_EPILOG,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("scenario", metavar="SCENARIO", help="scenario file or bundled scenario name")
        p.add_argument(
            "--vary",
            action="append",
            default=[],
            metavar="KEY=VALUES",
            help="a field and its values: a list (stations.rural.placement=population,mclp) or a range "
            "START:STOP:STEP, STOP included (stations.rural.target=0:2725:250)"
            + ("; repeat for the Cartesian product" if name == "compare" else ""),
        )
        if name == "compare":
            p.add_argument(
                "--baseline", metavar="VALUE", help="the alternative to compare against (default: the first)"
            )
            p.add_argument(
                "--uncertain", type=int, metavar="N",
                help="draw the assumptions N times (Latin hypercube, the same draws for every alternative, "
                "draw r on seed + r) instead of --replications; adds how often each alternative is best, "
                "its regret, and where the leader loses (PRIM)",
            )  # fmt: skip
            p.add_argument(
                "--assumptions", type=Path, metavar="FILE",
                help="with --uncertain: the ranges (default: the bundled Lishui file)",
            )  # fmt: skip
            p.add_argument(
                "--design-seed", type=int, default=0, metavar="N", help="with --uncertain: seed of the draws"
            )
        p.add_argument(
            "--replications", type=int, metavar="N", help="seeds per alternative (default: the scenario's)"
        )
        p.add_argument("--seed", type=int, metavar="N", help="first seed (default: the scenario's)")
        p.add_argument("--days", type=int, metavar="N", help="simulate only the first N days of the horizon")
        p.add_argument(
            "--confidence", type=float, default=0.95, metavar="P", help="confidence level (default: 0.95)"
        )
        add_task_options(p)
        p.set_defaults(command=_study, study=name)

    p = sub.add_parser(
        "calibrate",
        help="fit chosen fields to observed figures (Optuna) and say which figures the model cannot meet",
        description=textwrap.fill(
            "Fit the --fit fields of the scenario to the observed figures of a targets file (each a "
            "figure of metrics.json by dotted path, with a value or a range and its source): Optuna's "
            "TPE sampler, seeded with the scenario's seed, asks trials in batches, each trial one "
            "scenario run on the scenario's seeds, and minimises the sum of weight x residual² "
            "(value: (model - observed) / sigma, default sigma 10% of the value; range: 0 inside, the "
            "distance to the nearer bound over its half-width outside). Prints the fitted values, "
            "the residual table and the targets not met, with why; writes calibration.json, "
            "calibration.csv (every trial) and fitted.yaml (the scenario with the fitted values: "
            "`ruralsim run fitted.yaml` reproduces the best trial) to the calibration folder "
            "runs/<name>/calibrate-<hash>/, and prints its path.",
            96,
        )
        + "\n\n"
        + STUDY_EPILOG.replace("one per alternative and seed", "one per trial and seed")
        + "\nThe same command gives the same trials; more --trials extend a calibration.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file or bundled scenario name")
    p.add_argument(
        "--targets", type=Path, required=True, metavar="FILE",
        help="observed figures (YAML, e.g. scenarios/targets/lishui-2022.yaml)",
    )  # fmt: skip
    p.add_argument(
        "--fit", action="append", default=[], metavar="KEY[=LOW:HIGH]",
        help="a field to fit, its range from the assumptions file or given; repeatable",
    )  # fmt: skip
    p.add_argument(
        "--assumptions", type=Path, metavar="FILE", help="the ranges (default: the bundled Lishui file)"
    )
    p.add_argument("--trials", type=int, default=30, metavar="N", help="trials to run (default 30)")
    p.add_argument(
        "--batch", type=int, default=4, metavar="N",
        help="trials asked at a time and run in parallel (default 4; part of what the trials are)",
    )  # fmt: skip
    p.add_argument(
        "--seed", type=int, metavar="N", help="the scenario's seed: first simulation seed and sampler seed"
    )
    p.add_argument("--days", type=int, metavar="N", help="simulate only the first N days of the horizon")
    p.add_argument("--replications", type=int, metavar="N", help="seeds per trial (default: the scenario's)")
    add_task_options(p)
    p.set_defaults(command=_calibrate)

    p = sub.add_parser(
        "validate",
        help="check scenario files and report every problem",
        description="Check scenario files (with their extends chain and --set overrides) against "
        "the schema and the region they name. Prints one line per problem; exit status 2 if any.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files or bundled names")
    _add_set(p)
    p.set_defaults(command=_validate)

    p = sub.add_parser(
        "scenarios",
        help="list the bundled scenarios",
        description=f"List the scenarios bundled in {BUNDLED} with their descriptions.",
    )
    p.set_defaults(command=_scenarios)

    p = sub.add_parser(
        "place",
        help="solve a station placement for a scenario's villages and write it as a GeoPackage",
        description="Choose station villages with a placement strategy on the scenario's region and "
        "road distances, print the covered population, distances, objective, bound and runtime, and "
        "write the plan (layers stations and villages) to --out. Strategies:\n"
        + "\n".join(f"  {s.name:<11} {s.summary}" for s in STRATEGIES.values()),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file or bundled scenario name")
    p.add_argument(
        "--strategy", required=True, metavar="S", choices=tuple(STRATEGIES), help=", ".join(STRATEGIES)
    )
    exact = ", ".join(s.name for s in STRATEGIES.values() if s.has_exact)
    p.add_argument(
        "--exact",
        action="store_true",
        help=f"solve exactly with HiGHS ({exact}) and report the proven bound",
    )
    p.add_argument(
        "--radius-km", type=float, metavar="KM", help="coverage radius (default: stations.rural.coverage_km)"
    )
    p.add_argument(
        "--p", type=int, metavar="N", help="number of stations (default: the scenario's final target)"
    )
    p.add_argument(
        "--time-limit", type=float, metavar="S", help="seconds for the solver (exact: then not proven)"
    )
    p.add_argument("--out", type=Path, default=Path("plan.gpkg"), metavar="FILE", help="default: plan.gpkg")
    _add_set(p)
    p.set_defaults(command=_place)

    p = sub.add_parser(
        "report",
        help="write report.html for an existing run, compare, sweep, sensitivity or optimise folder",
        description="Write FOLDER/report.html again from the folder's files (metrics.json, compare.json, "
        "sweep.json, sensitivity.json or front.json, the CSVs and images beside them): one self-contained "
        "page that opens offline. Prints its path.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "folder",
        type=Path,
        metavar="FOLDER",
        help="a folder written by run, compare, sweep, sensitivity or optimise",
    )
    p.set_defaults(command=_report)

    p = sub.add_parser(
        "export",
        help="write a run's GIS layers as GeoPackage or GeoJSON",
        description="Write the GIS layers of an existing run folder: villages (with dist_km, time_min "
        "and assigned station), townships, counties, stations, roads and catchments. gpkg writes "
        "RUN_DIR/region.gpkg (projected CRS); geojson writes RUN_DIR/geojson/<layer>.geojson (WGS84). "
        "Layers come from the run's region.gpkg, or are recomputed from its scenario.resolved.yaml. "
        "Prints what it wrote.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a folder written by `ruralsim run`")
    p.add_argument("--format", choices=("gpkg", "geojson"), default="gpkg", help="default: gpkg")
    p.set_defaults(command=_export)

    p = sub.add_parser(
        "sensitivity",
        help="which assumptions drive the answer: Morris screening or Sobol indices (SALib)",
        description=textwrap.fill(
            "Vary every assumption of the assumptions file (a range and a source for each unsourced "
            "figure) over its range at once, with SALib's Morris trajectories (screening: mu*, the mean "
            "absolute effect of an assumption over its full range, and sigma, its spread) or Saltelli's "
            "Sobol sample (first-order and total indices with bootstrap intervals), each design row run "
            "on the scenario's seeds; plus a one-at-a-time tornado. Prints the assumptions that move "
            "each output most; writes sensitivity.csv, sensitivity.json, tornado.png, indices.png and "
            "report.html to the study folder, and prints its path.",
            96,
        )
        + "\n\n"
        + STUDY_EPILOG.replace("one per alternative and seed", "one per design row and seed"),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file or bundled scenario name")
    p.add_argument("--method", choices=("morris", "sobol"), default="morris", help="default: morris")
    p.add_argument(
        "--samples", type=int, metavar="N",
        help="Morris trajectories (default 10: (assumptions + 1) x N runs) or Sobol base samples, a "
        "power of 2 (default 64: (assumptions + 2) x N runs)",
    )  # fmt: skip
    p.add_argument(
        "--assumptions", type=Path, metavar="FILE", help="the ranges (default: the bundled Lishui file)"
    )
    p.add_argument(
        "--output", action="append", metavar="KPI",
        help="a figure to analyse, repeatable (default: coverage_share, order_to_hand_p90_h, "
        "courier_cost_per_parcel_yuan, public_cost_yuan, stations_open_last_year)",
    )  # fmt: skip
    p.add_argument(
        "--replications", type=int, default=1, metavar="N", help="seeds per design row (default 1)"
    )
    p.add_argument("--design-seed", type=int, default=0, metavar="N", help="seed of the sample (default 0)")
    p.add_argument("--seed", type=int, metavar="N", help="first simulation seed (default: the scenario's)")
    p.add_argument("--days", type=int, metavar="N", help="simulate only the first N days of the horizon")
    add_task_options(p)
    p.set_defaults(command=_sensitivity)

    p = sub.add_parser(
        "optimise",
        help="which plan to fund: a multi-objective search (NSGA-II) over decisions, a Pareto front",
        description=textwrap.fill(
            "Search the decisions given with --decide (any field --set changes: yearly build targets, "
            "placement strategy, visit frequencies, subsidy amounts, ...) for the plans that no other "
            "plan beats on every --objective (KPIs of compare; each KPI's own direction), within every "
            "--budget, with Optuna's NSGA-II (or --sampler random). Every plan runs on the same seeds; "
            "the plans of the first two fronts then get more seeds, up to --max-replications. Prints "
            "the front; writes front.csv, front.json, plans.csv, front.png, front.svg, front_maps.json, "
            "report.html (the front interactive: click a plan for its map) and "
            "plans/plan-NN.yaml (each front plan as a scenario file `ruralsim run` reproduces) to the "
            "folder, and prints its path.",
            96,
        )
        + "\n\n"
        + STUDY_EPILOG.replace("one per alternative and seed", "one per plan and seed"),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file or bundled scenario name")
    p.add_argument(
        "--decide", action="append", default=[], metavar="KEY=RANGE",
        help="a decision: LOW:HIGH (a number; integers when both are), LOW:HIGH:STEP, or a list "
        "A,B,C; repeatable",
    )  # fmt: skip
    p.add_argument(
        "--objective", action="append", default=[], metavar="KPI",
        help="a KPI to optimise in its own direction (e.g. coverage_share, public_cost_yuan, "
        "order_to_hand_p90_h); repeatable",
    )  # fmt: skip
    p.add_argument(
        "--budget", action="append", default=[], metavar="KPI<=VALUE",
        help="a constraint on a KPI, e.g. subsidy_total_yuan<=5e6 or coverage_share>=0.9; repeatable",
    )  # fmt: skip
    p.add_argument(
        "--evaluations", type=int, default=200, metavar="N", help="plans to evaluate (default 200)"
    )
    p.add_argument(
        "--population", type=int, metavar="N", help="plans per generation (default: evaluations / 5, 4 to 20)"
    )
    p.add_argument(
        "--sampler", choices=("tpe", "nsga2", "random"), default="tpe",
        help="multi-objective TPE (default: the best of the three on small budgets, docs/benchmarks.md), "
        "NSGA-II, or random search (the yardstick)",
    )  # fmt: skip
    p.add_argument("--search-seed", type=int, default=0, metavar="N", help="seed of the search (default 0)")
    p.add_argument("--replications", type=int, default=1, metavar="N", help="seeds per plan (default 1)")
    p.add_argument(
        "--max-replications", type=int, metavar="N",
        help="seeds for the plans of the first two fronts (default: --replications)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, metavar="N", help="first simulation seed (default: the scenario's)")
    p.add_argument("--days", type=int, metavar="N", help="simulate only the first N days of the horizon")
    add_task_options(p)
    p.set_defaults(command=_optimise)
    return parser


def add_task_options(p: argparse.ArgumentParser) -> None:
    """The options of every command that runs many tasks (compare, sweep, sensitivity,
    calibrate): where they run, where the folder goes, `--set`, `--quiet`."""
    p.add_argument("--executor", choices=("local", "dask"), default="local", help="default: local")
    p.add_argument(
        "--workers", type=int, metavar="N",
        help="local processes or LocalCluster workers (default: all cores; 1: in this process)",
    )  # fmt: skip
    p.add_argument("--scheduler", metavar="ADDRESS", help="join a running Dask cluster, e.g. tcp://host:8786")
    p.add_argument("--out", type=Path, metavar="DIR", help="the study folder (default: runs/<name>/...)")
    p.add_argument(
        "--runs-dir", type=Path, default=Path("runs"), metavar="DIR", help="where study folders go"
    )
    _add_set(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def task_overrides(args: argparse.Namespace) -> list:
    """`--set` overrides plus `--seed` and `--days`, and a check of `--workers`."""
    overrides = list(args.overrides)
    for flag, key, value in (("--seed", "seed", args.seed), ("--days", "simulation.days", args.days)):
        if value is not None:
            overrides.append((flag, f"{key}={value}"))
    if args.workers is not None and args.workers < 1:
        raise InputError([f"--workers: must be >= 1 (got {args.workers})"])
    return overrides


def _executing(args: argparse.Namespace) -> dict[str, Any]:
    """Where and how the tasks run, from the options of `add_task_options`: the keyword
    arguments of every study's `run`."""
    return {
        "executor": args.executor,
        "workers": args.workers,
        "scheduler": args.scheduler,
        "progress": False if args.quiet else None,
    }


def _add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        metavar="KEY=VALUE",
        help="override a field by dotted path, value parsed as YAML "
        "(e.g. --set stations.rural.target=1200); repeatable",
    )


def _resolve(name: str) -> Path:
    """A path as given if it exists, else the bundled scenario of that name."""
    path = Path(name)
    bundled = BUNDLED / f"{name}.yaml"
    if not path.exists() and bundled.is_file():
        return bundled
    return path


def _run(args: argparse.Namespace) -> int:
    from analysis.headline import run_lines
    from analysis.run import run
    from sim.scenario.load import load_scenario

    overrides = list(args.overrides)
    for flag, key, value in (
        ("--seed", "seed", args.seed),
        ("--replications", "simulation.replications", args.replications),
        ("--days", "simulation.days", args.days),
        ("--no-sim", "simulation.enabled", False if args.no_sim else None),
    ):
        if value is not None:
            overrides.append((flag, f"{key}={str(value).lower() if isinstance(value, bool) else value}"))
    loaded = load_scenario(_resolve(args.scenario), overrides)
    folder = run(
        loaded,
        out=args.out,
        runs_root=args.runs_dir,
        progress=False if args.quiet else None,
        workers=args.workers,
    )
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    for note in metrics["notes"]:
        print(f"note: {note}", file=sys.stderr)
    print("\n".join(run_lines(metrics, loaded.scenario.couriers.mode)), file=sys.stderr)  # stdout: the folder
    print(folder)
    return 0


def _study(args: argparse.Namespace) -> int:
    from analysis import study

    overrides = task_overrides(args)
    planned = study.plan(
        args.study,
        _resolve(args.scenario),
        vary=args.vary,
        overrides=overrides,
        replications=args.replications,
        runs_root=args.runs_dir,
        out=args.out,
        baseline=getattr(args, "baseline", None),
        confidence=args.confidence,
        uncertain=getattr(args, "uncertain", None),
        assumptions_file=getattr(args, "assumptions", None),
        design_seed=getattr(args, "design_seed", 0),
    )
    report = study.run(planned, **_executing(args))
    return _print_study(
        planned, study.compare_lines if args.study == "compare" else study.sweep_lines, report
    )


def _print_study(planned: Any, lines: Callable[[dict[str, Any]], list[str]], report: dict[str, Any]) -> int:
    """What a command that ran many tasks prints: its `lines`, how many tasks were reused, and
    its folder last (the one line a script reads)."""
    print("\n".join(lines(report)))
    if report["reused"]:
        print(f"({report['reused']} of {report['tasks']} tasks were already done and were reused)")
    print(planned.folder)
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from analysis import calibrate

    overrides = task_overrides(args)
    if args.trials < 1:
        raise InputError([f"--trials: must be >= 1 (got {args.trials})"])
    planned = calibrate.plan(
        _resolve(args.scenario),
        targets=args.targets,
        fit=args.fit,
        overrides=overrides,
        assumptions=args.assumptions,
        replications=args.replications,
        batch=args.batch,
        runs_root=args.runs_dir,
        out=args.out,
    )
    return _print_study(
        planned,
        calibrate.lines,
        calibrate.run(
            planned,
            trials=args.trials,
            **_executing(args),
        ),
    )


def _validate(args: argparse.Namespace) -> int:
    from sim.network.build import build_region, check_region
    from sim.scenario.load import load_scenario

    status = 0
    for name in args.scenarios:
        try:
            loaded = load_scenario(_resolve(name), args.overrides)
            check_region(loaded, build_region(loaded))
        except InputError as err:
            for line in err.problems:
                print(line, file=sys.stderr)
            status = 2
        else:
            print(f"{name}: ok")
    return status


def _place(args: argparse.Namespace) -> int:
    from analysis.place import place
    from sim.scenario.load import load_scenario

    loaded = load_scenario(_resolve(args.scenario), args.overrides)
    _, lines = place(
        loaded,
        strategy=args.strategy,
        exact=args.exact,
        radius_km=args.radius_km,
        p=args.p,
        time_limit_s=args.time_limit,
        out=args.out,
    )
    print("\n".join(lines))
    return 0


def _report(args: argparse.Namespace) -> int:
    from analysis.report import write_report

    if not args.folder.is_dir():
        raise InputError([f"{args.folder}: no such folder"])
    print(write_report(args.folder))
    return 0


def _export(args: argparse.Namespace) -> int:
    from analysis.export import export_run

    print(export_run(args.run_dir, args.format))
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from analysis import sensitivity

    planned = sensitivity.plan(
        _resolve(args.scenario),
        given=task_overrides(args),
        assumptions_file=args.assumptions,
        method=args.method,
        samples=args.samples,
        outputs=args.output,
        replications=args.replications,
        design_seed=args.design_seed,
        runs_root=args.runs_dir,
        out=args.out,
    )
    return _print_study(
        planned,
        sensitivity.lines,
        sensitivity.run(planned, **_executing(args)),
    )


def _optimise(args: argparse.Namespace) -> int:
    from analysis import optimise

    planned = optimise.plan(
        _resolve(args.scenario),
        given=task_overrides(args),
        decide=args.decide,
        objectives=args.objective,
        budgets=args.budget,
        evaluations=args.evaluations,
        population=args.population,
        sampler=args.sampler,
        search_seed=args.search_seed,
        replications=args.replications,
        max_replications=args.max_replications,
        runs_root=args.runs_dir,
        out=args.out,
    )
    return _print_study(
        planned,
        optimise.lines,
        optimise.run(planned, **_executing(args)),
    )


def _scenarios(args: argparse.Namespace) -> int:
    files = sorted(BUNDLED.glob("*.yaml"))
    if not files:
        print(f"no bundled scenarios in {BUNDLED}", file=sys.stderr)
        return 1
    width = max(len(f.stem) for f in files)
    for f in files:
        try:
            description = (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("description", "")
        except yaml.YAMLError:
            description = "(unreadable YAML)"
        print(f"{f.stem:<{width}}  {' '.join(str(description).split())}")
    return 0
