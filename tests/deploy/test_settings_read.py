"""Every environment variable a deployment file sets is one the services read: a misspelt or
retired name in a manifest would otherwise be ignored without a word."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from invite_common import config

from tests.deploy.manifests import compose_env, generated_secret_keys, k8s_env

SOURCES = [Path(__file__).resolve().parents[2] / p for p in ("libs/common/src", "services")]


def names_the_code_reads() -> set[str]:
    """Every variable of the services' settings tables, and string literals read from os.environ anywhere else."""
    names = set()
    for service in ("intake", "approval", "notifier"):
        rows = [*config.common_rows(service), *importlib.import_module(f"{service}.settings").ROWS]
        names |= {row.name(service) for row in rows if not row.variable.endswith(config.FAMILY)}
    for root in SOURCES:
        for path in root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                    func = ast.unparse(node.func)
                    if func in ("os.environ.get", "os.getenv", "environ.get", "getenv"):
                        names.add(node.args[0].value)
                elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in ("os.environ", "environ"):
                    if isinstance(node.slice, ast.Constant):
                        names.add(node.slice.value)
    return names


READ = names_the_code_reads()


def test_the_reader_sees_the_contracts_names():
    assert {"AMQP_URL", "APPROVAL_DB_URL", "SMTP_URL", "DIRECTORY_URL", "DIRECTORY_TOKEN"} <= READ


@pytest.mark.parametrize("service,names", sorted(compose_env().items()))
def test_compose_sets_only_variables_the_services_read(service, names):
    assert names - READ == set()


@pytest.mark.parametrize("workload,names", sorted(k8s_env().items()))
def test_kubernetes_sets_only_variables_the_services_read(workload, names):
    assert names - READ == set()


def test_the_secret_holds_only_variables_the_services_read():
    assert generated_secret_keys() - READ == set()
