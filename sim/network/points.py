"""Delivery points and stops of a station network in a given year.

Stops are numbered once for the whole run: village `i` is stop `i` (used while it has a
station), township seat `t` is stop `n_villages + t` (the township express point, and the
community lockers when the seat has any). Demand points are the villages, then the township
seats with community stations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.ids import COMMUNITY_LOCKER, TOWNSHIP_POINT, VILLAGE_STATION
from sim.network.build import Network


@dataclass(frozen=True)
class Points:
    """Static facts about demand points and stops (the same every year).

    Per demand point: `county` index, `households` (villages; 0 for lockers), `township`
    index, `km_to_township` (road km from the village to its township seat; 0 for lockers),
    `community` (stations at the seat; 0 for villages). Per stop: `stop_xy`, `stop_county`.
    """

    n_villages: int
    county_names: tuple[str, ...]
    county: np.ndarray
    households: np.ndarray
    township: np.ndarray
    km_to_township: np.ndarray
    community: np.ndarray
    stop_xy: np.ndarray
    stop_county: np.ndarray
    depot_xy: np.ndarray

    @property
    def n_points(self) -> int:
        return len(self.county)

    @property
    def is_village(self) -> np.ndarray:
        return np.arange(self.n_points) < self.n_villages

    def destinations(self, has: np.ndarray, community_open: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stop and point type of every demand point while the villages flagged in `has` have an
        open station and `community_open` community stations are open per township seat: a
        village's own station, else its township's express point; a seat's lockers while one of
        its community stations is open, else its express point."""
        village_stop = np.where(
            has, np.arange(self.n_villages), self.n_villages + self.township[: self.n_villages]
        )
        village_type = np.where(has, VILLAGE_STATION, TOWNSHIP_POINT)
        seat = self.township[self.n_villages :]
        locker_type = np.where(community_open[seat] > 0, COMMUNITY_LOCKER, TOWNSHIP_POINT)
        return (
            np.concatenate([village_stop, self.n_villages + seat]).astype(np.int32),
            np.concatenate([village_type, locker_type]).astype(np.int8),
        )


def build_points(network: Network) -> Points:
    region = network.region
    v, t, c = region.villages, region.townships, region.counties
    county_names = tuple(c["county"])
    county_index = {name: i for i, name in enumerate(county_names)}
    town_index = {tid: i for i, tid in enumerate(t["township_id"])}
    v_town = v["township"].map(town_index).to_numpy()
    v_county = v["county"].map(county_index).to_numpy()
    t_county = t["county"].map(county_index).to_numpy()
    seats = np.flatnonzero(network.community > 0)
    # Road km from each village to its township seat (for villagers collecting there).
    km = np.empty(len(v))
    circuity = region.village_circuity()
    for town in np.unique(v_town):
        mine = np.flatnonzero(v_town == town)
        km[mine] = network.distances.matrix(
            region.village_xy[mine], region.township_xy[town : town + 1], origin_circuity=circuity[mine]
        ).km[:, 0]
    return Points(
        n_villages=len(v),
        county_names=county_names,
        county=np.concatenate([v_county, t_county[seats]]).astype(np.int64),
        households=np.concatenate([v["households"].to_numpy(dtype=float), np.zeros(len(seats))]),
        township=np.concatenate([v_town, seats]).astype(np.int64),
        km_to_township=np.concatenate([np.where(np.isfinite(km), km, 0.0), np.zeros(len(seats))]),
        community=np.concatenate([np.zeros(len(v)), network.community[seats]]).astype(np.int64),
        stop_xy=np.vstack([region.village_xy, region.township_xy]),
        stop_county=np.concatenate([v_county, t_county]).astype(np.int64),
        depot_xy=c[["seat_x", "seat_y"]].to_numpy(dtype=float),
    )
