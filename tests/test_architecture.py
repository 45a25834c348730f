"""The house stays one-way: no import circle, the layer contracts hold, rooms stay small.

The contracts themselves live in ``pyproject.toml`` (``[tool.importlinter]``) and
``lint-imports`` checks them in ``.ci/run``; these tests keep the same promises inside
the suite, so that a newcomer's ``pytest`` run reports a broken layer at once.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fwcompat"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imported(graph: grimp.ImportGraph, module: str) -> Iterator[str]:
    return iter(sorted(graph.find_modules_directly_imported_by(module)))


def _circles(graph: grimp.ImportGraph) -> list[set[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, _imported(graph, root))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, _imported(graph, child)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(group)
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    """The check below can fail: a graph with a planted circle has one."""
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.z")
    graph.add_import(importer="a.z", imported="a.x")
    assert _circles(graph) == [{"a.x", "a.y", "a.z"}]


def test_the_import_graph_has_no_circle() -> None:
    """Deferred imports inside functions are edges too: grimp reads every import."""
    graph = grimp.build_graph("fwcompat", cache_dir=None)
    assert _circles(graph) == []


def test_the_layer_contracts_hold() -> None:
    """The ``[tool.importlinter]`` contracts of pyproject.toml, as ``lint-imports`` runs them."""
    command = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(command), "--no-cache", "--config", str(PACKAGE.parent / "pyproject.toml")],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def _imports_by_name(node: ast.AST) -> bool:
    """A call of ``importlib.import_module`` or ``__import__`` whose module could be ours:
    a name computed at run time, or a literal under ``fwcompat``/relative."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if not (
        (isinstance(func, ast.Attribute) and func.attr == "import_module")
        or (isinstance(func, ast.Name) and func.id == "__import__")
    ):
        return False
    names = [
        c.value
        for arg in node.args[:1]
        for c in ast.walk(arg)
        if isinstance(c, ast.Constant) and isinstance(c.value, str)
    ]
    return not names or any(n.startswith(("fwcompat", ".")) for n in names)


def test_no_module_reaches_into_another_by_name() -> None:
    """An import by name would hide an edge from the graph (third-party names are fine)."""
    planted = ast.parse("importlib.import_module('fwcompat.serve')\n__import__(name)")
    assert [n for n in ast.walk(planted) if _imports_by_name(n)] != []
    hidden = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
        for path in _modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _imports_by_name(node)
    ]
    assert hidden == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_rooms_stay_small(path: Path) -> None:
    """No module over 600 lines, no function over 60."""
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_the_engine_loads_without_the_front_ends() -> None:
    """Importing the check() API pulls in no front end and no adapter."""
    code = (
        "import sys, fwcompat; "
        "print(sorted(m for m in sys.modules if m.startswith(('fwcompat.cli', 'fwcompat.serve', "
        "'fwcompat.asgi', 'fwcompat.anthropic', 'fwcompat.usage'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
