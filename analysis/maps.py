"""Planning maps: villages by access distance, stations, county outlines; readable on A4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.patheffects import withStroke

from analysis.i18n import map_words
from geo.region import Region

A4_LANDSCAPE_IN = (11.69, 8.27)
SCALE_BAR_KM = (1, 2, 5, 10, 20, 50, 100, 200)


def planning_map(
    region: Region,
    values: np.ndarray,
    rural_sites: np.ndarray,
    community: np.ndarray,
    *,
    title: str,
    subtitle: str,
    path: Path,
    dpi: int = 200,
    roads: gpd.GeoDataFrame | None = None,
    value_label: str | None = None,
    closed_sites: np.ndarray | None = None,
    lang: str = "en",
) -> None:
    """Draw the map to `path` (PNG or SVG, by suffix).

    Villages are sized by population and coloured by `values` (one per village, e.g. road km to
    the nearest station; NaN or inf draws grey), described by `value_label`; `rural_sites` are
    village indices with a station, `closed_sites` those whose station closed (marked apart),
    `community` counts community stations per township seat; `roads` (a road layer with
    `road_class`) is drawn underneath when given. Words in `lang` (en, zh; the caller sets the
    font, `analysis.i18n.fonts`).
    """
    w = map_words(lang)
    closed = np.empty(0, dtype=np.int64) if closed_sites is None else np.asarray(closed_sites, dtype=np.int64)
    fig = Figure(figsize=A4_LANDSCAPE_IN, layout="constrained")
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.set_axis_off()

    if roads is not None:
        major = roads["road_class"].isin(["expressway", "motorway", "trunk"]).to_numpy()
        for part, style in (
            (roads[~major], {"color": "0.8", "linewidth": 0.3}),
            (roads[major], {"color": "#2e7d32", "linewidth": 1.4}),
        ):
            if len(part):
                part.plot(ax=ax, zorder=0, **style)
    region.counties.boundary.plot(ax=ax, color="0.35", linewidth=0.8, zorder=1)
    for _, county in region.counties.iterrows():
        p = county.geometry.representative_point()
        ax.annotate(
            county_label(county, lang),
            (p.x, p.y),
            ha="center",
            fontsize=10,
            fontweight="bold" if lang == "en" else "normal",  # CJK fonts here have no bold
            color="0.2",
            zorder=5,
            path_effects=[withStroke(linewidth=3, foreground="white")],
        )

    v = region.villages
    pop = v["population"].to_numpy(dtype=float)
    size = _marker_size(pop, pop.max() if len(pop) else 1.0)
    km = np.asarray(values, dtype=float)
    finite = np.isfinite(km)
    top = max(float(np.percentile(km[finite], 99)) if finite.any() else 1.0, 1.0)
    norm = Normalize(vmin=0.0, vmax=top)
    dots = ax.scatter(
        v["x"][finite],
        v["y"][finite],
        s=size[finite],
        c=km[finite],
        cmap="YlOrRd",
        norm=norm,
        edgecolors="0.3",
        linewidths=0.2,
        zorder=2,
    )
    if (~finite).any():
        ax.scatter(
            v["x"][~finite],
            v["y"][~finite],
            s=size[~finite],
            color="0.7",
            edgecolors="0.3",
            linewidths=0.2,
            zorder=2,
        )
    xy = region.village_xy
    _mark(ax, xy[rural_sites], "rural", 7)
    _mark(ax, xy[closed], "closed", 14)
    seats = np.flatnonzero(community > 0)
    _mark(ax, region.township_xy[seats], "community", 18 + 6 * np.sqrt(community[seats]))

    bar = fig.colorbar(dots, ax=ax, shrink=0.6, pad=0.01, extend="max")
    bar.set_label(value_label or w["distance"])
    _legend(ax, pop, len(rural_sites), int(community.sum()), len(closed), roads is not None, region, w)
    _scale_bar(ax)
    _north_arrow(ax, w["north"], lang)
    ax.set_title(f"{title}\n{subtitle}", fontsize=13)
    fig.text(0.01, 0.005, footnote(region, w), fontsize=7, color="0.35", ha="left", va="bottom")
    fig.savefig(path, dpi=dpi)


def county_label(county, lang: str) -> str:
    """A county's name on maps: its Chinese name in `zh` when the region has one."""
    if lang == "zh" and isinstance(county.get("name_zh"), str) and county["name_zh"]:
        return county["name_zh"]
    return str(county["county"])


def county_panels(
    region: Region,
    values: np.ndarray,
    station_of_village: np.ndarray,
    rural_sites: np.ndarray,
    community: np.ndarray,
    *,
    title: str,
    path: Path,
    dpi: int,
    value_label: str,
    closed_sites: np.ndarray | None = None,
    lang: str = "en",
) -> None:
    """One panel per county (small multiples, each at its own scale): villages coloured by
    `values` on one colour scale, a line from each village to its nearest station
    (`station_of_village`: (n, 2) x, y, NaN where none), stations, closed stations."""
    from matplotlib.collections import LineCollection

    w = map_words(lang)
    counties = region.counties
    n = len(counties)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(A4_LANDSCAPE_IN[0], 3.6 * rows + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    v = region.villages
    xy = region.village_xy
    vals = np.asarray(values, dtype=float)
    finite = np.isfinite(vals)
    norm = Normalize(vmin=0.0, vmax=max(float(np.percentile(vals[finite], 99)) if finite.any() else 1.0, 1.0))
    pop = v["population"].to_numpy(dtype=float)
    size = _marker_size(pop, pop.max() if len(pop) else 1.0) * 0.6
    county_of = v["county"].to_numpy()
    closed = np.zeros(len(v), dtype=bool)
    if closed_sites is not None:
        closed[np.asarray(closed_sites, dtype=np.int64)] = True
    has = np.zeros(len(v), dtype=bool)
    has[rural_sites] = True
    dots = None
    for ax, (_, county) in zip(axes, counties.iterrows(), strict=False):
        mine = county_of == county["county"]
        ax.set_aspect("equal")
        ax.set_axis_off()
        counties[counties["county"] == county["county"]].boundary.plot(ax=ax, color="0.35", linewidth=0.8)
        joined = mine & np.isfinite(station_of_village[:, 0])
        segments = np.stack([xy[joined], station_of_village[joined]], axis=1)
        # matplotlib takes the (n, 2, 2) array; its stubs ask for a sequence of (2, 2) arrays
        lines = LineCollection(segments, colors="0.55", linewidths=0.35, zorder=1)  # type: ignore[arg-type]
        ax.add_collection(lines)
        ok = mine & finite
        dots = ax.scatter(
            xy[ok, 0],
            xy[ok, 1],
            s=size[ok],
            c=vals[ok],
            cmap="YlOrRd",
            norm=norm,
            edgecolors="0.3",
            linewidths=0.2,
            zorder=2,
        )
        _mark(ax, xy[mine & has], "rural", 6)
        _mark(ax, xy[mine & closed], "closed", 12)
        seats = np.flatnonzero((community > 0) & (region.townships["county"].to_numpy() == county["county"]))
        _mark(ax, region.township_xy[seats], "community", 14)
        ax.set_title(
            f"{county_label(county, lang)}: {int(has[mine].sum()):,} / {int(mine.sum()):,}", fontsize=9
        )
    for ax in axes[n:]:
        ax.set_visible(False)
    if dots is not None:
        fig.colorbar(dots, ax=axes[:n].tolist(), shrink=0.5, label=value_label)
    fig.suptitle(title, fontsize=12)
    fig.text(0.01, 0.005, footnote(region, w), fontsize=7, color="0.35", ha="left", va="bottom")
    fig.savefig(path, dpi=dpi)


#: How stations are drawn, on every map and in its legend.
MARKS: dict[str, dict[str, Any]] = {
    "rural": {"marker": "^", "color": "#1f4e9c", "linewidths": 0, "zorder": 3},
    "closed": {"marker": "x", "color": "0.15", "linewidths": 0.9, "zorder": 3},
    "community": {"marker": "s", "color": "#c0392b", "edgecolors": "white", "linewidths": 0.5, "zorder": 4},
}


def _mark(ax, xy: np.ndarray, kind: str, size) -> None:
    """Stations of `kind` (`MARKS`) at the (n, 2) points `xy`, `size` points² each."""
    if len(xy):
        ax.scatter(xy[:, 0], xy[:, 1], s=size, **MARKS[kind])


def _handle(kind: str, label: str) -> Line2D:
    style = MARKS[kind]
    return Line2D([], [], marker=style["marker"], linestyle="", color=style["color"], label=label)


def _marker_size(pop: np.ndarray, largest: float) -> np.ndarray:
    """Marker area in points², growing with the square root of population."""
    return 3.0 + 60.0 * np.sqrt(pop / largest)


def _legend(
    ax, pop: np.ndarray, n_rural: int, n_community: int, n_closed: int, with_roads: bool, region: Region, w
) -> None:
    largest = pop.max() if len(pop) else 1.0
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=np.sqrt(_marker_size(np.array([p]), largest))[0],
            markerfacecolor="white",
            markeredgecolor="0.3",
            label=w["village"].format(n=int(p)),
        )
        for p in sorted({int(np.percentile(pop, q)) for q in (50, 99)} if len(pop) else [])
    ]
    approximate = bool(region.counties["boundary_approximate"].all())
    handles += [
        _handle("rural", w["rural_station"].format(n=n_rural)),
        _handle("community", w["community_station"].format(n=n_community)),
        Line2D(
            [],
            [],
            color="0.35",
            linewidth=0.8,
            label=w["county_outline"] + (w["approximate"] if approximate else ""),
        ),
    ]
    if n_closed:
        handles.insert(-1, _handle("closed", w["closed_station"].format(n=n_closed)))
    if with_roads:
        handles.append(Line2D([], [], color="#2e7d32", linewidth=1.4, label=w["roads"]))
    ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9)


def _scale_bar(ax) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    wanted_km = (x1 - x0) / 1000.0 / 5
    km = max([k for k in SCALE_BAR_KM if k <= wanted_km] or [SCALE_BAR_KM[0]])
    left, bottom = x0 + 0.03 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    height = 0.008 * (y1 - y0)
    for i in range(4):
        ax.add_patch(
            _rect((left + i * km * 250.0, bottom), km * 250.0, height, "black" if i % 2 == 0 else "white")
        )
    ax.text(left, bottom + 2.5 * height, "0", ha="center", va="bottom", fontsize=8)
    ax.text(left + km * 1000.0, bottom + 2.5 * height, f"{km} km", ha="center", va="bottom", fontsize=8)


def _rect(xy: tuple[float, float], width: float, height: float, color: str) -> Rectangle:
    return Rectangle(xy, width, height, facecolor=color, edgecolor="black", linewidth=0.6, zorder=6)


def _north_arrow(ax, label: str, lang: str) -> None:
    ax.annotate(
        label,
        xy=(0.96, 0.96),
        xytext=(0.96, 0.87),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold" if lang == "en" else "normal",
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 11, "headlength": 10},
    )


def footnote(region: Region, w: dict[str, str]) -> str:
    """CRS, and "synthetic" / "approximate" only when the villages / county outlines are."""
    parts = [w["crs"].format(crs=region.crs)]
    if bool(region.villages["synthetic"].all()):
        parts.append(w["synthetic_note"])
    if bool(region.counties["boundary_approximate"].all()):
        parts.append(w["approximate_note"])
    return " ".join([*parts, region.credit]).strip()


def routes_map(
    region: Region,
    routes: tuple[tuple[int, np.ndarray], ...],
    rural_sites: np.ndarray,
    *,
    title: str,
    path: Path,
    dpi: int,
    lang: str = "en",
) -> None:
    """Van routes of one day: each route from its county warehouse through the stops due that
    day and back, as straight legs (a colour per county), over villages and stations."""
    from matplotlib.collections import LineCollection

    w = map_words(lang)
    fig = Figure(figsize=A4_LANDSCAPE_IN, layout="constrained")
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.set_axis_off()
    region.counties.boundary.plot(ax=ax, color="0.35", linewidth=0.8, zorder=1)
    xy = region.village_xy
    ax.scatter(xy[:, 0], xy[:, 1], s=3, color="0.75", linewidths=0, zorder=2)
    _mark(ax, xy[rural_sites], "rural", 6)
    colours = [f"C{c % 10}" for c, _ in routes]
    ax.add_collection(
        LineCollection([r for _, r in routes], colors=colours, linewidths=0.7, alpha=0.8, zorder=4)
    )
    depots = region.counties[["seat_x", "seat_y"]].to_numpy(dtype=float)
    ax.scatter(depots[:, 0], depots[:, 1], marker="*", s=90, color="black", zorder=5)
    handles = [
        Line2D([], [], color="C0", linewidth=1.0, label=w["route"].format(n=len(routes))),
        Line2D([], [], marker="*", linestyle="", color="black", markersize=10, label=w["warehouse"]),
        _handle("rural", w["rural_station"].format(n=len(rural_sites))),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9)
    _scale_bar(ax)
    _north_arrow(ax, w["north"], lang)
    ax.set_title(title, fontsize=13)
    fig.text(0.01, 0.005, footnote(region, w), fontsize=7, color="0.35", ha="left", va="bottom")
    fig.savefig(path, dpi=dpi)
