"""Maps and charts against baseline images (matplotlib's image comparison), so that a broken map
fails a test. Baselines live in tests/baseline_images/; after a deliberate change to a drawing,
write them again with ``RURALSIM_WRITE_BASELINES=1 pytest tests/test_images.py`` and look at
them before committing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
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
