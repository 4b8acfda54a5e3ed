"""Issue 15: hypothesis fuzzing of scenario mappings at full size (10,000 examples; `make test`
runs a few hundred): never a traceback, every problem one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 10_000


def test_scenario_fuzzing_ten_thousand_examples(benchmark):
    env = {**os.environ, "RURALSIM_FUZZ_EXAMPLES": str(EXAMPLES)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "tests/test_scenario.py::test_no_scenario_mapping_gives_a_traceback",
               "--hypothesis-show-statistics"]  # fmt: skip

    def fuzz():
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)

    done = benchmark.pedantic(fuzz, rounds=1, iterations=1)
    assert done.returncode == 0, done.stdout[-3000:]
    passing = [line.strip() for line in done.stdout.splitlines() if " passing, " in line]
    print(f"\nscenario fuzzing: {EXAMPLES:,} examples asked; {'; '.join(passing)}")
    assert sum(int(line.split()[1]) for line in passing) >= EXAMPLES  # "- 10000 passing, 0 failing, ..."
