"""`report.html`: one self-contained page per run, comparison or sweep folder.

Everything is inside the file (images as data URIs, SVG inline, styles inline, no script
fetched from anywhere), so it opens offline and can be mailed. It is rendered from the files
already in the folder (`metrics.json`, `compare.json`, `sweep.json`, the PNGs), so
`ruralsim report FOLDER` can write it again for an older folder. Language: the scenario's
`outputs.language` (en or zh).
"""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jinja2
import yaml
from PIL import Image

from analysis.assumptions import load_assumptions
from analysis.i18n import county_names, map_words, text
from analysis.runfolder import write_file
from geo.errors import InputError

KINDS = {
    "metrics.json": "run",
    "compare.json": "compare",
    "sweep.json": "sweep",
    "sensitivity.json": "sensitivity",
    "front.json": "optimise",
}


def write_report(folder: Path, kind: str | None = None, data: dict[str, Any] | None = None) -> Path:
    """Render `folder/report.html` (in one rename) and return its path. `kind` (run, compare or
    sweep) and `data` (what its JSON holds) may be given before that JSON is written;
    otherwise both come from the folder's files."""
    if kind is None:
        kind = next((k for name, k in KINDS.items() if (folder / name).is_file()), None)
        if kind is None:
            kinds = ", ".join(dict.fromkeys(KINDS.values()))
            raise InputError([f"{folder}: not a folder of ruralsim ({kinds}): no {' or '.join(KINDS)}"])
    if data is None:
        name = next(n for n, k in KINDS.items() if k == kind)
        data = json.loads((folder / name).read_text(encoding="utf-8"))
    contexts = {
        "run": _run_context,
        "compare": _compare_context,
        "sweep": _sweep_context,
        "sensitivity": _sensitivity_context,
        "optimise": _optimise_context,
    }
    context = contexts[kind](folder, data)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analysis", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters |= {"num": _num, "pct": _pct, "yuan": _yuan, "hours": _hours}
    lang = context["lang"]
    html = env.get_template("report.html.j2").render(
        kind=kind, t=text(lang), generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=version("ruralsim"), **context,
    )  # fmt: skip
    path = folder / "report.html"
    write_file(path, html)
    return path


def _scenario(folder: Path) -> dict[str, Any]:
    path = folder / "scenario.resolved.yaml"
    if path.is_file():
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {}


#: The widest image in the page (pixels); the file in the folder keeps its own resolution.
SCREEN_WIDTH_PX = 1200


def _image(path: Path) -> str | None:
    """A data URI of a PNG at screen resolution (at most `SCREEN_WIDTH_PX` wide, 256 colours,
    compressed), or None when absent. The full-resolution file stays beside the report."""
    if not path.is_file():
        return None
    with Image.open(path) as original:
        im = original.convert("RGBA")
    if im.width > SCREEN_WIDTH_PX:
        height = round(im.height * SCREEN_WIDTH_PX / im.width)
        im = im.resize((SCREEN_WIDTH_PX, height), Image.Resampling.LANCZOS)
    flat = Image.new("RGB", im.size, "white")
    flat.paste(im, mask=im.getchannel("A"))
    out = io.BytesIO()
    palette = flat.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    palette.save(out, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _run_context(folder: Path, m: dict[str, Any]) -> dict[str, Any]:
    from analysis.charts import lead_times
    from analysis.interactive import run_map

    scenario = _scenario(folder)
    lang = (scenario.get("outputs") or {}).get("language", "en")
    names = county_names(lang, m.get("region", {}).get("preset"))
    years = m["years"]
    last = years[max(years)]
    sim, subsidies, survival = m.get("simulation"), m.get("subsidies"), m.get("stations_survival")
    headline = {
        "coverage": last["total"]["population_covered_share"],
        "coverage_km": m["coverage_km"],
        "stations": m["stations"],
        "hand_p50": sim["total"]["order_to_hand_h"]["p50_h"] if sim else None,
        "hand_p90": sim["total"]["order_to_hand_h"]["p90_h"] if sim else None,
        "subsidy_total": subsidies["total_yuan"] if subsidies else None,
        "subsidy_per_resident": subsidies["per_covered_resident_yuan"] if subsidies else None,
        "years_over_budget": sorted(
            {y for b in subsidies["budgets"].values() for y in b["years_over_budget"]}
        ) if subsidies else [],
        "open_at_end": survival["rural_open_at_end"] if survival else None,
        "built": survival["rural_built"] if survival else None,
    }  # fmt: skip
    counties = [
        {"name": names.get(c, c), **fig, **({"sim": sim["by_county"][c]} if sim else {})}
        for c, fig in last["by_county"].items()
    ]
    year_maps = sorted(p.name for p in folder.glob("map_[0-9][0-9][0-9][0-9].png"))
    interactive = run_map(folder, text(lang), names)
    bokeh = _bokeh(
        {"map": interactive.get("plot"), "lead_times": lead_times(folder / "lead_times.csv", map_words(lang))}
    )
    maps = ("map.png", "map_counties.png", "map_access_time.png", "map_lead_time.png", "map_routes.png")
    return {
        "lang": lang,
        "title": m["scenario"],
        "description": scenario.get("description", ""),
        "m": m,
        "headline": headline,
        "counties": counties,
        "years": years,
        "sim": sim,
        "mode": (scenario.get("couriers") or {}).get("mode", "joint"),
        "names": names,
        "subsidies": subsidies,
        "survival": survival,
        "images": _images(folder, (*maps, "lead_times.png"), bokeh),
        "year_maps": [(p[4:8], p, _image(folder / p)) for p in year_maps],
        "interactive": interactive,
        "bokeh": bokeh,
        "assumptions": _assumptions(scenario),
        "synthetic": bool(m.get("region", {}).get("villages_synthetic")),
        "approximate": bool(m.get("region", {}).get("county_boundaries_approximate")),
    }


def _assumptions(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    """The bundled assumptions file's entries, with this scenario's value of each."""
    rows = []
    for a in load_assumptions()[0].assumptions:
        node: Any = scenario
        for part in a.key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if a.choices is not None:
            spread = " | ".join(map(str, a.choices))
        else:
            mode = "" if a.mode is None else f", mode {a.mode:g}"
            spread = f"{a.low:g} – {a.high:g} ({a.distribution}{mode})"
        rows.append(
            {
                "field": a.key,
                "what": f"{a.label} ({a.unit})" if a.unit else a.label,
                "value": node if not isinstance(node, dict) else json.dumps(node),
                "range": spread,
                "reason": a.source,
            }
        )
    return rows


def _study_scenario(folder: Path) -> dict[str, Any]:
    """The resolved scenario of a study's first task (for its language)."""
    first = next(iter(sorted((folder / "tasks").glob("*/scenario.resolved.yaml"))), None)
    return yaml.safe_load(first.read_text(encoding="utf-8")) if first else {}


#: The PNG each interactive chart stands for: the page shows the chart and links the file.
CHART_FILES = {
    "lead_times": "lead_times.png",
    "frontier": "frontier.png",
    "front": "front.png",
    "tornado": "tornado.png",
}


def _images(folder: Path, names: tuple[str, ...], bokeh: dict[str, Any] | None) -> dict[str, str | None]:
    """`_image` of each of the folder's PNGs `names`; None, not read, for one that an
    interactive chart of the page stands for."""
    charted = {CHART_FILES.get(name) for name in (bokeh or {}).get("divs", {})}
    return {name: None if name in charted else _image(folder / name) for name in names}


def _bokeh(models: dict[str, Any]) -> dict[str, Any] | None:
    """The page's interactive charts (`analysis.charts.embed`), None without any."""
    from analysis.charts import embed

    models = {name: m for name, m in models.items() if m is not None}
    return embed(models) if models else None


def _study_context(kind: str, images: tuple[str, ...], charts=None):
    """A compare or sweep page; `charts(report, words)` gives its interactive charts by name."""

    def context(folder: Path, report: dict[str, Any]) -> dict[str, Any]:
        lang = (_study_scenario(folder).get("outputs") or {}).get("language", "en")
        bokeh = _bokeh(charts(report, text(lang)) if charts else {})
        return {
            "lang": lang,
            "title": f"{report['scenario']}: {kind}",
            "description": ", ".join(f"{k} = {', '.join(map(str, v))}" for k, v in report["vary"].items()),
            "report": report,
            "key": next(iter(report["vary"])),
            "images": _images(folder, images, bokeh),
            "bokeh": bokeh,
        }

    return context


def _sweep_charts(report: dict[str, Any], t: dict[str, str]) -> dict[str, Any]:
    from analysis.charts import frontier

    return {"frontier": frontier(report, t)}


_compare_context = _study_context("compare", ("compare.png", "maps.png"))
_sweep_context = _study_context("sweep", ("frontier.png",), _sweep_charts)


def _optimise_context(folder: Path, report: dict[str, Any]) -> dict[str, Any]:
    from analysis.charts import front, read_front_maps

    lang = (_study_scenario(folder).get("outputs") or {}).get("language", "en")
    bokeh = _bokeh({"front": front(report, read_front_maps(folder), text(lang))})
    return {
        "lang": lang,
        "title": f"{report['scenario']}: optimise ({report['sampler']})",
        "description": ", ".join(report["decisions"]),
        "report": report,
        "images": _images(folder, ("front.png",), bokeh),
        "bokeh": bokeh,
    }


def _sensitivity_context(folder: Path, report: dict[str, Any]) -> dict[str, Any]:
    from analysis.charts import tornado

    lang = (_study_scenario(folder).get("outputs") or {}).get("language", "en")
    bokeh = _bokeh({"tornado": tornado(report, text(lang))})
    return {
        "lang": lang,
        "title": f"{report['scenario']}: sensitivity ({report['method']})",
        "description": f"{len(report['assumptions'])} assumptions from {report['assumptions_file']}",
        "report": report,
        "images": _images(folder, ("tornado.png", "indices.png"), bokeh),
        "bokeh": bokeh,
    }


# --------------------------------------------------------------------------------- filters


def _num(x: Any, digits: int = 1) -> str:
    if x is None:
        return "–"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer()):
        return f"{int(x):,}"
    return f"{x:,.{digits}f}"


def _pct(x: Any, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def _yuan(x: Any) -> str:
    if x is None:
        return "–"
    if abs(x) >= 1e6:
        return f"¥{x / 1e6:,.2f} M"
    return f"¥{x:,.0f}" if abs(x) >= 100 else f"¥{x:,.2f}"


def _hours(x: Any) -> str:
    return "–" if x is None else f"{x:,.1f} h"
