"""Village station operators: a month's income and costs, and who quits.

Pure functions over arrays with one entry per station; money in yuan per month. What the
figures are and where they come from: `sim.scenario.policy.RuralOperator`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.policy import Exit, RuralOperator


@dataclass(frozen=True)
class Month:
    """One month of every station: parcels `received` and `sent`, `income` (without
    subsidies), `subsidy` received, `costs` (staff time at the reservation wage included) and
    `profit` = income + subsidy - costs."""

    received: np.ndarray
    sent: np.ndarray
    income: np.ndarray
    subsidy: np.ndarray
    costs: np.ndarray

    @property
    def profit(self) -> np.ndarray:
        return self.income + self.subsidy - self.costs


@dataclass(frozen=True)
class Costs:
    """Each station operator's own `rent_yuan_per_month` and `wage_yuan_per_h` (reservation
    wage)."""

    rent_yuan_per_month: np.ndarray
    wage_yuan_per_h: np.ndarray


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


def month_accounts(
    cfg: RuralOperator,
    *,
    households: np.ndarray,
    open_days: np.ndarray,
    days_in_month: int,
    received: np.ndarray,
    subsidy: np.ndarray,
    age_months: np.ndarray,
    produce: np.ndarray | float = 0.0,
    costs: Costs | None = None,
) -> Month:
    """A month of stations open `open_days` of its `days_in_month` days that `received`
    parcels and were offered `produce` parcels to send, having run `age_months` months before:
    monthly figures (sales, services, rent, internet, and equipment while not yet written off)
    pro rata to the days open; staff time per open day and per parcel handled. Parcels sent:
    the produce plus `sent_per_received` x received. Each station's rent and reservation wage
    are `costs` (None: the stated figures for all)."""
    share = open_days / days_in_month
    sent = produce + received * cfg.sent_per_received
    rent = cfg.rent_yuan_per_month if costs is None else costs.rent_yuan_per_month
    wage = cfg.reservation_wage_yuan_per_h if costs is None else costs.wage_yuan_per_h
    proxy = cfg.proxy_orders_per_household_month * households * cfg.proxy_order_value_yuan
    income = (
        received * cfg.fee_received_yuan
        + sent * cfg.fee_sent_yuan
        + share
        * (proxy * cfg.proxy_commission_share + cfg.services_yuan_per_month + cfg.platform_pay_yuan_per_month)
    )
    staff_h = open_days * cfg.staff_h_per_day + (received + sent) * cfg.staff_min_per_parcel / 60.0
    equipment = np.where(
        np.asarray(age_months) < cfg.equipment_months, cfg.equipment_yuan / cfg.equipment_months, 0.0
    )
    fixed = rent + cfg.internet_yuan_per_month + equipment
    total = share * fixed + staff_h * wage
    return Month(received, sent, income, np.asarray(subsidy, dtype=float), total)


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
