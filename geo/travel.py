"""Travel on a road network: km and minutes between points, by sparse Dijkstra.

`km` is the shortest road distance and `minutes` the fastest travel time (the two may use
different roads). Points attach to their nearest network node by a straight connector driven at
`connector_speed_kmh`; its length counts. Results are cached on disk, keyed by a hash of the
network and the points.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo.distance import Nearest, Travel
from geo.roads import RoadNetwork, components, join_components

#: Part of every cache key: bump when the way matrices are computed changes.
CACHE_VERSION = 1
#: Dijkstra runs from at most this many sources at a time (bounds memory: chunk x nodes floats).
CHUNK = 256


def default_cache_dir() -> Path:
    """`$RURALSIM_CACHE`, else `~/.cache/ruralsim`."""
    return Path(os.environ.get("RURALSIM_CACHE", Path.home() / ".cache" / "ruralsim"))


class RoadTravel:
    """`DistanceModel` on a road network (origin circuity is ignored: the roads carry it)."""

    description = "road network: shortest km, fastest minutes"

    def __init__(
        self, network: RoadNetwork, *, connector_speed_kmh: float = 15.0, cache_dir: Path | None = None
    ):
        self.network = network
        self.connector_speed_kmh = connector_speed_kmh
        self.cache_dir = cache_dir
        self._tree = cKDTree(network.node_xy)
        self._graphs = {w: network.graph(w) for w in ("km", "minutes")}
        speed = network.km / np.maximum(network.minutes, 1e-9) * 60.0
        self._slowest_kmh = float(min(speed.min(), connector_speed_kmh))

    def attach(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point and the connector length to it, km."""
        dist, node = self._tree.query(xy)
        return node.astype(np.int64), dist / 1000.0

    def matrix(
        self,
        origins: np.ndarray,
        destinations: np.ndarray,
        *,
        origin_circuity: np.ndarray | None = None,
        cutoff_km: float | None = None,
    ) -> Travel:
        """(n, m) road km and minutes from each origin to each destination; pairs farther than
        `cutoff_km` by road are infinite."""
        key = self._cache_key(origins, destinations, cutoff_km)
        cached = self._load(key)
        if cached is not None:
            return cached
        o_node, o_conn = self.attach(origins)
        d_node, d_conn = self.attach(destinations)
        km = self._network_part("km", o_node, d_node, cutoff_km)
        limit_min = None if cutoff_km is None else cutoff_km / self._slowest_kmh * 60.0
        minutes = self._network_part("minutes", o_node, d_node, limit_min)
        km += o_conn[:, None] + d_conn[None, :]
        minutes += (o_conn[:, None] + d_conn[None, :]) / self.connector_speed_kmh * 60.0
        # Points sharing a node: the straight line between them, not the way round by the node.
        i, j = np.nonzero(o_node[:, None] == d_node[None, :])
        direct = np.hypot(*(origins[i] - destinations[j]).T) / 1000.0
        km[i, j] = np.minimum(km[i, j], direct)
        minutes[i, j] = np.minimum(minutes[i, j], direct / self.connector_speed_kmh * 60.0)
        if cutoff_km is not None:
            far = km > cutoff_km
            km[far] = np.inf
            minutes[far] = np.inf
        result = Travel(km=km, minutes=minutes)
        self._store(key, result)
        return result

    def nearest(
        self, origins: np.ndarray, destinations: np.ndarray, *, origin_circuity: np.ndarray | None = None
    ) -> Nearest:
        """Per origin: index of the nearest destination by road km, that km, and the fewest
        minutes to any destination."""
        if len(destinations) == 0:
            return Nearest.none(len(origins))
        t = self.matrix(origins, destinations)
        index = np.argmin(t.km, axis=1)
        return Nearest(index=index, km=t.km[np.arange(len(origins)), index], minutes=t.minutes.min(axis=1))

    def _network_part(
        self, weight: str, o_node: np.ndarray, d_node: np.ndarray, limit: float | None
    ) -> np.ndarray:
        """Node-to-node part of the matrix, from whichever side has fewer distinct nodes."""
        graph = self._graphs[weight]
        o_uniq, o_inv = np.unique(o_node, return_inverse=True)
        d_uniq, d_inv = np.unique(d_node, return_inverse=True)
        forward = len(o_uniq) <= len(d_uniq)
        sources, targets = (o_uniq, d_uniq) if forward else (d_uniq, o_uniq)
        g = graph if forward else graph.T.tocsr()
        out = np.empty((len(sources), len(targets)))
        for start in range(0, len(sources), CHUNK):
            chunk = sources[start : start + CHUNK]
            dist = dijkstra(g, directed=True, indices=chunk, limit=np.inf if limit is None else limit)
            out[start : start + CHUNK] = dist[:, targets]
        out = out if forward else out.T
        return out[o_inv][:, d_inv]

    def _cache_key(self, origins: np.ndarray, destinations: np.ndarray, cutoff_km: float | None) -> str:
        h = hashlib.sha256(self.network.fingerprint.encode())
        for a in (origins, destinations):
            h.update(np.ascontiguousarray(a, dtype=float).tobytes())
        shapes = (origins.shape, destinations.shape)
        h.update(repr((CACHE_VERSION, cutoff_km, self.connector_speed_kmh, shapes)).encode())
        return h.hexdigest()[:32]

    def _load(self, key: str) -> Travel | None:
        if self.cache_dir is None:
            return None
        path = self.cache_dir / f"travel-{key}.npz"
        try:
            with np.load(path) as data:
                return Travel(km=data["km"], minutes=data["minutes"])
        except (OSError, KeyError, ValueError):
            return None

    def _store(self, key: str, travel: Travel) -> None:
        if self.cache_dir is None:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix=".partial")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, km=travel.km, minutes=travel.minutes)
        os.replace(tmp, self.cache_dir / f"travel-{key}.npz")


def connect_villages(
    network: RoadNetwork, village_xy: np.ndarray, village_ids: np.ndarray, *, circuity: float = 1.5
) -> tuple[RoadNetwork, list[str]]:
    """Join disconnected parts of `network` to its largest part and report which villages sit on
    the parts that were cut off (first ids and a count)."""
    parts = components(network)
    if parts.count == 1:
        return network, []
    node = cKDTree(network.node_xy).query(village_xy)[1]
    cut_off = np.flatnonzero(parts.label[node] != parts.main)
    joined = join_components(network, circuity=circuity)
    notes = list(joined.notes[len(network.notes) :])
    if len(cut_off):
        shown = ", ".join(str(v) for v in village_ids[cut_off[:5]]) + (", ..." if len(cut_off) > 5 else "")
        notes.append(
            f"{len(cut_off)} village(s) reach the main network only by a flagged connector ({shown})"
        )
    return joined, notes
