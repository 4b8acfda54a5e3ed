"""Maps and charts against baseline images (matplotlib's image comparison), so that a broken map
fails a test. Baselines live in tests/baseline_images/; after a deliberate change to a drawing,
write them again with ``RURALSIM_WRITE_BASELINES=1 pytest tests/test_images.py`` and look at
them before committing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.testing.compare import compare_images

from analysis.maps import county_panels, planning_map
from analysis.plots import lead_time_plot
from geo import presets
from geo.synthetic import generate

BASELINES = Path(__file__).parent / "baseline_images"
TOLERANCE = 2.0  # RMS difference on 0-255 grey levels


@pytest.fixture(scope="module")
def region():
    return generate(presets.small(), seed=7, villages=40)


def map_case(region, path: Path) -> None:
    xy = region.village_xy
    sites = np.arange(0, 40, 4)
    km = np.hypot(*(xy[:, None, :] - xy[None, sites, :]).transpose(2, 0, 1)).min(axis=1) / 1000
    km[5] = np.nan  # a village without a route draws grey
    community = np.zeros(len(region.townships), dtype=np.int64)
    community[0] = 2
    planning_map(region, km, sites, community, title="test map", subtitle="40 villages, 10 stations",
                 path=path, dpi=60, closed_sites=np.array([4, 8]))  # fmt: skip


def panels_case(region, path: Path) -> None:
    xy = region.village_xy
    sites = np.arange(0, 40, 5)
    d = np.hypot(*(xy[:, None, :] - xy[None, sites, :]).transpose(2, 0, 1))
    nearest = sites[d.argmin(axis=1)]
    none = np.zeros(len(region.townships), dtype=np.int64)
    county_panels(region, d.min(axis=1) / 1000, xy[nearest], sites, none, title="test panels", path=path,
                  dpi=60, value_label="km")  # fmt: skip


def lead_case(path: Path) -> None:
    hours = np.arange(1.0, 241.0)
    cdfs = {}
    for k, point in enumerate(("village_station", "township_point", "community_locker")):
        for kind, scale in (("available", 40.0), ("hand", 60.0)):
            cdfs[f"{kind}/{point}"] = (hours, 1 - np.exp(-hours / (scale + 10 * k)))
    lead_time_plot(cdfs, title="test lead times", path=path)


CASES = {"map.png": map_case, "panels.png": panels_case, "lead_times.png": None}


@pytest.mark.parametrize("name", list(CASES))
def test_drawing_matches_its_baseline(region, tmp_path, name):
    actual = tmp_path / name
    if name == "lead_times.png":
        lead_case(actual)
    else:
        CASES[name](region, actual)
    expected = BASELINES / name
    if os.environ.get("RURALSIM_WRITE_BASELINES"):
        BASELINES.mkdir(exist_ok=True)
        shutil.copy(actual, expected)
    assert expected.is_file(), f"no baseline {expected}; write it with RURALSIM_WRITE_BASELINES=1"
    result = compare_images(str(expected), str(actual), tol=TOLERANCE)
    assert result is None, result


def test_a_broken_map_fails_the_comparison(region, tmp_path):
    """The comparison would catch a map drawn wrong: stations moved to other villages."""
    actual = tmp_path / "map.png"
    xy = region.village_xy
    sites = np.arange(1, 40, 4)  # not the baseline's stations
    km = np.hypot(*(xy[:, None, :] - xy[None, sites, :]).transpose(2, 0, 1)).min(axis=1) / 1000
    km[5] = np.nan
    community = np.zeros(len(region.townships), dtype=np.int64)
    community[0] = 2
    planning_map(region, km, sites, community, title="test map", subtitle="40 villages, 10 stations",
                 path=actual, dpi=60, closed_sites=np.array([4, 8]))  # fmt: skip
    assert compare_images(str(BASELINES / "map.png"), str(actual), tol=TOLERANCE) is not None


def frontier_case(path: Path) -> None:
    from analysis.study import SWEEP_KPIS, _frontier

    target = np.array([0, 25, 50, 75, 100])
    covered = np.array([0.06, 0.58, 0.75, 0.87, 0.95])
    table = pd.DataFrame({"stations.rural.target": target})
    figures = {"coverage_share": covered, "population_covered": covered * 54_000,
               "order_to_hand_p50_h": 110 - 0.5 * target, "order_to_hand_p90_h": 320 - 2.2 * target,
               "subsidy_total_yuan": 2000.0 * target, "subsidy_per_covered_resident_yuan": target / 10,
               "stations_open_last_year": target, "orders_pending_share": np.zeros(5)}  # fmt: skip
    for kpi in SWEEP_KPIS:
        table[kpi] = figures[kpi]
        table[f"{kpi}_ci_low"], table[f"{kpi}_ci_high"] = figures[kpi] * 0.97, figures[kpi] * 1.03
    table["knee"] = target == 25
    png, _ = _frontier(table, "stations.rural.target", "test sweep", 0.95)
    path.write_bytes(png)


def differences_case(path: Path) -> None:
    from analysis.study import COMPARE_KPIS, _differences_png

    rows = []
    for k, kpi in enumerate(COMPARE_KPIS):
        for a, name in enumerate(("placement=population", "placement=mclp", "placement=random")):
            d = 0.0 if a == 0 else (k + 1) * (a - 1.5)
            ci = {"diff_ci_low": d - 0.3, "diff_ci_high": d + 0.3}
            rows.append({"kpi": kpi, "better": "higher", "alternative": name, "diff_vs_baseline": d, **ci,
                         "tied_with_best": a == 1})  # fmt: skip
    path.write_bytes(_differences_png(pd.DataFrame(rows), "placement=population", 0.95))


@pytest.mark.parametrize(
    ("name", "draw"), [("frontier.png", frontier_case), ("differences.png", differences_case)]
)
def test_study_plots_match_their_baselines(tmp_path, name, draw):
    actual = tmp_path / name
    draw(actual)
    expected = BASELINES / name
    if os.environ.get("RURALSIM_WRITE_BASELINES"):
        shutil.copy(actual, expected)
    assert expected.is_file(), f"no baseline {expected}; write it with RURALSIM_WRITE_BASELINES=1"
    assert compare_images(str(expected), str(actual), tol=TOLERANCE) is None
