"""What a placement algorithm returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Solution:
    """`sites`: sorted candidate indices chosen. `objective`: the model's value for them
    (weighted cost for median models, worst cost for center, covered weight for covering, number
    of sites for set covering). `bound`: a proven bound on the optimum (lower for minimisation,
    upper for maximisation), None when unknown. `optimal`: optimality was proven."""

    sites: np.ndarray
    objective: float
    bound: float | None = None
    optimal: bool = False
