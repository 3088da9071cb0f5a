"""The rehearsal reads each workload's environment from the shipped files as their tools do: compose's
interpolation rules, and `kubectl kustomize` with every secret and ConfigMap reference resolved."""
from __future__ import annotations

import shutil

import pytest

from tests.deploy.manifests import K8S, SERVICES
from tests.support.compose_file import InterpolationError, compose_workloads, interpolate
from tests.support.deployment import DEPLOY, in_container, kubectl, render_kubernetes

VARIABLES = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize("text,expected", [
    ("${SET}", "value"), ("$SET/x", "value/x"), ("${UNSET}", ""),
    ("${SET:-d}", "value"), ("${EMPTY:-d}", "d"), ("${UNSET:-d}", "d"),
    ("${EMPTY-d}", ""), ("${UNSET-d}", "d"),
    ("${SET:+alt}", "alt"), ("${EMPTY:+alt}", ""), ("${EMPTY+alt}", "alt"),
    ("${SET:?needed}", "value"), ("$$HOME and $${SET}", "$HOME and ${SET}"),
    ("${UNSET:-${SET}}", "value"), ("amqp://u:${SET}@host:5672/", "amqp://u:value@host:5672/"),
])
def test_compose_variables_are_interpolated_as_compose_does(text, expected):
    assert interpolate(text, VARIABLES) == expected


@pytest.mark.parametrize("text", ["${UNSET:?set UNSET in deploy/.env}", "${EMPTY:?no}", "${UNSET?no}"])
def test_a_required_variable_missing_is_an_error_naming_it(text):
    with pytest.raises(InterpolationError, match="UNSET|EMPTY"):
        interpolate(text, VARIABLES)


def test_an_empty_variable_satisfies_the_question_mark_without_colon():
    assert interpolate("${EMPTY?no}", VARIABLES) == ""


def test_compose_services_get_the_anchored_environment_their_own_and_their_mounts(tmp_path):
    project = tmp_path / "deploy"
    shutil.copytree(DEPLOY, project, ignore=shutil.ignore_patterns("k8s"))
    variables = {line.split("=", 1)[0]: line.split("=", 1)[1]
                 for line in (DEPLOY / "compose.env.example").read_text().splitlines() if "=" in line and line[0] != "#"}
    services = compose_workloads(project, variables)
    assert set(services) == {*SERVICES, "migrate"}
    intake = services["intake"]
    assert intake.command == ["python", "-m", "intake"] and intake.env["ENV"] == "production"
    assert intake.env["INTAKE_AMQP_URL"] == f"amqp://intake:{variables['INTAKE_AMQP_PASSWORD']}@rabbitmq:5672/"
    assert in_container(intake.env["AUDIT_SIGNING_KEY"], intake.mounts) == project / "secrets" / "audit-signing-key.pem"
    assert services["migrate"].command[:2] == ["/bin/sh", "-c"]


@pytest.mark.skipif(kubectl() is None, reason="kubectl is not installed (make test-production installs one)")
def test_kubernetes_workloads_get_their_configmap_and_secret_values_and_mounted_files(tmp_path):
    secrets = (K8S / "config" / "secrets.env.example").read_text().replace("CHANGE-ME", "s3cret")
    workloads = render_kubernetes(tmp_path, {"secrets.env": secrets, "audit-signing-key.pem": "the key",
                                             "ca-bundle.pem": "the authorities"})
    assert set(workloads) == {*SERVICES, "invite-users-migrate", "redis"}
    intake = workloads["intake"]
    assert intake.env["INTAKE_AMQP_URL"] == "amqps://intake:s3cret@rabbitmq.internal:5671/"
    assert intake.env["ENV"] == "production" and "APPROVAL_DB_URL" not in intake.env
    assert in_container(intake.env["AUDIT_SIGNING_KEY"], intake.mounts).read_text() == "the key"
    for name in (*SERVICES, "invite-users-migrate"):
        assert in_container(workloads[name].env["TLS_CA_FILE"], workloads[name].mounts).read_text() == "the authorities"


def shipped_production_settings() -> dict[str, dict[str, str]]:
    """PORTAL_URL and SMTP_URL as each shipped production environment gives them."""
    from tests.deploy.manifests import generated_configmaps, read_env_file

    k8s = generated_configmaps()["invite-users-config"] | read_env_file(K8S / "config" / "secrets.env.example")
    compose = read_env_file(DEPLOY / "compose.env.example")
    systemd = read_env_file(DEPLOY / "systemd" / "intake.env.example") | read_env_file(DEPLOY / "systemd" / "notifier.env.example")
    return {"k8s": k8s, "compose": compose, "systemd": systemd}


@pytest.mark.parametrize("where", ["k8s", "compose", "systemd"])
def test_every_shipped_production_environment_passes_productions_portal_and_relay_rules(where):
    from intake.settings import refuse_a_private_portal_url
    from notifier.settings import refuse_a_relay_without_tls

    env = shipped_production_settings()[where]
    refuse_a_private_portal_url(env, env["PORTAL_URL"])
    refuse_a_relay_without_tls(env, env["SMTP_URL"])
