"""The suite's own rules (tests/conftest.py says why): fixture names unique across the tree, helpers
outside the conftests, and a reason on every choice of databases."""
from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

TESTS = Path(__file__).resolve().parent
DATABASE_MARKS = {"both_databases", "postgresql_only"}


@cache
def modules() -> dict[str, ast.Module]:
    return {str(path.relative_to(TESTS.parent)): ast.parse(path.read_text(), str(path))
            for path in sorted(TESTS.rglob("*.py")) if "node_modules" not in path.parts}


def is_fixture(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef) and any("fixture" in ast.unparse(d) for d in node.decorator_list)


def fixture_name(node: ast.FunctionDef) -> str:
    for decorator in node.decorator_list:
        for keyword in getattr(decorator, "keywords", ()):
            if keyword.arg == "name":
                return keyword.value.value
    return node.name


def fixtures_defined_twice(trees: dict[str, ast.Module]) -> dict[str, list[str]]:
    where = defaultdict(list)
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if is_fixture(node):
                where[fixture_name(node)].append(f"{path}:{node.lineno}")
    return {name: places for name, places in where.items() if len(places) > 1}


def conftest_imports(trees: dict[str, ast.Module]) -> list[str]:
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [f"{path}:{node.lineno} {name}" for name in names if name.split(".")[-1] == "conftest"]
    return found


def shared_from_conftests(trees: dict[str, ast.Module]) -> list[str]:
    """Functions and classes in a conftest that are neither fixtures, hooks nor private."""
    shared = []
    for path, tree in trees.items():
        if not path.endswith("conftest.py"):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not (
                    is_fixture(node) or node.name.startswith(("pytest_", "_"))):
                shared.append(f"{path}:{node.lineno} {node.name}")
    return shared


def database_marks_without_reason(trees: dict[str, ast.Module]) -> list[str]:
    unexplained = []
    for path, tree in trees.items():
        called = {id(call.func): call for call in ast.walk(tree) if isinstance(call, ast.Call)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in DATABASE_MARKS:
                call = called.get(id(node))
                if call is None or not call.args:
                    unexplained.append(f"{path}:{node.lineno} {node.attr}")
    return unexplained


def test_every_fixture_name_means_one_fixture_across_the_tree():
    trees = modules()
    assert sum(is_fixture(n) for tree in trees.values() for n in ast.walk(tree)) > 50  # the walk finds them
    assert fixtures_defined_twice(trees) == {}


def test_no_test_imports_from_a_conftest():
    assert conftest_imports(modules()) == []


def test_a_conftest_holds_fixtures_and_hooks_and_helpers_live_in_modules():
    assert shared_from_conftests(modules()) == []


def test_a_choice_of_databases_says_why_the_database_matters():
    assert database_marks_without_reason(modules()) == []


def test_each_rule_catches_what_it_forbids():
    bad = {
        "tests/a/conftest.py": ast.parse("import pytest\n@pytest.fixture\ndef amy(): pass\ndef as_user(): pass\n"),
        "tests/b/test_b.py": ast.parse(
            "import pytest\nimport tests.a.conftest\nfrom tests.a.conftest import as_user\n"
            "pytestmark = pytest.mark.both_databases\n@pytest.fixture(name='amy')\ndef other(): pass\n"
            "@pytest.mark.postgresql_only()\ndef test_x(): pass\n"),
    }
    assert fixtures_defined_twice(bad) == {"amy": ["tests/a/conftest.py:3", "tests/b/test_b.py:6"]}
    assert conftest_imports(bad) == ["tests/b/test_b.py:2 tests.a.conftest", "tests/b/test_b.py:3 tests.a.conftest"]
    assert shared_from_conftests(bad) == ["tests/a/conftest.py:4 as_user"]
    assert database_marks_without_reason(bad) == ["tests/b/test_b.py:4 both_databases", "tests/b/test_b.py:7 postgresql_only"]
