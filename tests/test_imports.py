"""The layers import one way and no module imports itself in a circle.

Every module of `geo/`, `sim/` and `analysis/` (subpackages included) is parsed with `ast`, without
importing anything: every `import` and `from ... import` statement counts wherever it stands (inside
a function, a method, a `try` or an `if TYPE_CHECKING:` block too), in its absolute and relative
forms; `from __future__` is ignored. Two rules:

- no circle: the graph of modules importing modules has no cycle (the message names one);
- layers: `geo` imports nothing of `sim` or `analysis`, `sim` nothing of `analysis`; inside `sim`,
  its parts import downwards in the order of `SIM_PARTS` (`sim.core` nothing else of `sim`,
  `sim.scenario` only `sim.core`, and so on up to `sim.run`, which may import them all).

`from pkg import name` is an edge to the module `pkg.name` when there is one, else to `pkg`
(its `__init__.py`). Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` first; those
edges are left out (a package's `__init__` that imports its own modules is not a circle of the
code's making), but whatever an `__init__.py` imports is an edge like any other.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: lowest first: a layer may import its own modules and those of the layers before it
LAYERS = ("geo", "sim", "analysis")
#: lowest first: the parts of `sim` (subpackages and top-level modules), importing downwards
SIM_PARTS = ("core", "scenario", "network", "flows", "engine", "money", "kpi", "run")
#: the name the layers may be installed under (`ruralsim.geo`, ...), if they move there
PREFIXES = ("", "ruralsim.")


def _package_dir(layer: str) -> Path:
    for base in (ROOT, ROOT / "ruralsim", ROOT / "src" / "ruralsim", ROOT / "src"):
        if (base / layer / "__init__.py").is_file():
            return base / layer
    raise AssertionError(f"package {layer!r} not found under {ROOT}")


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of every layer (names without `ruralsim.`)."""
    found: dict[str, Path] = {}
    for layer in LAYERS:
        top = _package_dir(layer)
        for path in sorted(top.rglob("*.py")):
            rel = path.relative_to(top.parent).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            if any(p.startswith(".") or p == "__pycache__" for p in parts):
                continue
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _ours(name: str) -> str | None:
    """`name` without a `ruralsim.` prefix when it is one of the layers' modules' names, else None."""
    for prefix in PREFIXES:
        if prefix and not name.startswith(prefix):
            continue
        short = name[len(prefix) :]
        if short.split(".")[0] in LAYERS:
            return short
    return None


def _resolve(name: str) -> str | None:
    """The module an import of dotted `name` lands on: the longest prefix that is a module."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import of one of the layers' modules in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    edges = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                short = _ours(alias.name)
                if short is not None:
                    edges.append((_resolve(short) or short, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                assert base, f"{path}:{node.lineno}: relative import beyond the top package"
                short = ".".join([*base, *([node.module] if node.module else [])])
            else:
                short = _ours(node.module or "")
                if short is None:
                    continue
            for alias in node.names:
                target = f"{short}.{alias.name}"
                edges.append((target if target in MODULES else (_resolve(short) or short), node.lineno))
    return edges


def _graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: first line}; self-edges (`from pkg import x` in pkg) left out."""
    graph: dict[str, dict[str, int]] = {}
    for module, path in MODULES.items():
        out: dict[str, int] = {}
        for target, line in _imports(module, path):
            if target != module:
                out.setdefault(target, line)
        graph[module] = out
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan), each as
    the modules in import order, the first repeated at the end."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    def connect(v: str) -> None:  # recursion depth is at most the number of modules (~60)
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, {})):
            if w not in graph:
                continue
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_one_cycle(graph, set(c)) for c in components]


def _one_cycle(graph: dict[str, dict[str, int]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first, inside it)."""
    start = min(component)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if w in component and w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("a strongly connected component without a cycle")


def _describe(graph: dict[str, dict[str, int]], cycle: list[str]) -> str:
    return " -> ".join(
        f"{a} (line {graph[a][b]})" if i < len(cycle) - 1 else a
        for i, (a, b) in enumerate(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
    )


def test_every_layer_found_with_its_modules():
    for layer in LAYERS:
        assert layer in MODULES
        assert sum(m.startswith(layer + ".") for m in MODULES) >= 5, layer


def test_every_part_of_sim_has_its_place_in_the_order():
    parts = {m.split(".")[1] for m in MODULES if m.startswith("sim.")}
    assert parts == set(SIM_PARTS), "add a new part of sim to SIM_PARTS, in import order"


def test_no_import_circle():
    graph = _graph()
    cycles = _cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(_describe(graph, c) for c in cycles)


def _rank(module: str) -> tuple[int, int]:
    """(layer, part of `sim`) of a module; modules of `geo`, `analysis` and `sim`'s own
    `__init__` are part 0 of their layer, so only the layer order binds them."""
    layer, _, rest = module.partition(".")
    part = rest.partition(".")[0]
    return LAYERS.index(layer), SIM_PARTS.index(part) if layer == "sim" and part in SIM_PARTS else 0


def _upward(graph: dict[str, dict[str, int]]) -> list[str]:
    """'file:line: module imports target' for every import of a layer above the module's, or of
    a part of `sim` above the module's."""
    return sorted(
        f"{MODULES[module]}:{line}: {module} imports {target}"
        for module, targets in graph.items()
        for target, line in targets.items()
        if _rank(target) > _rank(module)
    )


def test_layers_import_downwards_only():
    upward = _upward(_graph())
    assert not upward, "a layer imports one above it:\n" + "\n".join(upward)


# ------------------------------------------------------------------- the checker checks itself


def _graph_of(sources: dict[str, str], tmp_path: Path, monkeypatch) -> dict[str, dict[str, int]]:
    modules = {}
    for name, text in sources.items():  # laid out as on disk: a package is a folder's __init__.py
        is_package = any(other.startswith(name + ".") for other in sources)
        path = (
            tmp_path.joinpath(*name.split("."), "__init__.py")
            if is_package
            else (tmp_path.joinpath(*name.split(".")).with_suffix(".py"))
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        modules[name] = path
    monkeypatch.setattr(f"{__name__}.MODULES", modules)
    return _graph()


@pytest.mark.parametrize(
    "sources, cycle",
    [
        # a function-level import closes the circle
        (
            {
                "sim": "",
                "sim.a": "from sim.b import x\n",
                "sim.b": "def f():\n    from sim import a\n",
            },
            ["sim.a", "sim.b", "sim.a"],
        ),
        # relative forms, a method's import, three modules
        (
            {
                "sim": "",
                "sim.a": "from . import b\n",
                "sim.b": "class C:\n    def m(self):\n        from .c import y\n",
                "sim.c": "import sim.a as aa\n",
            },
            ["sim.a", "sim.b", "sim.c", "sim.a"],
        ),
        # `from __future__` and imports of other packages are not edges; no circle
        (
            {
                "sim": "",
                "sim.a": "from __future__ import annotations\nimport numpy\nfrom sim.b import z\n",
                "sim.b": "from geo import w\n",
                "geo": "",
            },
            None,
        ),
        # a subpackage's module reaching two levels up
        (
            {
                "sim": "",
                "sim.core": "",
                "sim.core.x": "from ..y import q\n",
                "sim.y": "from sim.core import x\n",
            },
            ["sim.core.x", "sim.y", "sim.core.x"],
        ),
    ],
)
def test_checker_finds_circles(sources, cycle, tmp_path, monkeypatch):
    graph = _graph_of(sources, tmp_path, monkeypatch)
    found = _cycles(graph)
    assert found == ([cycle] if cycle else [])


def test_checker_finds_upward_imports(tmp_path, monkeypatch):
    _graph_of(
        {
            "geo": "",
            "geo.a": "def f():\n    from sim.b import x\n",
            "sim": "",
            "sim.b": "import ruralsim.analysis.c\n",
            "analysis": "",
            "analysis.c": "from geo import a\nfrom sim import b\n",
        },
        tmp_path,
        monkeypatch,
    )
    text = "\n".join(_upward(_graph()))
    assert "geo.a imports sim.b" in text and "sim.b imports analysis.c" in text
    assert "analysis.c imports" not in text


def test_checker_finds_upward_imports_inside_sim(tmp_path, monkeypatch):
    _graph_of(
        {
            "sim": "",
            "sim.core": "",
            "sim.core.a": "from sim.flows import b\n",
            "sim.flows": "",
            "sim.flows.b": "from sim.core.a import x\nfrom sim.run import y\n",
            "sim.run": "from sim.flows.b import z\nfrom sim.core import a\n",
        },
        tmp_path,
        monkeypatch,
    )
    text = "\n".join(_upward(_graph()))
    assert "sim.core.a imports sim.flows.b" in text and "sim.flows.b imports sim.run" in text
    assert "sim.run imports" not in text and "sim.flows.b imports sim.core" not in text


# ------------------------------------------------------------------- the engine names


def test_engine_registry_has_the_literal_names():
    from sim.engine.registry import ENGINES
    from sim.scenario.delivery import EngineName, Simulation

    names = typing.get_args(EngineName)
    assert set(ENGINES) == set(names) and len(names) == len(ENGINES)
    assert Simulation.model_fields["engine"].annotation == EngineName
