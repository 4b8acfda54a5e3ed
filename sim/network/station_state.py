"""Which stations are open, day by day: the station network as it changes during a run.

Days are indices from the run's first day (warm-up included). A station is open on day `d` when
``opens <= d < closes``. A build plan opens village stations on 1 January of their build year
(stations of the horizon's first year, and community stations, are open from day 0, so the
warm-up runs on the network as first built). Closing is for whoever decides that a station
stops (the operator-economics model): `close_rural` / `close_community` from a day on.
Engines read the state at the start of each day; a change takes effect from that day.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from geo.placement import NO_STATION, BuildPlan

NEVER = np.iinfo(np.int64).max


class StationState:
    """Open days of every village station (`rural_opens`, `rural_closes`, per village; NEVER
    when it never opens or never closes) and every community station (`community_seat`: its
    township index; `community_opens`, `community_closes`)."""

    def __init__(self, rural_opens: np.ndarray, community_seat: np.ndarray, n_townships: int):
        self.rural_opens = np.asarray(rural_opens, dtype=np.int64)
        self.rural_closes = np.full(len(self.rural_opens), NEVER, dtype=np.int64)
        self.community_seat = np.asarray(community_seat, dtype=np.int64)
        self.community_opens = np.zeros(len(self.community_seat), dtype=np.int64)
        self.community_closes = np.full(len(self.community_seat), NEVER, dtype=np.int64)
        self.n_townships = n_townships
        #: Per county, the route plan PyVRP last made in this run (repairs after closures
        #: start from it; `sim.flows.routes.RoutePlanner`).
        self.route_base: dict = {}

    @classmethod
    def from_plan(
        cls, plan: BuildPlan, community: np.ndarray, first_date: date, start_year: int
    ) -> StationState:
        """Village stations open on 1 January of their build year (day 0 for the first year);
        `community` counts community stations per township seat, all open from day 0."""
        opens = np.full(len(plan.year_built), NEVER, dtype=np.int64)
        for year in np.unique(plan.year_built[plan.year_built != NO_STATION]):
            day = 0 if year <= start_year else (date(int(year), 1, 1) - first_date).days
            opens[plan.year_built == year] = max(day, 0)
        seats = np.repeat(np.arange(len(community)), community)
        return cls(opens, seats, len(community))

    def rural_open(self, day: int) -> np.ndarray:
        """Bool per village: its station is open on `day`."""
        return (self.rural_opens <= day) & (day < self.rural_closes)

    def community_open(self, day: int) -> np.ndarray:
        """Open community stations per township seat on `day`."""
        open_ = (self.community_opens <= day) & (day < self.community_closes)
        return np.bincount(self.community_seat[open_], minlength=self.n_townships)

    def changes_on(self, day: int) -> bool:
        """Whether any station opens or closes on `day`."""
        return bool(
            (self.rural_opens == day).any()
            or (self.rural_closes == day).any()
            or (self.community_opens == day).any()
            or (self.community_closes == day).any()
        )

    def close_rural(self, villages: np.ndarray, day: int) -> None:
        """Village stations at `villages` close from `day` on (an earlier closing stands)."""
        self.rural_closes[villages] = np.minimum(self.rural_closes[villages], day)

    def close_community(self, stations: np.ndarray, day: int) -> None:
        """Community stations (indices into `community_seat`) close from `day` on."""
        self.community_closes[stations] = np.minimum(self.community_closes[stations], day)
