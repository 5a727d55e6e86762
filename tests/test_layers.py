"""The domain's business areas import each other one way only: no two packages of carbon_credit lean on each other.

A loop between areas (actions needing campaigns while campaigns need actions)
is where the layering breaks: neither can be read, tested or changed alone.
Each top-level module or package of ``carbon_credit`` is one area here.
"""
from __future__ import annotations

import ast
import pathlib
from collections import defaultdict

ROOT = pathlib.Path(__file__).resolve().parent.parent / "carbon_credit"


def _area(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).parts
    return parts[0].removesuffix(".py")


def _imported_areas(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "carbon_credit":
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "carbon_credit" and len(parts) > 1:
                    found.add(parts[1])
    return found


def area_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        area = _area(path)
        graph[area] |= _imported_areas(ast.parse(path.read_text(encoding="utf-8"))) - {area, "__init__"}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more areas (Tarjan)."""
    index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_two_business_areas_import_each_other():
    assert _cycles(area_graph()) == []


def test_the_check_finds_a_loop_when_there_is_one():
    assert _cycles({"actions": {"campaigns"}, "campaigns": {"ledger"}, "ledger": {"actions"}, "rules": set()}) == [
        ["actions", "campaigns", "ledger"]]


def test_the_areas_read_as_the_readme_draws_them():
    graph = area_graph()
    assert {"actions", "rules", "ledger", "residents", "campaigns", "rewards", "budgets", "reporting", "partners",
            "outreach", "staff", "org", "ingest", "jobs", "models"} <= set(graph)
    assert "pipeline" in graph["ingest"] and "pipeline" in graph["actions"]  # both paths take the one pipeline
