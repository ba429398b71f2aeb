"""The package's import graph keeps its layering (DESIGN.md, "Layout").

The graph is read from the source (``ast``): every import counts, at module level,
under ``TYPE_CHECKING`` or inside a function, since each one ties two modules together
for a reader of the code even where Python would not notice a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "otel_alerting"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE


def _module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _package_of(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The package's modules an import statement of ``module`` names."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = node.module or ""
    if node.level:
        anchor = _package_of(module).split(".")
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in MODULES else base


def _imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imported(module, node):
                # ``a.b.c`` that is not a module of ours: the nearest enclosing one
                while name and name not in MODULES and "." in name:
                    name = name.rpartition(".")[0]
                if name in MODULES and name != module:
                    found.add(name)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _part(module: str) -> str:
    """The part of the package a module belongs to: ``otel_alerting.notify`` for
    ``otel_alerting.notify.dispatcher``, a top-level module for itself."""
    return ".".join(module.split(".")[:2])


#: the same graph between the package's parts (``notify`` and ``channels`` may not
#: import each other even through different modules)
PARTS = {
    part: {_part(t) for m, targets in GRAPH.items() if _part(m) == part for t in targets} - {part}
    for part in {_part(m) for m in MODULES}
}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in prefixes)


def test_the_graph_is_read() -> None:
    # a guard for the tests below: a resolver that found nothing would pass them all
    assert "otel_alerting.notify.channel" in GRAPH["otel_alerting.notify.dispatcher"]
    assert "otel_alerting.notify.model" in GRAPH["otel_alerting.channels.log"]
    assert "otel_alerting.system" in GRAPH["otel_alerting.reader"]  # imported on first need
    assert "otel_alerting.environment_variables" in GRAPH["otel_alerting.distro"]  # from . import module


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(GRAPH) == []


def test_no_import_cycle_between_parts_of_the_package() -> None:
    assert _cycles(PARTS) == []


# (importer, imported): the arrow never points back up the data flow
#   measurement -> reader -> engine -> manager -> notify pipeline -> channels;
# rules and config are imported by all and import none of these.
FORBIDDEN = [
    (("otel_alerting.notify",), ("otel_alerting.channels", "otel_alerting.engine", "otel_alerting.system")),
    (
        ("otel_alerting.engine",),
        (
            "otel_alerting.notify.pipeline",
            "otel_alerting.notify.dispatcher",
            "otel_alerting.notify.channel",
            "otel_alerting.channels",
            "otel_alerting.http",
            "otel_alerting.system",
            "otel_alerting.reader",
        ),
    ),
    (
        ("otel_alerting.rules", "otel_alerting.config", "otel_alerting.environment_variables"),
        (
            "otel_alerting.notify",
            "otel_alerting.channels",
            "otel_alerting.engine",
            "otel_alerting.system",
            "otel_alerting.reader",
        ),
    ),
    (("otel_alerting.channels",), ("otel_alerting.engine", "otel_alerting.system", "otel_alerting.reader")),
    (("otel_alerting.instrumentation",), ("otel_alerting.engine", "otel_alerting.notify", "otel_alerting.channels")),
]


@pytest.mark.parametrize(("importers", "forbidden"), FORBIDDEN, ids=lambda v: ",".join(v))
def test_no_import_points_back_up(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _within(module, importers)
        for target in targets
        if _within(target, forbidden)
    )
    assert wrong == []
