import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from matplotlib.image import imread

import analysis.run
from analysis.cli import main

ROOT = Path(__file__).resolve().parent.parent
RUN_FILES = {
    "scenario.resolved.yaml",
    "metrics.json",
    "run.json",
    "ledger.csv",
    "stations.csv",
    "report.html",
    "villages.csv",
    "map.png",
    "map_lead_time.png",
    "map_access_time.png",
    "map_counties.png",
    "map_routes.png",
    "lead_times.png",
    "lead_times.csv",
    "routes.csv",
    "region.gpkg",
}
FAST = ["--days", "7", "--quiet"]  # a week of simulation keeps the suite quick


def ruralsim(*args: str) -> subprocess.CompletedProcess:
    """The installed console script, as a user would type it."""
    exe = Path(sys.executable).with_name("ruralsim")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "small"
    assert main(["run", "small", "--out", str(out), *FAST]) == 0
    return out


def test_run_writes_the_run_files(small_run):
    assert {p.name for p in small_run.iterdir()} == RUN_FILES
    metrics = json.loads((small_run / "metrics.json").read_text())
    assert metrics["region"]["villages"] == 150 and metrics["region"]["counties"] == 1
    assert metrics["stations"] == {"rural": 60, "community": 6}
    year = metrics["years"]["2018"]
    assert year["total"]["villages_with_station"] == 60
    assert set(year["by_county"]) == {"Smallcounty"}
    assert 0 < year["total"]["population_covered_share"] <= 1


def test_villages_csv_matches_the_metrics(small_run):
    import pandas as pd

    v = pd.read_csv(small_run / "villages.csv")
    assert len(v) == 150 and v["village_id"].is_unique
    assert v["station_year"].notna().sum() == 60
    assert (v.loc[v["station_year"].notna(), "distance_to_station_km"] == 0).all()
    metrics = json.loads((small_run / "metrics.json").read_text())
    covered = v.loc[v["distance_to_station_km"] <= 3.0, "population"].sum()
    assert covered == metrics["years"]["2018"]["total"]["population_covered"]


def test_map_is_an_a4_picture_with_content(small_run):
    image = imread(small_run / "map.png")
    height, width = image.shape[:2]
    assert (width, height) == (round(11.69 * 200), round(8.27 * 200))  # A4 landscape at 200 dpi
    assert image[..., :3].std() > 0.05  # not a blank page


@pytest.mark.slow
def test_same_seed_gives_identical_metrics_and_seed_matters_for_random_placement(tmp_path, small_run):
    again = tmp_path / "again"
    assert main(["run", "small", "--out", str(again), *FAST]) == 0
    assert (again / "metrics.json").read_bytes() == (small_run / "metrics.json").read_bytes()
    a, b = tmp_path / "a", tmp_path / "b"
    random = ["--set", "stations.rural.placement=random", *FAST]
    assert main(["run", "small", "--out", str(a), "--seed", "1", *random]) == 0
    assert main(["run", "small", "--out", str(b), "--seed", "2", *random]) == 0
    assert (a / "villages.csv").read_text() != (b / "villages.csv").read_text()


def test_default_run_folder_is_named_by_time_and_hash(tmp_path, capsys):
    assert main(["run", "small", "--runs-dir", str(tmp_path), *FAST]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed.parent == tmp_path / "small"
    assert printed.name[:8].isdigit() and printed.name[8] == "T" and len(printed.name) == 25
    assert {p.name for p in printed.iterdir()} == RUN_FILES
    assert [p.name for p in (tmp_path / "small").iterdir()] == [printed.name]  # no leftovers


def test_a_crash_leaves_no_run_folder(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(analysis.run, "planning_map", broken)
    out = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="disk full"):
        main(["run", "small", "--out", str(out), *FAST])
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # the temporary folder is gone too


def test_out_folder_with_files_is_refused(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("precious")
    assert main(["run", "small", "--out", str(tmp_path), *FAST]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "small", "--out", "{tmp}/afile"],
            "{tmp}/afile: is a file, not a folder; choose another --out",
        ),
        (
            ["run", "small", "--runs-dir", "{tmp}/afile/runs"],
            "{tmp}/afile/runs/small: cannot write output there (Not a directory)",
        ),
        (
            ["sweep", "small", "--vary", "seed=1,2", "--out", "{tmp}/afile"],
            "{tmp}/afile: is a file, not a folder",
        ),
        (["run", "{tmp}/adir"], "{tmp}/adir: is a folder, not a scenario file"),
        (["report", "{tmp}/afile"], "{tmp}/afile: no such folder"),
    ],
)
def test_bad_output_places_are_one_line_before_any_work(tmp_path, capsys, args, message):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    args = [a.format(tmp=tmp_path) for a in args]
    assert main([*args, "--quiet"] if args[0] != "report" else args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message.format(tmp=tmp_path)), err


def test_build_plan_run_reports_every_year(tmp_path):
    out = tmp_path / "plan"
    args = [
        "run",
        "small",
        "--out",
        str(out),
        *FAST,
        "--set",
        "horizon={start: 2016-01-01, years: 3}",
        "--set",
        "stations.rural.target=null",
        "--set",
        "stations.rural.build_plan={2016: 20, 2018: 50}",
    ]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics["years"]) == ["2016", "2018"]
    assert [metrics["years"][y]["stations"]["rural"] for y in ("2016", "2018")] == [20, 50]
    assert {"map.png", "map_2016.png"} <= {p.name for p in out.iterdir()}


def test_validate_three_mistakes_three_lines_exit_2_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad plan\nregion: small\nstations: {rural: {target: -5, placment: random}}\n")
    result = ruralsim("validate", str(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}: name: must start with a letter or digit and hold only letters, digits, '.', '_', '-' "
        "(64 at most) (got 'bad plan')",
        f"{bad}: stations.rural.target: must be >= 0 (got -5)",
        f"{bad}: stations.rural.placment: unknown field (did you mean 'placement'?)",
    ]
    assert "Traceback" not in result.stderr


def test_validate_reports_each_file(tmp_path, capsys):
    assert main(["validate", "small", str(ROOT / "scenarios" / "lishui-2018.yaml")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "small: ok",
        f"{ROOT / 'scenarios' / 'lishui-2018.yaml'}: ok",
    ]
    assert main(["validate", "small", str(tmp_path / "missing.yaml")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "small: ok\n" and captured.err == f"{tmp_path / 'missing.yaml'}: file not found\n"


def test_run_with_bad_override_exits_2(capsys, tmp_path):
    assert main(["run", "small", "--out", str(tmp_path / "x"), "--set", "stations.rural.target=-5"]) == 2
    assert capsys.readouterr().err == "--set: stations.rural.target: must be >= 0 (got -5)\n"
    assert not (tmp_path / "x").exists()


def test_scenarios_lists_bundled_files_with_descriptions(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
    assert any(line.startswith("lishui-2018") and "2,500 rural" in line for line in lines)


def test_version_and_help():
    result = ruralsim("--version")
    assert result.returncode == 0 and result.stdout.startswith("ruralsim 0.")
    for command in ([], ["run"], ["validate"], ["scenarios"]):
        result = ruralsim(*command, "--help")
        assert result.returncode == 0 and "usage: ruralsim" in result.stdout
    assert "--set KEY=VALUE" in ruralsim("run", "--help").stdout


def test_place_prints_coverage_and_runtime_and_writes_a_plan(tmp_path, capsys):
    out = tmp_path / "plan.gpkg"
    assert main(["place", "small", "--strategy", "mclp", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "mclp: 60 stations among 150 villages"
    assert lines[1].startswith("covered population within 3 km: ")
    assert "runtime" in lines[3] and lines[-1] == f"plan written to {out}"
    stations = gpd.read_file(out, layer="stations", engine="pyogrio")
    assert len(stations) == 60
    assert (
        main(["place", "small", "--strategy", "lscp", "--radius-km", "3", "--exact", "--out", str(out)]) == 0
    )
    first = capsys.readouterr().out.splitlines()[0]
    count = int(first.removeprefix("full coverage within 3 km takes ").split()[0])
    assert first == f"full coverage within 3 km takes {count} stations (lower bound {count})"  # exact: proven


def test_place_with_an_impossible_request(tmp_path, capsys):
    assert main(["place", "small", "--strategy", "shops", "--out", str(tmp_path / "p.gpkg")]) == 1
    assert capsys.readouterr().err == (
        "ruralsim: error: shops: strategy shops needs candidate shops (a region `candidates` layer)\n"
    )
