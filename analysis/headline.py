"""The few lines `ruralsim run` prints about a finished run (the figures are in metrics.json)."""

from __future__ import annotations

from typing import Any


def run_lines(metrics: dict[str, Any], mode: str) -> list[str]:
    """Coverage, order to hand, vans (per carrier with their own fleets, `mode` separate or township),
    produce going up, faults by county and subsidies, with units."""
    lines = []
    years = metrics.get("years") or {}
    if years:
        last = max(years)
        total = years[last]["total"]
        lines.append(
            f"coverage {last}: {total['population_covered_share']:.1%} of residents within "
            f"{metrics['coverage_km']:g} km of a station "
            f"({years[last]['stations']['rural']:,} rural stations)"
        )
    sim = metrics.get("simulation")
    if not sim:
        return lines
    hand = sim["total"]["order_to_hand_h"]
    if hand["parcels"]:
        parcels = sim["total"]["parcels"]
        pending = parcels["pending"] / parcels["ordered"]
        days = sim.get("run_on_days", 0)
        after = f"{days} day{'s' * (days != 1)} past the horizon" if days else "at the horizon's end"
        lines.append(
            f"order to hand: mean {hand['mean_h']:.1f} h, p90 {hand['p90_h']:.1f} h "
            f"(parcels picked up; {pending:.1%} of orders still pending when the run stopped, {after})"
        )
    vans = sim["vans"]
    fleets = {
        "separate": "each carrier its own fleet",
        "township": "each carrier its own fleet, the village carrier's alone to the village stations",
    }.get(mode, "one pooled fleet per county")
    lines.append(
        f"vans ({mode}: {fleets}): {vans['km']:,.0f} km, {vans['hours']:,.0f} van-hours, "
        f"{vans['courier_cost_per_parcel_yuan']:.2f} yuan a parcel"
    )
    if mode in ("separate", "township"):
        for name, c in sim["carriers"].items():
            lines.append(
                f"  {name}: {c['van_km']:,.0f} km, {c['courier_cost_per_parcel_yuan']:.2f} yuan a parcel, "
                f"{c['stations_visited_per_day']:,.0f} stops a day"
            )
    up = sim.get("upstream")
    if up and up.get("offered"):
        fresh = up["arrived_fresh"] / up["offered"]
        times = up["offer_to_city_h"]
        lines.append(
            f"produce: {up['offered']:,} parcels offered, {fresh:.1%} reached the city fresh "
            f"(p50 {times['p50_h'] or 0:.1f} h, p90 {times['p90_h'] or 0:.1f} h), "
            f"{up['spoiled_share']:.1%} spoiled"
        )
        spoiled = [
            f"{name} {p['spoiled_share']:.1%} of {p['offered']:,}"
            for name, p in up["by_product"].items()
            if p["offered"]
        ]
        lines.append(f"  spoiled by product: {', '.join(spoiled)}")
        m, back = up["matching"], up["backhaul"]
        lines.append(
            f"  backhaul: {back['parcels']:,} parcels, load factor {back['load_factor'] or 0:.1%};"
            f" 4PL pickups: {m['trips']:,} trips, {m['van_km_added']:,.0f} km, {m['cost_yuan']:,.0f} yuan"
        )
        if "without_4pl" in up:
            vans = m.get("on_vans") or {}
            lines.append(
                f"  4PL: {vans.get('calls', 0):,} calls on vans already on the road, paid by {m['payer']}; "
                f"without 4PL {up['without_4pl']['spoiled_share'] or 0:.1%} would spoil "
                f"(value saved {m['value_saved_yuan']:,.0f} yuan)"
            )
    faults = sim.get("faults")
    if faults:
        typhoons = faults["typhoons"]
        recovery = max((t["recovery_days"] for t in typhoons), default=0)
        lines.append(
            f"faults: {len(typhoons)} typhoons (longest recovery {recovery} days), "
            f"{faults['village_days_cut_off']:,} village-days cut off, "
            f"{faults['parcels_held_by_faults']:,} parcel-departures held at warehouses "
            f"({faults['extra_hours_at_warehouses_per_parcel']:.2f} h a parcel delivered)"
        )
        for name, c in faults["by_county"].items():
            if c["village_days_cut_off"] or c["parcels_held_by_faults"] or c["warehouse_outage_days"]:
                lines.append(
                    f"  {name}: {c['village_days_cut_off']:,} village-days cut off, "
                    f"{c['parcels_held_by_faults']:,} parcels held, {c['station_days_operator_away']:,} "
                    f"station-days operator away, {c['warehouse_outage_days']} warehouse outage days"
                )
    subsidies = metrics.get("subsidies")
    if subsidies:
        lines += subsidy_lines(subsidies)
        public = sim.get("public_cost")
        if public:
            lines.append(
                f"public cost: {public['total_yuan']:,.0f} yuan (subsidies and the 4PL the county pays, "
                f"{public['matching_4pl_yuan']:,.0f})"
            )
    return lines


def subsidy_lines(subsidies: dict[str, Any]) -> list[str]:
    """The total paid (yuan), and each rule condition that never binds (met by every recipient
    the rule could pay, every year: it decides nothing)."""
    lines = [f"subsidies: {subsidies['total_yuan']:,.0f} yuan"]
    for rule, th in (subsidies.get("thresholds") or {}).items():
        if th.get("conditions_never_binding"):
            lines.append(
                f"  {rule}: {'; '.join(th['conditions_never_binding'])} never binds "
                "(met by every recipient the rule could pay, every year)"
            )
    return lines
