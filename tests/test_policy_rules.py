"""The subsidy rules against the Lishui 2015 opinions' wording (issue 20, items 4 and 10; the text
is cited in `docs/sources.md`): the public-warehouse reward counts what the warehouse ships out for
sellers, not parcels arriving for villagers; a rule's scope (`applies_in`) and its reading of a run
of qualifying years (`streak`); city money that includes the province's ("含省级补助资金,原则上不重复享受");
conditions that never bind."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from analysis.cli import BUNDLED
from geo.errors import InputError
from sim.flows.produce import grower_rates, in_season
from sim.money.subsidies import Ledger, Recipients, summarise
from sim.network.build import build_network
from sim.run import simulate
from sim.scenario.load import load_scenario
from sim.scenario.policy import Subsidies

POLICY = BUNDLED / "policies" / "lishui.yaml"


def recipients(kind, ids, first_year, county):
    ids = np.array(ids, dtype=object)
    return Recipients(kind, ids, np.asarray(county, dtype=object), np.asarray(first_year))


def warehouse_rule(**more):
    return Subsidies.model_validate({"rules": {"wh": {
        "payer": "city", "applies_to": "warehouse", "trigger": "yearly", "amount": {"yuan": 100},
        "conditions": [{"metric": "orders_per_day", "at_least": 8000},
                       {"metric": "firms_served", "at_least": 10}],
        "consecutive_years": 3, **more}}})  # fmt: skip


def pay_years(subsidies, per_year, county=("A",)):
    """Years (and recipients) paid when each year's orders a day are `per_year[year]`."""
    n = len(county)
    ledger = Ledger(subsidies, {"warehouse": recipients("warehouse", [f"w{i}" for i in range(n)],
                                                        [2016] * n, list(county))})  # fmt: skip
    for year, orders in per_year.items():
        figures = {
            "warehouse": {"orders_per_day": np.full(n, float(orders)), "firms_served": np.full(n, 10.0)}
        }
        ledger.year_end(year, figures, date(year, 12, 31))
    return ledger


# Qualifying 2016-2019, a miss in 2020, qualifying again 2021-2023.
ORDERS = {2016: 8000, 2017: 9000, 2018: 8500, 2019: 8000, 2020: 7999, 2021: 8000, 2022: 8000, 2023: 9000}


@pytest.mark.parametrize(
    ("streak", "paid_in"),
    [
        # each_year: every year the run of qualifying years is >= 3 long: 2018, 2019 (run of 4),
        # not 2020 (missed), not 2021-2022 (runs of 1 and 2), 2023 (3 again).
        ("each_year", [2018, 2019, 2023]),
        # first_after: only the year the run reaches 3: 2018, then 2023 for the second run.
        ("first_after", [2018, 2023]),
    ],
)
def test_streak_readings_hand_worked(streak, paid_in):
    table = pay_years(warehouse_rule(streak=streak), ORDERS).table()
    assert [int(d[:4]) for d in table["date"]] == paid_in
    assert table["amount_yuan"].sum() == 100 * len(paid_in)


def test_applies_in_pays_only_the_counties_named():
    ledger = pay_years(warehouse_rule(applies_in=["Liandu"]), ORDERS, county=("Liandu", "Jinyun"))
    table = ledger.table()
    assert set(table["county"]) == {"Liandu"} and len(table) == 3
    s = summarise(ledger, list(ORDERS), stations_built=0, parcels=1)
    # Jinyun qualifies on its figures, but the rule does not apply there: not counted as met.
    assert s["thresholds"]["wh"]["by_year"]["2018"]["met_by"] == ["w0"]
    assert s["scopes"]["wh"] == {"applies_in": ["Liandu"], "not_in_region": []}
    # Build rules too.
    build = Subsidies.model_validate({"rules": {"b": {
        "payer": "city", "applies_to": "rural_station", "trigger": "build", "amount": {"yuan": 2000},
        "applies_in": ["A"]}}})  # fmt: skip
    ledger = Ledger(build, {"rural_station": recipients("rural_station", ["v1", "v2", "v3"], [2016] * 3,
                                                        ["A", "B", "A"])})  # fmt: skip
    ledger.opened("rural_station", np.arange(3), date(2016, 1, 1))
    assert ledger.table()["recipient"].tolist() == ["v1", "v3"]


def test_lishui_warehouse_rule_is_the_city_districts():
    """The seed: "本意见适用于市区企业,包括市直、莲都区和开发区企业": the city's warehouse reward
    is Liandu's; the station build rule ("[含各县(市、区)]") covers every county."""
    rules = load_scenario(BUNDLED / "lishui-2018.yaml").scenario.subsidies.rules
    assert rules["public-warehouse"].applies_in == ("Liandu",)
    assert rules["public-warehouse"].streak == "each_year"
    assert rules["rural-station-build"].applies_in is None


# --------------------------------------------------------------------------- whole runs


def run(write, *sets, years=1, loaded_too=False):
    path = write(
        "w.yaml",
        f"""
        extends: {POLICY}
        name: w
        seed: 4
        region: {{preset: small, villages: 24, roads: synthetic}}
        horizon: {{start: 2016-01-01, years: {years}}}
        stations: {{rural: {{target: 6}}, community: {{count: 1}}}}
        simulation: {{warmup_days: 2, run_on_days: 0}}
        warehouses: {{firms_served: 12}}
        subsidies: {{rules: {{public-warehouse: {{applies_in: [Smallcounty]}}}}}}
        """,
    )
    loaded = load_scenario(path, list(sets))
    network = build_network(loaded)
    s = simulate(network, loaded, 4).summary["subsidies"]
    return (s, loaded, network) if loaded_too else s


def test_parcels_arriving_for_villagers_do_not_make_a_warehouse_qualify(write):
    """Hundreds of parcels a day arrive at the warehouse for villagers, but it ships no seller's
    orders (none given, no produce simulated): it misses a threshold of 100 orders a day, which
    the parcels arriving would pass."""
    s = run(write, "upstream.enabled=false", "subsidies.rules.public-warehouse.consecutive_years=1",
            "subsidies.rules.public-warehouse.conditions=[{metric: orders_per_day, at_least: 100}]",
            )  # fmt: skip
    figures = s["warehouses"]["Smallcounty"]["2016"]
    assert figures["parcels_in_per_day"] > 100 and figures["orders_per_day"] == 0
    outcome = s["thresholds"]["public-warehouse"]["by_year"]["2016"]
    assert outcome["missed_by"] == ["warehouse/Smallcounty"] and s["by_rule"]["public-warehouse"] == 0


def test_seller_orders_over_8000_and_10_firms_three_years_running_earn_the_reward(write):
    s = run(write, "warehouses.seller_orders_per_day=8000", "warehouses.seller_orders_growth_per_year=1",
            "upstream.enabled=false", years=3)  # fmt: skip
    per_day = [s["warehouses"]["Smallcounty"][y]["orders_per_day"] for y in ("2016", "2017", "2018")]
    assert per_day == [pytest.approx(8000)] * 3
    assert s["by_rule"]["public-warehouse"] == 100_000  # 2018 only: the third year in a row
    assert s["thresholds"]["public-warehouse"]["by_year"]["2017"]["met"] == 1
    # With 9 firms it never qualifies.
    s = run(write, "warehouses.seller_orders_per_day=8000", "warehouses.seller_orders_growth_per_year=1",
            "upstream.enabled=false", "warehouses.firms_served=9", years=3)  # fmt: skip
    assert s["by_rule"]["public-warehouse"] == 0


def test_warehouse_orders_count_the_produce_offered_at_the_countys_stations(write):
    """Seller orders of 100 a day in 2018 growing 1.25 a year (the demand's growth: 64 in 2016),
    plus the expected produce offered at the open stations, day by day in season."""
    sets = ("warehouses.seller_orders_per_day={Smallcounty: 100}", "economics.exit.mode=none",
            "upstream.enabled=true")  # fmt: skip
    s, loaded, network = run(write, *sets, loaded_too=True)
    figures = s["warehouses"]["Smallcounty"]["2016"]
    expected_orders = 100 * np.mean([1.25 ** (-2 + k / 365) for k in range(366)])
    assert figures["seller_orders_per_day"] == pytest.approx(expected_orders)
    sc = loaded.scenario
    sites = np.flatnonzero(network.plan.year_built >= 0)
    households = network.region.villages["households"].to_numpy(dtype=float)
    rates = grower_rates(sc.upstream, households, sc.seed)[sites]
    season = in_season(sc.upstream, [date(2016, 1, 1) + timedelta(days=k) for k in range(366)])
    expected_produce = float((rates @ season.T).sum()) / 366
    assert expected_produce > 0
    assert figures["produce_per_day"] == pytest.approx(expected_produce, rel=1e-9)
    assert figures["orders_per_day"] == pytest.approx(expected_orders + expected_produce)


# ------------------------------------------------------- no double benefit, conditions that never bind


def build_rules(includes):
    return Subsidies.model_validate({"rules": {
        "province-build": {"payer": "province", "applies_to": "rural_station", "trigger": "build",
                           "amount": {"yuan": 500}, "applies_in": ["A"]},
        "city-build": {"payer": "city", "applies_to": "rural_station", "trigger": "build",
                       "amount": {"yuan": 2000}, "includes": includes},
        "province-top": {"payer": "province", "applies_to": "rural_station", "trigger": "build",
                         "amount": {"yuan": 2500}, "applies_in": ["C"]},
    }})  # fmt: skip


@pytest.mark.parametrize(
    ("includes", "expected"),
    [
        # 含省级补助资金: station a (county A) gets 500 from the province and 2,000 - 500 = 1,500 from
        # the city: 2,000 in all; b (county B, no provincial money) 2,000 from the city; c (county
        # C) 2,500 from the province, more than the city's 2,000: the city pays nothing.
        (["province"], {"a": {"province": 500, "city": 1500}, "b": {"city": 2000}, "c": {"province": 2500}}),
        # Without the clause the two are added.
        ([], {"a": {"province": 500, "city": 2000}, "b": {"city": 2000},
              "c": {"province": 2500, "city": 2000}}),
    ],
)  # fmt: skip
def test_city_money_includes_the_provinces(includes, expected):
    stations = recipients("rural_station", ["a", "b", "c"], [2016] * 3, ["A", "B", "C"])
    ledger = Ledger(build_rules(includes), {"rural_station": stations})
    ledger.opened("rural_station", np.arange(3), date(2016, 1, 1))
    table = ledger.table()
    got = {r: dict(zip(g["payer"], g["amount_yuan"], strict=True)) for r, g in table.groupby("recipient")}
    assert got == expected
    if includes:
        assert table.loc[table["recipient"] == "a", "basis"].tolist()[1] == (
            "opened 2016-01-01; province paid 500 inside it"
        )


def test_a_rule_cannot_include_its_own_payer(write):
    path = write("x.yaml", f"extends: {POLICY}\nname: x\nregion: small\n")
    with pytest.raises(InputError) as err:
        load_scenario(path, ["subsidies.rules.county-centre.includes=[city]"])
    assert any("subsidies.rules.county-centre.includes: a rule cannot include its own payer" in line
               for line in err.value.problems)  # fmt: skip


def operation_ledger(per_day_2017):
    """The Lishui county operating reward (>= 10 parcels a day in operating years 2-3) to three
    stations built 2016, with 2018's figures 12, 15, 30 a day."""
    rules = load_scenario(BUNDLED / "lishui-2018.yaml").scenario.subsidies
    ledger = Ledger(
        rules, {"rural_station": recipients("rural_station", ["a", "b", "c"], [2016] * 3, ["A"] * 3)}
    )
    for year, per_day in ((2016, [0, 0, 0]), (2017, per_day_2017), (2018, [12, 15, 30])):
        handled = np.array(per_day, float) * 365
        figures = {"rural_station": {"parcels_handled": handled, "open_days": np.full(3, 365.0),
                                     "parcels_per_day": handled / 365}}  # fmt: skip
        ledger.year_end(year, figures, date(year, 12, 31))
    return summarise(ledger, [2016, 2017, 2018], stations_built=3, parcels=1)


def test_a_condition_met_by_every_station_every_year_is_reported_as_never_binding():
    # 2016 is operating year 1 (outside the rule's window): its zeros do not count.
    s = operation_ledger([10, 11, 40])
    th = s["thresholds"]["rural-station-operation"]
    assert th["conditions_never_binding"] == ["parcels_per_day >= 10"] and th["never_binds"]
    assert th["by_year"]["2017"]["missed_by_condition"] == {"parcels_per_day >= 10": 0}
    from analysis.headline import subsidy_lines

    lines = subsidy_lines(s)
    assert any("rural-station-operation: parcels_per_day >= 10 never binds" in line for line in lines)


def test_a_condition_one_station_misses_once_binds():
    s = operation_ledger([10, 9.9, 40])
    th = s["thresholds"]["rural-station-operation"]
    assert th["conditions_never_binding"] == [] and not th["never_binds"]
    assert th["by_year"]["2017"]["missed_by_condition"] == {"parcels_per_day >= 10": 1}
