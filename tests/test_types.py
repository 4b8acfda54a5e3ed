"""The Protocols mean something: mypy (run here on small snippets) rejects an observer that handles
no event kind or takes the wrong event, and an engine class that does not fit `EngineClass`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent


def _mypy(source: str, tmp_path: Path) -> str:
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(source))
    out, err, _ = api.run(
        [str(path), "--cache-dir", str(tmp_path / "cache"), "--follow-imports", "silent", "--no-incremental"]
    )
    return out + err


@pytest.mark.parametrize(
    "observer, error",
    [
        ("def on_delivered(self, event: Delivered) -> None: ...", None),
        ("def on_delivered(self, event): ...", None),  # unannotated handlers are fine
        ("def on_delivred(self, event: Delivered) -> None: ...", "incompatible type"),  # misspelt
        ("def on_delivered(self, event: Ordered) -> None: ...", "incompatible type"),  # wrong event
    ],
)
def test_the_bus_takes_observers_that_handle_a_kind(observer, error, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = _mypy(
        f"""
        from sim.core.events import Bus, Delivered, Ordered

        class Observer:
            {observer}

        Bus([Observer()])
        """,
        tmp_path,
    )
    assert (error in out) if error else ("Success" in out), out


def test_the_registry_takes_only_engine_classes(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = _mypy(
        """
        from sim.engine.base import EngineClass
        from sim.engine.fast import FastEngine

        class NoRun:
            def __init__(self, model, seed, bus, *, progress=None, stations=None): ...

        fine: EngineClass = FastEngine
        wrong: EngineClass = NoRun
        """,
        tmp_path,
    )
    assert out.count("error:") == 1 and "snippet.py:9" in out, out
