"""The dependency direction of DESIGN.md section 1, read from the source's imports.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a layer
that needs a name from above it for typing still depends on it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("bot/account", "bot/jobs", "bot/quota", "bot/prompt", "bot/store", "bot/providers")
BELOW_DISCORD = (*SERVICES, "bot/model")
NOT_DISCORD = ("discord",)
ABOVE_SERVICES = ("bot.ui", "cogs", "bot.app", "bot.runtime", "bot.services")


def modules(folder: str) -> Iterator[Path]:
    yield from sorted((ROOT / folder).rglob("*.py"))


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """Every name ``path`` imports, absolute (``bot.model.Job``), with its line."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def offences(
    folders: tuple[str, ...], forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()
) -> list[str]:
    found = []
    for folder in folders:
        for path in modules(folder):
            for line, name in imported(path):
                if _within(name, forbidden) and not _within(name, allowed):
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return found


def _within(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == module or name.startswith(f"{module}.") for module in modules)


def test_the_layers_found_here_exist() -> None:
    # A renamed folder would make every rule below pass vacuously.
    for folder in BELOW_DISCORD:
        assert any(modules(folder)), folder


def test_nothing_below_the_discord_layer_imports_discord() -> None:
    assert offences(BELOW_DISCORD, NOT_DISCORD) == []


def test_services_never_import_the_discord_layer_or_the_composition_root() -> None:
    assert offences(SERVICES, ABOVE_SERVICES) == []


def test_the_store_and_the_records_do_not_import_providers() -> None:
    assert offences(("bot/store", "bot/model"), ("bot.providers",)) == []


def test_the_records_import_nothing_of_the_bot_but_errors() -> None:
    assert offences(("bot/model",), ("bot",), allowed=("bot.errors", "bot.model")) == []


def test_the_ui_renders_and_never_reaches_back_into_services_or_cogs() -> None:
    assert offences(("bot/ui",), ("bot.services", "cogs", "bot.app", "bot.runtime")) == []


KNOWN_CYCLES: list[list[str]] = []


@pytest.mark.parametrize("folder", ["bot", "cogs"])
def test_no_module_imports_itself_back_through_others(folder: str) -> None:
    graph: dict[str, set[str]] = {}
    names = {_name(path) for path in modules(folder)}
    for path in modules(folder):
        graph[_name(path)] = {
            target for _, name in imported(path) if (target := _owner(name, names)) is not None
        }
    assert [cycle for cycle in _cycles(graph) if cycle not in KNOWN_CYCLES] == []


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _owner(name: str, names: set[str]) -> str | None:
    while name and name not in names:
        name = name.rpartition(".")[0]
    return name or None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            component.append(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found
