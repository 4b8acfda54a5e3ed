"""Many simulation tasks, each one (resolved scenario, seed), on local processes or Dask, resumable.

A task is named by its content: the hash of the resolved scenario, the code version (ruralsim's
version and a hash of its code) and the seed. Its result is written, once finished, to
``<study>/tasks/<hash>/task.json`` in one rename, so a study killed at any moment keeps every
finished task and none half-written; running it again skips those and runs the rest. Workers
compute and return results; only the process that runs the study writes files (a remote Dask
cluster needs no shared disk).

Each worker keeps the networks it built (region, roads, placement: the slow part of a task) for
the scenarios it has seen, so replications of one alternative build it once per worker. A task's
result depends on its scenario and seed alone, so results are identical whatever the executor,
the number of workers and the order tasks finish in.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import yaml
from tqdm import tqdm

from analysis.runfolder import RunFolderError, atomic_dir, rounded, writable, write_file
from geo.errors import InputError, RuralsimError

EXECUTORS = ("local", "dask")
_NETWORK_SECTIONS = ("seed", "horizon", "region", "stations")  # what `build_network` reads
_ECONOMIC_SECTIONS = ("demand", "couriers", "upstream", "subsidies", "economics")  # and for `viable`
_NETWORKS: OrderedDict[str, Any] = OrderedDict()  # per worker process: network by hash
_KEEP_NETWORKS = 4


@dataclass(frozen=True)
class Task:
    """Run the scenario `resolved` (resolved YAML text) with simulation seed `seed`;
    `alternative` and `replication` say where it belongs in the study; `map_data` asks for the
    small-map figures (distance to the nearest station per village, station sites)."""

    resolved: str
    seed: int
    alternative: int
    replication: int
    map_data: bool = False

    @property
    def key(self) -> str:
        digest = hashlib.sha256(f"{self.resolved}\0{code_version()}\0{self.seed}".encode())
        return digest.hexdigest()[:24]


@functools.cache
def code_version() -> str:
    """The ruralsim version and a hash of its code and data files, so that a changed model
    never reuses a task run by the old one."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for package in ("geo", "sim", "analysis"):
        for path in sorted((root / package).rglob("*")):
            if path.suffix in {".py", ".json"} and "__pycache__" not in path.parts:
                h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{version('ruralsim')}+{h.hexdigest()[:12]}"


def network_key(resolved: str) -> str:
    """Hash of the parts of a resolved scenario that its network depends on (a placement that
    weighs operators' economics, `viable`, depends on the demand, money and produce too)."""
    from geo.placement import STRATEGIES

    data = yaml.safe_load(resolved)
    placement = ((data.get("stations") or {}).get("rural") or {}).get("placement")
    economic = placement in STRATEGIES and STRATEGIES[placement].needs_economics
    part = {k: data.get(k) for k in (*_NETWORK_SECTIONS, *(_ECONOMIC_SECTIONS if economic else ()))}
    return hashlib.sha256(json.dumps(part, sort_keys=True, default=str).encode()).hexdigest()[:24]


def run_task(task: Task) -> dict[str, Any]:
    """Evaluate one task (in whichever process runs it): coverage and one simulation run, with
    every figure of `metrics.json` unrounded; `built_network` says whether this call built the
    network (False: this worker had it)."""
    from analysis.coverage import access
    from analysis.evaluate import coverage_metrics, run_metrics
    from sim.network.build import build_network
    from sim.run import simulate
    from sim.scenario.load import load_resolved

    started = time.perf_counter()
    loaded = load_resolved(task.resolved, f"task {task.key}")
    key = network_key(task.resolved)
    built = key not in _NETWORKS
    if built:
        _NETWORKS[key] = build_network(loaded)
        while len(_NETWORKS) > _KEEP_NETWORKS:
            _NETWORKS.popitem(last=False)
    _NETWORKS.move_to_end(key)
    network = _NETWORKS[key]
    by_year = {year: access(network, year) for year in network.plan.years}
    metrics = coverage_metrics(loaded, network, by_year)
    if loaded.scenario.simulation.enabled:
        run = simulate(network, loaded, task.seed)
        metrics |= run_metrics(metrics, run, network, loaded.scenario.stations.rural.coverage_km)
    out: dict[str, Any] = {
        "metrics": rounded(metrics, digits=None),
        "pid": os.getpid(),
        "built_network": built,
        "seconds": time.perf_counter() - started,
    }
    if task.map_data:
        last = by_year[network.plan.years[-1]]
        out["map"] = {
            "x_km": (network.region.village_xy[:, 0] / 1000).round(3).tolist(),
            "y_km": (network.region.village_xy[:, 1] / 1000).round(3).tolist(),
            "population": network.region.villages["population"].astype(int).tolist(),
            "distance_km": rounded(last.distance_km.round(3).tolist(), digits=None),
            "sites": network.plan.sites(network.plan.years[-1]).tolist(),
        }
    return out


# ------------------------------------------------------------------------------------- store


def done(folder: Path, task: Task) -> dict[str, Any] | None:
    """The stored result of `task` in study `folder`, or None if not run yet."""
    path = folder / "tasks" / task.key / "task.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["result"]
    except (OSError, ValueError, KeyError):
        return None


def store(folder: Path, task: Task, result: dict[str, Any]) -> None:
    """Write `task`'s folder in one rename (a folder that exists is finished)."""
    final = folder / "tasks" / task.key
    if final.exists():  # a result is a function of the task: the one there is the same
        return
    record = {"seed": task.seed, "alternative": task.alternative, "replication": task.replication,
              "version": code_version(), "result": result}  # fmt: skip
    with atomic_dir(final) as tmp:
        (tmp / "task.json").write_text(json.dumps(record), encoding="utf-8")
        (tmp / "scenario.resolved.yaml").write_text(task.resolved, encoding="utf-8")


def open_folder(
    folder: Path, spec: dict[str, Any], tasks: tuple[Task, ...] | list[Task], what: str = "study"
) -> None:
    """Create the `folder` of a study (`what`: study, calibration) with `study.json` (`spec` and
    the task keys), or accept it when it holds the same (a resumed one); raise `RunFolderError`
    when it holds anything else."""
    spec = json.loads(json.dumps({**spec, "tasks": [t.key for t in tasks]}, default=str))
    path = folder / "study.json"
    if path.exists():
        try:
            same = json.loads(path.read_text(encoding="utf-8")) == spec
        except ValueError:
            same = False
        if not same:
            raise RunFolderError(f"{folder}: holds another {what}; choose another --out")
        return
    if folder.exists() and not folder.is_dir():
        raise InputError([f"{folder}: is a file, not a folder; choose another --out"])
    if folder.exists() and any(folder.iterdir()):
        raise RunFolderError(f"{folder}: already exists and is not a {what}; choose another --out")
    writable(folder)
    write_file(path, json.dumps(spec, indent=2, default=str) + "\n")


def run_all(
    folder: Path,
    tasks: tuple[Task, ...] | list[Task],
    *,
    desc: str,
    executor: str,
    workers: int | None,
    scheduler: str | None,
    progress: bool | None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every task's result, in the order of `tasks`: the stored ones read back, the others run
    (`execute`) and stored as they finish, under a progress bar over tasks (`progress` None: on
    a terminal). Also the counts: tasks, run now, reused."""
    results = {t.key: done(folder, t) for t in tasks}
    pending = [t for t in tasks if results[t.key] is None]
    with tqdm(
        total=len(tasks),
        initial=len(tasks) - len(pending),
        desc=desc,
        unit="task",
        disable=None if progress is None else not progress,
        leave=False,
    ) as bar:

        def finished(task: Task, result: dict[str, Any]) -> None:
            store(folder, task, result)
            results[task.key] = result
            bar.update()

        execute(pending, finished, executor=executor, workers=workers, scheduler=scheduler)
    counts = {"tasks": len(tasks), "run_now": len(pending), "reused": len(tasks) - len(pending)}
    # cast: `execute` has stored a result for every pending task by now, so none is None
    return [cast(dict[str, Any], results[t.key]) for t in tasks], counts


# --------------------------------------------------------------------------------- executors


def execute(
    tasks: list[Task],
    on_result: Callable[[Task, dict[str, Any]], None],
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
) -> None:
    """Run `tasks`, calling `on_result(task, result)` in this process as each finishes (in the
    order they finish). `local`: in this process when `workers` is 1, else a pool of local
    processes (default: all cores); `dask`: a LocalCluster of `workers` processes, or the
    cluster at `scheduler` (``tcp://host:8786``)."""
    if not tasks:
        return
    if executor == "dask" or scheduler is not None:
        _dask(tasks, on_result, workers, scheduler)
    elif workers == 1:
        for task in tasks:
            on_result(task, run_task(task))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_task, t): t for t in tasks}
            for future in as_completed(futures):
                on_result(futures[future], future.result())


def _dask(tasks: list[Task], on_result, workers: int | None, scheduler: str | None) -> None:
    import logging

    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise RuralsimError(
            "--executor dask needs Dask: pip install 'ruralsim[dask]' (dask[distributed])"
        ) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise InputError([f"--scheduler {scheduler}: cannot reach the Dask scheduler ({err})"]) from None
        cluster = None
    else:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            # no dashboard, and the scheduler's HTTP server on a free port: with None it takes
            # 8787, and a second cluster on the machine warns and moves
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    try:
        futures = [client.submit(run_task, t, key=f"ruralsim-task-{t.key}", pure=False) for t in tasks]
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for future in dask_completed(futures):
            on_result(by_key[future.key], future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
