"""Village station operators: a month's income and costs, their rent and wage, and who quits.

Pure functions over arrays with one entry per station; money in yuan per month. What the
figures are and where they come from: `sim.scenario.policy.RuralOperator`. A month's accounts
(`month_accounts`, `Month`, `Costs`) are in `sim.network.economics`, where placing stations by
their expected profit (the `viable` strategy) can use them too; they are re-exported here.
"""

from __future__ import annotations

import numpy as np

from sim.network.economics import Costs, Month, month_accounts
from sim.scenario.policy import Exit, RuralOperator

__all__ = ["Costs", "Month", "draw_costs", "lognormal_with_mean", "month_accounts", "quits"]


def lognormal_with_mean(mean: float, cv: float, z: np.ndarray) -> np.ndarray:
    """Log-normal values of mean `mean` and coefficient of variation `cv` from standard normal
    draws `z` (a larger `mean` scales every value: the same draws keep their order)."""
    sigma2 = np.log1p(cv * cv)
    return mean * np.exp(np.sqrt(sigma2) * z - 0.5 * sigma2)


def draw_costs(cfg: RuralOperator, n: int, rng: np.random.Generator) -> Costs:
    """Rent and reservation wage of `n` station operators: log-normal, means the stated
    `rent_yuan_per_month` and `reservation_wage_yuan_per_h`, coefficients of variation
    `rent_cv` and `reservation_wage_cv`. Two standard normal draws per station, rent first."""
    z = rng.standard_normal((2, n))
    return Costs(
        lognormal_with_mean(cfg.rent_yuan_per_month, cfg.rent_cv, z[0]),
        lognormal_with_mean(cfg.reservation_wage_yuan_per_h, cfg.reservation_wage_cv, z[1]),
    )


def quits(
    cfg: Exit, trailing_profit: np.ndarray, months_unsubsidised: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Bool per station: its operator closes it at this month's end. `trailing_profit` is the
    profit summed over the last `cfg.months` months, `months_unsubsidised` how many months the
    station has run since its subsidies ended. One uniform draw per station, every month, so
    that a station's draws do not depend on the others'."""
    draws = rng.random(len(trailing_profit))
    if cfg.mode == "none":
        return np.zeros(len(trailing_profit), dtype=bool)
    losing = (months_unsubsidised >= cfg.months) & (trailing_profit < 0)
    if cfg.mode == "deterministic":
        return losing
    return losing & (draws < cfg.probability_per_month)
