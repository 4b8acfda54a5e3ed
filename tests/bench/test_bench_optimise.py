"""The optimiser's cost and worth: 200 evaluations on `small` (28 days) on 2 local processes
(target: 10 min), and the front's hypervolume against random search with the same evaluations
(must be higher), both measured against one reference point."""

from __future__ import annotations

import json
import time

import numpy as np

from analysis.cli import main
from analysis.optimise import hypervolume
from analysis.study import KPIS

OBJECTIVES = ("coverage_share", "public_cost_yuan", "order_to_hand_p90_h")
DECIDE = ("stations.rural.target=10:150:5", "stations.rural.placement=population,mclp,pmedian,random",
          "stations.community.count=0:12", "couriers.van_capacity=100:500:50")  # fmt: skip


def _run(tmp_path, sampler: str) -> tuple[float, dict]:
    args = ["optimise", "small", "--days", "28", "--evaluations", "200", "--population", "20",
            "--sampler", sampler, "--workers", "2", "--out", str(tmp_path / sampler), "--quiet"]  # fmt: skip
    for d in DECIDE:
        args += ["--decide", d]
    for k in OBJECTIVES:
        args += ["--objective", k]
    started = time.perf_counter()
    assert main(args) == 0
    return time.perf_counter() - started, json.loads((tmp_path / sampler / "front.json").read_text())


def test_optimise_200_evaluations_small_28_days(benchmark, tmp_path):
    seconds, tpe_run = benchmark.pedantic(lambda: _run(tmp_path, "tpe"), rounds=1, iterations=1)
    _, rand = _run(tmp_path, "random")

    def points(report: dict) -> np.ndarray:
        return np.array([[-KPIS[k].better * p[k] for k in OBJECTIVES] for p in report["plans"]])

    both = np.vstack([points(tpe_run), points(rand)])
    reference = both.max(axis=0) + 1e-9 * (1 + np.abs(both.max(axis=0)))
    hv = {name: hypervolume(points(r), reference) for name, r in (("tpe", tpe_run), ("random", rand))}
    benchmark.extra_info.update(seconds=seconds, hypervolume=hv, asked=tpe_run["asked"])
    print(
        f"\noptimise small (28 days), 200 evaluations, 2 processes: {seconds:.0f} s (target 600 s); "
        f"{tpe_run['asked']} plans asked, {len(tpe_run['front'])} on the front; hypervolume TPE "
        f"{hv['tpe']:.4g} vs random search {hv['random']:.4g} ({hv['tpe'] / hv['random']:.2f}x)"
    )
    assert seconds < 600 and hv["tpe"] > hv["random"]
