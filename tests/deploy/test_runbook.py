"""deploy/RUNBOOK.md keeps up with what it describes: every operator command the services offer is
in its table and every command in the table exists; every secret the deployment holds has a
rotation procedure."""
from __future__ import annotations

import fnmatch
import re
import subprocess
import sys

import pytest

from tests.deploy.manifests import DEPLOY, K8S, compose

RUNBOOK = (DEPLOY / "RUNBOOK.md").read_text()
SERVICE_NAMES = ("intake", "approval", "notifier")


def section(title: str) -> str:
    start = RUNBOOK.index(f"## {title}\n")
    following = RUNBOOK.find("\n## ", start + 1)
    return RUNBOOK[start:following if following != -1 else None]


def subcommands(*argv: str) -> list[str]:
    """The subcommands `python -m <argv> --help` lists, as argparse prints them ({a,b,c})."""
    done = subprocess.run([sys.executable, "-m", *argv, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = re.search(r"\{([a-z,-]+)\}", done.stdout)
    return found.group(1).split(",") if found else []


def offered_commands() -> set[str]:
    """Every operator command, down to the last subcommand: `intake audit verify`, `approval retry`…"""
    commands = set()
    for service in SERVICE_NAMES:
        for command in subcommands(service):
            nested = subcommands(service, command)
            commands |= {f"{service} {command} {n}" for n in nested} if nested else {f"{service} {command}"}
    return commands


def documented_commands() -> set[str]:
    table = section("Operator commands")
    return {" ".join(words.split()[:3] if words.split()[0] == "intake" and words.split()[1] in ("roles", "audit")
                     else words.split()[:2])
            for words in re.findall(r"`python -m ([a-z][a-z -]+?)(?: [A-Z\[`-]|`)", table)}


def test_every_operator_command_is_in_the_runbook_and_every_one_there_exists():
    offered, documented = offered_commands(), documented_commands()
    assert "approval close" in offered and "intake audit verify" in offered
    assert offered - documented == set(), "commands the runbook's table leaves out"
    assert documented - offered == set(), "commands in the runbook's table that no service offers"


def secrets() -> set[str]:
    """The deployment's secrets: the Kubernetes Secret's keys that carry a password, token or key,
    the passwords compose reads from deploy/.env, and the signing key."""
    lines = (K8S / "config" / "secrets.env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    held = {key for key, value in pairs if "CHANGE-ME" in value or re.search(r"TOKEN|SECRET|KEY|PASSWORD", key)}
    for service in compose()["services"].values():
        held |= {key for key in service.get("environment") or {} if key.endswith("PASSWORD")}
    return held | {"AUDIT_SIGNING_KEY"}


@pytest.mark.parametrize("secret", sorted(secrets()))
def test_every_secret_has_a_rotation_procedure(secret):
    rotation = section("Rotating secrets")
    named = set(re.findall(r"`([A-Z*][A-Z0-9_*]+)`", rotation))
    assert any(fnmatch.fnmatchcase(secret, pattern) for pattern in named), f"{secret}: no rotation procedure"
