"""`compare --uncertain`: the assumptions drawn (the same draws for every alternative), how often
each alternative is best and its regret (a hand-worked case), where the leader loses (PRIM),
determinism, serial = Dask, bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from analysis import study
from analysis.cli import main
from analysis.tasks import Task
from analysis.vary import Vary, alternatives

ASSUMPTIONS = """\
assumptions:
  - {key: demand.parcels_per_household_day, label: parcels, low: 0.1, high: 0.35, source: test}
  - {key: couriers.cost_per_km, label: km cost, low: 0.8, high: 3.0, source: test}
  - key: couriers.cost_basis
    label: basis
    distribution: choice
    choices: [road_hours, van_days]
    source: test
"""


def _compare(tmp_path: Path, *extra: str, out: str = "u", workers: str = "2") -> dict:
    path = tmp_path / "a.yaml"
    path.write_text(ASSUMPTIONS)
    args = ["compare", "small", "--days", "3", "--vary", "stations.rural.placement=population,random",
            "--uncertain", "6", "--assumptions", str(path), "--set", "upstream.enabled=false",
            "--set", "region.villages=60", "--set", "stations.rural.target=20",
            "--out", str(tmp_path / out), "--workers", workers, "--quiet", *extra]  # fmt: skip
    assert main(args) == 0
    return json.loads((tmp_path / out / "compare.json").read_text())


@pytest.fixture(scope="module")
def uncertain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("robust")
    return tmp, _compare(tmp)


@pytest.mark.slow
def test_every_alternative_sees_the_same_draws_each_on_its_own_seed(uncertain):
    tmp, report = uncertain
    tasks = [json.loads(p.read_text()) for p in (tmp / "u" / "tasks").glob("*/task.json")]
    assert len(tasks) == 2 * 6 and report["seeds"] == list(range(1, 7))
    by_draw: dict[int, set] = {}
    for folder in (tmp / "u" / "tasks").iterdir():
        record = json.loads((folder / "task.json").read_text())
        s = yaml.safe_load((folder / "scenario.resolved.yaml").read_text())
        drawn = (
            s["demand"]["parcels_per_household_day"],
            s["couriers"]["cost_per_km"],
            s["couriers"]["cost_basis"],
        )
        assert record["seed"] == 1 + record["replication"]
        by_draw.setdefault(record["replication"], set()).add(drawn)
    assert all(len(v) == 1 for v in by_draw.values()) and len({v.pop() for v in by_draw.values()}) == 6
    u = report["uncertain"]
    assert u["draws"] == 6 and u["assumptions"] == [
        "demand.parcels_per_household_day", "couriers.cost_per_km", "couriers.cost_basis"
    ]  # fmt: skip
    coverage = {a["alternative"]: a for a in u["kpis"]["coverage_share"]["alternatives"]}
    assert (
        coverage["placement=population"]["first_share"] == 1
        and coverage["placement=random"]["regret_max"] > 0
    )


@pytest.mark.slow
def test_the_same_command_gives_the_same_table_and_reuses_every_task(uncertain):
    tmp, first = uncertain
    again = _compare(tmp)
    assert again["reused"] == again["tasks"] and again["uncertain"] == first["uncertain"]
    assert again["kpis"] == first["kpis"]


@pytest.mark.slow
def test_serial_and_dask_give_the_same_robust_table(uncertain, tmp_path):
    _, first = uncertain
    serial = _compare(tmp_path, out="serial", workers="1")
    dask = _compare(tmp_path, "--executor", "dask", out="dask")
    assert serial["uncertain"]["kpis"] == first["uncertain"]["kpis"] == dask["uncertain"]["kpis"]
    assert serial["kpis"] == first["kpis"] == dask["kpis"]


def test_shares_regrets_and_where_the_leader_loses_hand_worked():
    """Van km (lower is better) in four draws: A 1, 1, 3, 3 and B 2, 2, 2, 2. Each is best in two
    draws; regrets A 0, 0, 1, 1 and B 1, 1, 0, 0: a tie, so A (listed first) leads; it loses in
    the draws where the drawn cost is high, which PRIM's box says."""
    alts = tuple(alternatives([Vary("x", ("A", "B"))]))
    draws = tuple(
        (("cost", c), ("basis", b)) for c, b in ((1.0, "road"), (1.5, "road"), (3.0, "days"), (3.5, "days"))
    )
    tasks = tuple(Task("", 1 + r, a, r) for a in range(2) for r in range(4))
    s = study.Study("compare", None, (), alts, 4, tasks, Path("."), draws=draws)  # type: ignore[arg-type]
    km = {0: [1, 1, 3, 3], 1: [2, 2, 2, 2]}
    results = [{"metrics": {"simulation": {"vans": {"km": km[t.alternative][t.replication]}}}} for t in tasks]
    block = study.robust(s, results, ["van_km"])["kpis"]["van_km"]
    rows = {a["alternative"]: a for a in block["alternatives"]}
    assert rows["x=A"] == {"alternative": "x=A", "first_share": 0.5, "regret_mean": 0.5, "regret_max": 1.0}
    assert rows["x=B"]["first_share"] == 0.5 and rows["x=B"]["regret_mean"] == 0.5
    assert block["leader"] == "x=A" and block["leader_loses_in_draws"] == 2
    where = block["leader_loses_when"]
    assert where["density"] == 1 and where["coverage"] == 1
    assert where["limits"].get("cost", [3.0])[0] >= 3.0 or where["limits"].get("basis") == ["days"]
    ties = replace(s, draws=tuple(d[:1] for d in draws))
    even = [{"metrics": {"simulation": {"vans": {"km": 5}}}} for _ in tasks]
    block = study.robust(ties, even, ["van_km"])["kpis"]["van_km"]
    assert [a["first_share"] for a in block["alternatives"]] == [0.5, 0.5] and block[
        "leader_loses_when"
    ] is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--uncertain", "1"], "--uncertain: must be >= 2 draws (got 1)"),
        (["--uncertain", "4", "--replications", "2"], "--uncertain N runs N draws, each on its own seed"),
    ],
)
def test_bad_uncertain_requests_get_one_line(args, message, tmp_path, capsys):
    argv = ["compare", "small", "--vary", "stations.rural.target=10,20", "--out", str(tmp_path / "x"), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
