"""OR-Library pmed1..pmed40 benchmarks: p-median (heuristic and exact), p-center, and spopt.

Targets: the `pmedian` heuristic within 0.5% of the published optimum on every instance (0.1% on
average) in at most 2 s each; `pmedian_exact` proves the published optimum on pmed1..pmed20;
`pcenter_exact` reproduces all 40 p-center optima, `pcenter` is within one unit of each; on
pmed40 the heuristic matches PySAL spopt + HiGHS and is at least 100x faster. Each benchmark
asserts the work it did and prints a table. Run with `make bench` (one core); instances are
timed one by one with time.perf_counter (wall time), loops once with benchmark.pedantic.
"""

from __future__ import annotations

import time

import numpy as np
import orlib
import pytest

from geo.pcenter import pcenter, pcenter_exact
from geo.pmedian import pmedian, pmedian_exact

HEURISTIC_MEAN_GAP_PCT = 0.1
HEURISTIC_WORST_GAP_PCT = 0.5
HEURISTIC_SECONDS = 2.0
SPEEDUP_OVER_SPOPT = 100.0


@pytest.fixture(scope="module")
def pmed() -> dict[str, tuple[np.ndarray, int]]:
    return {name: orlib.load(name) for name in orlib.NAMES}


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def test_pmedian_heuristic_pmed1_40(benchmark, pmed):
    def run():
        rows = []
        for name in orlib.NAMES:
            cost, p = pmed[name]
            solution, seconds = timed(pmedian, cost, np.ones(len(cost)), p)
            rows.append((name, len(cost), p, solution, orlib.published_optimum(name), seconds))
        return rows

    rows = benchmark.pedantic(run, rounds=1, iterations=1)
    gaps = np.array([(s.objective - opt) / opt * 100 for _, _, _, s, opt, _ in rows])
    seconds = np.array([row[-1] for row in rows])
    print("\np-median heuristic (pmedian, default settings) on OR-Library pmed1..40")
    print(f"{'instance':>9} {'n':>4} {'p':>4} {'optimum':>8} {'found':>8} {'gap %':>7} {'s':>6}")
    for (name, n, p, solution, optimum, s), gap in zip(rows, gaps, strict=True):
        print(f"{name:>9} {n:>4} {p:>4} {optimum:>8} {solution.objective:>8.0f} {gap:>7.3f} {s:>6.2f}")
    print(
        f"gap mean {gaps.mean():.4f}% worst {gaps.max():.3f}% ({orlib.NAMES[gaps.argmax()]}), "
        f"optimum found on {int((gaps == 0).sum())}/40; time mean {seconds.mean():.2f} s, "
        f"worst {seconds.max():.2f} s ({orlib.NAMES[seconds.argmax()]}), total {seconds.sum():.1f} s"
    )
    benchmark.extra_info.update(
        gap_mean_pct=gaps.mean(),
        gap_worst_pct=gaps.max(),
        seconds_worst=seconds.max(),
        seconds_total=seconds.sum(),
    )
    assert len(rows) == 40
    assert all(len(s.sites) == p for _, _, p, s, _, _ in rows)
    assert gaps.min() >= 0  # a heuristic cannot beat a proven optimum
    assert gaps.mean() <= HEURISTIC_MEAN_GAP_PCT
    assert gaps.max() <= HEURISTIC_WORST_GAP_PCT
    assert seconds.max() <= HEURISTIC_SECONDS


def test_pmedian_exact_pmed1_20(benchmark, pmed):
    names = orlib.NAMES[:20]

    def run():
        rows = []
        for name in names:
            cost, p = pmed[name]
            solution, seconds = timed(pmedian_exact, cost, np.ones(len(cost)), p)
            rows.append((name, len(cost), p, solution, orlib.published_optimum(name), seconds))
        return rows

    rows = benchmark.pedantic(run, rounds=1, iterations=1)
    print("\np-median exact (pmedian_exact, HiGHS, strong formulation) on pmed1..20")
    print(
        f"{'instance':>9} {'n':>4} {'p':>4} {'optimum':>8} {'found':>8} {'bound':>10} {'proven':>6} {'s':>7}"
    )
    for name, n, p, s, optimum, seconds in rows:
        print(
            f"{name:>9} {n:>4} {p:>4} {optimum:>8} {s.objective:>8.0f} {s.bound:>10.2f} "
            f"{s.optimal!s:>6} {seconds:>7.1f}"
        )
    total = sum(row[-1] for row in rows)
    print(f"total {total:.0f} s")
    benchmark.extra_info.update(seconds={name: seconds for name, *_, seconds in rows}, seconds_total=total)
    assert len(rows) == 20
    for name, _, p, solution, optimum, _ in rows:
        assert solution.optimal, name
        assert solution.objective == solution.bound == optimum, name
        assert len(solution.sites) == p


def test_pcenter_heuristic_pmed1_40(benchmark, pmed):
    def run():
        rows = []
        for name in orlib.NAMES:
            cost, p = pmed[name]
            solution, seconds = timed(pcenter, cost, p)
            rows.append((name, p, solution, orlib.pcenter_optimum(name), seconds))
        return rows

    rows = benchmark.pedantic(run, rounds=1, iterations=1)
    off = np.array([s.objective - optimum for _, _, s, optimum, _ in rows])
    seconds = np.array([row[-1] for row in rows])
    print("\np-center heuristic (pcenter) on pmed1..40: found - optimum (pcenter_computed.tsv)")
    print(" ".join(f"{name.removeprefix('pmed')}:{d:+.0f}" for (name, *_), d in zip(rows, off, strict=True)))
    print(
        f"optimum on {int((off == 0).sum())}/40, one unit above on {int((off == 1).sum())}, "
        f"worse on {int((off > 1).sum())}; time mean {seconds.mean():.2f} s, worst {seconds.max():.2f} s "
        f"({orlib.NAMES[seconds.argmax()]}), total {seconds.sum():.1f} s"
    )
    benchmark.extra_info.update(exact=int((off == 0).sum()), seconds_total=seconds.sum())
    assert len(rows) == 40
    assert all(len(s.sites) == p for _, p, s, _, _ in rows)
    assert off.min() >= 0 and off.max() <= 1


def test_pcenter_exact_pmed1_40(benchmark, pmed):
    def run():
        rows = []
        for name in orlib.NAMES:
            cost, p = pmed[name]
            solution, seconds = timed(pcenter_exact, cost, p)
            rows.append((name, p, solution, orlib.pcenter_optimum(name), seconds))
        return rows

    rows = benchmark.pedantic(run, rounds=1, iterations=1)
    seconds = np.array([row[-1] for row in rows])
    print("\np-center exact (pcenter_exact, HiGHS set cover per radius) on pmed1..40: seconds each")
    print(
        " ".join(f"{name.removeprefix('pmed')}:{s:.1f}" for (name, *_), s in zip(rows, seconds, strict=True))
    )
    matched = sum(s.objective == optimum and s.optimal for _, _, s, optimum, _ in rows)
    print(f"{matched}/40 equal to pcenter_computed.tsv and proven; total {seconds.sum():.0f} s")
    benchmark.extra_info.update(matched=matched, seconds_total=seconds.sum())
    assert len(rows) == 40
    for name, p, solution, optimum, _ in rows:
        assert solution.optimal and solution.objective == solution.bound == optimum, name
        assert len(solution.sites) == p


def _spopt_solver():
    """pulp's HiGHS (highspy API) if available, else HiGHS_CMD, else pulp's default (CBC)."""
    import pulp

    available = pulp.listSolvers(onlyAvailable=True)
    if "HiGHS" in available:
        return pulp.HiGHS(msg=False, threads=1), "HiGHS (highspy, via pulp)"
    if "HiGHS_CMD" in available:
        return pulp.HiGHS_CMD(msg=False, threads=1), "HiGHS_CMD (via pulp)"
    return pulp.PULP_CBC_CMD(msg=False, threads=1), "CBC (pulp default; HiGHS not available to pulp)"


@pytest.mark.filterwarnings("ignore:Constructing LpVariable:DeprecationWarning")  # spopt on PuLP 3.x
def test_pmed40_side_by_side_with_spopt(benchmark, pmed):
    locate = pytest.importorskip("spopt.locate", reason="spopt not installed (pip install 'ruralsim[bench]')")
    import pulp

    cost, p = pmed["pmed40"]
    weights = np.ones(len(cost))
    ours, ours_s = timed(pmedian, cost, weights, p)
    solver, solver_name = _spopt_solver()

    def run_spopt():
        start = time.perf_counter()
        model = locate.PMedian.from_cost_matrix(np.array(cost), weights, p_facilities=p)
        built = time.perf_counter() - start
        model.solve(solver)
        return model, built, time.perf_counter() - start

    model, build_s, spopt_s = benchmark.pedantic(run_spopt, rounds=1, iterations=1)
    spopt_objective = pulp.value(model.problem.objective)
    spopt_sites = [j for j, y in enumerate(model.fac_vars) if y.value() > 0.5]
    speedup = spopt_s / ours_s
    print(
        f"\npmed40 (n=900, p=90): ours (pmedian) {ours.objective:.0f} in {ours_s:.2f} s; spopt PMedian + "
        f"{solver_name} {spopt_objective:.0f} in {spopt_s:.1f} s (model build {build_s:.1f} s); "
        f"published optimum {orlib.published_optimum('pmed40')}; speed-up {speedup:.0f}x"
    )
    benchmark.extra_info.update(ours_s=ours_s, spopt_s=spopt_s, spopt_build_s=build_s, speedup=speedup)
    assert pulp.LpStatus[model.problem.status] == "Optimal" and len(spopt_sites) == p
    assert spopt_objective == pytest.approx(ours.objective)
    assert speedup >= SPEEDUP_OVER_SPOPT
