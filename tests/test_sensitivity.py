"""`ruralsim sensitivity`: SALib's designs and indices through our machinery (known answers:
Ishigami's Sobol indices, a linear function's Morris effects), and whole studies on `small`
(files, direction, determinism, resume, serial = Dask, bad input)."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from analysis.assumptions import Assumption
from analysis.cli import main
from analysis.sensitivity import analyse, design

ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)  # a = 7, b = 0.1 (Ishigami & Homma 1990; SALib's test values)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)


def _uniform(key: str, low: float, high: float) -> Assumption:
    return Assumption(key=key, label=key, low=low, high=high, source="test")


def test_ishigami_sobol_indices_through_our_design_and_ranges():
    ranges = [_uniform(f"x{i}", -math.pi, math.pi) for i in range(3)]
    d = design([a.key for a in ranges], "sobol", 2048, seed=1)
    x = np.array([[a.value(u) for a, u in zip(ranges, row, strict=True)] for row in d.unit])
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    table = analyse(d, y, seed=1)
    assert np.allclose(table["S1"], ISHIGAMI_S1, atol=0.04), table
    assert np.allclose(table["ST"], ISHIGAMI_ST, atol=0.04), table
    assert (table["ST_conf"] > 0).all() and (table["ST_conf"] < 0.1).all()


def test_morris_effects_of_a_linear_function_are_its_slopes_over_the_ranges():
    ranges = [_uniform("a", 0.0, 2.0), _uniform("b", 10.0, 11.0), _uniform("c", -1.0, 1.0)]
    d = design([a.key for a in ranges], "morris", 12, seed=3)
    assert d.unit.shape == (12 * 4, 3)
    x = np.array([[a.value(u) for a, u in zip(ranges, row, strict=True)] for row in d.unit])
    table = analyse(d, 3 * x[:, 0] - 2 * x[:, 1] + 0 * x[:, 2], seed=3)
    assert np.allclose(table["mu_star"], [6.0, 2.0, 0.0]) and np.allclose(table["mu"], [6.0, -2.0, 0.0])
    assert np.allclose(table["sigma"], 0.0, atol=1e-9)


ASSUMPTIONS = """\
assumptions:
  - key: demand.parcels_per_household_day
    label: parcels a day per household
    low: 0.12
    high: 0.3
    source: test range
  - key: couriers.cost_per_km
    label: van cost per km
    distribution: loguniform
    low: 1.0
    high: 4.0
    source: test range
  - key: couriers.cost_basis
    label: van cost basis
    distribution: choice
    choices: [road_hours, van_days]
    source: test range
"""


def _study(tmp_path, *extra, out="s", workers="2"):
    path = tmp_path / "a.yaml"
    path.write_text(ASSUMPTIONS)
    args = ["sensitivity", "small", "--days", "4", "--assumptions", str(path), "--samples", "3",
            "--out", str(tmp_path / out), "--workers", workers, "--quiet", "--set", "region.villages=60",
            "--set", "stations.rural.target=20", "--set", "upstream.enabled=false", *extra]  # fmt: skip
    assert main(args) == 0
    return json.loads((tmp_path / out / "sensitivity.json").read_text())


@pytest.fixture(scope="module")
def morris(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("morris")
    return tmp, _study(tmp)


@pytest.mark.slow
def test_a_morris_study_writes_every_file_and_moves_the_way_the_world_does(morris):
    tmp, report = morris
    folder = tmp / "s"
    for name in ("study.json", "sensitivity.csv", "tornado.png", "indices.png", "report.html"):
        assert (folder / name).stat().st_size > 0, name
    assert report["design_rows"] == 3 * 4 and report["tasks"] == 12 + 1 + 2 + 2 + 2
    cost = {p["parameter"]: p for p in report["outputs"]["courier_cost_per_parcel_yuan"]["parameters"]}
    # dearer km, dearer parcels; more parcels on the same vans, cheaper parcels
    assert cost["couriers.cost_per_km"]["tornado_high"] > cost["couriers.cost_per_km"]["tornado_low"]
    demand = cost["demand.parcels_per_household_day"]
    assert demand["tornado_high"] < demand["tornado_low"]
    assert cost["couriers.cost_per_km"]["mu_star"] > 0
    # coverage does not depend on any of them
    coverage = report["outputs"]["coverage_share"]["parameters"]
    assert all(p["mu_star"] == 0 and p["swing"] == 0 for p in coverage)
    html = (folder / "report.html").read_text()
    assert 'data-output="courier_cost_per_parcel_yuan"' in html and "couriers.cost_basis" in html


@pytest.mark.slow
def test_a_rerun_reuses_every_task_and_gives_the_same_indices(morris, tmp_path):
    tmp, first = morris
    again = _study(tmp)
    assert again["reused"] == again["tasks"] and again["run_now"] == 0
    assert again["outputs"] == first["outputs"]


@pytest.mark.slow
def test_a_killed_study_resumes_with_the_tasks_it_finished(morris, tmp_path):
    tmp, first = morris
    folder = tmp_path / "s"
    shutil.copytree(tmp / "s", folder)
    (folder / "sensitivity.json").unlink()
    deleted = {t.name for t in sorted((folder / "tasks").iterdir())[:5]}
    for name in deleted:
        shutil.rmtree(folder / "tasks" / name)
    keys = json.loads((folder / "study.json").read_text())["tasks"]  # a repeated design row: one key
    again = _study(tmp_path)
    assert again["run_now"] == sum(k in deleted for k in keys) >= 5
    assert again["outputs"] == first["outputs"]


@pytest.mark.slow
def test_serial_and_dask_give_the_same_indices(morris, tmp_path):
    _, first = morris
    serial = _study(tmp_path, out="serial", workers="1")
    dask = _study(tmp_path, "--executor", "dask", out="dask")
    assert serial["outputs"] == first["outputs"] == dask["outputs"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "sobol", "--samples", "6"], "--samples: Sobol's sequence needs a power of 2 (got 6)"),
        (["--samples", "1"], "--samples: must be >= 2 (got 1)"),
        (["--output", "happiness"], "--output: unknown figure 'happiness'"),
        (["--replications", "0"], "--replications: must be >= 1 (got 0)"),
    ],
)
def test_bad_requests_get_one_line_and_exit_2(args, message, tmp_path, capsys):
    assert main(["sensitivity", "small", "--out", str(tmp_path / "x"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "x").exists()


def test_an_assumption_that_breaks_the_scenario_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("assumptions:\n  - {key: couriers.cost_per_km, label: k, low: -2, high: 1, source: s}\n")
    assert main(["sensitivity", "small", "--assumptions", str(bad), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith(f"{bad}: assumptions.0") for line in err), err
    assert "couriers.cost_per_km" in err[0] and "-2" in err[0]
