"""Maximal covering on the 110 São José dos Campos cases with proven optima.

`mclp` (heuristic) is measured against the proven optimum of every case (target: within 0.5% on
every one), `mclp_exact` must reproduce every optimum, and the plain greedy of
`optima_computed.tsv` is shown for comparison. Each benchmark asserts the work it did. Run with
`.venv/bin/python -m pytest tests/bench/test_bench_mclp.py --benchmark-enable --benchmark-only -q -s`
(about two minutes on two cores; `mclp_exact` is most of it).
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import sjc

from geo.covering import covered_weight, mclp, mclp_exact

CASES = sjc.cases()
TARGET_GAP_PCT = 0.5
RESULTS: dict[str, dict[str, tuple[float, float]]] = {"heuristic": {}, "exact": {}}  # id -> (value, s)


def gap_pct(case: sjc.Case, value: float) -> float:
    return 100.0 * (case.optimum - value) / case.optimum


def run_all(solve) -> dict[str, tuple[float, float]]:
    """Solve every case; check the sites; return {case id: (covered demand, seconds)}."""
    out = {}
    for case in CASES:
        inst = sjc.load_instance(case.instance)
        cost = sjc.cost_matrix(case.instance)
        start = time.perf_counter()
        sol = solve(cost, inst.demand, case.p, case.radius)
        seconds = time.perf_counter() - start
        assert len(sol.sites) == case.p == len(np.unique(sol.sites))
        assert sol.objective == covered_weight(cost, inst.demand, case.radius, sol.sites)
        assert sol.bound is not None and sol.bound >= case.optimum  # the bound is a proven one
        out[case.id] = (sol.objective, seconds)
    return out


def test_mclp_heuristic_on_sjc(benchmark):
    results = benchmark.pedantic(run_all, args=(mclp,), rounds=1, iterations=1)
    RESULTS["heuristic"] = results
    gaps = np.array([gap_pct(c, results[c.id][0]) for c in CASES])
    times = np.array([results[c.id][1] for c in CASES])
    greedy = np.array([gap_pct(c, c.greedy) for c in CASES])
    worst = CASES[int(np.argmax(gaps))]
    benchmark.extra_info.update(
        cases=len(CASES),
        mean_gap_pct=float(gaps.mean()),
        worst_gap_pct=float(gaps.max()),
        optimum_hit=int((gaps <= 1e-9).sum()),
        mean_s=float(times.mean()),
        max_s=float(times.max()),
    )
    print(
        f"\nmclp heuristic, {len(CASES)} SJC cases: gap to the proven optimum mean {gaps.mean():.4f}%, "
        f"worst {gaps.max():.3f}% ({worst.id}); optimum hit {int((gaps <= 1e-9).sum())}/{len(CASES)}; "
        f"time mean {times.mean() * 1e3:.0f} ms, max {times.max() * 1e3:.0f} ms, total {times.sum():.1f} s\n"
        f"plain greedy (optima_computed.tsv): gap mean {greedy.mean():.3f}%, worst {greedy.max():.2f}%, "
        f"optimum hit {int((greedy <= 1e-9).sum())}/{len(CASES)}"
    )
    assert len(results) == len(CASES) == 110
    assert gaps.min() >= -1e-9, "a heuristic value above a proven optimum"
    assert gaps.max() <= TARGET_GAP_PCT, f"worst gap {gaps.max():.3f}% on {worst.id}"


def test_mclp_exact_on_sjc(benchmark):
    results = benchmark.pedantic(run_all, args=(mclp_exact,), rounds=1, iterations=1)
    RESULTS["exact"] = results
    times = np.array([results[c.id][1] for c in CASES])
    wrong = [c.id for c in CASES if results[c.id][0] != c.optimum]
    slowest = CASES[int(np.argmax(times))]
    benchmark.extra_info.update(
        cases=len(CASES),
        reproduced=len(CASES) - len(wrong),
        total_s=float(times.sum()),
        max_s=float(times.max()),
    )
    print(
        f"\nmclp_exact, {len(CASES)} SJC cases: {len(CASES) - len(wrong)} optima reproduced; "
        f"time total {times.sum():.1f} s, mean {times.mean():.2f} s, max {times.max():.2f} s ({slowest.id})"
    )
    print_summary()
    assert not wrong, f"optimum not reproduced: {wrong}"


def print_summary() -> None:
    """One row per instance and radius: greedy and heuristic gaps, times of both methods."""
    rows = defaultdict(list)
    for case in CASES:
        rows[(case.instance, case.radius)].append(case)
    heur, exact = RESULTS["heuristic"], RESULTS["exact"]
    head = (
        f"{'instance':<8} {'radius':>6} {'cases':>5} | {'greedy gap % mean/max':>21} | "
        f"{'mclp gap % mean/max':>19} {'mclp ms mean/max':>16} | {'exact s total/max':>17}"
    )
    print("\n" + head + "\n" + "-" * len(head))
    for (name, radius), group in rows.items():
        greedy = [gap_pct(c, c.greedy) for c in group]
        cells = [f"{name:<8} {radius:>6g} {len(group):>5} | {np.mean(greedy):>10.3f}/{max(greedy):<10.2f} |"]
        if heur:
            gaps = [gap_pct(c, heur[c.id][0]) for c in group]
            ms = [heur[c.id][1] * 1e3 for c in group]
            cells.append(f"{np.mean(gaps):>9.4f}/{max(gaps):<9.3f} {np.mean(ms):>7.0f}/{max(ms):<8.0f} |")
        else:
            cells.append(f"{'(not run)':>19} {'':>16} |")
        if exact:
            secs = [exact[c.id][1] for c in group]
            cells.append(f"{sum(secs):>8.1f}/{max(secs):<8.2f}")
        print(" ".join(cells))
