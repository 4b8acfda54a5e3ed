"""PRIM (scenario discovery): a known box is found, and the peeling ends where EMA Workbench's
`Prim` ends on the same data (coverage, density, mass and the restricted limits)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.prim import prim


def _data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(seed).uniform(size=(n, 3))
    return x, (x[:, 0] > 0.7) & (x[:, 1] < 0.4)


def test_the_box_the_cases_come_from_is_found():
    x, y = _data()
    box = prim(x, y, ["a", "b", "c"])
    assert box is not None and set(box.limits) == {"a", "b"}  # c does not matter
    assert box.limits["a"][0] == pytest.approx(0.7, abs=0.03) and box.limits["b"][1] == pytest.approx(
        0.4, abs=0.03
    )
    assert box.density > 0.95 and box.coverage > 0.9
    assert box.mass == pytest.approx(box.inside.mean()) and y[box.inside].mean() == box.density


def test_the_same_end_as_ema_workbench():
    ema = pytest.importorskip("ema_workbench.analysis.prim")
    for seed in (0, 1, 2):
        x, y = _data(seed=seed)
        ours = prim(x, y, ["a", "b", "c"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = ema.Prim(pd.DataFrame(x, columns=["a", "b", "c"]), y, threshold=0.8, peel_alpha=0.05)
            box = theirs.find_box()
        end = box.peeling_trajectory.iloc[box._cur_box]
        assert ours.coverage == pytest.approx(end["coverage"], abs=0.02)
        assert ours.density == pytest.approx(end["density"], abs=0.02)
        assert ours.mass == pytest.approx(end["mass"], abs=0.01)
        lims = box.box_lims[box._cur_box]
        assert ours.limits["a"][0] == pytest.approx(lims["a"][0], abs=0.02)
        assert ours.limits["b"][1] == pytest.approx(lims["b"][1], abs=0.02)


def test_choices_peel_whole_values_and_no_case_gives_no_box():
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.integers(0, 2, 400), rng.uniform(size=400)])  # a choice of two, a range
    y = (x[:, 0] == 1) & (x[:, 1] > 0.5)
    box = prim(x, y, ["choice", "range"])
    assert box is not None and box.limits["choice"] == (1.0, 1.0) and box.limits["range"][0] > 0.45
    assert prim(x, np.zeros(400, dtype=bool), ["choice", "range"]) is None
