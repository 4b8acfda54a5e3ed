"""The subsidy rules engine and its ledger: which rule pays whom, when, and how much.

Rules are data (`sim.scenario.policy.Rule`). Whoever runs the programme (`sim.money.programme`) tells the
ledger when recipients open (`opened`: build rules pay that day) and, at each year's end, every
recipient's figures of the year (`year_end`: operating-year and yearly rules). Every payment is
a row: date, payer, rule, recipient kind and id, county, yuan, and the figures it was paid on.
Money in yuan; years are calendar years.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import cast

import numpy as np
import pandas as pd

from sim.scenario.policy import RECIPIENTS, WITH_PARCELS, Rule, Subsidies

LEDGER_COLUMNS = ("date", "payer", "rule", "recipient_kind", "recipient", "county", "amount_yuan", "basis")


@dataclass(frozen=True)
class Recipients:
    """Everyone of one kind a rule may pay: `ids` (text), `county` name ("" for the city),
    `first_year` (calendar year of operating year 1; 0 if never open)."""

    kind: str
    ids: np.ndarray
    county: np.ndarray
    first_year: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Ledger:
    """Payments of the `subsidies` rules to `recipients` (one `Recipients` per kind)."""

    subsidies: Subsidies
    recipients: dict[str, Recipients]
    rows: list[pd.DataFrame] = field(default_factory=list)
    #: Per rule: years in a row each recipient has met the rule's conditions.
    streak: dict[str, np.ndarray] = field(default_factory=dict)
    #: Per conditional rule and year: recipients that met / missed its conditions (eligible only).
    outcomes: dict[str, dict[int, dict[str, np.ndarray]]] = field(default_factory=dict)

    #: Per (recipient kind, payer): yuan paid to each recipient on `_day` (for `includes`).
    _day_paid: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    _day: date | None = None

    def __post_init__(self) -> None:
        for kind in RECIPIENTS:
            self.recipients.setdefault(kind, _none(kind))
        for name, rule in self.subsidies.active.items():
            self.streak[name] = np.zeros(len(self.recipients[rule.applies_to]), dtype=np.int64)

    def _rules(self) -> list[tuple[str, Rule]]:
        """Active rules, those that include other payers' money last (so that it is known)."""
        return sorted(self.subsidies.active.items(), key=lambda item: bool(item[1].includes))

    def in_scope(self, rule: Rule) -> np.ndarray:
        """Bool per recipient of the rule's kind: its county is one the rule applies in."""
        rec = self.recipients[rule.applies_to]
        if rule.applies_in is None:
            return np.ones(len(rec), dtype=bool)
        return np.isin(rec.county.astype(str), list(rule.applies_in))

    def opened(self, kind: str, which: np.ndarray, on: date) -> None:
        """Recipients `which` (indices) of `kind` open on `on`: build rules pay them."""
        if not len(which):
            return
        for name, rule in self._rules():
            if rule.applies_to == kind and rule.trigger == "build":
                mine = which[self.in_scope(rule)[which]]
                # cast: `policy_problems` makes build rules pay a fixed yuan, never None here
                amount = np.full(len(mine), float(cast(float, rule.amount.yuan)))
                self._pay(name, rule, mine, amount, on, np.full(len(mine), f"opened {on.isoformat()}"))

    def year_end(self, year: int, figures: dict[str, dict[str, np.ndarray]], on: date) -> None:
        """Pay the year's operating-year and yearly rules. `figures[kind][metric]` holds each
        recipient's figure of the year; `open_days` > 0 marks those open during it (only they
        are paid); `parcels_handled` is what per-parcel amounts pay for."""
        for name, rule in self._rules():
            if rule.trigger == "build":
                continue
            rec, fig = self.recipients[rule.applies_to], figures.get(rule.applies_to, {})
            n = len(rec)
            if n == 0:
                continue
            open_days = fig.get("open_days", np.full(n, 366.0))
            operating = year - rec.first_year + 1
            window = np.array([rule.in_window(int(k)) for k in operating], dtype=bool)
            eligible = (open_days > 0) & (rec.first_year > 0) & window & self.in_scope(rule)
            met = np.ones(n, dtype=bool)
            missed_each = []  # per condition: eligible recipients that missed it
            for cond in rule.conditions:
                holds = cond.holds(fig[cond.metric])
                missed_each.append(int((eligible & ~holds).sum()))
                met &= holds
            streak = self.streak[name]
            streak[:] = np.where(met & (open_days > 0), streak + 1, 0)
            if rule.conditions:
                self.outcomes.setdefault(name, {})[year] = {
                    "met": np.flatnonzero(eligible & met),
                    "missed": np.flatnonzero(eligible & ~met),
                    "missed_by_condition": np.array(missed_each, dtype=np.int64),
                }
            n_years = rule.consecutive_years
            run = streak >= n_years if rule.streak == "each_year" else streak == n_years
            pay = np.flatnonzero(eligible & met & run)
            if not len(pay):
                continue
            basis = [f"{c.metric}={_fmt(fig[c.metric][i])}" for c in rule.conditions for i in pay]
            by_row = np.array(basis, dtype=object).reshape(len(rule.conditions), len(pay)) if basis else None
            a = rule.amount
            if a.yuan_per_parcel is not None:
                handled = fig["parcels_handled"][pay]
                amount = handled * a.yuan_per_parcel
                if a.cap_yuan is not None:
                    amount = np.minimum(amount, a.cap_yuan)
                parcels = np.array([f"parcels_handled={_fmt(h)}" for h in handled], dtype=object)
                by_row = parcels[None, :] if by_row is None else np.vstack([by_row, parcels])
            else:  # cast: `policy_problems` asks for exactly one of yuan and yuan_per_parcel
                amount = np.full(len(pay), float(cast(float, a.yuan)))
            if rule.consecutive_years > 1:
                run = np.array([f"{s} years in a row" for s in streak[pay]], dtype=object)
                by_row = run[None, :] if by_row is None else np.vstack([by_row, run])
            text = (
                np.array(["; ".join(col) for col in by_row.T])
                if by_row is not None
                else np.full(len(pay), "")
            )
            self._pay(name, rule, pay, amount, on, text)

    def _pay(self, name: str, rule: Rule, which: np.ndarray, amount: np.ndarray, on: date, basis) -> None:
        rec, kind = self.recipients[rule.applies_to], rule.applies_to
        if self._day != on:
            self._day, self._day_paid = on, {}
        if rule.includes and len(which):
            inside = sum(
                (self._day_paid.get((kind, payer), np.zeros(len(rec)))[which] for payer in rule.includes),
                np.zeros(len(which)),
            )
            if inside.any():
                who = ", ".join(rule.includes)
                basis = np.array(
                    [
                        "; ".join(x for x in (str(b), f"{who} paid {_fmt(v)} inside it" if v else "") if x)
                        for b, v in zip(basis, inside, strict=True)
                    ],
                    dtype=object,
                )
            amount = np.maximum(amount - inside, 0.0)
            keep = amount > 0
            which, amount, basis = which[keep], amount[keep], np.asarray(basis, dtype=object)[keep]
        if not len(which):
            return
        paid = self._day_paid.setdefault((kind, rule.payer), np.zeros(len(rec)))
        np.add.at(paid, which, amount)
        self.rows.append(
            pd.DataFrame(
                {
                    "date": on.isoformat(),
                    "payer": rule.payer,
                    "rule": name,
                    "recipient_kind": rule.applies_to,
                    "recipient": rec.ids[which],
                    "county": rec.county[which],
                    "amount_yuan": amount,
                    "basis": basis,
                }
            )
        )

    def table(self) -> pd.DataFrame:
        """Every payment, in the order paid (`ledger.csv`)."""
        if not self.rows:
            return pd.DataFrame(
                {c: pd.Series(dtype=float if c == "amount_yuan" else object) for c in LEDGER_COLUMNS}
            )
        return pd.concat(self.rows, ignore_index=True)

    def paid_to(self, kind: str, since: date | None = None) -> np.ndarray:
        """Yuan paid to each recipient of `kind` (on or after `since` when given)."""
        rec = self.recipients[kind]
        total = np.zeros(len(rec))
        index = {r: i for i, r in enumerate(rec.ids)}
        for chunk in self.rows:
            if chunk["recipient_kind"].iat[0] != kind or (
                since is not None and chunk["date"].iat[0] < since.isoformat()
            ):
                continue
            np.add.at(total, chunk["recipient"].map(index).to_numpy(), chunk["amount_yuan"].to_numpy())
        return total


def _none(kind: str) -> Recipients:
    return Recipients(kind, np.empty(0, dtype=object), np.empty(0, dtype=object), np.empty(0, dtype=np.int64))


def _fmt(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def summarise(
    ledger: Ledger,
    years: list[int],
    *,
    stations_built: int,
    parcels: int,
) -> dict:
    """`metrics.json` "subsidies": totals by year, payer, rule, county and year x payer; yuan per
    station built and per parcel delivered; each budget line
    per year (spent, over budget, shortfall); each conditional rule's outcome per year (how many
    recipients met and missed its conditions, each condition's misses, and which recipients, for
    warehouses and centres), and the conditions that never bind (met by every recipient the rule
    could pay, in every year); the counties of rules with a scope (`applies_in`)."""
    table = ledger.table()
    table["year"] = table["date"].str[:4].astype(int) if len(table) else pd.Series(dtype=int)
    total = float(table["amount_yuan"].sum())

    def by(column: str) -> dict:
        return {str(k): float(v) for k, v in table.groupby(column, sort=True)["amount_yuan"].sum().items()}

    by_year = {str(y): float(table.loc[table["year"] == y, "amount_yuan"].sum()) for y in years}
    by_year_payer = {
        str(y): {
            p: float(v) for p, v in table[table["year"] == y].groupby("payer")["amount_yuan"].sum().items()
        }
        for y in years
    }
    to_stations = float(table.loc[table["recipient_kind"].isin(WITH_PARCELS), "amount_yuan"].sum())
    budgets = {}
    rules = ledger.subsidies.active
    for line, budget in ledger.subsidies.budgets.items():
        mine = table["rule"].isin([name for name, r in rules.items() if r.budget == line])
        per_year = {}
        for y in years:
            spent = float(table.loc[mine & (table["year"] == y), "amount_yuan"].sum())
            per_year[str(y)] = {
                "spent_yuan": spent,
                "over_budget": spent > budget.yuan_per_year,
                "shortfall_yuan": max(spent - budget.yuan_per_year, 0.0),
            }
        budgets[line] = {
            "payer": budget.payer,
            "yuan_per_year": budget.yuan_per_year,
            "rules": [name for name, r in rules.items() if r.budget == line],
            "years_over_budget": [int(y) for y, f in per_year.items() if f["over_budget"]],
            "by_year": per_year,
        }
    thresholds = {}
    for name, outcome_years in ledger.outcomes.items():
        rule = rules[name]
        ids = ledger.recipients[rule.applies_to].ids
        named = rule.applies_to not in WITH_PARCELS
        conds = rule.conditions
        tried = sum(len(o["met"]) + len(o["missed"]) for o in outcome_years.values())
        missed_each = sum((o["missed_by_condition"] for o in outcome_years.values()), np.zeros(len(conds)))
        never = [c.describe() for c, m in zip(rule.conditions, missed_each, strict=True) if tried and not m]
        thresholds[name] = {
            "conditions": [c.describe() for c in rule.conditions],
            "consecutive_years": rule.consecutive_years,
            "streak": rule.streak,
            "applies_in": list(rule.applies_in) if rule.applies_in is not None else None,
            "reachable_within_horizon": rule.consecutive_years <= len(years),
            # A condition met by every recipient the rule could pay, every year: it decides nothing.
            "conditions_never_binding": never,
            "never_binds": bool(tried) and len(never) == len(rule.conditions),
            "by_year": {
                str(y): {
                    "met": len(o["met"]),
                    "missed": len(o["missed"]),
                    "missed_by_condition": {
                        c.describe(): int(m) for c, m in zip(conds, o["missed_by_condition"], strict=True)
                    },
                    **(
                        {
                            "met_by": [str(i) for i in ids[o["met"]]],
                            "missed_by": [str(i) for i in ids[o["missed"]]],
                        }
                        if named
                        else {}
                    ),
                }
                for y, o in sorted(outcome_years.items())
            },
        }
    counties = {str(c) for r in ledger.recipients.values() for c in r.county} - {""}
    scopes = {
        name: {
            "applies_in": list(r.applies_in),
            # A policy file is shared between regions: counties it names that this one has not.
            "not_in_region": [c for c in r.applies_in if c not in counties],
        }
        for name, r in rules.items()
        if r.applies_in is not None
    }
    return {
        "total_yuan": total,
        "payments": len(table),
        "by_year": by_year,
        "by_payer": by("payer"),
        "by_year_and_payer": by_year_payer,
        "by_rule": {name: float(table.loc[table["rule"] == name, "amount_yuan"].sum()) for name in rules},
        "by_county": {k: v for k, v in by("county").items() if k},
        "city_level_yuan": float(table.loc[table["county"] == "", "amount_yuan"].sum()),
        "to_stations_yuan": to_stations,
        "per_station_built_yuan": to_stations / stations_built if stations_built else None,
        "per_parcel_yuan": total / parcels if parcels else None,
        "budgets": budgets,
        "thresholds": thresholds,
        "scopes": scopes,
    }
