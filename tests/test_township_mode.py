"""Township mode (`couriers.mode: township`): what existed before joint distribution, "brands to
the township point, postal to the villages". Hand case, the fast engine equal to the reference,
no brand van at a village station, brand parcels collected at the township point, every parcel
accounted for, a missing village carrier named, and joint distribution against it."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import InputError
from sim.core.events import Bus, Delivered, Trips
from sim.core.ids import TOWNSHIP_POINT, VILLAGE_STATION
from sim.engine.model import Model
from sim.engine.registry import ENGINES
from sim.network.build import build_network
from sim.run import simulate
from sim.scenario.load import load_scenario
from tests.test_carriers import THREE, carriers, fast_and_reference_agree, kpis_by_mode, one_station
from tests.test_faults import ALL
from tests.test_sim import (
    NO_RANDOMNESS,
    one_village_network,
    scripted,
    small,
)

POSTAL = 0  # `THREE`: postal, zto, yunda


class Record:
    """Each van's carrier and the stops it called at; each delivered parcel."""

    def __init__(self):
        self.visits: list[tuple[int, int]] = []  # (carrier, stop)
        self.km_by_carrier: dict[int, float] = {}
        self.delivered: list[tuple] = []  # (point, carrier, dest, ptype, km)

    def on_trips(self, e: Trips):
        self.visits += list(zip(e.carrier[e.visit_van].tolist(), e.visit_stop.tolist(), strict=True))
        for c, km in zip(e.carrier.tolist(), e.km.tolist(), strict=True):
            self.km_by_carrier[c] = self.km_by_carrier.get(c, 0.0) + km

    def on_delivered(self, e: Delivered):
        p = e.parcels
        self.delivered += list(
            zip(
                p.point.tolist(),
                p.carrier.tolist(),
                p.dest.tolist(),
                p.ptype.tolist(),
                e.km.tolist(),
                strict=True,
            )
        )


@pytest.mark.parametrize("engine", list(ENGINES))
def test_hand_case_brands_to_the_township_postal_to_the_village(write, engine):
    """One village station 10 km east of the county seat, which is also its township seat.
    Two postal and two zto parcels for the village. Township mode: the postal van drives to the
    station and back (20 km) and leaves its two there (their households at the station, 0 km);
    the zto van calls only at the township point at the warehouse (0 km) and its two parcels
    wait there: their villagers come 10 km. Joint: one van, all four at the station."""
    rows = [(0, 0, 0.5 + i / 10, 3.0, carrier) for i, carrier in enumerate((0, 1, 0, 1))]
    out = {}
    for mode in ("township", "joint"):
        model = Model(one_village_network(), one_station(write, mode, engine), orders=scripted(rows))
        record = Record()
        ENGINES[engine](model, 0, Bus([record])).run()
        out[mode] = record, model
    (town, model), (joint, _) = out["township"], out["joint"]
    station, seat = 0, model.points.n_villages  # stop ids
    assert sorted(town.visits) == [(0, station), (1, seat)]
    assert town.km_by_carrier == pytest.approx({0: 20.0, 1: 0.0})
    by_carrier = {c: (d, t, km) for _, c, d, t, km in town.delivered}
    assert by_carrier[0] == (station, VILLAGE_STATION, 0.0)
    assert by_carrier[1] == (seat, TOWNSHIP_POINT, pytest.approx(10.0))
    assert len(town.delivered) == 4
    assert joint.visits == [(-1, station)] and joint.km_by_carrier == pytest.approx({-1: 20.0})
    assert all(t == VILLAGE_STATION for _, _, _, t, _ in joint.delivered)


@pytest.mark.parametrize("randomness", ["deterministic", "random", "faults"])
def test_fast_engine_equals_reference_in_township_mode(write, randomness):
    extra = {"deterministic": NO_RANDOMNESS, "random": [], "faults": ALL}[randomness]
    fast, ref = fast_and_reference_agree(write, "township", extra)
    np.testing.assert_array_equal(fast.held_by_faults, ref.held_by_faults)
    np.testing.assert_allclose(fast.villager_km, ref.villager_km, rtol=1e-12)
    assert fast.delivered.sum() > 150 and (fast.carrier_vans[:3, 2] > 0).all()  # each carrier drove


@pytest.fixture(scope="module")
def township_run(tmp_path_factory):
    """A township-mode run of the small region with its seen trips and deliveries."""
    folder = tmp_path_factory.mktemp("township")
    path = folder / "s.yaml"
    path.write_text(
        "name: s\nregion: {preset: small, roads: synthetic}\nstations: {rural: {target: 25}, "
        "community: {count: 3}}\nseed: 3\n"
    )
    loaded = load_scenario(path, ["simulation.days=8", "region.villages=60", THREE, "couriers.mode=township"])
    model = Model(build_network(loaded), loaded.scenario)
    record = Record()
    ENGINES["fast"](model, 1, Bus([record])).run()
    return model, record


def test_no_brand_van_calls_at_a_village_station(township_run):
    model, record = township_run
    nv = model.points.n_villages
    at_station = {c for c, stop in record.visits if stop < nv}
    at_seat = {c for c, stop in record.visits if stop >= nv}
    assert at_station == {POSTAL}  # postal calls at stations, nobody else
    assert at_seat == {0, 1, 2}  # every carrier at township points


def test_villagers_collect_brand_parcels_at_their_township_point(township_run):
    """A village with a station gets its postal parcels there; the brands' wait at its township
    express point, and the villager travels the road km from the village to it."""
    model, record = township_run
    p = model.points
    point, carrier, dest, ptype, km = (np.array(c) for c in zip(*record.delivered, strict=True))
    has_station = model.stations().rural_open(model.warmup)
    village = point < p.n_villages
    station = village & has_station[np.minimum(point, p.n_villages - 1)]
    brand = station & (carrier != POSTAL)
    postal = station & (carrier == POSTAL)
    assert brand.sum() > 200 and postal.sum() > 200
    assert (ptype[postal] == VILLAGE_STATION).all() and (dest[postal] == point[postal]).all()
    assert (ptype[brand] == TOWNSHIP_POINT).all()
    np.testing.assert_array_equal(dest[brand], p.n_villages + p.township[point[brand]])
    np.testing.assert_allclose(km[brand], p.km_to_township[point[brand]])
    assert km[brand].mean() > 2 * km[postal].mean()


def test_every_parcel_ends_somewhere_in_township_mode(write):
    loaded = small(write, THREE, "couriers.mode=township", days=8)
    run = simulate(build_network(loaded), loaded, 2)
    ends = run.summary["parcels_at_end"]
    assert ends["reconciled"] and ends["ordered"] > 1000


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ([carriers(a=0.5, b=0.5), "couriers.mode=township"], "village_carrier 'postal' is not one of"),
        (
            [THREE, "couriers.mode=township", "couriers.village_carrier=ems"],
            "village_carrier 'ems' is not one of",
        ),
    ],
)
def test_a_missing_village_carrier_is_named(write, sets, message):
    path = write("c.yaml", "name: c\nregion: small\n")
    with pytest.raises(InputError) as err:
        load_scenario(path, sets)
    assert message in str(err.value) and "couriers" in str(err.value) and "c.yaml" in str(err.value)


@pytest.mark.parametrize("seed", [1, 2])
def test_joint_distribution_against_what_existed(write, seed):
    """Same demand (common random numbers), same stations, five brands with postal the largest
    (as in Lishui): pooling every brand's parcels on one fleet that calls at every station
    (joint) against each brand's own fleet, postal alone calling at the villages (township).
    Joint brings every parcel to the village, so villagers travel less; and its vans drive fewer
    km a parcel (one fleet per county instead of five to the township seats)."""
    five = carriers(postal=0.35, zto=0.2, yto=0.2, sto=0.15, yunda=0.1)
    out = kpis_by_mode(write, five, ("township", "joint"), seed)
    town, joint = out["township"], out["joint"]
    np.testing.assert_array_equal(town.ordered_by_county, joint.ordered_by_county)
    per_parcel = {m: k.van["km"] / k.delivered.sum() for m, k in out.items()}
    villager = {m: k.villager_km.sum() for m, k in out.items()}  # the same parcels' households
    assert per_parcel["joint"] < per_parcel["township"]
    assert villager["joint"] < 0.8 * villager["township"]


@pytest.mark.slow
def test_stations_closing_in_township_mode_both_engines_agree(tmp_path):
    """Every station loses money and closes on 1 March: the postal fleet's plans are repaired
    (the brands' never had the stations), postal's parcels for those villages then go to the
    township points too, and both engines keep the same stations, ledger and lead times."""
    import pandas as pd

    from tests.test_programme import LOSING

    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\nseed: 4\nregion: {preset: small, villages: 40, roads: synthetic}\n"
        "horizon: {start: 2016-01-01, days: 100}\nstations: {rural: {target: 10}, community: {count: 2}}\n"
        "simulation: {warmup_days: 3}\n"
    )
    runs = {}
    for engine in ("fast", "reference"):
        loaded = load_scenario(
            path, [*LOSING, THREE, "couriers.mode=township", f"simulation.engine={engine}"]
        )
        runs[engine] = simulate(build_network(loaded), loaded, 4)
    fast, ref = runs["fast"], runs["reference"]
    rural = fast.stations[fast.stations["kind"] == "rural_station"]
    assert len(rural) == 10 and (rural["closed_on"] == "2016-03-01").all()
    assert rural["parcels_received"].sum() > 0
    assert fast.summary["parcels_at_end"]["reconciled"]
    pd.testing.assert_frame_equal(fast.ledger, ref.ledger)
    pd.testing.assert_frame_equal(fast.stations, ref.stations)
    a, b = fast.summary["total"], ref.summary["total"]
    assert a["parcels"] == b["parcels"]
    for lead in ("order_to_available_h", "order_to_hand_h"):
        assert a[lead] == pytest.approx(b[lead], rel=1e-12)
    for name, c in fast.summary["carriers"].items():
        r = ref.summary["carriers"][name]
        assert c["parcels_delivered"] == r["parcels_delivered"] and c["routes_driven"] == r["routes_driven"]
        assert c["van_km"] == pytest.approx(r["van_km"], rel=1e-12)


def test_produce_rides_on_postal_vans_in_township_mode_whatever_the_carriers_order(tmp_path):
    """Produce in June, township mode, the village carrier listed second: backhaul and 4PL calls
    on vans on the road take the county's travel matrices from the fleet that calls at the
    stations (postal's), not the first fleet's (zto's, township points only). Everything offered
    ends somewhere, and vans on the road do call at stations."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nregion: {preset: small, roads: synthetic}\nstations: {rural: {target: 25}}\nseed: 3\n"
        "horizon: {start: 2018-06-01, days: 12}\nsimulation: {warmup_days: 3}\n"
        "couriers: {frequency: [{max_minutes: 60, every_days: 1}, {every_days: 3}]}\n"
        "pickup: {shelf_days: 0, station_capacity: 1000}\nupstream: {enabled: true, matching: vans}\n"
    )
    sets = ["region.villages=60", carriers(zto=0.4, postal=0.35, yunda=0.25), "couriers.mode=township"]
    loaded = load_scenario(path, sets)
    model = Model(build_network(loaded), loaded.scenario)
    info = ENGINES["fast"](model, 5, Bus([])).run()
    u = info.upstream
    assert u["reconciled"] and u["offered"] > 500
    assert u["backhaul"]["parcels"] > 0 and u["matching"]["on_vans"]["calls"] > 0
