"""`ruralsim compare` and `ruralsim sweep`: --vary parsing, paired statistics against hand-worked
intervals, common random numbers, a known ordering, resuming after kill -9, and the same results
in this process, a local process pool and a real Dask LocalCluster."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import study
from analysis.cli import main
from analysis.paired import paired, t_interval, welch
from analysis.tasks import done
from analysis.vary import alternatives, parse_vary
from geo.errors import InputError

SCENARIO = """
extends: {policy}
name: st
seed: 5
region: {{preset: small, villages: 40, roads: synthetic}}
stations: {{rural: {{target: 15}}, community: {{count: 2}}}}
simulation: {{warmup_days: 2, days: {days}}}
"""


@pytest.fixture
def scenario(write):
    from analysis.cli import BUNDLED

    def make(days=10):
        return write("st.yaml", SCENARIO.format(policy=BUNDLED / "policies" / "lishui.yaml", days=days))

    return make


# ------------------------------------------------------------------------------------ --vary


def test_vary_lists_and_ranges():
    assert parse_vary("stations.rural.target=0:150:25").values == (0, 25, 50, 75, 100, 125, 150)
    assert parse_vary("stations.rural.target=0:2725:250").values[-3:] == (2250, 2500, 2725)  # STOP included
    assert parse_vary("demand.growth_per_year=1.0:1.5:0.25").values == (1.0, 1.25, 1.5)
    assert parse_vary("demand.growth_per_year=1.0:1.3:0.1").values == (1.0, 1.1, 1.2, 1.3)  # no 1.2000000002
    v = parse_vary("stations.rural.placement=population, mclp,random")
    assert (v.key, v.name, v.values) == (
        "stations.rural.placement",
        "placement",
        ("population", "mclp", "random"),
    )
    assert parse_vary("couriers.vans_per_county=5").values == (5,)
    alts = alternatives([parse_vary("a.x=1,2"), parse_vary("b.y=p,q,r")])
    assert [a.label for a in alts[:4]] == ["x=1, y=p", "x=1, y=q", "x=1, y=r", "x=2, y=p"] and len(alts) == 6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stations.rural.target", "expected KEY=VALUES"),
        ("stations.rural.target=", "no values after '='"),
        ("stations.rural.target=1,,2", "empty value in the list"),
        ("stations.rural.target=1,1", "a value is listed twice"),
        ("stations.rural.target=a:b:c", "START:STOP:STEP must be numbers (got 'a')"),
        ("stations.rural.target=0:10:0", "STEP must be > 0 (got 0)"),
        ("stations.rural.target=10:0:5", "STOP must be >= START (got 0 < 10)"),
        ("stations.rural.target=0:1e9:1", "more than 10,000"),
    ],
)
def test_bad_vary_is_one_line(text, message):
    with pytest.raises(InputError) as err:
        parse_vary(text)
    assert len(err.value.problems) == 1 and message in err.value.problems[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--vary", "stations.rural.targte=1,2"],
            "--vary: stations.rural.targte: unknown field (did you mean 'target'?)",
        ),
        (["--vary", "stations.rural.target=-5,5"], "--vary: stations.rural.target: must be >= 0 (got -5)"),
        (
            ["--vary", "stations.rural.target=5,99"],
            "must be <= 40, the number of villages in region 'small' (got 99) [target=99]",
        ),
        (["--vary", "stations.rural.placement=population,best"], "stations.rural.placement: must be one of"),
        ([], "compare: give at least one --vary"),
        (["--vary", "seed=1,2", "--baseline", "7"], "--baseline 7: not one of the alternatives"),
    ],
)
def test_bad_study_input_exits_2_with_one_line_each(scenario, tmp_path, capsys, args, message):
    code = main(
        ["compare", str(scenario()), "--quiet", "--workers", "1", "--out", str(tmp_path / "o"), *args]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0] and "Traceback" not in err[0], err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------- statistics


def test_paired_and_welch_intervals_hand_worked():
    x, y = np.array([1.0, 2, 3, 4]), np.array([0.5, 2.5, 2, 3])
    # Differences 0.5, -0.5, 1, 1: mean 0.5, sd sqrt(1.5 / 3) = 0.70711, se 0.35355;
    # t(0.975, 3) = 3.18245: half-width 1.12516.
    d = paired(x, y)
    assert d.mean == pytest.approx(0.5) and d.half_width == pytest.approx(1.12516, abs=1e-5)
    assert (d.low, d.high) == pytest.approx((-0.62516, 1.62516), abs=1e-5)
    # x: mean 2.5, var 5/3; y: mean 2, var 3.5/3. se^2 = (5/3 + 3.5/3) / 4 = 0.70833 (se 0.84163);
    # Welch df = 0.70833^2 / ((5/12)^2 / 3 + (3.5/12)^2 / 3) = 5.8188; t(0.975, 5.8188) = 2.4655
    # (tables: 2.447 at 6 df, 2.571 at 5): half-width 2.0750.
    w = welch(x, y)
    assert w.mean == pytest.approx(0.5) and w.half_width == pytest.approx(2.0750, abs=1e-4)
    one = t_interval(np.array([3.0, 3.0, 3.0]))
    assert (one.low, one.high) == (3.0, 3.0) and one.contains(3.0)  # no spread: exact
    single = t_interval(np.array([2.0]))
    assert single.low is None and single.contains(2.0) and not single.contains(2.1)
    assert math.isnan(t_interval(np.array([np.nan])).mean)


@pytest.fixture(scope="module")
def placements(tmp_path_factory):
    """population vs random vs 20 more stations, 4 seeds, in this process."""
    from analysis.cli import BUNDLED

    folder = tmp_path_factory.mktemp("cmp")
    path = folder / "st.yaml"
    path.write_text(SCENARIO.format(policy=BUNDLED / "policies" / "lishui.yaml", days=14))
    planned = study.plan(
        "compare", path, vary=["stations.rural.placement=population,random"], overrides=[],
        replications=4, runs_root=folder, out=folder / "study",
    )  # fmt: skip
    report = study.run(planned, executor="local", workers=1, scheduler=None, progress=False)
    results = [done(planned.folder, t) for t in planned.tasks]
    return planned, report, results


def test_population_beats_random_on_coverage(placements):
    planned, report, _ = placements
    block = report["kpis"]["coverage_share"]
    assert block["best"]["alternative"] == "placement=population"
    assert block["indistinguishable_from_best"] == ["placement=population"]
    row = next(r for r in block["ranking"] if r["alternative"] == "placement=random")
    assert row["diff_ci_high"] < 0 and row["rank"] == 2
    table = pd.read_csv(planned.folder / "compare.csv")
    assert set(table["kpi"]) == set(study.COMPARE_KPIS) and len(table) == 2 * len(study.COMPARE_KPIS)
    for name in ("compare.json", "compare.png", "maps.png", "study.json"):
        assert (planned.folder / name).stat().st_size > 0


def test_common_random_numbers_make_paired_intervals_narrower(placements):
    planned, _, results = placements
    table = study.compare_table(planned, results, baseline=0, confidence=0.95)
    # KPIs the shared orders and pickup draws drive smoothly. Van cost is not one of them here: with
    # routes planned at the van's capacity it moves in whole vans, a step of the loads, so the two
    # networks' costs need not rise and fall together seed by seed.
    for kpi in ("order_to_hand_mean_h", "villager_km_per_parcel"):
        row = table[(table["kpi"] == kpi) & (table["alternative"] == "placement=random")].iloc[0]
        paired_half = (row["diff_ci_high"] - row["diff_ci_low"]) / 2
        unpaired_half = (row["unpaired_diff_ci_high"] - row["unpaired_diff_ci_low"]) / 2
        assert 0 < paired_half < unpaired_half, kpi
    # The paired interval is the t interval of the seed-by-seed differences.
    values = planned.values(results, "order_to_hand_mean_h")
    row = table[(table["kpi"] == "order_to_hand_mean_h") & (table["alternative"] == "placement=random")].iloc[
        0
    ]
    assert row["diff_ci_low"] == pytest.approx(paired(values[1], values[0]).low)


def test_knee_of_a_hand_made_curve():
    cost = np.array([0.0, 1, 2, 3, 4])
    covered = np.array([0.0, 0.6, 0.8, 0.9, 1.0])  # the chord from (0, 0) to (1, 1); farthest at cost 1
    assert study.knee_index(cost, covered) == 1
    assert study.knee_index(cost, cost) is None  # a straight line has no knee
    assert study.knee_index(cost[:2], covered[:2]) is None


# ----------------------------------------------------------------------- executors, resuming


SWEEP = ["--vary", "stations.rural.target=5:25:10", "--replications", "3", "--quiet"]


@pytest.mark.slow
def test_serial_process_pool_dask_and_a_running_cluster_give_identical_results(scenario, tmp_path, capsys):
    path = str(scenario())
    outputs = {}
    for name, extra in (("serial", ["--workers", "1"]), ("pool", ["--workers", "2"]),
                        ("dask", ["--executor", "dask", "--workers", "2"])):  # fmt: skip
        assert main(["sweep", path, *SWEEP, *extra, "--out", str(tmp_path / name)]) == 0
        outputs[name] = (tmp_path / name / "sweep.csv").read_bytes()
    # And through --scheduler, on a cluster started apart (as a user joins a running one).
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
    ) as cluster:
        assert (
            main(
                [
                    "sweep",
                    path,
                    *SWEEP,
                    "--scheduler",
                    cluster.scheduler_address,
                    "--out",
                    str(tmp_path / "s"),
                ]
            )
            == 0
        )
    outputs["scheduler"] = (tmp_path / "s" / "sweep.csv").read_bytes()
    assert outputs["serial"] == outputs["pool"] == outputs["dask"] == outputs["scheduler"]
    sweep = pd.read_csv(tmp_path / "dask" / "sweep.csv")
    assert sweep["stations.rural.target"].tolist() == [5, 15, 25]
    assert sweep["subsidy_total_yuan"].tolist() == [2000 * 5, 2000 * 15, 2000 * 25]
    assert (sweep["coverage_share"].diff().dropna() > 0).all()
    for name in ("frontier.png", "frontier.svg", "sweep.json"):
        assert (tmp_path / "dask" / name).stat().st_size > 0
    # Each worker built each alternative's network at most once (3 replications of 3 values on 2
    # workers: at most 6 builds for 9 tasks).
    records = [json.loads(p.read_text()) for p in (tmp_path / "dask" / "tasks").glob("*/task.json")]
    assert len(records) == 9
    builds: dict[tuple[int, int], int] = {}
    for r in records:
        key = (r["result"]["pid"], r["alternative"])
        builds[key] = builds.get(key, 0) + r["result"]["built_network"]
    assert max(builds.values()) == 1 and sum(builds.values()) < len(records)
    capsys.readouterr()


@pytest.mark.slow
def test_a_killed_sweep_resumes_without_losing_or_repeating_a_task(scenario, tmp_path):
    path = str(scenario(days=20))
    args = ["sweep", path, "--vary", "stations.rural.target=4:24:4", "--replications", "2", "--quiet",
            "--workers", "1"]  # fmt: skip
    killed = tmp_path / "killed"
    exe = Path(sys.executable).with_name("ruralsim")
    proc = subprocess.Popen([str(exe), *args, "--out", str(killed)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    tasks = killed / "tasks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if tasks.exists() and len([p for p in tasks.iterdir() if not p.name.startswith(".")]) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.name for p in tasks.iterdir() if not p.name.startswith(".")}
    assert 3 <= len(finished) < 12, "the sweep should have been killed mid-way"
    assert not (killed / "sweep.csv").exists() and not (killed / "sweep.json").exists()
    assert all((tasks / name / "task.json").exists() for name in finished)  # none half-written

    assert main([*args, "--out", str(killed)]) == 0
    report = json.loads((killed / "sweep.json").read_text())
    assert (
        report["tasks"] == 12
        and report["reused"] == len(finished)
        and report["run_now"] == 12 - len(finished)
    )
    assert len([p for p in tasks.iterdir() if not p.name.startswith(".")]) == 12
    assert main([*args, "--out", str(tmp_path / "clean")]) == 0
    assert (killed / "sweep.csv").read_bytes() == (tmp_path / "clean" / "sweep.csv").read_bytes()


def test_a_folder_holding_another_study_is_refused(scenario, tmp_path, capsys):
    path = str(scenario(days=3))
    out = str(tmp_path / "s")
    assert (
        main(
            ["sweep", path, "--vary", "stations.rural.target=5,10", "--quiet", "--workers", "1", "--out", out]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            ["sweep", path, "--vary", "stations.rural.target=5,11", "--quiet", "--workers", "1", "--out", out]
        )
        == 1
    )
    assert "holds another study" in capsys.readouterr().err


def test_sweep_any_field(scenario, tmp_path, capsys):
    out = tmp_path / "g"
    args = ["sweep", str(scenario(days=6)), "--vary", "demand.growth_per_year=1.0:2.0:1.0", "--quiet",
            "--workers", "1", "--set", "horizon.start=2020-01-01", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "sweep of demand.growth_per_year over 2 values" in printed and str(out) in printed
    sweep = pd.read_csv(out / "sweep.csv")
    assert sweep["demand.growth_per_year"].tolist() == [1.0, 2.0]
    assert sweep["coverage_share"].nunique() == 1  # demand moves no station
    tasks = [json.loads(p.read_text()) for p in (out / "tasks").glob("*/task.json")]
    ordered = {
        t["alternative"]: t["result"]["metrics"]["simulation"]["total"]["parcels"]["ordered"] for t in tasks
    }
    assert 3.5 < ordered[1] / ordered[0] < 4.5  # two years after the base year 2018: 2 ** 2 = 4
