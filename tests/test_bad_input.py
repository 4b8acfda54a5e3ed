# ruff: noqa: E501  (the table of cases reads best one case to a line)
"""Bad input, end to end through the command line: every way a planner's files and commands can
be wrong that we know of, one case each. Each gives one line per problem on stderr naming the
file (or `--set`, `--vary`, `--out`), the field and the bad value, exit status 2, no traceback,
and nothing written.

A case is (name, files to write, command line, fragments every expected line holds, in order).
`{tmp}` in the command line is the case's folder.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from analysis.cli import main

SMALL = "name: s\nregion: small\n"
LON = [119.90, 119.92, 119.60, 119.62, 119.64]
LAT = [28.40, 28.42, 28.10, 28.12, 28.08]
IDS = ["V1", "V2", "V3", "V4", "V5"]


def csv(**columns) -> Callable[[Path], None]:
    """A villages CSV: five villages around Lishui, with `columns` replaced or added."""
    data = {"village_id": IDS, "population": [1000, 600, 250, 400, 120], "lon": LON, "lat": LAT, **columns}
    return lambda path: pd.DataFrame(data).to_csv(path, index=False)


def gpkg(geometry=None, crs="EPSG:4326", **columns) -> Callable[[Path], None]:
    data = {"village_id": IDS, "population": [1000, 600, 250, 400, 120], **columns}
    shapes = geometry if geometry is not None else gpd.points_from_xy(LON, LAT)

    def write(path: Path) -> None:
        with warnings.catch_warnings():  # a file without CRS is the point of one case
            warnings.simplefilter("ignore", UserWarning)
            gpd.GeoDataFrame(data, geometry=shapes, crs=crs).to_file(path, engine="pyogrio")

    return write


def mine(region: str, extra: str = "") -> str:
    """A scenario on the user's own files (no simulation: the data checks are the point)."""
    return f"name: mine\nregion: {region}\nstations: {{rural: {{target: 2}}}}\nsimulation: {{enabled: false}}\n{extra}"


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    expect: tuple[tuple[str, ...], ...]  # per line, fragments it holds
    files: dict[str, str | bytes | Callable[[Path], None]] = field(default_factory=dict)


def case(name, argv, *lines, **files) -> Case:
    files = {k.replace("__", "."): v for k, v in files.items()}
    return Case(name, tuple(argv.split()), tuple(tuple(line) for line in lines), files)


CASES = [
    # ---------------------------------------------------------------- scenario files: syntax
    case("yaml syntax error", "validate {tmp}/s.yaml", ["s.yaml:3", "YAML syntax error"],
         s__yaml="name: s\nregion: [small\n"),
    case("top level not a mapping", "validate {tmp}/s.yaml", ["s.yaml", "mapping"], s__yaml="- a\n- b\n"),
    case("empty file", "validate {tmp}/s.yaml", ["s.yaml", "empty"], s__yaml=""),
    case("binary file", "validate {tmp}/s.yaml", ["s.yaml"], s__yaml=b"\x00\xff\xfe\x89PNG\r\n"),
    case("a directory given as the file", "validate {tmp}/d", ["d: is a folder, not a scenario file"], d__keep=None),
    case("file not found", "validate {tmp}/nope.yaml", ["nope.yaml", "not found"]),
    case("bundled name not found", "validate lishui-2019", ["lishui-2019", "not found"]),
    case("tabs for indentation", "validate {tmp}/s.yaml", ["s.yaml:3", "YAML syntax error", "'\\t'"], s__yaml="name: s\nregion:\n\tpreset: small\n"),
    case("duplicate key", "validate {tmp}/s.yaml", ["s.yaml", "name", "duplicate"], s__yaml="name: s\nname: t\nregion: small\n"),
    # ------------------------------------------------------- scenario files: fields and values
    case("unknown top-level key with a suggestion", "validate {tmp}/s.yaml", ["s.yaml", "station", "did you mean 'stations'"],
         s__yaml=SMALL + "station: {rural: {target: 5}}\n"),
    case("typo in a nested key", "validate {tmp}/s.yaml", ["s.yaml", "stations.rural.targte", "did you mean 'target'"],
         s__yaml=SMALL + "stations: {rural: {targte: 5}}\n"),
    case("wrong type", "validate {tmp}/s.yaml", ["s.yaml", "stations.rural.target", "integer", "'many'"],
         s__yaml=SMALL + "stations: {rural: {target: many}}\n"),
    case("negative count", "validate {tmp}/s.yaml", ["s.yaml", "stations.rural.target", ">= 0", "-5"],
         s__yaml=SMALL + "stations: {rural: {target: -5}}\n"),
    case("NaN", "validate {tmp}/s.yaml", ["s.yaml", "demand.parcels_per_household_day", "nan"],
         s__yaml=SMALL + "demand: {parcels_per_household_day: .nan}\n"),
    case("infinity", "validate {tmp}/s.yaml", ["s.yaml", "couriers.cost_per_km", "finite", "inf"],
         s__yaml=SMALL + "couriers: {cost_per_km: .inf}\n"),
    case("bad date", "validate {tmp}/s.yaml", ["s.yaml", "horizon.start", "2018-13-01"],
         s__yaml=SMALL + "horizon: {start: 2018-13-01}\n"),
    case("years and days both", "validate {tmp}/s.yaml", ["s.yaml", "horizon", "not both"],
         s__yaml=SMALL + "horizon: {years: 1, days: 30}\n"),
    case("name with a slash", "validate {tmp}/s.yaml", ["s.yaml", "name", "a/b"], s__yaml="name: a/b\nregion: small\n"),
    case("missing region", "validate {tmp}/s.yaml", ["s.yaml", "region", "missing"], s__yaml="name: s\n"),
    case("unknown preset", "validate {tmp}/s.yaml", ["s.yaml", "region.preset", "'shanghai'"],
         s__yaml="name: s\nregion: shanghai\n"),
    case("unknown placement with a suggestion", "validate {tmp}/s.yaml", ["s.yaml", "stations.rural.placement", "'mclpp'"],
         s__yaml=SMALL + "stations: {rural: {placement: mclpp}}\n"),
    case("build plan that shrinks", "validate {tmp}/s.yaml", ["s.yaml", "stations.rural.build_plan"],
         s__yaml=SMALL + "horizon: {start: 2016-01-01, years: 3}\nstations: {rural: {build_plan: {2016: 50, 2017: 20}}}\n"),
    case("plan year outside the horizon", "validate {tmp}/s.yaml", ["s.yaml", "stations.rural.build_plan", "2030"],
         s__yaml=SMALL + "stations: {rural: {build_plan: {2030: 50}}}\n"),
    case("target larger than the region", "validate {tmp}/s.yaml", ["s.yaml", "stations.rural.target", "<= 150", "999"],
         s__yaml=SMALL + "stations: {rural: {target: 999}}\n"),
    case("hours the wrong way round", "validate {tmp}/s.yaml", ["s.yaml", "demand.order_hours", "start < end"],
         s__yaml=SMALL + "demand: {order_hours: [20, 8]}\n"),
    case("hour past 24", "validate {tmp}/s.yaml", ["s.yaml", "couriers.departure_h", "25"],
         s__yaml=SMALL + "couriers: {departure_h: 25}\n"),
    case("section given as a number", "validate {tmp}/s.yaml", ["s.yaml", "couriers", "5"], s__yaml=SMALL + "couriers: 5\n"),
    case("visit rules without a catch-all", "validate {tmp}/s.yaml", ["s.yaml", "couriers.frequency", "last rule"],
         s__yaml=SMALL + "couriers: {frequency: [{max_minutes: 60, every_days: 1}]}\n"),
    case("market shares not adding up", "validate {tmp}/s.yaml", ["s.yaml", "couriers.carriers", "add up to 1", "0.9"],
         s__yaml=SMALL + "couriers: {carriers: {a: {share: 0.5}, b: {share: 0.4}}}\n"),
    case("unknown courier mode", "validate {tmp}/s.yaml", ["s.yaml", "couriers.mode", "'pooled'"],
         s__yaml=SMALL + "couriers: {mode: pooled}\n"),
    case("harvest season not a date", "validate {tmp}/s.yaml", ["s.yaml", "upstream.products.berry.seasons.0.0", "MM-DD", "13-01"],
         ["s.yaml", "upstream.products.berry.seasons.0.1", "MM-DD", "13-30"],
         s__yaml=SMALL + "upstream: {products: {berry: {seasons: [[13-01, 13-30]], growers_share: 1, parcels_per_grower_day: 1}}}\n"),
    case("product without growers", "validate {tmp}/s.yaml", ["s.yaml", "upstream.products.berry.growers_share", "missing"],
         s__yaml=SMALL + "upstream: {products: {berry: {seasons: [[06-01, 06-30]], parcels_per_grower_day: 1}}}\n"),
    case("unknown subsidy trigger", "validate {tmp}/s.yaml", ["s.yaml", "subsidies.rules.r.trigger", "'weekly'"],
         s__yaml=SMALL + "subsidies: {rules: {r: {payer: city, applies_to: rural_station, trigger: weekly, amount: {yuan: 1}}}}\n"),
    case("unknown language", "validate {tmp}/s.yaml", ["s.yaml", "outputs.language", "'fr'"],
         s__yaml=SMALL + "outputs: {language: fr}\n"),
    case("unknown engine", "validate {tmp}/s.yaml", ["s.yaml", "simulation.engine", "'turbo'"],
         s__yaml=SMALL + "simulation: {engine: turbo}\n"),
    case("unknown county in circuity", "validate {tmp}/s.yaml", ["s.yaml", "region.circuity.Nowhere", "unknown county"],
         s__yaml="name: s\nregion: {preset: small, circuity: {Nowhere: 2}}\n"),
    case("two problems, two lines", "validate {tmp}/s.yaml",
         ["s.yaml", "stations.rural.target", "-1"], ["s.yaml", "couriers.van_capacity", "0"],
         s__yaml=SMALL + "stations: {rural: {target: -1}}\ncouriers: {van_capacity: 0}\n"),
    case("bad --set and bad field in one report", "validate {tmp}/s.yaml --set stations.rural.nope=1",
         ["--set", "stations.rural.nope"], ["s.yaml", "couriers.van_capacity", "0"],
         s__yaml=SMALL + "couriers: {van_capacity: 0}\n"),
    case("region checks in one report", "validate {tmp}/s.yaml",
         ["s.yaml", "region.circuity.Nowhere", "unknown county"], ["s.yaml", "stations.rural.target", "999"],
         s__yaml="name: s\nregion: {preset: small, circuity: {Nowhere: 2}}\nstations: {rural: {target: 999}}\n"),
    # ------------------------------------------------------------------------- extends
    case("extends a missing file", "validate {tmp}/s.yaml", ["s.yaml", "extends", "not found", "base.yaml"],
         s__yaml="extends: base.yaml\nname: s\n"),
    case("extends cycle", "validate {tmp}/a.yaml", ["extends", "cycle"],
         a__yaml="extends: b.yaml\nname: a\n", b__yaml="extends: a.yaml\nname: b\nregion: small\n"),
    case("extends not a file name", "validate {tmp}/s.yaml", ["s.yaml", "extends"], s__yaml="extends: 5\nname: s\n"),
    case("problem in the parent file named there", "validate {tmp}/s.yaml", ["base.yaml", "stations.rural.target", "-3"],
         s__yaml="extends: base.yaml\nname: s\n", base__yaml=SMALL + "stations: {rural: {target: -3}}\n"),
    # ---------------------------------------------------------------------------- --set
    case("--set unknown path", "validate small --set stations.rural.nope=1", ["--set", "stations.rural.nope", "unknown"]),
    case("--set bad value", "validate small --set stations.rural.target=abc", ["--set", "stations.rural.target", "'abc'"]),
    case("--set without =", "validate small --set stations.rural.target", ["--set", "KEY=VALUE"]),
    case("--set value not YAML", "validate small --set stations.rural.target=[1", ["--set", "not valid YAML"]),
    case("--set into a number", "validate small --set seed.x=1", ["--set", "seed", "not a mapping"]),
    # ---------------------------------------------------------------------- data files
    case("villages file without CRS", "validate {tmp}/m.yaml", ["v.gpkg", "no CRS"],
         m__yaml=mine("{file: v.gpkg}"), v__gpkg=gpkg(crs=None)),
    case("duplicate village ids", "validate {tmp}/m.yaml", ["v.csv", "village_id", "duplicate", "V1"],
         m__yaml=mine("{file: v.csv}"), v__csv=csv(village_id=["V1", "V2", "V1", "V3", "V4"])),
    case("NaN population", "validate {tmp}/m.yaml", ["v.csv", "population", "missing or NaN", "V2"],
         m__yaml=mine("{file: v.csv}"), v__csv=csv(population=[10, None, 10, 10, 10])),
    case("negative population", "validate {tmp}/m.yaml", ["v.csv", "population", "V5"],
         m__yaml=mine("{file: v.csv}"), v__csv=csv(population=[10, 10, 10, 10, -3])),
    case("longitude out of range", "validate {tmp}/m.yaml", ["v.csv", "lon", "out of range", "V3"],
         m__yaml=mine("{file: v.csv}"), v__csv=csv(lon=[119.9, 119.9, 300.0, 119.6, 119.6])),
    case("empty geometry", "validate {tmp}/m.yaml", ["v.gpkg", "geometry", "empty or invalid", "V2"],
         m__yaml=mine("{file: v.gpkg}"),
         v__gpkg=gpkg([shapely.Point(119.9, 28.4), shapely.Point(), *gpd.points_from_xy(LON[2:], LAT[2:])])),
    case("polygons instead of points", "validate {tmp}/m.yaml", ["v.gpkg", "geometry", "not a point"],
         m__yaml=mine("{file: v.gpkg}"), v__gpkg=gpkg([shapely.box(x, y, x + 0.01, y + 0.01) for x, y in zip(LON, LAT, strict=True)])),
    case("mapped column that does not exist", "validate {tmp}/m.yaml", ["v.csv", "columns.population", "'pop2020' not found"],
         m__yaml=mine("{file: v.csv, columns: {population: pop2020}}"), v__csv=csv()),
    case("villages file missing", "validate {tmp}/m.yaml", ["m.yaml", "region.file", "file not found", "v.csv"], m__yaml=mine("{file: v.csv}")),
    case("villages file with no rows", "validate {tmp}/m.yaml", ["v.csv", "no"],
         m__yaml=mine("{file: v.csv}"), v__csv="village_id,population,lon,lat\n"),
    case("unsupported file format", "validate {tmp}/m.yaml", ["v.xlsx"], m__yaml=mine("{file: v.xlsx}"), v__xlsx=b"PK\x03\x04"),
    case("candidates matching no village", "validate {tmp}/m.yaml", ["c.csv", "more than 5 km from every village", "S1"],
         m__yaml=mine("{file: v.csv, candidates: {file: c.csv}}"), v__csv=csv(),
         c__csv="candidate_id,lon,lat\nS1,10.0,50.0\n"),
    case("roads file without lines", "run {tmp}/m.yaml --out {tmp}/out --quiet", ["r.csv"],
         m__yaml=mine("{file: v.csv, roads: {file: r.csv}}"), v__csv=csv(), r__csv=csv()),
    # -------------------------------------------------------------------- command line
    case("--out is a file", "run small --out {tmp}/afile --quiet --days 1", ["--out", "afile", "file"], afile="x"),
    case("--out holds files", "run small --out {tmp}/full --quiet --days 1", ["full", "not empty"], full__x="x"),
    case("export of a folder that is not a run", "export {tmp}/plain", ["plain", "run"], plain__x="x"),
    case("report on a folder that is not a run", "report {tmp}/plain", ["plain"], plain__x="x"),
    case("compare with an unknown field", "compare small --vary stations.rural.nope=1,2 --quiet", ["--vary", "stations.rural.nope"]),
    case("compare with a bad value", "compare small --vary stations.rural.target=5,abc --quiet", ["--vary", "stations.rural.target", "'abc'"]),
    case("sweep with a reversed range", "sweep small --vary stations.rural.target=50:10:5 --quiet", ["--vary", "50:10:5"]),
    case("--workers 0", "compare small --vary stations.rural.target=5,6 --workers 0 --quiet", ["--workers", "0"]),
    case("place with an unknown strategy", "place small --strategy best", ["--strategy", "invalid choice", "'best'"]),
]  # fmt: skip


def test_the_suite_has_at_least_fifty_distinct_cases():
    assert len({c.name for c in CASES}) == len(CASES) >= 50


@pytest.mark.parametrize("bad", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_named_in_one_line_each(tmp_path, capsys, monkeypatch, bad):
    for name, content in bad.files.items():
        path = tmp_path / name.replace("/", "_")
        if name.endswith(".keep"):
            path.parent.mkdir(exist_ok=True)
            (tmp_path / name.split(".")[0]).mkdir(exist_ok=True)
            continue
        if name in ("full.x", "plain.x"):
            folder = tmp_path / name.split(".")[0]
            folder.mkdir(exist_ok=True)
            (folder / "x").write_text(str(content))
            continue
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in bad.argv]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    try:
        status = main(argv)
    except SystemExit as exit_:  # the command line itself is wrong: argparse's usage and one line
        status = exit_.code
    assert status == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    usage = ("usage:", " ")
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("note:", *usage))]
    assert len(lines) == len(bad.expect), err
    for line, fragments in zip(lines, bad.expect, strict=True):
        for fragment in fragments:
            assert fragment in line, f"{fragment!r} not in {line!r}"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_a_bad_value_holding_newlines_is_still_one_line(write, capsys):
    """Found by the 10,000-example fuzzing: a mapping whose key is a newline, as a number."""
    path = write("s.yaml", 'name: s\nregion: small\ncouriers: {cost_per_hour: {"\\n": 0}}\n')
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "couriers.cost_per_hour: must be a number" in lines[0]
