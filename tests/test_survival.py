"""Stations surviving their subsidies (issue 20, item 7): survival by build cohort, operators'
costs that differ between stations (drawn, reproducible), a probabilistic exit by default, and
parcels sent that are the simulated produce, not a ratio of parcels received."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from analysis.cli import BUNDLED
from sim.flows.produce import grower_rates, in_season
from sim.money.operators import draw_costs
from sim.money.programme import survival_by_cohort
from sim.network.build import build_network
from sim.run import simulate
from sim.scenario.load import load_scenario
from sim.scenario.policy import RuralOperator


def test_cost_draws_have_the_stated_means_and_spread_and_are_reproducible():
    cfg = RuralOperator(rent_yuan_per_month=200, rent_cv=0.5, reservation_wage_yuan_per_h=12,
                        reservation_wage_cv=0.3)  # fmt: skip
    costs = draw_costs(cfg, 400_000, np.random.default_rng([7, 23]))
    rent, wage = costs.rent_yuan_per_month, costs.wage_yuan_per_h
    assert rent.mean() == pytest.approx(200, rel=0.01) and wage.mean() == pytest.approx(12, rel=0.01)
    assert rent.std() / rent.mean() == pytest.approx(0.5, rel=0.03)
    assert wage.std() / wage.mean() == pytest.approx(0.3, rel=0.03)
    assert (rent > 0).all() and len(np.unique(rent[:100])) == 100  # not one value
    again = draw_costs(cfg, 400_000, np.random.default_rng([7, 23]))
    assert (again.rent_yuan_per_month == rent).all() and (again.wage_yuan_per_h == wage).all()
    other = draw_costs(cfg, 10, np.random.default_rng([8, 23]))
    assert (other.rent_yuan_per_month != rent[:10]).all()
    # A dearer mean scales every station's rent (the same draws keep their order).
    dear = draw_costs(cfg.model_copy(update={"rent_yuan_per_month": 400}), 10, np.random.default_rng([7, 23]))
    assert dear.rent_yuan_per_month == pytest.approx(2 * rent[:10])
    flat = draw_costs(RuralOperator(rent_cv=0, reservation_wage_cv=0), 5, np.random.default_rng(0))
    assert (flat.rent_yuan_per_month == 200).all() and (flat.wage_yuan_per_h == 12).all()


def test_survival_by_cohort_hand_checked():
    """Six stations: three built 2016 (subsidised to 2018), two 2017 (to 2019), one 2018 (to
    2020). s0 closes in 2019, s2 and s3 in 2020; the others stay open to the end of 2021."""
    built = np.array([2016, 2016, 2016, 2017, 2017, 2018])
    end = built + 2
    closes = np.array([2019, 9999, 2020, 2020, 9999, 9999])
    years = range(2016, 2022)
    open_at_end = {y: (built <= y) & (closes > y) for y in years}
    closed = closes < 9999
    table = survival_by_cohort(built, end, open_at_end, closed)
    assert table == {
        "2016": {"built": 3, "subsidies_end": 2018, "closed": 2, "closed_share": 2 / 3,
                 "open_at_year_end": {"2016": 3, "2017": 3, "2018": 3, "2019": 2, "2020": 1, "2021": 1},
                 "surviving_after_subsidies": {"1": 2 / 3, "2": 1 / 3, "3": 1 / 3}},
        "2017": {"built": 2, "subsidies_end": 2019, "closed": 1, "closed_share": 0.5,
                 "open_at_year_end": {"2017": 2, "2018": 2, "2019": 2, "2020": 1, "2021": 1},
                 "surviving_after_subsidies": {"1": 0.5, "2": 0.5}},
        "2018": {"built": 1, "subsidies_end": 2020, "closed": 0, "closed_share": 0.0,
                 "open_at_year_end": {"2018": 1, "2019": 1, "2020": 1, "2021": 1},
                 "surviving_after_subsidies": {"1": 1.0}},
    }  # fmt: skip
    # Subsidised for ever (a yearly rule without a window): no year after subsidies.
    forever = survival_by_cohort(built, np.full(6, 10**6 + 2015), open_at_end, closed)
    assert forever["2016"]["subsidies_end"] is None and forever["2016"]["surviving_after_subsidies"] == {}


def small(write, *sets):
    """No subsidies (no policy file): every operator is on its own from the start."""
    path = write(
        "s.yaml",
        """
        name: s
        seed: 4
        region: {preset: small, villages: 40, roads: synthetic}
        horizon: {start: 2016-01-01, years: 1}
        stations: {rural: {target: 16}, community: {count: 1}}
        simulation: {warmup_days: 2, run_on_days: 0}
        economics: {exit: {mode: probabilistic, months: 2, probability_per_month: 0.5}}
        """,
    )
    loaded = load_scenario(path, list(sets))
    network = build_network(loaded)
    return simulate(network, loaded, 4), loaded, network


def test_higher_rent_fewer_stations_survive(write):
    open_at_end = []
    for rent in (100, 1500):
        run, _, _ = small(write, f"economics.rural_station.rent_yuan_per_month={rent}")
        s = run.summary["stations_survival"]
        cohort = s["by_cohort"]["2016"]
        assert cohort["built"] == s["rural_built"] == 16
        assert cohort["open_at_year_end"]["2016"] == s["rural_open_at_end"]
        assert cohort["built"] - cohort["closed"] == cohort["open_at_year_end"]["2016"]
        rural = run.stations[run.stations["kind"] == "rural_station"]
        assert rural["rent_yuan_per_month"].nunique() == 16  # each operator its own rent
        open_at_end.append(s["rural_open_at_end"])
    assert 0 < open_at_end[1] < open_at_end[0], open_at_end


def test_parcels_sent_are_the_produce_offered_at_the_station(write):
    run, loaded, network = small(write, "upstream.enabled=true", "economics.exit.mode=none")
    sc = loaded.scenario
    sites = np.flatnonzero(network.plan.year_built >= 0)
    households = network.region.villages["households"].to_numpy(dtype=float)
    rates = grower_rates(sc.upstream, households, sc.seed)[sites]
    season = in_season(sc.upstream, [date(2016, 1, 1) + timedelta(days=k) for k in range(366)])
    rural = run.stations[run.stations["kind"] == "rural_station"]
    assert (rural["open_days"] == 366).all()
    expected = (rates @ season.T).sum(axis=1)
    assert expected.sum() > 0
    assert rural["parcels_sent"].to_numpy() == pytest.approx(expected, rel=1e-9)
    # No longer 0.14 x received.
    assert rural["parcels_sent"].sum() != pytest.approx(0.14 * rural["parcels_received"].sum(), rel=0.01)
    # Without produce simulated, nothing is sent.
    dry, _, _ = small(write, "upstream.enabled=false", "economics.exit.mode=none")
    assert (dry.stations.loc[dry.stations["kind"] == "rural_station", "parcels_sent"] == 0).all()


def test_lishui_programme_runs_two_years_past_the_last_subsidies_with_varied_costs():
    s = load_scenario(BUNDLED / "lishui-programme.yaml").scenario
    last_cohort = max(s.stations.rural.build_plan)
    subsidised_to = last_cohort + s.subsidies.rules["rural-station-operation"].years[1] - 1  # 2020
    assert s.horizon.last_year >= subsidised_to + 2
    op = s.economics.rural_station
    assert s.economics.exit.mode == "probabilistic" and op.rent_cv > 0 and op.reservation_wage_cv > 0
    assert op.sent_per_received == 0


def test_residents_covered_by_stations_still_open_fall_as_operators_quit(write):
    """The optimiser's objective "residents covered by stations still open at the end": the plan's
    coverage without the stations whose operators quit, by hand from the run's station rows."""
    from analysis.coverage import access
    from analysis.evaluate import run_metrics

    covered = []
    for rent in (100, 1500):
        run, loaded, network = small(write, f"economics.rural_station.rent_yuan_per_month={rent}")
        radius = loaded.scenario.stations.rural.coverage_km
        plan = access(network, 2016)
        population = network.region.villages["population"].to_numpy()
        coverage = {
            "years": {2016: {"total": {"population_covered": population[plan.distance_km <= radius].sum()}}}
        }
        survival = run_metrics(coverage, run, network, radius)["stations_survival"]
        rural = run.stations[run.stations["kind"] == "rural_station"]
        quit_ = frozenset(rural.loc[rural["closed_on"].notna(), "station"].astype(str))
        by_hand = population[access(network, 2016, quit_).distance_km <= radius].sum()
        assert (
            survival["population_covered_by_open_at_end"]
            == by_hand
            <= population[plan.distance_km <= radius].sum()
        )
        covered.append(by_hand)
    assert covered[1] < covered[0]  # dearer rent: more quit, fewer covered by what is left
