"""`ruralsim calibrate`: recovers parameters a run was made with, gives the same trials for the
same command (whatever the workers or the executor), resumes from stored tasks, writes a
fitted.yaml that reproduces the best trial, and says bad targets and --fit in one line each."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import yaml

from analysis.calibrate import Target, figure, load_targets
from analysis.cli import BUNDLED, main
from analysis.tasks import Task, run_task
from geo.errors import InputError
from sim.scenario.load import load_scenario

SMALL = BUNDLED / "small.yaml"
#: A short run of the bundled small scenario (seed 1), with a quick route search.
SHORT = ["simulation.days=5", "simulation.warmup_days=2", "couriers.route_search_iterations=300"]
COMMON = ["--days", "5", "--set", SHORT[1], "--set", SHORT[2], "--quiet"]
TRUTH = {"demand.parcels_per_household_day": 0.25, "couriers.cost_per_km": 2.0}
FITS = ["--fit", "demand.parcels_per_household_day", "--fit", "couriers.cost_per_km"]

ASSUMPTIONS = """
assumptions:
  - key: demand.parcels_per_household_day
    label: parcels a day per household
    low: 0.1
    high: 0.4
    source: test range
  - key: couriers.cost_per_km
    label: van cost per km
    low: 0.5
    high: 3.0
    source: test range
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Targets taken from a run with the TRUTH values (same seed as the calibration: common
    random numbers), and an assumptions file with the search ranges."""
    folder = tmp_path_factory.mktemp("calibrate")
    loaded = load_scenario(SMALL, [*SHORT, *(f"{k}={v}" for k, v in TRUTH.items())])
    metrics = run_task(Task(loaded.resolved_yaml(), loaded.scenario.seed, 0, 0))["metrics"]
    ordered = figure(metrics, "simulation.total.parcels.ordered")
    cost = figure(metrics, "simulation.vans.courier_cost_yuan")
    assert ordered and cost
    targets = {
        "targets": [
            {"name": "ordered", "metric": "simulation.total.parcels.ordered", "value": ordered,
             "sigma": 0.05 * ordered, "source": "a run with demand 0.25"},
            {"name": "van_cost", "metric": "simulation.vans.courier_cost_yuan", "value": cost,
             "sigma": 0.05 * cost, "source": "a run with cost_per_km 2.0"},
            # weight 0: reported, never fitted; no van drives under 100 km in 5 days
            {"name": "van_km", "metric": "simulation.vans.km", "range": [0, 100], "weight": 0,
             "source": "out of reach"},
        ]
    }  # fmt: skip
    (folder / "targets.yaml").write_text(yaml.safe_dump(targets, sort_keys=False), encoding="utf-8")
    (folder / "assumptions.yaml").write_text(ASSUMPTIONS, encoding="utf-8")
    return {"targets": folder / "targets.yaml", "assumptions": folder / "assumptions.yaml"}


def calibrate(files, out: Path, *extra: str, trials: int = 8) -> None:
    args = ["calibrate", str(SMALL), "--targets", str(files["targets"]), *FITS]
    args += ["--assumptions", str(files["assumptions"]), "--trials", str(trials), "--out", str(out)]
    assert main([*args, *COMMON, *extra]) == 0


def report(folder: Path) -> dict:
    return json.loads((folder / "calibration.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ the fit itself


@pytest.mark.slow
def test_recovers_known_parameters_and_fitted_yaml_reproduces(files, tmp_path, capsys):
    out = tmp_path / "fit"
    calibrate(files, out, "--workers", "1", trials=40)
    printed = capsys.readouterr().out.splitlines()
    rep = report(out)
    fitted = rep["fitted"]
    # TPE with 40 trials in the 0.1-0.4 x 0.5-3 box: within a few percent of the truth
    assert fitted["demand.parcels_per_household_day"] == pytest.approx(0.25, rel=0.05), fitted
    assert fitted["couriers.cost_per_km"] == pytest.approx(2.0, rel=0.10), fitted
    assert len(rep["trials"]) == 40 and rep["trials_run"] == 40
    assert rep["objective"] == min(t["objective"] for t in rep["trials"])
    assert rep["tied_with_best"] == [rep["best_trial"]]
    assert [p["source"] for p in rep["parameters"]] == [str(files["assumptions"])] * 2
    by_name = {t["name"]: t for t in rep["targets"]}
    assert by_name["ordered"]["met"] and by_name["van_cost"]["met"]
    assert by_name["ordered"]["why"].startswith("met: at the fitted values the model gives")
    km = by_name["van_km"]
    assert not km["met"] and rep["not_met"] == ["van_km"] and km["residual"] > 0
    assert km["why"].startswith(f"not met: at the fitted values the model gives {km['model']:,.0f} vs 0-100")
    assert "no trial met it within the ranges (closest" in km["why"]
    # printed: the fitted values, the residual table, the targets not met, the folder last
    assert "fitted values:" in printed and "targets not met:" in printed and printed[-1] == str(out)
    assert any(line.startswith("  van_km: not met") for line in printed)
    csv = (out / "calibration.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv) == 41 and csv[0].startswith("trial,demand.parcels_per_household_day,couriers.cost_per_km")

    # fitted.yaml extends the input and reproduces the best trial's figures through `ruralsim run`
    assert rep["fitted_yaml_note"] is None
    text = (out / "fitted.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["extends"] == str(SMALL.resolve())
    assert main(["run", str(out / "fitted.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    for t in rep["targets"]:
        assert figure(metrics, t["metric"]) == pytest.approx(t["model"], rel=1e-6), t["name"]


# ------------------------------------------------------------------- determinism and resuming


def test_same_command_gives_the_same_trials_whatever_the_workers(files, tmp_path):
    for name, workers in (("a", "1"), ("b", "1"), ("c", "2")):
        calibrate(files, tmp_path / name, "--workers", workers)
    a, b, c = (report(tmp_path / n) for n in "abc")
    assert a["trials"] == b["trials"] == c["trials"] and len(a["trials"]) == 8
    assert a["fitted"] == b["fitted"] == c["fitted"] and a["targets"] == c["targets"]
    assert (tmp_path / "a" / "fitted.yaml").read_bytes() == (tmp_path / "c" / "fitted.yaml").read_bytes()


def test_resume_reuses_stored_tasks_and_more_trials_extend(files, tmp_path, capsys):
    out = tmp_path / "r"
    calibrate(files, out, "--workers", "1")
    first = report(out)
    assert (first["tasks"], first["run_now"], first["reused"]) == (8, 8, 0)
    # as if killed: three tasks and the report lost
    for task in sorted((out / "tasks").iterdir())[:3]:
        shutil.rmtree(task)
    (out / "calibration.json").unlink()
    capsys.readouterr()
    calibrate(files, out, "--workers", "1")
    again = report(out)
    assert (again["run_now"], again["reused"]) == (3, 5)
    assert "(5 of 8 tasks were already done and were reused)" in capsys.readouterr().out
    assert again["trials"] == first["trials"]
    # more trials: the first 8 are these, reused
    calibrate(files, out, "--workers", "1", trials=12)
    more = report(out)
    assert (more["run_now"], more["reused"]) == (4, 8) and more["trials"][:8] == first["trials"]
    # another calibration cannot use this folder
    args = ["calibrate", str(SMALL), "--targets", str(files["targets"]), "--out", str(out)]
    assert main([*args, "--fit", "couriers.cost_per_km=1:2", *COMMON]) == 1
    assert "holds another calibration" in capsys.readouterr().err


@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_trials(files, tmp_path):
    pytest.importorskip("dask.distributed")
    calibrate(files, tmp_path / "serial", "--workers", "1")
    calibrate(files, tmp_path / "dask", "--executor", "dask", "--workers", "2")
    serial, dask = report(tmp_path / "serial"), report(tmp_path / "dask")
    assert serial["trials"] == dask["trials"] and serial["fitted"] == dask["fitted"]


# -------------------------------------------------------------------------------- bad input


GOOD = "- {name: a, metric: simulation.vans.km, value: 1, source: s}"


@pytest.mark.parametrize(
    ("targets", "fit", "message"),
    [
        ("- {name: a, metric: simulation.vans.km, value: x, source: s}", None,
         "targets.yaml: targets.0.value: must be a number (got 'x')"),
        ("- {name: a, metric: simulation.vans.km, range: [50, 10], source: s}", None,
         "targets.yaml: targets.0.range: must be [low, high] with low below high (got [50, 10])"),
        ("- {name: a, metric: simulation.vans.km, value: 1, range: [1, 2], source: s}", None,
         "targets.yaml: targets.0: give either value or range (not both)"),
        ("- {name: a, metric: simulation.vans.km, value: 1, sigma: 0, source: s}", None,
         "targets.yaml: targets.0.sigma: must be > 0 (got 0)"),
        ("- {name: a, metric: simulation.vans.km, value: 1}", None,
         "targets.yaml: targets.0.source: required field is missing"),
        ("- {name: a, metric: simulation.vans.km, value: 1, source: s, wieght: 2}", None,
         "targets.yaml: targets.0.wieght: unknown field"),
        ("targets: [", None, "targets.yaml:2: YAML syntax error"),
        (GOOD, "couriers.cost_per_km=3:1",
         "--fit couriers.cost_per_km=3:1: LOW must be below HIGH (got 3 and 1)"),
        (GOOD, "couriers.cost_per_km=a:1",
         "--fit couriers.cost_per_km=a:1: LOW and HIGH must be numbers (got 'a')"),
        (GOOD, "couriers.cost_per_kn=1:2",
         "--fit couriers.cost_per_kn=1:2: couriers.cost_per_kn: not a field of the scenario (did you mean "
         "'couriers.cost_per_km'?)"),
        (GOOD, "couriers.cost_per_hour",
         "--fit couriers.cost_per_hour: not in ASSUMPTIONS; give a range: "
         "--fit couriers.cost_per_hour=LOW:HIGH"),
        (GOOD, "couriers.cost_per_km=-1:2", "--fit: couriers.cost_per_km: must be >= 0 (got -1.0)"),
        (GOOD, "stations.rural.target=1:200",
         "--fit: stations.rural.target: must be <= 150, the number of villages in region 'small' (got 200)"),
        # metric paths are checked against the first trial's metrics.json
        ("- {name: a, metric: simulation.vans.kms, value: 1, source: s}", None,
         "targets.yaml: targets.0.metric: not a figure of the model's metrics.json (did you mean "
         "'simulation.vans.km'?) (got 'simulation.vans.kms')"),
        ("- {name: a, metric: simulation.vans, value: 1, source: s}", None,
         "targets.yaml: targets.0.metric: a section of metrics.json, not a figure (did you mean "
         "'simulation.vans.km'?) (got 'simulation.vans')"),
    ],
)  # fmt: skip
def test_bad_targets_or_fit_is_one_line_exit_2(files, tmp_path, capsys, targets, fit, message):
    path = tmp_path / "targets.yaml"
    path.write_text(targets + "\n", encoding="utf-8")
    args = ["calibrate", str(SMALL), "--targets", str(path), "--fit", fit or "couriers.cost_per_km=1:2"]
    args += ["--assumptions", str(files["assumptions"]), "--trials", "1", "--batch", "1", "--workers", "1"]
    code = main([*args, "--out", str(tmp_path / "o"), *COMMON])
    err = capsys.readouterr().err.strip().splitlines()
    message = message.replace("targets.yaml", str(path)).replace("ASSUMPTIONS", str(files["assumptions"]))
    assert code == 2 and len(err) == 1 and err[0].startswith(message), err


def test_residuals_and_met():
    value = Target(name="v", metric="a.b", value=200, source="s")  # sigma: 10% of the value
    assert value.scale == 20 and value.residual(230) == 1.5 and not value.met(230) and value.met(185)
    band = Target.model_validate({"name": "r", "metric": "a.b", "range": [10, 50], "source": "s"})
    assert band.residual(30) == 0 and band.met(10) and band.met(50)
    assert band.residual(63) == pytest.approx(13 / 20) and band.residual(4) == pytest.approx(-6 / 20)
    assert not band.met(63) and math.isnan(band.residual(None)) and not band.met(None)
    weighted = Target(name="w", metric="a.b", value=5, sigma=0.5, weight=2, source="s")
    assert weighted.residual(6) == 2.0
    metrics = {"years": {"2018": {"x": 1}, "2019": {"x": 2}}, "s": {"n": None},
               "simulation": {"vans": {"courier_cost_per_parcel_yuan": 1.1}}}  # fmt: skip
    assert figure(metrics, "years.LAST.x") == 2 and figure(metrics, "s.n") is None
    assert figure(metrics, "courier_cost_per_parcel_yuan") == 1.1  # a compare KPI by name


def test_bundled_lishui_targets_are_valid():
    targets, _ = load_targets(BUNDLED / "targets" / "lishui-2022.yaml")
    assert {t.name for t in targets.targets} >= {"station_parcels_per_day", "courier_cost_per_parcel"}
    assert all(t.source for t in targets.targets)
    with pytest.raises(InputError):
        load_targets(BUNDLED / "targets" / "missing.yaml")
