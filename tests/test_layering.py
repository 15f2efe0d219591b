"""The apps are layered: each may import only the apps below it, so no import cycle
between apps can come back. Every ``import`` in an app's code counts, including the
ones inside functions; migrations name other apps by label only and are skipped.

    core  <-  accounts
    core  <-  queue_app  <-  concerts  <-  payments  ->  wallet  ->  core
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# app -> the apps it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "accounts": {"core"},
    "queue_app": {"core"},
    "concerts": {"core", "queue_app"},
    "wallet": {"core"},
    "payments": {"core", "queue_app", "concerts", "wallet"},
}


def imported_apps(app: str) -> dict[str, set[str]]:
    """Other apps imported anywhere in ``app`` -> the files that import each."""
    found: dict[str, set[str]] = {}
    for path in (REPO / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED and top != app:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that starts and ends at the same node, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_each_app_imports_only_the_apps_below_it(app):
    forbidden = {dep: files for dep, files in imported_apps(app).items() if dep not in ALLOWED[app]}
    assert not forbidden, f"{app} must not import {sorted(forbidden)}: {forbidden}"


def test_no_import_cycle_between_apps():
    graph = {app: set(imported_apps(app)) for app in ALLOWED}
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_the_allowed_layers_themselves_have_no_cycle():
    assert find_cycle(ALLOWED) is None


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
