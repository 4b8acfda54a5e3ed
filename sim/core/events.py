"""What the engines tell their observers: typed events, and the bus that hands them out.

Both engines emit the same events for the same run (in batches of different sizes and not
necessarily in time order across kinds: the fast engine works out a van's whole trip when it
leaves). Every event carries its own times, so an observer aggregates by those, never by when it
was called. KPIs (`sim.kpi`) are an observer; so will be the subsidy ledger and operator
accounts. Observers implement `on_<kind>` for the kinds they need, e.g. `on_delivered`
(`Observer`, checked by mypy).

Times are hours from the run's first day (warm-up included); `day` is the day index from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Protocol

import numpy as np

from sim.core.batch import ParcelBatch


@dataclass(frozen=True)
class Ordered:
    """Parcels ordered on `day` (all demand points), with their warehouse arrival times."""

    kind: ClassVar[str] = "ordered"
    day: int
    parcels: ParcelBatch


@dataclass(frozen=True)
class NetworkChanged:
    """The stations open from `day` on: `rural` (bool per village) and `community` (open
    community stations per township seat). Emitted on the first day and on every change."""

    kind: ClassVar[str] = "network_changed"
    day: int
    rural: np.ndarray
    community: np.ndarray


@dataclass(frozen=True)
class Dispatched:
    """A county's van departure: `loaded` parcels on `vans` vans; `waiting` parcels left at the
    warehouse (arrived by the departure, sorted or not); `vans_out` vans still on the road from
    earlier trips."""

    kind: ClassVar[str] = "dispatched"
    county: int
    depart_h: float
    loaded: int
    vans: int
    vans_out: int
    waiting: int
    held: int = 0


@dataclass(frozen=True)
class Trips:
    """Van trips that left at `depart_h`. Per van: `county`, `carrier` (whose own fleet it is;
    -1: a county's pooled fleet in joint mode), `route` (index in its fleet's plan), `parcels`
    carried, `km`, `minutes` (depot to depot), `back_h`. Per stop visited, van by van in
    visiting order: `visit_van` (index into the vans), `visit_stop` (global stop id), `visit_h`
    (arrival), `visit_parcels`."""

    kind: ClassVar[str] = "trips"
    depart_h: float
    county: np.ndarray
    carrier: np.ndarray
    route: np.ndarray
    parcels: np.ndarray
    km: np.ndarray
    minutes: np.ndarray
    back_h: np.ndarray
    visit_van: np.ndarray
    visit_stop: np.ndarray
    visit_h: np.ndarray
    visit_parcels: np.ndarray


@dataclass(frozen=True)
class Delivered:
    """Parcels accepted at their point (`parcels.dest`, `parcels.ptype`) at `arrive_h` (before
    the run's end); each is collected (or, from a locker, returned: `returned`) at `release_h`;
    `km` is the household's one-way distance to the point."""

    kind: ClassVar[str] = "delivered"
    parcels: ParcelBatch
    arrive_h: np.ndarray
    release_h: np.ndarray
    returned: np.ndarray
    km: np.ndarray


@dataclass(frozen=True)
class Refused:
    """Parcels a full point turned away at `at_h`; they ride back and are at the warehouse again
    at `back_h`."""

    kind: ClassVar[str] = "refused"
    parcels: ParcelBatch
    at_h: np.ndarray
    back_h: np.ndarray


@dataclass(frozen=True)
class DayEnd:
    """Day `day` (`date`) is over; `counted` when it lies within the horizon (not warm-up);
    `rural_open` the village stations open that day."""

    kind: ClassVar[str] = "day_end"
    day: int
    date: date
    counted: bool
    rural_open: np.ndarray


@dataclass(frozen=True)
class YearEnd:
    """Calendar year `year` is over (or the run ends within it)."""

    kind: ClassVar[str] = "year_end"
    year: int


@dataclass(frozen=True)
class RunEnd:
    """The horizon ends at `end_h`. Parcels not yet at a point, by where they are: with `dest`
    and `ptype` set to the point serving them at the end."""

    kind: ClassVar[str] = "run_end"
    end_h: float
    in_trunk: ParcelBatch
    at_warehouse: ParcelBatch
    in_van: ParcelBatch


EVENTS = (Ordered, NetworkChanged, Dispatched, Trips, Delivered, Refused, DayEnd, YearEnd, RunEnd)


# An observer handles any subset of the kinds, so it is typed as "handles at least one": one
# Protocol per kind, and `Observer` their union. mypy then rejects an observer that handles no
# kind (a misspelt `on_` method) or takes the wrong event type in a handler.


class OnOrdered(Protocol):
    def on_ordered(self, event: Ordered, /) -> None: ...


class OnNetworkChanged(Protocol):
    def on_network_changed(self, event: NetworkChanged, /) -> None: ...


class OnDispatched(Protocol):
    def on_dispatched(self, event: Dispatched, /) -> None: ...


class OnTrips(Protocol):
    def on_trips(self, event: Trips, /) -> None: ...


class OnDelivered(Protocol):
    def on_delivered(self, event: Delivered, /) -> None: ...


class OnRefused(Protocol):
    def on_refused(self, event: Refused, /) -> None: ...


class OnDayEnd(Protocol):
    def on_day_end(self, event: DayEnd, /) -> None: ...


class OnYearEnd(Protocol):
    def on_year_end(self, event: YearEnd, /) -> None: ...


class OnRunEnd(Protocol):
    def on_run_end(self, event: RunEnd, /) -> None: ...


Observer = (
    OnOrdered
    | OnNetworkChanged
    | OnDispatched
    | OnTrips
    | OnDelivered
    | OnRefused
    | OnDayEnd
    | OnYearEnd
    | OnRunEnd
)


class Bus:
    """Hands each event to the observers that handle its kind (`on_<kind>` methods)."""

    def __init__(self, observers: Iterable[Observer]):
        observers = list(observers)
        self._handlers = {
            e.kind: [getattr(o, f"on_{e.kind}") for o in observers if hasattr(o, f"on_{e.kind}")]
            for e in EVENTS
        }

    def emit(self, event: Any) -> None:
        for handler in self._handlers[event.kind]:
            handler(event)

    def wants(self, kind: str) -> bool:
        """Whether any observer handles `kind` (lets an engine skip building unused events)."""
        return bool(self._handlers[kind])
