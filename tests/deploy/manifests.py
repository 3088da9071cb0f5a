"""Read the deployment files the way their tools would: compose.yaml, the Kubernetes manifests and
the kustomizations that list them, the broker definitions, and the environment each of them gives the services."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
DEFINITIONS = DEPLOY / "rabbitmq" / "definitions.json"
SERVICES = ("intake", "approval", "notifier")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def definitions() -> dict:
    """The broker's users, permissions and topology, as RabbitMQ imports them."""
    return json.loads(DEFINITIONS.read_text())


def broker_grants() -> dict[str, set[str]]:
    """The vhosts each user of the broker definitions may use, by user name."""
    grants: dict[str, set[str]] = {}
    for permission in definitions()["permissions"]:
        grants.setdefault(permission["user"], set()).add(permission["vhost"])
    return grants


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def k8s_objects() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in manifest_files() for doc in yaml.safe_load_all(path.read_text()) if doc]


def read_env_file(path: Path) -> dict[str, str]:
    """NAME=value lines as kustomize's generators read them: the rest of the line as is, no quotes removed."""
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def generated_configmaps() -> dict[str, dict[str, str]]:
    """The ConfigMaps the config kustomization generates from env files (its settings), by name."""
    config = K8S / "config"
    found = {}
    for generator in yaml.safe_load((config / "kustomization.yaml").read_text()).get("configMapGenerator", []):
        data: dict[str, str] = {}
        for env_file in generator.get("envs", []):
            data |= read_env_file(config / env_file)
        if data:
            found[generator["name"]] = data
    return found


def pod_containers(doc: dict) -> list[dict]:
    """A workload's containers, its init containers first."""
    pod = doc["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def generated_secret_keys() -> set[str]:
    """The keys of the Secret the config kustomization generates, read from its example file."""
    lines = (K8S / "config" / "secrets.env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line.strip() and not line.startswith("#")}


def compose_env() -> dict[str, set[str]]:
    """The variables compose.yaml sets, per service that runs our image."""
    spec = compose()
    image = spec["x-service"]["image"]
    return {
        name: set(service.get("environment") or {})
        for name, service in spec["services"].items()
        if service.get("image") == image
    }


def k8s_env() -> dict[str, set[str]]:
    """The variables the Kubernetes workloads set, per workload: its own and its ConfigMap's."""
    configmaps = {name: set(data) for name, data in generated_configmaps().items()}
    out = {}
    for _, doc in k8s_objects():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in pod_containers(doc):
            names = {e["name"] for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                names |= configmaps[source["configMapRef"]["name"]]
            out.setdefault(doc["metadata"]["name"], set()).update(names)
    return out
