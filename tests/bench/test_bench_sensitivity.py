"""Sensitivity's cost: Morris with 10 trajectories over 15 assumptions on `small` (7 days) on 2
local processes (target: 3 min), the tornado's 2 runs per assumption included."""

from __future__ import annotations

import json
import time

import yaml

from analysis.assumptions import DEFAULT
from analysis.cli import main


def test_morris_15_assumptions_small_7_days(benchmark, tmp_path):
    entries = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))["assumptions"][:15]
    path = tmp_path / "fifteen.yaml"
    path.write_text(yaml.safe_dump({"assumptions": entries}), encoding="utf-8")
    out = tmp_path / "s"
    args = ["sensitivity", "small", "--days", "7", "--assumptions", str(path), "--samples", "10",
            "--workers", "2", "--out", str(out), "--quiet"]  # fmt: skip

    def once() -> float:
        started = time.perf_counter()
        assert main(args) == 0
        return time.perf_counter() - started

    seconds = benchmark.pedantic(once, rounds=1, iterations=1)
    report = json.loads((out / "sensitivity.json").read_text())
    assert report["design_rows"] == 160 and report["run_now"] == report["tasks"]
    per_task = seconds / report["tasks"]
    benchmark.extra_info.update(tasks=report["tasks"], seconds=seconds, seconds_per_task=per_task)
    print(
        f"\nMorris, 15 assumptions x 10 trajectories on small (7 days), 2 processes: {seconds:.0f} s for "
        f"{report['tasks']} tasks ({per_task:.2f} s a task; target 180 s)"
    )
    assert seconds < 180
