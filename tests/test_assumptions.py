"""The assumptions file (analysis/data/assumptions.yaml): it loads, every extreme is a valid
scenario, the defaults lie in the ranges, the README's table lists it, bad files give one line
per problem, and `Assumption.value` maps the unit interval as documented."""

import math
import re
from pathlib import Path

import pytest
from scipy import stats

from analysis.assumptions import DEFAULT, Assumption, check_against, load_assumptions
from analysis.vary import yaml_value
from geo.errors import InputError
from sim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parent.parent
LISHUI = ROOT / "scenarios" / "lishui-2018.yaml"
SMALL = ROOT / "scenarios" / "small.yaml"


def field(data, key):
    """The value at dotted `key` of a dumped scenario."""
    for part in key.split("."):
        data = data[part]
    return data


@pytest.fixture(scope="module")
def bundled():
    return load_assumptions()


@pytest.fixture(scope="module")
def lishui():
    return load_scenario(LISHUI).scenario.model_dump(mode="json")


# ------------------------------------------------------------------------------ the bundled file


def test_bundled_file_is_the_default_and_loads(bundled):
    assumptions, where = bundled
    assert where == str(DEFAULT)
    assert DEFAULT == ROOT / "analysis" / "data" / "assumptions.yaml"
    assert len(assumptions.assumptions) >= 20
    for a in assumptions.assumptions:
        assert a.label and a.source.strip(), a.key


@pytest.mark.parametrize("scenario", [LISHUI, SMALL], ids=lambda p: p.stem)
def test_every_extreme_is_a_valid_scenario(bundled, scenario):
    assumptions, where = bundled
    check_against(assumptions, where, scenario, [])


def test_defaults_lie_in_their_ranges(bundled, lishui):
    for a in bundled[0].assumptions:
        default = field(lishui, a.key)
        if a.choices is not None:
            assert default in a.choices, a.key
            continue
        assert a.low <= default <= a.high, (a.key, default, a.low, a.high)
        if a.distribution == "triangular":
            assert a.mode == default, a.key
        if a.integer:
            assert isinstance(default, int), a.key


def test_setting_an_assumption_to_its_default_changes_nothing_else(bundled, lishui):
    # a key whose `--set` replaced its section's other fields (a product, a township point's
    # pickup) would vary more than it says
    for a in bundled[0].assumptions:
        default = field(lishui, a.key)
        again = load_scenario(LISHUI, [f"{a.key}={yaml_value(default)}"]).scenario.model_dump(mode="json")
        assert again == lishui, a.key


# ----------------------------------------------------------------------------------- README


def readme_rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Assumptions\n(.*?)^## ", text, flags=re.S | re.M)
    assert section, "README has no '## Assumptions' section followed by another section"
    rows = [line for line in section.group(1).splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in rows]


def test_readme_table_lists_exactly_the_files_keys(bundled, lishui):
    rows = readme_rows()
    assert [row[0].strip("`") for row in rows] == bundled[0].keys
    for row, a in zip(rows, bundled[0].assumptions, strict=True):
        _, label, ranges, default, source = row
        assert label == a.label, a.key
        assert source, a.key
        if a.choices is not None:
            assert ranges == "choice: " + ", ".join(f"`{c}`" for c in a.choices), a.key
            assert default == f"`{field(lishui, a.key)}`", a.key
        else:
            assert ranges.startswith(f"{a.low:g}–{a.high:g}"), a.key
            assert a.distribution in ranges, a.key
            assert default == f"{field(lishui, a.key):g}", a.key


# ------------------------------------------------------------------------------- bad files


def problems_of(path: Path, scenario: Path | None = None) -> list[str]:
    with pytest.raises(InputError) as err:
        assumptions, where = load_assumptions(path)
        if scenario is not None:
            check_against(assumptions, where, scenario, [])
    assert isinstance(err.value.problems, list | tuple)
    return list(err.value.problems)


ENTRY = "{key: couriers.cost_per_km, label: van cost per km, low: 1, high: 2, source: none}"


def test_bad_entries_give_one_line_each_naming_file_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "assumptions:\n"
        "  - {key: couriers.cost_per_km, label: a, lo: 1, low: 1, high: 2, source: x}\n"
        "  - {key: couriers.cost_per_hour, label: b, low: 3, high: 2, source: x}\n"
        "  - {key: trunk.delay_mean_h, label: c, distribution: loguniform, low: 0, high: 2, source: x}\n"
        "  - {key: couriers.cost_basis, label: d, distribution: choice,"
        " choices: [road_hours, van_days], low: 1, source: x}\n",
        encoding="utf-8",
    )
    lines = problems_of(path)
    assert len(lines) == 4, lines
    assert all(line.startswith(f"{path}: assumptions.") for line in lines), lines
    assert lines[0].startswith(f"{path}: assumptions.0.lo: unknown field")
    assert lines[1].startswith(f"{path}: assumptions.1: low must be below high")
    assert lines[2].startswith(f"{path}: assumptions.2: loguniform needs low > 0")
    assert lines[3].startswith(f"{path}: assumptions.3: choice takes choices, not low")


def test_a_key_given_twice(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(f"assumptions:\n  - {ENTRY}\n  - {ENTRY}\n", encoding="utf-8")
    (line,) = problems_of(path)
    assert line.startswith(str(path))
    assert line == f"{path}: assumptions: key given twice: couriers.cost_per_km"


def test_a_field_given_twice_in_one_entry(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("assumptions:\n  - {key: k, label: l, low: 1, low: 2, high: 3, source: s}\n")
    (line,) = problems_of(path)
    assert line.startswith(f"{path}:2: YAML syntax error: duplicate key 'low'"), line


def test_a_key_that_is_no_scenario_field_and_an_invalid_extreme(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text(
        f"assumptions:\n  - {ENTRY}\n"
        "  - {key: couriers.cost_per_kilometre, label: b, low: 1, high: 3, source: x}\n"
        "  - {key: demand.growth_per_year, label: c, low: 0.5, high: 20, source: x}\n",
        encoding="utf-8",
    )
    lines = problems_of(path, LISHUI)
    assert lines == [
        f"{path}: assumptions.1: couriers.cost_per_kilometre: unknown field (did you mean 'cost_per_km'?)",
        f"{path}: assumptions.2: demand.growth_per_year: must be <= 10 (got 20.0)",
    ]


def test_unreadable_files(tmp_path):
    assert problems_of(tmp_path / "missing.yaml") == [f"{tmp_path / 'missing.yaml'}: file not found"]
    path = tmp_path / "list.yaml"
    path.write_text("- a\n", encoding="utf-8")
    (line,) = problems_of(path)
    assert line.startswith(f"{path}: must hold a mapping of fields (got list)")
    path.write_text("assumptions: [\n", encoding="utf-8")
    (line,) = problems_of(path)
    assert line.startswith(f"{path}:") and "YAML syntax error" in line


# ---------------------------------------------------------------------------- Assumption.value


def test_uniform_midpoint_and_ends():
    a = Assumption(key="k", label="l", low=2, high=6, source="s")
    assert a.value(0.5) == pytest.approx(4)
    assert a.value(0.0) == 2 and a.value(1.0) == 6
    assert a.value(-1) == 2 and a.value(2) == 6  # clipped to the interval


def test_loguniform_median_is_the_geometric_mean():
    a = Assumption(key="k", label="l", distribution="loguniform", low=2, high=8, source="s")
    assert a.value(0.5) == pytest.approx(math.sqrt(2 * 8))
    assert a.value(0.0) == pytest.approx(2) and a.value(1.0) == pytest.approx(8)


def test_triangular_ends_and_median():
    a = Assumption(key="k", label="l", distribution="triangular", low=1, mode=2, high=5, source="s")
    assert a.value(0.0) == pytest.approx(1)
    assert a.value(1.0) == pytest.approx(5)
    assert a.value(0.5) == pytest.approx(stats.triang.median(0.25, loc=1, scale=4))
    assert a.value(0.25) == pytest.approx(2)  # mode at the quantile (mode - low) / (high - low)


def test_choice_takes_equal_parts_of_the_interval():
    a = Assumption(key="k", label="l", distribution="choice", choices=["a", "b", "c"], source="s")
    assert [a.value(u) for u in (0.0, 0.2, 1 / 3 - 1e-9)] == ["a", "a", "a"]
    assert [a.value(u) for u in (1 / 3 + 1e-9, 0.5, 2 / 3 + 1e-9, 1.0)] == ["b", "b", "c", "c"]
    assert a.extremes() == ("a", "b", "c")


def test_integer_rounds():
    a = Assumption(key="k", label="l", low=60, high=240, integer=True, source="s")
    assert a.value(0.5) == 150 and isinstance(a.value(0.5), int)
    assert a.value(0.1) == 78  # 60 + 18
    assert a.value(0.003) == 61  # 60.54 rounds up
    assert a.extremes() == (60, 240)
