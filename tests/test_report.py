"""report.html: self-contained, opened in a real headless Chromium with the network blocked, in
English and Chinese; tables.xlsx; `ruralsim report FOLDER`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require

from analysis.cli import BUNDLED, main
from analysis.report import _pct
from geo.errors import RuralsimError

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCENARIO = """
extends: {policy}
name: rep
seed: 3
region: {{preset: small, villages: 50, roads: synthetic}}
horizon: {{start: 2018-01-01, years: 2}}
stations: {{rural: {{build_plan: {{2018: 12, 2019: 20}}}}, community: {{count: 2}}}}
simulation: {{warmup_days: 2, days: 400}}
economics: {{rural_station: {{rent_yuan_per_month: 2500}}, exit: {{months: 2}}}}
subsidies: {{rules: {{rural-station-operation: {{enabled: false}}}}}}
outputs: {{map_dpi: 72, xlsx: true, language: {language}}}
upstream: {{enabled: true}}
"""


def make_run(folder: Path, language: str = "en") -> Path:
    path = folder / f"rep-{language}.yaml"
    path.write_text(SCENARIO.format(policy=BUNDLED / "policies" / "lishui.yaml", language=language))
    out = folder / f"run-{language}"
    assert main(["run", str(path), "--quiet", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def run_en(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("report"))


def open_in_chromium(html: Path, screenshot: Path, charts: tuple[str, ...] = ()) -> dict:
    """Open `html` in headless Chromium with every non-file request blocked; what rendered
    (`drawn`: those of the Bokeh models named in `charts` that have a view on the page)."""
    require(CHROMIUM, "Chromium (Debian chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(None, "playwright (the test extra)")
    errors, blocked = [], []

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/*", route)
        page.goto(html.as_uri(), wait_until="load")
        drawn = """names => names.filter(n => window.Bokeh && Bokeh.documents.length
                      && Bokeh.documents[0].get_model_by_name(n)
                      && Bokeh.index.find_one_by_id(Bokeh.documents[0].get_model_by_name(n).id))"""
        if charts:
            page.wait_for_function(f"names => ({drawn})(names).length === names.length", arg=list(charts))
        seen = page.evaluate(
            """() => ({
              images: Array.from(document.images).map(i => i.complete && i.naturalWidth > 0),
              headline: Object.fromEntries(Array.from(document.querySelectorAll('#headline .card[data-key]'))
                          .map(c => [c.dataset.key, c.querySelector('.value').textContent.trim()])),
              sections: Array.from(document.querySelectorAll('section')).map(s => s.id),
              text: document.body.innerText,
            })"""
        )
        page.screenshot(path=str(screenshot), full_page=True)
        seen["drawn"] = page.evaluate(drawn, list(charts))
        browser.close()
    return {**seen, "errors": errors, "blocked": blocked}


def test_report_is_one_self_contained_file(run_en):
    html = (run_en / "report.html").read_text(encoding="utf-8")
    # nothing fetched from anywhere: every script inline, no link or image off the page (the
    # inlined Bokeh bundle's own text mentions a CDN for MathJax, which the map never loads)
    assert not re.search(r"<script[^>]*\bsrc=", html)
    outside = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", outside)
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) >= 6 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert 'id="chart-lead_times"' in html and 'href="lead_times.png"' in html  # the chart, the file
    for heading in ("Headline figures", "By county", "By year", "Subsidies", "Budget lines", "Assumptions"):
        assert heading in html
    assert "economics.rural_station.reservation_wage_yuan_per_h" in html  # an assumption, listed
    for name in ("map_counties.png", "map_access_time.png", "map_routes.png", "map_2018.png"):
        assert (run_en / name).stat().st_size > 10_000


def test_report_renders_in_chromium_offline(run_en, tmp_path):
    seen = open_in_chromium(
        run_en / "report.html", tmp_path / "report.png", ("map", "lead_available", "lead_hand")
    )
    assert seen["drawn"] == ["map", "lead_available", "lead_hand"]
    assert seen["errors"] == [] and seen["blocked"] == []
    assert seen["images"] and all(seen["images"]), seen["images"]
    assert {"headline", "counties", "years", "couriers", "produce", "subsidies", "maps", "lead-times",
            "assumptions"} <= set(seen["sections"])  # fmt: skip
    m = json.loads((run_en / "metrics.json").read_text())
    last = m["years"][max(m["years"])]
    assert seen["headline"]["coverage"] == _pct(last["total"]["population_covered_share"])
    assert seen["headline"]["hand_p90"] == f"{m['simulation']['total']['order_to_hand_h']['p90_h']:,.1f} h"
    assert seen["headline"]["open_at_end"] == f"{m['stations_survival']['rural_open_at_end']:,}"
    assert (tmp_path / "report.png").stat().st_size > 10_000
    berry = m["simulation"]["upstream"]["by_product"]["bayberry"]
    if berry["offered"]:
        assert f"{berry['offered']:,}" in seen["text"]
    assert f"{m['simulation']['carriers']['all']['parcels_delivered']:,}" in seen["text"]


def test_study_reports_render_in_chromium(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(policy=BUNDLED / "policies" / "lishui.yaml", language="en"))
    for command, vary in (("compare", "stations.rural.placement=population,random"),
                          ("sweep", "stations.rural.build_plan={2018: 10},{2018: 20}")):  # fmt: skip
        out = tmp_path / command
        assert (
            main(
                [
                    command,
                    str(path),
                    "--vary",
                    vary,
                    "--days",
                    "5",
                    "--workers",
                    "1",
                    "--quiet",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        charts = () if command == "compare" else ("frontier_coverage", "frontier_hand", "frontier_cost")
        seen = open_in_chromium(out / "report.html", tmp_path / f"{command}.png", charts)
        assert seen["errors"] == [] and seen["blocked"] == [] and all(seen["images"])
        assert seen["images"] if command == "compare" else seen["drawn"] == list(charts)
        assert "population" in seen["text"] if command == "compare" else "20" in seen["text"]
    capsys.readouterr()


def test_tables_xlsx_for_spreadsheets(run_en):
    sheets = pd.read_excel(run_en / "tables.xlsx", sheet_name=None)
    assert list(sheets) == ["per county", "per year", "per station", "ledger"]
    ledger = pd.read_csv(run_en / "ledger.csv")
    assert len(sheets["ledger"]) == len(ledger) and sheets["ledger"]["amount_yuan"].sum() == pytest.approx(
        ledger["amount_yuan"].sum()
    )
    assert sheets["per year"]["year"].astype(str).tolist() == ["2018", "2019"]
    assert set(sheets["per station"]["year"]) == {2018, 2019}


def test_report_command_writes_it_again(run_en, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(run_en, copy)
    (copy / "report.html").unlink()
    assert main(["report", str(copy)]) == 0
    assert capsys.readouterr().out.strip() == str(copy / "report.html")
    assert (copy / "report.html").read_text(encoding="utf-8").count("data:image/png") >= 5
    assert main(["report", str(tmp_path)]) == 2
    assert "not a folder of ruralsim" in capsys.readouterr().err


def test_chinese_report_and_maps_have_real_glyphs(tmp_path):
    from analysis.i18n import cjk_font

    try:
        font = cjk_font()
    except RuralsimError:
        font = None
    require(font, "a Chinese font (Debian fonts-wqy-microhei or fonts-noto-cjk)")
    # Missing glyphs would warn, and warnings are errors in this suite: the maps draw real glyphs.
    out = make_run(tmp_path, "zh")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html and "规划报告" in html and "小县" in html and "主要指标" in html
    seen = open_in_chromium(out / "report.html", tmp_path / "report-zh.png")
    assert seen["errors"] == [] and all(seen["images"]) and "距服务站" in seen["text"]


def test_routes_of_a_day_visit_each_due_stop_once_from_the_warehouse(tmp_path):
    from sim.engine.model import Model
    from sim.network.build import build_network
    from sim.run import routes_of_day
    from sim.scenario.load import load_scenario

    path = tmp_path / "r.yaml"
    path.write_text(SCENARIO.format(policy=BUNDLED / "policies" / "lishui.yaml", language="en"))
    loaded = load_scenario(path)
    model = Model(build_network(loaded), loaded.scenario)
    net = model.network_on(model.stations(), 0)
    plans = {model.date(0).isoformat(): net.plans}
    for day in (0, 1, 2):
        routes = routes_of_day(model, plans, day)
        plan = net.plans[0]
        due = int(plan.due(day)[1:].sum())
        assert sum(len(xy) - 2 for _, xy in routes) == due and due > 0
        visited = np.vstack([xy[1:-1] for _, xy in routes])
        assert len(np.unique(visited, axis=0)) == due  # each due stop once
        for _, xy in routes:
            assert (xy[0] == model.points.depot_xy[0]).all() and (xy[-1] == xy[0]).all()
