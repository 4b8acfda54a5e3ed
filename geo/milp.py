"""A thin, typed wrapper around HiGHS (highspy) for the exact placement models.

One call: minimise or maximise `cost @ x` subject to `row_lower <= A x <= row_upper`,
`col_lower <= x <= col_upper`, some columns integer. It reports the solution, the objective,
the proven bound, and whether optimality was proven (a time-limited run is not "optimal").
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import csc_matrix, spmatrix


@dataclass(frozen=True)
class MilpResult:
    """`x` the best solution found (None if none), `objective` its value, `bound` the proven
    bound on the optimum (lower for minimisation, upper for maximisation), `optimal` whether HiGHS
    proved optimality, `status` HiGHS's model status in words."""

    x: np.ndarray | None
    objective: float | None
    bound: float | None
    optimal: bool
    status: str

    @property
    def gap(self) -> float | None:
        """Relative gap |objective - bound| / |objective| (0 when optimal; None when unknown)."""
        if self.optimal:
            return 0.0
        if self.objective is None or self.bound is None or not np.isfinite(self.bound):
            return None
        return abs(self.objective - self.bound) / max(abs(self.objective), 1e-12)


def _highs() -> highspy.Highs:
    """A silent HiGHS. Its first construction in a process prints a banner from C++ to stdout,
    which would mix with our command-line output: that one is sent to /dev/null."""
    global _banner_done
    if _banner_done:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        try:
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _banner_done = True
    h.setOptionValue("output_flag", False)
    return h


_banner_done = False


def solve_milp(
    cost: np.ndarray,
    a: spmatrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    *,
    col_lower: np.ndarray | None = None,
    col_upper: np.ndarray | None = None,
    integer: np.ndarray | None = None,
    maximise: bool = False,
    time_limit_s: float | None = None,
    mip_rel_gap: float = 1e-9,
) -> MilpResult:
    """Solve the model with HiGHS; `integer` is a bool mask of integer columns (none: an LP)."""
    n = len(cost)
    m = csc_matrix(a)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = m.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.zeros(n) if col_lower is None else np.asarray(col_lower, dtype=float)
    lp.col_upper_ = np.full(n, highspy.kHighsInf) if col_upper is None else np.asarray(col_upper, dtype=float)
    lp.row_lower_ = np.asarray(row_lower, dtype=float)
    lp.row_upper_ = np.asarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = m.indptr.astype(np.int32)
    lp.a_matrix_.index_ = m.indices.astype(np.int32)
    lp.a_matrix_.value_ = m.data.astype(float)
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = m.shape[0]
    if maximise:
        lp.sense_ = highspy.ObjSense.kMaximize
    if integer is not None and np.any(integer):
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous for flag in integer
        ]
    h = _highs()
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", mip_rel_gap)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    words = h.modelStatusToString(status)
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value) if has_solution else None
    objective = float(info.objective_function_value) if has_solution else None
    optimal = status == highspy.HighsModelStatus.kOptimal
    is_mip = integer is not None and np.any(integer)
    bound = float(info.mip_dual_bound) if is_mip else (objective if optimal else None)
    if is_mip and optimal and objective is not None and bound is not None:  # bound is set when is_mip
        bound = objective if abs(bound - objective) <= 1e-9 * max(1.0, abs(objective)) else bound
    return MilpResult(x=x, objective=objective, bound=bound, optimal=optimal, status=words)
