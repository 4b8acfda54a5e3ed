"""Scenario sections of the delivery simulation: demand, trunk, warehouses, couriers, pickup.

Defaults are the calibration for Lishui around 2018 (see README, "Simulation"): about 30 parcels
a day for a village station of 150 households, trunk delays of about 30 h, one county warehouse
per county with a daily van departure at 08:00. Every figure not sourced in `docs/sources.md`
is an assumption and documented as such.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

Hour = Annotated[float, Field(ge=0, le=24)]
Positive = Annotated[float, Field(gt=0)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SeasonEvent(Section):
    """A demand peak or slump: demand x `factor` on `date`, fading as a Gaussian with standard
    deviation `spread_days`. `date` is "MM-DD" or `spring_festival` (the lunar new year)."""

    name: str
    date: str = Field(pattern=r"^(spring_festival|(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))$")
    factor: float = Field(gt=0, le=20)
    spread_days: float = Field(default=3.0, gt=0, le=60)


class Demand(Section):
    """Downstream orders per village per day ~ Poisson(households x `parcels_per_household_day`
    x `growth_per_year` ** (year - `base_year`) x season x weekday). Orders fall uniformly within
    `order_hours`. Default: 0.2 parcels per household-day in 2018 (about 30 a day for a village of
    150 households, within the 10-50 reported for Zhejiang village stations)."""

    parcels_per_household_day: float = Field(default=0.2, ge=0, le=50)
    base_year: int = Field(default=2018, ge=1990, le=2100)
    growth_per_year: float = Field(default=1.25, gt=0, le=10)
    order_hours: tuple[Hour, Hour] = (8.0, 23.0)
    weekday_factors: tuple[Positive, Positive, Positive, Positive, Positive, Positive, Positive] = (
        1.1,
        1.05,
        1.0,
        1.0,
        0.95,
        0.95,
        0.95,
    )
    events: tuple[SeasonEvent, ...] = (
        SeasonEvent(name="spring_festival", date="spring_festival", factor=0.3, spread_days=6),
        SeasonEvent(name="618", date="06-18", factor=1.8, spread_days=3),
        SeasonEvent(name="double_11", date="11-11", factor=3.0, spread_days=4),
    )

    @field_validator("order_hours")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] >= value[1]:
            raise ValueError("must be [start, end) with start < end")
        return value


class Trunk(Section):
    """Line haul to the county warehouse: a log-normal delay (`delay_mean_h`, coefficient of
    variation `delay_cv`), then the next trunk wave at one of `waves_h` (hours of the day; none:
    parcels arrive as they come)."""

    delay_mean_h: float = Field(default=30.0, gt=0, le=1000)
    delay_cv: float = Field(default=0.4, ge=0, le=5)
    waves_h: tuple[Hour, ...] = (4.0, 14.0)


class Warehouses(Section):
    """One county warehouse per county, at the county seat. It sorts `sorting_rate_per_h` parcels
    an hour during `shift_h`, first come first served (`service`: deterministic 1/rate, or
    exponential); parcels sorted `cutoff_h` before a van departure make it. `firms_served`:
    online sellers each county warehouse serves (a subsidy condition; not simulated).
    `seller_orders_per_day`: orders it ships out a day for those sellers in `demand.base_year`
    (one number for every county's warehouse, or by county name), growing by
    `seller_orders_growth_per_year` a year (none: `demand.growth_per_year`); with the produce
    offered at the county's stations, they are the warehouse's `orders_per_day` (a subsidy
    condition; not simulated as parcels)."""

    sorting_rate_per_h: float = Field(default=4000.0, gt=0)
    firms_served: int = Field(default=0, ge=0, le=1_000_000)
    seller_orders_per_day: (
        Annotated[float, Field(ge=0, le=1e7)] | dict[str, Annotated[float, Field(ge=0, le=1e7)]]
    ) = 0.0
    seller_orders_growth_per_year: float | None = Field(default=None, gt=0, le=10)
    shift_h: tuple[Hour, Hour] = (2.0, 22.0)
    cutoff_h: float = Field(default=1.0, ge=0, le=24)
    service: Literal["deterministic", "exponential"] = "deterministic"

    @field_validator("shift_h")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] >= value[1]:
            raise ValueError("must be [start, end) with start < end")
        return value


class Frequency(Section):
    """Stops within `max_minutes` of the warehouse are visited every `every_days` days."""

    max_minutes: float | None = Field(default=None, gt=0)
    every_days: int = Field(ge=1, le=28)


class Carrier(Section):
    """An express carrier: its `share` of the parcels (drawn parcel by parcel) and, when carriers
    run their own fleets (`couriers.mode: separate`), its vans per county (default: its share
    of `couriers.vans_per_county`, rounded up)."""

    share: float = Field(gt=0, le=1)
    vans_per_county: int | None = Field(default=None, ge=1, le=10_000)


class Couriers(Section):
    """Vans per county: routes planned with PyVRP over the stops (village stations and township
    points) for each station network in force, `vans_per_county` at most, `van_capacity`
    parcels, routes of at most `shift_h` hours, `service_min_per_stop` +
    `service_min_per_parcel` at each stop (a van's own parcels for it). Vans leave
    at `departure_h`; legs take the road time x log-normal noise (`travel_noise_cv`). Village
    stations are visited by `frequency` (first rule that fits, by minutes from the warehouse);
    township points daily. Cost: `cost_per_km` + `cost_per_hour` yuan, the hours being the
    vans' hours on the road (`cost_basis: road_hours`) or a whole shift (`shift_h`) for every
    van that leaves (`van_days`), plus `cost_per_van_day` for every van that leaves. PyVRP searches
    `route_search_iterations` per county and network, split among its day patterns (at least
    300 each): a count, not a time, so that plans are the same on every machine (a few seconds
    for a Lishui county).

    `carriers` (name -> market share): each parcel is carried by one, drawn by share. `mode`:
    `joint` (共同配送: one pooled fleet per county plans routes for every carrier's parcels),
    `separate` (each carrier its own fleet, routes, sorting line and its share of each shelf) or
    `township` (what existed before joint distribution, "brands to the township, postal to the
    villages": each carrier its own fleet and sorting line; `village_carrier`'s fleet (China
    Post) calls at the village stations, with their whole shelves, and at the township points;
    every other carrier's fleet calls only at township points and lockers, and its parcels for
    a village with a station wait at the village's township point, where villagers collect them)."""

    departure_h: Hour = 8.0
    vans_per_county: int = Field(default=150, ge=1, le=10_000)
    van_capacity: int = Field(default=500, ge=1, le=100_000)
    shift_h: float = Field(default=10.0, gt=0, le=24)
    service_min_per_stop: float = Field(default=4.0, ge=0, le=240)
    service_min_per_parcel: float = Field(default=0.2, ge=0, le=60)
    travel_noise_cv: float = Field(default=0.1, ge=0, le=2)
    cost_per_km: float = Field(default=1.5, ge=0)
    cost_per_hour: float = Field(default=40.0, ge=0)
    cost_basis: Literal["road_hours", "van_days"] = "road_hours"
    cost_per_van_day: float = Field(default=0.0, ge=0, le=1e6)
    frequency: tuple[Frequency, ...] = (
        Frequency(max_minutes=90, every_days=1),
        Frequency(max_minutes=150, every_days=2),
        Frequency(every_days=7),
    )
    route_search_iterations: int = Field(default=2000, ge=1, le=1_000_000)
    mode: Literal["joint", "separate", "township"] = "joint"
    carriers: dict[str, Carrier] = Field(default_factory=lambda: {"all": Carrier(share=1.0)}, min_length=1)
    village_carrier: str = "postal"

    @field_validator("carriers")
    @classmethod
    def _shares_add_up(cls, value: dict[str, Carrier]) -> dict[str, Carrier]:
        total = sum(c.share for c in value.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"market shares must add up to 1 (they add up to {total:g})")
        if len(value) > 100:
            raise ValueError("at most 100 carriers")
        return value

    @model_validator(mode="after")
    def _village_carrier_is_a_carrier(self) -> Couriers:
        if self.mode == "township" and self.village_carrier not in self.carriers:
            raise ValueError(
                f"village_carrier {self.village_carrier!r} is not one of couriers.carriers "
                f"({', '.join(self.carriers)}): township mode needs the carrier that serves the villages"
            )
        return self

    def serves_villages(self) -> tuple[bool, ...]:
        """Per fleet of a county (`fleets` order): whether it calls at village stations. Every
        fleet does, but in township mode only `village_carrier`'s."""
        if self.mode != "township":
            return (True,) * len(self.fleets())
        return tuple(name == self.village_carrier for name in self.carriers)

    def fleets(self) -> tuple[tuple[float, int], ...]:
        """(share of parcels, vans) of each county's fleets: one pooled fleet in joint mode,
        one per carrier (in `carriers` order) in separate and township modes."""
        if self.mode == "joint":
            return ((1.0, self.vans_per_county),)
        return tuple(
            (c.share, c.vans_per_county or max(1, math.ceil(c.share * self.vans_per_county - 1e-9)))
            for c in self.carriers.values()
        )

    @field_validator("frequency")
    @classmethod
    def _last_rule_catches_all(cls, value: tuple[Frequency, ...]) -> tuple[Frequency, ...]:
        if not value or value[-1].max_minutes is not None:
            raise ValueError("the last rule must have no max_minutes (it takes every remaining stop)")
        return value


def _month_day(value: str) -> str:
    try:
        date(2000, *(int(x) for x in value.split("-")))  # 2000: 29 February is a day
    except (TypeError, ValueError):
        raise ValueError("must be a day of the year, MM-DD") from None
    if not re.fullmatch(r"\d\d-\d\d", value):
        raise ValueError("must be a day of the year, MM-DD")
    return value


MonthDay = Annotated[str, AfterValidator(_month_day)]


class Product(Section):
    """A farm product offered at village stations: in `seasons` ("MM-DD" to "MM-DD", both
    included; a window may run over the new year), by `growers_share` of the villages, each
    offering `parcels_per_grower_day` a day in season (a village of 150 households, average
    volume). It keeps `ambient_shelf_h` hours outside and `cold_shelf_h` in the cold chain
    (null: it does not spoil). A parcel is worth `value_yuan` (what is lost when it spoils;
    the 4PL value test)."""

    seasons: tuple[tuple[MonthDay, MonthDay], ...]
    growers_share: float = Field(gt=0, le=1)
    parcels_per_grower_day: float = Field(ge=0, le=10_000)
    ambient_shelf_h: float | None = Field(default=None, gt=0, le=100_000)
    cold_shelf_h: float | None = Field(default=None, gt=0, le=100_000)
    value_yuan: float = Field(default=50.0, ge=0, le=1_000_000)

    @field_validator("seasons")
    @classmethod
    def _some_season(cls, value: tuple) -> tuple:
        if not value:
            raise ValueError("needs at least one season, e.g. [[06-01, 06-30]]")
        return value


#: Lishui's produce (`docs/sources.md`, "Produce going up to cities"): seasons
#: and shelf lives as sourced (mid-points of the ranges); growers, volumes and values a parcel
#: (a 2.5 kg box of bayberries or mushrooms, 5 kg of water bamboo, 250 g of tea; no price is
#: sourced) are ASSUMPTIONS
#: (about 2.5 parcels a station-day over the year, heavier in June).
LISHUI_PRODUCTS = {
    "bayberry": Product(
        seasons=(("06-01", "06-30"),), growers_share=0.3, parcels_per_grower_day=20,
        ambient_shelf_h=48, cold_shelf_h=240, value_yuan=100,
    ),
    "water_bamboo": Product(
        seasons=(("05-01", "06-30"), ("08-01", "11-30")), growers_share=0.15, parcels_per_grower_day=6,
        ambient_shelf_h=60, cold_shelf_h=420, value_yuan=40,
    ),
    "mushrooms": Product(
        seasons=(("01-01", "12-31"),), growers_share=0.25, parcels_per_grower_day=3,
        ambient_shelf_h=36, cold_shelf_h=144, value_yuan=50,
    ),
    "tea": Product(
        seasons=(("03-20", "05-10"),), growers_share=0.2, parcels_per_grower_day=4, value_yuan=100,
    ),
}  # fmt: skip


class Upstream(Section):
    """Produce going up (农产品进城), simulated by the fast engine when `enabled`. Offers at open
    village stations by `products`' harvest calendars, Poisson each day, uniform within
    `offer_hours`; a grower village's volume is log-normal with mean 1 (`volume_sigma`) and
    "Taobao villages" (`taobao_share` of villages) sell `taobao_factor` times more. The vans
    that delivered take produce home in the room their drops left (backhaul). Produce that
    would spoil before the next backhaul brings it to the warehouse (its van's visit, then
    `matching_margin_h` for the rest of its route and the drive back) is matched (4PL,
    车源货源撮合): with `matching: vans` or `4pl` to the spare room of a van already on the road
    that day, calling on its way home (detour at the couriers' cost rates); with `4pl` then to
    dedicated pickups from `matching_pickup_h`, on trips of at most `matching_capacity` parcels
    and `matching_trip_h` hours (`matching_cost_per_km` + `matching_cost_per_trip` yuan). A
    call is made only when the produce it saves is worth at least its cost (products'
    `value_yuan`), and a truck trip at least `matching_min_value_yuan`. `matching_payer` pays
    the 4PL cost: `platform` (the 4PL platform, from its freight), `county` (public money) or
    `operator` (the express operators, in the courier cost). At the county warehouse produce waits
    `consolidation_h`, leaves on the next trunk at `trunk_out_h` and reaches the city
    `trunk_to_city_h` later, perishables in the cold chain from the warehouse on when
    `cold_chain`. Defaults other than the products: ASSUMPTIONS."""

    enabled: bool = False
    products: dict[str, Product] = Field(default_factory=lambda: dict(LISHUI_PRODUCTS), min_length=1)
    volume_sigma: float = Field(default=1.0, ge=0, le=5)
    taobao_share: float = Field(default=0.02, ge=0, le=1)
    taobao_factor: float = Field(default=20.0, ge=1, le=10_000)
    offer_hours: tuple[Hour, Hour] = (8.0, 18.0)
    cold_chain: bool = True
    consolidation_h: float = Field(default=2.0, ge=0, le=240)
    trunk_out_h: tuple[Hour, ...] = Field(default=(21.0,), min_length=1)
    trunk_to_city_h: float = Field(default=5.0, ge=0, le=240)
    matching: Literal["none", "vans", "4pl"] = "4pl"
    matching_payer: Literal["platform", "county", "operator"] = "platform"
    matching_min_value_yuan: float = Field(default=0.0, ge=0, le=1e9)
    matching_pickup_h: Hour = 17.0
    matching_capacity: int = Field(default=200, ge=1, le=100_000)
    matching_trip_h: float = Field(default=4.0, gt=0, le=24)
    matching_margin_h: float = Field(default=6.0, ge=0, le=48)
    matching_cost_per_km: float = Field(default=2.5, ge=0)
    matching_cost_per_trip: float = Field(default=50.0, ge=0)

    @field_validator("offer_hours")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] >= value[1]:
            raise ValueError("must be [start, end) with start < end")
        return value


class Typhoon(Section):
    """Typhoons: `rate_per_year` a year (East China: about 1-4.5 affecting typhoons a year,
    Jul-Sep; `docs/sources.md`, "Typhoons and road closures"), on days uniform in `season`. Each
    cuts off a `cut_share` of the villages of mountain counties (circuity >= `min_circuity`; village roads
    go most) and a `township_cut_share` of their township points; each closure lasts a
    log-normal number of whole days (`median_days`, `sigma`: a long tail, at most `max_days`;
    Megi 2016: 68% of cut-off villages reopened on landfall day, a county road ~15 days).
    Shares and durations: ASSUMPTIONS."""

    rate_per_year: float = Field(default=0.0, ge=0, le=1000)
    season: tuple[MonthDay, MonthDay] = ("07-01", "09-30")
    min_circuity: float = Field(default=1.8, ge=1, le=10)
    cut_share: float = Field(default=0.15, ge=0, le=1)
    township_cut_share: float = Field(default=0.03, ge=0, le=1)
    median_days: float = Field(default=1.0, gt=0, le=60)
    sigma: float = Field(default=1.0, ge=0, le=5)
    max_days: int = Field(default=30, ge=1, le=365)


class Breakdowns(Section):
    """A route's van breaks down on a day with `per_van_day` probability (no sourced rate): the
    route is not driven that day and its parcels wait for the next."""

    per_van_day: float = Field(default=0.0, ge=0, le=1)


class OperatorAbsence(Section):
    """A village station's operator is away on a day with `per_station_day` probability (no
    sourced rate): no delivery there and no pickup that day."""

    per_station_day: float = Field(default=0.0, ge=0, le=1)


class WarehouseOutage(Section):
    """Each county warehouse fails `rate_per_year` times a year, for a log-normal number of
    whole days (`median_days`, `sigma`, at most `max_days`): no van leaves it meanwhile."""

    rate_per_year: float = Field(default=0.0, ge=0, le=365)
    median_days: float = Field(default=1.0, gt=0, le=60)
    sigma: float = Field(default=0.5, ge=0, le=5)
    max_days: int = Field(default=14, ge=1, le=365)


class Faults(Section):
    """What goes wrong (`sim.flows.faults`): typhoons, van breakdowns, operators away, warehouse
    outages. All off by default."""

    typhoon: Typhoon = Typhoon()
    breakdowns: Breakdowns = Breakdowns()
    operator_absence: OperatorAbsence = OperatorAbsence()
    warehouse_outage: WarehouseOutage = WarehouseOutage()

    @property
    def any(self) -> bool:
        """Whether any fault can happen."""
        return bool(
            self.typhoon.rate_per_year
            or self.breakdowns.per_van_day
            or self.operator_absence.per_station_day
            or self.warehouse_outage.rate_per_year
        )


class Pickup(Section):
    """How villagers collect: the delay from a parcel's arrival to its pickup is exponential with
    mean `base_h` + `per_km_h` x the household's km to the point, counted in opening hours only
    (`opening_h`; [0, 24] for lockers). Households of a station village live within
    `household_km` of it; for a township point the distance is the village's road km to it."""

    opening_h: tuple[Hour, Hour] = (8.0, 20.0)
    base_h: float = Field(default=4.0, ge=0, le=1000)
    per_km_h: float = Field(default=4.0, ge=0, le=1000)
    household_km: float = Field(default=1.0, ge=0, le=100)


class Pickups(Section):
    """Pickup behaviour by delivery point, villagers' travel speed, and the capacities: a village
    station's shelf holds `station_capacity` parcels, or `shelf_days` busy days of its village's
    parcels if more; lockers `locker_slots` per community station, returned after
    `locker_limit_h`; a township express point holds `township_capacity` parcels (null: no
    limit); each community station receives `community_parcels_per_day` (2018 level)."""

    village_station: Pickup = Pickup()
    township_point: Pickup = Pickup(opening_h=(8.0, 18.0), base_h=12.0, per_km_h=3.0)
    community_locker: Pickup = Pickup(opening_h=(0.0, 24.0), base_h=8.0, per_km_h=4.0, household_km=1.5)
    station_capacity: int = Field(default=200, ge=1, le=100_000)
    shelf_days: float = Field(default=1.5, ge=0, le=60)
    locker_slots: int = Field(default=120, ge=1, le=10_000)  # two cabinet banks of about 60 cells
    locker_limit_h: float = Field(default=48.0, gt=0, le=1000)
    township_capacity: int | None = Field(default=None, ge=1, le=1_000_000)
    community_parcels_per_day: float = Field(default=40.0, ge=0, le=10_000)
    villager_speed_kmh: float = Field(default=15.0, gt=0, le=100)


#: the engines `simulation.engine` names; `sim.engine.registry.ENGINES` holds exactly these (a test checks)
EngineName = Literal["fast", "reference"]


class Simulation(Section):
    """`days`: simulate only this many days (default: the whole horizon); `warmup_days` run before
    the horizon so the network is not empty at its start (their parcels are not counted);
    `engine`: `fast` (parcels as arrays) or `reference` (one SimPy process per parcel);
    `replications`: independent runs with derived seeds, reported as mean and 95% CI;
    `run_on_days`: after the horizon the run goes on without new orders until every parcel
    ordered has reached its delivery point, at most this many days (0: stop at the horizon's
    end, so parcels still on their way are left out of the lead times); parcels collected
    within that many days of the horizon's end count as picked up."""

    enabled: bool = True
    days: int | None = Field(default=None, ge=1, le=36_600)
    warmup_days: int = Field(default=7, ge=0, le=365)
    run_on_days: int = Field(default=60, ge=0, le=365)
    engine: EngineName = "fast"
    replications: int = Field(default=1, ge=1, le=1000)

    @field_validator("engine", mode="before")
    @classmethod
    def _known_engine(cls, value: object) -> object:
        # checked here rather than by the Literal so that the message lists the names as elsewhere
        names = get_args(EngineName)
        if value not in names:
            raise ValueError(f"must be one of {', '.join(repr(e) for e in names)}")
        return value
