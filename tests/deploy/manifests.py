"""Read the deployment files the way their tools would: compose.yaml, the Kubernetes manifests and
the kustomizations that list them, and the environment each of them gives the services."""
from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
SERVICES = ("intake", "approval", "notifier")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def k8s_objects() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in manifest_files() for doc in yaml.safe_load_all(path.read_text()) if doc]


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
    configmaps = {doc["metadata"]["name"]: set(doc["data"]) for _, doc in k8s_objects() if doc["kind"] == "ConfigMap"}
    out = {}
    for _, doc in k8s_objects():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            names = {e["name"] for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                names |= configmaps[source["configMapRef"]["name"]]
            out[doc["metadata"]["name"]] = names
    return out
