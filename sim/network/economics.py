"""Village station operators' accounts, and what a station at each village would expect to earn
once its subsidies end (the `viable` placement strategy).

`month_accounts` is a month of station operators' income and costs; `sim.money` draws the
accounts up month by month during a run (`sim.money.operators` re-exports it). It lives here,
below `sim.money`, because placing stations with `viable` needs it: the network is built before
anything is simulated, and a part of `sim` imports only the parts below it.

`expected_accounts` is a station's year as the accounts would give it, in the first calendar
year without subsidies, for the parcels it may expect: its own village's (a village without a
station collects at its township's express point, `sim.network.points`, so a station's
catchment is its village, whichever other stations are built: a station's viability depends on
its village and build year alone, so `viable` filters each year's candidates once and solves
once, with no solve-and-forbid rounds). The figures are the scenario's means, never a run's
draws; `sim.flows` (above this part of `sim`, so not imported) draws the same figures, and
tests/test_viable.py holds the two together:

- parcels received: households x `demand.parcels_per_household_day` x the day's growth x the
  mean season factor x the mean weekday factor, summed over the year's days (in `township`
  courier mode only `couriers.village_carrier`'s share reaches the station). The mean season
  factor is 1 + (factor - 1) x spread_days x sqrt(2 pi) / days in the year summed over the
  events (each event's Gaussian bump, in whichever year it falls, adds its whole area to a year
  of bumps repeating yearly); `sim.flows.demand.day_factors` puts the same bumps on their dates,
  and the year's parcels agree within 1% (0.7% less in 2014-2023 with the default events);
- produce offered (with `upstream.enabled`): households / 150 (the grower village size the
  products' `parcels_per_grower_day` is for) x each product's `growers_share` x
  `parcels_per_grower_day` x the mean Taobao multiplier 1 + `taobao_share` x (`taobao_factor` -
  1) x its days in season (volumes have mean 1): the mean of `sim.flows.produce.grower_rates`;
- costs: the stated rent and reservation wage (`costs=None`, not the per-station draws),
  equipment while being written off (months open since the station's 1 January build day);
  no subsidy.

A station built in year B is subsidised in its operating years 1 to L (L: the last operating
year any active village-station rule pays in, as `sim.money.programme.Programme` reads the
rules); its first year without is B + L, when the exit rule starts to count its losses. L = 0
(no rule): its build year. Subsidised for ever (a yearly rule without `years`): no such year,
and the station never faces the exit rule (expected profit +inf).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from sim.core.clock import in_window
from sim.scenario.policy import RuralOperator, Subsidies
from sim.scenario.schema import Scenario

#: A yearly village-station rule without a window subsidises for ever: this many operating years.
FOREVER = 10**6
#: Households of the grower village a product's `parcels_per_grower_day` is stated for
#: (`sim.scenario.delivery.Product`; `sim.flows.produce.STATION_HOUSEHOLDS`).
GROWER_HOUSEHOLDS = 150


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


def subsidised_years(subsidies: Subsidies) -> int:
    """Operating years a village station is subsidised: the last one any active village-station
    rule pays in (a build rule: 1; an `operating_year` or `yearly` rule: the end of its `years`,
    `FOREVER` without them); 0 when no rule pays village stations."""
    last = 0
    for rule in subsidies.active.values():
        if rule.applies_to == "rural_station":
            last = max(last, 1 if rule.trigger == "build" else rule.years[1] if rule.years else FOREVER)
    return last


@dataclass(frozen=True)
class Expected:
    """A station's expected first year without subsidies, per village: `year` (None: subsidised
    for ever), parcels `received` and `produce` offered in it, and `profit`, the mean month's
    (yuan; +inf when subsidised for ever)."""

    year: int | None
    received: np.ndarray
    produce: np.ndarray
    profit: np.ndarray

    @property
    def viable(self) -> np.ndarray:
        """Bool per village: a station there would not lose money once its subsidies end."""
        return self.profit >= 0


def expected_accounts(scenario: Scenario, households: np.ndarray, built: int) -> Expected:
    """What a station built on 1 January of `built` would expect at each village of `households`
    in its first year without subsidies (see the module's text for every figure)."""
    households = np.asarray(households, dtype=float)
    n = len(households)
    last = subsidised_years(scenario.subsidies)
    if last >= FOREVER:
        return Expected(None, np.zeros(n), np.zeros(n), np.full(n, math.inf))
    year = built + last
    days = [
        date(year, 1, 1) + timedelta(days=k) for k in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)
    ]
    month = np.array([d.month for d in days]) - 1
    per_day = np.bincount(month, weights=_demand_level(scenario, days), minlength=12)
    produce_per_day = np.bincount(month, weights=_produce_level(scenario, days), minlength=12)
    op = scenario.economics.rural_station
    received, produce, profit = np.zeros(n), np.zeros(n), np.zeros(n)
    for m in range(12):
        days_in_month = int((month == m).sum())
        acc = month_accounts(
            op,
            households=households,
            open_days=np.full(n, float(days_in_month)),
            days_in_month=days_in_month,
            received=households * per_day[m],
            subsidy=np.zeros(n),
            age_months=np.full(n, 12 * (year - built) + m),
            produce=households * produce_per_day[m],
        )
        received += acc.received
        produce += households * produce_per_day[m]
        profit += acc.profit
    return Expected(year, received, produce, profit / 12.0)


def _demand_level(scenario: Scenario, days: list[date]) -> np.ndarray:
    """Parcels a household expects to receive at its village's station on each of `days`."""
    d = scenario.demand
    t = np.array([day.year - d.base_year + (day.timetuple().tm_yday - 1) / 365.0 for day in days])
    season = 1.0 + sum(
        (e.factor - 1.0) * e.spread_days * math.sqrt(2.0 * math.pi) / len(days) for e in d.events
    )
    weekday = float(np.mean(d.weekday_factors))
    share = 1.0
    couriers = scenario.couriers
    if couriers.mode == "township":  # only the village carrier's vans call at village stations
        share = couriers.carriers[couriers.village_carrier].share
    return d.parcels_per_household_day * d.growth_per_year**t * season * weekday * share


def _produce_level(scenario: Scenario, days: list[date]) -> np.ndarray:
    """Produce parcels a household's village expects to offer at its station on each of `days`
    (none when produce is not simulated)."""
    up = scenario.upstream
    if not up.enabled:
        return np.zeros(len(days))
    taobao = 1.0 + up.taobao_share * (up.taobao_factor - 1.0)
    level = np.zeros(len(days))
    for product in up.products.values():
        season = np.zeros(len(days), dtype=bool)
        for start, end in product.seasons:
            season |= in_window(days, start, end)
        level += season * product.growers_share * product.parcels_per_grower_day
    return level * taobao / GROWER_HOUSEHOLDS
