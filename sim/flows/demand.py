"""Downstream demand: orders per delivery point per day, and their order times.

Rates are per day: households x parcels per household-day x yearly growth x season x weekday.
Orders are Poisson; their times fall uniformly within the configured order hours. Both engines
draw their orders here, so that one seed gives both the same parcels.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from sim.core.batch import ParcelBatch
from sim.core.clock import lognormal, next_wave
from sim.scenario.delivery import Demand, Trunk

#: Lunar new year (春节) dates: the Spring Festival slump centres on them.
SPRING_FESTIVAL = {
    2010: date(2010, 2, 14), 2011: date(2011, 2, 3), 2012: date(2012, 1, 23), 2013: date(2013, 2, 10),
    2014: date(2014, 1, 31), 2015: date(2015, 2, 19), 2016: date(2016, 2, 8), 2017: date(2017, 1, 28),
    2018: date(2018, 2, 16), 2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12),
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
    2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11), 2033: date(2033, 1, 31),
    2034: date(2034, 2, 19), 2035: date(2035, 2, 8),
}  # fmt: skip


def _event_days(spec: str, year: int) -> date:
    if spec == "spring_festival":
        return SPRING_FESTIVAL.get(year, date(year, 2, 5))  # outside the table: a typical date
    month, day = (int(x) for x in spec.split("-"))
    return date(year, month, min(day, 28) if month == 2 else day)


def day_factors(cfg: Demand, first_day: date, days: int) -> np.ndarray:
    """Multiplier of the base rate for each of `days` days from `first_day`: growth x season x
    weekday. Season events are Gaussian bumps around their date (in the day's own year and the
    neighbouring years, so a peak near New Year spans it)."""
    dates = [first_day + timedelta(days=d) for d in range(days)]
    ordinal = np.array([d.toordinal() for d in dates], dtype=float)
    years = np.array([d.year for d in dates])
    day_of_year = np.array([d.timetuple().tm_yday for d in dates])
    growth = cfg.growth_per_year ** (years - cfg.base_year + (day_of_year - 1) / 365.0)
    weekday = np.array(cfg.weekday_factors)[[d.weekday() for d in dates]]
    season = np.ones(days)
    for event in cfg.events:
        for year in range(years.min() - 1, years.max() + 2):
            centre = _event_days(event.date, year).toordinal()
            bump = np.exp(-0.5 * ((ordinal - centre) / event.spread_days) ** 2)
            season *= 1.0 + (event.factor - 1.0) * bump
    return growth * season * weekday


def draw_orders(
    rate: np.ndarray,
    county: np.ndarray,
    day: int,
    first_id: int,
    demand: Demand,
    trunk: Trunk,
    rngs: tuple[np.random.Generator, np.random.Generator, np.random.Generator, np.random.Generator],
    *,
    shares: np.ndarray,
    fleets_per_county: int = 1,
) -> tuple[ParcelBatch, np.ndarray]:
    """One day's orders: Poisson(`rate`) per demand point, created point by point (ids from
    `first_id` in that order), each with its order time (uniform in the order hours), trunk
    delay (log-normal) to the next trunk wave, its own pickup randomness and its carrier (drawn
    by market `shares`; with one carrier, none is drawn). `rngs` are the demand, trunk, pickup
    and carrier streams. Returns `orders_batch` of them."""
    rng_demand, rng_trunk, rng_pickup, rng_carrier = rngs
    counts = rng_demand.poisson(rate)
    point = np.repeat(np.arange(len(rate), dtype=np.int32), counts)
    n = len(point)
    order = 24.0 * day + rng_demand.uniform(*demand.order_hours, size=n)
    delay = lognormal(trunk.delay_mean_h, trunk.delay_cv, n, rng_trunk, single=True)
    u_km = rng_pickup.random(n, dtype=np.float32)  # single precision is plenty, and half the bytes
    e_wait = rng_pickup.standard_exponential(n, dtype=np.float32)
    carrier = None
    if len(shares) > 1:
        cum = (np.cumsum(shares) / np.sum(shares)).astype(np.float32)
        draw = rng_carrier.random(n, dtype=np.float32)  # single precision: plenty, and twice as fast
        carrier = np.minimum(np.searchsorted(cum, draw, side="right"), len(shares) - 1)
    return orders_batch(
        point, order, delay, u_km, e_wait, first_id, county, trunk.waves_h, carrier, fleets_per_county
    )


def orders_batch(
    point: np.ndarray,
    order_h: np.ndarray,
    delay_h: np.ndarray,
    u_km: np.ndarray,
    e_wait: np.ndarray,
    first_id: int,
    county: np.ndarray,
    waves_h: tuple[float, ...],
    carrier: np.ndarray | None = None,
    fleets_per_county: int = 1,
) -> tuple[ParcelBatch, np.ndarray]:
    """Parcels ordered at `point`s at `order_h` that reach their warehouse `delay_h` later at
    the next trunk wave, with ids from `first_id` in the order given and their `carrier`
    (default 0): grouped by trunk wave, then by fleet (`Model.fleet_of`: the `county` of each
    point, and the carrier when each county has `fleets_per_county` > 1), in id order within;
    and their wave slots (`next_wave`)."""
    hub, slot = next_wave(order_h + delay_h, waves_h)
    point = np.asarray(point, dtype=np.int32)
    u_km, e_wait = np.asarray(u_km, dtype=np.float32), np.asarray(e_wait, dtype=np.float32)
    carrier = np.zeros(len(point), dtype=np.int8) if carrier is None else np.asarray(carrier, dtype=np.int8)
    by = np.arange(len(point))
    if len(point):
        fleet = county[point] * fleets_per_county + (carrier if fleets_per_county > 1 else 0)
        key = (slot - int(slot.min())) * (int(county.max()) + 1) * fleets_per_county + fleet
        small = np.int16 if key.max() < np.iinfo(np.int16).max else np.int64
        by = np.argsort(key.astype(small), kind="stable")  # a radix sort, stable: ids stay in order
        point, order_h, hub, u_km, e_wait, slot, carrier = (
            x[by] for x in (point, order_h, hub, u_km, e_wait, slot, carrier)
        )
    batch = ParcelBatch.new(first_id + by, point, np.asarray(order_h, dtype=float), hub, u_km, e_wait)
    return batch.with_(carrier=carrier), slot
