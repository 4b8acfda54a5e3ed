"""Compiled loops (numba) for the per-parcel steps that numpy does in many passes.

Each kernel does in one pass over the parcels what the numpy form below it would do in ten or
twenty, with the same floating-point operations in the same order (no fast-math, no fused
multiply-add), so results are the same to the last bit and the reference model, which does the
same arithmetic in plain Python, still agrees exactly. Compiled on first use and cached next to
this file.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.core.ids import COMMUNITY_LOCKER, TOWNSHIP_POINT


@njit(cache=True, nogil=True)
def collect(
    arrive,
    point,
    ptype,
    u_km,
    e_wait,
    km_to_township,
    household_km,
    base_h,
    per_km_h,
    start_h,
    per_day_h,
    limit_h,
):
    """Pickups (see `sim.flows.pickup`): release time, returned flag and household km per parcel."""
    n = len(arrive)
    release = np.empty(n)
    returned = np.zeros(n, dtype=np.bool_)
    km = np.empty(n)
    for i in range(n):
        t = ptype[i]
        d = km_to_township[point[i]] if t == TOWNSHIP_POINT else np.float64(u_km[i]) * household_km[t]
        delay = np.float64(e_wait[i]) * (base_h[t] + per_km_h[t] * d)
        start, per_day = start_h[t], per_day_h[t]
        a = arrive[i]
        day = math.floor(a / 24.0)
        w = day * per_day + min(max(a - day * 24.0 - start, 0.0), per_day) + delay
        day = math.floor(w / per_day)
        r = day * 24.0 + start + (w - day * per_day)
        if t == COMMUNITY_LOCKER and r - a > limit_h:
            r = a + limit_h
            returned[i] = True
        release[i] = r
        km[i] = d
    return release, returned, km


@njit(cache=True, nogil=True)
def bin_of(h, edges, fine_h, fine_until_h):
    """The histogram bin of a lead time of `h` hours (`sim.kpi` bins)."""
    if h < fine_until_h:
        return int(h * (1.0 / fine_h))
    return np.searchsorted(edges, h, side="right") - 1


@njit(cache=True, nogil=True)
def add_lead_times(hist, total, group, hours, edges, fine_h, fine_until_h):
    """Count `hours` into `hist` (groups x bins) and add them to `total`, per group."""
    for i in range(len(group)):
        g = group[i]
        hist[g, bin_of(hours[i], edges, fine_h, fine_until_h)] += 1
        total[g] += hours[i]


@njit(cache=True, nogil=True)
def tally_carriers(
    carrier, order_h, release, returned, start_h, end_h, delivered, hist, total, edges, fine_h, fine_until_h
):
    """Per carrier: parcels delivered (ordered from `start_h`) and order-to-hand times of those
    picked up before `end_h` (`sim.kpi`)."""
    for i in range(len(carrier)):
        if order_h[i] < start_h:
            continue
        k = carrier[i]
        delivered[k] += 1
        if not returned[i] and release[i] < end_h:
            h = release[i] - order_h[i]
            hist[k, bin_of(h, edges, fine_h, fine_until_h)] += 1
            total[k] += h


@njit(cache=True, nogil=True)
def tally_delivered(
    group, point, order, arrive, release, returned, km, ptype,
    start_h, end_h, speed_kmh, n_villages,
    delivered, available_hist, available_total, in_hand_hist, in_hand_total,
    state_returned, state_waiting, state_picked, villager_km, village_picked, village_hand_sum,
    edges, fine_h, fine_until_h,
):  # fmt: skip
    """`sim.kpi.Kpi.on_delivered`'s counters for parcels ordered from `start_h` on."""
    for i in range(len(group)):
        if order[i] < start_h:
            continue
        g = group[i]
        delivered[g] += 1
        wait = arrive[i] - order[i]
        available_hist[g, bin_of(wait, edges, fine_h, fine_until_h)] += 1
        available_total[g] += wait
        if release[i] >= end_h:
            state_waiting[g] += 1
            continue
        if returned[i]:
            state_returned[g] += 1
            continue
        state_picked[g] += 1
        hand = release[i] + km[i] / speed_kmh - order[i]
        in_hand_hist[g, bin_of(hand, edges, fine_h, fine_until_h)] += 1
        in_hand_total[g] += hand
        villager_km[g] += 2.0 * km[i]
        v = point[i]
        if v < n_villages:
            village_picked[ptype[i], v] += 1
            village_hand_sum[v] += hand


@njit(cache=True, nogil=True)
def due_parcels(sorted_h, point, cutoff, due, visit_key, key_route, first_route, n_routes):
    """Parcels of a queue that can leave today (sorted by the cut-off, stop due): their
    number per route, and their visit keys (-1 for those that stay)."""
    waiting = np.zeros(n_routes, dtype=np.int64)
    key = np.full(len(point), -1, dtype=np.int64)
    for i in range(len(point)):
        p = point[i]
        if sorted_h[i] <= cutoff and due[p]:
            k = visit_key[p]
            key[i] = k
            waiting[key_route[k] - first_route] += 1
    return waiting, key


@njit(cache=True, nogil=True)
def load_order(key, key_route, first_route, room, n_keys):
    """Which parcels go, in visiting order: first-in-first-out per route up to `room`
    parcels per route (queue order is first-in-first-out), then a stable counting sort by visit
    key. Returns the queue indices of the parcels that go, and their keys."""
    taken = np.zeros(len(room), dtype=np.int64)
    count = np.zeros(n_keys + 1, dtype=np.int64)
    go = np.zeros(len(key), dtype=np.bool_)
    for i in range(len(key)):
        k = key[i]
        if k < 0:
            continue
        r = key_route[k] - first_route
        if taken[r] < room[r]:
            taken[r] += 1
            go[i] = True
            count[k + 1] += 1
    for k in range(n_keys):
        count[k + 1] += count[k]
    n = count[n_keys]
    idx = np.empty(n, dtype=np.int64)
    keys = np.empty(n, dtype=np.int64)
    for i in range(len(key)):
        if go[i]:
            k = key[i]
            idx[count[k]] = i
            keys[count[k]] = k
            count[k] += 1
    return idx, keys


@njit(cache=True, nogil=True)
def cut(keys, key_route, key_stop, key_ptype, first_route, vans, capacity):
    """Van loads, visits and drops of parcels in visiting order (see `sim.flows.trips.cut_loads`):
    per parcel its visit and drop; per visit its van, stop, first parcel and size; per drop its
    visit and point type."""
    n = len(keys)
    van_offset = np.zeros(len(vans), dtype=np.int64)
    for r in range(1, len(vans)):
        van_offset[r] = van_offset[r - 1] + vans[r - 1]
    visit = np.empty(n, dtype=np.int64)
    drop = np.empty(n, dtype=np.int64)
    visit_van = np.empty(n, dtype=np.int64)
    visit_stop = np.empty(n, dtype=np.int64)
    visit_first = np.empty(n, dtype=np.int64)
    drop_visit = np.empty(n, dtype=np.int64)
    drop_ptype = np.empty(n, dtype=np.int8)
    nv = nd = 0
    prev_van = prev_stop = prev_key = -1
    route_start = -1
    prev_route = -1
    for i in range(n):
        k = keys[i]
        r = key_route[k] - first_route
        if r != prev_route:
            route_start, prev_route = i, r
        v = van_offset[r] + (i - route_start) // capacity
        s = key_stop[k]
        if v != prev_van or s != prev_stop:
            visit_van[nv], visit_stop[nv], visit_first[nv] = v, s, i
            nv += 1
            prev_key = -1
        if k != prev_key:
            drop_visit[nd], drop_ptype[nd] = nv - 1, key_ptype[k]
            nd += 1
        visit[i], drop[i] = nv - 1, nd - 1
        prev_van, prev_stop, prev_key = v, s, k
    return visit, drop, visit_van[:nv], visit_stop[:nv], visit_first[:nv], drop_visit[:nd], drop_ptype[:nd]


@njit(cache=True, nogil=True)
def drops_taken(order, drop_bay, drop_h, drop_capacity, size, first, release, pool_bay, pool_release):
    """Parcels each drop leaves at its point (`sim.flows.unload`): drops taken bay by bay in time
    order (`order`); a drop finds the stock of the pool (`pool_bay`, `pool_release`) and of the
    drops before it at the bay, each parcel there until its `release`."""
    n_bays = 1
    for b in drop_bay:
        n_bays = max(n_bays, b + 1)
    for b in pool_bay:
        n_bays = max(n_bays, b + 1)
    start = np.zeros(n_bays + 1, dtype=np.int64)  # the pool by bay (a counting sort)
    for b in pool_bay:
        start[b + 1] += 1
    for b in range(n_bays):
        start[b + 1] += start[b]
    at = start[:-1].copy()
    by_bay = np.empty(len(pool_bay))
    for k in range(len(pool_bay)):
        by_bay[at[pool_bay[k]]] = pool_release[k]
        at[pool_bay[k]] += 1
    taken = np.zeros(len(drop_bay), dtype=np.int64)
    here = np.empty(len(release))  # releases left at the current bay by this call's drops
    n_here = 0
    bay = -1
    for j in range(len(order)):
        d = order[j]
        if drop_bay[d] != bay:
            bay = drop_bay[d]
            n_here = 0
        t = drop_h[d]
        stock = 0
        for k in range(start[bay], start[bay + 1]):
            if by_bay[k] > t:
                stock += 1
        for k in range(n_here):
            if here[k] > t:
                stock += 1
        room = drop_capacity[d] - stock
        take = size[d] if room >= size[d] else max(int(room), 0)
        taken[d] = take
        for k in range(first[d], first[d] + take):
            here[n_here] = release[k]
            n_here += 1
    return taken


@njit(cache=True, nogil=True)
def sorting_line(a, service, served, slack):
    """Lindley's recursion in the closed form of `sim.flows.warehouse.Sorter` (working-clock hours):
    finishing times of parcels arriving at `a` with `service` times, from the carried `served`
    (total service so far) and `slack` (running maximum of arrival minus service before it);
    returns the times and the new state."""
    finish = np.empty(len(a))
    for i in range(len(a)):
        slack = max(slack, a[i] - served)
        served += service[i]
        finish[i] = served + slack
    return finish, served, slack


@njit(cache=True, nogil=True)
def trip_times(depart_h, van, leg, service, home, n_vans):
    """Arrival at each visit and minutes per van (`sim.flows.trips.time_trips`): leg, service, leg,
    ..., home, summed one after another from each van's departure."""
    arrive = np.empty(len(van))
    minutes = np.empty(n_vans)
    t = 0.0
    for i in range(len(van)):
        if i == 0 or van[i] != van[i - 1]:
            t = 0.0
        t += leg[i]
        arrive[i] = depart_h + t / 60.0
        t += service[i]
        if i == len(van) - 1 or van[i + 1] != van[i]:
            minutes[van[i]] = t + home[van[i]]
    return arrive, minutes


@njit(cache=True, nogil=True)
def backhaul(order, van, station, arrive, room, n_vans, start, offer_h, spoil_h):
    """Produce taken by vans (see `sim.flows.produce`): visits in time `order`, each at `station`
    (village index, -1 for a township point) at `arrive` with `room` left after its drop, less
    what its `van` took earlier. At a station, produce offered by then goes first in first out:
    an item whose shelf life ran out is spoiled, the rest fill the room. Produce is grouped by
    station (`start`: its range per station), offered in time order. Per item: state (0
    waiting, 1 taken, 2 spoiled), van, and when it was taken."""
    n = len(offer_h)
    state = np.zeros(n, dtype=np.int8)
    by_van = np.full(n, -1, dtype=np.int64)
    picked = np.zeros(n_vans, dtype=np.int64)
    next_item = start[:-1].copy()
    for i in order:
        s = station[i]
        if s < 0:
            continue
        t, v = arrive[i], van[i]
        left = room[i] - picked[v]
        k, end = next_item[s], start[s + 1]
        while k < end and offer_h[k] <= t:
            if spoil_h[k] <= t:
                state[k] = 2
            elif left > 0:
                state[k], by_van[k] = 1, v
                left -= 1
                picked[v] += 1
            else:
                break
            k += 1
        next_item[s] = k
    return state, by_van
