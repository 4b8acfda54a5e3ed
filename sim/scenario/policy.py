"""Scenario sections of the programme: subsidy rules (as data), budget lines and the station
operators' economics with their exit rule.

Money is in yuan, figures per month or per year as their names say. The Lishui rules of the
2015 programme (the Lishui 2015 opinions, `docs/sources.md`) are bundled in
`scenarios/policies/lishui.yaml`; every figure not sourced in `docs/sources.md` is an assumption
and labelled so there.

A recipient's *operating year* k is the k-th calendar year it is open: its build year is year 1
(stations open on 1 January of their build year; warehouses, from the horizon's start).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

PAYERS = ("city", "county", "province", "central")
RECIPIENTS = ("rural_station", "community_station", "warehouse", "county_centre", "city_centre")
#: The figures a condition may test, by recipient kind (all per calendar year).
METRICS: dict[str, tuple[str, ...]] = {
    "rural_station": ("parcels_handled", "parcels_per_day", "open_days"),
    "community_station": ("parcels_handled", "parcels_per_day", "open_days", "operator_terminals"),
    "warehouse": ("orders_per_day", "firms_served", "parcels_in_per_day"),
    "county_centre": (),
    "city_centre": (),
}
#: Kinds that handle parcels (a per-parcel amount needs one).
WITH_PARCELS = ("rural_station", "community_station")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Condition(_Section):
    """`metric` (of the recipient, over the calendar year) must be `at_least` and/or `at_most`."""

    metric: str
    at_least: float | None = None
    at_most: float | None = None

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Bool per recipient: its figure in `values` meets the condition."""
        values = np.asarray(values, dtype=float)
        ok = np.ones(values.shape, dtype=bool)
        if self.at_least is not None:
            ok &= values >= self.at_least
        if self.at_most is not None:
            ok &= values <= self.at_most
        return ok

    def describe(self) -> str:
        """E.g. ``orders_per_day >= 8000``."""
        bounds = [(">=", self.at_least), ("<=", self.at_most)]
        return " and ".join(f"{self.metric} {op} {v:g}" for op, v in bounds if v is not None)


class Amount(_Section):
    """Either a fixed `yuan` per payment, or `yuan_per_parcel` handled in the year, at most
    `cap_yuan` per recipient and year."""

    yuan: float | None = Field(default=None, ge=0)
    yuan_per_parcel: float | None = Field(default=None, ge=0)
    cap_yuan: float | None = Field(default=None, ge=0)


class Rule(_Section):
    """One subsidy or reward. `trigger`: `build` (once, on the day the recipient opens, within
    the horizon), `operating_year` (at the end of each operating year in `years` [k, m]) or
    `yearly` (at the end of every year, within `years` if given, in which the `conditions` have
    held for `consecutive_years` years in a row). `streak` reads `consecutive_years`:
    `each_year` pays every year the run of qualifying years is at least that long,
    `first_after` only in the year it reaches that length (once a run; a broken run starts
    again). `conditions` apply to every trigger but `build`; `budget` names the budget line the
    payments count against. `applies_in`: the counties whose recipients the rule may pay (none
    given: every county and the city). `includes`: payers whose money to the same recipient on
    the same day counts inside this rule's amount ("含省级补助资金,原则上不重复享受": the rule
    pays only what is left of its amount after theirs)."""

    enabled: bool = True
    description: str = ""
    payer: Literal["city", "county", "province", "central"]
    applies_to: Literal["rural_station", "community_station", "warehouse", "county_centre", "city_centre"]
    trigger: Literal["build", "operating_year", "yearly"]
    amount: Amount
    years: tuple[int, int] | None = None
    conditions: tuple[Condition, ...] = ()
    consecutive_years: int = Field(default=1, ge=1, le=50)
    streak: Literal["each_year", "first_after"] = "each_year"
    budget: str | None = None
    applies_in: tuple[str, ...] | None = None
    includes: tuple[Literal["city", "county", "province", "central"], ...] = ()

    def in_window(self, operating_year: int) -> bool:
        """Whether the rule may pay in the recipient's `operating_year` (1 = build year)."""
        if self.trigger == "build":
            return operating_year == 1
        lo, hi = self.years if self.years is not None else (1, 10**6)
        return lo <= operating_year <= hi


class Budget(_Section):
    """A budget line of `payer`: at most `yuan_per_year` for the rules that name it."""

    description: str = ""
    payer: Literal["city", "county", "province", "central"]
    yuan_per_year: float = Field(ge=0)


class Subsidies(_Section):
    """Subsidy `rules` and `budgets`, each by name (so that a scenario extending a policy file
    can change or switch off one rule: `subsidies.rules.<name>.enabled=false`)."""

    rules: dict[str, Rule] = {}
    budgets: dict[str, Budget] = {}

    @property
    def active(self) -> dict[str, Rule]:
        return {name: rule for name, rule in self.rules.items() if rule.enabled}


class RuralOperator(_Section):
    """A village station operator's month. Income: `fee_received_yuan` per parcel received,
    `fee_sent_yuan` per parcel sent (the produce offered at the station, when `upstream` is
    simulated, plus `sent_per_received` x received for anything else sent), commission
    `proxy_commission_share` on
    `proxy_orders_per_household_month` x households buy-on-behalf orders of
    `proxy_order_value_yuan`, `services_yuan_per_month` of convenience services,
    `platform_pay_yuan_per_month` paid by a platform (Ganjie paid 1,500), and subsidies received.
    Costs: `rent_yuan_per_month`, `internet_yuan_per_month`, equipment (`equipment_yuan`
    written off over the first `equipment_months` a station is open), and staff time (`staff_h_per_day` +
    `staff_min_per_parcel` per parcel handled, on open days) at `reservation_wage_yuan_per_h`,
    what the operator could earn otherwise. A month's profit = income - costs. Rent and the
    reservation wage differ between stations: each station's is drawn once, log-normal with the
    stated figure as its mean and coefficient of variation `rent_cv` / `reservation_wage_cv`
    (0: every station the same)."""

    fee_received_yuan: float = Field(default=0.4, ge=0)
    fee_sent_yuan: float = Field(default=1.0, ge=0)
    sent_per_received: float = Field(default=0.0, ge=0, le=100)
    proxy_orders_per_household_month: float = Field(default=0.1, ge=0)
    proxy_order_value_yuan: float = Field(default=100.0, ge=0)
    proxy_commission_share: float = Field(default=0.10, ge=0, le=1)
    services_yuan_per_month: float = Field(default=100.0, ge=0)
    platform_pay_yuan_per_month: float = Field(default=0.0, ge=0)
    rent_yuan_per_month: float = Field(default=200.0, ge=0)
    internet_yuan_per_month: float = Field(default=50.0, ge=0)
    equipment_yuan: float = Field(default=5000.0, ge=0)
    equipment_months: int = Field(default=36, ge=1, le=600)
    staff_h_per_day: float = Field(default=1.0, ge=0, le=24)
    staff_min_per_parcel: float = Field(default=1.0, ge=0, le=60)
    reservation_wage_yuan_per_h: float = Field(default=12.0, ge=0)
    rent_cv: float = Field(default=0.5, ge=0, le=10)
    reservation_wage_cv: float = Field(default=0.3, ge=0, le=10)


class Exit(_Section):
    """When operators quit. After a station's subsidies end (its last operating year that a
    rural-station rule pays in), an operator whose income over the trailing `months` stays
    below their costs (staff time at the reservation wage) closes the station at the month's
    end: always (`deterministic`), or with `probability_per_month` each month it holds
    (`probabilistic`); `none`: stations never close."""

    mode: Literal["none", "deterministic", "probabilistic"] = "none"
    months: int = Field(default=6, ge=1, le=120)
    probability_per_month: float = Field(default=0.25, gt=0, le=1)


class Economics(_Section):
    rural_station: RuralOperator = RuralOperator()
    exit: Exit = Exit()


def policy_problems(subsidies: Subsidies) -> list[tuple]:
    """(field path, message[, bad value]) for rules that cannot work: a metric the recipient
    has not, a per-parcel amount for a recipient without parcels, a window [k, m] with k > m,
    a condition that can never hold, or an unknown budget line (or another payer's). A rule
    that needs more consecutive years than the horizon has is no error (a longer run may meet
    it): its thresholds say it cannot be reached."""
    problems: list[tuple] = []
    for name, rule in subsidies.rules.items():
        at = ("subsidies", "rules", name)
        a = rule.amount
        if (a.yuan is None) == (a.yuan_per_parcel is None):
            problems.append(((*at, "amount"), "give yuan or yuan_per_parcel, not both", a.model_dump()))
        if a.cap_yuan is not None and a.yuan_per_parcel is None:
            problems.append(((*at, "amount", "cap_yuan"), "only with yuan_per_parcel", a.cap_yuan))
        if a.yuan_per_parcel is not None and rule.applies_to not in WITH_PARCELS:
            problems.append(((*at, "amount"), f"a {rule.applies_to} handles no parcels", a.yuan_per_parcel))
        if rule.trigger == "build":
            if rule.years is not None:
                problems.append(
                    ((*at, "years"), "not with trigger build (paid once, on opening)", rule.years)
                )
            if rule.conditions:
                problems.append(((*at, "conditions"), "not with trigger build", len(rule.conditions)))
            if a.yuan_per_parcel is not None:
                problems.append(((*at, "amount"), "trigger build pays a fixed yuan", a.yuan_per_parcel))
        if rule.trigger == "operating_year" and rule.years is None:
            problems.append(((*at, "years"), "required with trigger operating_year, e.g. [2, 3]"))
        if rule.trigger == "yearly" and not rule.conditions:
            problems.append(((*at, "conditions"), "required with trigger yearly (else use operating_year)"))
        if rule.years is not None:
            lo, hi = rule.years
            if lo < 1 or lo > hi:
                problems.append(((*at, "years"), "must be [k, m] with 1 <= k <= m", list(rule.years)))
        for i, cond in enumerate(rule.conditions):
            loc = (*at, "conditions", str(i))
            known = METRICS[rule.applies_to]
            if cond.metric not in known:
                choices = ", ".join(repr(m) for m in known) or "none"
                message = f"not a figure of a {rule.applies_to} (has {choices})"
                problems.append(((*loc, "metric"), message, cond.metric))
            if cond.at_least is None and cond.at_most is None:
                problems.append((loc, "give at_least and/or at_most", cond.metric))
            elif cond.at_least is not None and cond.at_most is not None and cond.at_least > cond.at_most:
                problems.append(
                    (loc, "can never hold: at_least > at_most", f"{cond.at_least:g} > {cond.at_most:g}")
                )
            elif cond.at_most is not None and cond.at_most < 0:
                problems.append(
                    ((*loc, "at_most"), "can never hold: the figure is never negative", cond.at_most)
                )
            elif cond.metric == "open_days" and cond.at_least is not None and cond.at_least > 366:
                problems.append(
                    ((*loc, "at_least"), "can never hold: a year has at most 366 days", cond.at_least)
                )
        if rule.payer in rule.includes:
            problems.append(((*at, "includes"), "a rule cannot include its own payer", rule.payer))
        if rule.applies_in is not None and not rule.applies_in:
            problems.append(((*at, "applies_in"), "lists no county (leave it out: every county)"))
        if rule.budget is not None:
            line = subsidies.budgets.get(rule.budget)
            if line is None:
                choices = ", ".join(repr(b) for b in subsidies.budgets) or "none defined"
                problems.append(((*at, "budget"), f"no such budget line ({choices})", rule.budget))
            elif line.payer != rule.payer:
                message = (
                    f"budget line {rule.budget!r} is the {line.payer}'s, the rule's payer is {rule.payer}"
                )
                problems.append(((*at, "budget"), message, rule.budget))
    return problems
