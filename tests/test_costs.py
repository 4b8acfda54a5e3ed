"""Who pays what (issue 20, items 5 and 8): the 4PL cost booked in the ledger with its payer
and counted in public money only when the county pays it, or in the express operators'
courier cost when they pay it; van costs by road hours or by whole van-days, with a fixed
cost per van-day."""

from __future__ import annotations

import pytest

from sim.network.build import build_network
from sim.run import simulate
from tests.test_sim import small

# Stations visited once a week (shelves large enough for a week of parcels, so that they are not
# visited more often): bayberries (48 h on an ambient shelf) would spoil waiting for the backhaul,
# so the 4PL is called.
JUNE = ("horizon.start=2018-06-01", "upstream.enabled=true", "simulation.warmup_days=2",
        "couriers.frequency=[{every_days: 7}]", "pickup.station_capacity=2000")  # fmt: skip


@pytest.fixture(scope="module")
def paid(tmp_path_factory):
    """Ten June days of the small region with produce, the 4PL paid by each payer in turn (the
    same network, seed and draws)."""
    folder = tmp_path_factory.mktemp("paid")

    def write(name, text):
        (folder / name).write_text(text)
        return folder / name

    out, network = {}, None
    for payer in ("platform", "county", "operator"):
        loaded = small(write, *JUNE, f"upstream.matching_payer={payer}", days=10)
        network = network or build_network(loaded)
        out[payer] = simulate(network, loaded, 3)
    return out


def test_the_4pl_cost_is_in_the_ledger_with_its_payer(paid):
    for payer, run in paid.items():
        cost = run.summary["upstream"]["matching"]["cost_yuan"]
        assert cost > 0
        rows = run.ledger[run.ledger["rule"] == "4pl-matching"]
        assert set(rows["payer"]) == {payer}
        assert rows["amount_yuan"].sum() == pytest.approx(cost)
        assert set(rows["county"]) <= set(run.summary["by_county"])
        assert (rows["date"] <= "2018-06-10").all()  # the run's last day: its year is cut short
        # Subsidies are what the rules paid: the 4PL rows are not in them.
        subsidy_rows = run.ledger[run.ledger["rule"] != "4pl-matching"]
        assert subsidy_rows["amount_yuan"].sum() == pytest.approx(run.summary["subsidies"]["total_yuan"])


def test_public_cost_counts_the_4pl_only_when_the_county_pays(paid):
    for payer, run in paid.items():
        s = run.summary
        cost = s["upstream"]["matching"]["cost_yuan"]
        public = s["public_cost"]
        own = cost if payer == "county" else 0.0
        assert public["matching_4pl_yuan"] == pytest.approx(own)
        assert public["total_yuan"] == pytest.approx(s["subsidies"]["total_yuan"] + own)
        delivered = s["total"]["parcels"]["delivered"]
        assert public["per_parcel_yuan"] == pytest.approx(public["total_yuan"] / delivered)


def test_the_express_operators_pay_the_4pl_in_their_courier_cost(paid):
    platform, operator = paid["platform"].summary, paid["operator"].summary
    cost = operator["upstream"]["matching"]["cost_yuan"]
    assert operator["vans"]["km"] == platform["vans"]["km"]  # the same vans
    assert operator["vans"]["matching_cost_yuan"] == pytest.approx(cost)
    assert platform["vans"]["matching_cost_yuan"] == 0
    assert operator["vans"]["courier_cost_yuan"] == pytest.approx(
        platform["vans"]["courier_cost_yuan"] + cost
    )


def test_van_days_cost_a_whole_shift_per_van_and_a_fixed_cost_per_van_day(write):
    """Every van that leaves costs shift_h x cost_per_hour (10 x 40 = 400 yuan) instead of its
    hours on the road, and cost_per_van_day (100 yuan) more; km cost alike. A van out less
    than a shift costs more by van-days."""
    runs = {}
    for basis, per_day in (("road_hours", 0), ("van_days", 0), ("van_days", 100)):
        loaded = small(write, f"couriers.cost_basis={basis}", f"couriers.cost_per_van_day={per_day}", days=4)
        runs[basis, per_day] = simulate(build_network(loaded), loaded, 3).summary["vans"]
    road, days, fixed = runs["road_hours", 0], runs["van_days", 0], runs["van_days", 100]
    vans, km_cost = road["van_days"], road["km"] * 1.5
    assert vans == road["routes_driven"] > 0 and days["van_days"] == vans
    assert road["courier_cost_yuan"] == pytest.approx(km_cost + road["hours"] * 40)
    assert days["courier_cost_yuan"] == pytest.approx(km_cost + vans * 10 * 40)
    assert fixed["courier_cost_yuan"] == pytest.approx(days["courier_cost_yuan"] + vans * 100)
    assert road["hours"] < vans * 10 and days["courier_cost_yuan"] > road["courier_cost_yuan"]
    assert days["cost_basis"] == "van_days"
