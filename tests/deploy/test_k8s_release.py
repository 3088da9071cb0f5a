"""deploy/k8s as a release: who may reach whom (NetworkPolicies, egress ports taken from the settings
and secrets the services use), the Ingress over TLS at PORTAL_URL's host, the forwarded address
believed only from a named range, Redis shared by intake's replicas, one image reference, generated
settings (a change rolls the pods), and the Deployments waiting for the migration Job's schema.

Read statically as the other k8s tests do; the two checks of kustomize's own output render the
manifests with `kubectl kustomize` when kubectl is installed (`make test-production` installs one)."""
from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement

from intake import settings as intake_settings
from intake.web.config import MAX_BODY_BYTES
from tests.deploy.manifests import (
    K8S, SERVICES, generated_configmaps, k8s_objects, kustomizations, manifest_files, pod_containers, read_env_file,
)
from tests.support.deployment import kubectl

IMAGE = "invite-users"
INGRESS_CONTROLLER = {"namespace": "ingress-nginx", "pod": "ingress-nginx", "class": "nginx"}
PROMETHEUS = {"namespace": "monitoring", "pod": "prometheus"}
DEFAULT_PORTS = {"https": 443, "amqps": 5671, "postgresql": 5432, "smtps": 465, "redis": 6379}


def objects(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s_objects() if doc["kind"] == kind}


def workloads() -> dict[str, dict]:
    return objects("Deployment") | objects("Job")


def settings() -> dict[str, str]:
    return generated_configmaps()["invite-users-config"]


def secrets() -> dict[str, str]:
    return read_env_file(K8S / "config" / "secrets.env.example")


def port_of(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or DEFAULT_PORTS[parts.scheme]


def pod_labels(workload: dict) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def policies_for(workload: dict) -> list[dict]:
    """The NetworkPolicies whose pod selector selects the workload's pods."""
    labels = pod_labels(workload)
    return [p for p in objects("NetworkPolicy").values()
            if p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()]


def own_policy(name: str) -> dict:
    [policy] = [p for p in policies_for(workloads()[name]) if p["spec"]["podSelector"]]
    return policy


def peer(namespace: str, pod: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": pod}}}


def admitted(policy: dict) -> dict[int, list[dict]]:
    """Each port the policy lets in, with the peers it lets in from."""
    found: dict[int, list[dict]] = {}
    for rule in policy["spec"].get("ingress", []):
        assert rule.get("from"), f"{policy['metadata']['name']} lets anyone in"
        for port in rule["ports"]:
            found.setdefault(port["port"], []).extend(rule["from"])
    return found


def egress_ports(policy: dict) -> set[int]:
    ports = set()
    for rule in policy["spec"].get("egress", []):
        assert rule.get("to"), f"{policy['metadata']['name']} lets its pods reach anywhere"
        assert rule.get("ports"), f"{policy['metadata']['name']} lets its pods reach every port of {rule['to']}"
        ports |= {p["port"] for p in rule["ports"]}
    return ports


# -- network policies ------------------------------------------------------------------------------

def test_the_namespace_denies_every_pod_all_traffic_but_what_a_policy_allows():
    deny = [p for p in objects("NetworkPolicy").values() if p["spec"]["podSelector"] == {}]
    assert len(deny) == 1
    spec = deny[0]["spec"]
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in spec and "egress" not in spec


@pytest.mark.parametrize("name", [*SERVICES, "invite-users-migrate", "redis"])
def test_every_workload_has_a_policy_of_its_own_for_both_directions(name):
    policy = own_policy(name)
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}


def test_the_portal_port_admits_only_the_ingress_controller_and_metrics_only_prometheus():
    ports = admitted(own_policy("intake"))
    container = objects("Deployment")["intake"]["spec"]["template"]["spec"]["containers"][0]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {named["http"]: [peer(INGRESS_CONTROLLER["namespace"], INGRESS_CONTROLLER["pod"])],
                     named["metrics"]: [peer(PROMETHEUS["namespace"], PROMETHEUS["pod"])]}
    assert named["http"] == int(settings()["INTAKE_BIND"].rpartition(":")[2])


@pytest.mark.parametrize("name", ["approval", "notifier"])
def test_a_workers_port_admits_only_prometheus_where_its_annotation_says(name):
    template = objects("Deployment")[name]["spec"]["template"]
    port = int(template["metadata"]["annotations"]["prometheus.io/port"])
    assert admitted(own_policy(name)) == {port: [peer(PROMETHEUS["namespace"], PROMETHEUS["pod"])]}


def test_redis_admits_only_intake():
    [intake_pods] = admitted(own_policy("redis")).values()
    assert intake_pods == [{"podSelector": {"matchLabels": pod_labels(objects("Deployment")["intake"])}}]


def expected_egress() -> dict[str, set[int]]:
    """What each workload connects to, by port, read from the settings and secrets it is given."""
    dns = {53}
    broker = {port_of(secrets()[f"{s.upper()}_AMQP_URL"]) for s in SERVICES}
    database = {port_of(secrets()[f"{s.upper()}_DB_URL"]) for s in SERVICES}
    assert len(broker) == len(database) == 1
    directory = {443}  # DIRECTORY_URL is https:// (empty in the example: the local directory)
    return {
        "intake": dns | broker | database | {port_of(settings()["RATE_LIMIT_STORAGE_URL"]),
                                              port_of(settings()["OIDC_ISSUER"])} | directory,
        "approval": dns | broker | database | directory,
        "notifier": dns | broker | database | {port_of(secrets()["SMTP_URL"])},
        "invite-users-migrate": dns | database,
        "redis": set(),
    }


@pytest.mark.parametrize("name", [*SERVICES, "invite-users-migrate", "redis"])
def test_each_workload_may_reach_only_the_ports_its_settings_name(name):
    assert egress_ports(own_policy(name)) == expected_egress()[name]


def test_intake_reaches_redis_by_its_pods_and_the_settings_name_its_service():
    url = urlsplit(settings()["RATE_LIMIT_STORAGE_URL"])
    service = objects("Service")[url.hostname]
    assert [p["port"] for p in service["spec"]["ports"]] == [url.port]
    rules = [r for r in own_policy("intake")["spec"]["egress"] if any(p["port"] == url.port for p in r["ports"])]
    assert rules == [{"to": [{"podSelector": {"matchLabels": service["spec"]["selector"]}}],
                      "ports": [{"port": url.port, "protocol": "TCP"}]}]
    assert service["spec"]["selector"].items() <= pod_labels(objects("Deployment")["redis"]).items()


def test_external_addresses_are_documented_placeholders_until_the_operator_sets_them():
    text = (K8S / "network" / "network-policies.yaml").read_text()
    for cidr in set(re.findall(r"cidr: (\S+)", text)):
        assert cidr.startswith("198.51.100."), cidr  # RFC 5737: reaches nothing real
        assert f"#   {cidr}" in text, f"{cidr} is not explained at the top of the file"


# -- the ingress and the forwarded address -----------------------------------------------------------

def test_the_ingress_serves_the_portals_address_over_tls_to_intake():
    [ingress] = objects("Ingress").values()
    spec = ingress["spec"]
    host = urlsplit(settings()["PORTAL_URL"]).hostname
    assert settings()["PORTAL_URL"].startswith("https://")
    assert [rule["host"] for rule in spec["rules"]] == [host]
    assert spec["tls"] == [{"hosts": [host], "secretName": spec["tls"][0]["secretName"]}]
    assert spec["ingressClassName"] == INGRESS_CONTROLLER["class"]
    [path] = spec["rules"][0]["http"]["paths"]
    backend = path["backend"]["service"]
    assert backend["name"] == "intake" and path["path"] == "/"
    assert backend["port"]["name"] in {p["name"] for p in objects("Service")["intake"]["spec"]["ports"]}


def test_the_ingress_passes_the_largest_upload_intake_takes():
    size = objects("Ingress")["intake"]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    number, unit = re.fullmatch(r"(\d+)([km]?)", size).groups()
    assert int(number) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit] >= MAX_BODY_BYTES + 64 * 1024


def test_the_forwarded_address_is_believed_from_a_named_range_not_from_everyone():
    raw = settings()["TRUSTED_PROXY"]
    assert "*" not in raw
    assert intake_settings.load({"TRUSTED_PROXY": raw}).trusted_proxy == raw


# -- redis ---------------------------------------------------------------------------------------------

def test_the_limits_are_counted_in_the_shipped_redis_which_the_image_can_talk_to():
    assert settings()["RATE_LIMIT_STORAGE_URL"].startswith("redis://")
    assert objects("Deployment")["intake"]["spec"]["replicas"] > 1
    pyproject = tomllib.loads((K8S.parents[1] / "services/intake/pyproject.toml").read_text())
    declared = {Requirement(d).name: Requirement(d) for d in pyproject["project"]["dependencies"]}
    # the image installs only what intake declares, and limits loads its Redis client only when asked to
    # (its `redis` extra caps the client below the version requirements.txt pins, so it is named itself)
    assert "redis" in declared or "redis" in declared["limits"].extras


def test_redis_keeps_nothing_on_disk_and_runs_unprivileged():
    pod = objects("Deployment")["redis"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    args = container["command"]
    assert args[args.index("--save") + 1] == "" and args[args.index("--appendonly") + 1] == "no"
    assert pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert ":latest" not in container["image"] and ":" in container["image"]


# -- one image, generated settings ----------------------------------------------------------------------

def kustomization(path) -> dict:
    return yaml.safe_load(path.read_text())


def test_the_image_is_named_once_in_a_component_both_kustomizations_include():
    naming = [k for k in kustomizations() if "images" in kustomization(k)]
    assert naming == [K8S / "image" / "kustomization.yaml"]
    assert kustomization(naming[0])["kind"] == "Component"
    [entry] = kustomization(naming[0])["images"]
    assert entry["name"] == IMAGE and entry["newTag"]
    for root in (K8S, K8S / "migrate"):
        components = [(root / c).resolve() for c in kustomization(root / "kustomization.yaml")["components"]]
        assert naming[0].parent in components


@pytest.mark.parametrize("name", [*SERVICES, "invite-users-migrate"])
def test_every_container_running_our_code_names_that_image(name):
    for container in pod_containers(workloads()[name]):
        assert container["image"] == IMAGE, (name, container["name"])


def test_settings_and_secrets_are_generated_so_a_change_rolls_the_pods():
    assert not [doc for _, doc in k8s_objects() if doc["kind"] in ("ConfigMap", "Secret")]
    config = kustomization(K8S / "config" / "kustomization.yaml")
    assert "invite-users-config" in {g["name"] for g in config["configMapGenerator"]}
    assert [g["name"] for g in config["secretGenerator"]] == ["invite-users-secrets"]
    for path in kustomizations():
        assert "generatorOptions" not in kustomization(path), f"{path} turns the name hash off"


# -- the migration first -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SERVICES)
def test_each_deployment_waits_for_the_migration_jobs_schema_before_it_starts(name):
    pod = objects("Deployment")[name]["spec"]["template"]["spec"]
    [wait] = pod["initContainers"]
    assert wait["command"][:4] == ["python", "-m", name, "wait-for-schema"]
    refs = [e["valueFrom"]["secretKeyRef"]["key"] for e in wait["env"]]
    assert refs == [f"{name.upper()}_DB_URL"]  # the service's own role: it reads, it changes nothing


def test_the_documented_rollout_applies_and_waits_for_the_job_before_the_application():
    text = (K8S / "kustomization.yaml").read_text()
    steps = ["kubectl apply -k deploy/k8s/migrate", "kubectl -n invite-users wait --for=condition=complete",
             "kubectl apply -k deploy/k8s\n"]
    assert all(step in text for step in steps)
    assert [text.index(step) for step in steps] == sorted(text.index(step) for step in steps)


# -- kustomize's own output ----------------------------------------------------------------------------

def render(tmp_path, settings_text: str | None = None) -> list[dict]:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    config = copy / "config"
    (config / "secrets.env").write_text((config / "secrets.env.example").read_text())
    (config / "audit-signing-key.pem").write_text("key")
    (config / "ca-bundle.pem").write_text("ca")
    if settings_text is not None:
        (config / "settings.env").write_text(settings_text)
    found = []
    for target in (copy, copy / "migrate"):
        done = subprocess.run([kubectl(), "kustomize", str(target)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        found += [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    return found


def configmaps_read(docs: list[dict]) -> dict[str, set[str]]:
    found = {}
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            for container in pod_containers(doc):
                found.setdefault(doc["metadata"]["name"], set()).update(
                    s["configMapRef"]["name"] for s in container.get("envFrom", []))
    return found


needs_kubectl = pytest.mark.skipif(kubectl() is None, reason="kubectl is not installed (make test-production installs one)")


@needs_kubectl
def test_a_changed_setting_renames_the_configmap_in_every_pod_that_reads_it(tmp_path):
    before = configmaps_read(render(tmp_path / "a"))
    changed = (K8S / "config" / "settings.env").read_text().replace("LOG_LEVEL=INFO", "LOG_LEVEL=DEBUG")
    after = configmaps_read(render(tmp_path / "b", changed))
    for name in (*SERVICES, "invite-users-migrate"):
        [old], [new] = before[name], after[name]
        assert old.startswith("invite-users-config-") and new.startswith("invite-users-config-") and old != new


@needs_kubectl
def test_every_rendered_container_of_ours_runs_the_one_release_image(tmp_path):
    [entry] = kustomization(K8S / "image" / "kustomization.yaml")["images"]
    release = f"{entry['newName']}:{entry['newTag']}"
    images = {(doc["metadata"]["name"], c["name"]): c["image"] for doc in render(tmp_path)
              if doc["kind"] in ("Deployment", "Job") for c in pod_containers(doc)}
    ours = {key: image for key, image in images.items() if key[0] != "redis"}
    assert len(ours) == 7 and set(ours.values()) == {release}


def test_every_manifest_is_in_a_folder_a_kustomization_reads():
    folders = {k.parent for k in kustomizations()}
    assert {p.parent for p in manifest_files()} <= folders
