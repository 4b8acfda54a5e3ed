"""The interactive map of a run's `report.html` (Bokeh, its JavaScript inlined: no tiles, no CDN).

Built from the run folder's own files, so `ruralsim report FOLDER` builds it again: villages
(`villages.csv`: sized by residents, coloured by road km to the nearest station), stations by
build year, closed and community stations (`stations.csv`, `region.gpkg`), catchments (village
to station lines), one day's van routes (`routes.csv`) and the villages typhoons cut off (a ring
per village coloured by its days cut off within the horizon: `villages.csv`'s `days_cut_off`,
written when the scenario has faults; without the column, no such layer), over the county
outlines. Each layer is a named renderer that the page's checkboxes show or hide, as does a
click on its legend entry (the checkbox follows); a county select filters every village layer
and zooms to the county. Bokeh over Plotly for size: one bundle of about 1.3 MB
(`bokeh.min.js`; no widget bundle, the controls are plain HTML) against Plotly's 3.5 MB or more.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Layer name -> shown when the page opens.
LAYERS = {
    "villages": True,
    "stations": True,
    "closed": True,
    "community": True,
    "catchments": False,
    "routes": False,
    "cutoffs": True,
}


def _fmt(x: Any, fmt: str, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)) or pd.isna(x):
        return "–"
    return f"{x:{fmt}}{unit}"


def _station_accounts(folder: Path) -> pd.DataFrame:
    """Per station (index: station id): county, built, parcels a day, profit, subsidies, closed."""
    path = folder / "stations.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["county", "built", "per_day", "profit", "subsidy", "closed_on"])
    s = pd.read_csv(path)
    g = s.groupby("station", sort=False)
    days = g["open_days"].sum()
    return pd.DataFrame(
        {
            "kind": g["kind"].first(),
            "county": g["county"].first(),
            "built": g["built"].first(),
            "per_day": g["parcels_received"].sum() / days.where(days > 0),
            "profit": g["profit_yuan"].sum(),
            "subsidy": g["subsidy_yuan"].sum(),
            "closed_on": g["closed_on"].last() if "closed_on" in s else None,
        }
    )


def _read_gpkg(folder: Path) -> dict[str, Any]:
    path = folder / "region.gpkg"
    if not path.is_file():
        return {}
    from analysis.export import read_gpkg

    return read_gpkg(path)


def _polygons(geoms, tolerance: float) -> tuple[list, list]:
    """Bokeh multi_polygons coordinates of (multi)polygons, simplified to `tolerance` metres."""
    xs, ys = [], []
    for geom in geoms:
        parts = getattr(geom.simplify(tolerance), "geoms", [geom.simplify(tolerance)])
        px, py = [], []
        for part in parts:
            ex = np.asarray(part.exterior.coords).round(0)
            holes = [np.asarray(h.coords).round(0) for h in part.interiors]
            px.append([ex[:, 0].tolist(), *[h[:, 0].tolist() for h in holes]])
            py.append([ex[:, 1].tolist(), *[h[:, 1].tolist() for h in holes]])
        xs.append(px)
        ys.append(py)
    return xs, ys


def run_map(folder: Path, t: dict[str, str], names: dict[str, str]) -> dict[str, Any]:
    """The map's parts for the page: `plot` (the Bokeh figure, embedded with the page's other
    charts by `analysis.charts.embed`), `layers` (name, label, shown), `filtered` (the layers the
    county select filters), `counties` (value, label) and `bounds` (per county value: x0, x1,
    y0, y1 in metres); empty without `villages.csv`."""
    path = folder / "villages.csv"
    if not path.is_file():
        return {}
    from bokeh.models import (
        BooleanFilter,
        CDSView,
        ColumnDataSource,
        CustomJS,
        HoverTool,
        LinearColorMapper,
    )
    from bokeh.models.annotations import ColorBar, Legend, LegendItem
    from bokeh.palettes import Blues9, Viridis256, YlOrRd9

    from analysis.charts import dot_sizes, map_figure

    v = pd.read_csv(path, dtype={"village_id": str, "nearest_station": str, "county": str})
    hand = v["order_to_hand_mean_h"] if "order_to_hand_mean_h" in v else pd.Series(np.nan, index=v.index)
    accounts = _station_accounts(folder)
    layers = _read_gpkg(folder)
    county = v["county"].astype(str)
    code = {c: k for k, c in enumerate(sorted(set(county)))}  # the county select filters on `ci`

    def ci(values) -> np.ndarray:
        return np.array([code.get(str(c), -1) for c in values], dtype=np.int16)

    def f32(values) -> np.ndarray:  # map metres: float32 halves the page's numbers
        return np.asarray(values, dtype=np.float32)

    at = dict(zip(v["village_id"], zip(v["x"], v["y"], strict=True), strict=True))
    community = pd.DataFrame(columns=["station", "x", "y", "county", "here"])
    if "stations" in layers:
        st = layers["stations"]
        st = st[st["kind"] == "community"]
        xy = np.column_stack([st.geometry.x, st.geometry.y]) if len(st) else np.empty((0, 2))
        tw = layers.get("townships")
        tw_county = dict(zip(tw["township_id"], tw["county"], strict=True)) if tw is not None else {}
        community = pd.DataFrame(
            {
                "station": st["station_id"].astype(str).to_numpy(),
                "x": xy[:, 0],
                "y": xy[:, 1],
                "county": [tw_county.get(s, "") for s in st["township_id"]],
                "here": st["stations_here"].to_numpy(),
            }
        )
        at |= dict(zip(community["station"], zip(community["x"], community["y"], strict=True), strict=True))

    plot = map_figure("map", 680)
    items: list[LegendItem] = []
    r: Any  # each layer's renderer
    filtered: list[str] = []  # layers with a `county` column that the county select filters

    def view(n: int) -> CDSView:
        return CDSView(filter=BooleanFilter(booleans=[True] * n))

    # county outlines
    counties = layers.get("counties")
    if counties is not None and len(counties):
        cx, cy = _polygons(counties.geometry, 150.0)
        src = ColumnDataSource({"xs": cx, "ys": cy})
        plot.multi_polygons("xs", "ys", source=src, fill_color=None, line_color="#555", line_width=1)
    # catchments: village -> its nearest station
    ends = [at.get(s) for s in v["nearest_station"].astype(str)]
    has = np.array([e is not None for e in ends], dtype=bool)
    if has.any():
        e = np.array([x for x in ends if x is not None], dtype=float)
        src = ColumnDataSource(
            {
                "x0": f32(v["x"][has]),
                "y0": f32(v["y"][has]),
                "x1": f32(e[:, 0]),
                "y1": f32(e[:, 1]),
                "ci": ci(county[has]),
            }
        )
        r = plot.segment(
            "x0",
            "y0",
            "x1",
            "y1",
            source=src,
            view=view(int(has.sum())),
            name="catchments",
            line_color="#7a9cc6",
            line_width=0.8,
            line_alpha=0.7,
        )
        items.append(LegendItem(label=t["layer_catchments"], renderers=[r]))
        filtered.append("catchments")
    # one day's van routes
    routes = folder / "routes.csv"
    if routes.is_file():
        rt = pd.read_csv(routes, dtype={"county": str})
        if len(rt):
            groups = list(rt.groupby("route", sort=True))
            src = ColumnDataSource(
                {
                    "xs": [f32(g["x"]) for _, g in groups],
                    "ys": [f32(g["y"]) for _, g in groups],
                    "ci": ci(g["county"].iloc[0] for _, g in groups),
                }
            )
            r = plot.multi_line(
                "xs",
                "ys",
                source=src,
                view=view(len(groups)),
                name="routes",
                line_color="#6a3d9a",
                line_width=1.6,
                line_alpha=0.8,
            )
            items.append(LegendItem(label=t["layer_routes"], renderers=[r]))
            filtered.append("routes")
    # villages
    pop = v["population"].to_numpy(dtype=float)
    size = dot_sizes(pop)
    km = v["distance_to_station_km"].to_numpy(dtype=float)
    finite = km[np.isfinite(km)]
    top = max(float(np.percentile(finite, 99)) if len(finite) else 1.0, 1.0)
    mapper = LinearColorMapper(palette=list(reversed(YlOrRd9)), low=0, high=top, nan_color="#b3b3b3")
    src = ColumnDataSource(
        {
            "x": f32(v["x"]),
            "y": f32(v["y"]),
            "size": size,
            "km": f32(np.round(km, 2)),
            "name": v["name"].astype(str).to_numpy(),
            "ci": ci(county),
            "county": [names.get(c, c) for c in county],
            "residents": v["population"].to_numpy(dtype=np.int32),
            "hand": f32(np.round(hand, 1)),
        }
    )
    r = plot.scatter(
        "x",
        "y",
        source=src,
        view=view(len(v)),
        name="villages",
        size="size",
        fill_color={"field": "km", "transform": mapper},
        line_color="#4d4d4d",
        line_width=0.3,
        fill_alpha=0.9,
    )
    items.append(LegendItem(label=t["layer_villages"], renderers=[r]))
    filtered.append("villages")
    plot.add_tools(
        HoverTool(
            renderers=[r],
            tooltips=[
                (t["village"], "@name"),
                (t["county"], "@county"),
                (t["residents"], "@residents{0,0}"),
                (t["tip_km"], "@km{0.0} km"),
                (t["tip_hand"], "@hand{0.0} h"),
            ],
        )
    )
    plot.add_layout(ColorBar(color_mapper=mapper, title=t["tip_km"], width=10, location=(0, 0)), "right")

    # villages cut off by typhoons: a ring around each, light to dark blue by its days cut off (apart
    # from the villages' yellow to red)
    if "days_cut_off" in v:
        days = v["days_cut_off"].fillna(0).to_numpy(dtype=np.int64)  # village-days in the horizon
        hit = days > 0
        src = ColumnDataSource(
            {
                "x": f32(v["x"][hit]),
                "y": f32(v["y"][hit]),
                "size": size[hit] + 8,
                "days": days[hit].astype(np.int32),
                "name": v["name"][hit].astype(str).to_numpy(),
                "ci": ci(county[hit]),
                "county": [names.get(c, c) for c in county[hit]],
            }
        )
        cmap = LinearColorMapper(
            palette=list(reversed(Blues9))[3:], low=1, high=max(int(days.max(initial=1)), 2)
        )
        r = plot.scatter(
            "x",
            "y",
            source=src,
            view=view(int(hit.sum())),
            name="cutoffs",
            marker="circle",
            size="size",
            fill_color=None,
            line_color={"field": "days", "transform": cmap},
            line_width=2.5,
        )
        items.append(LegendItem(label=t["layer_cutoffs"], renderers=[r]))
        filtered.append("cutoffs")
        tips = [(t["village"], "@name"), (t["county"], "@county"), (t["cut_off_days"], "@days{0,0}")]
        plot.add_tools(HoverTool(renderers=[r], tooltips=tips))

    # rural stations by build year, closed stations
    name_of = dict(zip(v["village_id"], v["name"].astype(str), strict=True))
    built = v.loc[v["station_year"].notna(), ["village_id", "x", "y", "county", "station_year"]]
    closed_ids = set(accounts.index[accounts["closed_on"].notna()]) if "closed_on" in accounts else set()
    for layer in ("stations", "closed"):
        rows = built[built["village_id"].isin(closed_ids) == (layer == "closed")]
        if layer == "closed" and not len(rows):
            continue
        acc = accounts.reindex(rows["village_id"])
        year = rows["station_year"].astype(int).to_numpy()
        src = ColumnDataSource(
            {
                "x": f32(rows["x"]),
                "y": f32(rows["y"]),
                "ci": ci(rows["county"]),
                "year": year.astype(float),
                "station": [name_of.get(s, s) for s in rows["village_id"]],
                "county": [names.get(c, c) for c in rows["county"]],
                "per_day": f32(acc["per_day"].round(1)),
                "profit": f32(acc["profit"].round(0)),
                "subsidy": f32(acc["subsidy"].round(0)),
            }
        )
        if layer == "closed":
            src.data["closed_on"] = [_fmt(x, "") for x in acc["closed_on"]]
        if layer == "stations":
            lo, hi = (int(year.min()), int(year.max())) if len(year) else (0, 1)
            ymap = LinearColorMapper(palette=Viridis256, low=lo, high=max(hi, lo + 1))
            r = plot.scatter(
                "x",
                "y",
                source=src,
                view=view(len(rows)),
                name="stations",
                marker="triangle",
                size=11,
                fill_color={"field": "year", "transform": ymap},
                line_color="black",
                line_width=0.6,
            )
        else:
            r = plot.scatter(
                "x",
                "y",
                source=src,
                view=view(len(rows)),
                name="closed",
                marker="x",
                size=12,
                line_color="#b2182b",
                line_width=2.5,
            )
        items.append(LegendItem(label=t[f"layer_{layer}"], renderers=[r]))
        filtered.append(layer)
        tips = [
            (t["station"], "@station"),
            (t["county"], "@county"),
            (t["build_year"], "@year{0}"),
            (t["parcels_day"], "@per_day{0,0.0}"),
            (t["profit"], "¥@profit{0,0}"),
            (t["subsidies_received"], "¥@subsidy{0,0}"),
        ]
        if layer == "closed":
            tips.append((t["closed_on"], "@closed_on"))
        plot.add_tools(HoverTool(renderers=[r], tooltips=tips))
    if len(community):
        src = ColumnDataSource(
            {
                "x": f32(community["x"]),
                "y": f32(community["y"]),
                "ci": ci(community["county"]),
                "station": community["station"].tolist(),
                "here": community["here"].astype(int).tolist(),
            }
        )
        r = plot.scatter(
            "x",
            "y",
            source=src,
            view=view(len(community)),
            name="community",
            marker="square",
            size=12,
            fill_color="#1f78b4",
            line_color="white",
            line_width=1,
        )
        items.append(LegendItem(label=t["layer_community"], renderers=[r]))
        filtered.append("community")
        tips = [(t["station"], "@station"), (t["stations_here"], "@here")]
        plot.add_tools(HoverTool(renderers=[r], tooltips=tips))
    legend = Legend(items=items, location="top_left", background_fill_alpha=0.8, click_policy="hide")
    plot.add_layout(legend, "center")

    shown = {glyph.name for glyph in plot.renderers if glyph.name}
    # a click on a legend entry hides or shows its layer: its checkbox follows
    follow = CustomJS(
        code='const box = document.getElementById("layer-" + cb_obj.name);'
        " if (box) { box.checked = cb_obj.visible; }"
    )
    for glyph in plot.renderers:
        if glyph.name in LAYERS:
            glyph.visible = LAYERS[glyph.name]
            glyph.js_on_change("visible", follow)
    bounds = {
        str(code[c]): [float(g["x"].min()), float(g["x"].max()), float(g["y"].min()), float(g["y"].max())]
        for c, g in v.groupby(county, sort=True)
    }
    return {
        "plot": plot,
        "layers": [(n, t[f"layer_{n}"], LAYERS[n]) for n in LAYERS if n in shown],
        "filtered": filtered,
        "counties": [(str(k), names.get(c, c)) for c, k in code.items()],
        "bounds": bounds,
    }
