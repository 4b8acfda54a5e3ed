import os
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import InputError
from sim.network.build import build_region, check_region
from sim.scenario.load import load_scenario
from sim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
BASE = """\
name: test
region: small
"""


def problems(path, overrides=(), with_region=False) -> list[str]:
    with pytest.raises(InputError) as err:
        loaded = load_scenario(path, overrides)
        if with_region:
            check_region(loaded, build_region(loaded))
    return list(err.value.problems)


# ---------------------------------------------------------------------------------- good files


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_scenarios_are_valid(path):
    loaded = load_scenario(path)
    check_region(loaded, build_region(loaded))


def test_minimal_scenario_gets_documented_defaults(write):
    s = load_scenario(write("x.yaml", BASE)).scenario
    assert s.name == "test" and s.seed == 0 and s.description == ""
    assert s.horizon.start == date(2018, 1, 1) and s.horizon.end == date(2019, 1, 1)
    assert s.region.preset == "small" and s.region.seed == 2018 and s.region.circuity == {}
    assert s.stations.rural.targets(2018) == {2018: 0}
    assert s.stations.rural.placement == "population" and s.stations.rural.coverage_km == 3.0
    assert s.stations.community.count == 0
    assert s.outputs.map and s.outputs.villages_csv


def test_horizon_in_days_and_years():
    assert Scenario.model_validate(
        {"name": "a", "region": {"preset": "small"}, "horizon": {"start": "2016-03-01", "days": 10}}
    ).horizon.end == date(2016, 3, 11)
    h = Scenario.model_validate(
        {"name": "a", "region": {"preset": "small"}, "horizon": {"start": "2016-02-29", "years": 2}}
    ).horizon
    assert h.end == date(2018, 2, 28) and h.last_year == 2018


def test_extends_several_levels_with_overrides_in_order(write):
    write(
        "base.yaml",
        """
        name: base
        region: {preset: small, villages: 120}
        stations: {rural: {target: 10, coverage_km: 2.5}}
    """,
    )
    write(
        "sub/mid.yaml",
        """
        extends: ../base.yaml
        name: mid
        stations: {rural: {target: 20}}
    """,
    )
    top = write(
        "sub/top.yaml",
        """
        extends: mid.yaml
        name: top
        stations: {community: {count: 3}}
    """,
    )
    s = load_scenario(top, ["stations.rural.target=30", "region.villages=100"]).scenario
    assert s.name == "top"
    assert s.region.villages == 100
    assert s.stations.rural.target == 30 and s.stations.rural.coverage_km == 2.5
    assert s.stations.community.count == 3


def test_override_values_are_parsed_as_yaml(write):
    path = write("x.yaml", BASE)
    s = load_scenario(
        path,
        ["stations.rural.build_plan={2018: 5}", "outputs.map=false", "region=small", "description=two words"],
    ).scenario
    assert s.stations.rural.build_plan == {2018: 5}
    assert s.outputs.map is False and s.description == "two words"


def test_resolved_yaml_loads_back_to_the_same_scenario(write, tmp_path):
    s = load_scenario(ROOT / "scenarios" / "lishui-2016-2018.yaml").scenario
    again = write("resolved.yaml", s.resolved_yaml())
    assert load_scenario(again).scenario == s


# ---------------------------------------------------------------------------------- bad files

BAD = [
    (
        "negative target",
        "stations: {rural: {target: -5}}",
        ["{f}: stations.rural.target: must be >= 0 (got -5)"],
    ),
    (
        "misspelt field",
        "stations: {rural: {taget: 5}}",
        ["{f}: stations.rural.taget: unknown field (did you mean 'target'?)"],
    ),
    ("unknown section", "weather: {typhoon: true}", ["{f}: weather: unknown field"]),
    (
        "target not a number",
        "stations: {rural: {target: many}}",
        ["{f}: stations.rural.target: must be an integer (got 'many')"],
    ),
    (
        "unknown strategy",
        "stations: {rural: {placement: best}}",
        [
            "{f}: stations.rural.placement: must be one of 'population', 'random', 'quota', 'shops', "
            "'mclp', 'pmedian', 'pcenter', 'lscp', 'viable' (got 'best')"
        ],
    ),
    (
        "zero coverage radius",
        "stations: {rural: {coverage_km: 0}}",
        ["{f}: stations.rural.coverage_km: must be > 0 (got 0)"],
    ),
    (
        "impossible date",
        "horizon: {start: 2018-13-01}",
        ["{f}: horizon.start: must be a date (YYYY-MM-DD) (got '2018-13-01')"],
    ),
    (
        "year instead of date",
        "horizon: {start: 2018}",
        ["{f}: horizon.start: must be a date (YYYY-MM-DD) (got 2018)"],
    ),
    (
        "years and days",
        "horizon: {years: 1, days: 30}",
        ["{f}: horizon: give years or days, not both (e.g. --set horizon.years=null --set horizon.days=30)"],
    ),
    ("zero years", "horizon: {years: 0}", ["{f}: horizon.years: must be >= 1 (got 0)"]),
    (
        "target and plan",
        "stations: {rural: {target: 5, build_plan: {2018: 5}}}",
        ["{f}: stations.rural: give target or build_plan, not both"],
    ),
    (
        "shrinking plan",
        "horizon: {start: 2016-01-01, years: 3}\n"
        "stations: {rural: {build_plan: {2016: 10, 2017: 9, 2018: 12}}}",
        [
            "{f}: stations.rural.build_plan.2017: must not fall below 10 of 2016 "
            "(stations are kept once built) (got 9)"
        ],
    ),
    (
        "plan year outside horizon",
        "stations: {rural: {build_plan: {2030: 5}}}",
        ["{f}: stations.rural.build_plan.2030: year outside the horizon 2018-2018 (got 2030)"],
    ),
    (
        "plan year not a number",
        "stations: {rural: {build_plan: {next: 5}}}",
        ["{f}: stations.rural.build_plan.next: key must be an integer (got 'next')"],
    ),
    (
        "empty plan",
        "stations: {rural: {build_plan: {}}}",
        ["{f}: stations.rural.build_plan: must list at least one year"],
    ),
    (
        "unknown preset",
        "region: {preset: paris}",
        ["{f}: region.preset: must be one of 'lishui', 'small' (got 'paris')"],
    ),
    (
        "circuity below one",
        "region: {preset: small, circuity: {Smallcounty: 0.5}}",
        ["{f}: region.circuity.Smallcounty: must be >= 1 (got 0.5)"],
    ),
    ("not a boolean", "outputs: {map: maybe}", ["{f}: outputs.map: must be true or false (got 'maybe')"]),
    ("section not a mapping", "stations: 12", ["{f}: stations: must be a mapping (got 12)"]),
    ("negative seed", "seed: -1", ["{f}: seed: must be >= 0 (got -1)"]),
]


@pytest.mark.parametrize(("case", "extra", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_field_gives_one_exact_line(write, case, extra, expected):
    text = "name: test\n" if extra.startswith("region:") else BASE
    path = write("x.yaml", text + extra + "\n")
    assert problems(path) == [e.format(f=path) for e in expected]


def test_bad_name_and_missing_region(write):
    path = write("x.yaml", "name: my plan\n")
    assert problems(path) == [
        f"{path}: name: must start with a letter or digit and hold only letters, digits, '.', '_', '-' "
        "(64 at most) (got 'my plan')",
        f"{path}: region: required field is missing",
    ]


def test_three_mistakes_give_three_lines(write):
    path = write("x.yaml", BASE + "seed: -3\nstations: {rural: {target: -1, placement: best}}\n")
    assert problems(path) == [
        f"{path}: seed: must be >= 0 (got -3)",
        f"{path}: stations.rural.target: must be >= 0 (got -1)",
        f"{path}: stations.rural.placement: must be one of 'population', 'random', 'quota', 'shops', "
        "'mclp', 'pmedian', 'pcenter', 'lscp', 'viable' (got 'best')",
    ]


def test_yaml_syntax_error_names_the_line(write):
    path = write("x.yaml", "name: test\nregion: small\nstations:\n  rural: {target: 5\n")
    [line] = problems(path)
    assert line.startswith(f"{path}:5: YAML syntax error: ")


def test_duplicate_key_is_an_error_not_a_silent_overwrite(write):
    path = write("x.yaml", "name: test\nregion: small\nseed: 1\nseed: 2\n")
    assert problems(path) == [f"{path}:4: YAML syntax error: duplicate key 'seed'"]


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    assert problems(path) == [f"{path}: file not found"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "the file is empty"), ("- a\n- b\n", "must hold a mapping of fields (got list)")],
)
def test_file_that_is_not_a_mapping(write, text, expected):
    path = write("x.yaml", text)
    assert problems(path) == [f"{path}: {expected}"]


def test_extends_missing_parent(write, tmp_path):
    path = write("x.yaml", "extends: base.yaml\n" + BASE)
    assert problems(path) == [f"{path}: extends: file not found: {tmp_path / 'base.yaml'}"]


def test_extends_cycle_is_reported(write, tmp_path):
    a = write("a.yaml", "extends: b.yaml\n" + BASE)
    b = write("b.yaml", "extends: a.yaml\n" + BASE)
    assert problems(a) == [f"{b}: extends: cycle {a} -> {b} -> {a}"]


def test_error_names_the_file_that_set_the_field(write):
    base = write("base.yaml", BASE + "stations: {rural: {target: -2, coverage_km: 1}}\n")
    child = write("child.yaml", "extends: base.yaml\nstations: {rural: {coverage_km: -1}}\n")
    assert problems(child) == [
        f"{base}: stations.rural.target: must be >= 0 (got -2)",
        f"{child}: stations.rural.coverage_km: must be > 0 (got -1)",
    ]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("stations.rural.target=-5", "--set: stations.rural.target: must be >= 0 (got -5)"),
        (
            "stations.rural.target",
            "--set stations.rural.target: expected KEY=VALUE with a dotted KEY, "
            "e.g. stations.rural.target=1200",
        ),
        (
            "stations..target=3",
            "--set stations..target=3: expected KEY=VALUE with a dotted KEY, e.g. stations.rural.target=1200",
        ),
        ("name.first=x", "--set: name: is not a mapping, cannot set name.first"),
        ("stations.rural.colour=red", "--set: stations.rural.colour: unknown field"),
        ("seed=[1", "--set seed=[1: value is not valid YAML: expected ',' or ']', but got '<stream end>'"),
    ],
)
def test_bad_override(write, override, expected):
    assert problems(write("x.yaml", BASE), [override]) == [expected]


def test_targets_are_checked_against_the_region(write):
    path = write("x.yaml", BASE + "stations: {rural: {target: 151}}\n")
    assert problems(path, with_region=True) == [
        f"{path}: stations.rural.target: must be <= 150, the number of villages in region 'small' (got 151)"
    ]
    path = write("y.yaml", BASE)
    assert problems(
        path, ["stations.rural.build_plan={2018: 400}", "stations.rural.target=null"], with_region=True
    ) == [
        "--set: stations.rural.build_plan.2018: must be <= 150, the number of villages in region "
        "'small' (got 400)"
    ]


def test_circuity_of_an_unknown_county(write):
    path = write("x.yaml", "name: test\nregion: {preset: small, circuity: {Atlantis: 2}}\n")
    assert problems(path, with_region=True) == [
        f"{path}: region.circuity.Atlantis: unknown county; known: Smallcounty"
    ]


def test_resolved_yaml_is_plain_yaml():
    s = Scenario.model_validate({"name": "a", "region": {"preset": "small"}})
    data = yaml.safe_load(s.resolved_yaml())
    assert data["horizon"]["start"] == "2018-01-01" and data["region"]["preset"] == "small"


# ------------------------------------------------------------------------------------ fuzzing

_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(
        [
            "2018-01-01",
            "2018-13-40",
            "lishui",
            "small",
            "population",
            "mclp",
            "fast",
            "zh",
            "build",
            "city",
            "1:2:3",
        ]
    ),
)


def _paths(model, prefix=()):
    """Every field path of the scenario schema (sub-models followed, containers as leaves)."""
    from pydantic import BaseModel

    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            yield from _paths(sub, (*prefix, name))
        yield (*prefix, name)


FIELD_PATHS = sorted(set(_paths(Scenario)))


@settings(
    max_examples=int(os.environ.get("RURALSIM_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.tuples(st.sampled_from(FIELD_PATHS), _LEAVES), max_size=6), st.booleans())
def test_no_scenario_mapping_gives_a_traceback(write, fields, keep_base):
    data: dict = {}
    if keep_base:  # a valid scenario with the Lishui rules, then the random fields on top
        data = {"extends": str(ROOT / "scenarios" / "policies" / "lishui.yaml"), "name": "fuzz",
                "region": {"preset": "small", "villages": 30}}  # fmt: skip
    for path, value in fields:
        node = data
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[path[-1]] = value
    path = write("fuzz.yaml", yaml.safe_dump(data, allow_unicode=True))
    try:
        load_scenario(path)
    except InputError as err:
        assert err.problems and all(p and "\n" not in p for p in err.problems), err.problems


def test_set_of_a_mapping_replaces_it_and_extends_merges(write):
    """`--set KEY={...}` replaces KEY's mapping (a user typing a whole value means it); a
    dotted path changes one entry; `extends:` merges."""
    base = write(
        "base.yaml", "name: b\nregion: small\ncouriers: {carriers: {a: {share: 0.5}, b: {share: 0.5}}}\n"
    )
    child = write(
        "child.yaml",
        "extends: base.yaml\nname: c\ncouriers: {carriers: {b: {share: 0.5, vans_per_county: 3}}}\n",
    )
    assert load_scenario(child).scenario.couriers.carriers["a"].share == 0.5  # merged
    one = load_scenario(base, ["couriers.carriers={c: {share: 1}}"]).scenario.couriers.carriers
    assert list(one) == ["c"]
    entry = load_scenario(base, ["couriers.carriers.a.vans_per_county=7"]).scenario.couriers.carriers
    assert list(entry) == ["a", "b"] and entry["a"].vans_per_county == 7


def test_input_errors_cross_process_boundaries_whole():
    import pickle

    err = pickle.loads(pickle.dumps(InputError(["a.yaml: x: bad (got 1)", "a.yaml: y: bad (got 2)"])))
    assert err.problems == ("a.yaml: x: bad (got 1)", "a.yaml: y: bad (got 2)")


def test_setting_one_field_of_a_default_section_keeps_its_other_fields():
    """`pickup.township_point` defaults to 8-18 opening and 3 h a km, not its class's 8-20 and
    4 h: setting its base_h alone must keep those (it once fell back to the class's)."""
    base = load_scenario(ROOT / "scenarios" / "lishui-2018.yaml").scenario.pickup.township_point
    one = load_scenario(ROOT / "scenarios" / "lishui-2018.yaml", ["pickup.township_point.base_h=6"]).scenario
    assert one.pickup.township_point == base.model_copy(update={"base_h": 6.0})


def test_setting_one_field_of_a_default_mapping_entry_keeps_the_other_entries():
    base = load_scenario(ROOT / "scenarios" / "lishui-2018.yaml").scenario.upstream.products
    one = load_scenario(ROOT / "scenarios" / "lishui-2018.yaml", ["upstream.products.bayberry.value_yuan=50"])
    products = one.scenario.upstream.products
    assert set(products) == set(base) and products["tea"] == base["tea"]
    assert products["bayberry"] == base["bayberry"].model_copy(update={"value_yuan": 50.0})


def test_a_mapping_of_named_sections_given_in_a_file_replaces_the_default(write):
    tea = "{seasons: [[03-01, 04-30]], growers_share: 0.1, parcels_per_grower_day: 2}"
    path = write("p.yaml", f"name: p\nregion: small\nupstream:\n  products:\n    tea: {tea}\n")
    products = load_scenario(path).scenario.upstream.products
    assert list(products) == ["tea"]
