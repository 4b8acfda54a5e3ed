"""Loader for the São José dos Campos (SJC) maximal-covering instances (Lorena & Pereira 2002).

The files ship in `tests/data/mclp/` (see its README and `docs/sources.md`; licence CC BY-NC-SA
4.0): `SJC324.txt` … `SJC818.txt` hold `n 9999 p S` on the first line, then n lines `x y demand`
(coordinates in metres, demand in people); every node is both a client and a candidate site, and a
client is covered when its Euclidean distance to an open site is <= the radius.
`optima_computed.tsv` lists 110 cases (instance, radius, p) with the proven optimum and a plain-
greedy baseline.

Used by `tests/test_covering.py` and `tests/bench/test_bench_mclp.py`. The data ship with the
tests, so a missing file is a broken checkout and fails, never skips.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

SJC_DIR = Path(__file__).resolve().parent / "data" / "mclp"
OPTIMA = SJC_DIR / "optima_computed.tsv"


@dataclass(frozen=True)
class Instance:
    """`xy` (n, 2) coordinates in metres, `demand` (n,) people per node."""

    name: str
    xy: np.ndarray
    demand: np.ndarray

    @property
    def n(self) -> int:
        return len(self.demand)

    def cost(self) -> np.ndarray:
        """(n, n) Euclidean distances in metres, clients in rows and candidate sites in columns.
        Coordinates are integers, so `cost <= radius` equals the exact test `d² <= radius²`."""
        diff = self.xy[:, None, :] - self.xy[None, :, :]
        return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


@dataclass(frozen=True)
class Case:
    """One row of `optima_computed.tsv`: radius in metres, `optimum` the proven optimal covered
    demand (people), `greedy` the plain greedy's covered demand."""

    instance: str
    n: int
    total_demand: float
    radius: float
    p: int
    optimum: float
    greedy: float

    @property
    def id(self) -> str:
        return f"{self.instance}-r{self.radius:g}-p{self.p}"


@cache
def load_instance(name: str) -> Instance:
    """Read `SJC_DIR/<name>.txt` (tab separated, CRLF line ends, trailing tabs)."""
    lines = (SJC_DIR / f"{name}.txt").read_text(encoding="ascii").splitlines()
    n = int(lines[0].split()[0])
    rows = np.array([line.split()[:3] for line in lines[1 : n + 1]], dtype=float)
    if rows.shape != (n, 3):
        raise ValueError(f"{name}.txt: expected {n} rows of 'x y demand', got shape {rows.shape}")
    return Instance(name=name, xy=rows[:, :2], demand=rows[:, 2])


@cache
def cost_matrix(name: str) -> np.ndarray:
    """The instance's distance matrix, cached (read-only) so that tests share one copy."""
    cost = load_instance(name).cost()
    cost.flags.writeable = False
    return cost


def cases() -> list[Case]:
    """All cases of `optima_computed.tsv`, in file order."""
    with OPTIMA.open(encoding="utf-8", newline="") as f:
        return [
            Case(
                instance=row["instance"],
                n=int(row["n"]),
                total_demand=float(row["total_demand"]),
                radius=float(row["radius"]),
                p=int(row["p"]),
                optimum=float(row["optimal_covered_demand"]),
                greedy=float(row["greedy_covered"]),
            )
            for row in csv.DictReader(f, delimiter="\t")
        ]
