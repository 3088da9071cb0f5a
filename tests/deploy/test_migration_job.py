"""The migration Job's environment is enough for `python -m <service> migrate` with ENV=production.

The Job is given the settings ConfigMap and the database URLs, and on purpose no broker URL: the
migration step never talks to the broker, so it holds no broker password. Each service's migrate
command is run here with exactly those variables (the databases as SQLite files, the CA bundle as a
readable file), as the Job's container would run it.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import trustme

from tests.deploy.manifests import SERVICES, generated_configmaps, k8s_objects


def job_environment(tmp_path) -> dict[str, str]:
    """The Job container's variables, with local stand-ins for the databases and the mounted CA bundle."""
    configmaps = generated_configmaps()
    [job] = [doc for _, doc in k8s_objects() if doc["kind"] == "Job"]
    [container] = job["spec"]["template"]["spec"]["containers"]
    env = {}
    for source in container["envFrom"]:
        env |= configmaps[source["configMapRef"]["name"]]
    for entry in container["env"]:
        service = entry["name"].split("_", 1)[0].lower()
        assert entry["name"].endswith("DB_URL"), f"the Job is given {entry['name']}"
        env[entry["name"]] = f"sqlite:///{tmp_path / service}.db"
    ca = tmp_path / "ca-bundle.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    env["TLS_CA_FILE"] = str(ca)
    return env


@pytest.mark.parametrize("service", SERVICES)
def test_the_migrate_command_runs_in_production_with_only_what_the_migration_job_gives_it(service, tmp_path):
    env = job_environment(tmp_path) | {"PATH": "/usr/bin:/bin", "INVITES_VAR_DIR": str(tmp_path / "var")}
    assert env["ENV"] == "production" and not [k for k in env if k.endswith("AMQP_URL")]
    done = subprocess.run([sys.executable, "-m", service, "migrate"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "schema up to date" in done.stdout


@pytest.mark.parametrize("service", SERVICES)
def test_the_deployments_init_container_waits_until_the_migration_job_has_run(service, tmp_path):
    """Its command as shipped, with the Deployment's database and settings: refused (naming what is
    pending) before the Job has run, through at once afterwards; it changes nothing itself."""
    [deployment] = [doc for _, doc in k8s_objects() if doc["kind"] == "Deployment" and doc["metadata"]["name"] == service]
    [wait] = deployment["spec"]["template"]["spec"]["initContainers"]
    env = job_environment(tmp_path) | {"PATH": "/usr/bin:/bin", "INVITES_VAR_DIR": str(tmp_path / "var")}
    for source in wait["envFrom"]:
        assert source["configMapRef"]["name"] == "invite-users-config"
    command = [sys.executable, *wait["command"][1:], "--timeout", "1"]
    before = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert before.returncode == 1 and "migrations 1 (" in before.stderr and "are pending" in before.stderr, before
    migrated = subprocess.run([sys.executable, "-m", service, "migrate"], env=env, capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    after = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert after.returncode == 0 and f"{service} schema up to date" in after.stdout, after
