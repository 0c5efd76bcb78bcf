"""The shape of the house: no import cycles, small files and functions, one constructor.

The import graph is built with :mod:`ast` from every ``import`` statement of the package,
including those inside functions and the lazy-loading stubs (``__init__.pyi``), so an import
hidden in a function cannot break a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "unebolt_viz"
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 100


def _modules() -> dict[str, tuple[Path, bool]]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py*")):
        if path.suffix not in (".py", ".pyi"):
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules.setdefault(name, (path, is_package))
        if path.suffix == ".pyi":
            modules[name + " (stub)"] = (path, is_package)
    return modules


def _targets(module: str, is_package: bool, node: ast.AST, known: set[str]) -> set[str]:
    """Modules of the package that one import statement loads (a name that is a module counts
    as that module; any other name as the module it comes from)."""
    if isinstance(node, ast.Import):
        candidates = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        candidates = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in known else origin
                      for a in node.names]
    found = set()
    for name in candidates:
        while name and name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known:
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = {m for m in modules if not m.endswith(" (stub)")}
    graph: dict[str, set[str]] = {m: set() for m in known}
    for key, (path, is_package) in modules.items():
        module = key.removesuffix(" (stub)")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[module] |= _targets(module, is_package, node, known) - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in sorted(graph):
        if root in state:
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append(iter(sorted(graph[child])))
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_graph_sees_imports_inside_functions_and_stubs():
    graph = import_graph()
    # models.io imports ridge only inside functions (so that ridge stays torch-free to load)
    source = (PACKAGE / "models" / "io.py").read_text(encoding="utf-8")
    assert "\n    from .ridge import" in source and "\nfrom .ridge import" not in source
    assert "unebolt_viz.models.ridge" in graph["unebolt_viz.models.io"]
    # the top-level stub declares the lazy subpackages
    assert {"unebolt_viz.models", "unebolt_viz.app"} <= graph["unebolt_viz"]


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _python_files():
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_files_and_functions_are_small(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_FILE_LINES, f"{path.name} has {len(lines)} lines"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(ast.parse("\n".join(lines)))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines in {path.name}: {long}"


def test_no_hand_written_lazy_loaders():
    """Subpackages declare their API in a stub for ``lazy_loader``; none repeats a loader."""
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("__init__.py")
                 if "def __getattr__" in p.read_text(encoding="utf-8")]
    assert offenders == []
