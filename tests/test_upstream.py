"""Produce going up: harvest calendars, heavy-tailed volumes, backhaul hand cases (fits, does
not fit, dedicated 4PL pickup, spoiled on the shelf or on the way), cold chain against ambient,
4PL matching hand cases (a van on the road calls on its way home; a call worth its cost or
not), and in whole runs: conservation, deliveries untouched by the produce riding back, the
counterfactual without 4PL, and the value threshold's direction."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from sim.core.events import Bus
from sim.engine.model import Model
from sim.engine.registry import ENGINES
from sim.flows.produce import BACKHAUL, MATCHED, ON_VAN, ProduceFlow, _Items, grower_rates, in_season
from sim.network.build import build_network
from sim.run import kpi_observer, simulate
from sim.scenario.load import load_scenario
from tests.test_sim import assert_same_kpis, one_village_network, small

H = 1 / 60


def flow(write, *sets):
    """Produce on one village station 10 km (20 min) from its warehouse: one product keeping
    24 h ambient and 240 h cold, trunk out at 21:00 after 2 h consolidation, 5 h to the city."""
    path = write(
        "one.yaml",
        """
        name: one
        region: small
        horizon: {start: 2018-06-01, days: 3}
        stations: {rural: {target: 1}}
        couriers: {van_capacity: 10, travel_noise_cv: 0}
        upstream:
          enabled: true
          products: {berry: {seasons: [[06-01, 06-30]], growers_share: 1, parcels_per_grower_day: 1,
                             ambient_shelf_h: 24, cold_shelf_h: 240}}
          consolidation_h: 2
          trunk_out_h: [21]
          trunk_to_city_h: 5
          matching: none
        simulation: {warmup_days: 0}
        """,
    )
    model = Model(one_village_network(), load_scenario(path, list(sets)).scenario)
    produce = ProduceFlow(model, 0)
    produce.on_network(model.network_on(model.stations(), 0).plans, 1)
    return produce


def offered(produce, hours):
    """Put produce offered at `hours` on the station's shelf."""
    h = np.asarray(hours, dtype=float)
    produce.waiting = _Items(
        np.zeros(len(h), np.int64), np.zeros(len(h), np.int64), h, h + produce.ambient[0]
    )


def van_trip(station_drop: int, township_drop: int):
    """One van: the station at 08:20 (drops `station_drop`), the township point at 09:00, back
    at 09:30. Stop ids: the village station 0, the township point 1."""
    return [
        (
            np.array([0, 0]),
            np.array([0, 1]),
            np.array([8 + 20 * H, 9.0]),
            np.array([station_drop, township_drop]),
            np.array([9.5]),
        )
    ]


def test_backhaul_that_fits_goes_to_the_city_in_the_cold_chain(write):
    """Five boxes on the shelf, room for all after the drop: on the van at 08:20, at the
    warehouse 09:30, on the 21:00 trunk, in the city at 26:00. Shelf life used: 9.5 h of 24
    ambient + 16.5 h of 240 cold."""
    produce = flow(write)
    offered(produce, [0.0, 1.0, 2.0, 3.0, 4.0])
    produce.collect(0, 0, van_trip(3, 0), counted=True)
    assert len(produce.waiting) == 0
    _, _, _, city, fresh, how, chain = produce.collected[0]
    assert city.tolist() == [26.0] * 5 and fresh.all() and chain.all() and (how == BACKHAUL).all()
    s = produce.summary(["K"])
    assert s["arrived_fresh"] == 5 and s["reconciled"] and s["backhaul"]["parcels"] == 5
    assert s["offer_to_city_h"]["mean_h"] == pytest.approx(26.0 - 2.0)
    assert s["backhaul"]["load_factor"] == pytest.approx(5 / 10)


def test_backhaul_that_does_not_fit_leaves_the_rest_first_in_first_out(write):
    """The van still carries 8 parcels for the township point after the station: room for 2
    of the 5 boxes, the two offered first."""
    produce = flow(write)
    offered(produce, [0.0, 1.0, 2.0, 3.0, 4.0])
    produce.collect(0, 0, van_trip(2, 8), counted=True)
    assert produce.waiting.offer_h.tolist() == [2.0, 3.0, 4.0]
    assert produce.collected[0][2].tolist() == [0.0, 1.0]


def test_produce_offered_after_the_van_passed_waits(write):
    produce = flow(write)
    offered(produce, [8.0, 9.0])
    produce.collect(0, 0, van_trip(1, 0), counted=True)
    assert produce.waiting.offer_h.tolist() == [9.0]


def test_produce_past_its_shelf_life_is_spoiled_at_the_station(write):
    """Offered the day before at 07:00 with 24 h of shelf life: gone by 07:00, before the van
    at 08:20; the other box is taken."""
    produce = flow(write)
    offered(produce, [-17.0, 4.0])
    produce.collect(0, 0, van_trip(1, 0), counted=False)
    s = produce.summary(["K"])
    assert s["spoiled_at_station"] == 0  # offered before the horizon: not counted
    assert [len(x) for x in produce.spoiled_waiting] == [1] and produce.collected[0][2].tolist() == [4.0]


def test_without_cold_chain_produce_spoils_on_the_way(write):
    """Offered at 00:00, in the city at 26:00: 26 h ambient is over its 24 h shelf life; in the
    cold chain it uses 9.5/24 + 16.5/240 of it and arrives fresh."""
    for cold, fresh in ((True, 1), (False, 0)):
        produce = flow(write, f"upstream.cold_chain={str(cold).lower()}")
        offered(produce, [0.0])
        produce.collect(0, 0, van_trip(1, 0), counted=True)
        produce.m.end_h = 100.0
        s = produce.summary(["K"])
        assert (s["arrived_fresh"], s["spoiled_in_transit"]) == (fresh, 1 - fresh), cold
        assert s["reconciled"]


def test_dedicated_pickup_when_no_backhaul_comes_in_time(write):
    """No van today; the station's next backhaul reaches the warehouse tomorrow at 14:40 at
    the earliest, after its produce (offered at 02:00, 24 h of shelf life) spoils at 26:00:
    with 4PL matching a pickup calls at 17:00 (20 km there and back; 100 yuan, less than the
    200-yuan box it saves)."""
    produce = flow(write, "upstream.matching=4pl", "upstream.products.berry.value_yuan=200")
    offered(produce, [2.0, 20.0])  # the second is offered after the pickup: it waits
    produce.collect(0, 0, [], counted=True)
    assert produce.waiting.offer_h.tolist() == [20.0]
    _, _, offer, city, fresh, how, _ = produce.collected[0]
    assert offer.tolist() == [2.0] and city.tolist() == [26.0]  # back 17:20, + 2 h: the 21:00 trunk
    assert fresh.all() and how.tolist() == [MATCHED]
    s = produce.summary(["K"])
    assert s["matching"]["trips"] == 1 and s["matching"]["van_km_added"] == pytest.approx(20.0)
    assert s["matching"]["cost_yuan"] == pytest.approx(20.0 * 2.5 + 50.0)
    # Produce that keeps until the next backhaul is at the warehouse (tomorrow 08:00 + 40 min
    # of driving + 6 h for the rest of the route) is left for it.
    produce = flow(
        write, "upstream.matching=4pl", "upstream.products.berry.ambient_shelf_h=48",
        "upstream.products.berry.value_yuan=200",
    )  # fmt: skip
    offered(produce, [10.0])
    produce.collect(0, 0, [], counted=True)
    assert len(produce.waiting) == 1 and not produce.collected


def test_a_truck_is_called_only_when_the_produce_it_saves_is_worth_the_trip(write):
    """The same call costs 100 yuan (20 km x 2.5 + 50). Boxes worth 60 yuan: one urgent box
    (60 < 100) is left to spoil and the call counted as declined; two (120 >= 100) get the
    truck; with `matching_min_value_yuan` 150, two (120) do not."""
    for boxes, floor, called in ((1, 0, False), (2, 0, True), (2, 150, False)):
        produce = flow(
            write, "upstream.matching=4pl", "upstream.products.berry.value_yuan=60",
            f"upstream.matching_min_value_yuan={floor}",
        )  # fmt: skip
        offered(produce, [2.0] * boxes)
        produce.collect(0, 0, [], counted=True)
        m = produce.summary(["K"])["matching"]
        assert (m["trips"], len(produce.waiting)) == ((1, 0) if called else (0, boxes)), (boxes, floor)
        assert m["cost_yuan"] == pytest.approx(100.0 if called else 0.0)
        assert m["dedicated"]["calls_declined"] == (0 if called else 1)
        assert m["dedicated"]["value_declined_yuan"] == pytest.approx(0.0 if called else 60.0 * boxes)


def test_a_van_on_the_road_calls_on_its_way_home_before_any_truck(write):
    """Boxes offered at 09:00 and 09:30, after today's van passed the station (08:20); they
    keep 24 h, so they would spoil before tomorrow's backhaul reaches the warehouse (14:40).
    The van, back from the township point at the depot at 09:30, calls on its way home: there
    at 09:50, 20 km and 40 minutes of detour plus 4 minutes at the stop and 0.2 a box (yuan:
    20 x 1.5 + (44.4 / 60) x 40 = 59.6), home 10:14, on the 21:00 trunk, in the city at
    26:00. The box offered at 11:00 is not there yet: it waits. Boxes worth 20 yuan (40 < 59.6)
    are not worth the detour."""
    produce = flow(write, "upstream.matching=vans", "upstream.products.berry.value_yuan=60")
    offered(produce, [9.0, 9.5, 11.0])
    produce.collect(0, 0, van_trip(1, 0), counted=True)
    assert produce.waiting.offer_h.tolist() == [11.0]
    _, _, offer, city, fresh, how, _ = produce.collected[0]
    assert offer.tolist() == [9.0, 9.5] and city.tolist() == [26.0, 26.0]
    assert fresh.all() and (how == ON_VAN).all()
    m = produce.summary(["K"])["matching"]
    assert m["trips"] == 0 and m["on_vans"]["calls"] == 1 and m["parcels"] == 2
    assert m["on_vans"]["km"] == pytest.approx(20.0) and m["van_km_added"] == pytest.approx(20.0)
    assert m["on_vans"]["hours"] == pytest.approx((40 + 4 + 0.4) / 60)
    assert m["cost_yuan"] == pytest.approx(20 * 1.5 + (40 + 4 + 0.4) / 60 * 40)
    assert m["by_county_year"]["K"]["2018"]["van_calls"] == 1
    cheap = flow(write, "upstream.matching=vans", "upstream.products.berry.value_yuan=20")
    offered(cheap, [9.0, 9.5, 11.0])
    cheap.collect(0, 0, van_trip(1, 0), counted=True)
    assert len(cheap.waiting) == 3 and not cheap.collected


def test_harvest_calendar_and_windows_over_new_year(write):
    cfg = load_scenario(
        write("c.yaml", "name: c\nregion: small\n"),
        ["upstream.products={a: {seasons: [[06-01, 06-30]], growers_share: 1, parcels_per_grower_day: 1}, "
         "b: {seasons: [[11-15, 02-15], [05-01, 05-02]], growers_share: 1, parcels_per_grower_day: 1}}"],
    ).scenario.upstream  # fmt: skip
    days = [date(2018, 1, 1) + timedelta(days=d) for d in range(365)]
    season = in_season(cfg, days)
    assert season[:, 0].sum() == 30 and season[151, 0] and not season[150, 0]  # 1 June is day 151
    assert season[:, 1].sum() == 46 + 47 + 2  # 1 Jan-15 Feb, 15 Nov-31 Dec, 1-2 May


def test_heavy_tailed_volumes(write):
    """A share of villages grows each product; grower volumes have mean 1 (log-normal);
    "Taobao villages" (2%) sell twenty times more, so the top 2% sell a large part."""
    cfg = load_scenario(write("c.yaml", "name: c\nregion: small\n")).scenario.upstream
    rates = grower_rates(cfg, np.full(200_000, 150.0), seed=1)
    per_day = np.array([p.parcels_per_grower_day for p in cfg.products.values()])
    share = np.array([p.growers_share for p in cfg.products.values()])
    grows = rates > 0
    np.testing.assert_allclose(grows.mean(axis=0), share, atol=0.01)
    total = rates.sum(axis=1)
    top = np.sort(total)[-4000:].sum() / total.sum()
    assert 0.2 < top < 0.5
    expected = share * per_day * (1 + cfg.taobao_share * (cfg.taobao_factor - 1))
    np.testing.assert_allclose(rates.mean(axis=0), expected, rtol=0.1)


SHORT = (
    "upstream.products={bayberry: {seasons: [[06-01, 06-30]], growers_share: 0.3, "
    "parcels_per_grower_day: 20, ambient_shelf_h: 20, cold_shelf_h: 240, value_yuan: 100}}"
)
DEAR = "upstream.matching_min_value_yuan=10000"


@pytest.fixture(scope="module")
def june(tmp_path_factory):
    """The small region in June, with and without produce, with produce and no matching, and
    with bayberries keeping 20 h (vans on the road cannot save them all: trucks must), with
    trucks called for any produce worth their trip or only for 10,000 yuan of it."""
    path = tmp_path_factory.mktemp("june") / "s.yaml"
    path.write_text(
        "name: s\nregion: {preset: small, roads: synthetic}\nstations: {rural: {target: 25}}\nseed: 3\n"
        "horizon: {start: 2018-06-01, days: 20}\nsimulation: {warmup_days: 3}\n"
        # stations beyond 20 minutes visited every third day: some produce cannot wait
        "couriers: {frequency: [{max_minutes: 60, every_days: 1}, {every_days: 3}]}\n"
        "pickup: {shelf_days: 0, station_capacity: 1000}\n"  # shelves that let them wait three days
    )
    out = {}
    for name, sets in (("off", []), ("on", ["upstream.enabled=true"]),
                       ("none", ["upstream.enabled=true", "upstream.matching=none"]),
                       ("short", ["upstream.enabled=true", SHORT]),
                       ("dear", ["upstream.enabled=true", SHORT, DEAR])):  # fmt: skip
        loaded = load_scenario(path, ["region.villages=60", *sets])
        model = Model(build_network(loaded), loaded.scenario)
        kpi = kpi_observer(model)
        info = ENGINES["fast"](model, 5, Bus([kpi])).run()
        out[name] = (kpi, info.upstream)
    return out


def test_every_produce_parcel_ends_somewhere_and_bayberry_reaches_the_city(june):
    for name in ("on", "none"):
        u = june[name][1]
        assert u["reconciled"] and u["offered"] > 1000
        assert u["offered"] == sum(
            u[k] for k in ("arrived_fresh", "spoiled_at_station", "spoiled_in_transit",
                           "waiting_at_station_at_end", "in_transit_at_end")
        )  # fmt: skip
        berry = u["by_product"]["bayberry"]
        assert (
            berry["arrived_fresh"] > 0
            and berry["offer_to_city_h"]["p90_h"] > berry["offer_to_city_h"]["p50_h"]
        )
        assert sum(c["offered"] for c in u["by_county"].values()) == u["offered"]


def test_produce_never_changes_deliveries(june):
    assert_same_kpis(june["off"][0], june["on"][0])
    assert june["off"][1] is None


def test_matching_saves_produce_at_a_cost(june):
    on, none = june["on"][1], june["none"][1]
    assert none["matching"]["trips"] == 0 and none["matching"]["van_km_added"] == 0
    assert on["matching"]["trips"] > 0 and on["matching"]["cost_yuan"] > 0
    assert on["spoiled_share"] < none["spoiled_share"]


def test_spoilage_without_4pl_is_reported_beside_it_and_is_the_run_without_matching(june):
    """The counterfactual flow (backhaul only, same offers and trips) spoils exactly what the
    run without matching spoils, and never less than the run with 4PL."""
    on, none = june["on"][1], june["none"][1]
    assert on["without_4pl"]["spoiled_share"] == none["spoiled_share"]
    assert on["without_4pl"]["spoiled"] == none["spoiled_at_station"] + none["spoiled_in_transit"]
    assert on["without_4pl"]["value_spoiled_yuan"] == pytest.approx(none["value_spoiled_yuan"])
    assert on["spoiled_share_without_4pl"] >= on["spoiled_share"]
    assert on["matching"]["value_saved_yuan"] > 0
    assert none["without_4pl"]["spoiled_share"] == none["spoiled_share"]
    short = june["short"][1]
    assert short["spoiled_share_without_4pl"] > 0.5 > short["spoiled_share"]


def test_a_higher_value_threshold_calls_fewer_trucks_and_loses_more_produce(june):
    on, dear = june["short"][1], june["dear"][1]
    assert dear["reconciled"] and on["without_4pl"] == dear["without_4pl"]
    assert dear["matching"]["trips"] < on["matching"]["trips"]
    assert dear["matching"]["dedicated"]["cost_yuan"] < on["matching"]["dedicated"]["cost_yuan"]
    assert dear["matching"]["cost_yuan"] < on["matching"]["cost_yuan"]
    assert dear["spoiled_share"] > on["spoiled_share"]
    assert dear["matching"]["dedicated"]["calls_declined"] > on["matching"]["dedicated"]["calls_declined"]


def test_reference_engine_says_it_leaves_produce_out(write):
    loaded = small(write, "upstream.enabled=true", "simulation.engine=reference", days=2, villages=30)
    run = simulate(build_network(loaded), loaded, 1)
    assert run.summary["upstream"]["simulated"] is False


def test_pickup_tour_goes_nearest_first_and_is_cut_by_capacity_and_hours(write):
    """Stops 1, 2, 3 at 10, 20 and 30 km east of the warehouse (1 km a minute): the tour goes
    out in that order. 150 + 40 parcels fit a 200-parcel trip, 100 more do not; with trips of
    at most 27 minutes from the first stop home, stop 1 then 2 (10 + 20 minutes) is too long
    and every stop runs alone."""
    from sim.flows.produce import _cut, _nearest_tour

    x = np.array([0.0, 10.0, 20.0, 30.0])
    km = np.abs(x[:, None] - x[None, :])
    assert _nearest_tour(km, np.array([3, 1, 2])).tolist() == [1, 2, 0]
    cfg = load_scenario(write("c.yaml", "name: c\nregion: small\n")).scenario.upstream
    runs = _cut(np.array([1, 2, 3]), np.array([150, 40, 100]), km, cfg)
    assert [r.tolist() for r in runs] == [[0, 1], [2]]
    short = cfg.model_copy(update={"matching_trip_h": 0.45})
    runs = _cut(np.array([1, 2, 3]), np.array([1, 1, 1]), km, short)
    assert [r.tolist() for r in runs] == [[0], [1], [2]]
