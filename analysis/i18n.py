"""Words of reports and maps in English and Chinese (`outputs.language`), and the CJK font that
Chinese needs on maps (never boxes for missing glyphs)."""

from __future__ import annotations

from functools import cache

from geo.errors import RuralsimError
from geo.presets import PRESETS

#: Font families that hold Simplified Chinese, in order of preference.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)

_EN = {
    "report": "planning report",
    "headline": "Headline figures",
    "coverage": "residents within {km:g} km of a station",
    "stations": "stations in the final plan year",
    "rural": "rural",
    "rural_stations": "rural stations",
    "community": "community",
    "hand_p50": "order to parcel in hand, median",
    "hand_p90": "order to parcel in hand, p90",
    "subsidy_total": "subsidies paid over the horizon",
    "subsidy_per_resident": "subsidy per covered resident",
    "budget": "budget check",
    "budget_ok": "within every budget line",
    "budget_over": "over budget in {years}",
    "open_at_end": "rural stations open at the end",
    "of_built": "of {n:,} built",
    "by_county": "By county (final plan year)",
    "county": "county",
    "villages": "villages",
    "with_station": "with a station",
    "population": "village residents",
    "covered": "covered",
    "mean_km": "mean km to a station",
    "parcels": "parcels ordered",
    "by_year": "By year",
    "year": "year",
    "subsidies": "Subsidies",
    "rule": "rule",
    "payer": "payer",
    "amount": "amount",
    "budgets": "Budget lines",
    "line": "budget line",
    "spent": "spent",
    "over": "over budget",
    "shortfall": "shortfall",
    "thresholds": "Reward thresholds",
    "met": "met",
    "missed": "missed",
    "never_binds": "never binds: met by every recipient the rule could pay, every year",
    "survival": "Stations open",
    "closed": "closed",
    "lead_times": "Lead times",
    "maps": "Maps",
    "map_final": "the final plan year",
    "map_year": "plan of {year}",
    "map_counties": "by county",
    "map_access": "access time to the nearest station",
    "map_lead": "order to parcel in hand, by village",
    "map_routes": "van routes of one day (straight legs between stops)",
    "assumptions": "Assumptions",
    "assumptions_intro": "These figures are assumptions, not sourced figures "
    "(the scenario files give the sources of the others).",
    "field": "field",
    "range": "plausible range (analysis/data/assumptions.yaml)",
    "reason": "source or reasoning",
    "value": "value",
    "what": "what",
    "synthetic": "Village locations are synthetic.",
    "approximate": "County outlines are approximate.",
    "ranking": "Ranking",
    "alternative": "alternative",
    "mean": "mean",
    "ci": "95% CI",
    "diff": "difference from the baseline (paired)",
    "tied": "cannot be told apart from the best",
    "best": "best",
    "better_higher": "higher is better",
    "better_lower": "lower is better",
    "frontier": "Coverage-cost frontier",
    "knee": "knee",
    "sensitivity": "Which assumptions drive the answer",
    "sensitivity_intro": (
        "Every assumption varied over its range at once (a global design), each row run on the "
        "same seeds; the tornado moves one assumption at a time from its low to its high end."
    ),
    "parameter": "assumption",
    "tornado_range": "low end – high end",
    "base_value": "at the scenario's values",
    "swing": "swing",
    "front": "Plans no other plan beats on every objective",
    "front_intro": (
        "{n} plans evaluated; {front} on the front ({seeds} seed(s) each, up to {max} near the front)."
    ),
    "within": "within",
    "plan_file": "plan file",
    "seeds": "seeds",
    "plan": "plan",
    "order_to_hand_h": "order to parcel in hand (h)",
    "million_yuan": "M yuan",
    "plans_evaluated": "plans evaluated",
    "over_budget": "over a budget",
    "front_legend": "front (95% CI over seeds; click for its map)",
    "plan_map_title": "{file}: {decided} (villages coloured by km to the nearest station)",
    "no_plan_map": "no map kept for this plan (run before maps were kept)",
    "at_low_end": "assumption at its low end",
    "at_high_end": "assumption at its high end",
    "uncertain": "Under uncertainty",
    "uncertain_intro": (
        "{draws} draws (Latin hypercube) of {assumptions} assumptions, the same for every "
        "alternative, each on its own seed:"
    ),
    "first_share": "best in (share of draws)",
    "regret_mean": "regret, mean",
    "regret_max": "regret, worst",
    "leader_loses": "{leader} is not the best in {n} draws, mostly when",
    "coverage_density": "{coverage}% of those draws, {density}% of the draws there",
    "generated": "generated",
    "no_simulation": "no simulation in this run",
    "rank": "rank",
    "marginal": "subsidy per newly covered resident",
    "couriers": "Couriers",
    "mode_joint": "joint distribution: one pooled fleet per county carries every carrier's parcels",
    "mode_separate": "separate: each carrier runs its own fleet",
    "mode_township": (
        "township (before joint distribution): each carrier runs its own fleet; the postal carrier "
        "alone serves the village stations, the other brands deliver to the township express points"
    ),
    "carrier": "carrier",
    "delivered": "parcels delivered",
    "van_km": "van km",
    "cost_per_parcel": "van cost a parcel (yuan)",
    "produce": "Produce to the cities",
    "product": "product",
    "offered": "offered",
    "fresh": "reached the city fresh",
    "spoiled": "spoiled",
    "to_city_p50": "offer to city p50 (h)",
    "to_city_p90": "offer to city p90 (h)",
    "backhaul_line": "Backhaul: {parcels} parcels in the vans' room (load factor {load}); "
    "4PL pickups: {trips} trips, {km} km, {cost} yuan.",
    "faults": "Faults",
    "typhoons_line": "{n} typhoons, the longest {days} days to clear; "
    "{held} parcel-departures held at warehouses.",
    "cut_off_days": "village-days cut off",
    "held": "parcels held",
    "away_days": "station-days operator away",
    "outage_days": "warehouse outage days",
    "map_interactive": "Interactive map",
    "map_help": "Drag to pan, scroll to zoom, hover a village or station for its figures; "
    "the static maps below print.",
    "layers": "Layers",
    "all_counties": "all counties",
    "layer_villages": "villages (size: residents; colour: km to a station)",
    "layer_stations": "rural stations (colour: build year)",
    "layer_closed": "closed stations",
    "layer_community": "community stations",
    "layer_catchments": "catchments (village to station)",
    "layer_routes": "van routes of one day",
    "layer_cutoffs": "typhoon cut-offs (village-days)",
    "village": "village",
    "residents": "residents",
    "tip_km": "km to a station",
    "tip_hand": "order to hand (mean)",
    "station": "station",
    "build_year": "built",
    "parcels_day": "parcels a day",
    "profit": "operator profit",
    "subsidies_received": "subsidies received",
    "closed_on": "closed on",
    "stations_here": "stations here",
    "full_resolution": "full resolution",
}
_ZH = {
    "report": "规划报告",
    "headline": "主要指标",
    "coverage": "距服务站 {km:g} 公里以内的居民",
    "stations": "规划末年的服务站",
    "rural": "农村",
    "rural_stations": "农村服务站",
    "community": "社区",
    "hand_p50": "下单到取件（中位数）",
    "hand_p90": "下单到取件（90%分位）",
    "subsidy_total": "规划期补贴总额",
    "subsidy_per_resident": "每位覆盖居民的补贴",
    "budget": "预算核对",
    "budget_ok": "各项预算均未超支",
    "budget_over": "超支年份：{years}",
    "open_at_end": "期末仍在运营的农村服务站",
    "of_built": "共建成 {n:,} 个",
    "by_county": "分县（规划末年）",
    "county": "县（市、区）",
    "villages": "行政村",
    "with_station": "有服务站",
    "population": "农村居民",
    "covered": "覆盖",
    "mean_km": "到服务站平均距离（公里）",
    "parcels": "包裹数",
    "by_year": "分年度",
    "year": "年份",
    "subsidies": "补贴",
    "rule": "补贴项目",
    "payer": "出资方",
    "amount": "金额",
    "budgets": "预算",
    "line": "预算科目",
    "spent": "支出",
    "over": "超支",
    "shortfall": "缺口",
    "thresholds": "奖励门槛",
    "met": "达标",
    "missed": "未达标",
    "never_binds": "从未起约束作用:每年所有可获补助者均达标",
    "survival": "服务站存续",
    "closed": "关闭",
    "lead_times": "配送时效",
    "maps": "地图",
    "map_final": "规划末年",
    "map_year": "{year} 年规划",
    "map_counties": "分县",
    "map_access": "到最近服务站的时间",
    "map_lead": "各村下单到取件时间",
    "map_routes": "某日配送车路线（停靠点之间为示意直线）",
    "assumptions": "假设",
    "assumptions_intro": "以下数值为假设，并非有出处的数据（其他数值的出处见情景文件）。",
    "field": "字段",
    "range": "合理范围（analysis/data/assumptions.yaml）",
    "reason": "出处或理由",
    "value": "取值",
    "what": "含义",
    "synthetic": "村庄位置为合成数据。",
    "approximate": "县界为近似边界。",
    "ranking": "排名",
    "alternative": "方案",
    "mean": "均值",
    "ci": "95% 置信区间",
    "diff": "与基准方案之差（配对）",
    "tied": "与最优方案无显著差异",
    "best": "最优",
    "better_higher": "越高越好",
    "better_lower": "越低越好",
    "frontier": "覆盖率—补贴成本曲线",
    "knee": "拐点",
    "sensitivity": "哪些假设左右结论",
    "sensitivity_intro": (
        "所有假设在各自范围内同时变化（全局设计），每组取值用相同的随机种子模拟；"
        "龙卷风图每次只把一个假设从下限调到上限。"
    ),
    "parameter": "假设",
    "tornado_range": "下限 – 上限",
    "base_value": "情景取值下",
    "swing": "变化幅度",
    "front": "没有其他方案能在所有目标上胜出的方案（帕累托前沿）",
    "front_intro": (
        "共评估 {n} 个方案，{front} 个位于前沿（每个方案 {seeds} 个随机种子，前沿附近最多 {max} 个）。"
    ),
    "within": "约束",
    "plan_file": "方案文件",
    "seeds": "随机种子数",
    "plan": "方案",
    "order_to_hand_h": "下单到取件（小时）",
    "million_yuan": "百万元",
    "plans_evaluated": "已评估方案",
    "over_budget": "超出预算",
    "front_legend": "前沿（各随机种子的 95% 置信区间；点击查看地图）",
    "plan_map_title": "{file}：{decided}（村庄颜色：到最近服务站的公里数）",
    "no_plan_map": "该方案没有保存地图（在保存地图之前运行）",
    "at_low_end": "假设取下限",
    "at_high_end": "假设取上限",
    "uncertain": "不确定条件下",
    "uncertain_intro": (
        "假设抽样 {draws} 次（拉丁超立方），各方案共用同一组抽样，每次用不同随机种子，"
        "共 {assumptions} 个假设："
    ),
    "first_share": "最优的抽样比例",
    "regret_mean": "遗憾值（平均）",
    "regret_max": "遗憾值（最差）",
    "leader_loses": "{leader} 在 {n} 次抽样中不是最优，主要在以下条件下：",
    "coverage_density": "占这些抽样的 {coverage}%，该区域内 {density}% 的抽样",
    "generated": "生成时间",
    "no_simulation": "本次运行未做配送模拟",
    "rank": "名次",
    "marginal": "每新增覆盖居民的补贴",
    "couriers": "快递配送",
    "mode_joint": "共同配送：每县一个共用车队配送各快递品牌的包裹",
    "mode_separate": "各自配送：各快递品牌自有车队",
    "mode_township": "共同配送之前：各快递品牌自有车队，邮政独自送到村级服务站，其他品牌送到乡镇快递点",
    "carrier": "快递品牌",
    "delivered": "送达包裹",
    "van_km": "车辆公里",
    "cost_per_parcel": "每件车辆成本（元）",
    "produce": "农产品进城",
    "product": "品种",
    "offered": "上行件数",
    "fresh": "新鲜到达城市",
    "spoiled": "损耗",
    "to_city_p50": "发货到进城 p50（小时）",
    "to_city_p90": "发货到进城 p90（小时）",
    "backhaul_line": "回程捎带：{parcels} 件（装载率 {load}）；"
    "第四方物流专车：{trips} 趟，{km} 公里，{cost} 元。",
    "faults": "突发事件",
    "typhoons_line": "台风 {n} 次，最长 {days} 天恢复；{held} 件次包裹滞留仓库。",
    "cut_off_days": "断路村·天",
    "held": "滞留包裹",
    "away_days": "站长缺勤站·天",
    "outage_days": "仓库停运天数",
    "map_interactive": "交互地图",
    "map_help": "拖动平移，滚轮缩放，鼠标停在村或服务站上查看数据；打印时使用下方的静态地图。",
    "layers": "图层",
    "all_counties": "全部县",
    "layer_villages": "村（大小：人口；颜色：距服务站公里）",
    "layer_stations": "村级服务站（颜色：建站年份）",
    "layer_closed": "已关闭服务站",
    "layer_community": "社区服务站",
    "layer_catchments": "服务范围（村到服务站）",
    "layer_routes": "某一天的配送路线",
    "layer_cutoffs": "台风断路（村·天）",
    "village": "村",
    "residents": "人口",
    "tip_km": "距服务站（公里）",
    "tip_hand": "下单到取件（平均）",
    "station": "服务站",
    "build_year": "建站年份",
    "parcels_day": "日均包裹",
    "profit": "站长利润",
    "subsidies_received": "所获补贴",
    "closed_on": "关闭日期",
    "stations_here": "站点数",
    "full_resolution": "原图",
}
LANGUAGES = {"en": _EN, "zh": _ZH}


def text(lang: str) -> dict[str, str]:
    """The words of `lang` (`en` or `zh`)."""
    return LANGUAGES[lang]


def county_names(lang: str, preset: str | None) -> dict[str, str]:
    """County name -> its name in `lang` (Chinese from the preset; as given otherwise)."""
    if lang != "zh" or preset not in PRESETS:
        return {}
    return {c.county_id: c.name_zh for c in PRESETS[preset]().counties}


@cache
def cjk_font() -> str:
    """The first installed font family of `CJK_FONTS`; `RuralsimError` when none is, since maps
    in Chinese would draw boxes for every character."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    # A font installed since matplotlib built its cache: rebuild the shared manager in place
    # (modules hold it by reference), which the type checker calls unsound in general.
    font_manager.fontManager.__init__()  # type: ignore[misc]
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    raise RuralsimError(
        "outputs.language zh needs a Chinese font for the maps and none is installed; install one, "
        "e.g. `apt-get install fonts-wqy-microhei` (or fonts-noto-cjk), or use outputs.language en"
    )


#: Words on maps and charts.
MAP_WORDS = {
    "en": {
        "village": "village, {n:,} residents",
        "rural_station": "rural station ({n:,})",
        "community_station": "community station at township seat ({n:,})",
        "closed_station": "station closed ({n:,})",
        "county_outline": "county outline",
        "approximate": " (approximate)",
        "roads": "expressway, other roads grey",
        "crs": "Projected CRS {crs}.",
        "synthetic_note": "Village locations synthetic.",
        "approximate_note": "County outlines approximate.",
        "north": "N",
        "distance": "road distance to nearest station, km",
        "distance_estimated": "road distance to nearest station, km (estimated)",
        "minutes": "travel time to the nearest station, minutes",
        "hand": "mean hours from order to parcel in hand",
        "title": "{name} — {year}: {rural:,} rural + {community:,} community stations",
        "subtitle": "{share:.1%} of village residents within {km:g} km of a station; "
        "{with_station:,} of {villages:,} villages have one",
        "lead_title": "{name} — {year}: order to parcel in hand",
        "lead_subtitle": "mean {mean:.1f} h, p90 {p90:.1f} h, {n:,} parcels picked up",
        "lead_none": "no parcel picked up",
        "access_title": "{name} — {year}: travel time to the nearest station",
        "access_subtitle": "resident-weighted mean {mean:.1f} min, p95 {p95:.1f} min",
        "access_none": "no station: every village collects at its township express point",
        "counties_title": "{name} — {year}: each county, villages joined to their nearest station",
        "available_panel": "order → available at the point",
        "hand_panel": "order → parcel in the villager's hand",
        "hours_since": "hours since order",
        "share_of_parcels": "share of parcels",
        "lead_times": "{name}: lead times by delivery point",
        "village_station": "village station",
        "township_point": "township express point",
        "community_locker": "community locker",
        "route": "van route, straight legs ({n:,} today)",
        "warehouse": "county warehouse",
        "routes_title": "{name} — {date}: van routes of the day",
    },
    "zh": {
        "village": "行政村，{n:,} 人",
        "rural_station": "农村服务站（{n:,}）",
        "community_station": "社区服务站（乡镇驻地，{n:,}）",
        "closed_station": "已关闭的服务站（{n:,}）",
        "county_outline": "县界",
        "approximate": "（近似）",
        "roads": "高速公路（灰色为其他道路）",
        "crs": "投影坐标系 {crs}。",
        "synthetic_note": "村庄位置为合成数据。",
        "approximate_note": "县界为近似边界。",
        "north": "北",
        "distance": "到最近服务站的道路距离（公里）",
        "distance_estimated": "到最近服务站的道路距离（公里，估算）",
        "minutes": "到最近服务站的出行时间（分钟）",
        "hand": "下单到取件平均小时数",
        "title": "{name} — {year} 年：农村服务站 {rural:,} 个，社区服务站 {community:,} 个",
        "subtitle": "{share:.1%} 的农村居民距服务站 {km:g} 公里以内；"
        "{villages:,} 个行政村中 {with_station:,} 个有服务站",
        "lead_title": "{name} — {year} 年：下单到取件",
        "lead_subtitle": "平均 {mean:.1f} 小时，90%分位 {p90:.1f} 小时，取件 {n:,} 件",
        "lead_none": "无人取件",
        "access_title": "{name} — {year} 年：到最近服务站的时间",
        "access_subtitle": "居民加权平均 {mean:.1f} 分钟，95%分位 {p95:.1f} 分钟",
        "access_none": "无服务站：各村到乡镇快递点取件",
        "counties_title": "{name} — {year} 年：分县，各村连至最近的服务站",
        "available_panel": "下单到可取件",
        "hand_panel": "下单到村民取件",
        "hours_since": "下单后小时数",
        "share_of_parcels": "包裹比例",
        "lead_times": "{name}：各类取件点的配送时效",
        "village_station": "村级服务站",
        "township_point": "乡镇快递点",
        "community_locker": "社区快递柜",
        "route": "配送车路线，示意直线（当日 {n:,} 条）",
        "warehouse": "县级仓储配送中心",
        "routes_title": "{name} — {date}：当日配送车路线",
    },
}


def map_words(lang: str) -> dict[str, str]:
    return MAP_WORDS[lang]


def fonts(lang: str):
    """A matplotlib rc context drawing `lang`'s glyphs (a CJK font first for zh)."""
    import contextlib

    import matplotlib

    if lang != "zh":
        return contextlib.nullcontext()
    return matplotlib.rc_context({"font.family": [cjk_font(), "DejaVu Sans"]})
