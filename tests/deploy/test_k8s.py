"""deploy/k8s: every manifest valid against the Kubernetes schemas (kubernetes-validate), every
file listed by a kustomization, and the workloads shaped for replicas and safe rollouts."""
from __future__ import annotations

import copy
from urllib.parse import urlsplit

import kombu
import kubernetes_validate
import pytest
import yaml

from tests.deploy.manifests import (
    K8S, SERVICES, broker_grants, generated_configmaps, generated_secret_keys, k8s_objects, kustomizations, manifest_files,
    pod_containers,
)

KUBERNETES_VERSION = "1.33"


def objects(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s_objects() if doc["kind"] == kind}


@pytest.mark.parametrize("path,doc", k8s_objects(), ids=lambda v: v.name if hasattr(v, "name") else v.get("kind"))
def test_manifest_is_valid_for_kubernetes(path, doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_generated_secret_is_valid_too():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "invite-users-secrets"},
              "type": "Opaque", "stringData": {k: "x" for k in generated_secret_keys()}}
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)


def test_validation_would_refuse_a_misplaced_field():
    deployment = copy.deepcopy(objects("Deployment")["approval"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_every_manifest_is_listed_by_a_kustomization_and_every_listed_file_exists():
    listed = set()
    for kustomization in kustomizations():
        for entry in yaml.safe_load(kustomization.read_text()).get("resources", []):
            target = (kustomization.parent / entry).resolve()
            assert target.exists(), f"{kustomization} lists {entry}, which is missing"
            if target.is_file():
                listed.add(target)
    assert set(manifest_files()) == listed


@pytest.mark.parametrize("name", SERVICES)
def test_deployments_probe_readiness_and_liveness_and_bound_their_resources(name):
    container = objects("Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["command"] == ["python", "-m", name]


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_has_a_disruption_budget_and_a_service(name):
    assert objects("PodDisruptionBudget")[name]["spec"]["minAvailable"] == 1
    assert name in objects("Service")


@pytest.mark.parametrize("name", ["approval", "notifier"])
def test_workers_run_two_replicas_and_no_cpu_autoscaler(name):
    """Workers mostly wait on the broker, the database and the relay: their CPU says nothing of the queue."""
    assert objects("Deployment")[name]["spec"]["replicas"] == 2
    assert not [hpa for hpa in objects("HorizontalPodAutoscaler").values()
                if hpa["spec"]["scaleTargetRef"]["name"] == name]


def test_the_migration_job_migrates_every_service():
    [container] = objects("Job")["invite-users-migrate"]["spec"]["template"]["spec"]["containers"]
    for name in SERVICES:
        assert f"python -m {name} migrate" in container["command"][-1]
    assert (K8S / "migrate" / "job.yaml").exists()


def test_workloads_read_secrets_only_from_the_generated_secret():
    keys = generated_secret_keys()
    for _, doc in k8s_objects():
        if doc["kind"] in ("Deployment", "Job"):
            for container in pod_containers(doc):
                for env in container.get("env", []):
                    if "value" in env:  # a plain setting, such as the path of a mounted key
                        assert not any(word in env["name"] for word in ("PASSWORD", "SECRET", "TOKEN"))
                        continue
                    ref = env["valueFrom"]["secretKeyRef"]
                    assert ref["name"] == "invite-users-secrets" and ref["key"] in keys


def test_intake_reads_the_history_signing_key_from_a_file_of_the_generated_secret():
    generator = yaml.safe_load((K8S / "config" / "kustomization.yaml").read_text())["secretGenerator"][0]
    intake = objects("Deployment")["intake"]["spec"]["template"]["spec"]
    volume = next(v for v in intake["volumes"] if v["name"] == "audit-signing-key")
    assert volume["secret"]["secretName"] == generator["name"]
    assert [item["key"] for item in volume["secret"]["items"]] == generator["files"]
    container = intake["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "audit-signing-key")
    path = next(e["value"] for e in container["env"] if e["name"] == "AUDIT_SIGNING_KEY")
    assert path == f"{mount['mountPath']}/{volume['secret']['items'][0]['path']}" and mount["readOnly"]


def secret_example() -> dict[str, str]:
    """The example values of the generated Secret, by key."""
    lines = (K8S / "config" / "secrets.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_logs_in_to_the_broker_as_its_own_user_of_the_definitions(name):
    container = objects("Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
    (env,) = [e for e in container["env"] if e["name"].endswith("_AMQP_URL")]
    assert env["name"] == f"{name.upper()}_AMQP_URL"
    connection = kombu.Connection(secret_example()[env["valueFrom"]["secretKeyRef"]["key"]])
    assert connection.userid == name and connection.virtual_host in broker_grants()[name]


def secret_url_user(key: str) -> tuple[str, str]:
    """The user and database of a database URL in the example Secret."""
    parts = urlsplit(secret_example()[key])
    return parts.username, parts.path.lstrip("/")


@pytest.mark.parametrize("name", SERVICES)
def test_the_migration_job_connects_as_the_services_migration_role_and_names_its_runtime_role(name):
    [container] = objects("Job")["invite-users-migrate"]["spec"]["template"]["spec"]["containers"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}
    migration, runtime = f"{name.upper()}_MIGRATION_DB_URL", f"{name.upper()}_DB_URL"
    assert refs[migration] == migration and refs[runtime] == runtime
    assert secret_url_user(migration) == (f"{name}_migrator", name)
    assert secret_url_user(runtime) == (name, name)


def test_no_deployment_is_given_a_migration_role():
    for name, deployment in objects("Deployment").items():
        for container in pod_containers(deployment):
            assert not [e["name"] for e in container.get("env", []) if "MIGRATION" in e["name"]], name


def configmap() -> dict[str, str]:
    return generated_configmaps()["invite-users-config"]


def workloads() -> dict[str, dict]:
    return objects("Deployment") | objects("Job")


@pytest.mark.parametrize("name", SERVICES)
def test_each_pod_has_longer_to_stop_than_the_service_gives_itself(name):
    grace = objects("Deployment")[name]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > float(configmap()["SHUTDOWN_SECONDS"]) + 5


@pytest.mark.parametrize("name", [*SERVICES, "invite-users-migrate"])
def test_every_workload_mounts_the_authorities_tls_ca_file_names(name):
    generator = yaml.safe_load((K8S / "config" / "kustomization.yaml").read_text())["configMapGenerator"]
    [trust] = [g for g in generator if g["name"] == "invite-users-trust"]
    pod = workloads()[name]["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") == trust["name"]]
    [container] = pod["containers"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert configmap()["TLS_CA_FILE"] == f"{mount['mountPath']}/{trust['files'][0]}" and mount["readOnly"]


def test_the_portal_address_in_emails_is_the_public_https_one():
    assert configmap()["PORTAL_URL"] == configmap()["OIDC_REDIRECT_URI"].removesuffix("/sign-in/callback")
    assert configmap()["PORTAL_URL"].startswith("https://")


def test_the_api_audience_is_an_absolute_uri_as_resource_indicators_need():
    assert urlsplit(configmap()["OIDC_AUDIENCE"]).scheme
