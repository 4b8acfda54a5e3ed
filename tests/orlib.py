"""OR-Library p-median instances pmed1..pmed40 (Beasley 1985), shipped in `tests/data/pmed/`.

The files, their sources and the published optima are described in `tests/data/pmed/README.md` (and
`docs/sources.md`). The cost matrix follows that README: c = inf, c(i, i) = 0, edges read in order
with **the last duplicate edge winning**, then all-pairs shortest paths (scipy). Clients and
candidate sites are the n vertices, each with weight 1."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import csgraph_from_dense, shortest_path

PMED_DIR = Path(__file__).resolve().parent / "data" / "pmed"
NAMES = tuple(f"pmed{k}" for k in range(1, 41))


def path(name: str) -> Path:
    """The instance file of `name` ('pmed1' .. 'pmed40')."""
    return PMED_DIR / f"{name}.txt"


def load_pmed(file: str | Path) -> tuple[np.ndarray, int]:
    """(cost, p): the (n, n) shortest-path cost matrix (float64) and the number of medians."""
    numbers = np.array(Path(file).read_text().split(), dtype=np.int64)
    n, m, p = (int(v) for v in numbers[:3])
    edges = numbers[3 : 3 + 3 * m].reshape(m, 3)
    if len(edges) != m:
        raise ValueError(f"{file}: expected {m} edges, found {len(edges)}")
    i, j = edges[:, 0] - 1, edges[:, 1] - 1
    # the last occurrence of an (unordered) edge wins: keep, per pair, its last line
    key = np.minimum(i, j) * n + np.maximum(i, j)
    _, first_in_reversed = np.unique(key[::-1], return_index=True)
    last = m - 1 - first_in_reversed
    graph = np.full((n, n), np.inf)
    graph[i[last], j[last]] = edges[last, 2]
    graph[j[last], i[last]] = edges[last, 2]
    np.fill_diagonal(graph, 0.0)
    cost = shortest_path(csgraph_from_dense(graph, null_value=np.inf), method="D", directed=False)
    return cost, p


@cache
def load(name: str) -> tuple[np.ndarray, int]:
    """`load_pmed` of a named instance, cached (treat the array as read-only)."""
    cost, p = load_pmed(path(name))
    cost.setflags(write=False)
    return cost, p


def _table(file: str, column: str) -> dict[str, int]:
    with open(PMED_DIR / file, newline="", encoding="utf-8") as handle:
        return {row["instance"]: int(row[column]) for row in csv.DictReader(handle, delimiter="\t")}


def published_optimum(name: str) -> int:
    """OR-Library's published p-median optimum of `name` (optima.tsv)."""
    return _table("optima.tsv", "optimum")[name]


def pcenter_optimum(name: str) -> int:
    """The vertex p-center optimum of `name` (pcenter_computed.tsv)."""
    return _table("pcenter_computed.tsv", "pcenter_optimum")[name]
