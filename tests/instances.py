"""Hypothesis strategy shared by the placement tests: small cost matrices with holes."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def small_instances(draw, max_weight: int = 9, optional_weights: bool = False):
    """(cost, weights, p, fixed, allowed): up to 9 x 9 integer costs, some of them inf, integer
    weights (None when `optional_weights` draws so), at least one allowed candidate, p among the
    allowed, and up to p fixed sites among them."""
    n = draw(st.integers(1, 9))
    m = draw(st.integers(1, 9))
    cost = np.array(draw(st.lists(st.integers(0, 30), min_size=n * m, max_size=n * m)), dtype=float)
    cost = cost.reshape(n, m)
    if draw(st.booleans()):
        holes = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
        cost[holes & (draw(st.integers(0, 3)) == 0)] = np.inf
    weights = None
    if not optional_weights or draw(st.booleans()):
        weights = np.array(draw(st.lists(st.integers(0, max_weight), min_size=n, max_size=n)), dtype=float)
    allowed = np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)))
    if not allowed.any():
        allowed[draw(st.integers(0, m - 1))] = True
    candidates = np.flatnonzero(allowed)
    p = draw(st.integers(1, len(candidates)))
    fixed = np.array(draw(st.permutations(candidates.tolist()))[: draw(st.integers(0, p))], dtype=np.int64)
    return cost, weights, p, fixed, allowed
