"""The interactive charts of report pages (issue 24), opened in a real headless Chromium with every
request off the page blocked: a sweep's frontier shows a row on hover, a click on a front plan
draws that plan's map, the tornado orders assumptions by swing; hand-made studies, so the
figures are known."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_interactive import open_page, playwright

from analysis.optimise import front_maps
from analysis.report import write_report
from analysis.run import lead_time_table
from sim.core.ids import POINT_TYPES

#: Screen position of point `i` of the renderer named `r` in the figure named `f`.
POINT_AT = """([f, r, x, y, i]) => {
  const d = Bokeh.documents[0], view = Bokeh.index.find_one_by_id(d.get_model_by_name(f).id);
  const data = d.get_model_by_name(r).data_source.data;
  const box = view.canvas_view.el.getBoundingClientRect();
  return [box.left + view.frame.x_scale.compute(data[x][i]),
          box.top + view.frame.y_scale.compute(data[y][i])];
}"""


def _tooltip(page, x: float, y: float) -> str:
    page.mouse.move(x - 30, y - 30)
    page.mouse.move(x, y, steps=4)
    tip = page.locator(".bk-Tooltip").filter(visible=True).first
    tip.wait_for(timeout=5000)
    return tip.evaluate("e => (e.shadowRoot || e).textContent")


def _click(page, x: float, y: float) -> None:
    """Click at (x, y) as a person would: the mouse comes from off the chart and rests before
    the click (Bokeh tells a tap from a double tap and a drag by time and movement)."""
    page.mouse.move(1, 1)
    page.wait_for_timeout(300)
    page.mouse.move(x, y, steps=4)
    page.wait_for_timeout(200)
    page.mouse.click(x, y)


def _front_report() -> dict:
    """Two objectives (coverage up, public cost down), five plans: three on the front, one over
    a budget."""
    rows = [  # plan, target, coverage, cost, feasible, on front
        (0, 10, 0.50, 20_000.0, True, True),
        (1, 20, 0.70, 40_000.0, True, True),
        (2, 30, 0.85, 60_000.0, True, True),
        (3, 20, 0.60, 45_000.0, True, False),
        (4, 40, 0.92, 80_000.0, False, False),
    ]
    plans = [
        {"plan": n, "stations.rural.target": k, "seeds": 2, "feasible": f, "on_front": o,
         "coverage_share": c, "coverage_share_ci_low": c - 0.02, "coverage_share_ci_high": c + 0.02,
         "public_cost_yuan": y, "public_cost_yuan_ci_low": y, "public_cost_yuan_ci_high": y}
        for n, k, c, y, f, o in rows
    ]  # fmt: skip
    front = [{**plans[n], "file": f"plans/plan-{rank:02d}.yaml"} for rank, n in enumerate((2, 1, 0), start=1)]
    return {
        "scenario": "hand",
        "sampler": "tpe",
        "decisions": {"stations.rural.target": [10, 40, 10]},
        "objectives": {
            "coverage_share": {"label": "residents covered (share)", "better": "higher"},
            "public_cost_yuan": {"label": "public cost (yuan)", "better": "lower"},
        },
        "budgets": ["public_cost_yuan<=70000"],
        "evaluations": 5,
        "replications": 2,
        "max_replications": 2,
        "front": front,
        "plans": plans,
    }


def test_a_click_on_a_front_plan_draws_its_map(tmp_path):
    report = _front_report()
    # five villages on a line 0..4 km; plan-01 has stations at villages 0 and 4, plan-02 at 2,
    # plan-03 has no map kept (a task run before maps were kept)
    village = {"x_km": [0.0, 1.0, 2.0, 3.0, 4.0], "y_km": [0.0] * 5, "population": [100, 200, 300, 400, 500]}
    results = {
        "plans/plan-01.yaml": {"map": {**village, "sites": [0, 4], "distance_km": [0, 1, 2, 1, 0]}},
        "plans/plan-02.yaml": {"map": {**village, "sites": [2], "distance_km": [2, 1, 0, 1, 2]}},
        "plans/plan-03.yaml": {},
    }
    maps = front_maps(results)
    assert maps is not None and list(maps["plans"]) == ["plans/plan-01.yaml", "plans/plan-02.yaml"]
    (tmp_path / "front_maps.json").write_text(json.dumps(maps))
    html = write_report(tmp_path, "optimise", report)
    errors: list = []
    blocked: list = []
    with playwright() as p:
        page = open_page(p, html, errors, blocked, "plan_map")
        figure, dots = "front_coverage_share_public_cost_yuan", "front_dots_coverage_share_public_cost_yuan"
        title = "() => Bokeh.documents[0].get_model_by_name('plan_map').title.text"
        titled = "p => Bokeh.documents[0].get_model_by_name('plan_map').title.text.startsWith(p)"
        shown = """() => {
          const d = Bokeh.documents[0], r = d.get_model_by_name("plan_stations");
          return Array.from(r.data_source.data.x).filter((x, i) => r.view.filter.booleans[i]);
        }"""
        km = "() => Array.from(Bokeh.documents[0].get_model_by_name('plan_villages').data_source.data.km)"
        # the front is drawn by coverage: plan-03 (0.50), plan-02 (0.70), plan-01 (0.85); the
        # page opens on the first with a map
        assert page.evaluate(title).startswith("plans/plan-02.yaml: stations.rural.target=20")
        page.locator("#chart-front").scroll_into_view_if_needed()
        x, y = page.evaluate(POINT_AT, [figure, dots, "coverage_share", "public_cost_yuan", 2])
        _click(page, x, y)
        page.wait_for_function(titled, arg="plans/plan-01.yaml")
        assert page.evaluate(shown) == [0.0, 4.0] and page.evaluate(km) == [0, 1, 2, 1, 0]
        x, y = page.evaluate(POINT_AT, [figure, dots, "coverage_share", "public_cost_yuan", 1])
        _click(page, x, y)
        page.wait_for_function(titled, arg="plans/plan-02.yaml")
        assert page.evaluate(shown) == [2.0] and page.evaluate(km) == [2, 1, 0, 1, 2]
        x, y = page.evaluate(POINT_AT, [figure, dots, "coverage_share", "public_cost_yuan", 0])
        _click(page, x, y)  # no map kept: said so, the last map stays
        page.wait_for_function(titled, arg="plans/plan-03.yaml")
        assert "no map kept" in page.evaluate(title) and page.evaluate(shown) == [2.0]
        # every plan evaluated is on the chart, the one over a budget among them
        n = "() => Bokeh.documents[0].get_model_by_name('%s').data_source.data.plan.length"
        assert page.evaluate(n % dots) == 3
        page.close()
    assert errors == [] and blocked == []


def test_a_front_without_maps_is_still_a_chart(tmp_path):
    html = write_report(tmp_path, "optimise", _front_report())
    text = html.read_text(encoding="utf-8")
    assert '"name":"front_dots_coverage_share_public_cost_yuan"' in text.replace(" ", "")
    assert '"plan_map"' not in text.replace(" ", "")


def test_front_maps_leave_out_plans_on_other_villages():
    a = {"x_km": [0.0, 1.0], "y_km": [0.0, 0.0], "population": [1, 1], "sites": [0], "distance_km": [0, 1]}
    b = {**a, "x_km": [0.0, 2.0]}
    maps = front_maps({"p1": {"map": a}, "p2": {"map": b}, "p3": {"map": a}})
    assert maps is not None and list(maps["plans"]) == ["p1", "p3"]
    assert front_maps({"p1": {}, "p2": {"metrics": {}}}) is None


def _sweep_report() -> dict:
    values = [10, 20, 30, 40]
    cover = [0.573, 0.734, 0.855, 0.925]
    rows = [
        {"stations.rural.target": v, "coverage_share": c, "coverage_share_ci_low": c - 0.01,
         "coverage_share_ci_high": c + 0.01, "order_to_hand_p50_h": 70.0 - v / 2,
         "order_to_hand_p50_h_ci_low": None, "order_to_hand_p50_h_ci_high": None,
         "order_to_hand_p90_h": 220.0 - 3 * v, "order_to_hand_p90_h_ci_low": None,
         "order_to_hand_p90_h_ci_high": None, "subsidy_total_yuan": 2000.0 * v,
         "subsidy_per_covered_resident_yuan": 1.0, "stations_open_last_year": v,
         "marginal_subsidy_per_new_resident_yuan": None, "knee": v == 30}
        for v, c in zip(values, cover, strict=True)
    ]  # fmt: skip
    return {"scenario": "hand", "vary": {"stations.rural.target": values}, "replications": 2,
            "confidence": 0.95, "rows": rows,
            "knee": {"stations.rural.target": 30, "coverage_share": 0.855,
                     "subsidy_total_yuan": 60_000.0}}  # fmt: skip


def test_the_sweep_frontier_shows_a_row_on_hover(tmp_path):
    html = write_report(tmp_path, "sweep", _sweep_report())
    errors: list = []
    blocked: list = []
    with playwright() as p:
        page = open_page(p, html, errors, blocked, "frontier_coverage")
        page.locator("#chart-frontier").scroll_into_view_if_needed()
        line = "() => Bokeh.documents[0].get_model_by_name('frontier_coverage').renderers[1].name"
        page.evaluate(line)  # the figure has its renderers
        at = """() => {
          const d = Bokeh.documents[0], f = d.get_model_by_name("frontier_cost");
          const view = Bokeh.index.find_one_by_id(f.id), r = f.renderers[1], data = r.data_source.data;
          const box = view.canvas_view.el.getBoundingClientRect();
          return [box.left + view.frame.x_scale.compute(data.subsidy_m[2]),
                  box.top + view.frame.y_scale.compute(data.coverage_share[2])];
        }"""
        x, y = page.evaluate(at)
        tip = _tooltip(page, x, y)
        assert "85.5%" in tip and "30" in tip and "¥0.06 M" in tip, tip
        page.close()
    assert errors == [] and blocked == []


def _sensitivity_report() -> dict:
    params = [  # parameter, low, high: the swing orders them
        ("demand.parcels_per_household_day", 158.8, 165.5),
        ("couriers.cost_per_km", 162.0, 162.3),
        ("trunk.delay_h", 150.0, 180.0),
    ]
    return {
        "scenario": "hand",
        "method": "morris",
        "assumptions": [p for p, _, _ in params],
        "assumptions_file": "a.yaml",
        "design_rows": 12,
        "replications": 1,
        "outputs": {
            "order_to_hand_p90_h": {
                "label": "order to parcel in hand, p90 (h)",
                "base": 162.1,
                "parameters": [
                    {
                        "parameter": p,
                        "label": p.split(".")[-1],
                        "mu_star": 1.0,
                        "mu_star_conf": 0.1,
                        "sigma": 0.1,
                        "tornado_low": lo,
                        "tornado_high": hi,
                        "swing": abs(hi - lo),
                    }
                    for p, lo, hi in params
                ],
            }
        },
    }


def test_the_tornado_puts_the_widest_swing_on_top(tmp_path):
    html = write_report(tmp_path, "sensitivity", _sensitivity_report())
    errors: list = []
    blocked: list = []
    with playwright() as p:
        page = open_page(p, html, errors, blocked, "tornado_order_to_hand_p90_h")
        factors = page.evaluate("n => Bokeh.documents[0].get_model_by_name(n).y_range.factors",
                                "tornado_order_to_hand_p90_h")  # fmt: skip
        # bottom to top: the widest swing last, drawn on top
        assert factors == ["couriers.cost_per_km", "demand.parcels_per_household_day", "trunk.delay_h"]
        page.locator("#chart-tornado").scroll_into_view_if_needed()
        at = """() => {
          const d = Bokeh.documents[0], f = d.get_model_by_name("tornado_order_to_hand_p90_h");
          const view = Bokeh.index.find_one_by_id(f.id), box = view.canvas_view.el.getBoundingClientRect();
          return [box.left + view.frame.x_scale.compute(170.0),
                  box.top + view.frame.y_scale.compute("trunk.delay_h")];
        }"""
        x, y = page.evaluate(at)
        tip = _tooltip(page, x, y)
        assert "trunk.delay_h" in tip and "180" in tip and "150" in tip, tip
        page.close()
    assert errors == [] and blocked == []


def test_lead_time_table_holds_every_curve():
    hours = np.array([1.0, 2.0, 3.0])
    cdfs = {
        f"{kind}/{p}": (hours, np.array([0.1, 0.5, 1.0]) * (k + 1) / 3)
        for k, p in enumerate(POINT_TYPES)
        for kind in ("available", "hand")
    }
    table = lead_time_table(cdfs)
    assert list(table["hours"]) == [1.0, 2.0, 3.0]
    assert table[f"hand_{POINT_TYPES[2]}"].iloc[-1] == pytest.approx(1.0)
    assert table.shape == (3, 1 + 2 * len(POINT_TYPES))


def test_the_lead_time_chart_leaves_out_only_rows_that_draw_nothing(tmp_path):
    from analysis.charts import lead_times
    from analysis.i18n import map_words

    hours = np.arange(1.0, 11.0)
    rising = np.array([0.0, 0.0, 0.0, 0.2, 0.2, 0.2, 0.2, 0.9, 1.0, 1.0])
    table = lead_time_table({f"{k}/{p}": (hours, rising) for p in POINT_TYPES for k in ("available", "hand")})
    table.to_csv(tmp_path / "lead_times.csv", index=False)
    chart = lead_times(tmp_path / "lead_times.csv", map_words("en"))
    data = chart.children[0].renderers[0].data_source.data
    # kept: the ends, and each row next to a change; 2 (between two zeros) and 5-6 (flat) are not
    assert data["hours"].tolist() == [1.0, 3.0, 4.0, 7.0, 8.0, 9.0, 10.0]
    assert np.interp(hours, data["hours"], data[f"hand_{POINT_TYPES[0]}"]) == pytest.approx(rising)
    assert lead_times(tmp_path / "none.csv", map_words("en")) is None


def test_a_front_with_no_plan_within_the_budgets_is_still_a_page(tmp_path):
    report = _front_report()
    report |= {"front": [], "plans": [{**p, "feasible": False, "on_front": False} for p in report["plans"]]}
    text = write_report(tmp_path, "optimise", report).read_text(encoding="utf-8")
    assert '"name":"front_dots_coverage_share_public_cost_yuan"' in text.replace(" ", "")
