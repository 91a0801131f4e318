"""The architecture as the folders draw it: who may import whom, and no import cycles.

Computed from the source with ``ast`` (function-level imports count too), so a
cycle hidden inside a function, or a pure module that starts doing I/O through
an import, fails here rather than in review.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "worker"

WIRING = (
    "worker.__main__",
    "worker.cli",
    "worker.tasks",
    "worker.jobs",
    "worker.embedded",
    "worker.runtime",
)
WIRING += ("worker.celery_app", "worker.readiness", "worker.api", "worker.commands")
ALLOWED: dict[str, tuple[str, ...]] = {
    "worker.core": ("worker.core",),
    "worker.matching": ("worker.core", "worker.matching"),
    "worker.security": ("worker.core", "worker.security"),
    "worker.settings": ("worker.core", "worker.security", "worker"),
    "worker.config": (
        "worker.core",
        "worker.security",
        "worker.settings",
        "worker.config_errors",
        "worker.config_cache",
    ),
    "worker.config_errors": ("worker.core",),
    "worker.config_cache": ("worker.core", "worker.security"),
    "worker.db": (
        "worker.core",
        "worker.security",
        "worker.settings",
        "worker.config",
        "worker.db",
    ),
    "worker.i18n": ("worker.i18n",),
    "worker.notify": (
        "worker.core",
        "worker.security",
        "worker.settings",
        "worker.i18n",
        "worker.notify",
    ),
    "worker.metrics": ("worker.core", "worker.settings", "worker.config", "worker.db"),
}
"""Module (or package) → what it may import from ``worker``; ``worker`` alone is the version."""
SHELL = ("worker.core", "worker.matching", "worker.security", "worker.settings", "worker.config")
SHELL += ("worker.db", "worker.notify", "worker.metrics", "worker.logs", "worker.redaction")
ALLOWED["worker.ingest"] = (*SHELL, "worker.ingest")
ALLOWED["worker.outbox"] = (*SHELL, "worker.outbox")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str:
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(name: str) -> Iterator[tuple[ast.stmt, str, bool]]:
    """(statement, imported worker module, inside a function?) of one module."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inner = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for target in targets:
            if target == "worker" or target.startswith("worker."):
                yield node, _resolve(target), id(node) in inner


GRAPH = {name: {t for _, t, _ in _imports(name) if t != name} for name in MODULES}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or (p != "worker" and name.startswith(p + ".")) for p in prefixes)


def test_no_import_cycle_counting_function_level_imports() -> None:
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                cycles.append(" → ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[name] = 2

    for name in sorted(MODULES):
        if name not in state:
            visit(name)
    assert cycles == []


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_what_is_below_it(layer: str) -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if _within(name, (layer,))
        for target in targets
        if not _within(target, ALLOWED[layer])
    )
    assert wrong == []


def test_nothing_outside_the_wiring_imports_the_wiring() -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if not _within(name, WIRING)
        for target in targets
        if _within(target, WIRING)
    )
    assert wrong == []


def _comment_above(lines: list[str], index: int) -> str:
    """The comment line just above the block of import lines that holds line ``index``."""
    while index > 0 and lines[index].lstrip().startswith(("from ", "import ")):
        index -= 1
    return lines[index] if lines[index].lstrip().startswith("#") else ""


def test_function_level_imports_say_they_save_start_up_time() -> None:
    unexplained = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, target, inner in _imports(name):
            if inner and "start-up" not in _comment_above(lines, node.lineno - 1):
                unexplained.append(f"{path.name}:{node.lineno} imports {target}")
    assert unexplained == []
