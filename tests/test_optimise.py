"""`ruralsim optimise`: the front of a tiny grid found by brute force is found; the same command
gives the same front (serial = Dask); a plan file reproduces its row; budgets hold; bad input is
one line; the hypervolume on hand-worked cases."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main
from analysis.optimise import fronts, hypervolume, parse_decision
from analysis.study import KPIS
from analysis.tasks import Task, run_task
from sim.scenario.load import load_scenario

SMALL = Path(__file__).resolve().parent.parent / "scenarios" / "small.yaml"
SETS = ["--set", "upstream.enabled=false", "--set", "region.villages=60", "--days", "3"]
GRID = [
    "--decide",
    "stations.rural.target=10:30:10",
    "--decide",
    "stations.rural.placement=population,random",
]
OBJECTIVES = ["--objective", "coverage_share", "--objective", "public_cost_yuan"]


def _optimise(tmp_path: Path, *extra: str, out: str = "o", workers: str = "2") -> dict:
    args = ["optimise", str(SMALL), *GRID, *OBJECTIVES, "--evaluations", "18", "--population", "6",
            *SETS, "--out", str(tmp_path / out), "--workers", workers, "--quiet", *extra]  # fmt: skip
    assert main(args) == 0
    return json.loads((tmp_path / out / "front.json").read_text())


@pytest.fixture(scope="module")
def optimised(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("optimise")
    return tmp, _optimise(tmp)


@pytest.mark.slow
def test_the_front_of_a_tiny_grid_is_the_brute_force_front(optimised):
    _, report = optimised
    grid = list(itertools.product((10, 20, 30), ("population", "random")))
    points = []
    for target, placement in grid:
        fields = ["upstream.enabled=false", "region.villages=60", "simulation.days=3",
                  f"stations.rural.target={target}", f"stations.rural.placement={placement}"]  # fmt: skip
        sets = [("t", f) for f in fields]
        metrics = run_task(Task(load_scenario(SMALL, sets).resolved_yaml(), 1, 0, 0))["metrics"]
        points.append([-KPIS["coverage_share"].of(metrics), KPIS["public_cost_yuan"].of(metrics)])
    expected = {grid[i] for i in fronts(np.array(points))[0]}
    found = {(r["stations.rural.target"], r["stations.rural.placement"]) for r in report["front"]}
    assert found == expected and len(expected) >= 3
    # 18 distinct plans asked for, 6 exist: the sampler runs out of new ones, repeats cost nothing
    assert report["evaluations"] == 6 and 18 <= report["asked"] <= 10 * 18


@pytest.mark.slow
def test_the_same_command_gives_the_same_front_and_reuses_every_task(optimised):
    tmp, first = optimised
    again = _optimise(tmp)
    assert again["run_now"] == 0 and again["front"] == first["front"] and again["plans"] == first["plans"]


@pytest.mark.slow
def test_serial_and_dask_give_the_same_front(optimised, tmp_path):
    _, first = optimised
    serial = _optimise(tmp_path, out="serial", workers="1")
    dask = _optimise(tmp_path, "--executor", "dask", out="dask")
    assert serial["front"] == first["front"] == dask["front"]


@pytest.mark.slow
def test_a_plan_file_reproduces_its_row(optimised, tmp_path):
    tmp, report = optimised
    row = report["front"][0]
    out = tmp_path / "run"
    assert main(["run", str(tmp / "o" / row["file"]), "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for kpi in ("coverage_share", "public_cost_yuan"):
        assert KPIS[kpi].of(metrics) == pytest.approx(row[kpi], rel=1e-6)
    assert (tmp / "o" / "report.html").read_text().count("plans/plan-") >= len(report["front"])
    assert (tmp / "o" / "front.png").stat().st_size > 0


@pytest.mark.slow
def test_every_front_plan_keeps_the_budget(tmp_path):
    report = _optimise(tmp_path, "--budget", "public_cost_yuan<=40000")
    assert report["front"] and all(r["public_cost_yuan"] <= 40000 for r in report["front"])
    assert any(not p["feasible"] for p in report["plans"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--decide", "stations.rural.target=5"], "--decide stations.rural.target=5: give at least two"),
        (["--decide", "stations.rural.target=9:3"], "needs LOW < HIGH"),
        (["--objective", "happiness"], "--objective: unknown KPI 'happiness'"),
        (["--budget", "public_cost_yuan=5"], "--budget public_cost_yuan=5: expected KPI<=VALUE"),
        (["--decide", "stations.rural.target=-5:10"], "stations.rural.target: must be >= 0 (got -5)"),
    ],
)
def test_bad_requests_get_one_line_and_exit_2(args, message, tmp_path, capsys):
    base = ["optimise", "small", "--objective", "coverage_share", "--out", str(tmp_path / "x")]
    if not any(a == "--decide" for a in args):
        base += ["--decide", "stations.rural.target=10:20"]
    assert main([*base, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "x").exists()


def test_decisions_parse_ranges_steps_and_lists():
    assert parse_decision("a.b=1:5").integer and not parse_decision("a.b=0.5:2").integer
    assert parse_decision("a.b=0:100:25").step == 25
    assert parse_decision("a.b=mclp,population").choices == ("mclp", "population")


def test_hypervolume_hand_worked():
    three = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    assert hypervolume(three, np.array([4.0, 4.0])) == 6.0  # 3 x 1 + 2 x 1 + 1 x 1
    assert hypervolume(np.array([[0.0, 0.0, 0.0]]), np.array([1.0, 2.0, 3.0])) == 6.0
    dominated = np.vstack([three, [[3.0, 3.0]]])  # a dominated point adds nothing
    assert hypervolume(dominated, np.array([4.0, 4.0])) == 6.0
    assert fronts(dominated) == [[0, 1, 2], [3]]
