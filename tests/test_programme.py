"""Subsidies, operators' accounts and stations closing: the rules engine on hand-worked ledgers,
the Lishui rules against the Lishui 2015 opinions' figures, the exit rule on a hand case, and whole runs in
which stations close (conservation, both engines equal, same seed same ledger)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.cli import BUNDLED
from geo.errors import InputError
from sim.core.ids import VILLAGE_STATION
from sim.flows.routes import without_stops
from sim.money.operators import Costs, month_accounts, quits
from sim.money.subsidies import Ledger, Recipients, summarise
from sim.network.build import build_network
from sim.run import simulate
from sim.scenario.load import load_scenario
from sim.scenario.policy import Exit, RuralOperator, Subsidies

POLICY = BUNDLED / "policies" / "lishui.yaml"


def recipients(kind, ids, first_year, county="C"):
    ids = np.array(ids, dtype=object)
    return Recipients(kind, ids, np.full(len(ids), county, dtype=object), np.asarray(first_year))


def rural_figures(handled, open_days):
    handled, open_days = np.asarray(handled, float), np.asarray(open_days, float)
    return {"rural_station": {"parcels_handled": handled, "open_days": open_days,
                              "parcels_per_day": handled / np.maximum(open_days, 1)}}  # fmt: skip


# ------------------------------------------------------------------------- the rules engine


def test_hand_worked_ledger_three_stations():
    """A and B built 2016, C 2017. Build: 2,000 each (city, budget line 3,000 a year).
    Operation in years 2-3: 0.5 yuan per parcel handled, at most 1,000 a station-year, for
    stations handling >= 2 parcels a day (county)."""
    subsidies = Subsidies.model_validate({
        "budgets": {"rural": {"payer": "city", "yuan_per_year": 3000}},
        "rules": {
            "build": {"payer": "city", "applies_to": "rural_station", "trigger": "build",
                      "amount": {"yuan": 2000}, "budget": "rural"},
            "operation": {"payer": "county", "applies_to": "rural_station", "trigger": "operating_year",
                          "years": [2, 3], "amount": {"yuan_per_parcel": 0.5, "cap_yuan": 1000},
                          "conditions": [{"metric": "parcels_per_day", "at_least": 2}]},
        },
    })  # fmt: skip
    ledger = Ledger(
        subsidies, {"rural_station": recipients("rural_station", ["A", "B", "C"], [2016, 2016, 2017])}
    )
    ledger.opened("rural_station", np.array([0, 1]), date(2016, 1, 1))
    ledger.year_end(2016, rural_figures([5000, 5000, 0], [366, 366, 0]), date(2016, 12, 31))
    ledger.opened("rural_station", np.array([2]), date(2017, 1, 1))
    # 2017: A year 2, 3,000 parcels (8.2 a day): 1,500 capped to 1,000; B 500 (1.4 a day): missed;
    # C is in its first year.
    ledger.year_end(2017, rural_figures([3000, 500, 900], [365, 365, 365]), date(2017, 12, 31))
    # 2018: A year 3, 1,200 -> 600; B 800 (2.2 a day) -> 400; C year 2, 100 parcels: missed.
    ledger.year_end(2018, rural_figures([1200, 800, 100], [365, 365, 365]), date(2018, 12, 31))
    # 2019: A and B past year 3; C year 3, 2,000 -> exactly the cap.
    ledger.year_end(2019, rural_figures([9000, 9000, 2000], [365, 365, 365]), date(2019, 12, 31))

    table = ledger.table()
    assert table[["date", "recipient", "amount_yuan"]].values.tolist() == [
        ["2016-01-01", "A", 2000.0], ["2016-01-01", "B", 2000.0], ["2017-01-01", "C", 2000.0],
        ["2017-12-31", "A", 1000.0], ["2018-12-31", "A", 600.0], ["2018-12-31", "B", 400.0],
        ["2019-12-31", "C", 1000.0],
    ]  # fmt: skip
    assert table.loc[3, "basis"] == "parcels_per_day=8.2; parcels_handled=3000"
    s = summarise(ledger, [2016, 2017, 2018, 2019], stations_built=3, parcels=10_000)
    assert s["total_yuan"] == 9000
    assert s["by_year"] == {"2016": 4000, "2017": 3000, "2018": 1000, "2019": 1000}
    assert s["by_payer"] == {"city": 6000, "county": 3000}
    assert s["by_rule"] == {"build": 6000, "operation": 3000}
    assert s["per_station_built_yuan"] == 3000 and s["per_parcel_yuan"] == 0.9
    line = s["budgets"]["rural"]
    assert line["years_over_budget"] == [2016]
    assert line["by_year"]["2016"] == {"spent_yuan": 4000, "over_budget": True, "shortfall_yuan": 1000}
    assert line["by_year"]["2017"] == {"spent_yuan": 2000, "over_budget": False, "shortfall_yuan": 0}
    met = {y: (o["met"], o["missed"]) for y, o in s["thresholds"]["operation"]["by_year"].items()}
    assert met == {"2016": (0, 0), "2017": (1, 1), "2018": (2, 1), "2019": (1, 0)}
    assert ledger.paid_to("rural_station").tolist() == [3600, 2400, 3000]


def lishui_rules():
    path = POLICY.parent.parent / "lishui-2018.yaml"
    return load_scenario(path).scenario.subsidies


def test_lishui_rules_carry_the_seed_figures():
    s = lishui_rules()
    r = s.rules
    assert (r["rural-station-build"].payer, r["rural-station-build"].trigger) == ("city", "build")
    assert r["rural-station-build"].amount.yuan == 2000
    assert r["rural-station-operation"].payer == "county" and r["rural-station-operation"].years == (2, 3)
    assert [
        (x.amount.yuan, x.years) for x in (r["community-station-first-year"], r["community-station-reward"])
    ] == [(10_000, (1, 1)), (5_000, (2, 3))]
    assert r["public-warehouse"].amount.yuan == 100_000 and r["public-warehouse"].consecutive_years == 3
    assert r["county-centre"].amount.yuan == 300_000 and r["city-centre"].amount.yuan == 500_000
    assert s.budgets["city-rural-ecommerce"].yuan_per_year == 3_000_000


def test_lishui_warehouse_reward_needs_three_years_in_a_row():
    """>= 10 firms and >= 8,000 orders a day, three consecutive years: 100,000 a year (to a
    warehouse in the city district, Liandu: the rule's scope)."""
    warehouses = recipients("warehouse", ["X", "Y"], [2016, 2016], county="Liandu")
    ledger = Ledger(lishui_rules(), {"warehouse": warehouses})
    orders = {
        2016: [8000, 9000],
        2017: [8500, 9000],
        2018: [9000, 9000],
        2019: [7999, 9000],
        2020: [9000, 9000],
    }
    for year, per_day in orders.items():
        figures = {
            "warehouse": {"orders_per_day": np.array(per_day, float), "firms_served": np.array([10.0, 9.0])}
        }
        ledger.year_end(year, figures, date(year, 12, 31))
    table = ledger.table()
    assert table[["date", "recipient", "amount_yuan"]].values.tolist() == [["2018-12-31", "X", 100_000.0]]
    assert table.loc[0, "basis"] == "firms_served=10; orders_per_day=9000; 3 years in a row"
    outcome = summarise(ledger, list(orders), stations_built=0, parcels=1)["thresholds"]["public-warehouse"]
    assert outcome["by_year"]["2019"]["missed_by"] == ["X", "Y"] and outcome["by_year"]["2018"]["met_by"] == [
        "X"
    ]


@pytest.mark.parametrize(("terminals", "expected"), [(50, [10_000, 5_000, 5_000]), (49, [])])
def test_lishui_community_stations_need_an_operator_of_50_terminals(terminals, expected):
    ledger = Ledger(lishui_rules(), {"community_station": recipients("community_station", ["T/1"], [2016])})
    for year in range(2016, 2020):
        figures = {"community_station": {"operator_terminals": np.array([float(terminals)]),
                                         "open_days": np.array([365.0])}}  # fmt: skip
        ledger.year_end(year, figures, date(year, 12, 31))
    assert ledger.table()["amount_yuan"].tolist() == expected


def test_lishui_build_and_centre_rules_pay_once_on_opening():
    ledger = Ledger(
        lishui_rules(),
        {"rural_station": recipients("rural_station", ["v1", "v2"], [2016, 2016]),
         "county_centre": recipients("county_centre", ["c1"], [2016]),
         "city_centre": recipients("city_centre", ["city"], [2016], county="")},
    )  # fmt: skip
    for kind, n in (("rural_station", 2), ("county_centre", 1), ("city_centre", 1)):
        ledger.opened(kind, np.arange(n), date(2016, 1, 1))
    for year in (2016, 2017):  # later years pay no build rule again (nor, below 10 a day, operation)
        ledger.year_end(year, rural_figures([100, 100], [365, 365]), date(year, 12, 31))
    by_rule = ledger.table().groupby("rule")["amount_yuan"].sum().to_dict()
    assert by_rule == {"rural-station-build": 4000, "county-centre": 300_000, "city-centre": 500_000}


# ------------------------------------------------------------------------- operators and exit


def test_operator_month_hand_worked():
    """100 households, open all 30 days, 300 parcels received, 42 parcels of produce offered
    (and sent); the default figures."""
    cfg = RuralOperator()
    month = {"households": np.array([100.0]), "open_days": np.array([30.0]), "days_in_month": 30,
             "received": np.array([300.0]), "subsidy": np.zeros(1), "age_months": np.zeros(1),
             "produce": np.array([42.0])}  # fmt: skip
    m = month_accounts(cfg, **month)
    sent = 42  # the produce; nothing else is sent (sent_per_received 0)
    income = 300 * 0.4 + sent * 1.0 + 0.1 * 100 * 100 * 0.10 + 100  # 362
    costs = 200 + 50 + 5000 / 36 + (30 * 1.0 + (300 + sent) / 60) * 12  # 817.29
    assert m.sent[0] == pytest.approx(sent) and m.income[0] == pytest.approx(income)
    assert m.costs[0] == pytest.approx(costs) and m.profit[0] == pytest.approx(income - costs)
    half_open = {
        "open_days": np.array([15.0]),
        "received": np.zeros(1),
        "subsidy": np.full(1, 500.0),
        "produce": np.zeros(1),
    }
    half = month_accounts(cfg, **{**month, **half_open, "age_months": np.array([35, 36])})
    # Half the month open; the equipment written off after its 36th month.
    assert half.costs.tolist() == pytest.approx(
        [(200 + 50 + 5000 / 36) / 2 + 15 * 12, (200 + 50) / 2 + 15 * 12]
    )
    assert half.profit[0] == pytest.approx(half.income[0] + 500 - half.costs[0])
    # A station's own rent (300) and reservation wage (10 yuan an hour).
    own = month_accounts(cfg, **month, costs=Costs(np.array([300.0]), np.array([10.0])))
    assert own.costs[0] == pytest.approx(300 + 50 + 5000 / 36 + (30 * 1.0 + (300 + sent) / 60) * 10)
    # Produce is what is sent: without it (and sent_per_received 0) nothing is.
    assert month_accounts(cfg, **{**month, "produce": np.zeros(1)}).sent[0] == 0


def test_exit_rule_hand_case():
    rng = np.random.default_rng(0)
    trailing = np.array([-1.0, -1.0, 0.0, -500.0])
    since = np.array([6, 5, 9, 12])  # months run since subsidies ended
    assert quits(Exit(mode="deterministic", months=6), trailing, since, rng).tolist() == [
        True,
        False,
        False,
        True,
    ]
    assert not quits(Exit(mode="none"), trailing, since, rng).any()
    p = Exit(mode="probabilistic", months=1, probability_per_month=0.3)
    many = quits(p, np.full(100_000, -1.0), np.full(100_000, 1), np.random.default_rng(1))
    assert many.mean() == pytest.approx(0.3, abs=0.01)
    assert (quits(p, np.full(5, -1.0), np.ones(5), np.random.default_rng(2))
            == (np.random.default_rng(2).random(5) < 0.3)).all()  # fmt: skip


# --------------------------------------------------------------------------- whole runs


def scenario(write, *sets, text=""):
    path = write(
        "p.yaml",
        f"""
        extends: {POLICY}
        name: p
        seed: 4
        region: {{preset: small, villages: 50, roads: synthetic}}
        horizon: {{start: 2016-01-01, years: 1}}
        stations: {{rural: {{target: 12}}, community: {{count: 2}}, centres: {{city: 2016, county: 2016}}}}
        simulation: {{warmup_days: 3}}
        {text}
        """,
    )
    return load_scenario(path, list(sets))


LOSING = (
    "economics.exit.mode=deterministic",
    "economics.exit.months=2",
    "economics.rural_station.rent_yuan_per_month=100000",
)


@pytest.fixture(scope="module")
def closing_runs(tmp_path_factory):
    """Every station loses money and nothing subsidises it: all close on 1 March (two full
    months of losses), with both engines."""
    import textwrap

    folder = tmp_path_factory.mktemp("closing")
    path = folder / "p.yaml"
    path.write_text(textwrap.dedent("""
        name: p
        seed: 4
        region: {preset: small, villages: 40, roads: synthetic}
        horizon: {start: 2016-01-01, days: 100}
        stations: {rural: {target: 10}, community: {count: 2}}
        simulation: {warmup_days: 3}
        """))  # fmt: skip
    out = {}
    for engine in ("fast", "reference"):
        loaded = load_scenario(path, [*LOSING, f"simulation.engine={engine}"])
        out[engine] = simulate(build_network(loaded), loaded, 4)
    return out


@pytest.mark.slow
def test_losing_stations_close_after_the_months_of_losses_and_parcels_are_conserved(closing_runs):
    run = closing_runs["fast"]
    rural = run.stations[run.stations["kind"] == "rural_station"]
    assert len(rural) == 10 and (rural["closed_on"] == "2016-03-01").all()
    assert (rural["open_days"] == 31 + 29).all() and not rural["open_at_year_end"].any()
    survival = run.summary["stations_survival"]
    assert survival["rural_closed"] == 10 and survival["rural_open_at_end"] == 0
    assert list(run.summary["route_plans"]) == ["2015-12-29", "2016-03-01"]
    ends = run.summary["parcels_at_end"]
    assert ends["reconciled"] and ends["ordered"] == sum(
        v for k, v in ends.items() if k not in ("ordered", "reconciled")
    )
    # Parcels reached the stations until the day they closed (a van loaded the day before may
    # arrive that day), then the township points took over.
    assert rural["parcels_received"].sum() > 0
    assert run.summary["by_point_type"]["township_point"]["parcels"]["delivered"] > 0


@pytest.mark.slow
def test_fast_and_reference_close_the_same_stations_and_keep_the_same_ledger(closing_runs):
    fast, ref = closing_runs["fast"], closing_runs["reference"]
    pd.testing.assert_frame_equal(fast.ledger, ref.ledger)
    pd.testing.assert_frame_equal(fast.stations, ref.stations)
    a, b = fast.summary["total"], ref.summary["total"]
    assert a["parcels"] == b["parcels"]
    for lead in ("order_to_available_h", "order_to_hand_h"):  # sums in another order: to rounding
        assert a[lead] == pytest.approx(b[lead], rel=1e-12)


def test_same_seed_same_ledger_and_accounts(write):
    loaded = scenario(write, "simulation.days=40", "horizon.years=2", "stations.rural.target=null",
                      "stations.rural.build_plan={2016: 8, 2017: 12}")  # fmt: skip
    network = build_network(loaded)
    a, b = simulate(network, loaded, 4), simulate(network, loaded, 4)
    pd.testing.assert_frame_equal(a.ledger, b.ledger)
    pd.testing.assert_frame_equal(a.stations, b.stations)
    assert a.ledger["amount_yuan"].sum() == pytest.approx(a.summary["subsidies"]["total_yuan"])


class StationArrivals:
    """Parcels arriving at village stations within the horizon (warm-up orders included; not
    those arriving while the run goes on past the horizon)."""

    def __init__(self, start_h, end_h):
        self.start_h, self.end_h, self.n = start_h, end_h, 0

    def on_delivered(self, e):
        within = (e.arrive_h >= self.start_h) & (e.arrive_h < self.end_h)
        self.n += int(((e.parcels.ptype == VILLAGE_STATION) & within).sum())


def test_ledger_sums_to_the_totals_of_a_full_year(write):
    loaded = scenario(write)
    warmup = loaded.scenario.simulation.warmup_days
    arrivals = StationArrivals(24.0 * warmup, 24.0 * (warmup + 366))  # 2016: 366 days
    run = simulate(build_network(loaded), loaded, 4, observers=(arrivals,))
    s, ledger = run.summary["subsidies"], run.ledger
    assert (
        ledger["amount_yuan"].sum()
        == pytest.approx(s["total_yuan"])
        == pytest.approx(sum(s["by_year"].values()))
    )
    assert s["by_rule"]["rural-station-build"] == 12 * 2000
    assert s["by_rule"]["county-centre"] == 300_000 and s["by_rule"]["city-centre"] == 500_000
    # The community operator runs 2 terminals (< 50): no community subsidy, and it says so.
    assert s["by_rule"]["community-station-first-year"] == 0
    assert s["thresholds"]["community-station-first-year"]["by_year"]["2016"]["missed"] == 2
    # Station accounts carry the subsidies the ledger paid to stations.
    assert run.stations["subsidy_yuan"].sum() == pytest.approx(s["to_stations_yuan"])
    assert run.stations.loc[run.stations["kind"] == "rural_station", "parcels_received"].sum() == arrivals.n


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 20), st.integers(0, 20))
@pytest.mark.slow
def test_more_stations_never_lower_the_build_subsidy(write, a, b):
    fewer, more = sorted((a, b))
    totals = []
    for target in (fewer, more):
        loaded = scenario(
            write, f"stations.rural.target={target}", "simulation.days=2", "simulation.warmup_days=0"
        )
        run = simulate(build_network(loaded), loaded, 4)
        totals.append(run.summary["subsidies"]["by_rule"]["rural-station-build"])
    assert totals[0] <= totals[1] and totals == [2000 * fewer, 2000 * more]


# --------------------------------------------------------------------------- route repair


def test_closing_stations_repairs_routes_without_a_new_search(write, monkeypatch):
    import sim.flows.routes as courier

    loaded = scenario(write, "simulation.days=3")
    network = build_network(loaded)
    from sim.engine.model import Model

    model = Model(network, loaded.scenario)
    state = model.stations()
    first = model.network_on(state, 0).plans[0]
    searches = []
    monkeypatch.setattr(courier, "plan_county", lambda *a, **k: searches.append(1))
    closing = np.flatnonzero(state.rural_open(0))[:3]
    state.close_rural(closing, 1)
    repaired = model.network_on(state, 1).plans[0]
    assert not searches
    kept = [s for s in first.stops if s not in closing]
    assert repaired.stops.tolist() == kept
    # Each route keeps its order without the closed stops.
    for old, new in zip((r for r in first.routes if any(first.stops[i - 1] not in closing for i in r)),
                        repaired.routes, strict=True):  # fmt: skip
        assert [repaired.stops[i - 1] for i in new] == [
            first.stops[i - 1] for i in old if first.stops[i - 1] not in closing
        ]
    direct = without_stops(first, first.stops, np.ones(len(first.stops)), loaded.scenario.couriers)
    assert [r.tolist() for r in direct.routes] == [r.tolist() for r in first.routes]


def test_route_repairs_start_from_the_runs_own_plans_when_runs_share_a_model(write):
    """Run 1 reaches the 2017 network (PyVRP plans it); run 2, on the same model, closes a
    station in 2016: its repair starts from its own 2016 plan, as on a fresh model, not from run
    1's 2017 plan."""
    from sim.engine.model import Model

    loaded = scenario(write, "horizon.years=2", "stations.rural.target=null",
                      "stations.rural.build_plan={2016: 6, 2017: 14}")  # fmt: skip
    network = build_network(loaded)
    day_2017 = (date(2017, 1, 1) - date(2016, 1, 1)).days + loaded.scenario.simulation.warmup_days

    def run_two(model):
        state = model.stations()
        state.close_rural(np.flatnonzero(state.rural_open(0))[:1], 5)
        model.network_on(state, 0)
        return model.network_on(state, 5).plans

    shared = Model(network, loaded.scenario)
    first = shared.stations()
    shared.network_on(first, 0)
    shared.network_on(first, day_2017)
    again, fresh = run_two(shared), run_two(Model(network, loaded.scenario))
    for a, b in zip(again, fresh, strict=True):
        assert a.stops.tolist() == b.stops.tolist()
        assert [r.tolist() for r in a.routes] == [r.tolist() for r in b.routes]


# --------------------------------------------------------------------------- scenario errors


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ["subsidies.rules.rural-station-build.trigger=once"],
            "subsidies.rules.rural-station-build.trigger: ",
        ),
        (
            ["subsidies.rules.public-warehouse.conditions=[{metric: parcels_handled, at_least: 1}]"],
            "subsidies.rules.public-warehouse.conditions.0.metric: not a figure of a warehouse",
        ),
        (
            [
                "subsidies.rules.public-warehouse.conditions="
                "[{metric: orders_per_day, at_least: 9, at_most: 8}]"
            ],
            "subsidies.rules.public-warehouse.conditions.0: can never hold: at_least > at_most (got '9 > 8')",
        ),
        (
            ["subsidies.rules.county-centre.amount={yuan_per_parcel: 1}"],
            "subsidies.rules.county-centre.amount: a county_centre handles no parcels",
        ),
        (
            ["subsidies.rules.rural-station-build.budget=nope"],
            "subsidies.rules.rural-station-build.budget: no such budget line",
        ),
        (
            ["subsidies.rules.x={applies_to: rural_station, trigger: build, amount: {yuan: 1}}"],
            "subsidies.rules.x.payer: required field is missing",
        ),
        (
            ["subsidies.rules.rural-station-operation.years=[3, 2]"],
            "subsidies.rules.rural-station-operation.years: must be [k, m] with 1 <= k <= m (got [3, 2])",
        ),
        (
            ["subsidies.rules.rural-station-build.amout={yuan: 1}"],
            "subsidies.rules.rural-station-build.amout: unknown field",
        ),
        (["economics.exit.mode=sometimes"], "economics.exit.mode: "),
    ],
)
def test_bad_rules_get_one_line_each(write, sets, message):
    with pytest.raises(InputError) as err:
        scenario(write, "horizon.years=1", *sets)
    assert any(message in line for line in err.value.problems), err.value.problems
    assert all("\n" not in line for line in err.value.problems)


def test_extends_takes_a_list_merged_in_order(write):
    write("a.yaml", "name: a\nregion: small\nseed: 1\nstations: {rural: {target: 5}}\n")
    write("b.yaml", "seed: 2\nstations: {community: {count: 3}}\n")
    path = write("c.yaml", "extends: [a.yaml, b.yaml]\nname: c\n")
    s = load_scenario(path).scenario
    assert (s.name, s.seed, s.stations.rural.target, s.stations.community.count) == ("c", 2, 5, 3)
    bad = write("d.yaml", "extends: [a.yaml, 3]\nname: d\n")
    with pytest.raises(InputError, match="extends: must be a file path or a list of them"):
        load_scenario(bad)


# --------------------------------------------------------------------------- the command


def test_run_folder_ledger_sums_to_metrics_and_more_stations_cost_more(write, tmp_path, capsys):
    from analysis.cli import main

    path = write("prog.yaml", f"""
        extends: {POLICY}
        name: prog
        seed: 4
        region: {{preset: small, villages: 50, roads: synthetic}}
        horizon: {{start: 2016-01-01, years: 2}}
        stations: {{rural: {{build_plan: {{2016: 6, 2017: 10}}}}, community: {{count: 2}}}}
        simulation: {{days: 60}}
        outputs: {{map: false, gpkg: false, lead_times_png: false, villages_csv: false}}
        """)  # fmt: skip
    build = []
    for name, sets in (("a", []), ("b", ["--set", "stations.rural.build_plan={2016: 9, 2017: 14}"])):
        assert main(["run", str(path), "--quiet", "--out", str(tmp_path / name), *sets]) == 0
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        ledger = pd.read_csv(tmp_path / name / "ledger.csv")
        total = metrics["subsidies"]["total_yuan"]
        assert ledger["amount_yuan"].sum() == pytest.approx(total, rel=1e-6)
        assert sum(metrics["subsidies"]["by_year"].values()) == pytest.approx(total, rel=1e-6)
        stations = pd.read_csv(tmp_path / name / "stations.csv")
        assert set(stations["year"]) == {2016} and stations["subsidy_yuan"].sum() == pytest.approx(
            ledger.loc[ledger["recipient_kind"].str.endswith("station"), "amount_yuan"].sum()
        )
        build.append(metrics["subsidies"]["by_rule"]["rural-station-build"])
    assert build == [6 * 2000, 9 * 2000]  # the 2017 builds lie past the 60 simulated days
    capsys.readouterr()
    bad = main(["run", str(path), "--quiet", "--out", str(tmp_path / "c"),
                "--set", "subsidies.rules.rural-station-build.payer=village"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert bad == 2 and len(err) == 1 and "subsidies.rules.rural-station-build.payer" in err[0]
    assert "Traceback" not in err[0] and not (tmp_path / "c").exists()
