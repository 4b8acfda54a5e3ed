"""The interactive map of report.html (issue 24): Bokeh inlined, opened in a real headless
Chromium with every request off the page blocked; layers toggle (from their checkboxes and from
the legend, the checkbox following), a hover shows a village's figures, the county select
filters; the villages typhoons cut off are a layer of their own; the page prints to PDF; the
static images are screen-sized."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import require
from PIL import Image
from test_report import CHROMIUM, SCENARIO

from analysis.cli import BUNDLED, main
from analysis.i18n import text
from analysis.report import SCREEN_WIDTH_PX

VILLAGE_AT = """([i, layer]) => {
  const d = Bokeh.documents[0], view = Bokeh.index.find_one_by_id(d.get_model_by_name("map").id);
  const data = d.get_model_by_name(layer || "villages").data_source.data;
  const box = view.canvas_view.el.getBoundingClientRect();
  return [box.left + view.frame.x_scale.compute(data.x[i]), box.top + view.frame.y_scale.compute(data.y[i])];
}"""
# the page position of the middle of a legend entry (the legend is HTML in the plot's shadow DOM)
LEGEND_ENTRY_AT = """(label) => {
  const plot = Bokeh.documents[0].get_model_by_name("map");
  const legend = Bokeh.index.find_one_by_id(plot.center.find(m => m.type === "Legend").id);
  const entry = legend.entries.find(e => e.label === label);
  const box = entry.el.getBoundingClientRect();
  return [box.left + box.width / 2, box.top + box.height / 2];
}"""
VISIBLE = "n => Bokeh.documents[0].get_model_by_name(n).visible"
CUTOFFS = """() => {
  const data = Bokeh.documents[0].get_model_by_name("cutoffs").data_source.data;
  return {name: Array.from(data.name), days: Array.from(data.days)};
}"""
T = text("en")
TYPHOONS = [  # typhoons all year in every county: several in 20 days, some villages cut off
    "faults.typhoon.rate_per_year=20",
    "faults.typhoon.season=[01-01, 12-31]",
    "faults.typhoon.min_circuity=1",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("interactive")
    path = folder / "s.yaml"
    path.write_text(SCENARIO.format(policy=BUNDLED / "policies" / "lishui.yaml", language="en"))
    out = folder / "run"
    args = ["--quiet", "--days", "20", "--set", "outputs.map_dpi=150", "--out", str(out)]
    assert main(["run", str(path), *args]) == 0
    return out


@pytest.fixture(scope="module")
def typhoon_run(tmp_path_factory) -> Path:
    """The run of `run` in Lishui's nine counties (80 villages) with typhoons; no static maps."""
    folder = tmp_path_factory.mktemp("typhoons")
    path = folder / "s.yaml"
    path.write_text(SCENARIO.format(policy=BUNDLED / "policies" / "lishui.yaml", language="en"))
    out = folder / "run"
    sets = [
        "region.preset=lishui",
        "region.villages=80",
        "outputs.map=false",
        "outputs.xlsx=false",
        *TYPHOONS,
    ]
    args = ["--quiet", "--days", "20", "--out", str(out), *(x for s in sets for x in ("--set", s))]
    assert main(["run", str(path), *args]) == 0
    return out


def browser(p):
    require(CHROMIUM, "Chromium (Debian chromium)")
    return p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


def open_page(p, html: Path, errors: list, blocked: list, model: str = "map"):
    """`html` in Chromium, requests off the page blocked (listed in `blocked`), console errors
    listed in `errors`; returns once the Bokeh model named `model` has its view."""

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page = browser(p).new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", route)
    page.goto(html.as_uri(), wait_until="load")
    page.wait_for_function(
        "n => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents[0].get_model_by_name(n)"
        " && Bokeh.index.find_one_by_id(Bokeh.documents[0].get_model_by_name(n).id)",
        arg=model,
    )
    return page


def playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(None, "playwright (the test extra)")
    return sync_playwright()


def test_the_map_explores_offline(run):
    villages = pd.read_csv(run / "villages.csv")
    i = int(villages["population"].idxmax())  # the largest dot: easy to hover
    name = villages["name"][i]
    errors: list = []
    blocked: list = []
    with playwright() as p:
        page = open_page(p, run / "report.html", errors, blocked)
        visible = VISIBLE
        # a layer toggles from its checkbox
        assert page.evaluate(visible, "stations") is True
        page.click("#layer-stations")
        assert page.evaluate(visible, "stations") is False
        page.click("#layer-stations")
        assert page.evaluate(visible, "stations") is True
        assert page.evaluate(visible, "catchments") is False
        page.click("#layer-catchments")
        assert page.evaluate(visible, "catchments") is True
        page.click("#layer-catchments")
        # hovering a village shows its tooltip
        for layer in ("stations", "community"):
            page.click(f"#layer-{layer}")  # nothing drawn over the village
        page.locator("#map-view").scroll_into_view_if_needed()
        x, y = page.evaluate(VILLAGE_AT, [i, "villages"])
        page.mouse.move(x - 40, y - 40)
        page.mouse.move(x, y, steps=4)
        tip = page.get_by_text(name, exact=True)
        tip.wait_for(timeout=5000)
        tooltip = page.locator(".bk-Tooltip").first.evaluate("e => (e.shadowRoot || e).textContent")
        assert name in tooltip and "residents" in tooltip and f"{villages['population'][i]:,}" in tooltip
        # the county select filters the villages and zooms
        county = villages["county"][i]
        page.select_option("#county-filter", label=county)
        shown = page.evaluate("() => Bokeh.documents[0].get_model_by_name('villages').view.filter.booleans")
        assert sum(shown) == (villages["county"] == county).sum()
        assert page.evaluate("() => Bokeh.documents[0].get_model_by_name('cutoffs')") is None  # no faults
        page.close()
    assert errors == [] and blocked == []
    assert "days_cut_off" not in villages


def test_days_cut_off_per_village_sum_to_the_county_figures(typhoon_run):
    villages = pd.read_csv(typhoon_run / "villages.csv")
    faults = json.loads((typhoon_run / "metrics.json").read_text())["simulation"]["faults"]
    by_county = villages.groupby("county")["days_cut_off"].sum()
    assert by_county.to_dict() == {c: f["village_days_cut_off"] for c, f in faults["by_county"].items()}
    assert villages["days_cut_off"].sum() == faults["village_days_cut_off"]
    hit = villages["days_cut_off"] > 0
    assert 0 < hit.sum() < len(villages) and villages.loc[hit, "county"].nunique() > 1


def test_the_cut_off_villages_are_a_layer_that_the_county_select_filters(typhoon_run):
    villages = pd.read_csv(typhoon_run / "villages.csv", dtype={"county": str})
    hit = villages[villages["days_cut_off"] > 0]
    errors: list = []
    blocked: list = []
    with playwright() as p:
        page = open_page(p, typhoon_run / "report.html", errors, blocked)
        data = page.evaluate(CUTOFFS)
        assert sorted(zip(data["name"], data["days"], strict=True)) == sorted(
            zip(hit["name"].astype(str), hit["days_cut_off"], strict=True)
        )
        assert page.evaluate(VISIBLE, "cutoffs") is True
        renderers = "() => Bokeh.documents[0].get_model_by_name('map').renderers.map(r => r.name)"
        names = page.evaluate(renderers)
        assert names.count("cutoffs") == 1 and names.index("cutoffs") > names.index("villages")
        # the county select filters it
        county = hit["county"].value_counts().index[0]
        page.select_option("#county-filter", label=county)
        shown = page.evaluate("() => Bokeh.documents[0].get_model_by_name('cutoffs').view.filter.booleans")
        assert sum(shown) == (hit["county"] == county).sum() < len(hit)
        # hovering one shows its days cut off
        for layer in ("villages", "stations", "community", "closed"):
            if page.locator(f"#layer-{layer}").count():
                page.uncheck(f"#layer-{layer}")
        i = max((k for k in range(len(shown)) if shown[k]), key=lambda k: data["days"][k])
        page.locator("#map-view").scroll_into_view_if_needed()
        x, y = page.evaluate(VILLAGE_AT, [i, "cutoffs"])
        page.mouse.move(x - 40, y - 40)
        page.mouse.move(x, y, steps=4)
        page.get_by_text(data["name"][i], exact=True).wait_for(timeout=5000)
        tooltip = page.locator(".bk-Tooltip").first.evaluate("e => (e.shadowRoot || e).textContent")
        days = rf"{re.escape(T['cut_off_days'])}:?\s*{data['days'][i]}(?!\d)"
        assert data["name"][i] in tooltip and re.search(days, tooltip), tooltip
        page.close()
    assert errors == [] and blocked == []


def test_a_legend_click_hides_its_layer_and_unticks_its_checkbox(typhoon_run):
    errors: list = []
    blocked: list = []
    with playwright() as p:
        page = open_page(p, typhoon_run / "report.html", errors, blocked)
        page.locator("#map-view").scroll_into_view_if_needed()
        for name in ("cutoffs", "villages"):
            assert page.evaluate(VISIBLE, name) is True and page.is_checked(f"#layer-{name}")
            page.mouse.click(*page.evaluate(LEGEND_ENTRY_AT, T[f"layer_{name}"]))
            assert page.evaluate(VISIBLE, name) is False and not page.is_checked(f"#layer-{name}")
            page.mouse.click(*page.evaluate(LEGEND_ENTRY_AT, T[f"layer_{name}"]))
            assert page.evaluate(VISIBLE, name) is True and page.is_checked(f"#layer-{name}")
        # a hidden layer's legend entry shows it again, and ticks its box
        assert not page.is_checked("#layer-catchments")
        page.mouse.click(*page.evaluate(LEGEND_ENTRY_AT, T["layer_catchments"]))
        assert page.evaluate(VISIBLE, "catchments") is True and page.is_checked("#layer-catchments")
        page.close()
    assert errors == [] and blocked == []


def test_the_page_prints_to_pdf(run, tmp_path):
    with playwright() as p:
        page = open_page(p, run / "report.html", [], [])
        page.emulate_media(media="print")
        hidden = page.evaluate("() => getComputedStyle(document.getElementById('map-controls')).display")
        assert hidden == "none"
        pdf = page.pdf(format="A4", print_background=True)
        page.close()
    (tmp_path / "report.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pdf.startswith(b"%PDF") and pages >= 2, pages


def test_static_images_are_screen_sized_and_the_files_full_size(run):
    html = (run / "report.html").read_text(encoding="utf-8")
    uris = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(uris) >= 6
    for uri in uris:
        with Image.open(io.BytesIO(base64.b64decode(uri))) as im:
            assert im.width <= SCREEN_WIDTH_PX and im.mode == "P"
    with Image.open(run / "map.png") as full:
        assert full.width > SCREEN_WIDTH_PX  # A4 at 150 dpi: 1754 px
    assert 'href="map.png"' in html and (run / "routes.csv").is_file()
    assert len(html) < 2_000_000
    # no script fetched from anywhere: every script is inline
    assert not re.search(r"<script[^>]*\bsrc=", html)


def test_report_command_rebuilds_the_map(run, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "report.html").unlink()
    assert main(["report", str(copy)]) == 0
    capsys.readouterr()
    html = (copy / "report.html").read_text(encoding="utf-8")
    assert 'id="explore"' in html and '"name":"villages"' in html.replace(" ", "")
    (copy / "villages.csv").unlink()  # without villages.csv, no map, and the report still renders
    assert main(["report", str(copy)]) == 0
    capsys.readouterr()
    assert 'id="explore"' not in (copy / "report.html").read_text(encoding="utf-8")
