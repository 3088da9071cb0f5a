"""The container image: its Dockerfile passes hadolint, and it can hold everything the services import.

No container engine runs here, so the image is checked where it can be: the Dockerfile's lint,
and the rule it builds by (each project installs only the dependencies its pyproject declares)
checked against what the code imports.
"""
from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from invite_common import probe

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PROJECTS = {
    "invite_common": ROOT / "libs/common",
    "intake": ROOT / "services/intake",
    "approval": ROOT / "services/approval",
    "notifier": ROOT / "services/notifier",
}


def hadolint() -> str:
    path = Path(sys.executable).parent / "hadolint"
    if not path.exists():
        pytest.fail("hadolint is missing from the virtual environment: run make setup")
    return str(path)


def test_the_dockerfile_passes_hadolint():
    result = subprocess.run([hadolint(), "--failure-threshold", "info", str(DOCKERFILE)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_root_image_with_an_unpinned_base(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install -y curl\nCMD python -m intake\n")
    result = subprocess.run([hadolint(), str(bad)], capture_output=True, text=True)
    assert result.returncode != 0
    assert {"DL3007", "DL3008", "DL3025"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_the_image_is_multi_stage_pinned_non_root_and_health_checked():
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, re.M)
    assert len(stages) == 2 and stages[0][1] == "build"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", text, re.M).group(1)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base), base
    final = text.split("\nFROM ")[-1]
    assert re.search(r"^USER 10001:10001$", final, re.M)
    assert "HEALTHCHECK" in final and "invite_common.probe" in final
    # build tools stay in the build stage: the final one installs nothing
    assert not re.search(r"pip install|apt-get|gcc|build-essential", final)


def _third_party_imports(package_dir: Path) -> set[str]:
    names = set()
    for path in package_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in PROJECTS}


def _declared(project: Path) -> list[Requirement]:
    return [Requirement(d) for d in tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]]


def _key(name: str) -> str:
    return name.lower().replace("_", "-")


def _installed_closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution pip installs for `requirements`: them, and what they require in turn."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        requirement, extras = todo.pop()
        name = _key(requirement.name)
        if name in seen or name.startswith("invite-"):
            continue
        seen.add(name)
        for line in importlib.metadata.requires(requirement.name) or []:
            needed = Requirement(line)
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append((needed, frozenset(needed.extras)))
    return seen


@pytest.mark.parametrize("package", sorted(PROJECTS))
def test_every_library_a_service_imports_is_declared_so_the_image_installs_it(package):
    project = PROJECTS[package]
    requirements = _declared(project)
    if package != "invite_common":
        requirements += _declared(PROJECTS["invite_common"])  # every service depends on invite-common
    installed = _installed_closure(requirements)
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for name in _third_party_imports(project / "src"):
        dists = {_key(d) for d in distributions.get(name, [name])}
        if not dists & installed:
            missing[name] = sorted(dists)
    assert missing == {}, f"{project.name}/pyproject.toml does not declare what it imports"


def test_the_probe_finds_the_service_the_container_runs(tmp_path):
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"python\0-m\0approval\0")
    assert probe.service_of_first_process(cmdline) == "approval"
    cmdline.write_bytes(b"/bin/sh\0-c\0sleep 1\0")
    assert probe.service_of_first_process(cmdline) is None


def test_the_probe_reports_a_service_that_does_not_answer(monkeypatch):
    from tests.support.ports import free_port

    monkeypatch.setenv("NOTIFIER_BIND", f"127.0.0.1:{free_port()}")
    assert probe.main(["notifier"]) == 1
    assert probe.main(["nothing"]) == 2
