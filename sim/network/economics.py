"""Village station operators' accounts: a month of income and costs (`month_accounts`).

`sim.money` draws the accounts up month by month during a run (`sim.money.operators` re-exports
them). They live here, below `sim.money`, so that the station network can be placed by what its
operators would earn: the network is built before anything is simulated, and a part of `sim`
imports only the parts below it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.policy import RuralOperator


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
