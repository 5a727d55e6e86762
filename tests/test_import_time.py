"""Importing a module only defines things: no module fills a registry or changes shared state as it loads.

Which handlers, methods, readers or menu entries exist is written in one table
each, so what a credit goes through never depends on which modules happened
to be imported first. Routes on a blueprint (``@bp.get``) are declarations of
that blueprint and are allowed; the blueprint is registered by ``create_app``.
"""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("carbon_credit", "api", "bot", "web")
# Module-level calls that declare rather than register: routes on the module's own blueprint.
DECLARING_CALLS = {"add_url_rule"}


def _modules(package: str):
    return sorted((ROOT / package).rglob("*.py"))


def _import_time_effects(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own_functions = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found = []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in DECLARING_CALLS:
                found.append(f"line {node.lineno}: call {ast.unparse(node)[:60]}")
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            # An attribute on one of the module's own functions (``view.max_body = ...``) describes it.
            if any(isinstance(t, ast.Subscript) or (isinstance(t, ast.Attribute) and not (
                    isinstance(t.value, ast.Name) and t.value.id in own_functions)) for t in targets):
                found.append(f"line {node.lineno}: assignment {ast.unparse(node)[:60]}")
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                text = ast.unparse(decorator)
                if text.split("(")[0].split(".")[-1].startswith("register"):
                    found.append(f"line {node.lineno}: decorator @{text[:60]}")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_registers_behaviour_as_it_is_imported(package):
    problems = {str(p.relative_to(ROOT)): found for p in _modules(package) if (found := _import_time_effects(p))}
    assert problems == {}


def test_the_check_sees_a_registration_when_there_is_one(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("HANDLERS = {}\n\n@register('x')\ndef f(): pass\n\nHANDLERS['y'] = f\nNAV.append(1)\n")
    assert len(_import_time_effects(module)) == 3


def test_the_scan_dispatch_method_and_reader_tables_are_complete_without_other_imports():
    import subprocess
    import sys

    code = ("from carbon_credit.scans import SCENE_HANDLERS; from carbon_credit.rules.methods import METHODS; "
            "from carbon_credit.ingest.readers import READERS; "
            "print(sorted(SCENE_HANDLERS), sorted(METHODS), sorted(READERS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == ("['campaign', 'station'] ['appliance_kwh', 'per_unit', 'points_only'] ['csv', 'jsonl']")
