"""Runs with nothing to draw (no station, no parcel, no produce, a county without villages) still
write a complete run folder and report; a --set value gets the same one-line message as the file."""

import json
from pathlib import Path

import pytest

from analysis.cli import main
from tests.test_cli import RUN_FILES

SHORT = ["--days", "2", "--quiet"]
NO_STATION = ["--set", "stations.rural.target=0", "--set", "stations.community.count=0"]
NO_PARCEL = [
    *NO_STATION,
    "--set", "demand.parcels_per_household_day=0",
    "--set", "pickup.community_parcels_per_day=0",
    "--set", "upstream.enabled=false",
    "--set", "simulation.warmup_days=0",
]  # fmt: skip
NO_PRODUCE = [
    "--set",
    "upstream.products={tea: {seasons: [['03-20', '05-10']], growers_share: 0.2, parcels_per_grower_day: 4}}",
]


def run_folder(tmp_path: Path, *args: str) -> tuple[Path, dict]:
    out = tmp_path / "run"
    assert main(["run", *args, "--out", str(out), *SHORT]) == 0
    assert {p.name for p in out.iterdir()} == RUN_FILES
    assert "</html>" in (out / "report.html").read_text(encoding="utf-8")
    return out, json.loads((out / "metrics.json").read_text())


def test_no_station_baseline_writes_the_whole_run(tmp_path):
    _, m = run_folder(tmp_path, "small", *NO_STATION)
    assert m["stations"] == {"rural": 0, "community": 0}
    assert m["years"]["2018"]["total"]["mean_minutes"] is None
    assert m["simulation"]["parcels_at_end"]["reconciled"]
    assert m["simulation"]["by_point_type"]["village_station"]["parcels"]["ordered"] == 0


def test_no_parcel_at_all_writes_the_whole_run(tmp_path):
    _, m = run_folder(tmp_path, "small", *NO_PARCEL)
    assert m["simulation"]["total"]["parcels"]["ordered"] == 0
    assert m["simulation"]["total"]["order_to_hand_h"]["parcels"] == 0


def test_no_produce_in_season_writes_the_whole_run(tmp_path):
    _, m = run_folder(tmp_path, "small", *NO_PRODUCE)  # January: no tea yet
    assert m["simulation"]["upstream"]["offered"] == 0


def test_a_county_without_villages_writes_the_whole_run(tmp_path):
    rows = "".join(f"V{i},{300 + 10 * i},{119.9 + 0.01 * i},{28.4 + 0.01 * (i % 3)},A\n" for i in range(12))
    (tmp_path / "v.csv").write_text("village_id,population,lon,lat,county\n" + rows)

    def square(x: float, size: float) -> dict:
        ring = [[x, 28.35], [x + size, 28.35], [x + size, 28.35 + size], [x, 28.35 + size], [x, 28.35]]
        return {"type": "Polygon", "coordinates": [ring]}

    features = [
        {"type": "Feature", "properties": {"county": name}, "geometry": square(x, size)}
        for name, x, size in (("A", 119.85, 0.3), ("Empty", 120.3, 0.2))
    ]
    (tmp_path / "c.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    (tmp_path / "s.yaml").write_text(
        "name: empty-county\n"
        "region: {file: v.csv, counties: {file: c.geojson}}\n"
        "stations: {rural: {target: 3}}\n"
    )
    _, m = run_folder(tmp_path, str(tmp_path / "s.yaml"))
    assert m["region"]["counties"] == 2
    assert m["years"]["2018"]["by_county"]["Empty"]["villages"] == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("horizon.start=2018-02-30", "horizon.start: must be a date (YYYY-MM-DD) (got '2018-02-30')"),
        ("horizon.start=2018-13-01", "horizon.start: must be a date (YYYY-MM-DD) (got '2018-13-01')"),
    ],
)
def test_set_values_get_the_files_message(tmp_path, capsys, value, message):
    path = tmp_path / "s.yaml"
    key, _, raw = value.partition("=")
    section, field = key.split(".")
    path.write_text(f"name: x\nregion: small\n{section}: {{{field}: {raw}}}\n")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err == f"{path}: {message}\n"
    assert main(["run", "small", "--set", value, "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == f"--set: {message}\n"
    assert not (tmp_path / "r").exists()


def test_the_order_to_hand_line_gives_the_pending_share_beside_it():
    from analysis.headline import run_lines

    sim = {
        "total": {
            "order_to_hand_h": {"parcels": 900, "mean_h": 30.0, "p90_h": 40.0},
            "parcels": {"ordered": 1000, "pending": 80},
        },
        "vans": {"km": 10.0, "hours": 2.0, "courier_cost_per_parcel_yuan": 1.5},
    }
    lines = run_lines({"simulation": sim}, "joint")
    assert lines[0] == (
        "order to hand: mean 30.0 h, p90 40.0 h (parcels picked up; 8.0% of orders still pending when the "
        "run stopped, at the horizon's end)"
    )
