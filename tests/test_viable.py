"""The `viable` placement strategy (issue 23): maximal covering among the villages whose station
would make a profit once its subsidies end, by the operators' accounts for the parcels it may
expect (`sim.network.economics`); fewer stations than the target when too few would, said in the
network's notes."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from analysis.cli import BUNDLED, main
from geo.placement import NO_STATION, STRATEGIES, PlacementError, plan_builds, solve
from sim.flows.demand import day_factors
from sim.flows.produce import STATION_HOUSEHOLDS, grower_rates, in_season
from sim.network.build import build_network
from sim.network.economics import (
    FOREVER,
    GROWER_HOUSEHOLDS,
    expected_accounts,
    month_accounts,
    subsidised_years,
)
from sim.network.points import build_points
from sim.run import simulate
from sim.scenario.load import load_scenario
from sim.scenario.policy import Rule, Subsidies

POLICY = BUNDLED / "policies" / "lishui.yaml"


def scenario(write, *sets: str, plan: str = "{2016: 8, 2017: 16}", policy: bool = True):
    """Sixty villages of the small preset (straight-line km), stations built in 2016 and 2017
    with `viable`, produce simulated; the Lishui subsidies and operators' economics (`policy`)."""
    path = write(
        "v.yaml",
        f"""
        {f"extends: {POLICY}" if policy else ""}
        name: v
        seed: 3
        region: {{preset: small, villages: 60}}
        horizon: {{start: 2016-01-01, years: 2}}
        stations: {{rural: {{build_plan: {plan}, placement: viable, coverage_km: 3.0}}}}
        upstream: {{enabled: true}}
        """,
    )
    return load_scenario(path, list(sets))


def households(network) -> np.ndarray:
    return network.region.villages["households"].to_numpy(dtype=float)


def test_every_station_viable_builds_makes_a_profit_with_its_final_catchment(write):
    rent = "economics.rural_station.rent_yuan_per_month=300"
    loaded = scenario(write, rent)
    sc = loaded.scenario
    network = build_network(loaded)
    plan, hh = network.plan, households(network)
    # A station's catchment in the final network: the villages whose parcels go to it (a village
    # without a station collects at its township's express point).
    final = plan.sites(max(plan.years))
    has = np.isin(np.arange(len(hh)), final)
    dest, _ = build_points(network).destinations(has, np.zeros(len(network.region.townships), np.int64))
    checked = 0
    for year in plan.years:
        new = np.flatnonzero(plan.year_built == year)
        assert len(new) == 8  # enough viable candidates: the targets are met
        expected = expected_accounts(sc, hh, year)
        assert expected.year == year + 3  # the Lishui operating reward pays in years 2-3
        assert not expected.viable.all()  # some villages would lose money
        for s in new:
            catchment = np.flatnonzero(dest[: len(hh)] == s)
            assert catchment.tolist() == [s]
            again = expected_accounts(sc, np.array([hh[catchment].sum()]), year).profit[0]
            assert again >= 0 and again == pytest.approx(expected.profit[s])
            checked += 1
    assert checked == 16
    # Without the filter the same targets take villages that would lose money.
    mclp = build_network(scenario(write, rent, "stations.rural.placement=mclp")).plan
    lost = [(~expected_accounts(sc, hh, y).viable[mclp.year_built == y]).sum() for y in mclp.years]
    assert sum(lost) > 0
    assert network.notes == ()


def test_expected_accounts_are_the_month_accounts_of_the_parcels_the_simulation_expects(write):
    """The expected year, by hand: each calendar month's parcels from the simulation's own day
    factors and the mean of its growers' draws, through `month_accounts`; within 1%."""
    sc = scenario(write).scenario
    hh = np.array([80.0, 150.0, 400.0])
    for built in (2016, 2019):
        expected = expected_accounts(sc, hh, built)
        year = expected.year
        assert year == built + 3
        first = date(year, 1, 1)
        days = [first + timedelta(days=k) for k in range((date(year + 1, 1, 1) - first).days)]
        rate = sc.demand.parcels_per_household_day * day_factors(sc.demand, first, len(days))
        offers = grower_rates(sc.upstream, np.full(200_000, float(STATION_HOUSEHOLDS)), 7)
        produce = (offers @ in_season(sc.upstream, days).T).mean(axis=0) / STATION_HOUSEHOLDS
        month = np.array([d.month for d in days]) - 1
        profit = received = income = 0.0
        for m in range(12):
            n = float((month == m).sum())
            acc = month_accounts(
                sc.economics.rural_station,
                households=hh,
                open_days=np.full(3, n),
                days_in_month=int(n),
                received=hh * rate[month == m].sum(),
                subsidy=np.zeros(3),
                age_months=np.full(3, 12 * 3 + m),
                produce=hh * produce[month == m].sum(),
            )
            profit, received, income = profit + acc.profit, received + acc.received, income + acc.income
        assert expected.received == pytest.approx(received, rel=0.01)
        assert expected.produce == pytest.approx(hh * produce.sum(), rel=0.03)
        assert (np.abs(expected.profit - profit / 12) <= 0.01 * income / 12).all()
    assert GROWER_HOUSEHOLDS == STATION_HOUSEHOLDS


def test_expected_accounts_match_a_simulated_year(write):
    """A run's station accounts (every operator at the stated rent and wage, no produce) in a
    year without subsidies are the expected ones, station by station, within Poisson noise; and
    the run's last subsidised year is the one the expectation assumes."""
    loaded = scenario(
        write,
        "economics.rural_station.rent_cv=0",
        "economics.rural_station.reservation_wage_cv=0",
        "economics.exit.mode=none",
        "upstream.enabled=false",
        "horizon.years=1",
        "simulation.warmup_days=2",
        "simulation.run_on_days=0",
        plan="{2016: 10}",
    )
    network = build_network(loaded)
    run = simulate(network, loaded, 4)
    rural = run.stations[run.stations["kind"] == "rural_station"]
    sites = np.flatnonzero(network.plan.year_built != NO_STATION)
    sc = loaded.scenario
    last = subsidised_years(sc.subsidies)
    assert (
        last == 3
        and run.summary["stations_survival"]["by_cohort"]["2016"]["subsidies_end"] == 2016 + last - 1
    )
    # The same year without subsidies: the build year's accounts (equipment written off too).
    bare = sc.model_copy(update={"subsidies": sc.subsidies.model_copy(update={"rules": {}})})
    expected = expected_accounts(bare, households(network), 2016)
    assert expected.year == 2016
    assert rural["parcels_received"].to_numpy() == pytest.approx(expected.received[sites], rel=0.03)
    simulated = (rural["income_yuan"] - rural["costs_yuan"]).to_numpy() / 12
    income = rural["income_yuan"].to_numpy() / 12
    assert np.abs(simulated - expected.profit[sites]).max() < 0.02 * income.min()


def test_generous_economics_make_viable_mclp(write):
    generous = (
        "economics.rural_station.rent_yuan_per_month=0",
        "economics.rural_station.fee_received_yuan=5",
    )
    viable = build_network(scenario(write, *generous))
    mclp = build_network(scenario(write, *generous, "stations.rural.placement=mclp"))
    assert viable.plan.year_built.tolist() == mclp.plan.year_built.tolist()
    assert viable.notes == ()


def test_harsh_economics_place_no_station_and_say_so(write):
    network = build_network(scenario(write, "economics.rural_station.rent_yuan_per_month=1000000"))
    assert (network.plan.year_built == NO_STATION).all()
    assert network.notes == (
        "viable: 0 of 8 stations placed by 2016; no other candidate would make a profit in its first "
        "year without subsidies (2019)",
        "viable: 0 of 16 stations placed by 2017; no other candidate would make a profit in its first "
        "year without subsidies (2020)",
    )
    one = build_network(
        scenario(write, "economics.rural_station.rent_yuan_per_month=1000000", plan="{2016: 8}")
    )
    assert one.notes[0].startswith("viable: 0 of 8 stations placed; ")


def test_too_few_viable_places_fewer_and_says_so(write):
    loaded = scenario(write, "economics.rural_station.rent_yuan_per_month=600", plan="{2016: 30, 2017: 45}")
    network = build_network(loaded)
    hh = households(network)
    viable = {y: expected_accounts(loaded.scenario, hh, y).viable for y in (2016, 2017)}
    placed = {y: len(network.plan.sites(y)) for y in (2016, 2017)}
    assert placed[2016] == viable[2016].sum() < 30
    assert placed[2017] == (viable[2016] | viable[2017]).sum() < 45
    assert network.notes == (
        f"viable: {placed[2016]} of 30 stations placed by 2016; no other candidate would make a "
        "profit in its first year without subsidies (2019)",
        f"viable: {placed[2017]} of 45 stations placed by 2017; no other candidate would make a "
        "profit in its first year without subsidies (2020)",
    )


@pytest.mark.parametrize("plan", ["{2016: 40}", "{2016: 20, 2017: 40}"])
def test_dearer_rent_never_places_more_stations(write, plan):
    placed = []
    for rent in (0, 300, 600, 1500, 100_000):
        network = build_network(
            scenario(write, f"economics.rural_station.rent_yuan_per_month={rent}", plan=plan)
        )
        placed.append([len(network.plan.sites(y)) for y in network.plan.years])
    for a, b in itertools.pairwise(placed):
        assert all(x >= y for x, y in zip(a, b, strict=True)), placed
    assert placed[0][-1] == 40 and placed[-1][-1] == 0


def test_stations_subsidised_for_ever_are_all_viable(write):
    """A yearly village-station rule without years: no station ever faces the exit rule."""
    sc = scenario(write, "economics.rural_station.rent_yuan_per_month=1000000").scenario
    rule = Rule(payer="county", applies_to="rural_station", trigger="yearly", amount={"yuan": 1},
                conditions=[{"metric": "open_days", "at_least": 1}])  # fmt: skip
    forever = sc.model_copy(update={"subsidies": Subsidies(rules={"r": rule})})
    assert subsidised_years(forever.subsidies) == FOREVER
    expected = expected_accounts(forever, np.array([10.0, 100.0]), 2016)
    assert expected.year is None and expected.viable.all()
    assert subsidised_years(Subsidies()) == 0
    assert expected_accounts(sc.model_copy(update={"subsidies": Subsidies()}), np.ones(2), 2016).year == 2016


def test_solve_places_new_sites_only_where_viable():
    x = np.arange(8, dtype=float)
    cost, w = np.abs(x[:, None] - x[None, :]), np.array([5.0, 1, 9, 1, 1, 7, 1, 3])
    ok = np.array([True, False, False, True, True, False, True, True])
    placed = solve(cost, w, 3, "viable", radius=1.0, viable=ok)
    assert set(placed.sites.tolist()) <= set(np.flatnonzero(ok).tolist()) and len(placed.sites) == 3
    # The fixed sites stay, viable or not; p shrinks to what fits.
    placed = solve(cost, w, 8, "viable", radius=1.0, viable=ok, fixed=[2])
    assert placed.sites.tolist() == [0, 2, 3, 4, 6, 7]
    for exact in (False, True):
        everywhere = solve(cost, w, 3, "viable", radius=1.0, viable=np.ones(8, bool), exact=exact)
        assert everywhere.sites.tolist() == solve(cost, w, 3, "mclp", radius=1.0, exact=exact).sites.tolist()
    assert len(solve(cost, w, 3, "viable", radius=1.0, viable=np.zeros(8, bool)).sites) == 0
    plan, _ = plan_builds(
        {2016: 2, 2017: 5}, "viable", weights=w, cost=cost, radius=1.0,
        viable={2016: ok & (w > 2), 2017: ok},
    )  # fmt: skip
    assert plan.sites(2016).tolist() == [0, 7] and len(plan.sites(2017)) == 5
    assert STRATEGIES["viable"].needs_economics and not STRATEGIES["mclp"].needs_economics


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "viable", "viable": np.ones(3, bool)},
         "viable must be a bool mask of shape (5,), one per candidate (got bool (3,))"),
        ({"strategy": "viable", "viable": np.ones(5)},
         "viable must be a bool mask of shape (5,), one per candidate (got float64 (5,))"),
        ({"strategy": "mclp", "viable": np.ones(5, bool)},
         "strategy mclp takes no viable mask; only viable does"),
    ],
)  # fmt: skip
def test_bad_viable_masks_get_one_line(kwargs, message):
    x = np.arange(5, dtype=float)
    with pytest.raises(PlacementError) as err:
        solve(np.abs(x[:, None] - x[None, :]), np.ones(5), 2, radius=1.0, **kwargs)
    assert str(err.value) == message


def test_a_misspelt_strategy_is_one_line_naming_viable(write, capsys):
    path = write("s.yaml", "name: s\nregion: {preset: small, villages: 20}\nstations: {rural: {target: 3}}\n")
    assert main(["validate", str(path), "--set", "stations.rural.placement=viabel"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stations.rural.placement" in err[0] and "viable" in err[0]
    assert main(["validate", str(path), "--set", "stations.rural.placement=viable"]) == 0


def test_a_study_rebuilds_a_viable_network_when_the_economics_change():
    """Studies keep networks per worker by the sections a network depends on: a `viable` one
    depends on the operators' economics too (another placement does not)."""
    from analysis.tasks import network_key
    from sim.scenario.load import load_scenario

    small = Path(__file__).resolve().parent.parent / "scenarios" / "small.yaml"

    def key(*sets: str) -> str:
        return network_key(load_scenario(small, [("t", s) for s in sets]).resolved_yaml())

    viable = "stations.rural.placement=viable"
    assert key(viable) != key(viable, "economics.rural_station.rent_yuan_per_month=900")
    assert key() == key("economics.rural_station.rent_yuan_per_month=900")
