import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geo import presets
from geo.apportion import largest_remainder
from geo.region import VILLAGE_COLUMNS
from geo.synthetic import generate


def test_lishui_counts_match_the_2018_figures(lishui_region):
    r = lishui_region
    assert len(r.counties) == 9
    assert len(r.townships) == 173
    assert len(r.villages) == 2725
    assert r.crs == "EPSG:32650" and r.villages.crs == "EPSG:32650"
    assert r.counties["population"].sum() == 2_507_396  # 2020 census


def test_village_populations_sum_to_each_county_rural_population(lishui_region):
    spec = presets.lishui()
    got = lishui_region.villages.groupby("county")["population"].sum()
    for county in spec.counties:
        assert got[county.county_id] == round(county.population * county.rural_share)
    assert (lishui_region.villages["population"] >= 50).all()
    # Heavy tail: the largest village is several times the median.
    pop = lishui_region.villages["population"]
    assert pop.max() > 5 * pop.median()


def test_villages_spread_over_townships_in_proportion_to_real_counts(lishui_region):
    spec = presets.lishui()
    expected = largest_remainder(np.array([t.village_weight for t in spec.townships]), 2725)
    got = lishui_region.villages.groupby("township").size().reindex(lishui_region.townships["township_id"])
    assert got.fillna(0).astype(int).tolist() == expected.tolist()
    assert lishui_region.townships["villages"].tolist() == expected.tolist()


def test_known_township_coordinates_are_kept(lishui_region):
    spec = presets.lishui()
    known = [(i, t.lonlat) for i, t in enumerate(spec.townships) if t.lonlat is not None]
    assert len(known) == 84
    t = lishui_region.townships
    for i, (lon, lat) in known:
        assert t["lon"].iloc[i] == pytest.approx(lon, abs=1e-6)
        assert t["lat"].iloc[i] == pytest.approx(lat, abs=1e-6)
        assert not t["synthetic"].iloc[i]
    assert t["synthetic"].sum() == 173 - 84


def test_places_lie_in_their_approximate_county(lishui_region):
    r = lishui_region
    polygons = r.counties.set_index("county").geometry
    for frame in (r.villages, r.townships[r.townships["synthetic"]]):
        inside = [
            polygons[c].buffer(1500).contains(g) for c, g in zip(frame["county"], frame.geometry, strict=True)
        ]
        assert np.mean(inside) > 0.99
    # The approximate outlines carry the official areas (within 2 %).
    ratio = r.counties.geometry.area / 1e6 / r.counties["area_km2"]
    assert np.all(np.abs(ratio - 1) < 0.02)


def test_columns_households_and_lonlat(lishui_region):
    v = lishui_region.villages
    assert list(v.columns[: len(VILLAGE_COLUMNS)]) == list(VILLAGE_COLUMNS)
    assert v["village_id"].is_unique
    assert v["synthetic"].all()
    assert np.allclose(v["households"], np.maximum(1, np.rint(v["population"] / 2.49)))
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True).transform(v["lon"], v["lat"])
    assert np.allclose(x, v["x"], atol=0.01) and np.allclose(y, v["y"], atol=0.01)
    # Lishui lies roughly within 118.6-120.6 E, 27.2-28.9 N.
    assert v["lon"].between(118.6, 120.6).all() and v["lat"].between(27.2, 28.9).all()


def test_same_seed_same_region_other_seed_other_layout(small_region):
    again = generate(presets.small(), seed=2018)
    pd.testing.assert_frame_equal(pd.DataFrame(small_region.villages), pd.DataFrame(again.villages))
    assert shapely.equals(small_region.counties.geometry.iloc[0], again.counties.geometry.iloc[0])
    other = generate(presets.small(), seed=7)
    assert not np.allclose(other.village_xy, small_region.village_xy)


def test_small_preset_and_village_override(small_region):
    assert len(small_region.counties) == 1
    assert len(small_region.villages) == 150
    assert small_region.villages["population"].sum() == 54_000
    assert small_region.townships["synthetic"].all()
    fewer = generate(presets.small(), seed=1, villages=40)
    assert len(fewer.villages) == 40 and fewer.villages["population"].sum() == 54_000
