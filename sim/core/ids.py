"""Numbers that must not collide, in one place: the random streams and the delivery-point types.

Random streams per purpose, `default_rng([seed, k])`, numbered here so that no two purposes
share one (common random numbers: two plans with one seed see one demand). A fleet's sorting
line and vans have one stream per fleet (numbered as `Model.fleet_of`), so fleets never share.
"""

STREAM_DEMAND, STREAM_TRUNK, STREAM_SORT, STREAM_VAN, STREAM_PICKUP = 11, 12, 13, 14, 15
STREAM_EXIT = 16  # operators' exits (`sim.money.programme`)
STREAM_CARRIER = 17  # each parcel's carrier
STREAM_FAULTS = 18  # typhoons, breakdowns, absences, outages (`sim.flows.faults`)
STREAM_GROWERS, STREAM_OFFERS = 21, 22  # produce (`sim.flows.produce`); growers from the scenario's seed
STREAM_OPERATORS = 23  # each station operator's rent and reservation wage (`sim.money.operators`)

#: Delivery-point types (`sim.network.points`), as stored in a parcel's `ptype` and used by the
#: compiled kernels (`sim.core.kernels`).
VILLAGE_STATION, TOWNSHIP_POINT, COMMUNITY_LOCKER = 0, 1, 2
POINT_TYPES = ("village_station", "township_point", "community_locker")
