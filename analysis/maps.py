"""Planning maps: villages by access distance, stations, county outlines; readable on A4."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.patheffects import withStroke

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
    value_label: str = "road distance to nearest station, km",
) -> None:
    """Draw the map to `path` (PNG or SVG, by suffix).

    Villages are sized by population and coloured by `values` (one per village, e.g. road km to
    the nearest station; NaN or inf draws grey), described by `value_label`; `rural_sites` are
    village indices with a station, `community` counts community stations per township seat;
    `roads` (a road layer with `road_class`) is drawn underneath when given.
    """
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
            county["county"],
            (p.x, p.y),
            ha="center",
            fontsize=10,
            fontweight="bold",
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
    ax.scatter(
        v["x"].to_numpy()[rural_sites],
        v["y"].to_numpy()[rural_sites],
        marker="^",
        s=7,
        color="#1f4e9c",
        linewidths=0,
        zorder=3,
    )
    seats = np.flatnonzero(community > 0)
    t = region.townships
    ax.scatter(
        t["x"].to_numpy()[seats],
        t["y"].to_numpy()[seats],
        marker="s",
        s=18 + 6 * np.sqrt(community[seats]),
        color="#c0392b",
        edgecolors="white",
        linewidths=0.5,
        zorder=4,
    )

    bar = fig.colorbar(dots, ax=ax, shrink=0.6, pad=0.01, extend="max")
    bar.set_label(value_label)
    _legend(ax, pop, len(rural_sites), int(community.sum()), roads is not None)
    _scale_bar(ax)
    _north_arrow(ax)
    ax.set_title(f"{title}\n{subtitle}", fontsize=13)
    fig.text(0.01, 0.005, _footnote(region), fontsize=7, color="0.35", ha="left", va="bottom")
    fig.savefig(path, dpi=dpi)


def _marker_size(pop: np.ndarray, largest: float) -> np.ndarray:
    """Marker area in points², growing with the square root of population."""
    return 3.0 + 60.0 * np.sqrt(pop / largest)


def _legend(ax, pop: np.ndarray, n_rural: int, n_community: int, with_roads: bool) -> None:
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
            label=f"village, {int(p):,} residents",
        )
        for p in sorted({int(np.percentile(pop, q)) for q in (50, 99)} if len(pop) else [])
    ]
    handles += [
        Line2D([], [], marker="^", linestyle="", color="#1f4e9c", label=f"rural station ({n_rural:,})"),
        Line2D(
            [],
            [],
            marker="s",
            linestyle="",
            color="#c0392b",
            label=f"community station at township seat ({n_community:,})",
        ),
        Line2D([], [], color="0.35", linewidth=0.8, label="county outline (approximate)"),
    ]
    if with_roads:
        handles.append(Line2D([], [], color="#2e7d32", linewidth=1.4, label="expressway, other roads grey"))
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


def _north_arrow(ax) -> None:
    ax.annotate(
        "N",
        xy=(0.96, 0.96),
        xytext=(0.96, 0.87),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 11, "headlength": 10},
    )


def _footnote(region: Region) -> str:
    note = f"Projected CRS {region.crs}. Village locations synthetic; county outlines approximate."
    return f"{note} {region.credit}".strip()
