"""Interactive charts of `report.html` (Bokeh; the page inlines `bokeh.min.js` once): a run's
lead times, a sweep's frontier, the optimiser's front with the map of the plan clicked, and a
sensitivity study's tornado. Each is built from what the folder's files hold (`lead_times.csv`,
`sweep.json`, `front.json` and `front_maps.json`, `sensitivity.json`), so `ruralsim report
FOLDER` builds it again; the PNG beside each stays the full-resolution, printable figure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from bokeh.layouts import column, row
from bokeh.models import (
    BooleanFilter,
    CDSView,
    ColumnDataSource,
    CustomJS,
    HoverTool,
    LinearColorMapper,
    Model,
    TapTool,
)
from bokeh.models.annotations import ColorBar, Span, Whisker
from bokeh.palettes import Category10, YlOrRd9
from bokeh.plotting import figure

from sim.core.ids import POINT_TYPES

#: Hours a lead-time chart shows when it opens (the data go on to `LEAD_DATA_H`; pan to see).
LEAD_VIEW_H = 240.0
LEAD_DATA_H = 480.0
BLUE, ORANGE, RED, GREY = "#4c78a8", "#f58518", "#d62728", "#9a9a9a"


def embed(models: dict[str, Model]) -> dict[str, Any]:
    """The page's Bokeh parts: `resources` (the inlined library, for the head), `script` (one
    document holding every model) and `divs` (name -> where each model goes)."""
    from bokeh.embed import components
    from bokeh.resources import Resources

    script, divs = components(models)
    return {
        "resources": Resources(mode="inline", components=["bokeh"]).render_js(),
        "script": script,
        "divs": divs,
    }


def _figure(name: str, x_label: str, y_label: str, **kw: Any) -> Any:
    fig: Any = figure(
        name=name,
        sizing_mode="stretch_width",
        height=kw.pop("height", 320),
        tools="pan,box_zoom,wheel_zoom,reset,save",
        toolbar_location="right",
        output_backend="canvas",
        **kw,
    )
    fig.xaxis.axis_label, fig.yaxis.axis_label = x_label, y_label
    fig.title.text_font_size = "10pt"
    return fig


def map_figure(name: str, height: int) -> Any:
    """A map (metres or km on both axes, one to one): pan, box zoom, the wheel zooms, no axes."""
    from bokeh.models import WheelZoomTool

    fig: Any = figure(
        name=name,
        match_aspect=True,
        sizing_mode="stretch_width",
        height=height,
        tools="pan,box_zoom,reset,save",
        toolbar_location="above",
        output_backend="canvas",
    )
    wheel = WheelZoomTool()
    fig.add_tools(wheel)
    fig.toolbar.active_scroll = wheel
    fig.axis.visible = fig.grid.visible = False
    fig.outline_line_color = None
    return fig


def dot_sizes(residents: np.ndarray) -> np.ndarray:
    """Screen pixels of villages' dots: 4 to 16, the area by residents."""
    pop = np.asarray(residents, dtype=float)
    return np.round(4 + 12 * np.sqrt(pop / max(pop.max(initial=1.0), 1.0)), 1)


# ------------------------------------------------------------------------------ lead times


def lead_times(path: Path, w: dict[str, str]) -> Any | None:
    """Two panels (order -> available at the point, order -> in hand), a line per delivery
    point with parcels, from `lead_times.csv`; None without the file or any parcel."""
    if not path.is_file():
        return None
    table = pd.read_csv(path)
    table = table[table["hours"] <= LEAD_DATA_H].reset_index(drop=True)
    points = [p for p in POINT_TYPES if f"hand_{p}" in table and table[f"hand_{p}"].iloc[-1] > 0]
    if not points:
        return None
    shares = table.drop(columns="hours")
    # a row where no curve moves, between two such rows, draws nothing: left out (the page's weight)
    keep = (shares.diff().abs().max(axis=1) > 0) | (shares.diff(-1).abs().max(axis=1) > 0)
    keep.iloc[[0, -1]] = True
    src = ColumnDataSource({c: table.loc[keep, c].to_numpy(np.float32) for c in table})
    panels = []
    for kind, title in (("available", w["available_panel"]), ("hand", w["hand_panel"])):
        fig = _figure(f"lead_{kind}", w["hours_since"], w["share_of_parcels"], title=title, height=300)
        fig.x_range.start, fig.x_range.end = 0, LEAD_VIEW_H
        fig.y_range.start, fig.y_range.end = 0, 1.02
        fig.xaxis.ticker = list(range(0, int(LEAD_DATA_H) + 1, 24))
        for colour, point in zip(Category10[10], points, strict=False):
            line = fig.line(
                "hours", f"{kind}_{point}", source=src, color=colour, line_width=2, legend_label=w[point]
            )
            tips = [
                ("", w[point]),
                (w["hours_since"], "@hours{0.0} h"),
                (w["share_of_parcels"], f"@{kind}_{point}{{0.0%}}"),
            ]
            fig.add_tools(HoverTool(renderers=[line], tooltips=tips, mode="vline"))
        fig.legend.location = "bottom_right"
        fig.legend.click_policy = "hide"
        panels.append(fig)
    panels[1].y_range = panels[0].y_range
    panels[1].x_range = panels[0].x_range
    return row(panels, sizing_mode="stretch_width")


# ------------------------------------------------------------------------------- frontier


def frontier(report: dict[str, Any], t: dict[str, str]) -> Any:
    """A sweep: coverage and order to hand by the value swept (mean, band: its interval), and
    coverage against subsidies (the knee marked); hovering a point gives its row."""
    key = next(iter(report["vary"]))
    rows = pd.DataFrame(report["rows"])
    values = rows[key]
    numeric = pd.api.types.is_numeric_dtype(values)
    x = values.to_numpy(float) if numeric else np.arange(len(rows), dtype=float)
    data: dict[str, Any] = {"x": x, "value": values.astype(str).tolist()}
    for column_ in ("coverage_share", "order_to_hand_p50_h", "order_to_hand_p90_h"):
        scale = 100.0 if column_ == "coverage_share" else 1.0
        for suffix in ("", "_ci_low", "_ci_high"):
            data[column_ + suffix] = rows[column_ + suffix].to_numpy(float) * scale
    data["subsidy_m"] = rows["subsidy_total_yuan"].to_numpy(float) / 1e6
    data["knee"] = rows["knee"].astype(bool).tolist()
    src = ColumnDataSource(data)
    tips = [
        (key, "@value"),
        (t["covered"], "@coverage_share{0.0}%"),
        (t["hand_p50"], "@order_to_hand_p50_h{0.0} h"),
        (t["hand_p90"], "@order_to_hand_p90_h{0.0} h"),
        (t["subsidy_total"], f"¥@subsidy_m{{0,0.00}} {t['million_yuan']}"),
    ]
    cover = _figure("frontier_coverage", key, f"{t['covered']} (%)")
    hand = _figure("frontier_hand", key, t["order_to_hand_h"])
    for fig, column_, colour, label in (
        (cover, "coverage_share", BLUE, t["covered"]),
        (hand, "order_to_hand_p50_h", BLUE, t["hand_p50"]),
        (hand, "order_to_hand_p90_h", ORANGE, t["hand_p90"]),
    ):
        fig.varea(
            "x", f"{column_}_ci_low", f"{column_}_ci_high", source=src, fill_color=colour, fill_alpha=0.2
        )
        fig.line("x", column_, source=src, color=colour, line_width=2, legend_label=label)
        fig.scatter("x", column_, source=src, color=colour, size=6)
    if not numeric:
        for fig in (cover, hand):
            fig.xaxis.ticker = x.tolist()
            fig.xaxis.major_label_overrides = {float(i): v for i, v in zip(x, data["value"], strict=True)}
    cost = _figure("frontier_cost", f"{t['subsidy_total']} ({t['million_yuan']})", f"{t['covered']} (%)")
    cost.line("subsidy_m", "coverage_share", source=src, color=BLUE, line_width=2)
    cost.scatter("subsidy_m", "coverage_share", source=src, color=BLUE, size=6)
    knee = rows.index[rows["knee"].astype(bool)]
    for fig, x_col in ((cover, "x"), (cost, "subsidy_m")):
        if len(knee):
            k = int(knee[0])
            at = ColumnDataSource({"x": [data[x_col][k]], "y": [data["coverage_share"][k]]})
            fig.scatter(
                "x",
                "y",
                source=at,
                size=16,
                fill_color=None,
                line_color=RED,
                line_width=2,
                legend_label=t["knee"],
            )
    for fig in (cover, hand, cost):
        fig.add_tools(HoverTool(tooltips=tips, renderers=[r for r in fig.renderers if r.data_source is src]))
        if fig.legend:
            fig.legend.location = "bottom_right"
    hand.legend.location = "top_right"
    return row([cover, hand, cost], sizing_mode="stretch_width")


# ---------------------------------------------------------------------------- the front


def front(report: dict[str, Any], maps: dict[str, Any] | None, t: dict[str, str]) -> Any:
    """Every plan evaluated (grey; over a budget hollow) and the front (red, its intervals as
    whiskers) for each pair of objectives; clicking a front plan draws its map below (villages
    coloured by km to the nearest station, its stations) from `front_maps.json`."""
    objectives = list(report["objectives"])
    decisions = list(report["decisions"])
    pairs = [(a, b) for i, a in enumerate(objectives) for b in objectives[i + 1 :]] or [
        ("plan", objectives[0])
    ]
    plans = pd.DataFrame(report["plans"])
    # the front drawn as a line: by the first objective (its columns even when it is empty)
    ordered = pd.DataFrame(report["front"], columns=[*plans.columns, "file"]).sort_values(objectives[0])
    files = list((maps or {}).get("plans", {}))

    def source(table: pd.DataFrame) -> ColumnDataSource:
        data = {k: table[k].to_numpy(float) for k in ("plan", *objectives)}
        for k in objectives:
            data[f"{k}_ci_low"] = table[f"{k}_ci_low"].to_numpy(float)
            data[f"{k}_ci_high"] = table[f"{k}_ci_high"].to_numpy(float)
        data["decided"] = [", ".join(f"{d}={r[d]}" for d in decisions) for _, r in table.iterrows()]
        return ColumnDataSource(data)

    ok = source(plans[plans["feasible"].astype(bool)])
    over = source(plans[~plans["feasible"].astype(bool)])
    on = source(ordered)
    on.data["file"] = ordered["file"].tolist()
    on.data["map"] = [files.index(f) if f in files else -1 for f in on.data["file"]]
    tips = [
        (t["plan"], "@plan{0}"),
        ("", "@decided"),
        *((report["objectives"][k]["label"], f"@{{{k}}}{{0,0.[000]}}") for k in objectives),
    ]
    panels = []
    for a, b in pairs:
        label = report["objectives"].get(a, {}).get("label", t["plan"])
        fig = _figure(f"front_{a}_{b}", label, report["objectives"][b]["label"], height=380)
        fig.scatter(a, b, source=ok, size=6, color=GREY, legend_label=t["plans_evaluated"])
        if len(over.data["plan"]):
            fig.scatter(
                a, b, source=over, size=6, fill_color=None, line_color=GREY, legend_label=t["over_budget"]
            )
        fig.line(a, b, source=on, color=RED, line_width=1.5)
        spans: list[tuple[str, str, Literal["width", "height"]]] = [(a, b, "width"), (b, a, "height")]
        for k, base, dim in spans:  # an interval along an objective's axis, at the other's value
            if k in objectives and np.isfinite(on.data[f"{k}_ci_low"]).any():
                lower, upper = f"{k}_ci_low", f"{k}_ci_high"
                whisker = Whisker(
                    source=on, base=base, lower=lower, upper=upper, dimension=dim, line_color=RED
                )
                fig.add_layout(whisker)
        dots = fig.scatter(
            a,
            b,
            source=on,
            size=10,
            color=RED,
            name=f"front_dots_{a}_{b}",
            legend_label=t["front_legend"],
            selection_line_color="black",
            selection_line_width=2.5,
            nonselection_fill_alpha=0.5,
        )
        fig.add_tools(HoverTool(tooltips=[*tips, (t["plan_file"], "@file")], renderers=[dots]))
        fig.add_tools(
            HoverTool(tooltips=tips, renderers=[r for r in fig.renderers if r.data_source in (ok, over)])
        )
        fig.add_tools(TapTool(renderers=[dots]))
        fig.legend.location = "top_left"
        fig.legend.click_policy = "hide"
        panels.append(fig)
    if not maps or not len(on.data["plan"]):
        return row(panels, sizing_mode="stretch_width")
    return column(
        [row(panels, sizing_mode="stretch_width"), _plan_map(on, maps, t)], sizing_mode="stretch_width"
    )


def _plan_map(on: ColumnDataSource, maps: dict[str, Any], t: dict[str, str]) -> Any:
    """The map of the front plan selected in `on` (its `map` column indexes `maps["plans"]`)."""
    plans = list(maps["plans"].values())
    x = np.asarray(maps["x_km"], np.float32)
    y = np.asarray(maps["y_km"], np.float32)
    pop = np.asarray(maps["population"], float)
    villages: dict[str, Any] = {
        "x": x,
        "y": y,
        "size": dot_sizes(pop),
        "residents": pop.astype(np.int32),
    }
    for j, p in enumerate(plans):
        villages[f"d{j}"] = np.asarray(p["distance_km"], np.float32)
    first = next((m for m in on.data["map"] if m >= 0), 0)
    villages["km"] = villages[f"d{first}"]
    sites = [(j, s) for j, p in enumerate(plans) for s in p["sites"]]
    stations = ColumnDataSource(
        {
            "x": x[[s for _, s in sites]],
            "y": y[[s for _, s in sites]],
            "plan": np.array([j for j, _ in sites], np.int16),
        }
    )
    shown = CDSView(filter=BooleanFilter(booleans=[j == first for j, _ in sites]))
    km = np.concatenate([villages[f"d{j}"] for j in range(len(plans))])
    top = max(float(np.nanpercentile(km[np.isfinite(km)], 99)) if np.isfinite(km).any() else 1.0, 1.0)
    mapper = LinearColorMapper(palette=list(reversed(YlOrRd9)), low=0, high=top, nan_color="#b3b3b3")
    fig = map_figure("plan_map", 520)
    i = list(on.data["map"]).index(first) if first in on.data["map"] else 0
    fig.title = _plan_title(on.data["file"][i], on.data["decided"][i], t)
    src = ColumnDataSource(villages)
    dots = fig.scatter(
        "x",
        "y",
        source=src,
        size="size",
        fill_color={"field": "km", "transform": mapper},
        line_color="#4d4d4d",
        line_width=0.3,
        name="plan_villages",
    )
    fig.scatter(
        "x",
        "y",
        source=stations,
        view=shown,
        marker="triangle",
        size=9,
        fill_color="#1f4e9c",
        line_color="white",
        name="plan_stations",
    )
    fig.add_tools(
        HoverTool(
            renderers=[dots], tooltips=[(t["residents"], "@residents{0,0}"), (t["tip_km"], "@km{0.0} km")]
        )
    )
    fig.add_layout(ColorBar(color_mapper=mapper, title=t["tip_km"], width=10), "right")
    on.selected.indices = [i]
    on.selected.js_on_change(
        "indices",
        CustomJS(
            args={
                "on": on,
                "villages": src,
                "stations": stations,
                "view": shown,
                "title": fig.title,
                "none": t["no_plan_map"],
                "words": t["plan_map_title"],
            },
            code="""
const i = on.selected.indices[0];
if (i === undefined) { return; }
const j = on.data.map[i];
if (j < 0) { title.text = on.data.file[i] + ": " + none; return; }
villages.data = Object.assign({}, villages.data, {km: villages.data["d" + j]});
view.filter.booleans = Array.from(stations.data.plan, p => p === j);
title.text = words.replace("{file}", on.data.file[i]).replace("{decided}", on.data.decided[i]);
""",
        ),
    )
    return fig


def _plan_title(file: str, decided: str, t: dict[str, str]) -> str:
    return t["plan_map_title"].replace("{file}", file).replace("{decided}", decided)


def read_front_maps(folder: Path) -> dict[str, Any] | None:
    path = folder / "front_maps.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


# ------------------------------------------------------------------------------- tornado


def tornado(report: dict[str, Any], t: dict[str, str], top: int = 12) -> Any:
    """Per output, each assumption's bar from the output at its low end to the output at its
    high end (the others at the scenario's values), widest swing on top, the base a line."""
    figs: list[Any] = []
    for output, o in report["outputs"].items():
        params = sorted(o["parameters"], key=lambda p: p["swing"], reverse=True)[:top][::-1]
        names = [p["parameter"] for p in params]
        base = float(o["base"])
        src = ColumnDataSource(
            {
                "parameter": names,
                "label": [p["label"] for p in params],
                "low": [float(p["tornado_low"]) for p in params],
                "high": [float(p["tornado_high"]) for p in params],
                "base": [base] * len(params),
            }
        )
        fig = _figure(
            f"tornado_{output}", "", "", y_range=names, height=110 + 28 * len(params), title=o["label"]
        )
        fig.hbar(
            y="parameter",
            left="base",
            right="low",
            height=0.6,
            source=src,
            color=BLUE,
            legend_label=t["at_low_end"],
        )
        fig.hbar(
            y="parameter",
            left="base",
            right="high",
            height=0.6,
            source=src,
            color=ORANGE,
            legend_label=t["at_high_end"],
        )
        fig.add_layout(Span(location=base, dimension="height", line_color="black", line_width=1))
        fig.add_tools(
            HoverTool(
                tooltips=[
                    (t["parameter"], "@parameter"),
                    ("", "@label"),
                    (t["at_low_end"], "@low{0,0.[000]}"),
                    (t["at_high_end"], "@high{0,0.[000]}"),
                    (t["base_value"], "@base{0,0.[000]}"),
                ]
            )
        )
        fig.legend.orientation = "horizontal"
        fig.legend.visible = not figs  # the first chart's legend says it for all
        fig.add_layout(fig.legend[0], "above")
        fig.yaxis.major_label_text_font_size = "8pt"
        figs.append(fig)
    return column(figs, sizing_mode="stretch_width")
