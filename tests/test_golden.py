"""Golden figures: `metrics.json` of the bundled `small` scenario and one small `ruralsim compare`,
pinned to the figures in tests/golden/, so that a change meant to move code (issue 21's
refactoring) cannot move a number unnoticed.

Cases, each run through the command line (`analysis.cli.main`) in this process:

- `ruralsim run small --days 14` with the fast engine, seeds 1 and 2 (warm-up and run-on as in
  the file; maps, villages.csv, GeoPackage and lead_times.png switched off, which writes fewer
  files and changes no figure);
- the same with the reference engine, `--days 7` (it is ten times slower) and
  `upstream.enabled=false` (the reference leaves produce out), seeds 1 and 2;
- `ruralsim compare small --vary stations.rural.placement=population,random --replications 2
  --days 7`: its `compare.json` (means, CIs, paired differences, ranks).

Figures are compared as the files hold them (rounded to 7 significant digits by
`analysis.runfolder.write_json`): numbers within a relative 1e-9, everything else (counts,
names, flags, the shape of the files) exactly. That pins rounding noise too (person-km saved of
-1.1e-8 is two equal sums subtracted): it moves only when the order of floating-point operations
does, which moving code does not. Left out: what is not a figure of the model
(`ruralsim_version`; the files hold no timings, paths or dates).

After a change that is meant to move figures, write the files again with

    RURALSIM_WRITE_GOLDEN=1 taskset -c 1 .venv/bin/python -m pytest -q tests/test_golden.py

and review `git diff tests/golden/` before committing: every figure that moved shows there.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from analysis.cli import main

GOLDEN = Path(__file__).resolve().parent / "golden"
#: keys whose values are not figures of the model (versions, timings, paths), at any depth
SKIP = {"ruralsim_version"}
REL = 1e-9
QUIET_RUN = [
    "--quiet",
    *("--set", "outputs.map=false"),
    *("--set", "outputs.villages_csv=false"),
    *("--set", "outputs.gpkg=false"),
    *("--set", "outputs.lead_times_png=false"),
]
RUNS = {
    f"small-{engine}-seed{seed}": [
        *("run", "small", "--seed", str(seed), "--days", days),
        *("--set", f"simulation.engine={engine}"),
        *extra,
        *QUIET_RUN,
    ]
    for engine, days, extra in (
        ("fast", "14", []),
        ("reference", "7", ["--set", "upstream.enabled=false"]),
    )
    for seed in (1, 2)
}
COMPARE = [
    *("compare", "small", "--vary", "stations.rural.placement=population,random"),
    *("--replications", "2", "--days", "7", "--workers", "1", "--quiet"),
]


def without_skipped(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: without_skipped(v) for k, v in tree.items() if k not in SKIP}
    if isinstance(tree, list):
        return [without_skipped(v) for v in tree]
    return tree


def differences(golden: Any, now: Any, path: str = "") -> list[str]:
    """'path: golden X, now Y' for every figure or field that differs."""
    where = path or "(top)"
    if isinstance(golden, dict) and isinstance(now, dict):
        out = [f"{path}/{k}: missing now (golden {golden[k]!r})" for k in golden if k not in now]
        out += [f"{path}/{k}: new field (now {now[k]!r})" for k in now if k not in golden]
        for k in golden:
            if k in now:
                out += differences(golden[k], now[k], f"{path}/{k}")
        return out
    if isinstance(golden, list) and isinstance(now, list):
        if len(golden) != len(now):
            return [f"{where}: {len(golden)} items golden, {len(now)} now"]
        return [
            d
            for i, (g, n) in enumerate(zip(golden, now, strict=True))
            for d in differences(g, n, f"{path}[{i}]")
        ]
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (golden, now))
    if numbers and math.isclose(golden, now, rel_tol=REL):
        return []
    if not numbers and golden == now and type(golden) is type(now):
        return []
    return [f"{where}: golden {golden!r}, now {now!r}"]


def check(name: str, produced: Path) -> None:
    now = without_skipped(json.loads(produced.read_text(encoding="utf-8")))
    expected = GOLDEN / f"{name}.json"
    if os.environ.get("RURALSIM_WRITE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        expected.write_text(json.dumps(now, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert expected.is_file(), f"no golden file {expected}; write it with RURALSIM_WRITE_GOLDEN=1"
    found = differences(json.loads(expected.read_text(encoding="utf-8")), now)
    assert not found, (
        f"{len(found)} figure(s) of {name} moved against {expected.name}"
        " (if meant, write it again with RURALSIM_WRITE_GOLDEN=1):\n" + "\n".join(found[:40])
    )


@pytest.mark.parametrize("name", list(RUNS))
def test_run_metrics_are_golden(name, tmp_path):
    out = tmp_path / "run"
    assert main([*RUNS[name], "--out", str(out)]) == 0
    check(name, out / "metrics.json")


def test_compare_is_golden(tmp_path):
    out = tmp_path / "compare"
    assert main([*COMPARE, "--out", str(out)]) == 0
    check("small-compare", out / "compare.json")


def test_a_moved_figure_fails():
    golden = {"a": {"b": [1, 2.5, "x"], "share": 0.1234567, "noise": -1.1e-8}, "n": 3}
    assert differences(golden, json.loads(json.dumps(golden))) == []
    assert differences(golden, {**golden, "n": 4}) == ["/n: golden 3, now 4"]
    moved = {"a": {"b": [1, 2.500001, "x"], "share": 0.1234568, "noise": -1.2e-8}, "n": 3, "extra": 1}
    assert differences(golden, moved) == [
        "/extra: new field (now 1)",
        "/a/b[1]: golden 2.5, now 2.500001",
        "/a/share: golden 0.1234567, now 0.1234568",
        "/a/noise: golden -1.1e-08, now -1.2e-08",
    ]
    assert differences({"x": 0.1234567}, {"x": 0.1234567 * (1 + 1e-12)}) == []
    assert differences({"ok": True}, {"ok": 1}) == ["/ok: golden True, now 1"]
    assert differences({"x": [1]}, {"x": [1, 2]}) == ["/x: 1 items golden, 2 now"]
