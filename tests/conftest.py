"""Shared fixtures: the regions are generated once per test session (they are deterministic)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from geo import presets
from geo.region import Region
from geo.synthetic import generate


@pytest.fixture(scope="session", autouse=True)
def _cache(tmp_path_factory) -> None:
    """Travel matrices and route plans go to a fresh cache, never the user's (a stale cache
    would hide a change; a shared one would let tests see each other's plans)."""
    os.environ["RURALSIM_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def lishui_region() -> Region:
    return generate(presets.lishui(), seed=2018)


@pytest.fixture(scope="session")
def small_region() -> Region:
    return generate(presets.small(), seed=2018)


@pytest.fixture
def write(tmp_path: Path):
    """write("name.yaml", yaml_text) -> path, with the text dedented."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


def require(found: object, what: str) -> None:
    """A real part a test needs (Chromium, GDAL, a Chinese font): in CI (`CI` set by .ci/run,
    which installs them) its absence fails the test; elsewhere the test skips, saying why."""
    if found:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI (.ci/run installs it)")
    pytest.skip(f"{what} is not installed here (CI installs it)")
