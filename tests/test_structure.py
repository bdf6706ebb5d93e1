"""The package's shape, kept by tests: imports go one way, and plugin.py holds hooks only.

Layers, from the top: a module may import from its own layer's neighbours only where listed, and from
any layer below it, never from one above. `model.py` imports nothing from the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import PACKAGE

# Top to bottom. Each module (dotted, relative to the package) belongs to exactly one layer.
LAYERS: list[set[str]] = [
    {"__main__", "cli", "plugin"},
    {"items"},
    {"summary", "hints", "plots"},
    {"session"},
    {"options", "bench", "profiling"},
    {"runner", "worker"},
    {"checking", "guard_selftest"},
    {"report", "picture", "probes", "traffic", "loading", "guard", "compat", "device", "progress", "registry", "sanitizer", "reads", "scratch", "ownership", "card_rates"},
    {"levels", "season2", "hookspecs"},
    {"paths", "_lazy", "_guard_probe", "origins", "store_strides"},
    {"model", "card"},
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer_of(module: str) -> int:
    top = module.split(".")[0] if not module.startswith("levels") else "levels"
    for index, layer in enumerate(LAYERS):
        if top in layer or module in layer:
            return index
    raise AssertionError(f"pytest_triton_quest.{module} is in no layer of tests/test_structure.py: add it to LAYERS")


def _imports(path: Path) -> set[str]:
    """Package-internal modules this file imports, anywhere in it (also inside functions)."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                names = [target] if node.module else [".".join([*base, alias.name]) for alias in node.names]
                found.update(name for name in names if name)
            elif node.module and node.module.startswith("pytest_triton_quest"):
                found.add(node.module.removeprefix("pytest_triton_quest").lstrip("."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pytest_triton_quest."):
                    found.add(alias.name.removeprefix("pytest_triton_quest."))
    return {name for name in found if name}


MODULES = sorted(path for path in PACKAGE.rglob("*.py") if "templates" not in path.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: _module_name(path) or "__init__")
def test_imports_only_go_down(path: Path) -> None:
    module = _module_name(path)
    if not module:
        return  # the package's __init__ imports nothing
    mine = _layer_of(module)
    upward = sorted(name for name in _imports(path) if _layer_of(name) < mine)
    assert not upward, f"pytest_triton_quest.{module} (layer {mine}) imports from a layer above it: {upward}"


@pytest.mark.parametrize("name", ["model.py", "card.py"])
def test_the_vocabulary_imports_nothing_from_the_package(name: str) -> None:
    assert _imports(PACKAGE / name) == set()


def test_there_is_no_import_cycle() -> None:
    graph = {_module_name(path): _imports(path) for path in MODULES}
    graph = {module: {name for name in names if name in graph and name != module} for module, names in graph.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target] if target in path else [module, target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_plugin_defines_hooks_only() -> None:
    tree = ast.parse((PACKAGE / "plugin.py").read_text(encoding="utf-8"))
    classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert not classes, f"plugin.py defines classes {classes}: they belong in session.py, items.py or options.py"
    helpers = [name for name in functions if not name.startswith("pytest_") and not name.startswith("_")]
    assert not helpers, f"plugin.py defines public non-hook functions {helpers}"
