"""The programme around the delivery network: subsidies paid, station operators' accounts and
stations closing, as an observer of the engine (`sim.core.events`).

Day by day it counts parcels received at each village station and community station (by the day
they arrive), and what each county warehouse ships out for online sellers: their orders
(`warehouses.seller_orders_per_day`, growing) and the produce offered at the county's open
stations (expected offers of the growers `sim.flows.produce` draws, so that both engines count the
same); parcels arriving at each warehouse it reads from the KPI observer's counters.
It pays build rules on the day a recipient opens. At each month's end it draws up every village
station's account (`sim.money.operators`) and applies the exit rule: a station whose operator quits
closes from the next day (through `StationState`; its villages fall back to their township's
express point, and the parcels already on its shelf are still collected). At each year's end
it pays operating-year and yearly rules (`sim.money.subsidies`) before December's
accounts, so that they count as December income; a year the run ends before 31 December pays no
year-end rule (`year_end_rules_unpaid_in` says which). Only days within the horizon count (not
the warm-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from geo.placement import NO_STATION
from sim.core.events import DayEnd, Delivered
from sim.core.ids import COMMUNITY_LOCKER, STREAM_EXIT, STREAM_OPERATORS, VILLAGE_STATION
from sim.engine.model import Model
from sim.flows.produce import grower_rates, in_season
from sim.money.operators import draw_costs, month_accounts, quits
from sim.money.subsidies import Ledger, Recipients, summarise
from sim.network.station_state import StationState

_ACCOUNT_FIELDS = ("received", "sent", "income", "subsidy", "costs")


@dataclass(frozen=True)
class ProgrammeResult:
    """`ledger` (`ledger.csv`), `stations` (`stations.csv`: per station and year), and the
    `subsidies` and `survival` summaries (`metrics.json`, unrounded)."""

    ledger: pd.DataFrame
    stations: pd.DataFrame
    subsidies: dict[str, Any]
    survival: dict[str, Any]


def recipients(
    model: Model, state: StationState, sites: np.ndarray, centre_years: dict[str, int]
) -> dict[str, Recipients]:
    """Everyone the rules may pay: the village stations at `sites` (village id; operating year 1
    = build year), community stations (``<township>/community/<k>``), county warehouses
    (``warehouse/<county>``) and the public service centres (``centre/<county>``,
    ``centre/city``; built in `centre_years`, 0: never)."""
    p, region, start_year = model.points, model.network.region, model.scenario.horizon.start.year
    counties = np.array(p.county_names, dtype=object)
    towns = region.townships
    seat = state.community_seat
    nth = np.zeros(len(seat), dtype=np.int64)  # a station's number at its seat, from 1
    for t in np.unique(seat):
        nth[seat == t] = np.arange(int((seat == t).sum())) + 1
    town_ids = towns["township_id"].to_numpy()[seat]

    def same(kind: str, ids: list[str], county: np.ndarray, first_year: int) -> Recipients:
        return Recipients(kind, np.array(ids, dtype=object), county, np.full(len(ids), first_year))

    return {
        "rural_station": Recipients(
            "rural_station",
            region.villages["village_id"].to_numpy(dtype=object)[sites],
            counties[p.county[sites]],
            model.network.plan.year_built[sites],
        ),
        "community_station": same(
            "community_station",
            [f"{tid}/community/{k}" for tid, k in zip(town_ids, nth, strict=True)],
            towns["county"].to_numpy(dtype=object)[seat],
            start_year,
        ),
        "warehouse": same("warehouse", [f"warehouse/{c}" for c in counties], counties, start_year),
        "county_centre": same(
            "county_centre", [f"centre/{c}" for c in counties], counties, centre_years["county_centre"]
        ),
        "city_centre": same(
            "city_centre", ["centre/city"], np.array([""], dtype=object), centre_years["city_centre"]
        ),
    }


class Programme:
    """Subsidy ledger, operator accounts and exits of one run; subscribe it with the engine
    given the same `state`. `warehouse_orders` (counties x counted days): orders by the day they
    reach the warehouse, filled as they are ordered (`Kpi.warehouse_orders`)."""

    def __init__(self, model: Model, state: StationState, seed: int, warehouse_orders: np.ndarray):
        self.m, self.state, self.warehouse_orders = model, state, warehouse_orders
        sc = model.scenario
        self.policy, self.operator, self.exit = sc.subsidies, sc.economics.rural_station, sc.economics.exit
        self.rng = np.random.default_rng([seed, STREAM_EXIT])
        p = model.points
        self.sites = np.flatnonzero(model.network.plan.year_built != NO_STATION)  # village of each station
        centres = sc.stations.centres
        self.centre_years = {"county_centre": centres.county or 0, "city_centre": centres.city or 0}
        self.ledger = Ledger(self.policy, recipients(model, state, self.sites, self.centre_years))
        self.households = p.households[self.sites]
        self.seat_of_point = p.township
        self.terminals = sc.stations.community.terminals
        wh = sc.warehouses
        self.firms = wh.firms_served
        self.site_county = p.county[self.sites]
        # Orders each county warehouse ships out for online sellers, a day in the base year.
        orders = wh.seller_orders_per_day
        names = p.county_names
        self.seller_orders = (
            np.array([float(orders.get(c, 0.0)) for c in names])
            if isinstance(orders, dict)
            else np.full(len(names), float(orders))
        )
        self.seller_growth = wh.seller_orders_growth_per_year or sc.demand.growth_per_year
        self.base_year = sc.demand.base_year
        # Produce offered at each station a day in season (the growers `sim.flows.produce` draws,
        # from the scenario's seed), and each product's season by day: a station's expected
        # offers on a day it is open. None: produce is not simulated.
        self.produce_rates: np.ndarray | None = None
        self.season: np.ndarray | None = None
        if sc.upstream.enabled:
            self.produce_rates = grower_rates(sc.upstream, p.households[: p.n_villages], sc.seed)[self.sites]
            self.season = in_season(sc.upstream, [model.date(d) for d in range(model.total_days)])
        # Last operating year any village-station rule pays in (0: none; a yearly rule
        # without a window subsidises for ever).
        last = 0
        for rule in self.policy.active.values():
            if rule.applies_to == "rural_station":
                last = max(last, 1 if rule.trigger == "build" else rule.years[1] if rule.years else 10**6)
        self.subsidy_end_year = self.ledger.recipients["rural_station"].first_year + last - 1
        # Parcels arriving per day (by arrival day, filled by `on_delivered` ahead of time).
        self.pending_village: dict[int, np.ndarray] = {}
        self.pending_seat: dict[int, np.ndarray] = {}
        self.n_towns = len(model.network.region.townships)
        s, c = len(self.sites), len(state.community_seat)
        # Each operator's rent and reservation wage, drawn once per station.
        self.costs = draw_costs(self.operator, s, np.random.default_rng([seed, STREAM_OPERATORS]))
        self.month = {"open_days": np.zeros(s), "received": np.zeros(s), "produce": np.zeros(s)}
        # This year's sums: arrays per station, community station or county, and "days" an int.
        self.year: dict[str, Any] = {
            "open_days": np.zeros(s), "received": np.zeros(s), "produce": np.zeros(s),
            "community_open_days": np.zeros(c),
            "community_received": np.zeros(c), "days": 0,
            "warehouse_produce": np.zeros(model.n_counties), "seller_orders": np.zeros(model.n_counties),
            **{f"account_{f}": np.zeros(s) for f in _ACCOUNT_FIELDS},
        }  # fmt: skip
        self.trailing = np.zeros((self.exit.months, s))  # profit of the last months, a row each
        self.months_run = 0
        self.age_months = np.zeros(s, dtype=np.int64)  # months each station has been open
        self.unsubsidised = np.zeros(s, dtype=np.int64)  # months run in full since subsidies ended
        self.closed_on = np.full(s, None, dtype=object)
        self.station_rows: list[pd.DataFrame] = []
        self.open_at_year_end: dict[int, dict[str, int]] = {}
        self.rural_open_at_end: dict[int, np.ndarray] = {}  # per year: each station open at its end
        self.closed_by_year: dict[int, int] = {}
        self.partial_year: int | None = None  # the run ends before this year's 31 December
        self.warehouse_years: dict[str, dict[str, dict[str, float]]] = {}  # county -> year -> figures

    # ------------------------------------------------------------------------------- events
    def on_delivered(self, e: Delivered) -> None:
        p = e.parcels
        day = (e.arrive_h * (1.0 / 24.0)).astype(np.int64)
        station = p.ptype == VILLAGE_STATION
        self._bin(self.pending_village, day[station], p.dest[station], self.m.points.n_villages)
        locker = p.ptype == COMMUNITY_LOCKER
        self._bin(self.pending_seat, day[locker], self.seat_of_point[p.point[locker]], self.n_towns)

    @staticmethod
    def _bin(into: dict[int, np.ndarray], day: np.ndarray, where: np.ndarray, size: int) -> None:
        if not len(day):
            return
        first = int(day.min())
        counts = np.bincount((day - first) * size + where, minlength=(int(day.max()) - first + 1) * size)
        for k, row in enumerate(counts.reshape(-1, size)):
            if row.any():
                into.setdefault(first + k, np.zeros(size))[:] += row

    def on_day_end(self, e: DayEnd) -> None:
        d, m, st = e.day, self.m, self.state
        village = self.pending_village.pop(d, None)
        seat = self.pending_seat.pop(d, None)
        if not e.counted:
            return
        today, first = e.date, d == m.warmup
        opens = st.rural_opens[self.sites]
        opening = np.flatnonzero((opens == d) | (first & (opens <= d)))
        self.ledger.opened("rural_station", opening, today)
        if first:
            self.ledger.opened("community_station", np.arange(len(st.community_seat)), today)
            self.ledger.opened("warehouse", np.arange(m.n_counties), today)
        for kind, year in self.centre_years.items():
            if year and (today == date(year, 1, 1) or (first and year == today.year)):
                self.ledger.opened(kind, np.arange(len(self.ledger.recipients[kind])), today)
        open_ = e.rural_open[self.sites]
        self.month["open_days"] += open_
        y = self.year
        if self.produce_rates is not None and self.season is not None:  # set together
            offered = (self.produce_rates @ self.season[d]) * open_
            self.month["produce"] += offered
            y["warehouse_produce"] += np.bincount(self.site_county, offered, minlength=m.n_counties)
        years = today.year - self.base_year + (today.timetuple().tm_yday - 1) / 365.0
        y["seller_orders"] += self.seller_orders * self.seller_growth**years
        if village is not None:
            self.month["received"] += village[self.sites]
        c_open = (st.community_opens <= d) & (d < st.community_closes)
        y["community_open_days"] += c_open
        if seat is not None:
            at_seat = np.bincount(st.community_seat[c_open], minlength=self.n_towns)
            share = seat[st.community_seat] / np.maximum(at_seat[st.community_seat], 1)
            y["community_received"] += np.where(c_open, share, 0.0)
        y["days"] += 1
        last_day = d == m.total_days - 1
        tomorrow = today + timedelta(days=1)
        if tomorrow.year != today.year:  # a year cut short by the run's end pays no year-end rule
            self._year_end(d, today)
        elif last_day:
            self.partial_year = today.year
        if tomorrow.month != today.month or last_day:
            self._month_end(d, today, last_day)
        if tomorrow.year != today.year or last_day:
            self._station_year(today.year)

    # ------------------------------------------------------------------------------ periods
    def _year_end(self, d: int, today: date) -> None:
        y = self.year
        last = d - self.m.warmup  # the year's counted days, in `warehouse_orders`
        orders = self.warehouse_orders[:, last - y["days"] + 1 : last + 1].sum(axis=1)
        received = y["received"] + self.month["received"]
        produce = y["produce"] + self.month["produce"]
        handled = received * (1.0 + self.operator.sent_per_received) + produce  # in and out
        open_days = y["open_days"] + self.month["open_days"]
        c_days = y["community_open_days"]
        figures = {
            "rural_station": {
                "open_days": open_days,
                "parcels_handled": handled,
                "parcels_per_day": handled / np.maximum(open_days, 1),
            },
            "community_station": {
                "open_days": c_days,
                "parcels_handled": y["community_received"],
                "parcels_per_day": y["community_received"] / np.maximum(c_days, 1),
                "operator_terminals": np.full(len(c_days), float(self.terminals)),
            },
            "warehouse": {  # shipped out for sellers (their orders and the produce) vs arriving
                "orders_per_day": (y["seller_orders"] + y["warehouse_produce"]) / max(y["days"], 1),
                "parcels_in_per_day": orders / max(y["days"], 1),
                "firms_served": np.full(self.m.n_counties, float(self.firms)),
            },
            **{
                kind: {
                    "open_days": np.where((0 < year <= today.year), 366.0, 0.0)
                    * np.ones(len(self.ledger.recipients[kind]))
                }
                for kind, year in self.centre_years.items()
            },
        }
        self.ledger.year_end(today.year, figures, today)
        days = max(y["days"], 1)
        for i, county in enumerate(self.m.points.county_names):
            self.warehouse_years.setdefault(county, {})[str(today.year)] = {
                "orders_per_day": float(figures["warehouse"]["orders_per_day"][i]),
                "seller_orders_per_day": float(y["seller_orders"][i] / days),
                "produce_per_day": float(y["warehouse_produce"][i] / days),
                "parcels_in_per_day": float(figures["warehouse"]["parcels_in_per_day"][i]),
            }

    def _month_end(self, d: int, today: date, last_day: bool) -> None:
        month_start = today.replace(day=1)
        paid = self.ledger.paid_to("rural_station", since=month_start)
        mo = self.month
        acc = month_accounts(
            self.operator,
            households=self.households,
            open_days=mo["open_days"],
            days_in_month=(today - month_start).days + 1,
            received=mo["received"],
            subsidy=paid,
            age_months=self.age_months,
            produce=mo["produce"],
            costs=self.costs,
        )
        self.age_months += mo["open_days"] > 0
        y = self.year
        y["open_days"] += mo["open_days"]
        y["received"] += mo["received"]
        y["produce"] += mo["produce"]
        for f in _ACCOUNT_FIELDS:
            y[f"account_{f}"] += getattr(acc, f)
        self.trailing[self.months_run % len(self.trailing)] = acc.profit
        self.months_run += 1
        full_month = mo["open_days"] == (today - month_start).days + 1
        after = month_start.year > self.subsidy_end_year
        self.unsubsidised = np.where(after & full_month, self.unsubsidised + 1, 0)
        if not last_day:
            open_now = self.state.rural_open(d)[self.sites]
            leaving = quits(self.exit, self.trailing.sum(axis=0), self.unsubsidised, self.rng) & open_now
            if leaving.any():
                self.state.close_rural(self.sites[leaving], d + 1)
                self.closed_on[leaving] = (today + timedelta(days=1)).isoformat()
                year = (today + timedelta(days=1)).year
                self.closed_by_year[year] = self.closed_by_year.get(year, 0) + int(leaving.sum())
        for v in mo.values():
            v[:] = 0.0

    def _station_year(self, year: int) -> None:
        y, st, d_end = self.year, self.state, self.m.total_days
        rec = self.ledger.recipients
        last_day = min((date(year, 12, 31) - self.m.first_date).days, d_end - 1)
        rural_open = st.rural_open(last_day)[self.sites]
        c_open = (st.community_opens <= last_day) & (last_day < st.community_closes)
        self.open_at_year_end[year] = {"rural": int(rural_open.sum()), "community": int(c_open.sum())}
        self.rural_open_at_end[year] = rural_open.copy()

        def table(kind: str, open_days, received, subsidy, open_at_end, **more) -> pd.DataFrame:
            r = rec[kind]
            return pd.DataFrame(
                {"station": r.ids, "kind": kind, "county": r.county, "year": year, "built": r.first_year,
                 "open_days": open_days, "parcels_received": received, "subsidy_yuan": subsidy,
                 "open_at_year_end": open_at_end, **more}
            )  # fmt: skip

        rural = table(
            "rural_station", y["open_days"], y["received"], y["account_subsidy"], rural_open,
            parcels_sent=y["account_sent"], income_yuan=y["account_income"], costs_yuan=y["account_costs"],
            profit_yuan=y["account_income"] + y["account_subsidy"] - y["account_costs"],
            closed_on=self.closed_on, rent_yuan_per_month=self.costs.rent_yuan_per_month,
            reservation_wage_yuan_per_h=self.costs.wage_yuan_per_h,
        )[rec["rural_station"].first_year <= year]  # fmt: skip
        community = table(
            "community_station", y["community_open_days"], y["community_received"],
            self._paid_in("community_station", year), c_open,
        )  # fmt: skip
        self.station_rows += [rural, community]
        for value in y.values():
            if isinstance(value, np.ndarray):
                value[:] = 0.0
        y["days"] = 0

    def _paid_in(self, kind: str, year: int) -> np.ndarray:
        return self.ledger.paid_to(kind, since=date(year, 1, 1)) - self.ledger.paid_to(
            kind, since=date(year + 1, 1, 1)
        )

    # ------------------------------------------------------------------------------ summary
    def result(self, *, parcels_delivered: int) -> ProgrammeResult:
        """What the run paid and kept open (call after the run)."""
        years = sorted(self.open_at_year_end)
        rec = self.ledger.recipients
        built = int((rec["rural_station"].first_year <= years[-1]).sum()) if years else 0
        stations_built = built + len(rec["community_station"])
        subsidies = summarise(self.ledger, years, stations_built=stations_built, parcels=parcels_delivered)
        subsidies["year_end_rules_unpaid_in"] = self.partial_year
        # What each county warehouse shipped out for sellers (orders_per_day, the reward's figure)
        # beside the parcels arriving for villagers, a day in each full year.
        subsidies["warehouses"] = self.warehouse_years
        closed = np.array([c is not None for c in self.closed_on], dtype=bool)
        paid_rural = self.ledger.paid_to("rural_station")
        stations = pd.concat(self.station_rows, ignore_index=True) if self.station_rows else pd.DataFrame()
        rural = stations[stations["kind"] == "rural_station"] if len(stations) else stations
        survival = {
            "exit_rule": self.exit.mode,
            "by_cohort": survival_by_cohort(
                rec["rural_station"].first_year, self.subsidy_end_year, self.rural_open_at_end, closed
            ),
            "open_at_year_end": {str(y): v for y, v in self.open_at_year_end.items()},
            "rural_built": built,
            "rural_open_at_end": self.open_at_year_end[years[-1]]["rural"] if years else 0,
            "rural_open_at_end_share": (self.open_at_year_end[years[-1]]["rural"] / built) if built else None,
            "rural_closed": int(closed.sum()),
            "rural_closed_by_year": {str(y): self.closed_by_year.get(y, 0) for y in years},
            "subsidy_to_stations_that_closed_yuan": float(paid_rural[closed].sum()),
            "operators_by_year": {
                str(y): {
                    "stations_open": int((g["open_days"] > 0).sum()),
                    "mean_profit_yuan_per_month": float(
                        g["profit_yuan"].sum() / max(g["open_days"].sum() / 30.4375, 1e-9)
                    ),
                    "share_with_profit": float((g.loc[g["open_days"] > 0, "profit_yuan"] >= 0).mean())
                    if (g["open_days"] > 0).any() else None,
                    "income_yuan": float(g["income_yuan"].sum()),
                    "subsidy_yuan": float(g["subsidy_yuan"].sum()),
                    "costs_yuan": float(g["costs_yuan"].sum()),
                }
                for y, g in rural.groupby("year")
            } if len(rural) else {},
        }  # fmt: skip
        return ProgrammeResult(self.ledger.table(), stations, subsidies, survival)


def survival_by_cohort(
    built: np.ndarray, subsidies_end: np.ndarray, open_at_end: dict[int, np.ndarray], closed: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Village stations by build year (cohort), from each station's year `built`, the last
    calendar year a village-station rule subsidises it (`subsidies_end`), whether it is open at
    the end of each year (`open_at_end`, the last entry: at the run's end) and whether it
    `closed`: per cohort, stations `built`, its `subsidies_end` (None: subsidised for ever),
    `open_at_year_end` of each year from its build year, `closed` (and `closed_share`), and
    `surviving_after_subsidies`: the share of the cohort open at the end of the N-th year after
    its subsidies end, for each N the run reaches."""
    years = sorted(open_at_end)
    out: dict[str, dict[str, Any]] = {}
    if not years:
        return out
    for cohort in np.unique(built[(built > 0) & (built <= years[-1])]).tolist():
        mine = built == cohort
        n = int(mine.sum())
        end = int(subsidies_end[mine].max())
        out[str(cohort)] = {
            "built": n,
            "subsidies_end": end if end < 10**5 else None,
            "open_at_year_end": {str(y): int(open_at_end[y][mine].sum()) for y in years if y >= cohort},
            "closed": int(closed[mine].sum()),
            "closed_share": float(closed[mine].sum() / n),
            "surviving_after_subsidies": {
                str(y - end): float(open_at_end[y][mine].sum() / n) for y in years if y > end
            },
        }
    return out
