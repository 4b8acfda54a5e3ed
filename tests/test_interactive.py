"""The interactive map of report.html (issue 24): Bokeh inlined, opened in a real headless
Chromium with every request off the page blocked; layers toggle, a hover shows a village's
figures, the county select filters; the page prints to PDF; the static images are screen-sized."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import require
from PIL import Image
from test_report import CHROMIUM, SCENARIO

from analysis.cli import BUNDLED, main
from analysis.report import SCREEN_WIDTH_PX

VILLAGE_AT = """(i) => {
  const d = Bokeh.documents[0], view = Bokeh.index.find_one_by_id(d.get_model_by_name("map").id);
  const data = d.get_model_by_name("villages").data_source.data;
  const box = view.canvas_view.el.getBoundingClientRect();
  return [box.left + view.frame.x_scale.compute(data.x[i]), box.top + view.frame.y_scale.compute(data.y[i])];
}"""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("interactive")
    path = folder / "s.yaml"
    path.write_text(SCENARIO.format(policy=BUNDLED / "policies" / "lishui.yaml", language="en"))
    out = folder / "run"
    args = ["--quiet", "--days", "20", "--set", "outputs.map_dpi=150", "--out", str(out)]
    assert main(["run", str(path), *args]) == 0
    return out


def browser(p):
    require(CHROMIUM, "Chromium (Debian chromium)")
    return p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


def open_page(p, html: Path, errors: list, blocked: list):
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
        "() => window.Bokeh && Bokeh.documents.length > 0"
        " && Bokeh.index.find_one_by_id(Bokeh.documents[0].get_model_by_name('map').id)"
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
        visible = "n => Bokeh.documents[0].get_model_by_name(n).visible"
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
        x, y = page.evaluate(VILLAGE_AT, i)
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
